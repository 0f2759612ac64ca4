// IPv4 prefixes: parse, contain, overlap, and carve subnets out of address pools (Docker's default-address-pools).
import { readFileSync } from 'node:fs';
import { errInvalid } from '../common/errors.js';

/** An IPv4 prefix as numbers: `base` is the network address (host bits zero). */
export interface Ipv4Net { base: number; bits: number }

export function parseIpv4(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) throw errInvalid(`invalid IPv4 address: ${s}`);
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) throw errInvalid(`invalid IPv4 address: ${s}`);
  return ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
}

export const formatIpv4 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

const mask = (bits: number) => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);

/** `10.1.0.0/16`; host bits set are refused, as Docker refuses them ("invalid subnet"). */
export function parseCidr(s: string, opts: { allowHostBits?: boolean } = {}): Ipv4Net {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(s);
  if (!m || Number(m[2]) > 32) throw errInvalid(`invalid CIDR address: ${s}`);
  const addr = parseIpv4(m[1]!);
  const bits = Number(m[2]);
  const base = (addr & mask(bits)) >>> 0;
  if (base !== addr && !opts.allowHostBits) throw errInvalid(`invalid subnet ${s}: it should be ${formatIpv4(base)}/${bits}`);
  return { base, bits };
}

export const formatCidr = (n: Ipv4Net) => `${formatIpv4(n.base)}/${n.bits}`;
export const size = (n: Ipv4Net) => 2 ** (32 - n.bits);
export const contains = (n: Ipv4Net, ip: number) => ((ip & mask(n.bits)) >>> 0) === n.base;
export function overlaps(a: Ipv4Net, b: Ipv4Net): boolean {
  const bits = Math.min(a.bits, b.bits);
  return ((a.base & mask(bits)) >>> 0) === ((b.base & mask(bits)) >>> 0);
}

/** The first usable address: Docker's default gateway of a subnet. */
export const firstHost = (n: Ipv4Net) => formatIpv4(n.base + (n.bits >= 31 ? 0 : 1));

/** A pool of Docker's `default-address-pools`: subnets of `size` bits carved out of `base`. */
export interface AddressPool { base: string; size: number }

/** dockerd's defaults: 172.17-31.0.0/16, then 192.168.0.0/16 in /20s. */
export const DEFAULT_POOLS: AddressPool[] = [
  { base: '172.17.0.0/16', size: 16 }, { base: '172.18.0.0/15', size: 16 }, { base: '172.20.0.0/14', size: 16 },
  { base: '172.24.0.0/14', size: 16 }, { base: '172.28.0.0/14', size: 16 }, { base: '192.168.0.0/16', size: 20 },
];

/** The first subnet of the pools that overlaps nothing in `taken`. */
export function allocateSubnet(pools: AddressPool[], taken: Ipv4Net[]): Ipv4Net | undefined {
  for (const p of pools) {
    const pool = parseCidr(p.base);
    if (p.size < pool.bits || p.size > 30) throw errInvalid(`invalid address pool ${p.base} with size ${p.size}`);
    const step = 2 ** (32 - p.size);
    for (let b = pool.base; b < pool.base + size(pool); b += step) {
      const cand = { base: b >>> 0, bits: p.size };
      if (!taken.some((t) => overlaps(t, cand))) return cand;
    }
  }
  return undefined;
}

/** The host's IPv4 routes (not the default route): a new network must not shadow them. */
export function hostRoutes(): Ipv4Net[] {
  const out: Ipv4Net[] = [];
  let text = '';
  try { text = readFileSync('/proc/net/route', 'utf8'); } catch { return out; }
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    // Little-endian hex, as the kernel prints it.
    const le = (h: string) => { const v = parseInt(h, 16); return (((v & 255) << 24) | (((v >>> 8) & 255) << 16) | (((v >>> 16) & 255) << 8) | (v >>> 24)) >>> 0; };
    const dest = le(f[1]!);
    const m = le(f[7]!);
    if (m === 0) continue;
    let bits = 0;
    while (bits < 32 && (m & (0x80000000 >>> bits)) !== 0) bits++;
    out.push({ base: dest, bits });
  }
  return out;
}
