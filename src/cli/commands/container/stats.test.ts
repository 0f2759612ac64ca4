// docker's stats arithmetic: CPU % from the deltas, memory without the inactive page cache (cgroup v1 and v2).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StatsJSON } from '../../../engine/types.js';
import { cpuPercent, memUsageNoCache, statsEntry } from './stats.js';

const cpu = (total: number, system: number, online?: number, percpu?: number[]) => ({
  cpu_usage: { total_usage: total, percpu_usage: percpu, usage_in_kernelmode: 0, usage_in_usermode: 0 },
  system_cpu_usage: system,
  online_cpus: online,
  throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
});

describe('stats', () => {
  it('CPU %: cpuDelta / systemDelta × online CPUs × 100', () => {
    const s = { cpu_stats: cpu(2_500, 100_000, 4), precpu_stats: cpu(2_000, 96_000, 4) } as unknown as StatsJSON;
    assert.equal(cpuPercent(s), (500 / 4000) * 4 * 100);
  });
  it('CPU %: online CPUs fall back to the per-CPU list; no delta is 0', () => {
    const s = { cpu_stats: cpu(300, 2_000, 0, [1, 2]), precpu_stats: cpu(100, 1_000, 0) } as unknown as StatsJSON;
    assert.equal(cpuPercent(s), (200 / 1000) * 2 * 100);
    const none = { cpu_stats: cpu(100, 2_000, 2), precpu_stats: cpu(100, 1_000, 2) } as unknown as StatsJSON;
    assert.equal(cpuPercent(none), 0);
  });
  it('memory: v1 subtracts total_inactive_file, v2 inactive_file', () => {
    assert.equal(memUsageNoCache({ usage: 80, stats: { total_inactive_file: 30, cache: 40 } }), 50);
    assert.equal(memUsageNoCache({ usage: 50, stats: { inactive_file: 10 } }), 40);
    assert.equal(memUsageNoCache({ usage: 5, stats: { inactive_file: 10 } }), 5);
  });
  it('entry: MEM %, network and block totals', () => {
    const e = statsEntry('c', {
      id: 'x', name: '/n', cpu_stats: cpu(1, 1, 1), precpu_stats: cpu(0, 0, 1), pids_stats: { current: 3 },
      memory_stats: { usage: 200, limit: 1000, stats: { inactive_file: 100 } },
      blkio_stats: { io_service_bytes_recursive: [{ major: 1, minor: 0, op: 'Read', value: 5 }, { major: 1, minor: 0, op: 'write', value: 7 }, { major: 1, minor: 0, op: 'Total', value: 12 }] },
      networks: { a: { rx_bytes: 1, tx_bytes: 2 }, b: { rx_bytes: 10, tx_bytes: 20 } },
    } as unknown as StatsJSON);
    assert.equal(e.name, 'n');
    assert.equal(e.memoryPercentage, 10);
    assert.deepEqual([e.networkRx, e.networkTx, e.blockRead, e.blockWrite, e.pidsCurrent], [11, 22, 5, 7, 3]);
  });
});
