// The volume table in the shared metadata.db and Docker's on-disk layout `<data-root>/volumes/<name>/_data`, kept consistent across crashes.
//
// Every create and remove is journaled in the row's `state`, so a berthd killed at any point leaves
// no half volume: the next open finishes what was begun.
//   create: row `creating` -> mkdir <name>/ and <name>/_data -> fsync -> row `ready`
//   remove: row `removing` -> rm -r <name>/ -> row deleted
//   open:   `creating` rows lose their directory and row; `removing` rows are removed to the end;
//           a `ready` row without its `_data` gets an empty one; a directory with `_data` and no
//           row (copied in, as dockerd adopts such directories) is adopted.
import type Database from 'better-sqlite3';
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errAlreadyExists } from '../common/errors.js';
import { LOCAL_DRIVER } from './names.js';

/** A volume as stored. `labels`/`options` are null when none were given (Docker shows `null` then, `{}` for an empty map). */
export interface VolumeRecord {
  name: string;
  driver: string;
  labels: Record<string, string> | null;
  options: Record<string, string> | null;
  /** ISO time of creation. */
  created: string;
}

type Row = { name: string; driver: string; labels: string; options: string; created: string; state: string };

const decode = (r: Row): VolumeRecord => ({
  name: r.name, driver: r.driver, labels: JSON.parse(r.labels) as VolumeRecord['labels'], options: JSON.parse(r.options) as VolumeRecord['options'], created: r.created,
});

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The `volumes` table and directory; methods are synchronous except the removal of a tree. */
export class VolumeStore {
  /** `<data-root>/volumes` */
  readonly root: string;

  constructor(private readonly db: Database.Database, dataRoot: string) {
    this.root = join(dataRoot, 'volumes');
    db.exec(`
      CREATE TABLE IF NOT EXISTS volumes (
        name TEXT PRIMARY KEY,
        driver TEXT NOT NULL,
        labels TEXT NOT NULL,
        options TEXT NOT NULL,
        created TEXT NOT NULL,
        state TEXT NOT NULL
      );
    `);
    // 0701 as dockerd: others may traverse to a volume's _data (a container user), not list names.
    mkdirSync(this.root, { recursive: true, mode: 0o701 });
  }

  /** The volume's directory (metadata side). */
  dir(name: string): string {
    return join(this.root, name);
  }

  /** Where the data lives: the `Mountpoint`. */
  dataPath(name: string): string {
    return join(this.root, name, '_data');
  }

  /** A ready volume, or undefined. */
  get(name: string): VolumeRecord | undefined {
    const r = this.db.prepare("SELECT * FROM volumes WHERE name = ? AND state = 'ready'").get(name) as Row | undefined;
    return r ? decode(r) : undefined;
  }

  /** Every ready volume, by name. */
  list(): VolumeRecord[] {
    return (this.db.prepare("SELECT * FROM volumes WHERE state = 'ready' ORDER BY name").all() as Row[]).map(decode);
  }

  /** Create the row and the directories; throws already-exists if the name has a row in any state. */
  create(v: VolumeRecord): VolumeRecord {
    const row = [v.name, v.driver, JSON.stringify(v.labels), JSON.stringify(v.options), v.created];
    this.db.transaction(() => {
      if (this.db.prepare('SELECT 1 FROM volumes WHERE name = ?').get(v.name)) throw errAlreadyExists(`volume ${v.name} already exists`);
      this.db.prepare("INSERT INTO volumes (name, driver, labels, options, created, state) VALUES (?, ?, ?, ?, ?, 'creating')").run(...row);
    }).immediate();
    try {
      mkdirSync(this.dir(v.name), { mode: 0o701 });
      mkdirSync(this.dataPath(v.name), { mode: 0o755 });
      syncDir(this.dir(v.name));
      syncDir(this.root);
    } catch (e) {
      rmSync(this.dir(v.name), { recursive: true, force: true });
      this.db.prepare('DELETE FROM volumes WHERE name = ?').run(v.name);
      throw e;
    }
    this.db.prepare("UPDATE volumes SET state = 'ready' WHERE name = ?").run(v.name);
    return v;
  }

  /** Journal the removal; the volume is gone for readers from here on. */
  beginRemove(name: string): void {
    this.db.prepare("UPDATE volumes SET state = 'removing' WHERE name = ?").run(name);
  }

  /** Remove the directory tree, then the row. */
  async finishRemove(name: string): Promise<void> {
    await rm(this.dir(name), { recursive: true, force: true });
    this.db.prepare('DELETE FROM volumes WHERE name = ?').run(name);
  }

  /**
   * Settle what a crash left (see the file header). Returns what was done, for the log.
   * Called once at open, before anything else uses the store.
   */
  async recover(): Promise<{ undone: string[]; removed: string[]; adopted: string[]; repaired: string[] }> {
    const out = { undone: [] as string[], removed: [] as string[], adopted: [] as string[], repaired: [] as string[] };
    const rows = this.db.prepare('SELECT * FROM volumes').all() as Row[];
    const known = new Set(rows.map((r) => r.name));
    for (const r of rows) {
      if (r.state === 'creating') {
        rmSync(this.dir(r.name), { recursive: true, force: true });
        this.db.prepare('DELETE FROM volumes WHERE name = ?').run(r.name);
        out.undone.push(r.name);
      } else if (r.state === 'removing') {
        await this.finishRemove(r.name);
        out.removed.push(r.name);
      } else {
        try {
          lstatSync(this.dataPath(r.name));
        } catch {
          mkdirSync(this.dataPath(r.name), { recursive: true, mode: 0o755 });
          out.repaired.push(r.name);
        }
      }
    }
    for (const e of readdirSync(this.root, { withFileTypes: true })) {
      if (!e.isDirectory() || known.has(e.name) || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(e.name)) continue;
      let st;
      try {
        st = lstatSync(this.dataPath(e.name));
      } catch {
        continue; // not a volume directory (dockerd's isVolume: it has _data)
      }
      if (!st.isDirectory()) continue;
      this.db.prepare("INSERT INTO volumes (name, driver, labels, options, created, state) VALUES (?, ?, 'null', 'null', ?, 'ready')")
        .run(e.name, LOCAL_DRIVER, lstatSync(this.dir(e.name)).ctime.toISOString());
      out.adopted.push(e.name);
    }
    return out;
  }
}
