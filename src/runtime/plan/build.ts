// Turns a validated OCI spec (create) or process (exec) into the init plan, deciding as runc does.
import { resolve } from 'node:path';
import { errInvalid } from '../../common/errors.js';
import type { Device, NamespaceType, Process, Seccomp, Spec } from '../spec/types.js';
import type { Plan, PlanAction, PlanCapSet, PlanNsType, PlanRecord } from './plan.js';
import { capMask, lastCap } from '../caps.js';
import { MS_REC, MS_SLAVE, NAMESPACES, RLIMITS } from '../linux.js';
import { cleanPath, isBindMount, mountActions, PROPAGATION_OPTIONS } from '../mounts.js';
import { seccompSection } from '../seccomp.js';

/** Annotation asking berth-init to set `lo` up in a new network namespace (value `up`). */
export const LOOPBACK_ANNOTATION = 'org.berth.network.loopback';

/** What `buildCreatePlan` needs besides the spec. */
export interface CreatePlanOptions {
  /** The bundle dir (absolute): relative `root.path` and bind sources are relative to it. */
  bundle: string;
  /** The resolved absolute root path; default `root.path` resolved against `bundle`. */
  rootfs?: string;
  /** The `cgroup.procs` files the bootstrap joins before cloning. */
  cgroupProcsFiles: string[];
  /** The container's cgroup dir per hierarchy (`CgroupManager.hierarchyDirs()`), for `cgroup` mounts. */
  cgroupMountSources?: Record<string, string>;
  hostCgroupVersion: 1 | 2;
  /** runc `--console-socket`: where berth-init sends the pty master. */
  consoleSocket?: string;
  /** The exec fifo `start` opens; absent = exec right after setup (`runc run`). */
  execFifo?: string;
  /** Number of fds from 3 up to pass into the container. */
  preserveFds?: number;
  /** MS_MOVE + chroot instead of pivot_root (runc `--no-pivot`). */
  noPivot?: boolean;
  /** Where berth-init keeps compiled seccomp programs (`seccomp-cache`); absent = compile every time. */
  seccompCacheDir?: string;
  /**
   * Stop at runc's hook point (after mounts, before pivot) so the caller runs the prestart,
   * createRuntime and createContainer hooks. Default true; false leaves the hooks to the caller.
   */
  runHooksInline?: boolean;
  /** The caller is not root (runc's rootless EUID): deny setgroups in a new user namespace. Default: geteuid() != 0. */
  rootlessEuid?: boolean;
  /** The highest capability the kernel knows; default `lastCap()`. */
  lastCap?: number;
  /** Test seam for bind sources: 'dir', 'file', or undefined when missing. Default stat(2). */
  statSource?: (path: string) => 'dir' | 'file' | undefined;
  /** Reports what was accepted but changed or ignored (runc prints these as warnings). */
  warn?: (msg: string) => void;
}

/** What `buildExecPlan` needs besides the process. */
export interface ExecPlanOptions {
  /** The container's init pid, as the host sees it: namespaces are joined through /proc/PID/ns. */
  containerPid: number;
  /** The container's namespaces to join (all that differ from the host's), as OCI type names. */
  namespaces: readonly (NamespaceType | string)[];
  cgroupProcsFiles: string[];
  consoleSocket?: string;
  preserveFds?: number;
  /** The container's seccomp config; an exec'd process gets the same filter (as in runc). */
  seccomp?: Seccomp;
  /** As CreatePlanOptions.seccompCacheDir. */
  seccompCacheDir?: string;
  rootlessEuid?: boolean;
  lastCap?: number;
  warn?: (msg: string) => void;
}

// runtime-spec "Default Devices": every container gets these, 0666 root:root.
const DEFAULT_DEVICES: ReadonlyArray<Required<Pick<Device, 'path' | 'type' | 'major' | 'minor'>>> = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0 },
];

// runtime-spec "Dev symbolic links", plus /dev/core as runc makes it.
const DEV_SYMLINKS: ReadonlyArray<readonly [string, string]> = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
  ['/proc/kcore', '/dev/core'],
];

const CAP_SETS: readonly PlanCapSet[] = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'];

/** RLIM_INFINITY arrives as 2^64-1, which a double cannot hold; anything past 2^53 is infinity. */
function rlimitValue(n: number): number {
  return n > Number.MAX_SAFE_INTEGER ? -1 : n;
}

