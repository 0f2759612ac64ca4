// Berth's Prometheus metrics (prom-client, on a registry of our own): API latency and pulls fed by hooks; containers, shims and cgroup figures read at scrape time.
//
// Loaded only when berthd runs with --metrics-addr (prom-client costs an idle daemon memory).
// Names follow the Prometheus conventions: base units (`_seconds`, `_bytes`), `_total` on
// counters; per-container series carry `id` (full id) and `name` (without the leading `/`).
import { totalmem } from 'node:os';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { netDevStats, type NetStats } from '../engine/stats.js';
import type { ContainerSummary } from '../engine/types.js';
import type { ContainerInfo } from '../lifecycle/lifecycle.js';
import { UNLIMITED, type CgroupStats } from '../runtime/cgroups/cgroups.js';
import type { RequestRecord } from '../api/server.js';

/** What the metrics read from the engine (an `Engine` is one). */
export interface MetricsSource {
  containers: { list(opts: { all: boolean }): Promise<ContainerSummary[]> };
  lifecycle: { list(): ContainerInfo[]; stats(id: string): Promise<CgroupStats> };
  /** Log entries the shims dropped, per container id (engines that count them). */
  logDrops?(): Record<string, number>;
  /** The event bus: its live subscribers (each open /events stream is one). */
  events?: { readonly subscribers: number };
}

/** Docker's container states: every one is reported, 0 included, so a query never finds a gap. */
export const CONTAINER_STATES = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'] as const;

/** Methods kept as label values; anything else is `other` (a client picks the method, the label set must stay bounded). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE']);

/** API latency buckets: from a ping (sub-millisecond) to a pull or a long `wait`. */
const API_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** One live container as sampled at a scrape. */
interface ContainerSample {
  labels: { id: string; name: string };
  stats: CgroupStats;
  nets?: Record<string, NetStats>;
}

/** Everything one scrape reports, read once however many metrics need it. */
interface Snapshot {
  states: Map<string, number>;
  live: ContainerSample[];
  shims: number;
  drops: Array<{ labels: { id: string; name: string }; value: number }>;
}

function alive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sum of one direction of a cgroup's block I/O over its devices (`op` Read or Write, as both cgroup versions name it). */
export function blkioBytes(s: CgroupStats, op: 'read' | 'write'): number {
  let n = 0;
  for (const e of s.blkio.ioServiceBytesRecursive ?? []) if (e.op.toLowerCase() === op) n += e.value;
  return n;
}

/** The memory limit as `docker stats` shows it: an unlimited cgroup is limited by the host's memory. */
export function memoryLimit(s: CgroupStats): number {
  const l = s.memory.usage.limit;
  return l >= UNLIMITED || l === 0 ? totalmem() : Math.min(l, totalmem());
}

/**
 * The registry and its metrics. `observeRequest` and `countPull` are the hooks the API server and
 * the image routes call; the rest is read from `source` when Prometheus scrapes, never on a timer.
 */
export class EngineMetrics {
  readonly registry = new Registry();
  private readonly requests: Histogram<'method' | 'route' | 'status'>;
  private readonly pulls: Counter<'result'>;
  private pending: Promise<Snapshot> | undefined;
  private apiInFlight: () => number = () => 0;

