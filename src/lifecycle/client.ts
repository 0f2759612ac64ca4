// The embedding SDK, shaped like containerd's Go client (client -> container -> task -> process), thin over Lifecycle.
import { PassThrough, Writable, type Readable } from 'node:stream';
import type { Socket } from 'node:net';
import type { LinuxResources, Process as OciProcess, Spec } from '../runtime/spec/types.js';
import type { CgroupStats } from '../runtime/cgroups/cgroups.js';
import { Lifecycle, type ExitStatus, type LifecycleEvent, type LifecycleOptions, type NewTaskOptions } from './lifecycle.js';
import type { ContainerRow, TaskRow } from './metadata.js';
import { demux } from '../common/stdcopy.js';

/**
 * How a task's or exec's stdio reaches the caller (containerd's `cio` creators):
 * - `pipe`: `stdout`/`stderr` (and `stdin` with `stdin: true`) streams on the handle;
 * - `inherit`: copied to this process's stdout/stderr;
 * - `null`: not attached (the log, if any, still gets everything).
 */
export type StdioMode = 'pipe' | 'inherit' | 'null';

/** The caller's side of an attach stream, split into stdin/stdout/stderr. */
class Io {
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly stdin: Writable | undefined;
  /** Resolves when the output has been copied to the end (the shim closes it after the exit). */
  readonly done: Promise<void>;

  constructor(sock: Socket, terminal: boolean, mode: StdioMode, stdin: boolean, closeStdin: () => Promise<void>) {
    const out = new PassThrough();
    const err = new PassThrough();
    this.stdout = out;
    this.stderr = err;
    const dstOut = mode === 'inherit' ? process.stdout : out;
    const dstErr = mode === 'inherit' ? process.stderr : err;
    if (terminal) {
      // With a pty the stream is raw bytes (docs/shim.md), one stream.
      this.done = new Promise<void>((resolve) => {
        sock.on('data', (b: Buffer) => dstOut.write(b));
        sock.once('close', () => resolve());
        sock.once('error', () => {});
      });
      sock.resume();
    } else {
      this.done = demux(sock, dstOut, dstErr).then(() => {}, () => {});
    }
    void this.done.then(() => { out.end(); err.end(); });
    this.stdin = stdin
      ? new Writable({
          write: (chunk: Buffer, _enc, cb) => { sock.write(chunk, (e) => cb(e ?? null)); },
          // A half-close does not reach the container (docs/shim.md): close-stdin does.
          final: (cb) => { closeStdin().then(() => cb(), (e: Error) => cb(e)); },
        })
      : undefined;
  }
}

/** An exec'd process in a task (containerd's `Process`). */
export class ExecProcess {
  private readonly io: Io;
  constructor(private readonly lc: Lifecycle, readonly containerId: string, readonly id: string, readonly pid: number, stream: Socket, terminal: boolean, mode: StdioMode, stdin: boolean) {
    this.io = new Io(stream, terminal, mode, stdin, () => lc.closeStdin(containerId, id));
  }
  get stdout(): Readable { return this.io.stdout; }
  get stderr(): Readable { return this.io.stderr; }
  get stdin(): Writable | undefined { return this.io.stdin; }
  /** The exit status, after the output has been copied out. */
  async wait(): Promise<ExitStatus> {
    const exit = await this.lc.waitExec(this.containerId, this.id);
    await this.io.done;
    return exit;
  }
  kill(signal: number | string = 'SIGTERM'): Promise<void> { return this.lc.killExec(this.containerId, this.id, signal); }
  resize(rows: number, cols: number): Promise<void> { return this.lc.resize(this.containerId, rows, cols, this.id); }
  closeStdin(): Promise<void> { return this.lc.closeStdin(this.containerId, this.id); }
}

