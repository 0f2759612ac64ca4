// The lifecycle metadata store: namespaces, containers and tasks in one SQLite file, every change in a transaction.
//
// Lifecycle:
//   const md = MetadataStore.open('/var/lib/berth/metadata.db');
//   md.createContainer({ namespace: 'moby', id: 'web', spec, ... });
//   md.createTask({ namespace: 'moby', containerId: 'web', status: 'creating', ... });
//   md.updateTask('moby', 'web', { status: 'created', pid, shimPid });
//   md.deleteTask('moby', 'web'); md.deleteContainer('moby', 'web');
//   md.close();
// WAL mode: a reader never waits on the writer, and a process killed mid-write leaves the last
// committed state (SQLite rolls the hot journal back on the next open).
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { errAlreadyExists, errConflict, errInvalid, errNotFound } from '../common/errors.js';
import type { Spec } from '../runtime/spec/types.js';
import { prepared } from '../common/sql.js';

/** The namespace Docker's daemon uses in containerd; ours by default. */
export const DEFAULT_NAMESPACE = 'moby';

/**
 * A task's status. `creating` is ours, not containerd's: the row is written before the shim is
 * launched, so a crash between the two leaves a marker that `Lifecycle.open` reconciles.
 */
export type TaskStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** A container: what to run (spec, rootfs/snapshot, image), not whether it runs. */
export interface ContainerRow {
  namespace: string;
  id: string;
  imageRef: string;
  spec: Spec;
  /** Absolute rootfs path the spec runs on. */
  rootfs: string;
  /** The snapshot the rootfs came from, removed with the container through a caller's cleanup. */
  snapshotKey: string;
  labels: Record<string, string>;
  /** The runtime that runs its tasks: `io.berth.shim.v1` (berth-init), or the name of a runc-compatible one (LifecycleOptions.runtimes). */
  runtime: string;
  createdAt: string;
  updatedAt: string;
}

/** A task: the running instance of a container, supervised by one shim. */
export interface TaskRow {
  namespace: string;
  containerId: string;
  status: TaskStatus;
  /** The container's init as the host sees it (0 before the shim reported). */
  pid: number;
  /** /proc/PID/stat start time of `pid`, to tell it from a recycled pid. */
  pidStartTime: number;
  shimPid: number;
  /** The task's dir in the state dir (exit.json, shim.pid, plan, exec.fifo; its sockets are in `<stateDir>/s/`, task-sockets.ts). */
  dir: string;
  /** The cgroup path the manager resolved (reopened with it). */
  cgroupPath: string;
  terminal: boolean;
  stdin: boolean;
  logPath: string;
  exitCode: number | null;
  exitSignal: number | null;
  oomKilled: boolean;
  exitReason: string;
  createdAt: string;
  startedAt: string;
  finishedAt: string;
}

/** Fields of a task that may change after creation. */
export type TaskPatch = Partial<Omit<TaskRow, 'namespace' | 'containerId' | 'createdAt'>>;

/** Fields of a container that may change after creation. */
export type ContainerPatch = Partial<Pick<ContainerRow, 'spec' | 'labels' | 'imageRef' | 'snapshotKey'>>;

/** Each entry moves the schema from version i to i+1; `user_version` records how far a file is. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE namespaces (
     name TEXT PRIMARY KEY,
     labels TEXT NOT NULL DEFAULT '{}',
     created_at TEXT NOT NULL
   );
   CREATE TABLE containers (
     namespace TEXT NOT NULL REFERENCES namespaces(name),
     id TEXT NOT NULL,
     image_ref TEXT NOT NULL DEFAULT '',
     spec TEXT NOT NULL,
     rootfs TEXT NOT NULL,
     snapshot_key TEXT NOT NULL DEFAULT '',
     labels TEXT NOT NULL DEFAULT '{}',
     runtime TEXT NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     PRIMARY KEY (namespace, id)
   );
   CREATE TABLE tasks (
     namespace TEXT NOT NULL,
     container_id TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('creating','created','running','paused','stopped')),
     pid INTEGER NOT NULL DEFAULT 0,
     pid_start_time INTEGER NOT NULL DEFAULT 0,
     shim_pid INTEGER NOT NULL DEFAULT 0,
     dir TEXT NOT NULL,
     cgroup_path TEXT NOT NULL,
     terminal INTEGER NOT NULL DEFAULT 0,
     stdin INTEGER NOT NULL DEFAULT 0,
     log_path TEXT NOT NULL DEFAULT '',
     exit_code INTEGER,
     exit_signal INTEGER,
     oom_killed INTEGER NOT NULL DEFAULT 0,
     exit_reason TEXT NOT NULL DEFAULT '',
     created_at TEXT NOT NULL,
     started_at TEXT NOT NULL DEFAULT '',
     finished_at TEXT NOT NULL DEFAULT '',
     PRIMARY KEY (namespace, container_id),
     FOREIGN KEY (namespace, container_id) REFERENCES containers(namespace, id)
   );`,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

const TASK_COLUMNS: Record<keyof TaskPatch, string> = {
  status: 'status', pid: 'pid', pidStartTime: 'pid_start_time', shimPid: 'shim_pid', dir: 'dir', cgroupPath: 'cgroup_path',
  terminal: 'terminal', stdin: 'stdin', logPath: 'log_path', exitCode: 'exit_code', exitSignal: 'exit_signal',
  oomKilled: 'oom_killed', exitReason: 'exit_reason', startedAt: 'started_at', finishedAt: 'finished_at',
};

type Row = Record<string, unknown>;
const now = () => new Date().toISOString();
/** SQLite has no booleans; store 0/1. */
const sqlValue = (v: unknown) => (typeof v === 'boolean' ? (v ? 1 : 0) : v);