function processRecords(proc: Process, o: { consoleSocket?: string; rootlessEuid: boolean; lastCap: number; warn?: (m: string) => void; setgroupsDenied: boolean }): PlanRecord[] {
  const out: PlanRecord[] = [];
  if (!proc.args?.length) throw errInvalid('process.args: must not be empty');
  out.push({ op: 'args', args: [...proc.args] });
  for (const e of proc.env ?? []) out.push({ op: 'env', value: e });
  out.push({ op: 'cwd', path: proc.cwd });
  out.push({ op: 'user', uid: proc.user.uid, gid: proc.user.gid });
  const gids = proc.user.additionalGids ?? [];
  if (gids.length) {
    // runc: setgroups(2) is impossible once "deny" is written, so extra groups are an error there.
    if (o.setgroupsDenied) throw errInvalid('process.user.additionalGids: cannot set additional groups in a rootless container');
    out.push({ op: 'groups', gids: [...gids] });
  }
  out.push({ op: 'umask', mask: proc.user.umask ?? 0o022 });
  for (const set of CAP_SETS) {
    const names = proc.capabilities?.[set];
    if (!names?.length) continue;
    const { mask, dropped } = capMask(names, o.lastCap);
    if (dropped.length) o.warn?.(`process.capabilities.${set}: ${dropped.join(', ')} unknown to this kernel, ignored`);
    out.push({ op: 'caps', set, mask });
  }
  if (proc.noNewPrivileges) out.push({ op: 'no-new-privs' });
  if (proc.oomScoreAdj !== undefined) out.push({ op: 'oom-score-adj', value: proc.oomScoreAdj });
  for (const r of proc.rlimits ?? []) {
    const resource = RLIMITS[r.type];
    if (resource === undefined) throw errInvalid(`process.rlimits: unknown rlimit ${JSON.stringify(r.type)}`);
    out.push({ op: 'rlimit', resource, soft: rlimitValue(r.soft), hard: rlimitValue(r.hard) });
  }
  // runc refuses both mismatches: a terminal needs somewhere to send the pty, and vice versa.
  if (proc.terminal && !o.consoleSocket) throw errInvalid('process.terminal is true but no console socket was given');
  if (!proc.terminal && o.consoleSocket) throw errInvalid('a console socket was given but process.terminal is false');
  if (o.consoleSocket) {
    out.push({ op: 'console-socket', path: o.consoleSocket });
    const size = proc.consoleSize;
    if (size && size.height > 0 && size.width > 0) out.push({ op: 'console-size', rows: size.height, cols: size.width });
  }
  for (const f of ['apparmorProfile', 'selinuxLabel', 'ioPriority', 'scheduler', 'execCPUAffinity'] as const) {
    if (proc[f] !== undefined && proc[f] !== '') o.warn?.(`process.${f}: not supported by Berth, ignored`);
  }
  return out;
}

function setnsRecords(joins: Array<[NamespaceType, string]>): PlanRecord[] {
  // berth-init joins the user namespace first, so that it has the rights to join the others.
  const sorted = [...joins.filter(([t]) => t === 'user'), ...joins.filter(([t]) => t !== 'user')];
  return sorted.map(([t, path]) => ({ op: 'setns', type: NAMESPACES[t].plan as PlanNsType, path }));
}

function sysctlPath(key: string): string {
  // Keys already written with slashes are kept: interface names may contain dots (eth0.100).
  return key.includes('/') ? key : key.replaceAll('.', '/');
}

/**
 * The plan for a container's first process. Namespaces without a path are created (`clone`),
 * those with one joined (`setns`). With a mount namespace the actions follow runc's
 * prepareRootfs: `/` made rslave (or `rootfsPropagation`), the root bound onto itself, each
 * mount, the default devices and /dev links unless /dev is a bind mount, the hook stop, pivot,
 * then sysctls, read-only paths, masked paths, the delayed read-only remounts and a read-only root.
 */
