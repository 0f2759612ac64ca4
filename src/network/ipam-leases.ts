// host-local's leases (CNI's IPAM plugin, dataDir <data-root>/network/ipam): one file per address given, named
// by the address, holding the container id and (since plugins 0.9) the interface on two lines; beside them its
// own `lock` and `last_reserved_ip.N`.
import { readdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

export interface Lease { ip: string; containerId: string; ifName: string; path: string }

/** The leases in one network's dir (none when it does not exist); a lease released while read is left out. */
export function readLeases(dir: string): Lease[] {
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  const out: Lease[] = [];
  for (const ip of names) {
    if (isIP(ip) === 0) continue;
    const path = join(dir, ip);
    let lines: string[];
    try { lines = readFileSync(path, 'utf8').split(/\r?\n/); } catch { continue; }
    out.push({ ip, containerId: lines[0] ?? '', ifName: lines[1] ?? '', path });
  }
  return out;
}
