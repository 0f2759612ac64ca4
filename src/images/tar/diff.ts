// A snapshot's changes as an OCI layer tar: from an overlay upper dir, or by comparing two trees.
//
// Output is deterministic for a given tree: entries in depth-first order with names sorted by
// their bytes, a directory before its contents, uname/gname left empty (ids are what apply uses),
// mtimes in whole seconds. Overlay bookkeeping xattrs (`trusted.overlay.*`) and host SELinux
// labels (`security.selinux`) are not part of a layer; every other xattr is kept.
import { createReadStream, lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { Writable } from 'node:stream';
import { BerthError } from '../../common/errors.js';
import type { TarEntryType } from './reader.js';
import { TarWriter, type TarWriteEntry } from './writer.js';
import { readXattrs, readXattrsTree } from './xattr.js';

const WH_PREFIX = '.wh.';
const WH_OPAQUE = '.wh..wh..opq';
/** Files up to this size are read in one call; larger ones stream. */
const SMALL_FILE = 1 << 20;

type Xattrs = Map<string, Record<string, Buffer>>;

/** Names sorted by their UTF-8 bytes, so the order does not depend on a locale or UTF-16 quirks. */
function sortedNames(dir: string): string[] {
  return readdirSync(dir).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

const join = (rel: string, name: string) => (rel === '' ? name : `${rel}/${name}`);

function layerXattrs(all: Xattrs, abs: string): Record<string, Buffer> | undefined {
  const x = all.get(abs);
  if (!x) return undefined;
  const out: Record<string, Buffer> = {};
  for (const k of Object.keys(x).sort()) {
    if (k.startsWith('trusted.overlay.') || k === 'security.selinux') continue;
    out[k] = x[k]!;
  }
  return Object.keys(out).length ? out : undefined;
}

function typeOf(st: Stats): TarEntryType | 'socket' {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

// Linux's dev_t encoding (glibc gnu_dev_major/minor), for the low 32 bits Node's number keeps exact.
const major = (rdev: number) => (rdev >>> 8) & 0xfff;
const minor = (rdev: number) => (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);

const isWhiteoutDevice = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;

/** Writes entries of one tree (the upper), turning repeated inodes into hardlink entries. */
class Emitter {
  private links = new Map<string, string>();
  constructor(readonly w: TarWriter, private readonly root: string, private readonly xattrs: Xattrs) {}

  abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  async entry(rel: string, st: Stats): Promise<void> {
    const abs = this.abs(rel);
    const type = typeOf(st);
    if (type === 'socket') return; // sockets cannot be archived (GNU tar skips them too)
    const e: TarWriteEntry = {
      name: rel, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime,
      xattrs: layerXattrs(this.xattrs, abs),
    };
    if (type === 'file' && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = this.links.get(key);
      if (first !== undefined) {
        await this.w.add({ name: rel, type: 'hardlink', linkname: first, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime });
        return;
      }
      this.links.set(key, rel);
    }
    switch (type) {
      case 'file':
        if (st.size <= SMALL_FILE) {
          const data = readFileSync(abs);
          await this.w.add({ ...e, size: data.length }, data);
        } else {
          await this.w.add({ ...e, size: st.size }, createReadStream(abs, { highWaterMark: 1 << 20 }));
        }
        return;
      case 'symlink':
        await this.w.add({ ...e, linkname: readlinkSync(abs) });
        return;
      case 'char':
      case 'block':
        await this.w.add({ ...e, devmajor: major(st.rdev), devminor: minor(st.rdev) });
        return;
      default:
        await this.w.add(e);
    }
  }

  /** An entry and, for a directory, everything below it. */
  async subtree(rel: string, st: Stats): Promise<void> {
    await this.entry(rel, st);
    if (!st.isDirectory()) return;
    for (const name of sortedNames(this.abs(rel))) {
      const child = join(rel, name);
      await this.subtree(child, lstatSync(this.abs(child)));
    }
  }

  async whiteout(rel: string, mtime: Date): Promise<void> {
    const slash = rel.lastIndexOf('/');
    const name = `${rel.slice(0, slash + 1)}${WH_PREFIX}${rel.slice(slash + 1)}`;
    await this.w.add({ name, type: 'file', mode: 0o644, mtime });
  }

  async opaque(dirRel: string, mtime: Date): Promise<void> {
    await this.w.add({ name: join(dirRel, WH_OPAQUE), type: 'file', mode: 0o644, mtime });
  }
}

/**
 * A filter for what a runtime, not the container, put in an overlay upper dir: the mount targets it
 * creates when the image lacks them (dockerd keeps these in its init layer, so `docker diff` and
 * `docker commit` never see them). `stubs` are paths relative to the root; one is hidden when it
 * is an empty file or directory that no lower has, and so is a directory of the lowers (same mode
 * and owner, not opaque) that holds nothing else. Returns `hidden(rel, st)`.
 */
export function mountStubFilter(upper: string, lowers: string[], stubs: readonly string[]): (rel: string, st: Stats) => boolean {
  const stubSet = new Set(stubs);
  const parents = new Set(stubs.flatMap((p) => p.split('/').slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join('/'))));
  const lower = (rel: string) => lowers.map((l) => lstatSync(`${l}/${rel}`, { throwIfNoEntry: false })).find((x) => x !== undefined);
  const opaque = (rel: string) => {
    const p = `${upper}/${rel}`;
    return readXattrs([p], `diff "${upper}"`).get(p)?.['trusted.overlay.opaque']?.toString() === 'y';
  };
  const hidden = (rel: string, st: Stats): boolean => {
    if (stubSet.has(rel)) {
      const empty = (st.isFile() && st.size === 0) || (st.isDirectory() && readdirSync(`${upper}/${rel}`).length === 0);
      return empty && lower(rel) === undefined;
    }
    if (!parents.has(rel) || !st.isDirectory()) return false;
    const lo = lower(rel);
    if (!lo?.isDirectory() || (lo.mode & 0o7777) !== (st.mode & 0o7777) || lo.uid !== st.uid || lo.gid !== st.gid || opaque(rel)) return false;
    return readdirSync(`${upper}/${rel}`).every((n) => hidden(`${rel}/${n}`, lstatSync(`${upper}/${rel}/${n}`)));
  };
  return hidden;
}

/**
 * Write the changes recorded in an overlay upper directory as an OCI layer tar (image-spec
 * layer.md): every entry of `upper`, a 0/0 character device as a `.wh.<name>` whiteout, a
 * directory with `trusted.overlay.opaque=y` followed by `.wh..wh..opq`, files sharing an inode
 * as hardlink entries. `lowers` (topmost first) drop whiteouts that hide nothing; what `hidden`
 * says (see mountStubFilter) is left out. Needs root
 * (trusted.* xattrs) and getfattr (Debian's `attr`). Does not end `out`.
 *
 * Not supported: uppers written with overlay's redirect_dir or metacopy features (they fail).
 */
export async function writeLayerDiff(upperDir: string, lowers: string[], out: Writable, hidden?: (rel: string, st: Stats) => boolean): Promise<void> {
  // Absolute, normalised: getfattr's output is keyed by the paths we build from it.
  const upper = resolvePath(upperDir);
  const xattrs = readXattrsTree(upper, `diff "${upper}"`);
  for (const [p, x] of xattrs) {
    if (x['trusted.overlay.redirect'] || x['trusted.overlay.metacopy']) {
      throw new BerthError('not-implemented', `diff "${upper}": "${p}" uses overlay redirect_dir/metacopy, which layer diffs do not support`);
    }
  }
  const em = new Emitter(new TarWriter(out), upper, xattrs);
  const walk = async (rel: string): Promise<void> => {
    for (const name of sortedNames(em.abs(rel))) {
      const child = join(rel, name);
      const st = lstatSync(em.abs(child));
      if (hidden?.(child, st)) continue;
      if (isWhiteoutDevice(st)) {
        if (lowers.length > 0 && !lowers.some((l) => lstatSync(`${l}/${child}`, { throwIfNoEntry: false }))) continue;
        await em.whiteout(child, st.mtime);
        continue;
      }
      await em.entry(child, st);
      if (st.isDirectory()) {
        if (xattrs.get(em.abs(child))?.['trusted.overlay.opaque']?.toString() === 'y') await em.opaque(child, st.mtime);
        await walk(child);
      }
    }
  };
  await walk('');
  await em.w.finish();
}

function sameXattrs(a: Record<string, Buffer> | undefined, b: Record<string, Buffer> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  const kb = Object.keys(b ?? {});
  if (ka.length !== kb.length) return false;
  return ka.every((k) => b?.[k] !== undefined && a![k]!.equals(b[k]!));
}

/**
 * Write the difference between two plain directory trees (a 'native' snapshot and its parent)
 * as an OCI layer tar: what exists only in `upper` or changed (type, mode, owner, size, mtime,
 * link target, device number, xattrs; file contents are not compared, as Docker's naive differ
 * does not), whiteouts for what exists only in `lower`, and every directory that changed or
 * holds a change. Does not end `out`.
 */
export async function writeTreeDiff(lowerDir: string, upperDir: string, out: Writable): Promise<void> {
  const lower = resolvePath(lowerDir);
  const upper = resolvePath(upperDir);
  const xl = readXattrsTree(lower, `diff "${lower}"`);
  const xu = readXattrsTree(upper, `diff "${upper}"`);
  const em = new Emitter(new TarWriter(out), upper, xu);
  const labs = (rel: string) => (rel === '' ? lower : `${lower}/${rel}`);

  const changed = (rel: string, a: Stats, b: Stats): boolean => {
    if (typeOf(a) !== typeOf(b)) return true;
    if ((a.mode & 0o7777) !== (b.mode & 0o7777) || a.uid !== b.uid || a.gid !== b.gid) return true;
    if (!sameXattrs(layerXattrs(xl, labs(rel)), layerXattrs(xu, em.abs(rel)))) return true;
    if (a.isDirectory()) return a.mtimeMs !== b.mtimeMs;
    if (a.isSymbolicLink()) return readlinkSync(labs(rel)) !== readlinkSync(em.abs(rel));
    if (a.isCharacterDevice() || a.isBlockDevice()) return a.rdev !== b.rdev;
    return a.size !== b.size || a.mtimeMs !== b.mtimeMs;
  };

  // Returns a function that writes the changes found below `rel`, or null when there are none,
  // so a directory is written only when it or something inside it changed.
  type Job = () => Promise<void>;
  const compare = (rel: string): Job[] => {
    const l = new Set(sortedNames(labs(rel)));
    const u = sortedNames(em.abs(rel));
    const names = [...new Set([...l, ...u])].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const uset = new Set(u);
    const jobs: Job[] = [];
    for (const name of names) {
      const child = join(rel, name);
      if (!uset.has(name)) {
        const ls = lstatSync(labs(child));
        jobs.push(() => em.whiteout(child, ls.mtime));
        continue;
      }
      const us = lstatSync(em.abs(child));
      if (!l.has(name)) {
        jobs.push(() => em.subtree(child, us));
        continue;
      }
      const ls = lstatSync(labs(child));
      if (us.isDirectory() && ls.isDirectory()) {
        const inner = compare(child);
        if (inner.length > 0 || changed(child, ls, us)) {
          jobs.push(async () => {
            await em.entry(child, us);
            for (const j of inner) await j();
          });
        }
      } else if (us.isDirectory()) {
        jobs.push(() => em.subtree(child, us)); // a directory replaces a non-directory: all of it is new
      } else if (changed(child, ls, us)) {
        jobs.push(() => em.entry(child, us));
      }
    }
    return jobs;
  };
  for (const j of compare('')) await j();
  await em.w.finish();
}
