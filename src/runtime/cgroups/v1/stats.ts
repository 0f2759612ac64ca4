// cgroup v1: reading usage counters from cpuacct, cpu, memory, pids, blkio and hugetlb into CgroupStats.
import { readdir } from 'node:fs/promises';
import type { CgroupStats } from '../cgroups.js';
import { type CgroupDir, parseKeyValues, parseLimit, parseNumber } from '../fs.js';
import type { ControllerLookup } from './resources.js';

/** cpuacct.stat counts USER_HZ ticks, which is 100 on every Linux ABI (times(2)). */
const NS_PER_USER_HZ_TICK = 1e9 / 100;

/** Parse blkio `8:0 Read 123` lines; `Total` lines carry no device and are dropped. */
export function parseBlkioRecursive(text: string | undefined): Array<{ major: number; minor: number; op: string; value: number }> {
  const out: Array<{ major: number; minor: number; op: string; value: number }> = [];
  for (const line of (text ?? '').split('\n')) {
    const m = /^(\d+):(\d+)\s+(\S+)\s+(\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3] ?? '', value: Number(m[4]) });
  }
  return out;
}

async function usageTriple(d: CgroupDir, prefix: string) {
  const [usage, max, limit, failcnt] = await Promise.all(
    ['usage_in_bytes', 'max_usage_in_bytes', 'limit_in_bytes', 'failcnt'].map((f) => d.readOptional(`${prefix}${f}`)),
  );
  return { present: usage !== undefined, usage: parseNumber(usage), max: parseNumber(max), limit: parseLimit(limit), failcnt: parseNumber(failcnt) };
}

/** Collect the v1 stats; controllers that are not mounted leave their fields at zero. */
export async function readV1Stats(ctl: ControllerLookup): Promise<CgroupStats> {
  const stats: CgroupStats = {
    cpu: { usage: { total: 0, kernel: 0, user: 0 }, throttling: {} },
    memory: { usage: { limit: 0, usage: 0, max: 0, failcnt: 0 } },
    pids: { current: 0, limit: 0 },
    blkio: {},
  };

  const acct = ctl('cpuacct');
  if (acct) {
    stats.cpu.usage.total = parseNumber(await acct.readOptional('cpuacct.usage'));
    const percpu = await acct.readOptional('cpuacct.usage_percpu');
    if (percpu !== undefined) stats.cpu.usage.percpu = percpu.trim().split(/\s+/).filter(Boolean).map(Number);
    const st = parseKeyValues(await acct.readOptional('cpuacct.stat'));
    stats.cpu.usage.user = (st.user ?? 0) * NS_PER_USER_HZ_TICK;
    stats.cpu.usage.kernel = (st.system ?? 0) * NS_PER_USER_HZ_TICK;
  }
  const cpu = ctl('cpu');
  if (cpu) {
    const st = parseKeyValues(await cpu.readOptional('cpu.stat'));
    stats.cpu.throttling = { periods: st.nr_periods ?? 0, throttledPeriods: st.nr_throttled ?? 0, throttledTime: st.throttled_time ?? 0 };
  }

  const mem = ctl('memory');
  if (mem) {
    const u = await usageTriple(mem, 'memory.');
    stats.memory.usage = { usage: u.usage, max: u.max, limit: u.limit, failcnt: u.failcnt };
    const sw = await usageTriple(mem, 'memory.memsw.');
    if (sw.present) stats.memory.swap = { usage: sw.usage, max: sw.max, limit: sw.limit, failcnt: sw.failcnt };
    const k = await usageTriple(mem, 'memory.kmem.');
    if (k.present) stats.memory.kernel = { usage: k.usage, max: k.max, limit: k.limit, failcnt: k.failcnt };
    const raw = parseKeyValues(await mem.readOptional('memory.stat'));
    stats.memory.raw = raw;
    stats.memory.cache = raw.cache ?? 0;
  }

  const pids = ctl('pids');
  if (pids) {
    stats.pids.current = parseNumber(await pids.readOptional('pids.current'));
    const max = (await pids.readOptional('pids.max'))?.trim();
    // runc reports an unlimited pids.max as 0.
    stats.pids.limit = max === undefined || max === 'max' ? 0 : parseNumber(max);
  }

  const blkio = ctl('blkio');
  if (blkio) {
    // The throttle counters see every bio whatever the scheduler; the CFQ/BFQ ones only their own.
    const bytes = (await blkio.readOptional('blkio.throttle.io_service_bytes_recursive')) ?? (await blkio.readOptional('blkio.bfq.io_service_bytes_recursive'));
    const ios = (await blkio.readOptional('blkio.throttle.io_serviced_recursive')) ?? (await blkio.readOptional('blkio.bfq.io_serviced_recursive'));
    stats.blkio.ioServiceBytesRecursive = parseBlkioRecursive(bytes);
    stats.blkio.ioServicedRecursive = parseBlkioRecursive(ios);
  }

  const huge = ctl('hugetlb');
  if (huge) {
    const sizes = new Set<string>();
    for (const f of await readdir(huge.dir).catch(() => [] as string[])) {
      const m = /^hugetlb\.([0-9]+[KMG]B)\.usage_in_bytes$/.exec(f);
      if (m?.[1]) sizes.add(m[1]);
    }
    if (sizes.size > 0) {
      stats.hugetlb = {};
      for (const size of sizes) {
        const [usage, max, failcnt] = await Promise.all(
          ['usage_in_bytes', 'max_usage_in_bytes', 'failcnt'].map((f) => huge.readOptional(`hugetlb.${size}.${f}`)),
        );
        stats.hugetlb[size] = { usage: parseNumber(usage), max: parseNumber(max), failcnt: parseNumber(failcnt) };
      }
    }
  }
  return stats;
}
