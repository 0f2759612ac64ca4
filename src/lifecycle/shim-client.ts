// The only TypeScript that speaks berth-shim's protocol (docs/shim.md): launch, the control socket, exit.json.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError, errInternal, errUnavailable, type ErrorCode } from '../common/errors.js';
import { hostHelper, HostHelperError, type HostHelper } from '../common/host-helper.js';
import { initBinaryPath } from '../runtime/container/init-process.js';

/** How a container process (or an exec) ended, as the shim records it. */
export interface ShimExit {
  /** The exit code, or 128 + signal when killed by one (as a shell reports it). */
  exitCode: number;
  /** The signal that killed it, else 0. */
  signal: number;
  oomKilled: boolean;
  startedAt: string;
  finishedAt: string;
  /** Log entries dropped because writing them failed (ENOSPC, EIO). */
  logDropped: number;
  /** berth-init's `exec` phase: CLOCK_MONOTONIC ns right before the execve (the span clock); 0 when unknown. */
  execNs: number;
}

/** The shim's answer to `state`. */
export interface ShimState {
  pid: number;
  shimPid: number;
  status: 'running' | 'exited';
  exit?: ShimExit;
  logDropped: number;
  /** As ShimExit.execNs: 0 until the container process exec'd. */
  execNs: number;
}

/** What `launchShim` needs: docs/shim.md "Invocation". */
export interface ShimLaunchOptions {
  id: string;
  /** The task's dir; the shim writes shim.pid and exit.json in it. */
  dir: string;
  /** Where the shim serves its control socket (`--socket`): short, outside `dir` (task-sockets.ts). */
  socket: string;
  /** The create plan file (with an `exec-fifo`, and with a terminal a `console-socket` record: where the shim receives the pty master). */
  plan?: string;
  /**
   * Instead of berth-init and a plan: a runc-compatible runtime run on an OCI bundle (docs/shim.md
   * "Foreign runtimes"). `console` is where the shim receives the pty master with a terminal.
   */
  runtime?: { path: string; args?: string[]; root: string; bundle: string; console?: string };
  terminal?: boolean;
  stdin?: boolean;
  /** The json-file log: rotate above `maxSize` bytes keeping `maxFiles`, gzip rotated files with `compress`. */
  log?: { path: string; maxSize?: number; maxFiles?: number; compress?: boolean };
  /** The container's v1 memory cgroup dir (OOM counting), or its v2 dir. */
  oomCgroup?: string;
  oomCgroup2?: string;
  /** Test seam: the shim binary (default: BERTH_SHIM, else native/build/berth-shim). */
  shimBinary?: string;
  /** berth-init (default: as the runtime finds it). */
  initBinary?: string;
  /** How long to wait for the start-up report (default 30 s). */
  timeoutMs?: number;
}

/** The shim's start-up report when the container process exists, blocked on the exec fifo. */
export interface ShimReady {
  shimPid: number;
  pid: number;
  /** When the shim forked berth-init, and berth-init's phases up to `ready`, in order (CLOCK_MONOTONIC ns; docs/plan.md). */
  spawnNs?: number;
  phases?: Array<[name: string, ns: number]>;
}

/** A failure the shim reported at start-up: the step (berth-init's or the shim's), errno, message. */
export class ShimLaunchError extends BerthError {
  constructor(readonly id: string, readonly report: { step: string; errno: number; message: string }) {
    super(codeForErrno(report.step, report.errno), `task "${id}": shim: ${report.step}: ${report.message}`);
    this.name = 'ShimLaunchError';
  }
}

function codeForErrno(step: string, errno: number): ErrorCode {
  // As InitError maps berth-init's reports: a missing executable is not-found, EPERM/EACCES permission.
  if (errno === 2 && step === 'exec') return 'not-found';
  if (errno === 1 || errno === 13) return 'permission-denied';
  return 'failed-precondition';
}

/** Where berth-shim lives: BERTH_SHIM, else native/build next to this package. */
export function shimBinaryPath(): string {
  if (process.env.BERTH_SHIM) return process.env.BERTH_SHIM;
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++, d = dirname(d)) {
    const p = join(d, 'native', 'build', 'berth-shim');
    if (existsSync(p)) return p;
  }
  throw errInternal('berth-shim not found (run `npm install` to build native/, or set BERTH_SHIM)');
}

