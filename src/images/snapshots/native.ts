// The native (copy) snapshotter: every snapshot a full copy of its parent, for filesystems overlay cannot sit on.
//
// Slow and space-hungry by design (containerd's "native"): prepare copies the parent's tree with
// cp -a (owners, modes, xattrs, devices, hard links; reflinks where the filesystem has them), and
// the mount is a bind of the snapshot's own tree. Layers are applied with 'native' whiteouts (deletions).
import type Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Mount } from '../types.js';
import { DirSnapshotter } from './base.js';
import type { SnapshotRow } from './metadata.js';

const run = promisify(execFile);

/** Snapshots as full directory copies under `root` (dataRoot/snapshots-native). */
export class NativeSnapshotter extends DirSnapshotter {
  constructor(db: Database.Database, root: string) {
    super(db, root, 'native');
  }

  protected async materialize(row: SnapshotRow, ancestors: SnapshotRow[]): Promise<void> {
    const fs = this.fsDir(row.id);
    if (ancestors.length === 0) {
      await mkdir(fs, { recursive: true, mode: 0o755 });
      return;
    }
    await mkdir(this.idDir(row.id), { recursive: true });
    await run('cp', ['-a', '--reflink=auto', '--', this.fsDir(ancestors[0].id), fs], { maxBuffer: 1 << 20 });
  }

  protected mountsOf(row: SnapshotRow): Mount[] {
    return [{ type: 'bind', source: this.fsDir(row.id), options: ['rbind', row.kind === 'view' ? 'ro' : 'rw'] }];
  }
}