function toContainer(r: Row): ContainerRow {
  return {
    namespace: r.namespace as string,
    id: r.id as string,
    imageRef: r.image_ref as string,
    spec: JSON.parse(r.spec as string) as Spec,
    rootfs: r.rootfs as string,
    snapshotKey: r.snapshot_key as string,
    labels: JSON.parse(r.labels as string) as Record<string, string>,
    runtime: r.runtime as string,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

function toTask(r: Row): TaskRow {
  return {
    namespace: r.namespace as string,
    containerId: r.container_id as string,
    status: r.status as TaskStatus,
    pid: r.pid as number,
    pidStartTime: r.pid_start_time as number,
    shimPid: r.shim_pid as number,
    dir: r.dir as string,
    cgroupPath: r.cgroup_path as string,
    terminal: r.terminal === 1,
    stdin: r.stdin === 1,
    logPath: r.log_path as string,
    exitCode: r.exit_code as number | null,
    exitSignal: r.exit_signal as number | null,
    oomKilled: r.oom_killed === 1,
    exitReason: r.exit_reason as string,
    createdAt: r.created_at as string,
    startedAt: r.started_at as string,
    finishedAt: r.finished_at as string,
  };
}

/**
 * The typed store over `metadata.db`. Every method is one transaction; multi-step changes go
 * through {@link MetadataStore.transaction}. Errors are BerthError `not-found`,
 * `already-exists` or `conflict`, naming the object.
 */
export class MetadataStore {
  private constructor(readonly db: Database.Database) {}

  /** Open (creating or migrating) the database at `file`; WAL mode, foreign keys on. */
  static open(file: string): MetadataStore {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      // NORMAL is durable against a killed process (what we must survive); FULL only adds power loss.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      const store = new MetadataStore(db);
      store.migrate();
      return store;
    } catch (e) {
      db.close();
      throw e;
    }
  }

  /** The schema version of the open file. */
  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  private migrate(): void {
    this.db.transaction(() => {
      const from = this.schemaVersion;
      if (from > SCHEMA_VERSION) throw errInvalid(`metadata.db: schema version ${from} is newer than this Berth understands (${SCHEMA_VERSION})`);
      for (let v = from; v < SCHEMA_VERSION; v++) this.db.exec(MIGRATIONS[v]!);
      // PRAGMA takes no bound parameters; the value is our own integer.
      if (from !== SCHEMA_VERSION) this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Run `fn` in one write transaction (BEGIN IMMEDIATE); nested calls join the outer one. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  // --- namespaces -------------------------------------------------------------------------

  /** Create a namespace if it does not exist (idempotent: used for the default one). */
  ensureNamespace(name: string, labels: Record<string, string> = {}): void {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw errInvalid(`namespace ${JSON.stringify(name)}: invalid name`);
    prepared(this.db, 'INSERT OR IGNORE INTO namespaces (name, labels, created_at) VALUES (?, ?, ?)').run(name, JSON.stringify(labels), now());
  }

  listNamespaces(): string[] {
    return (prepared(this.db, 'SELECT name FROM namespaces ORDER BY name').all() as Row[]).map((r) => r.name as string);
  }

  /** Remove an empty namespace. */
  deleteNamespace(name: string): void {
    this.transaction(() => {
      const n = prepared(this.db, 'SELECT COUNT(*) AS n FROM containers WHERE namespace = ?').get(name) as Row;
      if ((n.n as number) > 0) throw errConflict(`namespace "${name}": not empty`);
      if (prepared(this.db, 'DELETE FROM namespaces WHERE name = ?').run(name).changes === 0) throw errNotFound(`namespace "${name}": not found`);
    });
  }

  // --- containers -------------------------------------------------------------------------

  /** Record a new container; `already-exists` if the id is taken in the namespace. */
  createContainer(c: Omit<ContainerRow, 'createdAt' | 'updatedAt'>): ContainerRow {
    return this.transaction(() => {
      this.ensureNamespace(c.namespace);
      const t = now();
      try {
        prepared(this.db, `INSERT INTO containers (namespace, id, image_ref, spec, rootfs, snapshot_key, labels, runtime, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(c.namespace, c.id, c.imageRef, JSON.stringify(c.spec), c.rootfs, c.snapshotKey, JSON.stringify(c.labels), c.runtime, t, t);
      } catch (e) {
        if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw errAlreadyExists(`container "${c.id}": already exists`, e);
        throw e;
      }
      return { ...c, createdAt: t, updatedAt: t };
    });
  }

  getContainer(namespace: string, id: string): ContainerRow {
    const r = prepared(this.db, 'SELECT * FROM containers WHERE namespace = ? AND id = ?').get(namespace, id) as Row | undefined;
    if (!r) throw errNotFound(`container "${id}": not found`);
    return toContainer(r);
  }

  listContainers(namespace: string): ContainerRow[] {
    return (prepared(this.db, 'SELECT * FROM containers WHERE namespace = ? ORDER BY created_at, id').all(namespace) as Row[]).map(toContainer);
  }

  updateContainer(namespace: string, id: string, patch: ContainerPatch): ContainerRow {
    return this.transaction(() => {
      const cur = this.getContainer(namespace, id);
      const next = { ...cur, ...patch, updatedAt: now() };
      prepared(this.db, 'UPDATE containers SET image_ref = ?, spec = ?, snapshot_key = ?, labels = ?, updated_at = ? WHERE namespace = ? AND id = ?')
        .run(next.imageRef, JSON.stringify(next.spec), next.snapshotKey, JSON.stringify(next.labels), next.updatedAt, namespace, id);
      return next;
    });
  }

  /** Remove a container record; `conflict` while it still has a task (containerd's rule). */
  deleteContainer(namespace: string, id: string): ContainerRow {
    return this.transaction(() => {
      const cur = this.getContainer(namespace, id);
      if (this.findTask(namespace, id)) throw errConflict(`container "${id}": has a task; delete the task first`);
      prepared(this.db, 'DELETE FROM containers WHERE namespace = ? AND id = ?').run(namespace, id);
      return cur;
    });
  }

  // --- tasks ------------------------------------------------------------------------------

  /** Record a task for an existing container; `already-exists` if it has one. */
  createTask(t: Pick<TaskRow, 'namespace' | 'containerId' | 'status' | 'dir' | 'cgroupPath'> & TaskPatch): TaskRow {
    return this.transaction(() => {
      this.getContainer(t.namespace, t.containerId);
      if (this.findTask(t.namespace, t.containerId)) throw errAlreadyExists(`task "${t.containerId}": already exists`);
      prepared(this.db, 'INSERT INTO tasks (namespace, container_id, status, dir, cgroup_path, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(t.namespace, t.containerId, t.status, t.dir, t.cgroupPath, now());
      const { namespace, containerId, ...rest } = t;
      return this.patchTask(namespace, containerId, rest);
    });
  }

  findTask(namespace: string, id: string): TaskRow | undefined {
    const r = prepared(this.db, 'SELECT * FROM tasks WHERE namespace = ? AND container_id = ?').get(namespace, id) as Row | undefined;
    return r ? toTask(r) : undefined;
  }

  getTask(namespace: string, id: string): TaskRow {
    const t = this.findTask(namespace, id);
    if (!t) throw errNotFound(`task "${id}": not found`);
    return t;
  }

  /** Tasks of one namespace, or of all when `namespace` is undefined (reattach walks them all). */
  listTasks(namespace?: string): TaskRow[] {
    const rows = namespace === undefined
      ? prepared(this.db, 'SELECT * FROM tasks ORDER BY namespace, created_at').all()
      : prepared(this.db, 'SELECT * FROM tasks WHERE namespace = ? ORDER BY created_at').all(namespace);
    return (rows as Row[]).map(toTask);
  }

  /** Apply `patch` to a task; `not-found` if there is none. */
  updateTask(namespace: string, id: string, patch: TaskPatch): TaskRow {
    return this.transaction(() => this.patchTask(namespace, id, patch));
  }

  /**
   * Apply `patch` only while `pred(current)` holds; returns the new row, or undefined when the
   * predicate refused (e.g. an exit recorded twice: the first one wins).
   */
  updateTaskIf(namespace: string, id: string, pred: (t: TaskRow) => boolean, patch: TaskPatch): TaskRow | undefined {
    return this.transaction(() => (pred(this.getTask(namespace, id)) ? this.patchTask(namespace, id, patch) : undefined));
  }

  private patchTask(namespace: string, id: string, patch: TaskPatch): TaskRow {
    const keys = (Object.keys(patch) as (keyof TaskPatch)[]).filter((k) => patch[k] !== undefined && TASK_COLUMNS[k]);
    if (keys.length) {
      const sets = keys.map((k) => `${TASK_COLUMNS[k]} = ?`).join(', ');
      const r = prepared(this.db, `UPDATE tasks SET ${sets} WHERE namespace = ? AND container_id = ?`).run(...keys.map((k) => sqlValue(patch[k])), namespace, id);
      if (r.changes === 0) throw errNotFound(`task "${id}": not found`);
    }
    return this.getTask(namespace, id);
  }

  deleteTask(namespace: string, id: string): void {
    if (prepared(this.db, 'DELETE FROM tasks WHERE namespace = ? AND container_id = ?').run(namespace, id).changes === 0) {
      throw errNotFound(`task "${id}": not found`);
    }
  }
}
