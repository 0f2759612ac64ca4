// `berth update`: POST /containers/{id}/update with the resources given (only the flags that were set).
import type { Command } from '../../command.js';
import { parseGoInt } from '../../flags.js';
import { forEachRef } from '../util.js';
import { parseNanoCpus, parseRamBytes, parseRestart, parseSwapBytes } from './opts.js';

export const command: Command = {
  name: 'update',
  use: '[OPTIONS] CONTAINER [CONTAINER...]',
  short: 'Update configuration of one or more containers',
  args: { min: 1 },
  flags(fs) {
    fs.add({ name: 'blkio-weight', kind: 'value', typeName: 'uint16', usage: 'Block IO (relative weight), between 10 and 1000, or 0 to disable', defText: '0', parse: parseGoInt });
    fs.int('cpu-period', undefined, 'Limit CPU CFS (Completely Fair Scheduler) period');
    fs.int('cpu-quota', undefined, 'Limit CPU CFS (Completely Fair Scheduler) quota');
    fs.int('cpu-rt-period', undefined, 'Limit the CPU real-time period in microseconds');
    fs.int('cpu-rt-runtime', undefined, 'Limit the CPU real-time runtime in microseconds');
    fs.int('cpu-shares', 'c', 'CPU shares (relative weight)');
    fs.add({ name: 'cpus', kind: 'value', typeName: 'decimal', usage: 'Number of CPUs', parse: parseNanoCpus });
    fs.string('cpuset-cpus', undefined, 'CPUs in which to allow execution (0-3, 0,1)');
    fs.string('cpuset-mems', undefined, 'MEMs in which to allow execution (0-3, 0,1)');
    fs.add({ name: 'memory', short: 'm', kind: 'value', typeName: 'bytes', usage: 'Memory limit', parse: parseRamBytes });
    fs.add({ name: 'memory-reservation', kind: 'value', typeName: 'bytes', usage: 'Memory soft limit', parse: parseRamBytes });
    fs.add({ name: 'memory-swap', kind: 'value', typeName: 'bytes', usage: 'Swap limit equal to memory plus swap: -1 to enable unlimited swap', parse: parseSwapBytes });
    fs.int('pids-limit', undefined, 'Tune container pids limit (set -1 for unlimited)');
    fs.string('restart', undefined, 'Restart policy to apply when a container exits');
  },
  async run(cli, flags, args) {
    const body: Record<string, unknown> = {};
    const map: Array<[string, string]> = [
      ['blkio-weight', 'BlkioWeight'], ['cpu-period', 'CpuPeriod'], ['cpu-quota', 'CpuQuota'], ['cpu-rt-period', 'CpuRealtimePeriod'],
      ['cpu-rt-runtime', 'CpuRealtimeRuntime'], ['cpu-shares', 'CpuShares'], ['cpus', 'NanoCpus'], ['cpuset-cpus', 'CpusetCpus'],
      ['cpuset-mems', 'CpusetMems'], ['memory', 'Memory'], ['memory-reservation', 'MemoryReservation'], ['memory-swap', 'MemorySwap'],
      ['pids-limit', 'PidsLimit'],
    ];
    for (const [flag, field] of map) if (flags.has(flag)) body[field] = flags.get(flag);
    if (flags.has('restart')) body['RestartPolicy'] = parseRestart(flags.str('restart') ?? '');
    if (!Object.keys(body).length) throw new Error('you must provide one or more flags when using this command');
    const client = await cli.client();
    await forEachRef(cli, args, async (ref) => {
      const r = await client.json<{ Warnings?: string[] | null }>('POST', `/containers/${encodeURIComponent(ref)}/update`, { body });
      for (const w of r?.Warnings ?? []) cli.err(`${w}\n`);
    });
  },
};
