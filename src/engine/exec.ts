// `docker exec`: exec configs (kept in memory, as dockerd does), start attached or detached, exit codes, exec_* events.
import { randomBytes } from 'node:crypto';
import { BerthError, errConflict, errInternal, errInvalid, errNotFound } from '../common/errors.js';
import { FrameDecoder, STDERR, STDOUT } from '../common/stdcopy.js';
import type { Lifecycle } from '../lifecycle/lifecycle.js';
import type { Process } from '../runtime/spec/types.js';
import { bridge } from './attach.js';
import type { ContainerRecord } from './store.js';
import type { EventService, ExecConfig, ExecInspect, StreamAttach } from './types.js';
import { resolveContainerUser } from './user.js';

interface ExecRecord {
  id: string;
  containerId: string;
  config: ExecConfig;
  running: boolean;
  started: boolean;
  exitCode: number | null;
  pid: number;
  done: Promise<void>;
  finish: () => void;
  /** Settles once a started exec's process runs (or failed to). */
  ready: Promise<void>;
  setReady: () => void;
}

/** What the exec manager needs from the container side. */
export interface ExecHost {
  lifecycle: Lifecycle;
  events: EventService;
  /** The container (resolved from a ref) and whether it is running and not paused. */
  container(ref: string): ContainerRecord;
  rootfsPath(id: string): string;
  eventAttrs(c: ContainerRecord): Record<string, string>;
}


/**
 * A process that could not be started, as dockerd reports it (daemon/errors.go setExitCodeFromError
 * on the runtime's words, which runc and berth-init share): 126 when it cannot be run (permission
 * denied, a directory: with EACCES's words added, which docker's CLI looks for), 127 when it is not
 * there (not found, not a directory on the way), both 400s; else 128, a 500.
 */
export function execStartFailure(err: unknown): { exitCode: number; error: BerthError } {
  let inner = err as Error;
  while (inner.cause instanceof Error) inner = inner.cause;
  let msg = `OCI runtime exec failed: exec failed: unable to start container process: ${inner.message}: unknown`;
  const has = (s: string) => msg.toLowerCase().includes(s);
  if (has('permission denied')) return { exitCode: 126, error: errInvalid(msg, err) };
  if (has('is a directory')) return { exitCode: 126, error: errInvalid(`${msg}: permission denied`, err) };
  if (has('not a directory')) {
    msg += ': Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type';
    return { exitCode: 127, error: errInvalid(msg, err) };
  }
  if (/executable file not found|no such file or directory|system cannot find the file specified|failed to run runc create\/exec call/.test(msg.toLowerCase())) return { exitCode: 127, error: errInvalid(msg, err) };
  return { exitCode: 128, error: errInternal(msg, err) };
}
/** Every capability the kernel knows (for Privileged execs). */
const ALL_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
];

export class ExecManager {
  private readonly execs = new Map<string, ExecRecord>();

  constructor(private readonly host: ExecHost) {}

  /** Exec ids of a container (inspect's ExecIDs). */
  idsOf(containerId: string): string[] {
    return [...this.execs.values()].filter((e) => e.containerId === containerId).map((e) => e.id);
  }

  /** Forget a removed container's execs. */
  forget(containerId: string): void {
    for (const [id, e] of this.execs) if (e.containerId === containerId) this.execs.delete(id);
  }

  private get(execId: string): ExecRecord {
    const e = this.execs.get(execId);
    if (!e) throw errNotFound(`No such exec instance: ${execId}`);
    return e;
  }

  create(ref: string, cfg: ExecConfig): { Id: string } {
    const c = this.host.container(ref);
    if (c.state.status !== 'running' && c.state.status !== 'paused') throw errConflict(`Container ${c.id} is not running`);
    if (c.state.status === 'paused') throw errConflict(`Container ${c.id} is paused, unpause the container before exec`);
    if (!cfg.Cmd || cfg.Cmd.length === 0) throw errInvalid('No exec command specified');
    const id = randomBytes(32).toString('hex');
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    let setReady!: () => void;
    const ready = new Promise<void>((r) => (setReady = r));
    this.execs.set(id, { id, containerId: c.id, config: structuredClone(cfg), running: false, started: false, exitCode: null, pid: 0, done, finish, ready, setReady });
    this.host.events.publish({
      Type: 'container', Action: `exec_create: ${cfg.Cmd.join(' ')}`,
      Actor: { ID: c.id, Attributes: { ...this.host.eventAttrs(c), execID: id } },
    });
    return { Id: id };
  }

