// Go's net.ParseIP / ParseCIDR / IPNet.Contains / JoinHostPort, as far as the docker CLI's network checks use them.

/** An address as Go holds it: 4 bytes for IPv4 (after To4), 16 for IPv6. */
export type IpBytes = number[];

/** Go's net.ParseIP then To4 where possible; undefined when it is no address. */
export function parseIP(s: string): IpBytes | undefined {
  if (s.includes(':')) return toV4(parseV6(s));
  return parseV4(s);
}

function parseV4(s: string): IpBytes | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    // Go rejects leading zeros (since 1.17) and anything over 255.
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0') || Number(p) > 255) return undefined;
    out.push(Number(p));
  }
  return out;
}

function parseV6(s: string): IpBytes | undefined {
  // A trailing dotted quad (::ffff:10.0.0.1) stands for the last two groups.
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (!v4) return undefined;
    s = `${s.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const n = head.length + rest.length;
  if (halves.length === 1 ? n !== 8 : n > 7) return undefined;
  const out: number[] = [];
  for (const g of [...head, ...Array<string>(8 - n).fill('0'), ...rest]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const v = parseInt(g, 16);
    out.push(v >> 8, v & 0xff);
  }
  return out;
}

function toV4(ip: IpBytes | undefined): IpBytes | undefined {
  if (ip && ip.length === 16 && ip.slice(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff) return ip.slice(12);
  return ip;
}

/** A network: its masked address and prefix length. */
export interface IpNet {
  ip: IpBytes;
  bits: number;
}

/** Go's net.ParseCIDR (the network part); throws Go's `invalid CIDR address: x`. */
export function parseCIDR(s: string): { ip: IpBytes; net: IpNet } {
  const slash = s.indexOf('/');
  const bad = () => new Error(`invalid CIDR address: ${s}`);
  if (slash < 0) throw bad();
  const addr = s.slice(0, slash);
  const v6 = addr.includes(':');
  const raw = v6 ? parseV6(addr) : parseV4(addr);
  const len = s.slice(slash + 1);
  const max = v6 ? 128 : 32;
  if (!raw || !/^\d{1,3}$/.test(len) || (len.length > 1 && len[0] === '0') || Number(len) > max) throw bad();
  const bits = Number(len);
  return { ip: toV4(raw)!, net: { ip: mask(raw, bits), bits } };
}

function mask(ip: IpBytes, bits: number): IpBytes {
  return ip.map((b, i) => {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
}

/** Go's IPNet.Contains: an IPv4 address never matches an IPv6 network and the other way round. */
export function netContains(n: IpNet, ip: IpBytes | undefined): boolean {
  // Like Go, an IPv4-mapped IPv6 network (::ffff:10.1.0.0/112) holds the IPv4 addresses it maps.
  const v4 = toV4(n.ip)!;
  if (v4.length !== n.ip.length) n = { ip: v4, bits: Math.max(0, n.bits - 96) };
  if (!ip || ip.length !== n.ip.length) return false;
  const m = mask(ip, n.bits);
  return m.every((b, i) => b === n.ip[i]);
}

/** Go's net.JoinHostPort: brackets a host that has a colon. */
export function joinHostPort(host: string, port: string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
