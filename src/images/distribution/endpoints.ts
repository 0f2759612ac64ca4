// Where a registry name is reached: mirrors first for docker.io, https always, plain http only for insecure ones.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { errInvalid } from '../../common/errors.js';

/** One base URL to try for a registry. */
export interface Endpoint {
  /** `https://127.0.0.1:5000` (a mirror may carry a path prefix). */
  base: string;
  /** host[:port] of `base`: the credentials key and the auth-cache key. */
  host: string;
  /** TLS without certificate verification (Docker's insecure registries). */
  skipVerify: boolean;
  /** A docker.io mirror: any failure falls back to the next endpoint. */
  mirror: boolean;
}

/** Docker's default insecure CIDRs: loopback, so a registry on 127.0.0.1 or ::1 works with no config. */
const DEFAULT_INSECURE_CIDRS = ['::1/128', '127.0.0.0/8'];

/** Docker Hub's API host for the `docker.io` name. */
export const DOCKER_HUB_HOST = 'registry-1.docker.io';

export interface EndpointConfig {
  /** host[:port] names or CIDRs, as dockerd's `insecure-registries`. */
  insecureRegistries?: string[];
  /** Mirror URLs for docker.io, as dockerd's `registry-mirrors`. */
  mirrors?: string[];
  /** Docker Hub's endpoint for `docker.io` (default https://registry-1.docker.io); for air-gapped setups and tests. */
  hubEndpoint?: string;
  /** Resolve a host name to addresses (injectable for tests). */
  resolve?: (host: string) => Promise<string[]>;
}

const defaultResolve = async (host: string) => (await lookup(host, { all: true })).map((a) => a.address);

/** Split `host:port`, `[::1]:5000`, `host` into the host part. */
export function hostOf(authority: string): string {
  if (authority.startsWith('[')) return authority.slice(1, authority.indexOf(']'));
  const colon = authority.lastIndexOf(':');
  return colon > 0 && authority.indexOf(':') === colon ? authority.slice(0, colon) : authority;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
}

/** Whether `ip` (v4) lies in `cidr` (v4). IPv6 CIDRs are compared by exact address only. */
export function inCidr(ip: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split('/');
  if (!net || isIP(net) === 0) return false;
  if (isIP(ip) !== 4 || isIP(net) !== 4) return ip === net;
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (!(bits >= 0 && bits <= 32)) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((ipv4ToInt(ip) & mask) >>> 0) === ((ipv4ToInt(net) & mask) >>> 0);
}

/** daemon.json's insecure-registries as dockerd splits them: names (each an insecure index), and CIDRs (the configured ones, then loopback's). */
export function insecureRegistries(listed: readonly string[] = []): { names: string[]; cidrs: string[] } {
  return {
    names: listed.filter((e) => !e.includes('/')),
    cidrs: [...new Set([...listed.filter((e) => e.includes('/')), ...DEFAULT_INSECURE_CIDRS])],
  };
}

/**
 * Docker's rule for `authority` (host[:port]): insecure if listed by name, or if any address the host resolves to
 * lies in an insecure CIDR (the configured ones plus loopback's). A name that does not resolve is secure.
 */
export async function isInsecure(authority: string, cfg: EndpointConfig = {}): Promise<boolean> {
  const { names, cidrs } = insecureRegistries(cfg.insecureRegistries);
  if (names.some((n) => n.toLowerCase() === authority.toLowerCase())) return true;
  const host = hostOf(authority);
  let addrs: string[];
  if (isIP(host)) addrs = [host];
  else {
    try {
      addrs = await (cfg.resolve ?? defaultResolve)(host);
    } catch {
      return false;
    }
  }
  return addrs.some((a) => cidrs.some((c) => inCidr(a, c)));
}

function mirrorEndpoint(url: string): Endpoint {
  let u: URL;
  try {
    u = new URL(url);
  } catch (e) {
    throw errInvalid(`registry mirror ${JSON.stringify(url)}: not a URL`, e);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw errInvalid(`registry mirror ${JSON.stringify(url)}: want http or https`);
  return { base: url.replace(/\/+$/, ''), host: u.host, skipVerify: false, mirror: true };
}

/**
 * The endpoints to try, in order, for `registry` (`docker.io` or host[:port]): for docker.io the mirrors then
 * Docker Hub (mirrors only when `pull`); https always; for an insecure registry https without verification, then
 * plain http (Docker's order).
 */
export async function endpointsFor(registry: string, cfg: EndpointConfig = {}, pull = true): Promise<Endpoint[]> {
  if (registry === 'docker.io') {
    const mirrors = pull ? (cfg.mirrors ?? []).map(mirrorEndpoint) : [];
    const hub = cfg.hubEndpoint ? { ...mirrorEndpoint(cfg.hubEndpoint), mirror: false }
      : { base: `https://${DOCKER_HUB_HOST}`, host: DOCKER_HUB_HOST, skipVerify: false, mirror: false };
    return [...mirrors, hub];
  }
  if (await isInsecure(registry, cfg)) {
    return [
      { base: `https://${registry}`, host: registry, skipVerify: true, mirror: false },
      { base: `http://${registry}`, host: registry, skipVerify: false, mirror: false },
    ];
  }
  return [{ base: `https://${registry}`, host: registry, skipVerify: false, mirror: false }];
}