/** The exit file of a task dir. */
export const exitFilePath = (dir: string) => join(dir, 'exit.json');

/**
 * Launch a shim and wait for its one-line report. The shim daemonizes (its first process
 * exits at once) and keeps the report pipe only until it has written the line, so reading
 * stdout to EOF gives exactly the report, whether it succeeded or not.
 */
export function launchShim(o: ShimLaunchOptions): Promise<ShimReady> {
  const init = o.initBinary ?? initBinaryPath();
  const args = ['--id', o.id, '--dir', o.dir, '--socket', o.socket];
  if (o.runtime) {
    args.push('--runtime', o.runtime.path, ...(o.runtime.args ?? []).flatMap((a) => ['--runtime-arg', a]), '--runtime-root', o.runtime.root, '--bundle', o.runtime.bundle);
    if (o.runtime.console) args.push('--console', o.runtime.console);
  } else {
    if (!o.plan) throw errInternal(`task "${o.id}": shim: a plan or a runtime is required`);
    args.push('--plan', o.plan);
  }
  if (o.terminal) args.push('--terminal');
  if (o.stdin) args.push('--stdin');
  if (o.log) {
    args.push('--log', o.log.path);
    if (o.log.maxSize !== undefined) args.push('--log-max-size', String(o.log.maxSize));
    if (o.log.maxFiles !== undefined) args.push('--log-max-files', String(o.log.maxFiles));
    if (o.log.compress) args.push('--log-compress');
  }
  if (o.oomCgroup) args.push('--oom-cgroup', o.oomCgroup);
  else if (o.oomCgroup2) args.push('--oom-cgroup2', o.oomCgroup2);
  const bin = o.shimBinary ?? shimBinaryPath();
  // berth-helper starts it without a fork of this process (milliseconds of page tables per start).
  const h = hostHelper();
  // A foreign runtime's shim runs no berth-init.
  if (o.runtime) return h ? launchWithHelper(h, bin, undefined, args, o) : launchWithSpawn(bin, args, o);
  return h ? launchWithHelper(h, bin, init, args, o) : launchWithSpawn(bin, ['--init', init, ...args], o);
}

/** The launch's result from what the shim wrote: its report line on stdout, anything else for the error. */
function fromReport(o: ShimLaunchOptions, out: string, err: string, exitInfo: string): ShimReady {
  const line = out.split('\n').find((l) => l.trim());
  if (!line) throw errInternal(`task "${o.id}": shim exited (${exitInfo || 'unknown'}) without a start-up report${err ? `: ${err.trim()}` : ''}`);
  let msg: { type?: string; shim_pid?: number; pid?: number; step?: string; errno?: number; message?: string; spawn_ns?: number; phases?: Record<string, number> };
  try {
    msg = JSON.parse(line);
  } catch (e) {
    throw errInternal(`task "${o.id}": shim: bad start-up report: ${line.slice(0, 200)}`, e);
  }
  if (msg.type === 'ready' && typeof msg.pid === 'number' && typeof msg.shim_pid === 'number') {
    const phases = Object.entries(msg.phases ?? {}).filter((p): p is [string, number] => typeof p[1] === 'number');
    return { shimPid: msg.shim_pid, pid: msg.pid, ...(msg.spawn_ns ? { spawnNs: msg.spawn_ns, phases } : {}) };
  }
  if (msg.type === 'error') {
    throw new ShimLaunchError(o.id, { step: msg.step ?? 'unknown', errno: msg.errno ?? 0, message: msg.message ?? 'unknown error' });
  }
  throw errInternal(`task "${o.id}": shim: unexpected start-up report: ${line.slice(0, 200)}`);
}

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([k, v]) => [v, k]));