/** A container's running instance (containerd's `Task`). */
export class Task {
  constructor(private readonly lc: Lifecycle, readonly id: string, private readonly io?: Io) {}
  /** The container's init pid, as the host sees it. */
  get pid(): number { return this.lc.task(this.id).pid; }
  get stdout(): Readable | undefined { return this.io?.stdout; }
  get stderr(): Readable | undefined { return this.io?.stderr; }
  get stdin(): Writable | undefined { return this.io?.stdin; }
  /** The task's current record (status, pids, exit). */
  status(): TaskRow { return this.lc.task(this.id); }
  async start(): Promise<void> { await this.lc.start(this.id); }
  /** The exit status; with attached stdio, after the output has been copied out. */
  async wait(): Promise<ExitStatus> {
    const exit = await this.lc.wait(this.id);
    if (this.io) await Promise.race([this.io.done, new Promise((r) => setTimeout(r, 5000).unref())]);
    return exit;
  }
  kill(signal: number | string = 'SIGTERM', o: { all?: boolean } = {}): Promise<void> { return this.lc.kill(this.id, signal, o); }
  pause(): Promise<void> { return this.lc.pause(this.id); }
  resume(): Promise<void> { return this.lc.resume(this.id); }
  update(resources: LinuxResources): Promise<void> { return this.lc.update(this.id, resources); }
  stats(): Promise<CgroupStats> { return this.lc.stats(this.id); }
  pids(): Promise<number[]> { return this.lc.pids(this.id); }
  resize(rows: number, cols: number): Promise<void> { return this.lc.resize(this.id, rows, cols); }
  closeStdin(): Promise<void> { return this.lc.closeStdin(this.id); }
  /** Attach a new stream to the running task (output from now on). */
  attach(o: { stdin?: boolean; stdout?: boolean; stderr?: boolean } = {}): Promise<Socket> { return this.lc.attach(this.id, o); }
  /** Start another process in the task; `stdio` as for the task (default `pipe`). */
  async exec(execId: string, process: OciProcess, o: { terminal?: boolean; stdin?: boolean; stdio?: StdioMode } = {}): Promise<ExecProcess> {
    const { pid, stream } = await this.lc.exec(this.id, execId, process, o);
    if (o.stdio === 'null') stream.destroy();
    return new ExecProcess(this.lc, this.id, execId, pid, stream, !!o.terminal, o.stdio ?? 'pipe', !!o.stdin);
  }
  /** Remove the stopped task (`force` kills it first); resolves with how it ended. */
  delete(o: { force?: boolean } = {}): Promise<ExitStatus> { return this.lc.deleteTask(this.id, o); }
}

/** Options of `Container.newTask`. */
export interface TaskOptions extends Omit<NewTaskOptions, 'stdin'> {
  /** Default `null` (containerd's default is no IO too). */
  stdio?: StdioMode;
  stdin?: boolean;
}

/** A container record (containerd's `Container`). */
export class Container {
  constructor(private readonly lc: Lifecycle, readonly id: string) {}
  info(): ContainerRow { return this.lc.getContainer(this.id); }
  spec(): Spec { return this.info().spec; }
  /**
   * Create its task. With `stdio` other than `null`, the output is attached before the
   * process can start, so nothing it writes is missed.
   */
  async newTask(o: TaskOptions = {}): Promise<Task> {
    const { stdio = 'null', ...rest } = o;
    await this.lc.newTask(this.id, rest);
    if (stdio === 'null') return new Task(this.lc, this.id);
    try {
      const sock = await this.lc.attach(this.id, { stdin: !!o.stdin, stdout: true, stderr: true });
      return new Task(this.lc, this.id, new Io(sock, !!o.terminal, stdio, !!o.stdin, () => this.lc.closeStdin(this.id)));
    } catch (e) {
      await this.lc.deleteTask(this.id, { force: true }).catch(() => {});
      throw e;
    }
  }
  /** The existing task (without stdio: use `attach`). */
  task(): Task {
    this.lc.task(this.id);
    return new Task(this.lc, this.id);
  }
  /** Remove the container (its task must be deleted first), then its snapshot via `snapshotCleanup`. */
  delete(o: { snapshotCleanup?: (key: string) => Promise<void> } = {}): Promise<void> { return this.lc.deleteContainer(this.id, o); }
}

/**
 * The Berth client for embedding, as containerd's Go client is used:
 * ```ts
 * const c = await BerthClient.open({ dataRoot, stateDir });
 * const ctr = await c.newContainer('hello', { spec, rootfs });
 * const task = await ctr.newTask({ stdio: 'pipe' });
 * task.stdout!.pipe(process.stdout);
 * await task.start();
 * const { exitCode } = await task.wait();
 * await task.delete();
 * await ctr.delete();
 * c.close();
 * ```
 */
export class BerthClient {
  private constructor(readonly lifecycle: Lifecycle) {}

  /** Open the data root and state dir (reattaching to running tasks). */
  static async open(o: LifecycleOptions): Promise<BerthClient> {
    return new BerthClient(await Lifecycle.open(o));
  }

  get namespace(): string { return this.lifecycle.namespace; }

  async newContainer(id: string, o: { spec: Spec; rootfs: string; labels?: Record<string, string>; imageRef?: string; snapshotKey?: string }): Promise<Container> {
    await this.lifecycle.createContainer({ id, ...o });
    return new Container(this.lifecycle, id);
  }

  /** An existing container (`not-found` if there is none). */
  loadContainer(id: string): Container {
    this.lifecycle.getContainer(id);
    return new Container(this.lifecycle, id);
  }

  containers(): Container[] {
    return this.lifecycle.list().map((c) => new Container(this.lifecycle, c.id));
  }

  /** Events from now on (containerd's `Subscribe`). */
  subscribe(filter?: (e: LifecycleEvent) => boolean, signal?: AbortSignal): AsyncIterableIterator<LifecycleEvent> {
    return this.lifecycle.subscribe(filter, signal);
  }

  close(): void { this.lifecycle.close(); }
}
