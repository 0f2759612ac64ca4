// Pinned network namespaces for CNI: `berth-netns add|del PATH` (native/netns), one short exec each.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError, errInternal } from '../common/errors.js';

/** Where berth-netns lives: BERTH_NETNS, else native/build next to this package. */
export function netnsBinaryPath(): string {
  if (process.env.BERTH_NETNS) return process.env.BERTH_NETNS;
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++, d = dirname(d)) {
    const p = join(d, 'native', 'build', 'berth-netns');
    if (existsSync(p)) return p;
  }
  throw errInternal('berth-netns not found (run `npm install` to build native/, or set BERTH_NETNS)');
}

function run(bin: string, verb: 'add' | 'del', path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, [verb, path], (err, _out, stderr) => {
      if (!err) return resolve();
      let msg = stderr.trim() || err.message;
      try { msg = (JSON.parse(stderr.trim().split('\n').pop()!) as { message: string }).message; } catch { /* not our JSON */ }
      reject(new BerthError('internal', `network namespace ${path}: ${msg}`));
    });
  });
}

/** A new network namespace with `lo` up, kept alive by a bind mount on `path`. */
export const pinNetns = (path: string, bin = netnsBinaryPath()) => run(bin, 'add', path);
/** Unmount and remove a pinned namespace; one already gone is fine. */
export const unpinNetns = (path: string, bin = netnsBinaryPath()) => (existsSync(path) ? run(bin, 'del', path) : Promise.resolve());