  inspect(execId: string): ExecInspect {
    const e = this.get(execId);
    const [entrypoint = '', ...args] = e.config.Cmd;
    return {
      CanRemove: false,
      DetachKeys: e.config.DetachKeys ?? '',
      ID: e.id,
      Running: e.running,
      ExitCode: e.exitCode,
      ProcessConfig: { privileged: !!e.config.Privileged, user: e.config.User ?? '', tty: !!e.config.Tty, entrypoint, arguments: args },
      OpenStdin: !!e.config.AttachStdin,
      OpenStderr: !!e.config.AttachStderr,
      OpenStdout: !!e.config.AttachStdout,
      ContainerID: e.containerId,
      Pid: e.pid,
    };
  }

  /** The exec's OCI process: the container's, with the exec's command, env, user and dir. */
  private process(e: ExecRecord, tty: boolean): Process {
    const spec = this.host.lifecycle.getContainer(e.containerId).spec;
    const base = spec.process!;
    const env = [...(base.env ?? [])];
    for (const kv of e.config.Env ?? []) {
      const k = kv.split('=')[0];
      const i = env.findIndex((x) => x.split('=')[0] === k);
      if (i >= 0) env[i] = kv;
      else env.push(kv);
    }
    let user = base.user;
    if (e.config.User) {
      const u = resolveContainerUser(this.host.rootfsPath(e.containerId), e.config.User);
      user = { uid: u.uid, gid: u.gid, additionalGids: u.additionalGids };
    }
    const caps = e.config.Privileged ? { bounding: ALL_CAPS, effective: ALL_CAPS, permitted: ALL_CAPS } : base.capabilities;
    return {
      terminal: tty,
      user,
      args: [...e.config.Cmd],
      env,
      cwd: e.config.WorkingDir || base.cwd || '/',
      ...(caps ? { capabilities: caps } : {}),
      ...(base.rlimits ? { rlimits: base.rlimits } : {}),
      noNewPrivileges: base.noNewPrivileges ?? false,
      ...(e.config.ConsoleSize ? { consoleSize: { height: e.config.ConsoleSize[0], width: e.config.ConsoleSize[1] } } : {}),
    };
  }

  async start(execId: string, opts: { detach: boolean; tty?: boolean; consoleSize?: [number, number] }, a?: StreamAttach): Promise<void> {
    const e = this.get(execId);
    if (e.started) throw errConflict(`Error: Exec command ${execId} has already run`);
    const c = this.host.container(e.containerId);
    if (c.state.status !== 'running') throw errConflict(`Container ${c.id} is not running`);
    e.started = true;
    const tty = opts.tty ?? !!e.config.Tty;
    const stdin = !opts.detach && !!a?.stdin && !!e.config.AttachStdin;
    const lc = this.host.lifecycle;
    let r: { pid: number; stream: import('node:net').Socket };
    try {
      r = await lc.exec(e.containerId, execId, this.process(e, tty), { terminal: tty, stdin });
    } catch (err) {
      const f = execStartFailure(err);
      e.exitCode = f.exitCode;
      e.finish();
      e.setReady();
      throw f.error;
    }
    e.running = true;
    e.pid = r.pid;
    e.setReady();
    const size = opts.consoleSize ?? e.config.ConsoleSize;
    if (tty && size) await lc.resize(e.containerId, size[0], size[1], execId).catch(() => undefined);
    this.host.events.publish({
      Type: 'container', Action: `exec_start: ${e.config.Cmd.join(' ')}`,
      Actor: { ID: c.id, Attributes: { ...this.host.eventAttrs(c), execID: execId } },
    });
    const ended = (async () => {
      let code = 126;
      try {
        code = (await lc.waitExec(e.containerId, execId)).exitCode;
      } catch {
        // the container ended (and its shim with it) first: Docker reports the exec as killed
        code = 137;
      }
      e.exitCode = code;
      e.running = false;
      e.finish();
      this.host.events.publish({
        Type: 'container', Action: 'exec_die',
        Actor: { ID: c.id, Attributes: { ...this.host.eventAttrs(c), execID: execId, exitCode: String(code) } },
      });
    })();
    if (opts.detach || !a) {
      r.stream.resume();
      r.stream.on('error', () => undefined);
      return;
    }
    const how = await bridge({
      conn: a.conn, source: r.stream, stdin, ...(a.detachKeys ? { detachKeys: a.detachKeys } : {}),
      onStdinEnd: () => { void lc.closeStdin(e.containerId, execId).catch(() => undefined); },
      keepOpenOnEnd: true,
    });
    // Detached (keys) or gone: the exec goes on; its exit is still recorded by `ended`.
    if (how === 'ended') {
      // As dockerd: the stream closes only after the exit code is recorded, so `docker exec` (and
      // SDKs) inspecting right after the output ends read the code, never null.
      await ended;
      if (!a.conn.writableEnded && !a.conn.destroyed) a.conn.end();
    }
  }

