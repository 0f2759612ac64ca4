// Snapshot metadata in the shared SQLite file: key/name -> numeric id, parent, kind, labels, per snapshotter.
//
// Committed snapshots and active/view ones share one key space (containerd's model): a committed
// snapshot's key is its name (a chain id), an active one's is the caller's key. The numeric id names
// the directory, never reused, so a crash-left directory cannot be mistaken for a new snapshot's.
import type Database from 'better-sqlite3';
import { errAlreadyExists, errInvalid, errNotFound, errPrecondition } from '../../common/errors.js';
import type { SnapshotInfo, SnapshotKind } from '../types.js';
import { prepared } from '../../common/sql.js';

/** A snapshot row. */
export interface SnapshotRow extends SnapshotInfo {
  id: number;
}

interface Raw {
  key: string;
  id: number;
  parent: string | null;
  kind: SnapshotKind;
  labels: string;
  created_at: string;
}

const toRow = (r: Raw): SnapshotRow => ({
  name: r.key,
  id: r.id,
  ...(r.parent !== null ? { parent: r.parent } : {}),
  kind: r.kind,
  createdAt: new Date(r.created_at),
  labels: JSON.parse(r.labels) as Record<string, string>,
});

/** Create the snapshot tables if missing (idempotent; other layers share the file). */
export function createSnapshotTables(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS snapshots (
      snapshotter TEXT NOT NULL,
      key TEXT NOT NULL,
      id INTEGER NOT NULL,
      parent TEXT,
      kind TEXT NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
      labels TEXT NOT NULL DEFAULT '{}',
      created_at TEXT NOT NULL,
      PRIMARY KEY (snapshotter, key)
    );
    CREATE INDEX IF NOT EXISTS snapshots_parent ON snapshots (snapshotter, parent);
    CREATE TABLE IF NOT EXISTS snapshot_ids (snapshotter TEXT PRIMARY KEY, next INTEGER NOT NULL);
  `);
}

/** The metadata of one snapshotter instance (`snapshotter` column), all changes in transactions. */
export class SnapshotMetadata {
  constructor(
    private readonly db: Database.Database,
    readonly snapshotter: string,
  ) {
    createSnapshotTables(db);
  }

  get(key: string): SnapshotRow {
    const r = prepared(this.db, 'SELECT * FROM snapshots WHERE snapshotter = ? AND key = ?').get(this.snapshotter, key) as Raw | undefined;
    if (!r) throw errNotFound(`snapshot "${key}": not found`);
    return toRow(r);
  }

  find(key: string): SnapshotRow | undefined {
    const r = prepared(this.db, 'SELECT * FROM snapshots WHERE snapshotter = ? AND key = ?').get(this.snapshotter, key) as Raw | undefined;
    return r ? toRow(r) : undefined;
  }

  list(): SnapshotRow[] {
    return (prepared(this.db, 'SELECT * FROM snapshots WHERE snapshotter = ? ORDER BY id').all(this.snapshotter) as Raw[]).map(toRow);
  }

  /** The chain of committed ancestors of `parent`, nearest first. */
  ancestors(parent: string | undefined): SnapshotRow[] {
    const out: SnapshotRow[] = [];
    for (let p = parent; p !== undefined; ) {
      const row = this.get(p);
      out.push(row);
      p = row.parent;
      if (out.length > 10000) throw errPrecondition(`snapshot "${parent}": parent chain loops`);
    }
    return out;
  }

  /** Insert a new active or view snapshot on a committed parent; returns the row with its new id. */
  create(kind: 'active' | 'view', key: string, parent: string | undefined, labels: Record<string, string> = {}): SnapshotRow {
    if (!key) throw errInvalid('snapshot: empty key');
    return this.db.transaction(() => {
      if (this.find(key)) throw errAlreadyExists(`snapshot "${key}": already exists`);
      if (parent !== undefined) {
        const p = this.find(parent);
        if (!p) throw errNotFound(`snapshot "${key}": parent "${parent}" not found`);
        if (p.kind !== 'committed') throw errPrecondition(`snapshot "${key}": parent "${parent}" is ${p.kind}, not committed`);
      }
      prepared(this.db, 'INSERT OR IGNORE INTO snapshot_ids (snapshotter, next) VALUES (?, 1)').run(this.snapshotter);
      const { next } = prepared(this.db, 'SELECT next FROM snapshot_ids WHERE snapshotter = ?').get(this.snapshotter) as { next: number };
      prepared(this.db, 'UPDATE snapshot_ids SET next = next + 1 WHERE snapshotter = ?').run(this.snapshotter);
      const createdAt = new Date().toISOString();
      prepared(this.db, 'INSERT INTO snapshots (snapshotter, key, id, parent, kind, labels, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(this.snapshotter, key, next, parent ?? null, kind, JSON.stringify(labels), createdAt);
      return this.get(key);
    })();
  }

  /** Turn the active snapshot `key` into the committed snapshot `name` (same id, same directory). */
  commit(name: string, key: string, labels?: Record<string, string>): SnapshotRow {
    if (!name) throw errInvalid('snapshot commit: empty name');
    return this.db.transaction(() => {
      const row = this.get(key);
      if (row.kind !== 'active') throw errPrecondition(`snapshot "${key}": is ${row.kind}, only an active snapshot can be committed`);
      if (this.find(name)) throw errAlreadyExists(`snapshot "${name}": already exists`);
      prepared(this.db, "UPDATE snapshots SET key = ?, kind = 'committed', labels = ?, created_at = ? WHERE snapshotter = ? AND key = ?")
        .run(name, JSON.stringify(labels ?? row.labels), new Date().toISOString(), this.snapshotter, key);
      return this.get(name);
    })();
  }

  setLabels(key: string, labels: Record<string, string>): void {
    const r = prepared(this.db, 'UPDATE snapshots SET labels = ? WHERE snapshotter = ? AND key = ?').run(JSON.stringify(labels), this.snapshotter, key);
    if (r.changes === 0) throw errNotFound(`snapshot "${key}": not found`);
  }

  /** Delete the row; refused while any snapshot has it as parent. */
  remove(key: string): SnapshotRow {
    return this.db.transaction(() => {
      const row = this.get(key);
      const child = prepared(this.db, 'SELECT key FROM snapshots WHERE snapshotter = ? AND parent = ? LIMIT 1').get(this.snapshotter, key) as
        | { key: string }
        | undefined;
      if (child) throw errPrecondition(`snapshot "${key}": has a child snapshot "${child.key}"; remove it first`);
      prepared(this.db, 'DELETE FROM snapshots WHERE snapshotter = ? AND key = ?').run(this.snapshotter, key);
      return row;
    })();
  }
}