export function buildCreatePlan(spec: Spec, opts: CreatePlanOptions): Plan {
  const proc = spec.process;
  if (!proc) throw errInvalid('config.json: process: required to create a container');
  const warn = opts.warn;
  const linux = spec.linux ?? {};
  const records: PlanRecord[] = [];
  const actions: PlanAction[] = [];

  let cloneFlags = 0;
  const joins: Array<[NamespaceType, string]> = [];
  const types = new Set<NamespaceType>();
  for (const ns of linux.namespaces ?? []) {
    types.add(ns.type);
    if (ns.path) joins.push([ns.type, ns.path]);
    else cloneFlags |= NAMESPACES[ns.type].flag;
  }
  const isNew = (t: NamespaceType) => (cloneFlags & NAMESPACES[t].flag) !== 0;
  records.push({ op: 'clone', flags: cloneFlags >>> 0 });
  records.push(...setnsRecords(joins));
  for (const f of opts.cgroupProcsFiles) records.push({ op: 'cgroup-join', procsFile: f });

  const rootless = opts.rootlessEuid ?? (process.geteuid?.() ?? 0) !== 0;
  let setgroupsDenied = false;
  if (isNew('user')) {
    for (const m of linux.uidMappings ?? []) records.push({ op: 'uid-map', inside: m.containerID, outside: m.hostID, count: m.size });
    // An unprivileged writer may only write gid_map after denying setgroups (user_namespaces(7)).
    if (rootless) {
      records.push({ op: 'setgroups', value: 'deny' });
      setgroupsDenied = true;
    }
    for (const m of linux.gidMappings ?? []) records.push({ op: 'gid-map', inside: m.containerID, outside: m.hostID, count: m.size });
  }
  if (isNew('time')) {
    for (const clock of ['monotonic', 'boottime'] as const) {
      const off = linux.timeOffsets?.[clock];
      if (off) records.push({ op: 'timens-offset', clock, sec: off.secs ?? 0, nsec: off.nanosecs ?? 0 });
    }
  }
  if (spec.hostname) records.push({ op: 'hostname', name: spec.hostname });
  if (spec.domainname) records.push({ op: 'domainname', name: spec.domainname });
  // Berth's annotation (docs/plan.md): bring `lo` up in a network namespace of the container's own, as
  // Docker's sandbox does for --network none. runc leaves it down, so only when asked.
  if (isNew('network') && spec.annotations?.[LOOPBACK_ANNOTATION] === 'up') records.push({ op: 'loopback-up' });

  const hasMountNs = types.has('mount');
  if (hasMountNs) {
    if (!spec.root) throw errInvalid('config.json: root: required');
    records.push({ op: 'root', path: opts.rootfs ?? resolve(opts.bundle, spec.root.path) });
    actions.push(...rootfsActions(spec, opts, isNew, types));
  } else if (spec.root?.readonly) {
    warn?.('root.readonly: ignored without a mount namespace');
  }

  records.push(...processRecords(proc, { consoleSocket: opts.consoleSocket, rootlessEuid: rootless, lastCap: opts.lastCap ?? lastCap(), warn, setgroupsDenied }));
  if (opts.preserveFds) records.push({ op: 'preserve-fds', count: opts.preserveFds });
  if (opts.execFifo) records.push({ op: 'exec-fifo', path: opts.execFifo });
  if (linux.seccomp) records.push(...seccompSection(linux.seccomp, opts.seccompCacheDir, { warn }));
  if (opts.noPivot && hasMountNs) records.push({ op: 'no-pivot' });
  for (const f of ['personality', 'intelRdt', 'mountLabel'] as const) {
    if (linux[f] !== undefined && linux[f] !== '') warn?.(`linux.${f}: not supported by Berth, ignored`);
  }
  return { records, actions };
}

