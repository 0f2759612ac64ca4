// The containerd-like layer: containers and tasks in one namespace, one berth-shim per task, events, reattach after a restart.
import { EventEmitter } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { BerthError, errAlreadyExists, errConflict, errInvalid, errPrecondition, isNotFound } from '../common/errors.js';
import { crashPoint } from '../common/crash-point.js';
import type { Logger } from '../common/log.js';
import { inSpan, tracer } from '../common/trace.js';
import type { LinuxResources, Process, Spec } from '../runtime/spec/types.js';
import { validateProcess, validateSpec } from '../runtime/spec/validate.js';
import { buildExecPlan } from '../runtime/plan/build.js';
import { encodePlan } from '../runtime/plan/plan.js';
import { openCgroups } from '../runtime/cgroups/open.js';
import { primeCgroupAttach } from '../runtime/cgroups/prime.js';
import type { CgroupManager, CgroupStats } from '../runtime/cgroups/cgroups.js';
import { mergeResources, prepareCreate, releaseFifo, waitGone } from '../runtime/container/runtime.js';
import { checkId } from '../runtime/container/state-dir.js';
import { isSameLiveProcess, parseSignal, procStat } from '../runtime/container/proc.js';
import { DEFAULT_NAMESPACE, MetadataStore, type ContainerRow, type TaskRow } from './metadata.js';
import { launchShim, readExitFile, ShimClient, ShimLaunchError, type ShimExit, type ShimLaunchOptions } from './shim-client.js';
import { checkStateDirLength, execTag, SOCKET_DIR, socketDirOf, taskSockets } from './task-sockets.js';
import { fitSpec, runtimeFeatures } from './runtime-features.js';
import { recordInitPhases } from './init-phases.js';

/** The runtime name recorded on containers (containerd records e.g. `io.containerd.runc.v2`). */
export const RUNTIME_NAME = 'io.berth.shim.v1';

/** Under the state dir: berth-init's compiled seccomp programs, one file per distinct filter (lost on reboot, as the state dir). */
const SECCOMP_CACHE_DIR = 'seccomp';

/** The exit reason recorded when a task's shim vanished without writing exit.json. */
export const SHIM_DIED_REASON = 'shim died; exit status unknown';

/** containerd's event topics, as the lifecycle layer publishes them. */
export type EventTopic =
  | '/containers/create' | '/containers/delete'
  | '/tasks/create' | '/tasks/start' | '/tasks/exit' | '/tasks/oom' | '/tasks/delete'
  | '/tasks/exec-added' | '/tasks/exec-started' | '/tasks/paused' | '/tasks/resumed'
  // Ours: the shim dropped log entries (a full disk); `logDropped` is the task's count so far.
  | '/tasks/log-dropped';

/** One event: topic, namespace, container id, RFC 3339 timestamp, and the topic's payload. */
export interface LifecycleEvent {
  topic: EventTopic;
  namespace: string;
  id: string;
  timestamp: string;
  [payload: string]: unknown;
}

/** How a task (or exec) ended. */
export interface ExitStatus {
  /** Exit code, or 128 + signal; 255 when unknown (the shim died). */
  exitCode: number;
  /** The killing signal, else 0. */
  signal: number;
  oomKilled: boolean;
  startedAt: string;
  finishedAt: string;
  /** Empty for a normal exit; says why the status is not the process's own otherwise. */
  reason: string;
  /** berth-init's execve time on the span clock (CLOCK_MONOTONIC ns), when the shim reported it. */
  execNs?: number;
}

export interface LifecycleOptions {
  /** Holds metadata.db. */
  dataRoot: string;
  /**
   * Holds `<namespace>/<id>/` task dirs (exit.json, shim.pid, plan, exec.fifo) and, in `s/`,
   * every task's unix sockets under a short name (task-sockets.ts); at most 65 bytes long.
   */
  stateDir: string;
  /** Default `moby`, as Docker names its containerd namespace. */
  namespace?: string;
  /** Test seams: the shim and init binaries. */
  shimBinary?: string;
  initBinary?: string;
  /** runc-compatible runtimes by name, for containers created with one (else berth-init runs them). */
  runtimes?: Record<string, RuntimeConfig>;
  /** Where warnings go (a stuck shim killed at delete). */
  log?: Logger;
}

/** A runc-compatible runtime: its binary (a name is looked up in PATH) and global options put before each command. */
export interface RuntimeConfig {
  path: string;
  runtimeArgs?: string[];
}

export interface CreateContainerOptions {
  id: string;
  /** The OCI spec; `root.path` is replaced by `rootfs`. */
  spec: Spec;
  /** Absolute path of the container's root filesystem. */
  rootfs: string;
  /** The snapshot `rootfs` is mounted from; handed to `snapshotCleanup` on delete. */
  snapshotKey?: string;
  labels?: Record<string, string>;
  imageRef?: string;
  /** A runtime of `LifecycleOptions.runtimes` by name; default (or RUNTIME_NAME): berth-init. */
  runtime?: string;
}

export interface NewTaskOptions {
  /** Give the container a stdin pipe (else /dev/null). */
  stdin?: boolean;
  /** Run on a pty (overrides `process.terminal` of the spec). */
  terminal?: boolean;
  /** Docker json-file log written by the shim (rotation, gzip of rotated files). */
  log?: { path: string; maxSize?: number; maxFiles?: number; compress?: boolean };
}

