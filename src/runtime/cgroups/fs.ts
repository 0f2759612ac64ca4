// Shared cgroupfs plumbing for both managers: file access with errors that name the cgroup and file, parsers, kill and rmdir loops.
//
// The file operations are synchronous on purpose: each is one short syscall on a pseudo
// filesystem, and container start does dozens of them. Through the libuv thread pool every one
// would cost a round trip (measured: cgroup create 5.7 ms async vs well under 1 ms sync).
import { closeSync, constants, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError, type ErrorCode, errnoOf } from '../../common/errors.js';
import { UNLIMITED } from './cgroups.js';

/** Map an errno from a cgroupfs operation to Berth's fixed error codes. */
function codeFor(errno: string | undefined): ErrorCode {
  switch (errno) {
    case 'ENOENT': return 'not-found';
    case 'EINVAL': case 'ERANGE': return 'invalid-argument';
    case 'EBUSY': return 'conflict';
    case 'EPERM': case 'EACCES': return 'permission-denied';
    case 'ENOSPC': return 'unavailable';
    default: return 'internal';
  }
}

/** `cgroup "/berth/abc": write memory.limit_in_bytes: EBUSY`, with the system error as cause. */
export function cgroupError(cgPath: string, op: string, file: string, err: unknown): BerthError {
  const errno = errnoOf(err);
  return new BerthError(codeFor(errno), `cgroup "${cgPath}": ${op} ${file}: ${errno ?? String(err)}`, { cause: err });
}

/**
 * Test seam for fake trees, where plain files cannot act like the kernel: `onMkdir` populates a
 * new cgroup dir, `onWrite` sees every write before it happens (to log order, emulate side
 * effects, or throw an errno as the kernel would), `rmdir` replaces rmdir(2) (a plain directory
 * with files in it is not removable, a cgroup dir is).
 */
export interface CgroupFsHooks {
  /** After a manager creates a cgroup dir: add the files the kernel would. */
  onMkdir?: (dir: string) => Promise<void> | void;
  /** Before every write; may throw an errno error, or return what the file should hold instead. */
  onWrite?: (path: string, value: string) => string | void;
  rmdir?: (path: string) => Promise<void>;
}
let hooks: CgroupFsHooks = {};

/** Parent dirs whose levels mkdirLevels has made and set up (see there). */
const walkedParents = new Set<string>();

/** Install test hooks (pass `{}` to remove them). Never used outside tests. */
export function setCgroupFsHooks(h: CgroupFsHooks): void {
  hooks = h;
}

/** One cgroup directory in one hierarchy. All file names are relative to it. */
export class CgroupDir {
  /**
   * @param dir the directory on the filesystem
   * @param cgPath the cgroup's name in its hierarchy, for messages
   */
  constructor(readonly dir: string, readonly cgPath: string) {}

  /** Absolute path of a file in this cgroup. */
  file(name: string): string {
    return join(this.dir, name);
  }

  /** Read a file; a missing file is an error naming it. */
  async read(name: string): Promise<string> {
    try {
      return readFileSync(this.file(name), 'utf8');
    } catch (err) {
      throw cgroupError(this.cgPath, 'read', name, err);
    }
  }

  /** Read a file, or undefined if it does not exist (controller not enabled, kernel too old). */
  async readOptional(name: string): Promise<string | undefined> {
    try {
      return readFileSync(this.file(name), 'utf8');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined;
      throw cgroupError(this.cgPath, 'read', name, err);
    }
  }

