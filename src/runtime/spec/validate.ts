// Hand-written validator for an OCI config.json (runtime-spec 1.0.2 - 1.2, Linux): types and runc's rules.
// Hand-written, not ajv: berth-runc pays module load time on every command.
import { readFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, errInvalid, errNotFound } from '../../common/errors.js';
import type { NamespaceType, Process, Spec } from './types.js';
import { capNumber } from '../caps.js';
import { NAMESPACES, RLIMITS } from '../linux.js';
import { OCI_SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FLAGS, SECCOMP_OPS } from '../seccomp.js';

export interface ValidateOptions {
  /** The name errors start with; default `config.json`. */
  file?: string;
  /** Require `process` with non-empty `args` (create/run). Default true. */
  requireProcess?: boolean;
  /** Where to report what is accepted but not applied. */
  warn?: (msg: string) => void;
  /** Test seam: is `path` the host's namespace of `type`? Default: compares it with /proc/self/ns. */
  isHostNamespace?: (type: NamespaceType, path: string) => boolean;
}

type Obj = Record<string, unknown>;

const U32 = 0xffffffff;
const NS_TYPES = new Set(Object.keys(NAMESPACES));
const PROPAGATIONS = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable']);
const HOOK_KINDS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;
const CAP_SETS = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const;
// runc's list of IPC-namespaced sysctls (besides fs.mqueue.*).
const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);
const IOPRIO_CLASSES = ['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE'];
const SCHED_POLICIES = ['SCHED_OTHER', 'SCHED_FIFO', 'SCHED_RR', 'SCHED_BATCH', 'SCHED_ISO', 'SCHED_IDLE', 'SCHED_DEADLINE'];

/** Collects the checks; every failure names the file and the JSON path. */
class Check {
  constructor(readonly file: string) {}

  fail(path: string, msg: string): never {
    throw errInvalid(`${this.file}: ${path}: ${msg}`);
  }

  obj(v: unknown, p: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(p, 'must be an object');
    return v as Obj;
  }

  optObj(v: unknown, p: string): Obj | undefined {
    return v === undefined || v === null ? undefined : this.obj(v, p);
  }

  arr(v: unknown, p: string): unknown[] {
    if (!Array.isArray(v)) this.fail(p, 'must be an array');
    return v;
  }

  optArr(v: unknown, p: string): unknown[] {
    return v === undefined || v === null ? [] : this.arr(v, p);
  }

  str(v: unknown, p: string): string {
    if (typeof v !== 'string') this.fail(p, 'must be a string');
    return v;
  }

  optStr(v: unknown, p: string): string | undefined {
    return v === undefined ? undefined : this.str(v, p);
  }

  bool(v: unknown, p: string): void {
    if (v !== undefined && typeof v !== 'boolean') this.fail(p, 'must be a boolean');
  }

  int(v: unknown, p: string, min = -Number.MAX_VALUE, max = Number.MAX_VALUE): number {
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(p, 'must be an integer');
    if (v < min || v > max) this.fail(p, `must be between ${min} and ${max}`);
    return v;
  }

  optInt(v: unknown, p: string, min?: number, max?: number): number | undefined {
    return v === undefined || v === null ? undefined : this.int(v, p, min, max);
  }

  u32(v: unknown, p: string): number { return this.int(v, p, 0, U32); }
  optU32(v: unknown, p: string): number | undefined { return this.optInt(v, p, 0, U32); }
  optU64(v: unknown, p: string): number | undefined { return this.optInt(v, p, 0); }

  abs(v: unknown, p: string): string {
    const s = this.str(v, p);
    if (!s.startsWith('/')) this.fail(p, `must be an absolute path, got ${JSON.stringify(s)}`);
    return s;
  }

  /** A string execve(2) can carry. */
  cstr(v: unknown, p: string): string {
    const s = this.str(v, p);
    if (s.includes('\0')) this.fail(p, 'must not contain a NUL byte');
    return s;
  }

  strs(v: unknown, p: string): string[] {
    return this.optArr(v, p).map((x, i) => this.str(x, `${p}[${i}]`));
  }

  absPaths(v: unknown, p: string): void {
    this.optArr(v, p).forEach((x, i) => this.abs(x, `${p}[${i}]`));
  }

  stringMap(v: unknown, p: string): Obj | undefined {
    const o = this.optObj(v, p);
    if (o) for (const [k, x] of Object.entries(o)) this.str(x, `${p}[${JSON.stringify(k)}]`);
    return o;
  }

