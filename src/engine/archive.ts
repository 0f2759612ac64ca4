// Files of a container's rootfs: scoped path resolution, stat (X-Docker-Container-Path-Stat), tar out (archive, export), tar in, and the overlay diff (changes).
import { createReadStream, lstatSync, readdirSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { errInvalid, errNotFound } from '../common/errors.js';
import { applyLayer } from '../images/tar/apply.js';
import { TarWriter } from '../images/tar/writer.js';
import type { PathStat } from './types.js';
import { resolveLexically } from './user.js';

/**
 * A container's files as the archive calls see them: a root and the mounts laid over it (a
 * container that is not running: its volumes and binds, which dockerd mounts for the copy). Paths
 * are resolved lexically, one component at a time with lstat, symlinks followed as if the
 * container's `/` were `/`, each component looked up under the deepest mount holding it: a link in
 * a volume to `/etc` leads to the container's /etc, and nothing leads out of the container.
 */
export class FilesView {
  private readonly mounts: Array<{ destination: string; source: string }>;

  constructor(readonly root: string, mounts: ReadonlyArray<{ destination: string; source: string }> = []) {
    this.root = posix.resolve(root);
    this.mounts = [...mounts].sort((a, b) => b.destination.length - a.destination.length);
  }

  /** The host path of a clean container path (nothing resolved). */
  host(ctr: string): string {
    for (const m of this.mounts) {
      if (ctr === m.destination) return m.source;
      if (ctr.startsWith(m.destination + '/')) return m.source + ctr.slice(m.destination.length);
    }
    return ctr === '/' ? this.root : this.root + ctr;
  }

  /** Whether `ctr` is where a mount is laid (its host path is not under its parent's). */
  isMountPoint(ctr: string): boolean {
    return this.mounts.some((m) => m.destination === ctr);
  }

  /** Container path `path` with every symlink resolved inside the container; the last component may be missing. */
  resolve(path: string): string {
    return resolveLexically(path, (ctr) => this.host(ctr), this.root);
  }

  /**
   * Where container path `path` is, as `docker cp` names it: the last component is followed only
   * when `path` ends in `/` or `/.` (a link itself is copied, a link to a dir with a trailing
   * slash is entered). Its clean container path and host path.
   */
  scoped(path: string): { ctr: string; host: string } {
    const p = path || '/';
    if (!p.startsWith('/')) throw errInvalid(`path "${path}": must be absolute`);
    const norm = posix.normalize(p);
    const ctr = p.endsWith('/') || p.endsWith('/.') || norm === '/' ? this.resolve(norm) : posix.join(this.resolve(posix.dirname(norm)), posix.basename(norm));
    return { ctr, host: this.host(ctr) };
  }
}

// Go's os.FileMode type bits, which Docker's PathStat mode carries.
const GO_MODE = { dir: 2 ** 31, symlink: 2 ** 27, device: 2 ** 26, pipe: 2 ** 25, socket: 2 ** 24, setuid: 2 ** 23, setgid: 2 ** 22, charDevice: 2 ** 21, sticky: 2 ** 20 };

/** A unix st_mode as Go's os.FileMode (what the docker CLI decodes). */
export function goFileMode(st: Stats): number {
  let m = st.mode & 0o777;
  if (st.isDirectory()) m += GO_MODE.dir;
  else if (st.isSymbolicLink()) m += GO_MODE.symlink;
  else if (st.isBlockDevice()) m += GO_MODE.device;
  else if (st.isCharacterDevice()) m += GO_MODE.device + GO_MODE.charDevice;
  else if (st.isFIFO()) m += GO_MODE.pipe;
  else if (st.isSocket()) m += GO_MODE.socket;
  if (st.mode & 0o4000) m += GO_MODE.setuid;
  if (st.mode & 0o2000) m += GO_MODE.setgid;
  if (st.mode & 0o1000) m += GO_MODE.sticky;
  return m;
}

/** dockerd's words, with the container as the request named it: "Could not find the file /x in container web". */
const fileNotFound = (path: string, container: string, cause: unknown) => errNotFound(`Could not find the file ${path} in container ${container}`, cause);

function lstatOrNotFound(host: string, path: string, container: string): Stats {
  try {
    return lstatSync(host);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw fileNotFound(path, container, e);
    throw e;
  }
}

/** Stat a path of `container` (the link itself for a symlink; linkTarget is where it leads, inside the container). */
export function statPath(view: FilesView, path: string, container: string): { host: string; ctr: string; stat: PathStat; st: Stats } {
  const { ctr, host } = view.scoped(path);
  // The root may be a live container's /proc/<pid>/root, a link to its directory.
  const st = host === view.root ? statSync(host) : lstatOrNotFound(host, path, container);
  const linkTarget = st.isSymbolicLink() ? view.resolve(ctr) : '';
  const name = posix.basename(posix.normalize(path)) || '/';
  return { host, ctr, st, stat: { name, size: st.size, mode: goFileMode(st), mtime: st.mtime.toISOString(), linkTarget } };
}

const major = (dev: number) => Number((BigInt(dev) >> 8n) & 0xfffn) | Number((BigInt(dev) >> 32n) & ~0xfffn);
const minor = (dev: number) => Number(BigInt(dev) & 0xffn) | Number((BigInt(dev) >> 12n) & ~0xffn);

/**
 * Write `host` (a file or a whole tree, not following symlinks) to `w` under the name `name`
 * ('' = its children at the top level, for export). Hard links within the tree become link entries.
 * With `at` (the container path of `host` in `view`), a mount point met on the way is read from its mount.
 */
export async function tarTree(host: string, name: string, w: TarWriter, at?: { view: FilesView; ctr: string }): Promise<void> {
  const links = new Map<string, string>();
  const visit = async (abs: string, rel: string, ctr?: string): Promise<void> => {
    if (at && ctr !== undefined && rel !== name && at.view.isMountPoint(ctr)) abs = at.view.host(ctr);
    // The top of a contents-only copy is a directory, maybe reached through /proc/<pid>/root.
    const st = rel === '' ? statSync(abs) : lstatSync(abs);
    if (rel !== '') {
      const base = { name: rel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
      if (st.isDirectory()) await w.add({ ...base, type: 'dir' });
      else if (st.isSymbolicLink()) await w.add({ ...base, type: 'symlink', linkname: readlinkSync(abs) });
      else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first) await w.add({ ...base, type: 'hardlink', linkname: first });
        else {
          if (st.nlink > 1) links.set(key, rel);
          await w.add({ ...base, type: 'file', size: st.size }, st.size > 0 ? createReadStream(abs) : Buffer.alloc(0));
        }
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        await w.add({ ...base, type: st.isCharacterDevice() ? 'char' : 'block', devmajor: major(st.rdev), devminor: minor(st.rdev) });
      } else if (st.isFIFO()) await w.add({ ...base, type: 'fifo' });
      // sockets are not archived (tar has no type for them)
    }
    if (st.isDirectory()) {
      const names = readdirSync(abs).sort();
      for (const n of names) await visit(`${abs}/${n}`, rel === '' ? n : `${rel}/${n}`, ctr === undefined ? undefined : posix.join(ctr, n));
    }
  };
  await visit(host, name, at?.ctr);
}

