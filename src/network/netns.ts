// Pinned network namespaces for CNI: `berth-netns add|del PATH` (native/netns), one short exec each.
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError, errInternal } from '../common/errors.js';
import { HostHelperError, hostHelper } from '../common/host-helper.js';

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

/** berth-netns's error line (one JSON object) as a message, else its output as is. */
function failure(path: string, output: string): BerthError {
  let msg = output.trim();
  try { msg = (JSON.parse(msg.split('\n').pop()!) as { message: string }).message; } catch { /* not our JSON */ }
  return new BerthError('internal', `network namespace ${path}: ${msg}`);
}

/**
 * A new network namespace with `lo` up, kept alive by a bind mount on `path`. Through berth-helper
 * when it runs (no fork of berthd), else a plain exec.
 */
export async function pinNetns(path: string, bin = netnsBinaryPath()): Promise<void> {
  const h = hostHelper();
  if (!h) return run(bin, 'add', path);
  const r = await h.spawn(bin, ['add', path]);
  if (r.code !== 0) throw failure(path, r.output);
}

/** Unmount and remove a pinned namespace; one already gone is fine. */
export async function unpinNetns(path: string, bin = netnsBinaryPath()): Promise<void> {
  if (!existsSync(path)) return;
  const h = hostHelper();
  if (!h) return run(bin, 'del', path);
  try {
    await h.umount(path, 2 /* MNT_DETACH */);
  } catch (e) {
    if (!(e instanceof HostHelperError) || (e.code !== 'EINVAL' && e.code !== 'ENOENT')) throw new BerthError('internal', `network namespace ${path}: umount`, { cause: e });
  }
  rmSync(path, { force: true });
}
