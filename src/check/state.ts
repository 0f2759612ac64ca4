// What `berthd check` reads of a daemon's state: metadata.db opened read-only (engine records, lifecycle containers and tasks, networks), and whether berthd runs.
//
// Read-only and lock-free: metadata.db is in WAL mode, so this reader never blocks the daemon's
// writer nor waits for it; with berthd down (or killed) it reads the last committed state.
import Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetworkRecord } from '../network/network-store.js';
import type { ContainerRecord } from '../engine/store.js';
import type { TaskStatus } from '../lifecycle/metadata.js';

/** A lifecycle task row, as far as the check needs it. */
export interface TaskInfo {
  namespace: string;
  id: string;
  status: TaskStatus;
  shimPid: number;
  dir: string;
}

/** One read of the daemon's recorded state. */
export interface RecordedState {
  /** Engine containers by id. */
  records: Map<string, ContainerRecord>;
  /** Lifecycle containers (namespace/id) with their snapshot key. */
  lifecycle: Map<string, { namespace: string; id: string; snapshotKey: string }>;
  /** Lifecycle tasks by container id (the engine uses one namespace). */
  tasks: Map<string, TaskInfo>;
  namespaces: string[];
  networks: NetworkRecord[];
  /** Networks deleted whose bridge and leases were still to be removed. */
  pendingNetworkRemovals: NetworkRecord[];
}

/** Open metadata.db read-only; undefined when the data root has none (nothing recorded yet). */
export function openReadOnly(dataRoot: string): Database.Database | undefined {
  const file = join(dataRoot, 'metadata.db');
  if (!existsSync(file)) return undefined;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}

function hasTable(db: Database.Database, name: string): boolean {
  return !!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name);
}

/** Read every table the check looks at, in one read transaction (a consistent snapshot). */
export function readRecordedState(db: Database.Database | undefined): RecordedState {
  const out: RecordedState = { records: new Map(), lifecycle: new Map(), tasks: new Map(), namespaces: [], networks: [], pendingNetworkRemovals: [] };
  if (!db) return out;
  db.transaction(() => {
    if (hasTable(db, 'engine_containers')) {
      for (const r of db.prepare('SELECT id, name, created, data FROM engine_containers').all() as Array<{ id: string; name: string; created: string; data: string }>) {
        out.records.set(r.id, { ...(JSON.parse(r.data) as ContainerRecord), id: r.id, name: r.name, created: r.created });
      }
    }
    if (hasTable(db, 'namespaces')) out.namespaces = (db.prepare('SELECT name FROM namespaces').all() as Array<{ name: string }>).map((r) => r.name);
    if (hasTable(db, 'containers')) {
      for (const r of db.prepare('SELECT namespace, id, snapshot_key FROM containers').all() as Array<{ namespace: string; id: string; snapshot_key: string }>) {
        out.lifecycle.set(r.id, { namespace: r.namespace, id: r.id, snapshotKey: r.snapshot_key });
      }
    }
    if (hasTable(db, 'tasks')) {
      for (const r of db.prepare('SELECT namespace, container_id, status, shim_pid, dir FROM tasks').all() as Array<{ namespace: string; container_id: string; status: TaskStatus; shim_pid: number; dir: string }>) {
        out.tasks.set(r.container_id, { namespace: r.namespace, id: r.container_id, status: r.status, shimPid: r.shim_pid, dir: r.dir });
      }
    }
    if (hasTable(db, 'engine_networks')) out.networks = (db.prepare('SELECT data FROM engine_networks').all() as Array<{ data: string }>).map((r) => JSON.parse(r.data) as NetworkRecord);
    if (hasTable(db, 'engine_network_removals')) {
      out.pendingNetworkRemovals = (db.prepare('SELECT data FROM engine_network_removals').all() as Array<{ data: string }>).map((r) => JSON.parse(r.data) as NetworkRecord);
    }
  })();
  return out;
}

/** The pid of the berthd that holds `pidfile`, if it is alive (a pid reused by another program does not count). */
export function runningDaemon(pidfile: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidfile, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    if (/\) Z /.test(stat)) return undefined;
    return cmd.includes('berthd') ? pid : undefined;
  } catch {
    return undefined;
  }
}
