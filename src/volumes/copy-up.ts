// Copy-up: an empty volume first mounted over an image directory gets that directory's content (dockerd's populateVolume).
//
// As dockerd (continuity fs.CopyDir): only into an empty volume, only from a directory; the volume's
// root takes the directory's owner, mode and times; files keep owners, modes, times, links, devices
// and xattrs. The copy is `cp -a` (one process per populated volume, at container create only):
// it keeps hard links and sparse files, and a filesystem without xattrs does not fail it.
import { execFile } from 'node:child_process';
import { chownSync, chmodSync, lstatSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { promisify } from 'node:util';
import { errInternal } from '../common/errors.js';

const run = promisify(execFile);

/** True when the volume's data directory is empty (a candidate for copy-up). */
export function isEmptyDir(dir: string): boolean {
  return readdirSync(dir).length === 0;
}

/**
 * Copy the image directory `src` (a host path inside the container's mounted rootfs, already
 * resolved inside it) into the volume data dir `dst` if `dst` is empty and `src` is a directory.
 * Returns whether anything was done.
 */
export async function copyUp(src: string, dst: string): Promise<boolean> {
  let st;
  try {
    st = statSync(src);
  } catch {
    return false; // nothing at the destination in the image
  }
  if (!st.isDirectory() || !isEmptyDir(dst)) return false;
  if (!isEmptyDir(src)) {
    try {
      await run('cp', ['-a', '--', `${src}/.`, `${dst}/`], { maxBuffer: 1 << 20 });
    } catch (e) {
      throw errInternal(`copy image content from "${src}" into volume "${dst}": ${((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}`, e);
    }
  }
  // The root too: cp -a does not always touch an existing target directory's owner.
  const s = lstatSync(src);
  chownSync(dst, s.uid, s.gid);
  chmodSync(dst, s.mode & 0o7777);
  utimesSync(dst, s.atime, s.mtime);
  return true;
}