  /**
   * One health probe (dockerd's cmdProbe.run): `cmd` as an exec with the container's user, env
   * and dir, stdout and stderr into one buffer of at most `maxOutput` bytes ("..." marks a cut),
   * SIGKILLed when it runs longer than `timeoutMs` after it started. Not kept in the exec table
   * (dockerd drops it from the container's exec list at exit too); exec_* events as dockerd's.
   * Rejects when the exec could not be started.
   */
  async probe(containerId: string, cmd: string[], timeoutMs: number, maxOutput: number): Promise<{ exitCode: number; output: string; timedOut: boolean }> {
    const c = this.host.container(containerId);
    if (c.state.status !== 'running') throw errConflict(`Container ${c.id} is not running`);
    const execId = randomBytes(32).toString('hex');
    const e: ExecRecord = { id: execId, containerId: c.id, config: { Cmd: cmd }, running: false, started: true, exitCode: null, pid: 0, done: Promise.resolve(), finish: () => undefined, ready: Promise.resolve(), setReady: () => undefined };
    const attrs = { ...this.host.eventAttrs(c), execID: execId };
    this.host.events.publish({ Type: 'container', Action: `exec_create: ${cmd.join(' ')}`, Actor: { ID: c.id, Attributes: attrs } });
    const lc = this.host.lifecycle;
    const r = await lc.exec(c.id, execId, this.process(e, false), { terminal: false, stdin: false });
    this.host.events.publish({ Type: 'container', Action: `exec_start: ${cmd.join(' ')}`, Actor: { ID: c.id, Attributes: attrs } });
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    const dec = new FrameDecoder();
    const streamDone = new Promise<void>((resolve) => {
      r.stream.on('data', (b: Buffer) => {
        let frames;
        try { frames = dec.push(b); } catch { r.stream.destroy(); return; }
        for (const f of frames) {
          if (f.stream !== STDOUT && f.stream !== STDERR) continue;
          const keep = Math.min(maxOutput - size, f.payload.length);
          if (keep > 0) { chunks.push(f.payload.subarray(0, keep)); size += keep; }
          if (keep < f.payload.length) truncated = true;
        }
      });
      r.stream.on('error', () => resolve());
      r.stream.on('close', () => resolve());
      r.stream.on('end', () => resolve());
      r.stream.resume(); // handed over paused
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void lc.killExec(c.id, execId, 'SIGKILL').catch(() => undefined);
    }, timeoutMs);
    let code: number;
    try {
      code = (await lc.waitExec(c.id, execId)).exitCode;
    } catch {
      code = 137; // the container (and its shim) ended first
    } finally {
      clearTimeout(timer);
    }
    // The output may trail the exit a little; dockerd waits up to 2 s for the streams too.
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([streamDone, new Promise<void>((r2) => { grace = setTimeout(r2, 2000); })]);
    clearTimeout(grace);
    r.stream.destroy();
    this.host.events.publish({ Type: 'container', Action: 'exec_die', Actor: { ID: c.id, Attributes: { ...attrs, exitCode: String(code) } } });
    const output = Buffer.concat(chunks).toString() + (truncated ? '...' : '');
    return { exitCode: code, output, timedOut };
  }

  async resize(execId: string, height: number, width: number): Promise<void> {
    const e = this.get(execId);
    // A client resizes right after its start request, before the process exists: dockerd waits (up to 10 s) for it.
    if (e.started && !e.running && e.exitCode === null) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([e.ready, new Promise<void>((r) => { timer = setTimeout(r, 10_000); })]);
      clearTimeout(timer);
    }
    if (!e.running) throw errConflict(`Exec ${execId} is not running`);
    await this.host.lifecycle.resize(e.containerId, height, width, execId);
  }
}
