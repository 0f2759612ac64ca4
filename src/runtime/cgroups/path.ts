// OCI cgroupsPath handling: systemd-style names to plain paths, validation, and per-hierarchy resolution.
import { posix } from 'node:path';
import { errInvalid } from '../../common/errors.js';

/** A validated cgroup path: absolute (under each hierarchy root) or relative (under the caller's cgroup). */
export interface CgroupPath {
  /** Normalized, no trailing slash, no `.`/`..` components; `/x/y` or `x/y`. */
  path: string;
  absolute: boolean;
}

// runc's id rule (letters, digits, `_+-.`), so any id runc accepts is accepted here.
const ID_RE = /^[\w+.-]+$/;
// `slice:prefix:name` as containerd and runc's systemd driver write it (`system.slice:docker:abc`).
const SYSTEMD_RE = /^([^:/]*):([^:/]*):([^:/]+)$/;

/**
 * Expand a systemd slice name to its path: a dash in a slice name means nesting, so
 * `machine-qemu.slice` lives at `/machine.slice/machine-qemu.slice` (systemd.slice(5)).
 * `-.slice` is the root slice.
 */
export function expandSlice(slice: string): string {
  if (!slice.endsWith('.slice') || slice.includes('/')) throw errInvalid(`cgroup path: invalid slice name "${slice}"`);
  const base = slice.slice(0, -'.slice'.length);
  if (base === '-') return '/';
  const parts = base.split('-');
  if (parts.some((p) => p === '')) throw errInvalid(`cgroup path: invalid slice name "${slice}"`);
  const dirs: string[] = [];
  for (let i = 1; i <= parts.length; i++) dirs.push(`${parts.slice(0, i).join('-')}.slice`);
  return `/${dirs.join('/')}`;
}

/**
 * Convert a systemd-style `slice:prefix:name` cgroupsPath to the cgroupfs path systemd would
 * give it (`system.slice:docker:abc` -> `/system.slice/docker-abc.scope`), or undefined if the
 * path is not in that form. We only drive cgroupfs, but containerd configured for the systemd
 * driver still sends these names, so we place the cgroup where systemd would have.
 */
export function systemdToPath(p: string): string | undefined {
  const m = SYSTEMD_RE.exec(p);
  if (!m) return undefined;
  const [, slice = '', prefix = '', name = ''] = m;
  if (slice !== '' && !slice.endsWith('.slice')) return undefined;
  // An empty slice means the manager's default, which for the system instance is system.slice.
  const parent = expandSlice(slice || 'system.slice');
  // A name that is itself a slice is placed by its own name, as systemd does.
  if (name.endsWith('.slice')) return expandSlice(name);
  const unit = prefix ? `${prefix}-${name}.scope` : `${name}.scope`;
  return posix.join(parent, unit);
}

/**
 * Normalize and validate an OCI cgroupsPath (absent = `berth/<id>` under the caller's cgroup).
 * Refuses `..` (escaping the hierarchy or the caller's cgroup) and paths that name a hierarchy
 * root or the caller's own cgroup, because destroy() kills everything in the cgroup.
 */
export function normalizeCgroupsPath(path: string | undefined, id: string): CgroupPath {
  if (!ID_RE.test(id) || id === '.' || id === '..') throw errInvalid(`cgroup: invalid container id "${id}"`);
  let p = path === undefined || path === '' ? `berth/${id}` : path;
  p = systemdToPath(p) ?? p;
  if (p.includes('\0')) throw errInvalid(`cgroup path "${path}": contains a NUL byte`);
  const absolute = p.startsWith('/');
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw errInvalid(`cgroup path "${path}": ".." is not allowed`);
  if (parts.length === 0) throw errInvalid(`cgroup path "${path}": names the hierarchy root or the caller's own cgroup`);
  return { path: (absolute ? '/' : '') + parts.join('/'), absolute };
}

/** Where one hierarchy is mounted and where the caller sits in it. */
export interface HierarchyMount {
  /** Mount point on the filesystem (already relocated under a test root). */
  mountpoint: string;
  /** mountinfo's root field: the cgroup shown at the mount point (`/` on a host). */
  mountRoot: string;
  /** The caller's cgroup in this hierarchy, from /proc/self/cgroup. */
  selfPath: string;
}

/** A cgroup path resolved in one hierarchy. */
export interface ResolvedDir {
  /** Directory of the cgroup on the filesystem. */
  dir: string;
  /** The cgroup's name in the hierarchy, as /proc/<pid>/cgroup shows it; used in messages. */
  cgPath: string;
  /** The highest directory this cgroup may write above itself: the caller's cgroup dir (relative
   *  paths) or the mount point (absolute). Ancestors above it belong to someone else. */
  baseDir: string;
}

/** `p` relative to `root` if it is inside it (`/a/b` in `/a` -> `b`), else undefined. */
function inside(root: string, p: string): string | undefined {
  if (root === '/') return p.replace(/^\/+/, '');
  if (p === root) return '';
  if (p.startsWith(root + '/')) return p.slice(root.length + 1);
  return undefined;
}

/**
 * Resolve a cgroup path in one hierarchy, accounting for the mount root: when the mount shows
 * only a subtree (mountinfo root `/docker/x`, as in a container without a cgroup namespace),
 * a cgroup path under that subtree is found below the mount point with the prefix removed.
 */
export function resolveInHierarchy(cg: CgroupPath, h: HierarchyMount): ResolvedDir {
  if (cg.absolute) {
    // An absolute path names a cgroup in the whole hierarchy; if the mount shows only a
    // subtree and the path is inside it, strip the subtree; otherwise take it as seen from the mount.
    const rel = inside(h.mountRoot, cg.path) ?? cg.path.slice(1);
    return {
      dir: posix.join(h.mountpoint, rel),
      cgPath: posix.join(h.mountRoot, rel),
      baseDir: h.mountpoint,
    };
  }
  // The caller's own cgroup is shown relative to the hierarchy root; below the mount it sits at
  // that path minus the mount root. With a cgroup namespace both are `/`-based and agree. If the
  // caller is outside what the mount shows, the best guess is its path taken from the mount.
  const ownRel = inside(h.mountRoot, h.selfPath) ?? h.selfPath.replace(/^\/+/, '');
  const ownDir = posix.join(h.mountpoint, ownRel);
  return {
    dir: posix.join(ownDir, cg.path),
    cgPath: posix.join(h.selfPath, cg.path),
    baseDir: ownDir,
  };
}
