// Docker's StatsJSON from cgroup stats: CPU (with the host's /proc/stat for the percentage), memory, block I/O, pids.
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { UNLIMITED, type CgroupStats } from '../runtime/cgroups/cgroups.js';
import { ZERO_TIME } from './store.js';
import type { CpuStats, StatsJSON } from './types.js';

/** USER_HZ: /proc/stat counts in clock ticks of 1/100 s on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;

/** The host's total CPU time in nanoseconds (the first line of /proc/stat), as dockerd's getSystemCPUUsage. */
export function systemCpuUsage(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return 0;
  const ticks = line.trim().split(/\s+/).slice(1, 8).reduce((a, v) => a + Number(v), 0);
  return Math.round((ticks * 1e9) / CLOCK_TICKS);
}

export function onlineCpus(): number {
  try {
    const text = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
    let n = 0;
    for (const part of text.split(',')) {
      const [a, b] = part.split('-').map(Number);
      n += b === undefined ? 1 : b - a! + 1;
    }
    if (n > 0) return n;
  } catch { /* fall back */ }
  return cpus().length;
}

export function emptyCpuStats(): CpuStats {
  return { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
}

/** A zeroed sample: what dockerd sends for a container that is not running. */
export function emptyStats(id: string, name: string): StatsJSON {
  return {
    read: ZERO_TIME, preread: ZERO_TIME, pids_stats: {}, blkio_stats: { io_service_bytes_recursive: null }, num_procs: 0, storage_stats: {},
    cpu_stats: emptyCpuStats(), precpu_stats: emptyCpuStats(), memory_stats: {}, name, id,
  };
}

/** Convert one cgroup sample; `prev` (the previous sample of the stream) fills precpu_stats and preread. */
export function toStatsJSON(id: string, name: string, s: CgroupStats, read: string, prev?: StatsJSON): StatsJSON {
  const cpu: CpuStats = {
    cpu_usage: {
      total_usage: s.cpu.usage.total,
      ...(s.cpu.usage.percpu?.length ? { percpu_usage: s.cpu.usage.percpu } : {}),
      usage_in_kernelmode: s.cpu.usage.kernel,
      usage_in_usermode: s.cpu.usage.user,
    },
    system_cpu_usage: systemCpuUsage(),
    online_cpus: onlineCpus(),
    throttling_data: {
      periods: s.cpu.throttling.periods ?? 0,
      throttled_periods: s.cpu.throttling.throttledPeriods ?? 0,
      throttled_time: s.cpu.throttling.throttledTime ?? 0,
    },
  };
  const raw = { ...(s.memory.raw ?? {}) };
  if (s.memory.cache !== undefined && raw.cache === undefined) raw.cache = s.memory.cache;
  // An unlimited cgroup reports the host's memory as its limit, as dockerd does.
  const limit = s.memory.usage.limit >= UNLIMITED || s.memory.usage.limit === 0 ? totalmem() : Math.min(s.memory.usage.limit, totalmem());
  return {
    read,
    preread: prev?.read ?? ZERO_TIME,
    pids_stats: { current: s.pids.current, ...(s.pids.limit > 0 && s.pids.limit < UNLIMITED ? { limit: s.pids.limit } : {}) },
    blkio_stats: {
      io_service_bytes_recursive: s.blkio.ioServiceBytesRecursive?.length ? s.blkio.ioServiceBytesRecursive.map((e) => ({ ...e })) : null,
      io_serviced_recursive: s.blkio.ioServicedRecursive?.length ? s.blkio.ioServicedRecursive.map((e) => ({ ...e })) : null,
      io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null,
      io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpu,
    precpu_stats: prev?.cpu_stats ?? emptyCpuStats(),
    memory_stats: {
      usage: s.memory.usage.usage,
      ...(s.memory.usage.max ? { max_usage: s.memory.usage.max } : {}),
      stats: raw,
      ...(s.memory.usage.failcnt !== undefined ? { failcnt: s.memory.usage.failcnt } : {}),
      limit,
    },
    name,
    id,
  };
}

/** Docker's per-interface network counters. */
export interface NetStats { rx_bytes: number; rx_packets: number; rx_errors: number; rx_dropped: number; tx_bytes: number; tx_packets: number; tx_errors: number; tx_dropped: number }

/**
 * The counters of the interfaces in a process's network namespace (`/proc/PID/net/dev`, which
 * shows the namespace of PID), without `lo`, as dockerd reports them under `networks`.
 */
export function netDevStats(pid: number): Record<string, NetStats> | undefined {
  let text: string;
  try { text = readFileSync(`/proc/${pid}/net/dev`, 'utf8'); } catch { return undefined; }
  const out: Record<string, NetStats> = {};
  for (const line of text.split('\n').slice(2)) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const name = line.slice(0, i).trim();
    if (name === 'lo') continue;
    const f = line.slice(i + 1).trim().split(/\s+/).map(Number);
    out[name] = { rx_bytes: f[0]!, rx_packets: f[1]!, rx_errors: f[2]!, rx_dropped: f[3]!, tx_bytes: f[8]!, tx_packets: f[9]!, tx_errors: f[10]!, tx_dropped: f[11]! };
  }
  return Object.keys(out).length ? out : undefined;
}
