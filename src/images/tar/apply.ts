// Unpack one image layer into a directory (OCI image-spec layer.md), never writing outside it.
//
// Safety model: every name is cleaned and checked before any syscall: absolute names and ".."
// components are rejected (not stripped: a layer that has them was not made by a well-behaved
// builder). Each parent directory is checked with lstat once (then cached) and must be a real
// directory: a symlink as a parent, whether from this layer or already in `root`, fails the
// layer; so writes never traverse a symlink. The last component is created with O_EXCL or after
// unlinking what was there, so an existing symlink is replaced, never followed. When a directory
// is replaced by something else, everything cached below it is forgotten first.
//
// Speed: synchronous fs calls on file descriptors (open, write per input chunk, fchown, fchmod,
// futimes, close) are faster than the promise API for many small files. Devices and fifos (Node
// has no mknod) are batched into one `sh` script running mknod(1) at the end; xattrs, overlay
// opaque flags included, into one `setfattr --restore` call (Debian's `attr`), see xattr.ts.
import { spawnSync } from 'node:child_process';
import {
  closeSync, constants as fsc, copyFileSync, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lstatSync,
  lutimesSync, mkdirSync, chmodSync, chownSync, openSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, unlinkSync,
  utimesSync, writeSync, type Stats,
} from 'node:fs';
import { posix, resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError } from '../../common/errors.js';
import { decompress } from './compression.js';
import { TarParser, type TarEntry } from './reader.js';
import { readXattrs, setXattrs } from './xattr.js';

/** How whiteouts are represented in the result; `none` has none (a `.wh.` name is a plain file). */
export type WhiteoutMode = 'overlay' | 'native' | 'none';

export interface ApplyOptions {
  /**
   * `overlay` (default): `root` is an overlayfs upper dir; a whiteout becomes a 0/0 character
   * device and an opaque directory gets `trusted.overlay.opaque=y` (its contents are kept).
   * `native`: `root` is a full copy of the parent snapshot; whiteouts delete the lower path and
   * an opaque marker deletes the directory's children that this layer did not create.
   * `none`: not a layer but a user's tar (docker cp, PUT /archive): entries named `.wh.*` are
   * written as the files they are, as dockerd's Untar does, and a root entry (`./`) leaves the
   * existing directory as it is.
   */
  whiteouts?: WhiteoutMode;
  /**
   * dockerd's NoOverwriteDirNonDir (docker cp): an entry that would replace a directory with a
   * non-directory, or the reverse, fails the extraction with dockerd's text, which names the
   * path under `dest` (the root as the user sees it, e.g. the container path).
   */
  noOverwriteDirNonDir?: { dest: string };
  /** The owner of every entry, instead of the tar's (docker cp -a into a container with a User). */
  owner?: { uid: number; gid: number };
  /**
   * Where a relative path (clean, no symlink on the way: the applier checks every parent) is on
   * the host, when not simply under `root`: a stopped container's volumes laid over its rootfs.
   */
  hostOf?: (rel: string) => string;
  /**
   * Overlay mode only: the lower layer directories, topmost first. Used as containerd's
   * `WithParents`: a directory this layer implies without an entry gets its attributes from
   * the lower that has it, and a hardlink to a file of a lower layer copies that file up first.
   */
  lowers?: string[];
}

/** What {@link applyLayer} did: uncompressed tar bytes read and entries seen. */
export interface ApplyResult {
  bytes: number;
  entries: number;
}

const WH_PREFIX = '.wh.';
const WH_OPAQUE = '.wh..wh..opq';
const WH_META = '.wh..wh.'; // aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not part of the image

class Unsafe extends Error {}

/** Clean a member name to a relative path ('' is the root); throw Unsafe on absolute or "..". */
function cleanName(name: string, what: string): string {
  if (name.includes('\0')) throw new Unsafe(`${what} contains a NUL byte`);
  if (name.startsWith('/')) throw new Unsafe(`${what} is absolute`);
  const parts = name.split('/');
  const out: string[] = [];
  for (const p of parts) {
    if (p === '' || p === '.') continue;
    if (p === '..') throw new Unsafe(`${what} has a ".." component`);
    out.push(p);
  }
  return out.join('/');
}

const parentOf = (rel: string) => {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
};
const baseOf = (rel: string) => rel.slice(rel.lastIndexOf('/') + 1);

