// Image records in the shared SQLite file: a name -> the manifest or index it points at, with labels.
import type Database from 'better-sqlite3';
import { errInvalid, errNotFound } from '../common/errors.js';
import type { Descriptor, ImageRecord, ImageStore } from './types.js';
import { prepared } from '../common/sql.js';

interface Raw {
  name: string;
  target: string;
  labels: string;
  created_at: string;
  updated_at: string;
}

const toRecord = (r: Raw): ImageRecord => ({
  name: r.name,
  target: JSON.parse(r.target) as Descriptor,
  labels: JSON.parse(r.labels) as Record<string, string>,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

/** The `images` table; the caller owns the Database (shared with lifecycle/). */
export class SqliteImageStore implements ImageStore {
  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS images (
        name TEXT PRIMARY KEY,
        target TEXT NOT NULL,
        target_digest TEXT NOT NULL,
        labels TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS images_target ON images (target_digest);
    `);
  }

  async get(name: string): Promise<ImageRecord> {
    return this.getSync(name);
  }

  /** Synchronous get, for use inside a caller's transaction. */
  getSync(name: string): ImageRecord {
    const r = prepared(this.db, 'SELECT * FROM images WHERE name = ?').get(name) as Raw | undefined;
    if (!r) throw errNotFound(`image "${name}": not found`);
    return toRecord(r);
  }

  async list(filter?: (r: ImageRecord) => boolean): Promise<ImageRecord[]> {
    const all = (prepared(this.db, 'SELECT * FROM images ORDER BY name').all() as Raw[]).map(toRecord);
    return filter ? all.filter(filter) : all;
  }

  /** Records pointing at a manifest or index digest. */
  async byTarget(digest: string): Promise<ImageRecord[]> {
    return (prepared(this.db, 'SELECT * FROM images WHERE target_digest = ? ORDER BY name').all(digest) as Raw[]).map(toRecord);
  }

  /** Create or replace the record `name` (a retag moves the name; createdAt of an existing name is kept). */
  async put(record: Omit<ImageRecord, 'createdAt' | 'updatedAt'> & { createdAt?: Date }): Promise<ImageRecord> {
    if (!record.name) throw errInvalid('image record: empty name');
    const now = new Date().toISOString();
    return this.db.transaction(() => {
      const old = prepared(this.db, 'SELECT created_at FROM images WHERE name = ?').get(record.name) as { created_at: string } | undefined;
      const createdAt = old?.created_at ?? record.createdAt?.toISOString() ?? now;
      prepared(this.db, `INSERT INTO images (name, target, target_digest, labels, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(name) DO UPDATE SET target = excluded.target, target_digest = excluded.target_digest,
             labels = excluded.labels, updated_at = excluded.updated_at`)
        .run(record.name, JSON.stringify(record.target), record.target.digest, JSON.stringify(record.labels ?? {}), createdAt, now);
      return this.getSync(record.name);
    })();
  }

  async delete(name: string): Promise<void> {
    const r = prepared(this.db, 'DELETE FROM images WHERE name = ?').run(name);
    if (r.changes === 0) throw errNotFound(`image "${name}": not found`);
  }
}
