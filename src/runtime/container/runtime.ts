// The OCI runtime as a library: create/start/state/kill/delete/exec/pause/resume/update/ps/stats.
//
// Lifecycle (runtime-spec runtime.md):
//   const rt = new Runtime({ root: '/run/berth-runc' });
//   await rt.create('web', '/bundles/web', { detach: true });   // status "created", process blocked
//   await rt.start('web');                                        // status "running"
//   await rt.kill('web', 15); ...; await rt.delete('web');
// Every step runs in this process; only berth-init (C) is exec'd, once per container process.
import { closeSync, constants as fsc, existsSync, openSync, unlinkSync, writeFileSync, renameSync } from 'node:fs';
import { Socket } from 'node:net';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { isAbsolute, join, resolve, dirname } from 'node:path';
import { BerthError, errConflict, errInvalid, errPrecondition } from '../../common/errors.js';
import type { LinuxResources, Process, Spec, State } from '../spec/types.js';
import { readSpec, validateProcess } from '../spec/validate.js';
import { effectiveResources } from '../spec/defaults.js';
import { buildCreatePlan, buildExecPlan } from '../plan/build.js';
import { encodePlan } from '../plan/plan.js';
import { openCgroups } from '../cgroups/open.js';
import type { CgroupManager, CgroupStats } from '../cgroups/cgroups.js';
import { StateDir, type ContainerRecord } from './state-dir.js';
import { isSameLiveProcess, procStat } from './proc.js';
import { spawnInit } from './init-process.js';
import { runHooks } from './hooks.js';

export const OCI_VERSION = '1.2.0';

export type Status = State['status'];

/** What `state` and `list` report: the OCI state plus runc's extra fields. */
export interface ContainerState extends State {
  rootfs: string;
  created: string;
  owner: string;
}

export interface RuntimeOptions {
  /** The state root (runc `--root`). */
  root: string;
  /** Use MS_MOVE + chroot instead of pivot_root for every container (runc `--no-pivot` per create). */
  noPivot?: boolean;
  /** Treat `slice:prefix:name` cgroup paths as systemd-style (runc `--systemd-cgroup`); converted to cgroupfs paths. */
  systemdCgroup?: boolean;
}

export interface CreateOptions {
  consoleSocket?: string;
  pidFile?: string;
  preserveFds?: number;
  noPivot?: boolean;
  /** stdio for the container process (default: inherit ours). */
  stdio?: StdioOptions;
  /**
   * true (runc create): berth-init leaves the container to our caller and exits.
   * false (library path): berth-init stays as the container's parent; `child` exits with its status.
   */
  detach?: boolean;
  /** Skip the exec fifo: the process execs as soon as it is set up (create+start in one, for `run`). */
  startImmediately?: boolean;
  onPhase?: (name: string, ns: number) => void;
}

