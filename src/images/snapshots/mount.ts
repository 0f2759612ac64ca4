// Mounting a snapshot's mounts on a directory: container rootfs mounts (engine/rootfs.ts), unpack checks, tests and tools.
//
// Node has no mount(2): the calls go through the daemon's berth-helper (common/host-helper.ts),
// or, when it is not built, util-linux mount(8)/umount(8). When an overlay option string is longer
// than a page (mount(2) copies at most one page of data), the layer paths are made relative to
// their common parent and the mount runs from there: overlayfs resolves relative lowerdirs
// against the mounting process's cwd, so no chdir happens in this process.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { dirname, relative, sep } from 'node:path';
import { readFileSync } from 'node:fs';
import { errPrecondition } from '../../common/errors.js';
import { HostHelperError, hostHelper, type HostHelper } from '../../common/host-helper.js';
import { MS_BIND, MS_REC, MS_REMOUNT } from '../../runtime/linux.js';
import { parseMountOptions, PER_MOUNT_FLAGS } from '../../runtime/mounts.js';
import type { Mount } from '../types.js';

const run = promisify(execFile);
/** mount(2) copies the data argument into one page. */
export const PAGE_SIZE = 4096;

const PATH_OPTS = ['lowerdir=', 'upperdir=', 'workdir='];

/** The longest directory that contains every path. */
function commonDir(paths: string[]): string {
  let prefix = dirname(paths[0]);
  const under = (p: string) => p === prefix || p.startsWith(prefix.endsWith(sep) ? prefix : prefix + sep);
  while (!paths.every(under)) prefix = dirname(prefix);
  return prefix;
}

/** The options rewritten relative to their common directory, for option strings beyond a page. */
export function compactOverlayOptions(options: string[]): { cwd: string; options: string[] } {
  const paths: string[] = [];
  for (const o of options) {
    const opt = PATH_OPTS.find((p) => o.startsWith(p));
    if (opt) paths.push(...o.slice(opt.length).split(':'));
  }
  const cwd = commonDir(paths);
  const rel = options.map((o) => {
    const opt = PATH_OPTS.find((p) => o.startsWith(p));
    if (!opt) return o;
    return opt + o.slice(opt.length).split(':').map((p) => relative(cwd, p)).join(':');
  });
  return { cwd, options: rel };
}

/** One mount with mount(2) calls, as mount(8) makes them (a bind's flags take a remount). */
async function mountWithHelper(h: HostHelper, m: Mount, options: string[], target: string, cwd: string | undefined): Promise<void> {
  const o = parseMountOptions(m.type === 'bind' && !options.some((x) => x === 'bind' || x === 'rbind') ? ['bind', ...options] : options);
  if (m.type === 'bind') {
    // The first call of a bind takes only MS_BIND/MS_REC; ro, nosuid... need a remount of it.
    await h.mount(m.source, target, '', o.flags & (MS_BIND | MS_REC), '');
    const attrs = o.flags & PER_MOUNT_FLAGS;
    if (attrs) {
      try {
        await h.mount('', target, '', MS_REMOUNT | MS_BIND | attrs, '');
      } catch (e) {
        await h.umount(target).catch(() => undefined);
        throw e;
      }
    }
  } else {
    await h.mount(m.source, target, m.type, o.flags, o.data, cwd ?? '');
  }
  for (const p of o.propagation) await h.mount('', target, '', p, '');
}

/** Mount `mounts` in order on `target`. On failure, whatever got mounted is unmounted again. */
export async function mountAll(mounts: Mount[], target: string): Promise<void> {
  const h = hostHelper();
  let done = 0;
  try {
    for (const m of mounts) {
      let options = m.options;
      let cwd: string | undefined;
      if (m.type === 'overlay' && options.join(',').length >= PAGE_SIZE) ({ cwd, options } = compactOverlayOptions(options));
      if (options.join(',').length >= PAGE_SIZE) throw errPrecondition(`mount ${m.type} on "${target}": options longer than a page even with relative paths`);
      if (h) {
        await mountWithHelper(h, m, options, target, cwd).catch((e: unknown) => {
          throw errPrecondition(`mount ${m.type} on "${target}": ${(e as Error).message}`, e);
        });
        done++;
        continue;
      }
      const args = m.type === 'bind' ? [options.includes('rbind') ? '--rbind' : '--bind'] : ['-t', m.type];
      const opts = options.filter((o) => o !== 'rbind' && o !== 'bind');
      // A bind ignores "ro" on the first mount(2); mount(8) does the remount when it sees -o ro with --bind.
      await run('mount', [...args, ...(opts.length ? ['-o', opts.join(',')] : []), m.source, target], { cwd }).catch((e: unknown) => {
        const err = e as { stderr?: string };
        throw errPrecondition(`mount ${m.type} on "${target}": ${(err.stderr ?? String(e)).trim()}`, e);
      });
      done++;
    }
  } catch (e) {
    for (; done > 0; done--) await unmount(target).catch(() => undefined);
    throw e;
  }
}

/** This mount namespace's mount points in mountinfo's order (a parent before its children, a
 *  mount before one stacked on it), octal escapes decoded. The one reader of mountinfo's points. */
function mountPointList(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    if (f.length >= 5) out.push(f[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

/** Each mount point with how many mounts are stacked on it. */
export function stackedMountPoints(mountinfo?: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const mp of mountPointList(mountinfo)) out.set(mp, (out.get(mp) ?? 0) + 1);
  return out;
}

export function isMountPoint(path: string): boolean {
  return mountPointList().includes(path);
}

/** Mount points at or under `target`, parents before children (mountinfo's order). */
function mountsAtOrUnder(target: string): string[] {
  const under = target.endsWith('/') ? target : `${target}/`;
  return mountPointList().filter((mp) => mp === target || mp.startsWith(under));
}

/** Unmount `target` and what is mounted under it (`umount -R`: children first, the top mount of each point once). */
export async function unmount(target: string): Promise<void> {
  const h = hostHelper();
  if (h) {
    const points = mountsAtOrUnder(target);
    if (!points.includes(target)) throw errPrecondition(`unmount "${target}": not mounted`);
    // Children come after their parent in mountinfo: the newest first, down to the top mount of `target`.
    for (const mp of points.reverse()) {
      await h.umount(mp).catch((e: unknown) => {
        throw errPrecondition(`unmount "${target}": ${(e as Error).message}`, e);
      });
      if (mp === target) break;
    }
    return;
  }
  await run('umount', ['-R', target]).catch((e: unknown) => {
    const err = e as { stderr?: string };
    throw errPrecondition(`unmount "${target}": ${(err.stderr ?? String(e)).trim()}`, e);
  });
}

/**
 * Unmount the top mount on `target` alone, for a caller that knows nothing is mounted under it
 * (no mountinfo read). A target found not mounted (EINVAL) counts as done.
 */
export async function unmountTop(target: string): Promise<void> {
  const h = hostHelper();
  if (!h) return unmount(target);
  await h.umount(target).catch((e: unknown) => {
    if (e instanceof HostHelperError && e.code === 'EINVAL') return;
    throw errPrecondition(`unmount "${target}": ${(e as Error).message}`, e);
  });
}
