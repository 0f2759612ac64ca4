// Runs the snapshotter conformance suite on the overlayfs and native snapshotters.
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { OverlaySnapshotter } from '../../src/images/snapshots/overlay.js';
import { NativeSnapshotter } from '../../src/images/snapshots/native.js';
import { snapshotterSuite } from './snapshotter.js';

snapshotterSuite('overlay', async (root) => {
  const db = new Database(join(root, 'metadata.db'));
  const snapshotter = await new OverlaySnapshotter(db, join(root, 'snapshots')).init();
  return {
    snapshotter,
    // overlayfs whiteout: a 0/0 character device.
    whiteout: (dir, name) => execFileSync('mknod', [join(dir, name), 'c', '0', '0']),
    close: () => db.close(),
  };
});

snapshotterSuite('native', async (root) => {
  const db = new Database(join(root, 'metadata.db'));
  const snapshotter = await new NativeSnapshotter(db, join(root, 'snapshots-native')).init();
  return { snapshotter, whiteout: (dir, name) => rmSync(join(dir, name), { recursive: true }), close: () => db.close() };
});
