// OCI mounts -> plan actions: option strings to MS_* flags and fs data, binds, propagation, cgroup mounts.
import { posix } from 'node:path';
import { statSync } from 'node:fs';
import { errInvalid, errNotImplemented } from '../common/errors.js';
import type { Mount } from './spec/types.js';
import type { PlanAction } from './plan/plan.js';
import {
  MS_BIND, MS_DIRSYNC, MS_MANDLOCK, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID,
  MS_NOSYMFOLLOW, MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME, MS_REMOUNT, MS_SHARED, MS_SILENT,
  MS_SLAVE, MS_STRICTATIME, MS_SYNCHRONOUS, MS_UNBINDABLE,
} from './linux.js';

// [clear, flag]: `clear` options turn the flag off again, so the last of `ro`/`rw` wins (mount(8)).
const FLAG_OPTIONS: Readonly<Record<string, readonly [boolean, number]>> = {
  defaults: [false, 0],
  ro: [false, MS_RDONLY], rw: [true, MS_RDONLY],
  nosuid: [false, MS_NOSUID], suid: [true, MS_NOSUID],
  nodev: [false, MS_NODEV], dev: [true, MS_NODEV],
  noexec: [false, MS_NOEXEC], exec: [true, MS_NOEXEC],
  sync: [false, MS_SYNCHRONOUS], async: [true, MS_SYNCHRONOUS],
  dirsync: [false, MS_DIRSYNC],
  remount: [false, MS_REMOUNT],
  mand: [false, MS_MANDLOCK], nomand: [true, MS_MANDLOCK],
  noatime: [false, MS_NOATIME], atime: [true, MS_NOATIME],
  nodiratime: [false, MS_NODIRATIME], diratime: [true, MS_NODIRATIME],
  relatime: [false, MS_RELATIME], norelatime: [true, MS_RELATIME],
  strictatime: [false, MS_STRICTATIME], nostrictatime: [true, MS_STRICTATIME],
  nosymfollow: [false, MS_NOSYMFOLLOW], symfollow: [true, MS_NOSYMFOLLOW],
  silent: [false, MS_SILENT], loud: [true, MS_SILENT],
  bind: [false, MS_BIND], rbind: [false, MS_BIND | MS_REC],
};

/** Propagation options -> the flags of their mount(2) call. */
export const PROPAGATION_OPTIONS: Readonly<Record<string, number>> = {
  private: MS_PRIVATE, rprivate: MS_PRIVATE | MS_REC,
  shared: MS_SHARED, rshared: MS_SHARED | MS_REC,
  slave: MS_SLAVE, rslave: MS_SLAVE | MS_REC,
  unbindable: MS_UNBINDABLE, runbindable: MS_UNBINDABLE | MS_REC,
};

// Recursive mount attributes (runc applies them with mount_setattr(2) and AT_RECURSIVE).
const RECURSIVE_OPTIONS = new Set([
  'rro', 'rrw', 'rnosuid', 'rsuid', 'rnodev', 'rdev', 'rnoexec', 'rexec', 'rnoatime', 'ratime',
  'rnodiratime', 'rdiratime', 'rrelatime', 'rnorelatime', 'rstrictatime', 'rnostrictatime',
  'rnosymfollow', 'rsymfollow',
]);

/** The flags a bind remount can change per mount point; a bind remount sets exactly these. */
export const PER_MOUNT_FLAGS = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME
  | MS_RELATIME | MS_STRICTATIME | MS_NOSYMFOLLOW;

/** OCI mount options, split the way mount(8) and runc do. */
export interface MountOptions {
  /** `MS_*` flags to pass to mount(2), including `MS_BIND`/`MS_REC` for `bind`/`rbind`. */
  flags: number;
  /** Propagation changes, each a separate mount(2) call after the mount (in option order). */
  propagation: number[];
  /** Everything else, comma-joined, as the filesystem's data (`mode=755,size=65536k`). */
  data: string;
  /** Options Berth understood but could not honour as written (recursive attributes, `tmpcopyup`). */
  approximated: string[];
}

/**
 * Parses OCI `mounts[].options`. Recursive attributes (`rro`, `rnosuid`, ...) are applied to the
 * mount itself only, since the plan has no mount_setattr step; they are listed in `approximated`.
 * `idmap`/`ridmap` need idmapped mounts, which the plan cannot express yet.
 */
