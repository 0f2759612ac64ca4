// berth-runc update: change a container's cgroup limits from flags or a resources JSON (- = stdin).
import { readFileSync } from 'node:fs';
import { errInvalid } from '../../common/errors.js';
import type { LinuxResources } from '../spec/types.js';
import type { Command } from './command.js';

/** Docker/runc size units: 512, 64k, 10m, 1g (binary multiples, as go-units RAMInBytes). */
export function parseBytes(s: string): number {
  if (s === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(s.trim());
  if (!m) throw errInvalid(`invalid size: '${s}'`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[m[2]!.toLowerCase() as '' | 'k'];
  return Math.round(Number(m[1]) * mult!);
}

const STR = 'string' as const;

export const command: Command = {
  name: 'update',
  argsUsage: '<container-id>',
  flags: [
    { name: 'resources', alias: 'r', type: STR, usage: 'path to the file containing the resources to update or \'-\' to read from the standard input' },
    { name: 'blkio-weight', type: STR, usage: 'Specifies per cgroup weight, range is from 10 to 1000' },
    { name: 'cpu-period', type: STR, usage: 'CPU CFS period to be used for hardcapping (in usecs). 0 to use system default' },
    { name: 'cpu-quota', type: STR, usage: 'CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period' },
    { name: 'cpu-rt-period', type: STR, usage: 'CPU realtime period to be used for hardcapping (in usecs). 0 to use system default' },
    { name: 'cpu-rt-runtime', type: STR, usage: 'CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period' },
    { name: 'cpu-share', type: STR, usage: 'CPU shares (relative weight vs. other containers)' },
    { name: 'cpuset-cpus', type: STR, usage: 'CPU(s) to use' },
    { name: 'cpuset-mems', type: STR, usage: 'Memory node(s) to use' },
    { name: 'memory', type: STR, usage: 'Memory limit (in bytes)' },
    { name: 'memory-reservation', type: STR, usage: 'Memory reservation or soft_limit (in bytes)' },
    { name: 'memory-swap', type: STR, usage: 'Total memory usage (memory + swap); set \'-1\' to enable unlimited swap' },
    { name: 'pids-limit', type: 'int', usage: 'Maximum number of pids allowed in the container' },
    { name: 'kernel-memory', type: STR, usage: 'Kernel memory limit (in bytes) (ignored, as in runc 1.1)' },
    { name: 'kernel-memory-tcp', type: STR, usage: 'Kernel memory limit for tcp buffer (in bytes) (ignored)' },
  ],
  args: 1,
  async run(ctx) {
    const f = ctx.flags;
    let r: LinuxResources = {};
    if (f.resources) {
      const text = f.resources === '-' ? readFileSync(0, 'utf8') : readFileSync(f.resources as string, 'utf8');
      try {
        r = JSON.parse(text) as LinuxResources;
      } catch (e) {
        throw errInvalid(`resources: ${(e as Error).message}`, e);
      }
    } else {
      const num = (k: string) => (f[k] === undefined ? undefined : /^-?\d+$/.test(String(f[k])) ? Number(f[k]) : (() => { throw errInvalid(`invalid value for --${k}: ${String(f[k])}`); })());
      const bytes = (k: string) => (f[k] === undefined ? undefined : parseBytes(String(f[k])));
      const mem = { limit: bytes('memory'), reservation: bytes('memory-reservation'), swap: bytes('memory-swap') };
      const cpu = { shares: num('cpu-share'), quota: num('cpu-quota'), period: num('cpu-period'), realtimePeriod: num('cpu-rt-period'), realtimeRuntime: num('cpu-rt-runtime'), cpus: f['cpuset-cpus'] as string | undefined, mems: f['cpuset-mems'] as string | undefined };
      const clean = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
      if (Object.keys(clean(mem)).length) r.memory = clean(mem);
      if (Object.keys(clean(cpu)).length) r.cpu = clean(cpu);
      if (f['pids-limit'] !== undefined) r.pids = { limit: f['pids-limit'] as number };
      if (f['blkio-weight'] !== undefined) r.blockIO = { weight: num('blkio-weight') };
    }
    await ctx.runtime().update(ctx.args[0]!, r);
  },
};
