// Mounting a snapshot's mounts on a directory (for unpack checks, tests and tools; not the container hot path).
//
// Node has no mount(2), so this runs util-linux mount(8). When an overlay option string is longer
// than a page (mount(2) copies at most one page of data), the layer paths are made relative to
// their common parent and mount(8) runs with that as its cwd: overlayfs resolves relative lowerdirs
// against the mounting process's cwd, so no chdir happens in this process.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { dirname, relative, sep } from 'node:path';
import { errPrecondition } from '../../common/errors.js';
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

/** Mount `mounts` in order on `target`. On failure, whatever got mounted is unmounted again. */
export async function mountAll(mounts: Mount[], target: string): Promise<void> {
  let done = 0;
  try {
    for (const m of mounts) {
      let options = m.options;
      let cwd: string | undefined;
      if (m.type === 'overlay' && options.join(',').length >= PAGE_SIZE) ({ cwd, options } = compactOverlayOptions(options));
      if (options.join(',').length >= PAGE_SIZE) throw errPrecondition(`mount ${m.type} on "${target}": options longer than a page even with relative paths`);
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

/** Unmount `target` (recursively, for rbind mounts). */
export async function unmount(target: string): Promise<void> {
  await run('umount', ['-R', target]).catch((e: unknown) => {
    const err = e as { stderr?: string };
    throw errPrecondition(`unmount "${target}": ${(err.stderr ?? String(e)).trim()}`, e);
  });
}
