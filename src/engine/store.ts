// The engine's container table (`engine_containers`) in the shared metadata.db: one row per container, changed in transactions.
import type { SandboxState } from '../network/networks.js';
import type Database from 'better-sqlite3';
import { errNotFound } from '../common/errors.js';
import { nameInUse, resolveRef } from './names.js';
import type { MountPointRecord } from '../volumes/types.js';
import type { ContainerConfig, ContainerState, HealthState, HostConfig } from './types.js';
import { prepared } from '../common/sql.js';

/** What the engine keeps of a container's state; Running/Paused/... are derived from `status` on the wire. */
export interface StoredState {
  status: ContainerState['Status'];
  pid: number;
  exitCode: number;
  error: string;
  oomKilled: boolean;
  startedAt: string;
  finishedAt: string;
  health?: HealthState;
}

/** A container as the engine records it (the lifecycle keeps the OCI spec and the task). */
export interface ContainerRecord {
  id: string;
  /** With the leading slash. */
  name: string;
  created: string;
  path: string;
  args: string[];
  /** The merged config (image defaults + request), as inspect shows it. */
  config: ContainerConfig;
  hostConfig: HostConfig;
  /** Image id (`sha256:...`). */
  image: string;
  /** The image as the request named it (Config.Image). */
  imageRef: string;
  snapshotKey: string;
  state: StoredState;
  restartCount: number;
  hasBeenStarted: boolean;
  /** Set by stop/kill from the user; restart policies (a later issue) read it. */
  manuallyStopped: boolean;
  logPath: string;
  /** json-file rotation from LogConfig with the defaults applied (max-size in bytes, 0 = none; max-file; compress). */
  logOpts?: { maxSize?: number; maxFiles?: number; compress?: boolean };
  /** Log entries the shim dropped, over the container's life (log-dropped events add to it). */
  logDropped?: number;
  /** The current (or last) task's drop count already added to `logDropped`. */
  logDroppedTask?: number;
  hostnamePath: string;
  hostsPath: string;
  resolvConfPath: string;
  platform: string;
  /** Bridge networks the container is on, by network name (Docker's NetworkSettings.Networks keys). */
  networks?: Record<string, NetworkAttachment>;
  /** The network sandbox while the task runs (pinned netns, CNI results, bound ports); undone at exit. */
  sandbox?: SandboxState;
  /** Resolved binds, volumes and tmpfs mounts (dockerd's MountPoints): the volumes it references, inspect's Mounts. */
  mountPoints?: MountPointRecord[];
  /** An exit being applied: noted before its task (which holds it) is deleted, so a crash meanwhile keeps it. */
  exitPending?: { exitCode: number; oomKilled: boolean; startedAt?: string; finishedAt: string; error: string };
}

/**
 * A container's configured endpoint on one network: what each start asks CNI for. `links`: the endpoint's
 * legacy links (`name:alias`), on a user network names only this container resolves.
 */
export interface NetworkAttachment { networkId: string; aliases?: string[]; ipv4?: string; gwPriority?: number; links?: string[] }

/** Docker's zero time, which inspect shows for times not set. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

type Row = { id: string; name: string; created: string; data: string };

/** The table; all methods are synchronous (better-sqlite3) and each write is one transaction. */
export class ContainerStore {
  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS engine_containers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL,
        data TEXT NOT NULL
      );
    `);
  }

  private decode(r: Row): ContainerRecord {
    return { ...(JSON.parse(r.data) as ContainerRecord), id: r.id, name: r.name, created: r.created };
  }

  list(): ContainerRecord[] {
    return (prepared(this.db, 'SELECT * FROM engine_containers ORDER BY created, id').all() as Row[]).map((r) => this.decode(r));
  }

  /** The containers with legacy links (HostConfig.Links): SQLite picks them, the others are not decoded. */
  withLinks(): ContainerRecord[] {
    return (prepared(this.db, "SELECT * FROM engine_containers WHERE json_array_length(data, '$.hostConfig.Links') > 0").all() as Row[]).map((r) => this.decode(r));
  }

  find(id: string): ContainerRecord | undefined {
    const r = prepared(this.db, 'SELECT * FROM engine_containers WHERE id = ?').get(id) as Row | undefined;
    return r ? this.decode(r) : undefined;
  }

  get(id: string): ContainerRecord {
    const c = this.find(id);
    if (!c) throw errNotFound(`No such container: ${id}`);
    return c;
  }

  /** Resolve a user reference (full id, name, unique id prefix). */
  resolve(ref: string): ContainerRecord {
    const rows = prepared(this.db, 'SELECT id, name FROM engine_containers').all() as Array<{ id: string; name: string }>;
    return this.get(resolveRef(rows, ref).id);
  }

  /** Which container holds `name` (with the slash), if any. */
  byName(name: string): string | undefined {
    return (prepared(this.db, 'SELECT id FROM engine_containers WHERE name = ?').get(name) as { id: string } | undefined)?.id;
  }

  insert(c: ContainerRecord): void {
    this.db.transaction(() => {
      const holder = this.byName(c.name);
      if (holder) throw nameInUse(c.name, holder);
      prepared(this.db, 'INSERT INTO engine_containers (id, name, created, data) VALUES (?, ?, ?, ?)').run(c.id, c.name, c.created, JSON.stringify(c));
    }).immediate();
  }

  /** Read-modify-write in one transaction; `fn` may mutate the record. Returns the new record. */
  update(id: string, fn: (c: ContainerRecord) => void): ContainerRecord {
    return this.db.transaction(() => {
      const c = this.get(id);
      fn(c);
      if (c.id !== id) throw new Error('store: the id of a container cannot change');
      const holder = this.byName(c.name);
      if (holder && holder !== id) throw nameInUse(c.name, holder);
      prepared(this.db, 'UPDATE engine_containers SET name = ?, data = ? WHERE id = ?').run(c.name, JSON.stringify(c), id);
      return c;
    }).immediate();
  }

  delete(id: string): void {
    prepared(this.db, 'DELETE FROM engine_containers WHERE id = ?').run(id);
  }
}