async function launchWithHelper(h: HostHelper, bin: string, init: string | undefined, args: string[], o: ShimLaunchOptions): Promise<ShimReady> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BerthError('deadline-exceeded', `task "${o.id}": shim: no start-up report after ${o.timeoutMs ?? 30_000} ms`)), o.timeoutMs ?? 30_000);
  });
  let r;
  try {
    // berth-init as the helper's sealed copy (fd 3): it then skips copying itself into a memfd at
    // every start and every exec (CVE-2019-5736's defence, docs/plan.md), ~1.4 ms each here.
    r = await Promise.race([init ? h.spawn(bin, ['--init-fd', '3', ...args], { sealedFd3: init }) : h.spawn(bin, args), timeout]);
  } catch (e) {
    if (e instanceof HostHelperError) throw errInternal(`task "${o.id}": exec ${bin}: ${e.message}`, e);
    throw e;
  } finally {
    clearTimeout(timer);
  }
  // stdout and stderr come as one stream: the report is the JSON line, the rest is diagnostics.
  const lines = r.output.split('\n').filter((l) => l.trim());
  const report = lines.filter((l) => l.trimStart().startsWith('{'));
  const other = lines.filter((l) => !l.trimStart().startsWith('{')).join('\n').slice(0, 4096);
  return fromReport(o, report.join('\n'), other, r.signal !== null ? `signal ${SIGNAL_NAMES.get(r.signal) ?? r.signal}` : `status ${r.code}`);
}

function launchWithSpawn(bin: string, args: string[], o: ShimLaunchOptions): Promise<ShimReady> {
  // detached: the shim must not share our process group, so a ^C aimed at us never reaches it.
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  return new Promise<ShimReady>((resolve, reject) => {
    let out = '';
    let err = '';
    let exitInfo = '';
    let settled = false;
    const finish = (e: Error | undefined, r?: ShimReady) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout!.destroy();
      child.stderr!.destroy();
      child.unref();
      if (e) reject(e);
      else resolve(r!);
    };
    const timer = setTimeout(() => finish(new BerthError('deadline-exceeded', `task "${o.id}": shim: no start-up report after ${o.timeoutMs ?? 30_000} ms`)), o.timeoutMs ?? 30_000);
    child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => { if (err.length < 4096) err += s; });
    child.on('exit', (code, sig) => { exitInfo = sig ? `signal ${sig}` : `status ${code}`; });
    child.on('error', (e) => finish(errInternal(`task "${o.id}": exec ${bin}: ${e.message}`, e)));
    child.stdout!.on('end', () => {
      try {
        finish(undefined, fromReport(o, out, err, exitInfo));
      } catch (e) {
        finish(e as Error);
      }
    });
  });
}

/** Decode the wire EXIT object. */
function toExit(x: Record<string, unknown>): ShimExit {
  return {
    exitCode: Number(x.exit_code ?? 0),
    signal: Number(x.signal ?? 0),
    oomKilled: x.oom_killed === true,
    startedAt: String(x.started_at ?? ''),
    finishedAt: String(x.finished_at ?? ''),
    logDropped: Number(x.log_dropped ?? 0),
    execNs: Number(x.exec_ns ?? 0),
  };
}

