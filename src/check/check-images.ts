// berthd check: the content store and snapshots, through the GC's own mark (what no image chain or container reaches) and its consistency check.
import type Database from 'better-sqlite3';
import { join } from 'node:path';
import { LocalContentStore } from '../images/content/local-store.js';
import { GarbageCollector } from '../images/gc.js';
import { SqliteImageStore } from '../images/image-store.js';
import { OverlaySnapshotter } from '../images/snapshots/overlay.js';
import type { CheckContext } from './context.js';
import type { Finding } from './findings.js';

/** Findings about images, and the snapshot keys that exist (for the container checks). */
export async function checkImages(ctx: CheckContext, db: Database.Database, opts: { verifyContent?: boolean } = {}): Promise<{ findings: Finding[]; snapshotKeys: Set<string> }> {
  const content = new LocalContentStore(join(ctx.dataRoot, 'content'));
  // Read-only use: the constructors only declare tables that the daemon has made already.
  const snapshotter = new OverlaySnapshotter(db, join(ctx.dataRoot, 'snapshots'));
  const images = new SqliteImageStore(db);
  const gc = new GarbageCollector({ content, snapshotter, images, containerSnapshots: () => [...ctx.state.records.values()].map((c) => c.snapshotKey) });
  const out: Finding[] = [];
  const checked = await gc.check(opts);
  for (const p of checked.problems) out.push({ kind: p.kind, object: p.object, message: p.message });
  // With berthd down nothing is under way: no grace. Running, a pull or unpack may hold young objects.
  const grace = ctx.daemonPid ? ctx.graceMs : 0;
  const g = await gc.unreferenced({ graceMs: grace });
  const young = (d: Date) => Date.now() - d.getTime() < grace;
  for (const s of g.snapshots) {
    out.push({ kind: 'orphan-snapshot', object: s.name, message: `snapshot ${s.name} (${s.kind}): no image or container uses it` });
  }
  for (const b of g.blobs) {
    if (young(b.createdAt)) continue;
    out.push({ kind: 'orphan-blob', object: b.digest, message: `blob ${b.digest} (${b.size} bytes): no image references it` });
  }
  for (const i of g.ingests) {
    out.push({ kind: 'partial-blob', object: i.ref, message: `ingest ${i.ref}: ${i.offset} bytes of a blob never finished` });
  }
  return { findings: out, snapshotKeys: new Set((await snapshotter.list()).map((s) => s.name)) };
}