/** A container with its task, if any, as `list` reports it. */
export interface ContainerInfo extends ContainerRow {
  task?: TaskRow;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowIso = () => new Date().toISOString();

function exitFromShim(e: ShimExit, reason = ''): ExitStatus {
  return { exitCode: e.exitCode, signal: e.signal, oomKilled: e.oomKilled, startedAt: e.startedAt, finishedAt: e.finishedAt, reason, ...(e.execNs ? { execNs: e.execNs } : {}) };
}

function exitFromRow(t: TaskRow): ExitStatus {
  return {
    exitCode: t.exitCode ?? 255,
    signal: t.exitSignal ?? 0,
    oomKilled: t.oomKilled,
    startedAt: t.startedAt,
    finishedAt: t.finishedAt,
    reason: t.exitReason,
  };
}

function signalNumber(s: number | string): number {
  const n = typeof s === 'number' ? s : parseSignal(s);
  if (n === undefined || !Number.isInteger(n) || n <= 0 || n > 64) throw errInvalid(`invalid signal ${JSON.stringify(s)}`);
  return n;
}

/**
 * True while the container process has not exec'd yet: berth-init runs from a sealed memfd
 * copy of itself until `execve` (docs/plan.md, security notes), so its exe link names the memfd.
 * Used on reattach to tell a `created` row whose start raced our crash from one still waiting.
 */
function stillInInit(pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/exe`).includes('memfd:');
  } catch {
    return false;
  }
}

/**
 * Pids of berth-shim processes launched for this task dir (its `--dir` argument), found in
 * /proc: after a crash the start-up report is lost, and with it the shim's pid. The dir is
 * unique to one task of one state dir, so this matches only shims we launched for it.
 */
function shimProcessesFor(dir: string): number[] {
  const out: number[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${n}/cmdline`, 'latin1').split('\0');
    } catch {
      continue;
    }
    if (hasDirArg(argv, dir) && basename(argv[0]!) === 'berth-shim') {
      const st = procStat(Number(n));
      if (st && st.state !== 'Z') out.push(Number(n));
    }
  }
  return out;
}

const hasDirArg = (argv: string[], dir: string) => {
  const i = argv.indexOf('--dir');
  return i > 0 && argv[i + 1] === dir;
};