  oneOf(v: unknown, p: string, allowed: Iterable<string>, what: string): string {
    const s = this.str(v, p);
    if (![...allowed].includes(s)) this.fail(p, `unknown ${what} ${JSON.stringify(s)}`);
    return s;
  }

  idMappings(v: unknown, p: string): Obj[] {
    return this.optArr(v, p).map((x, i) => {
      const q = `${p}[${i}]`;
      const m = this.obj(x, q);
      this.u32(m.containerID, `${q}.containerID`);
      this.u32(m.hostID, `${q}.hostID`);
      this.int(m.size, `${q}.size`, 1, U32);
      return m;
    });
  }
}

/**
 * Validates a parsed config.json and returns it typed. Checks the types of every field Berth
 * uses, the values the kernel would reject late (capability, rlimit, seccomp and namespace
 * names), and runc's cross-field rules (mappings need a user namespace, sysctls need theirs, ...).
 * Unknown properties are ignored, as the runtime-spec requires. Throws `invalid-argument`.
 */
export function validateSpec(spec: unknown, opts: ValidateOptions = {}): Spec {
  const c = new Check(opts.file ?? 'config.json');
  const s = c.obj(spec, '(root)');

  const version = c.str(s.ociVersion, 'ociVersion');
  if (!/^1\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(version)) {
    c.fail('ociVersion', `unsupported version ${JSON.stringify(version)} (Berth supports runtime-spec 1.x)`);
  }

  const root = c.obj(s.root, 'root');
  if (c.str(root.path, 'root.path') === '') c.fail('root.path', 'must not be empty');
  c.bool(root.readonly, 'root.readonly');

  c.optStr(s.hostname, 'hostname');
  c.optStr(s.domainname, 'domainname');
  c.stringMap(s.annotations, 'annotations');

  const mounts = c.optArr(s.mounts, 'mounts');
  mounts.forEach((x, i) => {
    const p = `mounts[${i}]`;
    const m = c.obj(x, p);
    // runc requires absolute destinations since 1.1 (Docker never writes relative ones).
    c.abs(m.destination, `${p}.destination`);
    c.optStr(m.type, `${p}.type`);
    c.optStr(m.source, `${p}.source`);
    c.strs(m.options, `${p}.options`);
    c.idMappings(m.uidMappings, `${p}.uidMappings`);
    c.idMappings(m.gidMappings, `${p}.gidMappings`);
  });

  const hooks = c.optObj(s.hooks, 'hooks');
  if (hooks) {
    for (const kind of HOOK_KINDS) {
      c.optArr(hooks[kind], `hooks.${kind}`).forEach((x, i) => {
        const p = `hooks.${kind}[${i}]`;
        const h = c.obj(x, p);
        c.abs(h.path, `${p}.path`);
        c.strs(h.args, `${p}.args`);
        c.strs(h.env, `${p}.env`);
        c.optInt(h.timeout, `${p}.timeout`, 1);
      });
    }
  }

  if (s.process === undefined || s.process === null) {
    if (opts.requireProcess ?? true) c.fail('process', 'required to create a container');
  } else {
    checkProcess(c, s.process, 'process', opts.requireProcess ?? true);
  }

  const linux = c.optObj(s.linux, 'linux') ?? {};
  checkLinux(c, linux, s, opts);
  return spec as Spec;
}

/**
 * Validates an OCI `process` object on its own (`runc exec --process`), `args` required.
 * `path` names it in errors; `file` is the error prefix (default `config.json`).
 */
export function validateProcess(proc: unknown, path = 'process', file = 'config.json'): Process {
  checkProcess(new Check(file), proc, path, true);
  return proc as Process;
}

