// The host's resolv.conf as containers and the embedded DNS servers take it: dockerd's rules (libnetwork/resolvconf) on the file's text.
import { readFileSync } from 'node:fs';

/** systemd-resolved's list of the real upstream servers (its stub at 127.0.0.53 is what /etc/resolv.conf names). */
export const SYSTEMD_RESOLV_CONF = '/run/systemd/resolve/resolv.conf';

/** What dockerd writes when no usable nameserver is left (Google's public DNS). */
const FALLBACK_NAMESERVERS = ['8.8.8.8', '8.8.4.4'];

const readText = (path: string): string | undefined => {
  try { return readFileSync(path, 'utf8'); } catch { return undefined; }
};

/** The `nameserver` addresses of a resolv.conf, in order. */
export function nameservers(text: string): string[] {
  return text.split('\n').map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1]).filter((s): s is string => !!s);
}

/** A nameserver only the host's own network namespace reaches (127.0.0.0/8, ::1). */
const isLoopback = (ns: string) => ns.startsWith('127.') || ns === '::1';

/**
 * The upstream servers of a network's embedded DNS server: the host's IPv4 nameservers, loopback ones
 * included, since the server runs in berthd's (the host's) network namespace, where they answer.
 */
export function dnsUpstreams(read = readText): string[] {
  return nameservers(read('/etc/resolv.conf') ?? '').filter((s) => /^\d+\.\d+\.\d+\.\d+$/.test(s));
}

/**
 * The resolv.conf a container starts from. With host networking the host's as it is; else, when the
 * host's names only systemd-resolved's stub 127.0.0.53 (which the container's netns cannot reach),
 * systemd-resolved's own list of upstream servers, as dockerd's resolvconf.Path does.
 */
export function hostResolvConf(hostNet: boolean, read = readText): string {
  const text = read('/etc/resolv.conf') ?? '';
  if (hostNet) return text;
  const ns = nameservers(text);
  if (ns.length === 1 && ns[0] === '127.0.0.53') return read(SYSTEMD_RESOLV_CONF) ?? text;
  return text;
}

/** --dns, --dns-search, --dns-option of a container. */
export interface DnsOverrides { dns?: string[] | null; search?: string[] | null; options?: string[] | null }

/**
 * A container's /etc/resolv.conf from the host's text (hostResolvConf): without host networking no
 * loopback nameservers (unreachable from the container's netns), and dockerd's fallback servers
 * when none is left; --dns, --dns-search and --dns-option replace the host's lines.
 */
export function containerResolvConf(text: string, o: DnsOverrides, hostNet: boolean): string {
  const body = text.replace(/\n+$/, '');
  let lines = body ? body.split('\n') : [];
  if (!hostNet) lines = lines.filter((l) => !isLoopback(nameservers(l)[0] ?? ''));
  if (o.dns?.length) lines = [...lines.filter((l) => !nameservers(l).length), ...o.dns.map((d) => `nameserver ${d}`)];
  if (o.search?.length) lines = [...lines.filter((l) => !/^\s*(search|domain)\s/.test(l)), `search ${o.search.join(' ')}`];
  if (o.options?.length) lines = [...lines.filter((l) => !/^\s*options\s/.test(l)), `options ${o.options.join(' ')}`];
  if (!lines.some((l) => nameservers(l).length)) lines.push(...FALLBACK_NAMESERVERS.map((s) => `nameserver ${s}`));
  return `${lines.join('\n')}\n`;
}
