// What the directory-based snapshotters share: metadata bookkeeping, <root>/<id>/ dirs, usage, orphan cleanup.
import type Database from 'better-sqlite3';
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errPrecondition } from '../../common/errors.js';
import { removeTree } from '../../common/remove-tree.js';
import type { Trash } from '../../common/trash.js';
import type { Mount, SnapshotInfo, Snapshotter } from '../types.js';
import { SnapshotMetadata, type SnapshotRow } from './metadata.js';

/** Apparent size and inode count of a tree (hard links counted once), without following symlinks. */
export async function treeUsage(dir: string): Promise<{ size: number; inodes: number }> {
  const seen = new Set<string>();
  let size = 0;
  let inodes = 0;
  const walk = async (p: string): Promise<void> => {
    const st = await lstat(p);
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) return;
    seen.add(id);
    inodes++;
    if (st.isFile() || st.isSymbolicLink()) size += st.size;
    if (st.isDirectory()) for (const n of await readdir(p)) await walk(join(p, n));
  };
  await walk(dir);
  return { size, inodes };
}

/** A snapshotter keeping each snapshot in `<root>/<id>/` with its tree in `fs/`. */
export abstract class DirSnapshotter implements Snapshotter {
  readonly meta: SnapshotMetadata;

  constructor(
    db: Database.Database,
    /** Directory holding `<id>/` dirs; short, so overlay option strings stay short. */
    readonly root: string,
    /** The `snapshotter` column value: lets two snapshotters share the DB. */
    readonly name: string,
    /** Where removed snapshots' trees go to be deleted in the background; without it, deleted in place. */
    private readonly trash?: Trash,
  ) {
    this.meta = new SnapshotMetadata(db, name);
  }

  async init(): Promise<this> {
    await mkdir(this.root, { recursive: true });
    return this;
  }

  protected idDir(id: number): string {
    return join(this.root, String(id));
  }

  /** The `fs` dir of a snapshot id. */
  fsDir(id: number): string {
    return join(this.idDir(id), 'fs');
  }

  dir(key: string): string {
    return this.fsDir(this.meta.get(key).id);
  }

  async stat(key: string): Promise<SnapshotInfo> {
    return info(this.meta.get(key));
  }

  async list(): Promise<SnapshotInfo[]> {
    return this.meta.list().map(info);
  }

  /** Set (replace) a snapshot's labels. */
  async setLabels(key: string, labels: Record<string, string>): Promise<void> {
    this.meta.setLabels(key, labels);
  }

  /** Lay out the new snapshot's directories (after its row exists). */
  protected abstract materialize(row: SnapshotRow, ancestors: SnapshotRow[]): Promise<void>;
  /** The mounts of an active or view snapshot. */
  protected abstract mountsOf(row: SnapshotRow, ancestors: SnapshotRow[]): Mount[];

  private async create(kind: 'active' | 'view', key: string, parent?: string, labels?: Record<string, string>): Promise<Mount[]> {
    const row = this.meta.create(kind, key, parent, labels);
    const ancestors = this.meta.ancestors(parent);
    try {
      await removeTree(this.idDir(row.id)); // a crash's leftover under the reused id, if any
      await this.materialize(row, ancestors);
    } catch (e) {
      // No half-made snapshot: drop the row and whatever got created.
      this.meta.remove(key);
      await removeTree(this.idDir(row.id));
      throw errPrecondition(`snapshot "${key}": create`, e);
    }
    return this.mountsOf(row, ancestors);
  }

  prepare(key: string, parent?: string, labels?: Record<string, string>): Promise<Mount[]> {
    return this.create('active', key, parent, labels);
  }

  view(key: string, parent?: string, labels?: Record<string, string>): Promise<Mount[]> {
    return this.create('view', key, parent, labels);
  }

  async mounts(key: string): Promise<Mount[]> {
    const row = this.meta.get(key);
    if (row.kind === 'committed') throw errPrecondition(`snapshot "${key}": committed snapshots have no mounts; prepare or view one`);
    return this.mountsOf(row, this.meta.ancestors(row.parent));
  }

  async commit(name: string, key: string, labels?: Record<string, string>): Promise<void> {
    const row = this.meta.commit(name, key, labels);
    // The work dir only serves an active overlay mount; a committed layer never has an upper again.
    await rm(join(this.idDir(row.id), 'work'), { recursive: true, force: true });
  }

  async remove(key: string): Promise<void> {
    const row = this.meta.remove(key);
    // The row goes first: a crash now leaves an orphan dir that removeOrphans() sweeps, never a row without a tree.
    if (this.trash) await this.trash.discard(this.idDir(row.id));
    else await removeTree(this.idDir(row.id));
  }

  async usage(key: string): Promise<{ size: number; inodes: number }> {
    return treeUsage(this.dir(key));
  }

  /** Ids of `<root>/<id>` dirs with no row (crash leftovers), and keys of rows with no dir. */
  async inconsistencies(): Promise<{ orphanDirs: string[]; missingDirs: string[] }> {
    const ids = new Map(this.meta.list().map((r) => [String(r.id), r.name]));
    const names = await readdir(this.root).catch(() => [] as string[]);
    const orphanDirs = names.filter((n) => /^\d+$/.test(n) && !ids.has(n)).map((n) => join(this.root, n));
    const present = new Set(names);
    const missingDirs = [...ids].filter(([id]) => !present.has(id)).map(([, key]) => key);
    return { orphanDirs, missingDirs };
  }

  /** Remove the dirs that no row owns; returns them. */
  async removeOrphans(): Promise<string[]> {
    const { orphanDirs } = await this.inconsistencies();
    for (const d of orphanDirs) await rm(d, { recursive: true, force: true });
    return orphanDirs;
  }
}

const info = (r: SnapshotRow): SnapshotInfo => ({
  name: r.name,
  ...(r.parent !== undefined ? { parent: r.parent } : {}),
  kind: r.kind,
  createdAt: r.createdAt,
  labels: r.labels,
});