export function parseMountOptions(options: readonly string[] | undefined): MountOptions {
  let flags = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  const approximated: string[] = [];
  for (const opt of options ?? []) {
    const f = FLAG_OPTIONS[opt];
    if (f) {
      flags = f[0] ? flags & ~f[1] : flags | f[1];
      continue;
    }
    const p = PROPAGATION_OPTIONS[opt];
    if (p !== undefined) {
      propagation.push(p);
      continue;
    }
    if (RECURSIVE_OPTIONS.has(opt)) {
      const g = FLAG_OPTIONS[opt.slice(1)]!;
      flags = g[0] ? flags & ~g[1] : flags | g[1];
      approximated.push(opt);
      continue;
    }
    if (opt === 'tmpcopyup') {
      // runc's extension: copy the image's files into a fresh tmpfs. Not in the plan; ignored.
      approximated.push(opt);
      continue;
    }
    if (opt === 'idmap' || opt === 'ridmap') throw errNotImplemented(`mount option "${opt}": idmapped mounts are not supported`);
    data.push(opt);
  }
  return { flags: flags >>> 0, propagation, data: data.join(','), approximated };
}

/** What the plan builder knows when it turns one OCI mount into actions. */
export interface MountContext {
  /** The bundle dir: relative bind sources are relative to it (runc runs in the bundle). */
  bundle: string;
  hostCgroupVersion: 1 | 2;
  /** The container's cgroup dir per hierarchy, keyed by mount name (`cpu,cpuacct`, `systemd`; v2 `""`). */
  cgroupMountSources?: Record<string, string>;
  /** Which namespaces the container gets fresh (decides the sysfs and cgroup fallbacks). */
  newUserNs: boolean;
  newNetNs: boolean;
  newCgroupNs: boolean;
  /** Test seam: what a host path is. Default: stat(2); missing = undefined. */
  statSource?: (path: string) => 'dir' | 'file' | undefined;
  warn?: (msg: string) => void;
}

/** A mount's actions, plus those runc runs at the very end (read-only remounts of tmpfs and /dev). */
export interface MountActions { actions: PlanAction[]; late: PlanAction[] }