  constructor(private readonly source: MetricsSource, opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    // The daemon's own process: RSS, CPU, heap, event-loop lag (dockerd exports its process_ and go_ metrics likewise).
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    const snap = () => this.snapshot();

    this.requests = new Histogram({
      name: 'berth_api_request_duration_seconds', help: 'Engine API requests by method, route pattern and HTTP status (101: a hijacked stream), until answered or the stream ended.',
      labelNames: ['method', 'route', 'status'], buckets: API_BUCKETS, registers,
    });
    this.pulls = new Counter({ name: 'berth_image_pulls_total', help: 'Image pulls by result (success, failure).', labelNames: ['result'], registers });
    for (const result of ['success', 'failure']) this.pulls.inc({ result }, 0);

    new Gauge({
      name: 'berth_containers', help: 'Containers by state.', labelNames: ['state'], registers,
      async collect() {
        const s = await snap();
        for (const state of CONTAINER_STATES) this.set({ state }, s.states.get(state) ?? 0);
      },
    });
    new Gauge({
      name: 'berth_shims', help: 'berth-shim processes running (one per live container).', registers,
      async collect() { this.set((await snap()).shims); },
    });
    // A client that went away mid-stream must take its request and its subscriber with it: these fall back.
    const inFlight = () => this.apiInFlight();
    new Gauge({
      name: 'berth_api_requests_in_flight', help: 'Engine API requests not yet over (streams and hijacked connections until they close).', registers,
      collect() { this.set(inFlight()); },
    });
    new Gauge({
      name: 'berth_event_subscribers', help: 'Live subscribers of the event bus (open /events streams).', registers,
      collect() { this.set(source.events?.subscribers ?? 0); },
    });
    new Counter({
      name: 'berth_container_log_lines_dropped_total', help: 'Log entries the shim could not write (ENOSPC, EIO), per container.', labelNames: ['id', 'name'], registers,
      async collect() {
        this.reset();
        for (const d of (await snap()).drops) this.inc(d.labels, d.value);
      },
    });

    // Per live container, from its cgroups (and its network namespace).
    const perContainer = (name: string, help: string, kind: 'counter' | 'gauge', value: (c: ContainerSample) => number | undefined) => {
      const each = async (put: (labels: ContainerSample['labels'], v: number) => void) => {
        for (const c of (await snap()).live) {
          const v = value(c);
          if (v !== undefined) put(c.labels, v);
        }
      };
      const labelNames = ['id', 'name'] as const;
      if (kind === 'counter') {
        new Counter({ name, help, labelNames, registers, async collect() { this.reset(); await each((l, v) => this.inc(l, v)); } });
      } else {
        new Gauge({ name, help, labelNames, registers, async collect() { this.reset(); await each((l, v) => this.set(l, v)); } });
      }
    };
    perContainer('berth_container_cpu_usage_seconds_total', 'CPU time the container used.', 'counter', (c) => c.stats.cpu.usage.total / 1e9);
    perContainer('berth_container_cpu_user_seconds_total', 'CPU time the container used in user mode.', 'counter', (c) => c.stats.cpu.usage.user / 1e9);
    perContainer('berth_container_cpu_system_seconds_total', 'CPU time the container used in kernel mode.', 'counter', (c) => c.stats.cpu.usage.kernel / 1e9);
    perContainer('berth_container_memory_usage_bytes', 'Memory the container\'s cgroup charges (page cache included).', 'gauge', (c) => c.stats.memory.usage.usage);
    perContainer('berth_container_memory_limit_bytes', 'The container\'s memory limit (the host\'s memory when unlimited, as docker stats).', 'gauge', (c) => memoryLimit(c.stats));
    perContainer('berth_container_pids', 'Processes and threads in the container.', 'gauge', (c) => c.stats.pids.current);
    perContainer('berth_container_pids_limit', 'The container\'s pids limit (absent when unlimited).', 'gauge', (c) => (c.stats.pids.limit > 0 && c.stats.pids.limit < UNLIMITED ? c.stats.pids.limit : undefined));
    perContainer('berth_container_block_read_bytes_total', 'Bytes the container read from block devices.', 'counter', (c) => blkioBytes(c.stats, 'read'));
    perContainer('berth_container_block_write_bytes_total', 'Bytes the container wrote to block devices.', 'counter', (c) => blkioBytes(c.stats, 'write'));

    // Network counters per interface of the container's own namespace (none with --network host or none).
    const perInterface = (name: string, help: string, key: 'rx_bytes' | 'tx_bytes') => new Counter({
      name, help, labelNames: ['id', 'name', 'interface'], registers,
      async collect() {
        this.reset();
        for (const c of (await snap()).live) {
          for (const [iface, n] of Object.entries(c.nets ?? {})) this.inc({ ...c.labels, interface: iface }, n[key]);
        }
      },
    });
    perInterface('berth_container_network_receive_bytes_total', 'Bytes received, per interface of the container\'s network namespace.', 'rx_bytes');
    perInterface('berth_container_network_transmit_bytes_total', 'Bytes sent, per interface of the container\'s network namespace.', 'tx_bytes');
  }

  /** The API server's hook: one answered request. */
  observeRequest(r: RequestRecord): void {
    const method = METHODS.has(r.method) ? r.method : 'other';
    this.requests.observe({ method, route: r.route || 'unmatched', status: String(r.status) }, r.seconds);
  }

  /** The API server whose requests in flight are reported (it starts after the metrics). */
  watchServer(server: { readonly inFlight: number }): void {
    this.apiInFlight = () => server.inFlight;
  }

  /** The image routes' hook: one pull ended. */
  countPull(ok: boolean): void {
    this.pulls.inc({ result: ok ? 'success' : 'failure' });
  }

  /** The text exposition format, read now. */
  async expose(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /**
   * prom-client runs every metric's collect() at once: they share one read of the engine, made
   * by the first and dropped when it is done, so each scrape sees one consistent moment.
   */
  private snapshot(): Promise<Snapshot> {
    if (!this.pending) {
      const p = this.read();
      this.pending = p;
      const clear = () => { if (this.pending === p) this.pending = undefined; };
      p.then(clear, clear);
    }
    return this.pending;
  }

  private async read(): Promise<Snapshot> {
    const list = await this.source.containers.list({ all: true });
    const tasks = new Map(this.source.lifecycle.list().filter((c) => c.task).map((c) => [c.id, c.task!]));
    const states = new Map<string, number>();
    const names = new Map<string, string>();
    for (const c of list) {
      states.set(c.State, (states.get(c.State) ?? 0) + 1);
      names.set(c.Id, (c.Names[0] ?? '').replace(/^\//, ''));
    }
    const liveOnes = list.filter((c) => c.State === 'running' || c.State === 'paused');
    const live = (await Promise.all(liveOnes.map(async (c): Promise<ContainerSample | undefined> => {
      const labels = { id: c.Id, name: names.get(c.Id)! };
      let stats: CgroupStats;
      try {
        stats = await this.source.lifecycle.stats(c.Id);
      } catch {
        return undefined; // exited between the list and the read
      }
      const pid = tasks.get(c.Id)?.pid ?? 0;
      // /proc/PID/net/dev shows PID's namespace: with host networking that is the host's, not the container's.
      const nets = pid > 0 && c.HostConfig.NetworkMode !== 'host' ? netDevStats(pid) : undefined;
      return { labels, stats, ...(nets ? { nets } : {}) };
    }))).filter((s): s is ContainerSample => s !== undefined);
    let shims = 0;
    for (const t of tasks.values()) if (t.status !== 'stopped' && alive(t.shimPid)) shims++;
    const drops = Object.entries(this.source.logDrops?.() ?? {})
      .filter(([id]) => names.has(id))
      .map(([id, value]) => ({ labels: { id, name: names.get(id)! }, value }));
    return { states, live, shims, drops };
  }
}