function checkProcess(c: Check, v: unknown, p: string, requireArgs: boolean): void {
  const proc = c.obj(v, p);
  c.bool(proc.terminal, `${p}.terminal`);
  const size = c.optObj(proc.consoleSize, `${p}.consoleSize`);
  if (size) {
    c.int(size.height, `${p}.consoleSize.height`, 0, 0xffff);
    c.int(size.width, `${p}.consoleSize.width`, 0, 0xffff);
  }
  const user = c.obj(proc.user, `${p}.user`);
  c.u32(user.uid, `${p}.user.uid`);
  c.u32(user.gid, `${p}.user.gid`);
  c.optInt(user.umask, `${p}.user.umask`, 0, 0o7777);
  c.optArr(user.additionalGids, `${p}.user.additionalGids`).forEach((g, i) => c.u32(g, `${p}.user.additionalGids[${i}]`));
  c.optStr(user.username, `${p}.user.username`);

  const args = c.optArr(proc.args, `${p}.args`);
  args.forEach((a, i) => c.cstr(a, `${p}.args[${i}]`));
  if (requireArgs && args.length === 0) c.fail(`${p}.args`, 'must not be empty');
  c.optStr(proc.commandLine, `${p}.commandLine`);
  c.optArr(proc.env, `${p}.env`).forEach((e, i) => {
    const s = c.cstr(e, `${p}.env[${i}]`);
    if (s.indexOf('=') < 1) c.fail(`${p}.env[${i}]`, `must be KEY=VALUE, got ${JSON.stringify(s)}`);
  });
  const cwd = c.str(proc.cwd, `${p}.cwd`);
  if (!cwd.startsWith('/')) c.fail(`${p}.cwd`, `must be an absolute path, got ${JSON.stringify(cwd)}`);

  const caps = c.optObj(proc.capabilities, `${p}.capabilities`);
  if (caps) {
    for (const set of CAP_SETS) {
      c.strs(caps[set], `${p}.capabilities.${set}`).forEach((name, i) => {
        if (capNumber(name) === undefined) c.fail(`${p}.capabilities.${set}[${i}]`, `unknown capability ${JSON.stringify(name)}`);
      });
    }
  }

  const seen = new Set<string>();
  c.optArr(proc.rlimits, `${p}.rlimits`).forEach((x, i) => {
    const q = `${p}.rlimits[${i}]`;
    const r = c.obj(x, q);
    const type = c.str(r.type, `${q}.type`);
    if (RLIMITS[type] === undefined) c.fail(`${q}.type`, `unknown rlimit ${JSON.stringify(type)}`);
    if (seen.has(type)) c.fail(`${q}.type`, `duplicate rlimit ${JSON.stringify(type)}`);
    seen.add(type);
    const soft = c.int(r.soft, `${q}.soft`, 0);
    const hard = c.int(r.hard, `${q}.hard`, 0);
    // setrlimit(2) fails with EINVAL later; say so now, with the field.
    if (soft > hard) c.fail(q, `soft limit ${soft} is above hard limit ${hard}`);
  });

  c.bool(proc.noNewPrivileges, `${p}.noNewPrivileges`);
  c.optInt(proc.oomScoreAdj, `${p}.oomScoreAdj`, -1000, 1000);
  c.optStr(proc.apparmorProfile, `${p}.apparmorProfile`);
  c.optStr(proc.selinuxLabel, `${p}.selinuxLabel`);
  const io = c.optObj(proc.ioPriority, `${p}.ioPriority`);
  if (io) {
    c.oneOf(io.class, `${p}.ioPriority.class`, IOPRIO_CLASSES, 'I/O priority class');
    c.optInt(io.priority, `${p}.ioPriority.priority`, 0, 7);
  }
  const sched = c.optObj(proc.scheduler, `${p}.scheduler`);
  if (sched) {
    c.oneOf(sched.policy, `${p}.scheduler.policy`, SCHED_POLICIES, 'scheduler policy');
    c.optInt(sched.nice, `${p}.scheduler.nice`, -20, 19);
    c.optInt(sched.priority, `${p}.scheduler.priority`);
    c.strs(sched.flags, `${p}.scheduler.flags`);
  }
  const aff = c.optObj(proc.execCPUAffinity, `${p}.execCPUAffinity`);
  if (aff) {
    for (const k of ['initial', 'final']) {
      const s = c.optStr(aff[k], `${p}.execCPUAffinity.${k}`);
      if (s !== undefined && !/^[0-9, -]*$/.test(s)) c.fail(`${p}.execCPUAffinity.${k}`, `bad CPU list ${JSON.stringify(s)}`);
    }
  }
}

