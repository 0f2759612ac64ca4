// The overlayfs snapshotter: each layer a directory, an active snapshot an upper dir over its parents' trees.
//
// Layout: <root>/<id>/fs (the layer, or the upper dir while active) and <root>/<id>/work (overlay's
// workdir, active only). Ids are short decimal numbers, so "lowerdir=/var/lib/berth/snapshots/12/fs:..."
// costs ~32 bytes a layer and a mount's option string (one page, 4096 bytes, for mount(2)'s data)
// holds well over 100 layers; mount.ts falls back to relative paths for longer ones.
import type Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Trash } from '../../common/trash.js';
import type { Mount } from '../types.js';
import { DirSnapshotter } from './base.js';
import type { SnapshotRow } from './metadata.js';

/** Snapshots as overlayfs layers under `root` (dataRoot/snapshots). */
export class OverlaySnapshotter extends DirSnapshotter {
  constructor(db: Database.Database, root: string, trash?: Trash) {
    super(db, root, 'overlayfs', trash);
  }

  // Three mkdirs, on every container create: in place, not as thread-pool round trips.
  protected async materialize(row: SnapshotRow): Promise<void> {
    mkdirSync(join(this.idDir(row.id), 'fs'), { recursive: true, mode: 0o755 });
    if (row.kind === 'active') mkdirSync(join(this.idDir(row.id), 'work'), { recursive: true, mode: 0o700 });
  }

  protected mountsOf(row: SnapshotRow, ancestors: SnapshotRow[]): Mount[] {
    const lowers = ancestors.map((a) => this.fsDir(a.id));
    if (row.kind === 'active') {
      if (lowers.length === 0) return [{ type: 'bind', source: this.fsDir(row.id), options: ['rbind', 'rw'] }];
      return [{
        type: 'overlay',
        source: 'overlay',
        // index=off: the layers are shared by many mounts; overlay's inode index would tie them to one upper.
        options: [`workdir=${join(this.idDir(row.id), 'work')}`, `upperdir=${this.fsDir(row.id)}`, `lowerdir=${lowers.join(':')}`, 'index=off'],
      }];
    }
    // A view: read-only; overlay needs at least two lower dirs without an upper, so one layer is a bind.
    if (lowers.length === 0) return [{ type: 'bind', source: this.fsDir(row.id), options: ['rbind', 'ro'] }];
    if (lowers.length === 1) return [{ type: 'bind', source: lowers[0], options: ['rbind', 'ro'] }];
    return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowers.join(':')}`, 'index=off'] }];
  }
}