  /**
   * Write a value in one write(2), as cgroupfs requires (each write is one command).
   * The file is opened without O_CREAT: on cgroupfs O_CREAT turns a missing file into a
   * misleading EACCES, and on a fake tree it would invent files the kernel would not have.
   */
  async write(name: string, value: string | number): Promise<void> {
    let fd: number | undefined;
    try {
      const stored = hooks.onWrite?.(this.file(name), String(value)) ?? String(value);
      fd = openSync(this.file(name), constants.O_WRONLY | constants.O_TRUNC);
      writeSync(fd, stored);
    } catch (err) {
      throw cgroupError(this.cgPath, 'write', name, err);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  async exists(name: string): Promise<boolean> {
    try {
      statSync(this.file(name));
      return true;
    } catch {
      return false;
    }
  }

  /** Whether the cgroup directory itself exists. */
  async present(): Promise<boolean> {
    try {
      return statSync(this.dir).isDirectory();
    } catch {
      return false;
    }
  }
}

/**
 * Create `dir` and any missing parents below `mountpoint`, one level at a time, calling
 * `eachLevel` on every level below the mount point (new or existing), top down.
 */
export async function mkdirLevels(
  mountpoint: string,
  dir: string,
  cgPath: string,
  eachLevel?: (levelDir: string, parentDir: string) => Promise<void>,
): Promise<void> {
  if (dir !== mountpoint && !dir.startsWith(mountpoint + '/')) throw cgroupError(cgPath, 'mkdir', dir, new Error('not below the mount point'));
  // Every container of a daemon goes under the same parent: once its levels have been walked
  // (made, and set up by `eachLevel`), the next container needs only its own level.
  const parent = dirname(dir);
  if (parent !== mountpoint && !hooks.onMkdir && walkedParents.has(parent)) {
    let made = false;
    try {
      mkdirSync(dir);
      made = true;
    } catch (err) {
      const e = errnoOf(err);
      if (e !== 'ENOENT' && e !== 'EEXIST') throw cgroupError(cgPath, 'mkdir', dir, err);
      walkedParents.delete(parent); // the parent went (ENOENT), or walk as usual (EEXIST)
    }
    if (made) {
      await eachLevel?.(dir, parent);
      return;
    }
  }
  const rel = dir.slice(mountpoint.length).split('/').filter(Boolean);
  let cur = mountpoint;
  for (const part of rel) {
    const up = cur;
    cur = join(cur, part);
    try {
      mkdirSync(cur);
      await hooks.onMkdir?.(cur);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw cgroupError(cgPath, 'mkdir', cur, err);
    }
    await eachLevel?.(cur, up);
  }
  if (parent !== mountpoint && !hooks.onMkdir) walkedParents.add(parent);
}

/** Subdirectories of a cgroup (its child cgroups), recursively, parents before children. */
export async function childCgroups(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return out;
    throw new BerthError(codeFor(errnoOf(err)), `cgroup dir ${dir}: readdir: ${errnoOf(err) ?? String(err)}`, { cause: err });
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const sub = join(dir, e.name);
    out.push(sub, ...(await childCgroups(sub)));
  }
  return out;
}

/** Pids listed in `cgroup.procs` of `dir` and every cgroup below it. */
export async function procsRecursive(dir: string, cgPath: string): Promise<number[]> {
  const pids = new Set<number>();
  for (const d of [dir, ...(await childCgroups(dir))]) {
    let text: string;
    try {
      text = readFileSync(join(d, 'cgroup.procs'), 'utf8');
    } catch (err) {
      // A child removed while we walk, or the cgroup already gone: nothing to report there.
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENODEV') continue;
      throw cgroupError(cgPath, 'read', join(d.slice(dir.length + 1), 'cgroup.procs'), err);
    }
    for (const tok of text.split(/\s+/)) if (tok) pids.add(Number(tok));
  }
  return [...pids].sort((a, b) => a - b);
}

/**
 * SIGKILL every pid `list()` returns until it returns none, for at most `timeoutMs`.
 * Refuses to kill the calling process: a cgroup that holds it is not a container's.
 */
export async function killUntilEmpty(cgPath: string, list: () => Promise<number[]>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = await list();
    if (pids.length === 0) return;
    if (pids.includes(process.pid)) {
      throw new BerthError('failed-precondition', `cgroup "${cgPath}": destroy: the calling process ${process.pid} is in it; refusing to kill`);
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch (err) {
        if (errnoOf(err) !== 'ESRCH') throw cgroupError(cgPath, 'kill', `pid ${pid}`, err);
      }
    }
    if (Date.now() > deadline) {
      throw new BerthError('deadline-exceeded', `cgroup "${cgPath}": destroy: pids ${pids.join(',')} still present after ${timeoutMs}ms of SIGKILL`);
    }
    await sleep(20);
  }
}

/**
 * The fast path of a destroy: remove `dir` with one rmdir, which the kernel refuses (EBUSY) while
 * a process or a child cgroup is in it. True when it is gone (or was); false when the full
 * destroy (thaw, kill, children first) must run. A task that has exited leaves exactly such an
 * empty, childless cgroup, so its cleanup is one syscall per hierarchy, not a walk of each.
 */
export function rmdirIfEmpty(dir: string): boolean {
  if (hooks.rmdir) return false;
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    return errnoOf(err) === 'ENOENT';
  }
}

/**
 * Remove a cgroup directory and every cgroup below it, deepest first. A missing directory
 * is fine; EBUSY (a task still exiting, its css not yet released) is retried for `timeoutMs`.
 */
export async function rmdirTree(dir: string, cgPath: string, timeoutMs = 5_000): Promise<void> {
  const dirs = [dir, ...(await childCgroups(dir))].reverse();
  const deadline = Date.now() + timeoutMs;
  for (const d of dirs) {
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      try {
        if (hooks.rmdir) await hooks.rmdir(d);
        else rmdirSync(d);
        break;
      } catch (err) {
        const errno = errnoOf(err);
        if (errno === 'ENOENT') break;
        if (errno === 'EBUSY' && Date.now() < deadline) {
          await sleep(delay);
          continue;
        }
        throw cgroupError(cgPath, 'rmdir', d, err);
      }
    }
  }
}

/** Poll `check` every `intervalMs` until it is true or `timeoutMs` passes; returns the last result. */
export async function pollUntil(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/** A kernel number; `max` and values beyond JS's exact range (v1's "no limit") become UNLIMITED. */
export function parseLimit(text: string | undefined): number {
  const t = (text ?? '').trim();
  if (t === '') return 0;
  if (t === 'max') return UNLIMITED;
  const n = Number(t);
  if (!Number.isFinite(n)) return 0;
  return n > UNLIMITED ? UNLIMITED : n;
}

/** A plain number file (usage, counters); missing or empty is 0. */
export function parseNumber(text: string | undefined): number {
  const n = Number((text ?? '').trim());
  return Number.isFinite(n) ? n : 0;
}

/** `key value` lines (memory.stat, cpu.stat, memory.events, oom_control) to a map. */
export function parseKeyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = parseLimit(v);
  }
  return out;
}