function defaultIsHostNamespace(type: NamespaceType, path: string): boolean {
  try {
    const a = statSync(path);
    const b = statSync(`/proc/self/ns/${NAMESPACES[type].procFile}`);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

function checkLinux(c: Check, linux: Obj, s: Obj, opts: ValidateOptions): void {
  const ns = new Map<NamespaceType, string | undefined>();
  c.optArr(linux.namespaces, 'linux.namespaces').forEach((x, i) => {
    const p = `linux.namespaces[${i}]`;
    const n = c.obj(x, p);
    const type = c.oneOf(n.type, `${p}.type`, NS_TYPES, 'namespace type') as NamespaceType;
    if (ns.has(type)) c.fail(`${p}.type`, `duplicate namespace ${JSON.stringify(type)}`);
    const path = n.path === undefined || n.path === '' ? undefined : c.abs(n.path, `${p}.path`);
    ns.set(type, path);
  });
  const has = (t: NamespaceType) => ns.has(t);
  const isNew = (t: NamespaceType) => ns.has(t) && ns.get(t) === undefined;

  const uidMaps = c.idMappings(linux.uidMappings, 'linux.uidMappings');
  const gidMaps = c.idMappings(linux.gidMappings, 'linux.gidMappings');
  if ((uidMaps.length || gidMaps.length) && !has('user')) {
    c.fail(uidMaps.length ? 'linux.uidMappings' : 'linux.gidMappings', 'id mappings need a user namespace');
  }
  if (isNew('user') && (!uidMaps.length || !gidMaps.length)) {
    c.fail(!uidMaps.length ? 'linux.uidMappings' : 'linux.gidMappings', 'a new user namespace needs uid and gid mappings');
  }

  if (typeof s.hostname === 'string' && s.hostname !== '' && !has('uts')) c.fail('hostname', 'setting the hostname needs a UTS namespace');
  if (typeof s.domainname === 'string' && s.domainname !== '' && !has('uts')) c.fail('domainname', 'setting the domainname needs a UTS namespace');

  const offsets = c.optObj(linux.timeOffsets, 'linux.timeOffsets');
  if (offsets) {
    for (const [clock, v] of Object.entries(offsets)) {
      const p = `linux.timeOffsets.${clock}`;
      if (clock !== 'monotonic' && clock !== 'boottime') c.fail(p, `unknown clock ${JSON.stringify(clock)}`);
      const o = c.obj(v, p);
      c.optInt(o.secs, `${p}.secs`);
      c.optInt(o.nanosecs, `${p}.nanosecs`, 0, 999_999_999);
    }
    if (Object.keys(offsets).length && !isNew('time')) c.fail('linux.timeOffsets', 'time offsets need a new time namespace');
  }

  c.optArr(linux.devices, 'linux.devices').forEach((x, i) => {
    const p = `linux.devices[${i}]`;
    const d = c.obj(x, p);
    const type = c.oneOf(d.type, `${p}.type`, ['c', 'b', 'u', 'p'], 'device type');
    c.abs(d.path, `${p}.path`);
    if (type === 'p') {
      c.optInt(d.major, `${p}.major`, 0);
      c.optInt(d.minor, `${p}.minor`, 0);
    } else {
      c.int(d.major, `${p}.major`, 0, U32);
      c.int(d.minor, `${p}.minor`, 0, U32);
    }
    c.optU32(d.fileMode, `${p}.fileMode`);
    c.optU32(d.uid, `${p}.uid`);
    c.optU32(d.gid, `${p}.gid`);
  });

  c.optStr(linux.cgroupsPath, 'linux.cgroupsPath');
  checkResources(c, c.optObj(linux.resources, 'linux.resources'));
  if (linux.rootfsPropagation !== undefined && linux.rootfsPropagation !== '') {
    c.oneOf(linux.rootfsPropagation, 'linux.rootfsPropagation', PROPAGATIONS, 'propagation');
  }
  checkSeccomp(c, c.optObj(linux.seccomp, 'linux.seccomp'));
  c.absPaths(linux.maskedPaths, 'linux.maskedPaths');
  c.absPaths(linux.readonlyPaths, 'linux.readonlyPaths');
  c.optStr(linux.mountLabel, 'linux.mountLabel');
  const pers = c.optObj(linux.personality, 'linux.personality');
  if (pers) {
    c.oneOf(pers.domain, 'linux.personality.domain', ['LINUX', 'LINUX32'], 'personality domain');
    c.strs(pers.flags, 'linux.personality.flags');
  }
  c.optObj(linux.intelRdt, 'linux.intelRdt');

  // Without a mount namespace, every mount would land on the host.
  if (!has('mount')) {
    for (const key of ['mounts', 'linux.maskedPaths', 'linux.readonlyPaths', 'linux.devices', 'linux.rootfsPropagation'] as const) {
      const v = key === 'mounts' ? s.mounts : linux[key.slice('linux.'.length)];
      if (Array.isArray(v) ? v.length > 0 : v !== undefined && v !== '') c.fail(key, 'needs a mount namespace');
    }
  }

  const sysctl = c.stringMap(linux.sysctl, 'linux.sysctl');
  if (sysctl) {
    const isHost = opts.isHostNamespace ?? defaultIsHostNamespace;
    // A joined namespace counts only if it is not the host's, as runc checks.
    const own = (t: NamespaceType) => has(t) && !(ns.get(t) !== undefined && isHost(t, ns.get(t)!));
    for (const rawKey of Object.keys(sysctl)) {
      const p = `linux.sysctl[${JSON.stringify(rawKey)}]`;
      const key = rawKey.replaceAll('/', '.');
      if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) {
        if (!own('ipc')) c.fail(p, "is not allowed in the host's IPC namespace");
        continue;
      }
      if (key.startsWith('net.')) {
        if (!own('network')) c.fail(p, "is not allowed in the host's network namespace");
        continue;
      }
      if (key === 'kernel.hostname') c.fail(p, 'conflicts with the "hostname" field; set that instead');
      if (key === 'kernel.domainname' && own('uts')) {
        if (typeof s.domainname === 'string' && s.domainname !== '') c.fail(p, 'conflicts with the "domainname" field');
        continue;
      }
      c.fail(p, 'is not in a separate kernel namespace of the container');
    }
  }
}

function checkSeccomp(c: Check, sc: Obj | undefined): void {
  if (!sc) return;
  const p = 'linux.seccomp';
  const def = c.oneOf(sc.defaultAction, `${p}.defaultAction`, OCI_SECCOMP_ACTIONS, 'seccomp action');
  c.optU32(sc.defaultErrnoRet, `${p}.defaultErrnoRet`);
  c.strs(sc.architectures, `${p}.architectures`).forEach((a, i) => c.oneOf(a, `${p}.architectures[${i}]`, SECCOMP_ARCHES, 'seccomp architecture'));
  c.strs(sc.flags, `${p}.flags`).forEach((f, i) => c.oneOf(f, `${p}.flags[${i}]`, SECCOMP_FLAGS, 'seccomp flag'));
  const listener = c.optStr(sc.listenerPath, `${p}.listenerPath`);
  c.optStr(sc.listenerMetadata, `${p}.listenerMetadata`);
  let notify = def === 'SCMP_ACT_NOTIFY';
  c.optArr(sc.syscalls, `${p}.syscalls`).forEach((x, i) => {
    const q = `${p}.syscalls[${i}]`;
    const call = c.obj(x, q);
    const names = c.arr(call.names, `${q}.names`);
    if (names.length === 0) c.fail(`${q}.names`, 'must not be empty');
    names.forEach((n, j) => { if (c.str(n, `${q}.names[${j}]`) === '') c.fail(`${q}.names[${j}]`, 'must not be empty'); });
    const action = c.oneOf(call.action, `${q}.action`, OCI_SECCOMP_ACTIONS, 'seccomp action');
    if (action === 'SCMP_ACT_NOTIFY') notify = true;
    const ret = c.optU32(call.errnoRet, `${q}.errnoRet`);
    if (ret !== undefined && action !== 'SCMP_ACT_ERRNO' && action !== 'SCMP_ACT_TRACE') {
      c.fail(`${q}.errnoRet`, `only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${action}`);
    }
    c.optArr(call.args, `${q}.args`).forEach((y, j) => {
      const r = `${q}.args[${j}]`;
      const a = c.obj(y, r);
      c.int(a.index, `${r}.index`, 0, 5);
      c.int(a.value, `${r}.value`, 0);
      c.optU64(a.valueTwo, `${r}.valueTwo`);
      c.oneOf(a.op, `${r}.op`, Object.keys(SECCOMP_OPS), 'seccomp operator');
    });
  });
  if (notify && !listener) c.fail(`${p}.listenerPath`, 'required when an action is SCMP_ACT_NOTIFY');
}

// Only types are checked here; the cgroup managers check what each hierarchy can take.
type Leaf = 'int' | 'uint' | 'str' | 'bool';
type Shape = Leaf | { [k: string]: Shape } | readonly ['array', Shape] | readonly ['map', Shape];

const DEVICE_NUM: Shape = 'int';
const THROTTLE: Shape = ['array', { major: DEVICE_NUM, minor: DEVICE_NUM, rate: 'uint' }];
const RESOURCES: Shape = {
  memory: { limit: 'int', reservation: 'int', swap: 'int', kernel: 'int', kernelTCP: 'int', swappiness: 'uint', disableOOMKiller: 'bool', useHierarchy: 'bool', checkBeforeUpdate: 'bool' },
  cpu: { shares: 'uint', quota: 'int', burst: 'uint', period: 'uint', realtimeRuntime: 'int', realtimePeriod: 'uint', cpus: 'str', mems: 'str', idle: 'int' },
  pids: { limit: 'int' },
  blockIO: {
    weight: 'uint', leafWeight: 'uint',
    weightDevice: ['array', { major: DEVICE_NUM, minor: DEVICE_NUM, weight: 'uint', leafWeight: 'uint' }],
    throttleReadBpsDevice: THROTTLE, throttleWriteBpsDevice: THROTTLE, throttleReadIOPSDevice: THROTTLE, throttleWriteIOPSDevice: THROTTLE,
  },
  hugepageLimits: ['array', { pageSize: 'str', limit: 'uint' }],
  network: { classID: 'uint', priorities: ['array', { name: 'str', priority: 'uint' }] },
  rdma: ['map', { hcaHandles: 'uint', hcaObjects: 'uint' }],
  unified: ['map', 'str'],
};

function checkShape(c: Check, v: unknown, shape: Shape, p: string): void {
  if (v === undefined || v === null) return;
  if (shape === 'int') c.int(v, p);
  else if (shape === 'uint') c.int(v, p, 0);
  else if (shape === 'str') c.str(v, p);
  else if (shape === 'bool') c.bool(v, p);
  else if (Array.isArray(shape)) {
    const [kind, inner] = shape as readonly ['array' | 'map', Shape];
    if (kind === 'array') c.arr(v, p).forEach((x, i) => checkShape(c, x, inner, `${p}[${i}]`));
    else for (const [k, x] of Object.entries(c.obj(v, p))) checkShape(c, x, inner, `${p}[${JSON.stringify(k)}]`);
  } else {
    const o = c.obj(v, p);
    for (const [k, inner] of Object.entries(shape as { [k: string]: Shape })) checkShape(c, o[k], inner, `${p}.${k}`);
  }
}

function checkResources(c: Check, r: Obj | undefined): void {
  if (!r) return;
  checkShape(c, r, RESOURCES, 'linux.resources');
  c.optArr(r.devices, 'linux.resources.devices').forEach((x, i) => {
    const p = `linux.resources.devices[${i}]`;
    const d = c.obj(x, p);
    if (typeof d.allow !== 'boolean') c.fail(`${p}.allow`, 'must be a boolean');
    if (d.type !== undefined && d.type !== null) c.oneOf(d.type, `${p}.type`, ['a', 'c', 'b'], 'device type');
    c.optInt(d.major, `${p}.major`);
    c.optInt(d.minor, `${p}.minor`);
    if (d.access !== undefined && d.access !== null && !/^[rwm]*$/.test(c.str(d.access, `${p}.access`))) {
      c.fail(`${p}.access`, `must be letters of "rwm", got ${JSON.stringify(d.access)}`);
    }
  });
  const pids = c.optObj(r.pids, 'linux.resources.pids');
  if (pids) c.int(pids.limit, 'linux.resources.pids.limit');
}

/**
 * Reads and validates `<bundleDir>/config.json`. A missing file is `not-found`, unreadable JSON
 * and invalid content `invalid-argument`; every message names the file.
 */
export async function readSpec(bundleDir: string, opts: Omit<ValidateOptions, 'file'> = {}): Promise<Spec> {
  const file = join(bundleDir, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw errNotFound(`${file}: no such file (is ${JSON.stringify(bundleDir)} an OCI bundle?)`, err);
    if (code === 'EACCES' || code === 'EPERM') throw new BerthError('permission-denied', `${file}: ${(err as Error).message}`, { cause: err });
    throw errInvalid(`${file}: ${(err as Error).message}`, err);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw errInvalid(`${file}: invalid JSON: ${(err as Error).message}`, err);
  }
  return validateSpec(json, { ...opts, file });
}