const O_CREATE = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;

interface DirMeta {
  mode: number;
  uid: number;
  gid: number;
  atime?: Date | number;
  mtime: Date | number;
}

/** The per-call state of one layer application. */
class Applier {
  /** Relative paths known to be real directories (not symlinks) right now. */
  private dirs = new Set<string>(['']);
  /** Paths this layer wrote; whiteouts and opaque markers apply only to the other ones (layer.md). */
  private touched = new Set<string>();
  /** Directories' final metadata, set at the end because creating children changes mtimes. */
  private dirMeta = new Map<string, DirMeta>();
  /** Devices, fifos and overlay whiteouts waiting for the batched mknod. */
  private pending = new Map<string, TarEntry>();
  private xattrs = new Map<string, Record<string, Buffer>>();
  private opaques = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly mode: WhiteoutMode,
    private readonly lowers: string[],
    private readonly opts: Pick<ApplyOptions, 'noOverwriteDirNonDir' | 'owner' | 'hostOf'> = {},
  ) {}

  private abs(rel: string): string {
    if (this.opts.hostOf && rel !== '') return this.opts.hostOf(rel);
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  private lstat(rel: string): Stats | undefined {
    return lstatSync(this.abs(rel), { throwIfNoEntry: false });
  }

  /** Drop every record at or below `rel`: it is about to be removed. */
  private forget(rel: string): void {
    const pre = `${rel}/`;
    const under = (k: string) => k === rel || k.startsWith(pre);
    for (const set of [this.dirs, this.touched, this.opaques]) for (const k of set) if (under(k) && k !== '') set.delete(k);
    for (const map of [this.dirMeta, this.pending, this.xattrs] as Array<Map<string, unknown>>) for (const k of map.keys()) if (under(k)) map.delete(k);
  }

  /** Remove whatever is at `rel` (recursively for a directory), never following a symlink. */
  private remove(rel: string, st: Stats | undefined = this.lstat(rel)): void {
    if (!st) return;
    if (st.isDirectory()) {
      this.forget(rel);
      rmSync(this.abs(rel), { recursive: true, force: true });
    } else {
      // Exact keys only: a scan of every record per replaced file would make upgrades quadratic.
      this.pending.delete(rel);
      this.xattrs.delete(rel);
      this.touched.delete(rel);
      unlinkSync(this.abs(rel));
    }
  }

  /**
   * Make sure `rel` is a real directory, creating missing ones (with a lower layer's attributes
   * when there is one). A symlink or other non-directory on the way is an error.
   */
  ensureDir(rel: string): void {
    if (this.dirs.has(rel)) return;
    this.ensureDir(parentOf(rel));
    const st = this.lstat(rel);
    if (st) {
      if (st.isSymbolicLink()) throw new Unsafe(`parent "${rel}" is a symlink`);
      if (!st.isDirectory()) throw new Unsafe(`parent "${rel}" is not a directory`);
    } else {
      if (this.pending.has(rel)) throw new Unsafe(`parent "${rel}" is a device or fifo in this layer`);
      mkdirSync(this.abs(rel), 0o755);
      const lower = this.findLower(rel);
      if (lower?.st.isDirectory()) {
        const s = lower.st;
        this.dirMeta.set(rel, { mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, atime: s.atime, mtime: s.mtime });
      }
    }
    this.dirs.add(rel);
  }

  /** Is `rel` a real directory (no symlink on the way)? Creates nothing. */
  private isRealDir(rel: string): boolean {
    if (this.dirs.has(rel)) return true;
    if (!this.isRealDir(parentOf(rel))) return false;
    const st = this.lstat(rel);
    if (!st) return false;
    if (st.isSymbolicLink()) throw new Unsafe(`parent "${rel}" is a symlink`);
    if (!st.isDirectory()) return false;
    this.dirs.add(rel);
    return true;
  }

  /**
   * The topmost lower layer entry visible at `rel` (overlay semantics: a 0/0 char device or a
   * non-directory parent hides everything below; an opaque directory hides lower layers' contents).
   */
  private findLower(rel: string): { dir: string; st: Stats } | undefined {
    if (this.mode !== 'overlay' || this.lowers.length === 0) return undefined;
    const parts = rel.split('/');
    for (const lower of this.lowers) {
      let p = lower;
      let opaque = false;
      for (let i = 0; i < parts.length; i++) {
        p = `${p}/${parts[i]}`;
        const st = lstatSync(p, { throwIfNoEntry: false });
        if (!st) break; // not in this lower: look further down, unless an opaque parent stops it
        const whiteout = st.isCharacterDevice() && st.rdev === 0;
        if (whiteout) return undefined;
        if (i === parts.length - 1) return { dir: lower, st };
        if (!st.isDirectory()) return undefined; // a file or symlink hides the rest of the path
        if (readXattrs([p]).get(p)?.['trusted.overlay.opaque']?.toString() === 'y') opaque = true;
      }
      if (opaque) return undefined;
    }
    return undefined;
  }

  async entry(e: TarEntry, p: TarParser): Promise<void> {
    const rel = cleanName(e.name, 'name');
    const base = baseOf(rel);
    if (base.startsWith(WH_PREFIX) && this.mode !== 'none') return this.whiteout(e, rel, base);
    if (this.opts.owner) Object.assign(e, this.opts.owner);
    if (rel === '') {
      if (e.type !== 'dir') throw new Unsafe('a non-directory entry for the root');
      if (this.mode === 'none') return;
      this.dirMeta.set('', e);
      this.touched.add('');
      if (Object.keys(e.xattrs).length > 0) this.xattrs.set('', e.xattrs);
      return;
    }
    this.ensureDir(parentOf(rel));
    if (this.opts.noOverwriteDirNonDir) this.refuseDirNonDir(rel, e);
    this.pending.delete(rel);
    this.xattrs.delete(rel);
    this.touched.add(rel);
    const abs = this.abs(rel);
    switch (e.type) {
      case 'dir': {
        try {
          mkdirSync(abs, 0o700);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          const st = this.lstat(rel)!;
          if (!st.isDirectory()) {
            this.remove(rel, st);
            mkdirSync(abs, 0o700);
          }
          this.touched.add(rel);
        }
        this.dirs.add(rel);
        this.dirMeta.set(rel, e);
        break;
      }
      case 'file': {
        let fd: number;
        try {
          fd = openSync(abs, O_CREATE, 0o600);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          // Unlink first: writing into the old inode would change its other hardlinks (or a lower layer's file).
          this.remove(rel);
          this.touched.add(rel);
          fd = openSync(abs, O_CREATE, 0o600);
        }
        try {
          while (p.remaining > 0) {
            let c = p.bodyChunkSync();
            if (c.length === 0) c = (await p.bodyChunk())!;
            let off = 0;
            while (off < c.length) off += writeSync(fd, c, off, c.length - off);
          }
          fchownSync(fd, e.uid, e.gid);
          // After chown, which clears setuid/setgid.
          fchmodSync(fd, e.mode);
          futimesSync(fd, e.mtime, e.mtime);
        } finally {
          closeSync(fd);
        }
        break;
      }
      case 'symlink': {
        if (!e.linkname) throw new Unsafe('symlink without a target');
        try {
          symlinkSync(e.linkname, abs);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          this.remove(rel);
          this.touched.add(rel);
          symlinkSync(e.linkname, abs);
        }
        lchownSync(abs, e.uid, e.gid);
        lutimesSync(abs, e.mtime, e.mtime);
        break;
      }
      case 'hardlink':
        this.hardlink(e, rel);
        return; // xattrs belong to the target's inode
      case 'char':
      case 'block':
      case 'fifo': {
        const st = this.lstat(rel);
        if (st) {
          this.remove(rel, st);
          this.touched.add(rel);
        }
        this.pending.set(rel, e);
        break;
      }
    }
    if (Object.keys(e.xattrs).length > 0) this.xattrs.set(rel, e.xattrs);
  }

  /** NoOverwriteDirNonDir: refuse to swap a directory for a non-directory or the reverse (moby/go-archive Unpack's words). */
  private refuseDirNonDir(rel: string, e: TarEntry): void {
    const st = this.lstat(rel);
    if (!st || st.isDirectory() === (e.type === 'dir')) return;
    const dest = this.opts.noOverwriteDirNonDir!.dest;
    const path = JSON.stringify(posix.join(dest, rel));
    const msg = st.isDirectory() ? `cannot overwrite directory ${path} with non-directory ${JSON.stringify(dest)}` : `cannot overwrite non-directory ${path} with directory ${JSON.stringify(dest)}`;
    throw new BerthError('failed-precondition', msg);
  }

  private hardlink(e: TarEntry, rel: string): void {
    const target = cleanName(e.linkname, 'hardlink target');
    if (target === '') throw new Unsafe('hardlink to the root directory');
    if (target === rel) return; // a link to itself: nothing to do (GNU tar treats it the same)
    // The target's parents must be real directories inside root, so link(2) cannot resolve outside.
    if (!this.isRealDir(parentOf(target))) this.copyUp(target, e);
    if (this.pending.has(target)) this.flush();
    let st = this.lstat(target);
    if (!st) {
      this.copyUp(target, e);
      st = this.lstat(target);
      if (!st) throw new Unsafe(`hardlink target "${e.linkname}" does not exist in the layer or below`);
    }
    if (st.isDirectory()) throw new Unsafe(`hardlink target "${e.linkname}" is a directory`);
    // link(2) does not follow a symlink target on Linux: the new name is another link to the symlink itself.
    try {
      linkSync(this.abs(target), this.abs(rel));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const cur = this.lstat(rel)!;
      if (cur.ino === st.ino && cur.dev === st.dev) return;
      this.remove(rel, cur);
      linkSync(this.abs(target), this.abs(rel));
    }
    this.touched.add(rel);
  }

  /** Overlay mode: bring a lower layer's file into the upper dir, as overlayfs copy-up would. */
  private copyUp(target: string, e: TarEntry): void {
    const lower = this.findLower(target);
    if (!lower) throw new Unsafe(`hardlink target "${e.linkname}" does not exist in the layer or below`);
    this.ensureDir(parentOf(target));
    const src = `${lower.dir}/${target}`;
    const dst = this.abs(target);
    const s = lower.st;
    if (s.isFile()) {
      copyFileSync(src, dst, fsc.COPYFILE_EXCL);
      chownSync(dst, s.uid, s.gid);
      chmodSync(dst, s.mode & 0o7777);
    } else if (s.isSymbolicLink()) {
      symlinkSync(readlinkSync(src), dst);
      lchownSync(dst, s.uid, s.gid);
    } else {
      throw new Unsafe(`hardlink target "${e.linkname}" is a special file in a lower layer`);
    }
    lutimesSync(dst, s.atime, s.mtime);
    const x = readXattrs([src]).get(src);
    if (x) {
      for (const k of Object.keys(x)) if (k.startsWith('trusted.overlay.')) delete x[k];
      if (Object.keys(x).length > 0) this.xattrs.set(target, x);
    }
  }

  private whiteout(e: TarEntry, rel: string, base: string): void {
    const dir = parentOf(rel);
    if (base === WH_OPAQUE) {
      if (this.mode === 'overlay') {
        this.ensureDir(dir);
        this.opaques.add(dir);
      } else if (this.isRealDir(dir)) {
        this.clearUntouched(dir);
      }
      return;
    }
    if (base.startsWith(WH_META)) return;
    const name = base.slice(WH_PREFIX.length);
    if (name === '' || name === '.' || name === '..') throw new Unsafe(`whiteout for ${JSON.stringify(name)}`);
    const hidden = dir === '' ? name : `${dir}/${name}`;
    // layer.md: a whiteout hides only lower layers' entries, never one of its own layer.
    if (this.touched.has(hidden)) return;
    if (this.mode === 'overlay') {
      this.ensureDir(dir);
      const st = this.lstat(hidden);
      if (st) this.remove(hidden, st);
      this.pending.set(hidden, { ...e, name: hidden, type: 'char', devmajor: 0, devminor: 0, mode: 0, uid: 0, gid: 0, xattrs: {} });
    } else {
      if (!this.isRealDir(dir)) return;
      const st = this.lstat(hidden);
      if (st) this.remove(hidden, st);
    }
  }

  /** Native opaque directory: delete the children that lower layers put there. */
  private clearUntouched(dir: string): void {
    for (const name of readdirSync(this.abs(dir))) {
      const rel = dir === '' ? name : `${dir}/${name}`;
      if (!this.touched.has(rel)) {
        this.remove(rel);
        continue;
      }
      const st = this.lstat(rel);
      if (st?.isDirectory()) this.clearUntouched(rel);
    }
  }

  /** Create the pending devices, fifos and whiteouts with one shell running mknod(1) for each. */
  flush(): void {
    if (this.pending.size === 0) return;
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    let script = '';
    for (const [rel, e] of this.pending) {
      const kind = e.type === 'char' ? `c ${e.devmajor} ${e.devminor}` : e.type === 'block' ? `b ${e.devmajor} ${e.devminor}` : 'p';
      script += `mknod -m 0600 -- ${q(this.abs(rel))} ${kind}\n`;
    }
    const r = spawnSync('sh', ['-e'], { input: Buffer.from(script), encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.error || r.status !== 0) {
      throw new BerthError('internal', `apply layer: mknod failed: ${r.error?.message ?? r.stderr.trim()}`, { cause: r.error });
    }
    for (const [rel, e] of this.pending) {
      const abs = this.abs(rel);
      lchownSync(abs, e.uid, e.gid);
      chmodSync(abs, e.mode); // a device or fifo just made: chmod cannot follow anything
      lutimesSync(abs, e.mtime, e.mtime);
    }
    this.pending.clear();
  }

  /** Everything deferred: devices, directory owners and modes, xattrs, then directory times. */
  finish(): void {
    this.flush();
    const dirs = [...this.dirMeta].filter(([rel]) => this.lstat(rel)?.isDirectory());
    for (const [rel, m] of dirs) {
      const abs = this.abs(rel);
      chownSync(abs, m.uid, m.gid);
      chmodSync(abs, m.mode);
    }
    const items: Array<{ path: string; xattrs: Record<string, Buffer> }> = [];
    for (const [rel, x] of this.xattrs) items.push({ path: this.abs(rel), xattrs: x });
    for (const rel of this.opaques) {
      const i = items.find((it) => it.path === this.abs(rel));
      const opq = { 'trusted.overlay.opaque': Buffer.from('y') };
      if (i) Object.assign(i.xattrs, opq);
      else items.push({ path: this.abs(rel), xattrs: opq });
    }
    if (items.length > 0) setXattrs(items, 'apply layer');
    // Deepest first is not needed: setting a directory's times does not touch its parent's.
    for (const [rel, m] of dirs) utimesSync(this.abs(rel), m.atime ?? m.mtime, m.mtime);
  }
}

/**
 * Unpack one layer (a tar stream, plain, gzip or zstd: detected from its first bytes) into `root`.
 *
 * Contract: `root` is the fresh directory of a snapshot being prepared (empty in overlay mode,
 * a copy of the parent in native mode). On failure, what was already written stays: the caller
 * removes the snapshot directory (that is cheaper than staging every layer in a side directory).
 * In no case is anything written outside `root`: names that are absolute, contain "..", pass
 * through a symlink (made by this layer or already present), or hardlinks to targets outside,
 * fail with BerthError('invalid-argument') naming the entry, before anything is written for it.
 *
 * Applied: files, directories, symlinks (as is, never followed), hardlinks (to this layer or
 * below), character and block devices, fifos; owner (numeric uid/gid, names ignored as Docker
 * does), mode with setuid/setgid/sticky (after chown, which clears them), mtime (directories at
 * the end), and xattrs. Needs root for chown, mknod and trusted.* xattrs.
 */
export async function applyLayer(root: string, input: Readable, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const dir = resolvePath(root);
  // The root itself may be a link the caller chose (a live container's /proc/<pid>/root); below it nothing is followed.
  const st = statSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) throw new BerthError('invalid-argument', `apply layer: root "${dir}" is not a directory`);
  const a = new Applier(dir, opts.whiteouts ?? 'overlay', opts.lowers ?? [], opts);
  const p = new TarParser(decompress(input));
  let entries = 0;
  let e: TarEntry | null = null;
  try {
    while ((e = await p.next())) {
      entries++;
      await a.entry(e, p);
    }
    e = null;
    a.finish();
  } catch (err) {
    await p.close().catch(() => undefined);
    if (err instanceof BerthError && !e) throw err;
    const where = e ? `entry ${JSON.stringify(e.name)}` : 'finishing';
    if (err instanceof Unsafe) throw new BerthError('invalid-argument', `apply layer into "${dir}": ${where}: ${err.message} (unsafe layer refused)`);
    if (err instanceof BerthError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new BerthError(code === 'ENOSPC' || code === 'EDQUOT' ? 'unavailable' : 'internal', `apply layer into "${dir}": ${where}: ${(err as Error).message}`, { cause: err });
  }
  return { bytes: p.offset, entries };
}