/** Tar of a container path for GET /archive: entries named after the path's last component. */
export async function writeArchive(view: FilesView, path: string, out: Writable, container: string): Promise<void> {
  const { host, ctr, st } = statPath(view, path, container);
  const norm = posix.normalize(path);
  const w = new TarWriter(out);
  // `/` or `dir/.` copies the contents; anything else the entry itself, named by its base name.
  const contentsOnly = norm === '/' || path.endsWith('/.');
  if (contentsOnly && st.isDirectory()) await tarTree(host, '', w, { view, ctr });
  else await tarTree(host, posix.basename(norm), w, { view, ctr });
  await w.finish();
}

/** What PUT /archive asks of an extraction (docker cp's query parameters, resolved). */
export interface ExtractOptions {
  /** dockerd's noOverwriteDirNonDir: a directory may not become a non-directory, nor the reverse. */
  noOverwriteDirNonDir?: boolean;
  /** copyUIDGID with a container User: every entry gets this owner instead of the tar's. */
  owner?: { uid: number; gid: number };
  /** Refuses a destination (its container path, symlinks resolved) that may not be written. */
  writable?: (path: string) => void;
}

/**
 * Extract a user's tar into container dir `path` (PUT /archive): entries may not leave the
 * directory, and `.wh.*` names are plain files (dockerd's Untar: a cp is not a layer, so a
 * whiteout name in it must not delete anything).
 */
export async function extractArchive(view: FilesView, path: string, tar: Readable, container: string, opts: ExtractOptions = {}): Promise<void> {
  const dest = view.resolve(path || '/');
  const host = view.host(dest);
  let st: Stats;
  try {
    st = host === view.root ? statSync(host) : lstatSync(host);
  } catch (e) {
    throw fileNotFound(path, container, e);
  }
  if (!st.isDirectory()) throw errInvalid(`extraction point is not a directory: ${path}`);
  opts.writable?.(dest);
  await applyLayer(host, tar, {
    whiteouts: 'none',
    // Entries that cross a mount point below `dest` go into the mount (a stopped container's volume).
    hostOf: (rel) => view.host(posix.join(dest, rel)),
    ...(opts.noOverwriteDirNonDir ? { noOverwriteDirNonDir: { dest } } : {}),
    ...(opts.owner ? { owner: opts.owner } : {}),
  });
}

/**
 * Docker's changes (0 modified, 1 added, 2 deleted) from an overlay upper dir: a 0/0 char
 * device is a whiteout (deleted); an entry the lower layers have is modified, else added. What
 * `hidden` says (a path without the leading slash) is left out.
 */
export function overlayChanges(upper: string, lowers: string[], hidden?: (rel: string, st: Stats) => boolean): Array<{ Path: string; Kind: 0 | 1 | 2 }> {
  const out: Array<{ Path: string; Kind: 0 | 1 | 2 }> = [];
  const inLower = (rel: string) => lowers.some((l) => lstatSync(`${l}${rel}`, { throwIfNoEntry: false }) !== undefined);
  const walk = (rel: string) => {
    let names: string[];
    try {
      names = readdirSync(upper + rel).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const r = `${rel}/${n}`;
      const st = lstatSync(upper + r);
      if (hidden?.(r.slice(1), st)) continue;
      if (st.isCharacterDevice() && st.rdev === 0) {
        out.push({ Path: r, Kind: 2 });
        continue;
      }
      out.push({ Path: r, Kind: inLower(r) ? 0 : 1 });
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out.sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
}