/** The recorded exit of a task whose shim is gone, or undefined when there is no exit.json. */
export function readExitFile(dir: string): ShimExit | undefined {
  let text: string;
  try {
    text = readFileSync(exitFilePath(dir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return toExit(JSON.parse(text) as Record<string, unknown>);
  } catch (e) {
    // The shim writes it atomically, so a bad file is damage, not a race.
    throw errInternal(`${exitFilePath(dir)}: corrupt exit file`, e);
  }
}

type Reply = Record<string, unknown> & { ok: boolean; error?: string };

/** One request/answer on a fresh connection; for stream ops the socket is handed over after the reply. */
interface RequestOptions {
  keepOpen?: boolean;
  signal?: AbortSignal;
  /** No deadline for `wait`; a few seconds for the rest (a live shim answers at once). */
  timeoutMs?: number;
  /** Lines with an `event` before the reply (a `wait` with `"events":true`). */
  onEvent?: (e: Record<string, unknown>) => void;
}

/**
 * A client for one shim's control socket. Every call opens its own connection (the protocol
 * is one request per connection), so calls never queue behind a pending `wait`.
 */
export class ShimClient {
  /** `socketPath` is the shim's control socket, as it was launched with (`--socket`). */
  constructor(readonly id: string, readonly socketPath: string) {}

  private request(req: Record<string, unknown>, o: RequestOptions = {}): Promise<{ reply: Reply; socket: Socket }> {
    const what = `task "${this.id}": shim ${String(req.op)}${req.exec ? ` (exec "${String(req.exec)}")` : ''}`;
    return new Promise((resolve, reject) => {
      if (o.signal?.aborted) return reject(new BerthError('cancelled', `${what}: cancelled`));
      const sock = connect(this.socketPath);
      let buf: Buffer = Buffer.alloc(0);
      let settled = false;
      const timer = o.timeoutMs ? setTimeout(() => done(new BerthError('deadline-exceeded', `${what}: no reply after ${o.timeoutMs} ms`)), o.timeoutMs) : undefined;
      const onAbort = () => done(new BerthError('cancelled', `${what}: cancelled`));
      o.signal?.addEventListener('abort', onAbort, { once: true });
      const done = (e: Error | undefined, reply?: Reply, rest?: Buffer) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        sock.off('data', onData);
        if (e) {
          sock.destroy();
          return reject(e);
        }
        if (!reply!.ok) {
          sock.destroy();
          // The shim's own words as the cause: callers quote them to users without our context (exec's "OCI runtime exec failed").
          return reject(new BerthError(replyCode(reply!.error), `${what}: ${reply!.error ?? 'failed'}`, { cause: new Error(reply!.error ?? 'failed') }));
        }
        if (o.keepOpen) {
          // Bytes that came with the reply line belong to the stream.
          if (rest && rest.length) sock.unshift(rest);
          sock.pause();
        } else {
          sock.end();
          sock.destroy();
        }
        resolve({ reply: reply!, socket: sock });
      };
      const onData = (chunk: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        for (;;) {
          const nl = buf.indexOf(0x0a);
          if (nl < 0) {
            if (buf.length > 1 << 20) done(errInternal(`${what}: reply line too long`));
            return;
          }
          let reply: Reply;
          try {
            reply = JSON.parse(buf.subarray(0, nl).toString('utf8')) as Reply;
          } catch (e) {
            return done(errInternal(`${what}: bad reply: ${buf.subarray(0, Math.min(nl, 200)).toString()}`, e));
          }
          if (reply.ok && typeof reply.event === 'string' && o.onEvent) {
            buf = buf.subarray(nl + 1);
            o.onEvent(reply);
            continue;
          }
          return done(undefined, reply, buf.subarray(nl + 1));
        }
      };
      sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
      sock.on('data', onData);
      sock.on('error', (e: NodeJS.ErrnoException) => {
        const gone = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' || e.code === 'EPIPE';
        done(gone ? errUnavailable(`${what}: shim not reachable (${e.code})`, e) : errInternal(`${what}: ${e.message}`, e));
      });
      sock.on('close', () => done(errUnavailable(`${what}: shim closed the connection without a reply`)));
    });
  }

  /** The container's state; `unavailable` when the shim is gone. */
  async state(): Promise<ShimState> {
    const { reply } = await this.request({ op: 'state' }, { timeoutMs: 5000 });
    return {
      pid: Number(reply.pid ?? 0),
      shimPid: Number(reply.shim_pid ?? 0),
      status: reply.status === 'exited' ? 'exited' : 'running',
      ...(reply.exit ? { exit: toExit(reply.exit as Record<string, unknown>) } : {}),
      logDropped: Number(reply.log_dropped ?? 0),
      execNs: Number(reply.exec_ns ?? 0),
    };
  }

  /** Signal the container process (or an exec's); signalling every process is the caller's job, via the cgroup. */
  async kill(signal: number, execId?: string): Promise<void> {
    await this.request({ op: 'kill', signal, ...(execId ? { exec: execId } : {}) }, { timeoutMs: 5000 });
  }

  /**
   * Resolves once the container (or exec) has exited. With `onLogDropped`, the container's log
   * drop count is passed on while waiting: at once if there are drops, then at most once a second.
   */
  async wait(execId?: string, signal?: AbortSignal, onLogDropped?: (count: number) => void): Promise<ShimExit> {
    const { reply } = await this.request({ op: 'wait', ...(execId ? { exec: execId } : {}), ...(onLogDropped ? { events: true } : {}) }, {
      signal,
      ...(onLogDropped ? { onEvent: (e: Record<string, unknown>) => { if (e.event === 'log-dropped') onLogDropped(Number(e.log_dropped ?? 0)); } } : {}),
    });
    return toExit(reply.exit as Record<string, unknown>);
  }

  /**
   * Attach to the container's stdio: the returned socket carries stdcopy frames (raw bytes with a
   * terminal) from the shim and raw stdin to it. It is paused: read it or pipe it.
   */
  async attach(o: { stdin?: boolean; stdout?: boolean; stderr?: boolean } = {}): Promise<Socket> {
    const { socket } = await this.request({ op: 'attach', stdin: !!o.stdin, stdout: o.stdout ?? true, stderr: o.stderr ?? true }, { keepOpen: true, timeoutMs: 5000 });
    return socket;
  }

  async resize(rows: number, cols: number, execId?: string): Promise<void> {
    await this.request({ op: 'resize', rows, cols, ...(execId ? { exec: execId } : {}) }, { timeoutMs: 5000 });
  }

  /** The container (or exec) sees EOF on stdin. */
  async closeStdin(execId?: string): Promise<void> {
    await this.request({ op: 'close-stdin', ...(execId ? { exec: execId } : {}) }, { timeoutMs: 5000 });
  }

  /**
   * Run an exec: an exec plan for berth-init, or an OCI process.json for a foreign runtime (with a
   * terminal, `console` is where the shim receives its pty master). Resolves once the process
   * exists, with its pid and its attach stream (paused; stdcopy frames, or raw with a terminal).
   */
  async exec(execId: string, what: { plan: string } | { process: string; console?: string }, o: { terminal?: boolean; stdin?: boolean } = {}): Promise<{ pid: number; stream: Socket }> {
    const { reply, socket } = await this.request({ op: 'exec', exec: execId, ...what, terminal: !!o.terminal, stdin: !!o.stdin }, { keepOpen: true, timeoutMs: 30_000 });
    return { pid: Number(reply.pid ?? 0), stream: socket };
  }

  /** Start a foreign runtime's created container (`runtime start`); berth-init's starts through its exec fifo. */
  async start(): Promise<void> {
    await this.request({ op: 'start' }, { timeoutMs: 30_000 });
  }

  /**
   * OOM kills as they happen (the `events` request): resolves with the kills so far and `done`,
   * which settles when the shim exits or `signal` fires; meanwhile `onOom` gets the count since the
   * container started, once per new kill. A shim that predates `events` rejects (`not-implemented`).
   */
  async events(onOom: (kills: number) => void, signal: AbortSignal): Promise<{ kills: number; done: Promise<void> }> {
    const { reply, socket } = await this.request({ op: 'events' }, { keepOpen: true, timeoutMs: 5000, signal });
    const done = new Promise<void>((resolve) => {
      let buf = '';
      const end = () => {
        signal.removeEventListener('abort', end);
        socket.destroy();
        resolve();
      };
      signal.addEventListener('abort', end, { once: true });
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        buf += chunk;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          let m: Record<string, unknown>;
          try { m = JSON.parse(line) as Record<string, unknown>; } catch { continue; }
          if (m.event === 'oom') onOom(Number(m.oom_kills ?? 0));
        }
        if (buf.length > 1 << 16) end(); // not the protocol
      });
      socket.once('close', end);
      socket.on('error', end);
      socket.resume();
    });
    return { kills: Number(reply.oom_kills ?? 0), done };
  }
}

/** A shim error text to a code: the protocol carries only text, so recognise the usual ones. */
function replyCode(error: string | undefined): ErrorCode {
  const e = (error ?? '').toLowerCase();
  if (/no such|not found|unknown exec|enoent|esrch/.test(e)) return 'not-found';
  if (/exists|eexist/.test(e)) return 'already-exists';
  if (/invalid|bad request|einval|required/.test(e)) return 'invalid-argument';
  if (/unknown op/.test(e)) return 'not-implemented';
  if (/exited|not running/.test(e)) return 'failed-precondition';
  return 'internal';
}