export interface ExecOptions {
  consoleSocket?: string;
  pidFile?: string;
  preserveFds?: number;
  stdio?: StdioOptions;
  detach?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Write a file atomically (temp + rename), as runc does for --pid-file so a reader never sees half. */
function writeAtomic(path: string, text: string): void {
  const tmp = join(dirname(path), `.${process.pid}.${Date.now()}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export class Runtime {
  readonly states: StateDir;
  constructor(readonly opts: RuntimeOptions) {
    this.states = new StateDir(resolve(opts.root));
  }

  private cgroups(rec: { id: string; cgroupsPath?: string }): CgroupManager {
    return openCgroups({ id: rec.id, path: rec.cgroupsPath || undefined });
  }

  /** The status of a container, derived from the kernel's view each time (never cached). */
  async status(rec: ContainerRecord): Promise<Status> {
    if (!isSameLiveProcess(rec.pid, rec.pidStartTime)) return 'stopped';
    if (existsSync(join(this.states.dir(rec.id), 'exec.fifo'))) return 'created';
    if (await this.cgroups(rec).isFrozen().catch(() => false)) return 'paused';
    return 'running';
  }

  async state(id: string): Promise<ContainerState> {
    const rec = this.states.load(id);
    return this.toState(rec);
  }

  private async toState(rec: ContainerRecord): Promise<ContainerState> {
    const status = await this.status(rec);
    return {
      ociVersion: OCI_VERSION,
      id: rec.id,
      pid: status === 'stopped' ? 0 : rec.pid,
      status,
      bundle: rec.bundle,
      rootfs: rec.rootfs,
      created: rec.created,
      owner: rec.owner,
      ...(rec.spec.annotations ? { annotations: rec.spec.annotations } : {}),
    };
  }

  async list(): Promise<ContainerState[]> {
    const out: ContainerState[] = [];
    for (const id of this.states.list()) {
      try {
        out.push(await this.state(id));
      } catch {
        /* a directory without state.json is a create in progress or debris */
      }
    }
    return out;
  }

  /**
   * Create a container from a bundle: validate, make cgroups, write the plan, run berth-init.
   * Anything made before a failure is removed again.
   */
  async create(id: string, bundle: string, o: CreateOptions = {}): Promise<{ record: ContainerRecord; child: ChildProcess }> {
    bundle = resolve(bundle);
    const spec = await readSpec(bundle);
    if (!spec.process) throw errInvalid('config.json: process: required to create a container');
    const dir = this.states.reserve(id);
    const rootfs = isAbsolute(spec.root!.path) ? spec.root!.path : join(bundle, spec.root!.path);
    const cg = openCgroups({ id, path: spec.linux?.cgroupsPath || undefined });
    const rec: ContainerRecord = {
      id,
      bundle,
      rootfs,
      pid: 0,
      created: new Date().toISOString(),
      owner: '', // runc 1.1 reports "" (it fills it only for rootless)
      cgroupsPath: cg.path,
      spec,
      namespaces: (spec.linux?.namespaces ?? []).map((n) => n.type),
    };
    let child: ChildProcess | undefined;
    try {
      // berth-init makes the fifo (Node has no mkfifo, and a spawn for it would cost a millisecond).
      const fifo = join(dir, 'exec.fifo');
      const planFile = join(dir, 'plan');
      await prepareCreate(spec, cg, {
        bundle,
        rootfs,
        planFile,
        consoleSocket: o.consoleSocket ? resolve(o.consoleSocket) : undefined,
        execFifo: o.startImmediately ? undefined : fifo,
        preserveFds: o.preserveFds,
        noPivot: o.noPivot ?? this.opts.noPivot,
      });
      const state = (pid: number): State => ({ ociVersion: OCI_VERSION, id, pid, status: 'creating', bundle, ...(spec.annotations ? { annotations: spec.annotations } : {}) });
      const phases: Record<string, number> = {};
      const h = await spawnInit({
        planFile,
        detach: o.detach ?? true,
        stdio: o.stdio ?? 'inherit',
        preserveFds: o.preserveFds,
        onPhase: (name, ns) => { phases[name] = ns; o.onPhase?.(name, ns); },
        onHook: async (_name, pid) => {
          const hooks = spec.hooks ?? {};
          // prestart (deprecated) and createRuntime run in the runtime namespace, createContainer in the container's.
          await runHooks('prestart', hooks.prestart, state(pid));
          await runHooks('createRuntime', hooks.createRuntime, state(pid));
          await runHooks('createContainer', hooks.createContainer, state(pid), nsenterWrap(pid, rec.namespaces));
        },
      });
      child = h.child;
      rec.pid = h.pid;
      rec.pidStartTime = procStat(h.pid)?.startTime;
      rec.phases = phases;
      rec.started = !!o.startImmediately;
      this.states.save(rec);
      if (o.pidFile) writeAtomic(resolve(o.pidFile), String(h.pid));
      return { record: rec, child };
    } catch (e) {
      if (rec.pid > 0) try { process.kill(rec.pid, 'SIGKILL'); } catch { /* gone */ }
      child?.kill('SIGKILL');
      await cg.destroy().catch(() => {});
      this.states.remove(id);
      throw e;
    }
  }

  /** Release a created container into its process (runtime-spec `start`). */
  async start(id: string): Promise<void> {
    const rec = this.states.load(id);
    const status = await this.status(rec);
    if (status !== 'created') {
      if (status === 'stopped') throw errPrecondition('cannot start a container that has stopped');
      throw errPrecondition(`cannot start an already running container`);
    }
    const fifo = join(this.states.dir(id), 'exec.fifo');
    const st = await this.toState(rec);
    // startContainer hooks run in the container's namespaces before the user process (runtime-spec).
    await runHooks('startContainer', rec.spec.hooks?.startContainer, st, nsenterWrap(rec.pid, rec.namespaces));
    await releaseFifo(fifo, rec);
    try { unlinkSync(fifo); } catch { /* already gone */ }
    rec.started = true;
    this.states.save(rec);
    try {
      await runHooks('poststart', rec.spec.hooks?.poststart, { ...st, status: 'running' });
    } catch (e) {
      // runtime-spec: a failing poststart hook is logged, not fatal.
      process.emitWarning(String((e as Error).message));
    }
  }

  async kill(id: string, signal: number, all = false): Promise<void> {
    const rec = this.states.load(id);
    const status = await this.status(rec);
    if (all) {
      const cg = this.cgroups(rec);
      const pids = await cg.pids().catch(() => [] as number[]);
      // Stopped processes cannot take signals while frozen; runc thaws for SIGKILL too.
      if (status === 'paused' && signal === 9) await cg.thaw().catch(() => {});
      for (const p of pids) try { process.kill(p, signal); } catch { /* raced exit */ }
      return;
    }
    if (status === 'stopped') throw errPrecondition('container not running');
    try {
      process.kill(rec.pid, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }

  /** Remove a container: its process (created, or any with force), hooks, cgroups, state. */
  async delete(id: string, force = false): Promise<void> {
    let rec: ContainerRecord;
    try {
      rec = this.states.load(id);
    } catch (e) {
      // A directory without state.json is debris of a killed create: remove it with --force.
      if (force && existsSync(this.states.dir(id))) { this.states.remove(id); return; }
      throw e;
    }
    const status = await this.status(rec);
    const cg = this.cgroups(rec);
    if (status === 'running' || status === 'paused') {
      if (!force) throw errConflict(`cannot delete container ${id} that is not stopped: ${status}`);
    }
    if (status !== 'stopped') {
      if (status === 'paused') await cg.thaw().catch(() => {});
      try { process.kill(rec.pid, 'SIGKILL'); } catch { /* gone */ }
      await waitGone(rec);
    }
    await cg.destroy();
    try {
      await runHooks('poststop', rec.spec.hooks?.poststop, { ...(await this.toState(rec)), status: 'stopped' });
    } catch (e) {
      process.emitWarning(String((e as Error).message));
    }
    this.states.remove(id);
  }

  /** Run an additional process in a running container (runc exec). */
  async exec(id: string, proc: Process, o: ExecOptions = {}): Promise<{ pid: number; child: ChildProcess }> {
    const rec = this.states.load(id);
    const status = await this.status(rec);
    if (status === 'stopped') throw errPrecondition('cannot exec in a stopped container');
    if (status === 'paused') throw errPrecondition('cannot exec in a paused container');
    validateProcess(proc, 'process');
    const cg = this.cgroups(rec);
    const plan = buildExecPlan(proc, {
      containerPid: rec.pid,
      namespaces: rec.namespaces,
      cgroupProcsFiles: cg.procsFiles(),
      consoleSocket: o.consoleSocket ? resolve(o.consoleSocket) : undefined,
      preserveFds: o.preserveFds,
      seccomp: rec.spec.linux?.seccomp,
    });
    const planFile = join(this.states.dir(id), `exec-${process.pid}-${Date.now()}.plan`);
    writeFileSync(planFile, encodePlan(plan));
    try {
      const h = await spawnInit({ planFile, detach: o.detach ?? true, stdio: o.stdio ?? 'inherit', preserveFds: o.preserveFds });
      if (o.pidFile) writeAtomic(resolve(o.pidFile), String(h.pid));
      return { pid: h.pid, child: h.child };
    } finally {
      try { unlinkSync(planFile); } catch { /* ignore */ }
    }
  }

  async pause(id: string): Promise<void> {
    const rec = this.states.load(id);
    const status = await this.status(rec);
    if (status !== 'running' && status !== 'created') throw errPrecondition('container not running');
    await this.cgroups(rec).freeze();
  }

  async resume(id: string): Promise<void> {
    const rec = this.states.load(id);
    if ((await this.status(rec)) !== 'paused') throw errPrecondition('container not paused');
    await this.cgroups(rec).thaw();
  }

  async update(id: string, resources: LinuxResources): Promise<void> {
    const rec = this.states.load(id);
    if ((await this.status(rec)) === 'stopped') throw errPrecondition('container not running');
    await this.cgroups(rec).update(resources);
    const linux = (rec.spec.linux ??= {});
    linux.resources = mergeResources(linux.resources ?? {}, resources);
    this.states.save(rec);
  }

  async ps(id: string): Promise<number[]> {
    const rec = this.states.load(id);
    return this.cgroups(rec).pids();
  }

  async stats(id: string): Promise<CgroupStats> {
    const rec = this.states.load(id);
    if ((await this.status(rec)) === 'stopped') throw errPrecondition('container not running');
    return this.cgroups(rec).stats();
  }

  async oomKilled(id: string): Promise<boolean> {
    return this.cgroups(this.states.load(id)).oomKilled();
  }

  /**
   * The create half of `run`: berth-init stays as the container's parent (its `child` exits with
   * the container's status), and without startContainer hooks there is no exec fifo: the process
   * execs as soon as it is set up.
   */
  async createForRun(id: string, bundle: string, o: Omit<CreateOptions, 'detach' | 'startImmediately'> = {}): Promise<{ child: ChildProcess; immediate: boolean }> {
    const hooks = (await readSpec(resolve(bundle))).hooks;
    const immediate = !hooks?.startContainer?.length;
    const { child } = await this.create(id, bundle, { ...o, detach: false, startImmediately: immediate });
    return { child, immediate };
  }

  /** The start half of `run`: `start` through the fifo, or only the poststart hooks. */
  async startForRun(id: string, immediate: boolean): Promise<void> {
    if (!immediate) return this.start(id);
    const rec = this.states.load(id);
    if (!rec.spec.hooks?.poststart?.length) return;
    try {
      await runHooks('poststart', rec.spec.hooks.poststart, { ...(await this.state(id)), status: 'running' });
    } catch (e) {
      process.emitWarning(String((e as Error).message));
    }
  }

  /**
   * create + start + wait + delete in this process (the library's hot path).
   * Resolves to the exit status as a shell reports it (code, or 128 + signal).
   */
  async run(id: string, bundle: string, o: Omit<CreateOptions, 'detach' | 'startImmediately'> = {}): Promise<number> {
    const { child, immediate } = await this.createForRun(id, bundle, o);
    const exited = new Promise<number>((res) => {
      if (child.exitCode !== null) return res(child.exitCode);
      child.on('exit', (code, sig) => res(code ?? 128 + (sig ? (osSignal(sig) ?? 0) : 0)));
    });
    await this.startForRun(id, immediate);
    const code = await exited;
    await this.delete(id, true);
    return code;
  }
}

function osSignal(name: string): number | undefined {
  return (osConstants.signals as Record<string, number>)[name];
}


/**
 * Open the exec fifo for reading, which lets the container's blocked `open(O_WRONLY)` return
 * and the process exec. berth-init writes one byte right before execve: reading it means the
 * process got past the fifo, even if it has exited by now. The read side is opened without
 * blocking and read through the event loop (a pipe handle), not as three thread-pool round
 * trips (open, read, close; ~1 ms of every start). A fifo reports its end only after a writer
 * has come and gone, so a process that died before it opened the fifo would leave us waiting:
 * a watchdog then opens and closes the write side itself, and the end comes without the byte.
 */
export async function releaseFifo(fifo: string, rec: { pid: number; pidStartTime?: number }): Promise<void> {
  let dead = false;
  const fd = openSync(fifo, fsc.O_RDONLY | fsc.O_NONBLOCK);
  const pipe = new Socket({ fd, readable: true, writable: false });
  // A timer, not a sleeping loop: the common case (the process is waiting) must not pay for it.
  const watchdog = setInterval(() => {
    if (!isSameLiveProcess(rec.pid, rec.pidStartTime)) {
      dead = true;
      try { closeSync(openSync(fifo, fsc.O_WRONLY | fsc.O_NONBLOCK)); } catch { /* gone */ }
    }
  }, 10);
  let started: boolean;
  try {
    started = await new Promise<boolean>((resolve, reject) => {
      pipe.once('data', (b: Buffer) => resolve(b.length > 0));
      pipe.once('end', () => resolve(false));
      pipe.once('error', reject);
    });
  } finally {
    clearInterval(watchdog);
    pipe.destroy();
  }
  if (started) return;
  throw errPrecondition(dead ? 'cannot start a container that has stopped' : 'container process did not start: exec fifo closed without the start byte');
}

/** What {@link prepareCreate} needs besides the spec and the cgroup manager. */
export interface PrepareCreateOptions {
  bundle: string;
  rootfs: string;
  /** Where the encoded plan is written. */
  planFile: string;
  consoleSocket?: string;
  execFifo?: string;
  preserveFds?: number;
  noPivot?: boolean;
  /** Where berth-init keeps compiled seccomp programs (see buildCreatePlan). */
  seccompCacheDir?: string;
  /** Called once the cgroups exist, before the plan is built. */
  onCgroupsCreated?: () => void;
}

/**
 * Create a new container's cgroups (with the spec's resources) and write its create plan: the
 * part of `create` shared by {@link Runtime} and the lifecycle layer (which then hands the plan
 * to berth-shim instead of running berth-init itself). The caller removes the cgroups on failure.
 */
export async function prepareCreate(spec: Spec, cg: CgroupManager, o: PrepareCreateOptions): Promise<void> {
  await cg.create(effectiveResources(spec.linux?.resources));
  o.onCgroupsCreated?.();
  const plan = buildCreatePlan(spec, {
    bundle: o.bundle,
    rootfs: o.rootfs,
    cgroupProcsFiles: cg.procsFiles(),
    cgroupMountSources: cg.hierarchyDirs(),
    hostCgroupVersion: cg.version,
    consoleSocket: o.consoleSocket,
    execFifo: o.execFifo,
    preserveFds: o.preserveFds,
    noPivot: o.noPivot,
    seccompCacheDir: o.seccompCacheDir,
  });
  writeFileSync(o.planFile, encodePlan(plan));
}

/** Wait until a process we may not be the parent of is gone (dead or a zombie). */
export async function waitGone(rec: { id: string; pid: number; pidStartTime?: number }, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (let ms = 1; isSameLiveProcess(rec.pid, rec.pidStartTime); ms = Math.min(ms * 2, 50)) {
    if (Date.now() > end) throw new BerthError('deadline-exceeded', `container ${rec.id}: process ${rec.pid} did not exit after SIGKILL`);
    await sleep(ms);
  }
}

/** Argv prefix that runs a hook inside the container's namespaces (util-linux nsenter). */
export function nsenterWrap(pid: number, namespaces: string[]): (argv: string[]) => string[] {
  const flag: Record<string, string> = { mount: '--mount', uts: '--uts', ipc: '--ipc', network: '--net', pid: '--pid', cgroup: '--cgroup', user: '--user' };
  return (argv) => ['nsenter', `--target=${pid}`, ...namespaces.map((n) => flag[n]).filter((f): f is string => !!f), '--', ...argv];
}

/** Merge an update into resources, one level deep (runc `update` semantics: given fields replace). */
export function mergeResources(a: LinuxResources, b: LinuxResources): LinuxResources {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = cur && typeof cur === 'object' && !Array.isArray(cur) && v && typeof v === 'object' && !Array.isArray(v) ? { ...cur, ...v } : v;
  }
  return out as LinuxResources;
}