function rootfsActions(spec: Spec, opts: CreatePlanOptions, isNew: (t: NamespaceType) => boolean, types: Set<NamespaceType>): PlanAction[] {
  const linux = spec.linux ?? {};
  const actions: PlanAction[] = [];
  const late: PlanAction[] = [];
  const rootProp = linux.rootfsPropagation ? PROPAGATION_OPTIONS[linux.rootfsPropagation] : undefined;
  if (linux.rootfsPropagation && rootProp === undefined) throw errInvalid(`config.json: linux.rootfsPropagation: unknown propagation ${JSON.stringify(linux.rootfsPropagation)}`);
  // runc's prepareRoot: keep host mount events flowing in but none flowing out, unless told otherwise.
  actions.push({ op: 'propagation', path: '/', flags: rootProp ?? (MS_SLAVE | MS_REC) });
  actions.push({ op: 'bind-root' });

  const ctx = {
    bundle: opts.bundle,
    hostCgroupVersion: opts.hostCgroupVersion,
    cgroupMountSources: opts.cgroupMountSources,
    newUserNs: isNew('user'),
    newNetNs: isNew('network'),
    newCgroupNs: isNew('cgroup'),
    statSource: opts.statSource,
    warn: opts.warn,
  };
  let devIsBind = false;
  (spec.mounts ?? []).forEach((m, i) => {
    const r = mountActions(m, ctx, `mounts[${i}]`);
    actions.push(...r.actions);
    late.push(...r.late);
    if (cleanPath(m.destination) === '/dev' && isBindMount(m)) devIsBind = true;
  });

  // runc sets up /dev only when it is not bound from elsewhere (then it is the caller's /dev).
  if (!devIsBind) {
    // mknod is not allowed in a user namespace, so runc binds the host's nodes instead.
    const bindDevs = types.has('user');
    const specDevices = linux.devices ?? [];
    const specPaths = new Set(specDevices.map((d) => cleanPath(d.path)));
    const all: Device[] = [...DEFAULT_DEVICES.filter((d) => !specPaths.has(d.path)), ...specDevices];
    for (const d of all) {
      const path = cleanPath(d.path);
      if (bindDevs) {
        actions.push({ op: 'bind-dev', hostPath: path, path });
        continue;
      }
      const type = d.type === 'u' ? 'c' : (d.type as 'c' | 'b' | 'p');
      actions.push({ op: 'mknod', path, type, major: d.major ?? 0, minor: d.minor ?? 0, mode: (d.fileMode ?? 0o666) & 0o7777, uid: d.uid ?? 0, gid: d.gid ?? 0 });
    }
    // devpts' own ptmx, so each container's ptys stay in its devpts instance.
    actions.push({ op: 'symlink', target: 'pts/ptmx', path: '/dev/ptmx' });
    for (const [target, path] of DEV_SYMLINKS) actions.push({ op: 'symlink', target, path });
  }

  const hooks = spec.hooks ?? {};
  const hasHooks = [hooks.prestart, hooks.createRuntime, hooks.createContainer].some((h) => h && h.length > 0);
  // runc runs prestart/createRuntime (host side) and createContainer (in the container) here:
  // after the mounts, before pivot, so the hooks still see the old root.
  if (hasHooks && (opts.runHooksInline ?? true)) actions.push({ op: 'hook', name: 'createContainer' });

  actions.push({ op: 'pivot' });
  // Applied again to the new root after pivot, as runc does, so a shared root stays shared.
  if (rootProp !== undefined) actions.push({ op: 'mount-propagation', destination: '/', flags: rootProp });

  for (const [key, value] of Object.entries(linux.sysctl ?? {})) actions.push({ op: 'sysctl', key: sysctlPath(key), value });
  // runc's order: read-only paths first, then masks (a mask inside a read-only path still works).
  for (const p of linux.readonlyPaths ?? []) actions.push({ op: 'readonly', path: cleanPath(p) });
  for (const p of linux.maskedPaths ?? []) actions.push({ op: 'mask', path: cleanPath(p) });
  actions.push(...late);
  if (spec.root?.readonly) actions.push({ op: 'root-readonly' });
  return actions;
}

/**
 * The plan for an extra process in a running container (`runc exec`): join each listed
 * namespace of the container's init through /proc/PID/ns (user first), create none, join the
 * cgroups, and set up the process; no mount actions, no pivot (the joined mount namespace is
 * already the container's root).
 */
export function buildExecPlan(proc: Process, opts: ExecPlanOptions): Plan {
  const records: PlanRecord[] = [{ op: 'clone', flags: 0 }];
  const seen = new Set<NamespaceType>();
  const joins: Array<[NamespaceType, string]> = [];
  for (const name of opts.namespaces) {
    if (!Object.hasOwn(NAMESPACES, name)) throw errInvalid(`exec: unknown namespace type ${JSON.stringify(name)}`);
    const t = name as NamespaceType;
    if (seen.has(t)) continue;
    seen.add(t);
    joins.push([t, `/proc/${opts.containerPid}/ns/${NAMESPACES[t].procFile}`]);
  }
  records.push(...setnsRecords(joins));
  for (const f of opts.cgroupProcsFiles) records.push({ op: 'cgroup-join', procsFile: f });
  const rootless = opts.rootlessEuid ?? (process.geteuid?.() ?? 0) !== 0;
  records.push(...processRecords(proc, {
    consoleSocket: opts.consoleSocket,
    rootlessEuid: rootless,
    lastCap: opts.lastCap ?? lastCap(),
    warn: opts.warn,
    setgroupsDenied: rootless && seen.has('user'),
  }));
  if (opts.preserveFds) records.push({ op: 'preserve-fds', count: opts.preserveFds });
  if (opts.seccomp) records.push(...seccompSection(opts.seccomp, opts.seccompCacheDir, { warn: opts.warn }));
  return { records, actions: [] };
}
