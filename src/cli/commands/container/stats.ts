// `berth stats`: GET /containers/{id}/stats per container, with docker's CPU %, memory (cache excluded), net, block and pid columns.
import type { ContainerSummary, StatsJSON } from '../../../engine/types.js';
import type { Command } from '../../command.js';
import type { Cli } from '../../context.js';
import { formatRows } from '../../format/formatter.js';
import { sprintf } from '../../format/gofmt.js';
import { bytesSize, humanSizeWithPrecision } from '../../format/units.js';
import { addFormatFlag } from './ps.js';
import { shortId } from '../util.js';

/** The numbers one stats sample stands for, computed as the docker CLI does on Linux. */
export interface StatsEntry {
  container: string;
  name: string;
  id: string;
  cpuPercentage: number;
  memory: number;
  memoryLimit: number;
  memoryPercentage: number;
  networkRx: number;
  networkTx: number;
  blockRead: number;
  blockWrite: number;
  pidsCurrent: number;
  isInvalid?: boolean;
}

/** CPU %: (Δ container usage / Δ system usage) × online CPUs × 100, 0 unless both deltas are positive. */
export function cpuPercent(s: StatsJSON): number {
  const cpuDelta = s.cpu_stats.cpu_usage.total_usage - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  let online = s.cpu_stats.online_cpus ?? 0;
  if (online === 0) online = s.cpu_stats.cpu_usage.percpu_usage?.length ?? 0;
  return systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * online * 100 : 0;
}

/** Memory in use without the page cache: usage − total_inactive_file (cgroup v1) or − inactive_file (v2). */
export function memUsageNoCache(m: StatsJSON['memory_stats']): number {
  const usage = m.usage ?? 0;
  const st = m.stats ?? {};
  const v1 = st['total_inactive_file'];
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = st['inactive_file'] ?? 0;
  if (v2 < usage) return usage - v2;
  return usage;
}

/** Turn one sample into the table's numbers. */
export function statsEntry(container: string, s: StatsJSON): StatsEntry {
  const mem = memUsageNoCache(s.memory_stats ?? {});
  const limit = s.memory_stats?.limit ?? 0;
  let rx = 0, tx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    rx += n.rx_bytes;
    tx += n.tx_bytes;
  }
  let br = 0, bw = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = (e.op ?? '').charAt(0);
    if (op === 'r' || op === 'R') br += e.value;
    else if (op === 'w' || op === 'W') bw += e.value;
  }
  return {
    container,
    name: (s.name ?? '').replace(/^\//, ''),
    id: s.id,
    cpuPercentage: cpuPercent(s),
    memory: mem,
    memoryLimit: limit,
    memoryPercentage: limit !== 0 ? (mem / limit) * 100 : 0,
    networkRx: rx,
    networkTx: tx,
    blockRead: br,
    blockWrite: bw,
    pidsCurrent: s.pids_stats?.current ?? 0,
  };
}

/** One stats row: docker's template fields. */
export class StatsRow {
  readonly #s: StatsEntry;
  readonly #trunc: boolean;
  constructor(s: StatsEntry, trunc: boolean) {
    this.#s = s;
    this.#trunc = trunc;
  }
  get Container(): string {
    return this.#s.container;
  }
  get Name(): string {
    return this.#s.name || '--';
  }
  get ID(): string {
    return this.#trunc ? shortId(this.#s.id) : this.#s.id;
  }
  get CPUPerc(): string {
    return this.#s.isInvalid ? '--' : sprintf('%.2f%%', [this.#s.cpuPercentage]);
  }
  get MemUsage(): string {
    return this.#s.isInvalid ? '-- / --' : `${bytesSize(this.#s.memory)} / ${bytesSize(this.#s.memoryLimit)}`;
  }
  get MemPerc(): string {
    return this.#s.isInvalid ? '--' : sprintf('%.2f%%', [this.#s.memoryPercentage]);
  }
  get NetIO(): string {
    return this.#s.isInvalid ? '--' : `${humanSizeWithPrecision(this.#s.networkRx, 3)} / ${humanSizeWithPrecision(this.#s.networkTx, 3)}`;
  }
  get BlockIO(): string {
    return this.#s.isInvalid ? '--' : `${humanSizeWithPrecision(this.#s.blockRead, 3)} / ${humanSizeWithPrecision(this.#s.blockWrite, 3)}`;
  }
  get PIDs(): string {
    return this.#s.isInvalid ? '--' : String(this.#s.pidsCurrent);
  }
}

export const STATS_HEADER: Record<string, string> = {
  Container: 'CONTAINER',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};

export const STATS_DEFAULT = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

/** Render entries for `format` (default table). */
export function formatStats(entries: StatsEntry[], opts: { format?: string; trunc: boolean }): string {
  const format = !opts.format || opts.format === 'table' ? STATS_DEFAULT : opts.format;
  return formatRows(format, entries.map((e) => new StatsRow(e, opts.trunc)), { header: STATS_HEADER });
}

async function sampleOnce(cli: Cli, ref: string): Promise<StatsEntry> {
  const client = await cli.client();
  const s = await client.json<StatsJSON>('GET', `/containers/${encodeURIComponent(ref)}/stats`, { query: { stream: false } });
  return statsEntry(ref, s);
}

export const command: Command = {
  name: 'stats',
  use: '[OPTIONS] [CONTAINER...]',
  short: 'Display a live stream of container(s) resource usage statistics',
  flags(fs) {
    fs.bool('all', 'a', 'Show all containers (default shows just running)');
    addFormatFlag(fs);
    fs.bool('no-stream', undefined, 'Disable streaming stats and only pull the first result');
    fs.bool('no-trunc', undefined, 'Do not truncate output');
  },
  async run(cli, flags, args) {
    const client = await cli.client();
    const format = flags.str('format');
    const trunc = !flags.bool('no-trunc');
    const list = async (): Promise<string[]> => {
      if (args.length) return args;
      const cs = await client.json<ContainerSummary[]>('GET', '/containers/json', { query: { all: flags.bool('all') || undefined } });
      return cs.map((c) => c.Id);
    };
    const sample = async (): Promise<StatsEntry[]> => {
      const refs = await list();
      return Promise.all(
        refs.map((r) =>
          sampleOnce(cli, r).catch((e) => {
            if (args.length) throw e;
            return { container: r, name: '', id: r, cpuPercentage: 0, memory: 0, memoryLimit: 0, memoryPercentage: 0, networkRx: 0, networkTx: 0, blockRead: 0, blockWrite: 0, pidsCurrent: 0, isInvalid: true };
          }),
        ),
      );
    };
    if (flags.bool('no-stream')) {
      cli.out(formatStats(await sample(), { format, trunc }));
      return;
    }
    // Live: redraw every second (the daemon's one-shot sample already spans a second).
    let stop = false;
    const onSig = () => {
      stop = true;
    };
    process.once('SIGINT', onSig);
    try {
      while (!stop) {
        const entries = await sample();
        const text = formatStats(entries, { format, trunc });
        cli.out(cli.io.stdout.isTTY ? `\x1b[2J\x1b[H${text}` : text);
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      process.off('SIGINT', onSig);
    }
  },
};