/** Whether `pid` is a live (not zombie) shim of this task dir, not a process that reused its pid. */
function isLiveShimOf(pid: number, dir: string): boolean {
  if (!isSameLiveProcess(pid, undefined)) return false;
  try {
    return hasDirArg(readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0'), dir);
  } catch {
    return false;
  }
}

/**
 * How long a deleted task's shim may take to exit after it reported the exit: up to FINISH_MS
 * (2 s) for clients and execs, once more as much for requests that raced the exit, the runtime's
 * `delete` for a task under a runc-compatible runtime, and the stalls of a busy machine.
 */
const SHIM_EXIT_MS = 10_000;

/** Remove a task's socket files that a shim left behind (it removes its own when it exits normally). */
function removeTaskSockets(dir: string): void {
  const { prefix } = taskSockets(dir);
  const sdir = socketDirOf(dir);
  let names: string[];
  try {
    names = readdirSync(sdir);
  } catch {
    return;
  }
  for (const n of names) if (n.startsWith(prefix)) rmSync(join(sdir, n), { force: true });
}

/**
 * The lifecycle layer: containers (metadata) and tasks (a running container, one berth-shim
 * each) in one namespace, with containerd's semantics and event topics. It never holds a
 * container's stdio or exit itself: the shim does, so this process may die at any moment and
 * a new `Lifecycle.open` picks every task up again (live-restore); nothing restarts a container.
 *
 * Lifecycle of a task:
 * ```ts
 * const lc = await Lifecycle.open({ dataRoot: '/var/lib/berth', stateDir: '/run/berth' });
 * await lc.createContainer({ id: 'web', spec, rootfs: '/var/lib/berth/snapshots/7/fs' });
 * await lc.newTask('web', { log: { path: '/var/lib/berth/containers/web/web-json.log' } }); // created: shim up, process blocked
 * await lc.start('web');                                  // running
 * const exit = await lc.wait('web');                      // stopped, exit recorded in metadata.db
 * await lc.deleteTask('web');                             // cgroups and the task dir removed
 * await lc.deleteContainer('web', { snapshotCleanup: (key) => snapshotter.remove(key) });
 * lc.close();
 * ```
 * Crash safety: every change is one SQLite transaction, and a task row is written (status
 * `creating`) before its cgroups and shim exist, so `open` can clean up a create that a crash
 * interrupted; tasks whose shim is alive are reattached, those whose shim ended get the exit
 * it recorded, and those whose shim vanished are marked stopped with {@link SHIM_DIED_REASON}.
 */
export class Lifecycle {
  /**
   * Emits `'event'` for every event, and each topic under its own name. `/tasks/exit` carries
   * `execNs`: berth-init's execve time on the span clock (0 when unknown), for the start's trace.
   */
  readonly events = new EventEmitter();
  private readonly monitors = new Map<string, { abort: AbortController; done: Promise<void> }>();
  /** Starts in progress: an exit that arrives meanwhile waits for its start to be recorded, so
   * /tasks/start always comes before /tasks/exit, even for a process that exits at once. */
  private readonly starting = new Map<string, Promise<unknown>>();
  /** Tasks whose OOM kill was published while they ran: their exit does not publish it again. */
  private readonly oomPublished = new Set<string>();
  private closed = false;

  private constructor(
    readonly md: MetadataStore,
    readonly namespace: string,
    readonly stateDir: string,
    private readonly opts: LifecycleOptions,
  ) {
    this.events.setMaxListeners(0);
  }

  /** Open the metadata database, then reattach to (or settle) every task of the namespace. */
  static async open(o: LifecycleOptions): Promise<Lifecycle> {
    if (!isAbsolute(o.dataRoot) || !isAbsolute(o.stateDir)) throw errInvalid('lifecycle: dataRoot and stateDir must be absolute paths');
    checkStateDirLength(o.stateDir);
    mkdirSync(o.dataRoot, { recursive: true, mode: 0o711 });
    const ns = o.namespace ?? DEFAULT_NAMESPACE;
    const md = MetadataStore.open(join(o.dataRoot, 'metadata.db'));
    md.ensureNamespace(ns);
    mkdirSync(join(o.stateDir, ns), { recursive: true, mode: 0o711 });
    mkdirSync(join(o.stateDir, SOCKET_DIR), { recursive: true, mode: 0o711 });
    mkdirSync(join(o.stateDir, SECCOMP_CACHE_DIR), { recursive: true, mode: 0o700 });
    const lc = new Lifecycle(md, ns, o.stateDir, o);
    try {
      await lc.reconcile();
    } catch (e) {
      lc.close();
      throw e;
    }
    return lc;
  }

  /** Stop watching shims and close the database; containers keep running. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const m of this.monitors.values()) m.abort.abort();
    this.monitors.clear();
    this.md.close();
  }

  // --- events -----------------------------------------------------------------------------

  private publish(topic: EventTopic, id: string, payload: Record<string, unknown> = {}): void {
    const ev: LifecycleEvent = { ...payload, topic, namespace: this.namespace, id, timestamp: nowIso() };
    this.events.emit('event', ev);
    this.events.emit(topic, ev);
  }

  /**
   * Events from now on, as an async iterator (containerd's `Subscribe`); `filter` selects, and
   * breaking out of the loop (or `signal`) unsubscribes. Events are queued, never dropped.
   */
  subscribe(filter?: (e: LifecycleEvent) => boolean, signal?: AbortSignal): AsyncIterableIterator<LifecycleEvent> {
    const queue: LifecycleEvent[] = [];
    let wake: ((r: IteratorResult<LifecycleEvent>) => void) | undefined;
    let done = false;
    const on = (e: LifecycleEvent) => {
      if (filter && !filter(e)) return;
      if (wake) { const w = wake; wake = undefined; w({ value: e, done: false }); } else queue.push(e);
    };
    const stop = () => {
      if (done) return;
      done = true;
      this.events.off('event', on);
      if (wake) { const w = wake; wake = undefined; w({ value: undefined, done: true }); }
    };
    this.events.on('event', on);
    signal?.addEventListener('abort', stop, { once: true });
    const it: AsyncIterableIterator<LifecycleEvent> = {
      next: () => {
        if (queue.length) return Promise.resolve({ value: queue.shift()!, done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((r) => { wake = r; });
      },
      return: () => { stop(); return Promise.resolve({ value: undefined, done: true }); },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  // --- containers -------------------------------------------------------------------------

  /** Record a container (nothing runs yet). The spec is validated here, so a task create fails only on the host. */
  async createContainer(o: CreateContainerOptions): Promise<ContainerRow> {
    checkId(o.id);
    if (!isAbsolute(o.rootfs)) throw errInvalid(`container "${o.id}": rootfs must be an absolute path, got ${JSON.stringify(o.rootfs)}`);
    const spec = structuredClone(o.spec);
    spec.root = { ...spec.root, path: o.rootfs };
    validateSpec(spec);
    const runtime = o.runtime && o.runtime !== RUNTIME_NAME ? o.runtime : RUNTIME_NAME;
    if (runtime !== RUNTIME_NAME && !this.opts.runtimes?.[runtime]) throw errInvalid(`unknown or invalid runtime name: ${runtime}`);
    const row = this.md.createContainer({
      namespace: this.namespace, id: o.id, imageRef: o.imageRef ?? '', spec, rootfs: o.rootfs,
      snapshotKey: o.snapshotKey ?? '', labels: o.labels ?? {}, runtime,
    });
    this.publish('/containers/create', o.id, { image: row.imageRef, runtime });
    return row;
  }

  getContainer(id: string): ContainerRow {
    return this.md.getContainer(this.namespace, id);
  }

  /** Every container of the namespace, with its task row if it has one. */
  list(): ContainerInfo[] {
    const tasks = new Map(this.md.listTasks(this.namespace).map((t) => [t.containerId, t]));
    return this.md.listContainers(this.namespace).map((c) => {
      const task = tasks.get(c.id);
      return task ? { ...c, task } : { ...c };
    });
  }

  /**
   * Remove a container that has no task; then its snapshot through `snapshotCleanup` (the
   * record goes first, so a failing cleanup leaves garbage for GC, never a dangling record).
   */
  async deleteContainer(id: string, o: { snapshotCleanup?: (key: string) => Promise<void> } = {}): Promise<void> {
    const row = this.md.deleteContainer(this.namespace, id);
    this.publish('/containers/delete', id);
    if (row.snapshotKey && o.snapshotCleanup) await o.snapshotCleanup(row.snapshotKey);
  }

  // --- tasks ------------------------------------------------------------------------------

  /** The task row of a container (`not-found` without one). */
  task(id: string): TaskRow {
    return this.md.getTask(this.namespace, id);
  }

  /** The runc-compatible runtime a container names, as configured now (dockerd looks it up at each start too). */
  private runtimeOf(c: ContainerRow): RuntimeConfig {
    const rt = this.opts.runtimes?.[c.runtime];
    if (!rt) throw errInvalid(`unknown or invalid runtime name: ${c.runtime}`);
    return rt;
  }

  private cgroups(t: Pick<TaskRow, 'containerId' | 'cgroupPath'>): CgroupManager {
    return openCgroups({ id: t.containerId, path: t.cgroupPath });
  }

  private shim(t: TaskRow): ShimClient {
    return new ShimClient(t.containerId, taskSockets(t.dir).control);
  }

  /**
   * Create the task: build the plan in this process, create the cgroups, launch the shim.
   * Resolves with the task `created`: the process exists, set up, blocked until `start`.
   */
  async newTask(id: string, o: NewTaskOptions = {}): Promise<TaskRow> {
    return inSpan('task.create', 'lifecycle', () => this.createTask(id, o));
  }

  private async createTask(id: string, o: NewTaskOptions): Promise<TaskRow> {
    const c = this.getContainer(id);
    if (this.md.findTask(this.namespace, id)) throw errAlreadyExists(`task "${id}": already exists`);
    const spec = structuredClone(c.spec);
    if (!spec.process) throw errInvalid(`container "${id}": spec has no process`);
    spec.process.terminal = !!o.terminal;
    const dir = join(this.stateDir, this.namespace, id);
    const sockets = taskSockets(dir);
    const cg = openCgroups({ id, path: spec.linux?.cgroupsPath || undefined });
    // The marker first: a crash from here until the shim reports leaves a row `open` cleans up.
    this.md.createTask({
      namespace: this.namespace, containerId: id, status: 'creating', dir, cgroupPath: cg.path,
      terminal: !!o.terminal, stdin: !!o.stdin, logPath: o.log?.path ?? '',
    });
    crashPoint('task:after-row');
    let row: TaskRow;
    try {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true, mode: 0o711 });
      mkdirSync(socketDirOf(dir), { recursive: true, mode: 0o711 });
      if (o.log) mkdirSync(dirname(o.log.path), { recursive: true });
      const plan = join(dir, 'plan');
      let runtime: ShimLaunchOptions['runtime'];
      if (c.runtime !== RUNTIME_NAME) {
        // A foreign runtime: the task dir is its bundle, the spec its config.json; it makes the
        // cgroups itself (the same paths: a relative cgroupsPath is under its caller's cgroup,
        // which is ours, as for berth-init), and keeps its state under the task dir.
        const rt = this.runtimeOf(c);
        writeFileSync(join(dir, 'config.json'), JSON.stringify(fitSpec(spec, await runtimeFeatures(rt))));
        runtime = { path: rt.path, ...(rt.runtimeArgs?.length ? { args: rt.runtimeArgs } : {}), root: join(dir, 'runtime'), bundle: dir, ...(o.terminal ? { console: sockets.console } : {}) };
      } else {
        await inSpan('plan', 'runtime', () => prepareCreate(spec, cg, {
          bundle: dir,
          rootfs: c.rootfs,
          planFile: plan,
          execFifo: join(dir, 'exec.fifo'),
          consoleSocket: o.terminal ? sockets.console : undefined,
          seccompCacheDir: join(this.stateDir, SECCOMP_CACHE_DIR),
          // Not earlier: the warming write holds the cgroup mutex for its grace period, which would
          // hold up these mkdirs; from here it overlaps the plan, the shim launch and berth-init's start.
          onCgroupsCreated: () => void primeCgroupAttach(),
        }));
      }
      const cgDirs = cg.hierarchyDirs();
      const ready = await inSpan('shim', 'shim', async (span) => {
        const r = await launchShim({
          id, dir, socket: sockets.control,
          ...(runtime ? { runtime } : { plan }),
          terminal: !!o.terminal,
          stdin: !!o.stdin,
          ...(o.log ? { log: o.log } : {}),
          ...(cg.version === 1 ? (cgDirs.memory ? { oomCgroup: cgDirs.memory } : {}) : { oomCgroup2: cgDirs[''] }),
          ...(this.opts.shimBinary ? { shimBinary: this.opts.shimBinary } : {}),
          ...(this.opts.initBinary ? { initBinary: this.opts.initBinary } : {}),
        });
        if (span) recordInitPhases(span, r.spawnNs, r.phases);
        return r;
      });
      crashPoint('task:after-shim');
      row = this.md.updateTask(this.namespace, id, {
        status: 'created', pid: ready.pid, shimPid: ready.shimPid, pidStartTime: procStat(ready.pid)?.startTime ?? 0,
      });
    } catch (e) {
      // A shim that reported an error is gone; after anything else (a timeout) one may still be starting.
      if (!(e instanceof ShimLaunchError)) await this.settleLaunch(id, dir);
      await cg.destroy().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
      removeTaskSockets(dir);
      try { this.md.deleteTask(this.namespace, id); } catch { /* never written */ }
      throw e;
    }
    this.watch(row);
    // The runtime is for the engine's /containers/create (no lookup of the container on its start path), not an attribute.
    this.publish('/tasks/create', id, { pid: row.pid, bundle: dir, rootfs: c.rootfs, terminal: row.terminal, runtime: c.runtime });
    return row;
  }

  /** Release a created task into its process (opens the exec fifo): `running`. */
  async start(id: string): Promise<TaskRow> {
    return inSpan('task.start', 'lifecycle', () => this.startTask(id));
  }

  private async startTask(id: string): Promise<TaskRow> {
    const t = this.task(id);
    if (t.status !== 'created' || this.starting.has(id)) throw errPrecondition(`task "${id}": cannot start a task that is ${this.starting.has(id) ? 'starting' : t.status}`);
    const run = this.release(id, t);
    this.starting.set(id, run.catch(() => undefined));
    try {
      return await run;
    } finally {
      this.starting.delete(id);
    }
  }

  private async release(id: string, t: TaskRow): Promise<TaskRow> {
    const fifo = join(t.dir, 'exec.fifo');
    // Taken before the release, so a process that exits at once never ends before it started.
    const startedAt = nowIso();
    if (this.getContainer(id).runtime !== RUNTIME_NAME) {
      await this.shim(t).start(); // `runtime start`, run by the shim
    } else {
      // A second concurrent open of the fifo would block with no writer left: one start at a time
      // (this.starting, set by the caller).
      await releaseFifo(fifo, { pid: t.pid, pidStartTime: t.pidStartTime || undefined });
      try { unlinkSync(fifo); } catch { /* already gone */ }
    }
    const row = this.md.updateTaskIf(this.namespace, id, (r) => r.status === 'created', { status: 'running', startedAt });
    if (row) this.publish('/tasks/start', id, { pid: t.pid });
    return row ?? this.task(id);
  }

  /** Signal the task's process, or with `all` every process in its cgroup (containerd's KillAll). */
  async kill(id: string, signal: number | string, o: { all?: boolean } = {}): Promise<void> {
    const sig = signalNumber(signal);
    const t = this.task(id);
    if (t.status === 'stopped' || t.status === 'creating') throw errPrecondition(`task "${id}": not running (${t.status})`);
    if (o.all) {
      const cg = this.cgroups(t);
      // A frozen process cannot act on SIGKILL until thawed (runc does the same).
      if (t.status === 'paused' && sig === 9) await cg.thaw().catch(() => {});
      for (const p of await cg.pids().catch(() => [] as number[])) {
        try { process.kill(p, sig); } catch { /* raced its exit */ }
      }
      return;
    }
    await this.shim(t).kill(sig);
  }

  /**
   * berth-init's execve time of a running task on the span clock (CLOCK_MONOTONIC ns), as its
   * shim recorded it; undefined before the start, or when the shim does not know (a foreign runtime).
   */
  async execNs(id: string): Promise<number | undefined> {
    const st = await this.shim(this.liveTask(id)).state();
    return st.execNs || undefined;
  }

  /** Resolves with the exit status once the task has stopped (at once if it has). */
  async wait(id: string): Promise<ExitStatus> {
    let t = this.task(id);
    if (t.status === 'creating') throw errPrecondition(`task "${id}": still being created`);
    if (t.status !== 'stopped') {
      const m = this.monitors.get(id) ?? this.watch(t);
      await m.done;
      if (this.closed) throw new BerthError('cancelled', `task "${id}": wait cancelled: lifecycle closed`);
      t = this.task(id);
      if (t.status !== 'stopped') throw new BerthError('cancelled', `task "${id}": wait cancelled`);
    }
    return exitFromRow(t);
  }

  /** Attach to the task's stdio (stdcopy frames, raw with a terminal); see ShimClient.attach. */
  async attach(id: string, o: { stdin?: boolean; stdout?: boolean; stderr?: boolean } = {}): Promise<Socket> {
    return this.shim(this.liveTask(id)).attach(o);
  }

  async resize(id: string, rows: number, cols: number, execId?: string): Promise<void> {
    return this.shim(this.liveTask(id)).resize(rows, cols, execId);
  }

  async closeStdin(id: string, execId?: string): Promise<void> {
    return this.shim(this.liveTask(id)).closeStdin(execId);
  }

  private liveTask(id: string): TaskRow {
    const t = this.task(id);
    if (t.status === 'stopped' || t.status === 'creating') throw errPrecondition(`task "${id}": not running (${t.status})`);
    return t;
  }

  /**
   * Run another process in a running task. Resolves once it exists, with its pid and its
   * stream (stdcopy frames, raw with a terminal; stdin bytes go the other way with `stdin`).
   */
  async exec(id: string, execId: string, proc: Process, o: { terminal?: boolean; stdin?: boolean } = {}): Promise<{ pid: number; stream: Socket }> {
    if (!execId) throw errInvalid('exec id must not be empty');
    const t = this.task(id);
    if (t.status !== 'running') throw errPrecondition(`task "${id}": cannot exec in a task that is ${t.status}`);
    void primeCgroupAttach();
    const p = validateProcess({ ...structuredClone(proc), terminal: !!o.terminal }, 'process', 'exec');
    const c = this.getContainer(id);
    const spec = c.spec;
    const tag = execTag(execId);
    if (c.runtime !== RUNTIME_NAME) {
      // A foreign runtime takes the OCI process itself (`runtime exec --process`).
      const processFile = join(t.dir, `x-${tag}.json`);
      writeFileSync(processFile, JSON.stringify(p));
      this.publish('/tasks/exec-added', id, { execId });
      try {
        const r = await this.shim(t).exec(execId, { process: processFile, ...(o.terminal ? { console: taskSockets(t.dir).exec(execId) } : {}) }, o);
        this.publish('/tasks/exec-started', id, { execId, pid: r.pid });
        return r;
      } finally {
        try { unlinkSync(processFile); } catch { /* ignore */ }
      }
    }
    const plan = buildExecPlan(p, {
      containerPid: t.pid,
      namespaces: (spec.linux?.namespaces ?? []).map((n) => n.type),
      cgroupProcsFiles: this.cgroups(t).procsFiles(),
      consoleSocket: o.terminal ? taskSockets(t.dir).exec(execId) : undefined,
      seccomp: spec.linux?.seccomp,
      seccompCacheDir: join(this.stateDir, SECCOMP_CACHE_DIR),
    });
    const planFile = join(t.dir, `x-${tag}.plan`);
    writeFileSync(planFile, encodePlan(plan));
    this.publish('/tasks/exec-added', id, { execId });
    try {
      const r = await this.shim(t).exec(execId, { plan: planFile }, o);
      this.publish('/tasks/exec-started', id, { execId, pid: r.pid });
      return r;
    } finally {
      try { unlinkSync(planFile); } catch { /* ignore */ }
    }
  }

  /** Resolves when exec `execId` has exited (the shim keeps exits until the task ends). */
  async waitExec(id: string, execId: string): Promise<ExitStatus> {
    return exitFromShim(await this.shim(this.liveTask(id)).wait(execId));
  }

  async killExec(id: string, execId: string, signal: number | string): Promise<void> {
    return this.shim(this.liveTask(id)).kill(signalNumber(signal), execId);
  }

  /** Freeze every process of the task (cgroup freezer). */
  async pause(id: string): Promise<void> {
    const t = this.task(id);
    if (t.status !== 'running') throw errPrecondition(`task "${id}": cannot pause a task that is ${t.status}`);
    await this.cgroups(t).freeze();
    if (this.md.updateTaskIf(this.namespace, id, (r) => r.status === 'running', { status: 'paused' })) this.publish('/tasks/paused', id);
  }

  async resume(id: string): Promise<void> {
    const t = this.task(id);
    if (t.status !== 'paused') throw errPrecondition(`task "${id}": cannot resume a task that is ${t.status}`);
    await this.cgroups(t).thaw();
    if (this.md.updateTaskIf(this.namespace, id, (r) => r.status === 'paused', { status: 'running' })) this.publish('/tasks/resumed', id);
  }

  /** Change the task's resources (cgroups), and remember them in the container's spec. */
  async update(id: string, resources: LinuxResources): Promise<void> {
    const t = this.liveTask(id);
    await this.cgroups(t).update(resources);
    const spec = this.getContainer(id).spec;
    const linux = (spec.linux ??= {});
    linux.resources = mergeResources(linux.resources ?? {}, resources);
    this.md.updateContainer(this.namespace, id, { spec });
  }

  async stats(id: string): Promise<CgroupStats> {
    return this.cgroups(this.liveTask(id)).stats();
  }

  /** Pids of every process in the task's cgroup. */
  async pids(id: string): Promise<number[]> {
    return this.cgroups(this.liveTask(id)).pids();
  }

  /**
   * Delete a task: it must be stopped, unless `force` (then it is killed and waited for).
   * Its cgroups, its dir (exit.json included) and its row go; resolves with its exit status.
   */
  async deleteTask(id: string, o: { force?: boolean } = {}): Promise<ExitStatus> {
    return inSpan('task.delete', 'lifecycle', () => this.removeTask(id, o));
  }

  private async removeTask(id: string, o: { force?: boolean }): Promise<ExitStatus> {
    let t = this.task(id);
    if (t.status !== 'stopped') {
      if (!o.force) throw errConflict(`task "${id}": cannot delete a task that is ${t.status}; stop it first or force`);
      if (t.status === 'creating') {
        await this.cleanupCreating(t);
        return { exitCode: 255, signal: 0, oomKilled: false, startedAt: '', finishedAt: nowIso(), reason: 'deleted while being created' };
      }
      await this.killAndWait(t);
      t = this.task(id);
    }
    this.unwatch(id);
    // The shim answers waiters before it finishes its own cleanup and exits: a deleted task
    // leaves no shim behind, so wait for it (it exits within ms, or 2 s with an exec left).
    if (t.shimPid > 0) await this.shimGone(t);
    // A few small files on the exec root (tmpfs): in place, not through the thread pool, whose
    // round trips for a recursive rm took longer (2-3 ms) than the syscalls.
    await this.cgroups(t).destroy();
    rmSync(t.dir, { recursive: true, force: true });
    removeTaskSockets(t.dir);
    this.md.deleteTask(this.namespace, id);
    const exit = exitFromRow(t);
    this.publish('/tasks/delete', id, { pid: t.pid, exitStatus: exit.exitCode, exitedAt: exit.finishedAt });
    return exit;
  }

  /**
   * Wait for a stopped task's shim to exit, before its cgroups and dir go. One still alive after
   * SHIM_EXIT_MS is stuck: it is killed (by its pid, checked to be this task's shim), with a warning,
   * rather than left running with its task removed under it.
   */
  private async shimGone(t: TaskRow): Promise<void> {
    const exited = await waitGone({ id: t.containerId, pid: t.shimPid }, SHIM_EXIT_MS).then(() => true, () => false);
    if (exited || !isLiveShimOf(t.shimPid, t.dir)) return;
    this.opts.log?.warn('task delete: the shim did not exit after the task stopped; killing it', { id: t.containerId, shimPid: t.shimPid, waitedMs: SHIM_EXIT_MS });
    try { process.kill(t.shimPid, 'SIGKILL'); } catch { /* raced its exit */ }
    await waitGone({ id: t.containerId, pid: t.shimPid }, 2000).catch(() => undefined);
  }


  /** SIGKILL every process of a task, then wait for its shim to record the exit (or settle it as died). */
  private async killAndWait(t: TaskRow): Promise<void> {
    const cg = this.cgroups(t);
    await cg.thaw().catch(() => {});
    for (const p of await cg.pids().catch(() => [] as number[])) {
      try { process.kill(p, 'SIGKILL'); } catch { /* raced its exit */ }
    }
    await this.shim(t).kill(9).catch(() => {});
    const m = this.monitors.get(t.containerId) ?? this.watch(t);
    const timeout = sleep(10_000).then(() => 'timeout' as const);
    if ((await Promise.race([m.done.then(() => 'done' as const), timeout])) === 'timeout') {
      throw new BerthError('deadline-exceeded', `task "${t.containerId}": did not stop within 10 s of SIGKILL`);
    }
  }

  // --- exit monitoring --------------------------------------------------------------------

  /** Watch a live task's shim until it reports the exit; records it once. */
  private watch(t: TaskRow): { abort: AbortController; done: Promise<void> } {
    const existing = this.monitors.get(t.containerId);
    if (existing) return existing;
    const abort = new AbortController();
    // Outside the trace of whatever request started the task: the exit comes long after it ended.
    const done = tracer.detached(() => this.monitor(t, abort.signal)).catch((e) => {
      if (!abort.signal.aborted && !this.closed) process.emitWarning(`task "${t.containerId}": exit monitor: ${(e as Error).message}`);
    }).finally(() => {
      if (this.monitors.get(t.containerId)?.abort === abort) this.monitors.delete(t.containerId);
    });
    const m = { abort, done };
    this.monitors.set(t.containerId, m);
    void this.watchOom(t, abort.signal);
    return m;
  }

  /**
   * OOM kills while the task runs, from the shim's `events` (containerd's shim has its OOM
   * epoller for the same): /tasks/oom when it happens, not only at the exit. Kills from before
   * the subscription (while no berthd listened) are left to the exit, as before.
   */
  private async watchOom(t: TaskRow, signal: AbortSignal): Promise<void> {
    const id = t.containerId;
    let seen = Infinity;
    try {
      const sub = await this.shim(t).events((kills) => {
        if (kills <= seen || this.closed) return;
        seen = kills;
        // Once the exit is recorded, applyExit has published it (or not): never twice, never after /tasks/exit.
        if (this.md.findTask(this.namespace, id)?.status === 'stopped') return;
        this.oomPublished.add(id);
        this.publish('/tasks/oom', id);
      }, signal);
      seen = sub.kills;
      await sub.done;
    } catch {
      // A shim from before `events`, or one that is gone: its exit still records the OOM.
    }
  }

  private unwatch(id: string): void {
    this.monitors.get(id)?.abort.abort();
    this.monitors.delete(id);
  }

  private async monitor(t: TaskRow, signal: AbortSignal): Promise<void> {
    const shim = this.shim(t);
    for (let attempt = 0; ; attempt++) {
      try {
        const exit = await shim.wait(undefined, signal, (logDropped) => this.publish('/tasks/log-dropped', t.containerId, { logDropped }));
        await this.starting.get(t.containerId);
        return this.applyExit(t, exitFromShim(exit));
      } catch (e) {
        if (signal.aborted || this.closed) return;
        await this.starting.get(t.containerId);
        // The shim writes exit.json before it answers waiters and removes its socket after, so
        // a lost connection with an exit file is a normal end, and without one the shim died.
        const exit = readExitFile(t.dir);
        if (exit) return this.applyExit(t, exitFromShim(exit));
        const alive = await shim.state().then(() => true, () => false);
        if (!alive) {
          const again = readExitFile(t.dir);
          return again ? this.applyExit(t, exitFromShim(again)) : this.applyShimDied(t);
        }
        // A live shim dropped our wait (e.g. a transient EAGAIN on accept): ask again.
        await sleep(Math.min(50 * (attempt + 1), 1000));
      }
    }
  }

  /** Record an exit once (the first report wins) and publish it. */
  private applyExit(t: TaskRow, exit: ExitStatus): void {
    if (this.closed) return;
    let row: TaskRow | undefined;
    try {
      row = this.md.updateTaskIf(this.namespace, t.containerId, (r) => r.status !== 'stopped' && r.status !== 'creating', {
        status: 'stopped', exitCode: exit.exitCode, exitSignal: exit.signal, oomKilled: exit.oomKilled,
        finishedAt: exit.finishedAt || nowIso(), exitReason: exit.reason,
        // The shim's start time is when the process exec'd: more exact than ours, taken before the fifo release.
        ...(exit.startedAt ? { startedAt: exit.startedAt } : {}),
      });
    } catch (e) {
      if (isNotFound(e)) return; // deleted meanwhile
      throw e;
    }
    if (!row) return;
    if (row.oomKilled && !this.oomPublished.has(t.containerId)) this.publish('/tasks/oom', t.containerId);
    this.oomPublished.delete(t.containerId);
    this.publish('/tasks/exit', t.containerId, { pid: row.pid, exitStatus: exit.exitCode, exitedAt: row.finishedAt, reason: exit.reason, execNs: exit.execNs ?? 0 });
  }

  /** The shim is gone without an exit file: record an unknown exit and kill what is left through the cgroup. */
  private async applyShimDied(t: TaskRow): Promise<void> {
    this.applyExit(t, { exitCode: 255, signal: 0, oomKilled: false, startedAt: t.startedAt, finishedAt: nowIso(), reason: SHIM_DIED_REASON });
    await this.cgroups(t).destroy().catch((e) => process.emitWarning(`task "${t.containerId}": destroy cgroups: ${(e as Error).message}`));
  }

  /**
   * Make sure no shim launched for `dir` is still starting up, then that none is left serving.
   * A shim opens its socket only after berth-init reported `created` (docs/shim.md), so a crash
   * (or a timeout) during start-up can leave one that appears later; destroying the cgroups and
   * removing the dir under it would strand it, unreachable, with its container blocked on the
   * fifo. So: wait (bounded) until it serves or exits; if it serves, kill its container and let
   * it take its normal exit path.
   */
  private async settleLaunch(id: string, dir: string): Promise<void> {
    const shim = new ShimClient(id, taskSockets(dir).control);
    const alive = () => shim.state().then(() => true, () => false);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (await alive()) {
        await shim.kill(9).catch(() => {});
        for (let i = 0; i < 250 && (await alive()); i++) await sleep(20);
        return;
      }
      const starting = shimProcessesFor(dir);
      if (starting.length === 0) return;
      if (Date.now() > deadline) {
        // Stuck in start-up for 30 s: take it down by pid; its container dies with the cgroups.
        for (const p of starting) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
        return;
      }
      await sleep(20);
    }
  }

  // --- reattach ---------------------------------------------------------------------------

  /** Settle every task row of the namespace with what the state dir and the shims say. */
  private async reconcile(): Promise<void> {
    for (const t of this.md.listTasks(this.namespace)) {
      if (t.status === 'stopped') continue;
      if (t.status === 'creating') {
        await this.cleanupCreating(t);
        continue;
      }
      const shim = this.shim(t);
      const st = await shim.state().catch(() => undefined);
      if (st) {
        if (st.status === 'exited' && st.exit) {
          this.applyExit(t, exitFromShim(st.exit));
          continue;
        }
        let status = t.status;
        // A crash between releasing the fifo and recording `running` leaves `created` behind.
        if (status === 'created' && !stillInInit(t.pid)) status = 'running';
        if (status !== 'created') {
          const frozen = await this.cgroups(t).isFrozen().catch(() => false);
          status = frozen ? 'paused' : 'running';
        }
        const row = status === t.status ? t : this.md.updateTask(this.namespace, t.containerId, {
          status, ...(status !== 'created' && !t.startedAt ? { startedAt: nowIso() } : {}),
        });
        this.watch(row);
        continue;
      }
      const exit = readExitFile(t.dir);
      if (exit) this.applyExit(t, exitFromShim(exit));
      else await this.applyShimDied(t);
    }
  }

  /**
   * A task whose create never completed: kill whatever the shim managed to start, remove the
   * cgroups, the dir and the row. The container record stays; a new task can be created.
   */
  private async cleanupCreating(t: TaskRow): Promise<void> {
    const cg = this.cgroups(t);
    await this.settleLaunch(t.containerId, t.dir);
    await cg.destroy().catch((e) => process.emitWarning(`task "${t.containerId}": destroy cgroups: ${(e as Error).message}`));
    rmSync(t.dir, { recursive: true, force: true });
    removeTaskSockets(t.dir);
    try { this.md.deleteTask(this.namespace, t.containerId); } catch (e) { if (!isNotFound(e)) throw e; }
  }
}
