// cgroup v2: reading cpu.stat, memory.*, pids.*, io.stat and hugetlb.* into CgroupStats (runc's shape).
import { readdir } from 'node:fs/promises';
import { UNLIMITED, type CgroupStats } from '../cgroups.js';
import { type CgroupDir, parseKeyValues, parseLimit, parseNumber } from '../fs.js';

type BlkioEntry = { major: number; minor: number; op: string; value: number };

/** Parse io.stat (`8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0`) into v1-style entries. */
export function parseIoStat(text: string | undefined): { bytes: BlkioEntry[]; ios: BlkioEntry[] } {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const [dev, ...kvs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const major = Number(m[1]);
    const minor = Number(m[2]);
    for (const kv of kvs) {
      const [k, v] = kv.split('=');
      const value = Number(v);
      if (!Number.isFinite(value)) continue;
      if (k === 'rbytes') bytes.push({ major, minor, op: 'Read', value });
      else if (k === 'wbytes') bytes.push({ major, minor, op: 'Write', value });
      else if (k === 'rios') ios.push({ major, minor, op: 'Read', value });
      else if (k === 'wios') ios.push({ major, minor, op: 'Write', value });
    }
  }
  return { bytes, ios };
}

/** Sum two limits, staying unlimited if either is. */
const addLimits = (a: number, b: number) => (a >= UNLIMITED || b >= UNLIMITED ? UNLIMITED : a + b);

/** Collect the v2 stats; files of controllers that are not enabled leave their fields at zero. */
export async function readV2Stats(d: CgroupDir): Promise<CgroupStats> {
  const read = (f: string) => d.readOptional(f);
  const stats: CgroupStats = {
    cpu: { usage: { total: 0, kernel: 0, user: 0 }, throttling: {} },
    memory: { usage: { limit: 0, usage: 0, max: 0, failcnt: 0 } },
    pids: { current: 0, limit: 0 },
    blkio: {},
  };
  // cpu.stat's usage lines are there even without the cpu controller; microseconds.
  const cpu = parseKeyValues(await read('cpu.stat'));
  stats.cpu.usage = { total: (cpu.usage_usec ?? 0) * 1000, user: (cpu.user_usec ?? 0) * 1000, kernel: (cpu.system_usec ?? 0) * 1000 };
  if (cpu.nr_periods !== undefined) {
    stats.cpu.throttling = { periods: cpu.nr_periods, throttledPeriods: cpu.nr_throttled ?? 0, throttledTime: (cpu.throttled_usec ?? 0) * 1000 };
  }

  const current = await read('memory.current');
  if (current !== undefined) {
    const events = parseKeyValues(await read('memory.events'));
    const usage = parseNumber(current);
    const limit = parseLimit(await read('memory.max'));
    // memory.peak exists from 5.19; v2 has no failcnt, the nearest is how often memory.max was hit.
    stats.memory.usage = { usage, limit, max: parseNumber(await read('memory.peak')), failcnt: events.max ?? 0 };
    const raw = parseKeyValues(await read('memory.stat'));
    stats.memory.raw = raw;
    stats.memory.cache = raw.file ?? 0;
    const swapCur = await read('memory.swap.current');
    if (swapCur !== undefined) {
      // Reported as memory+swap, like v1's memsw, as runc does, so consumers need not care which version.
      const swapEvents = parseKeyValues(await read('memory.swap.events'));
      stats.memory.swap = {
        usage: usage + parseNumber(swapCur),
        limit: addLimits(limit, parseLimit(await read('memory.swap.max'))),
        max: 0,
        failcnt: swapEvents.max ?? 0,
      };
      const swapPeak = await read('memory.swap.peak');
      if (swapPeak !== undefined) stats.memory.swap.max = stats.memory.usage.max + parseNumber(swapPeak);
    }
  }

  const pidsCur = await read('pids.current');
  if (pidsCur !== undefined) {
    stats.pids.current = parseNumber(pidsCur);
    const max = (await read('pids.max'))?.trim();
    stats.pids.limit = max === undefined || max === 'max' ? 0 : parseNumber(max);
  }

  const io = await read('io.stat');
  if (io !== undefined) {
    const { bytes, ios } = parseIoStat(io);
    stats.blkio = { ioServiceBytesRecursive: bytes, ioServicedRecursive: ios };
  }

  const sizes = new Set<string>();
  for (const f of await readdir(d.dir).catch(() => [] as string[])) {
    const m = /^hugetlb\.([0-9]+[KMG]B)\.current$/.exec(f);
    if (m?.[1]) sizes.add(m[1]);
  }
  if (sizes.size > 0) {
    stats.hugetlb = {};
    for (const size of sizes) {
      const events = parseKeyValues(await read(`hugetlb.${size}.events`));
      // v2 keeps no peak for hugetlb; max stays 0 rather than guessed.
      stats.hugetlb[size] = { usage: parseNumber(await read(`hugetlb.${size}.current`)), max: 0, failcnt: events.max ?? 0 };
    }
  }
  return stats;
}