function defaultStat(path: string): 'dir' | 'file' | undefined {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

/** Normalizes an absolute in-container path (`/a//b/` -> `/a/b`). */
export function cleanPath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

// runc's checkProcMount: only these files may be mounted over inside /proc (lxcfs, criu), since a
// mount over /proc/self/... or /proc/sys could hide what masks and read-only paths protect.
const PROC_ALLOWED = new Set([
  '/proc/cpuinfo', '/proc/diskstats', '/proc/meminfo', '/proc/stat', '/proc/swaps', '/proc/uptime',
  '/proc/loadavg', '/proc/slabinfo', '/proc/net/dev', '/proc/sys/kernel/ns_last_pid',
]);

/** True if `m` is a bind mount: `bind`/`rbind` in its options, or type `bind` (crun, runc 1.2). */
export function isBindMount(m: Mount): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

/**
 * The actions for one OCI mount, as runc performs it: a bind mount is made with `MS_BIND[|MS_REC]`
 * and then remounted with the other flags, because mount(2) ignores them on a new bind; each
 * propagation option is its own call; `cgroup` becomes `cgroup2` on a v2 host and a tmpfs with one
 * bind per hierarchy on v1. `where` names the mount in errors (`mounts[3]`).
 */
export function mountActions(m: Mount, ctx: MountContext, where = 'mount'): MountActions {
  const dst = cleanPath(m.destination);
  const opts = parseMountOptions(m.options);
  if (opts.approximated.length) {
    ctx.warn?.(`${where} "${dst}": options ${opts.approximated.join(', ')} approximated (recursive attributes apply to this mount only; tmpcopyup is ignored)`);
  }
  if (m.uidMappings?.length || m.gidMappings?.length) throw errNotImplemented(`${where} "${dst}": idmapped mounts are not supported`);
  if (dst === '/proc' ? m.type !== 'proc' : dst.startsWith('/proc/') && !PROC_ALLOWED.has(dst)) {
    throw errInvalid(`${where}: "${dst}" cannot be mounted because it is inside /proc`);
  }
  const stat = ctx.statSource ?? defaultStat;
  const actions: PlanAction[] = [];
  const late: PlanAction[] = [];

  if (isBindMount(m)) {
    if (!m.source) throw errInvalid(`${where} "${dst}": a bind mount needs a source`);
    const source = posix.isAbsolute(m.source) ? m.source : posix.resolve(ctx.bundle, m.source);
    const kind = stat(source);
    if (!kind) throw errInvalid(`${where} "${dst}": bind source "${source}" does not exist`);
    bind(actions, source, dst, opts.flags | MS_BIND, opts.propagation, kind);
    return { actions, late };
  }

  const type = m.type ?? '';
  if (type === 'cgroup' || type === 'cgroup2') return cgroupActions(m, dst, opts, ctx, where);

  if (type === 'sysfs' && ctx.newUserNs && !ctx.newNetNs) {
    // sysfs can only be mounted by the owner of the network namespace; without a new one, do
    // what runc's rootless spec does: bind the host's /sys (read-only flags still applied).
    bind(actions, '/sys', dst, opts.flags | MS_BIND | MS_REC, opts.propagation, 'dir');
    return { actions, late };
  }

  let flags = opts.flags;
  // runc mounts tmpfs and /dev writable first and makes them read-only at the very end, so that
  // devices and symlinks can still be created in them.
  if ((flags & MS_RDONLY) && (type === 'tmpfs' || dst === '/dev')) {
    flags &= ~MS_RDONLY;
    late.push({ op: 'remount', destination: dst, flags: (MS_BIND | (opts.flags & PER_MOUNT_FLAGS)) >>> 0 });
  }
  actions.push({ op: 'mount', source: m.source ?? type, destination: dst, fstype: type, flags: flags >>> 0, data: opts.data, kind: 'dir' });
  for (const p of opts.propagation) actions.push({ op: 'mount-propagation', destination: dst, flags: p });
  return { actions, late };
}

// A bind is made with MS_BIND[|MS_REC] only (mount(2) ignores other flags on a new bind), then
// remounted with the rest, as runc does.
function bind(out: PlanAction[], source: string, dest: string, flags: number, propagation: number[], kind: 'dir' | 'file'): void {
  out.push({ op: 'mount', source, destination: dest, fstype: 'bind', flags: flags & (MS_BIND | MS_REC), data: '', kind });
  for (const p of propagation) out.push({ op: 'mount-propagation', destination: dest, flags: p });
  const rest = flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  if (rest) out.push({ op: 'remount', destination: dest, flags: (MS_BIND | (rest & PER_MOUNT_FLAGS)) >>> 0 });
}

function cgroupActions(m: Mount, dst: string, opts: MountOptions, ctx: MountContext, where: string): MountActions {
  const actions: PlanAction[] = [];
  const sources = ctx.cgroupMountSources ?? {};
  if (ctx.hostCgroupVersion === 2) {
    const own = sources[''];
    if (ctx.newUserNs && !ctx.newCgroupNs && own) {
      // cgroup2 can only be mounted by the owner of the cgroup namespace; runc falls back to
      // binding the container's own cgroup dir, which is what a cgroup namespace would show.
      bind(actions, own, dst, opts.flags | MS_BIND | MS_REC, opts.propagation, 'dir');
      return { actions, late: [] };
    }
    actions.push({ op: 'mount', source: m.source && m.source !== 'cgroup' ? m.source : 'cgroup2', destination: dst, fstype: 'cgroup2', flags: opts.flags, data: opts.data, kind: 'dir' });
    for (const p of opts.propagation) actions.push({ op: 'mount-propagation', destination: dst, flags: p });
    return { actions, late: [] };
  }
  // cgroup v1 has no single mount of all hierarchies: a tmpfs holds one bind per hierarchy, of
  // the container's own cgroup dir, as runc's mountCgroupV1 does.
  const entries = Object.entries(sources).filter(([name]) => name !== '');
  if (entries.length === 0) throw errInvalid(`${where} "${dst}": a cgroup mount on a cgroup v1 host needs the container's cgroup dirs`);
  actions.push({ op: 'mount', source: 'tmpfs', destination: dst, fstype: 'tmpfs', flags: MS_NOSUID | MS_NODEV | MS_NOEXEC, data: 'mode=755', kind: 'dir' });
  for (const p of opts.propagation) actions.push({ op: 'mount-propagation', destination: dst, flags: p });
  const names = new Set(entries.map(([name]) => name));
  for (const [name, hostDir] of entries) {
    const sub = `${dst}/${name}`;
    bind(actions, hostDir, sub, opts.flags | MS_BIND | MS_REC, opts.propagation, 'dir');
    // Co-mounted controllers (`cpu,cpuacct`) get a link per controller, as on the host.
    if (name.includes(',')) {
      for (const part of name.split(',')) {
        if (part.startsWith('name=') || names.has(part)) continue;
        actions.push({ op: 'symlink', target: name, path: `${dst}/${part}` });
      }
    }
  }
  if (opts.flags & MS_RDONLY) {
    actions.push({ op: 'remount', destination: dst, flags: MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC });
  }
  return { actions, late: [] };
}
