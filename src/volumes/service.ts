// The volume service: Docker's volume operations (create, inspect, list, remove, prune, disk usage) over the store, with references from containers and volume events.
//
// A volume is referenced by every container whose record names it in its mount points (running or
// not: dockerd refuses to remove a volume any container uses), and, while a container is being
// created, by that container's id before its record exists.
//
//   const volumes = new VolumeService({ db, dataRoot, events, containers: () => [...] });
//   await volumes.open();                       // settle what a crash left
//   await volumes.create({ Name: 'data' });     // { Name, Driver: 'local', Mountpoint: .../volumes/data/_data, ... }
import type Database from 'better-sqlite3';
import { BerthError, errConflict, errNotFound } from '../common/errors.js';
import { nullLogger, type Logger } from '../common/log.js';
import { checkFilterKeys, LIST_FILTERS, matchLabels, matchListFilters, PRUNE_FILTERS, pruneAll } from './filters.js';
import { checkLocalOptions, needsMount, unmountLocal } from './local-driver.js';
import { ANONYMOUS_LABEL, anonymousVolumeName, checkVolumeName, LOCAL_DRIVER } from './names.js';
import { dirSize } from './size.js';
import { VolumeStore, type VolumeRecord } from './store.js';
import type { MountPointRecord, Volume, VolumeCreateRequest, VolumeListResponse, VolumePruneReport } from './types.js';

/** What the service needs to know of a container. */
export interface ContainerUse {
  id: string;
  /** Running, paused or restarting: its volumes stay mounted. */
  running: boolean;
  mountPoints: readonly MountPointRecord[];
}

/** Where volume events go (the engine's EventBus). */
export interface VolumeEvents {
  publish(e: { Type: 'volume'; Action: string; Actor: { ID: string; Attributes: Record<string, string> } }): void;
}

export interface VolumeServiceOptions {
  db: Database.Database;
  dataRoot: string;
  events: VolumeEvents;
  /** Every container with its mount points (the engine's store, read at each call). */
  containers: () => ContainerUse[];
  log?: Logger;
}

/** Go's time.Format(time.RFC3339): seconds, `Z` for UTC. */
const rfc3339 = (iso: string) => iso.replace(/\.\d+Z$/, 'Z');

/** Docker's `get NAME: no such volume` (404). */
export const noSuchVolume = (name: string) => errNotFound(`get ${name}: no such volume`);

export class VolumeService {
  readonly store: VolumeStore;
  private readonly log: Logger;
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Volume name -> ids of containers being created that use it (their records do not exist yet). */
  private readonly pending = new Map<string, Set<string>>();
  private pruning = false;

  constructor(private readonly o: VolumeServiceOptions) {
    this.store = new VolumeStore(o.db, o.dataRoot);
    this.log = o.log ?? nullLogger;
  }

  /** Settle create/remove operations a crash interrupted. */
  async open(): Promise<void> {
    const r = await this.store.recover();
    for (const [what, names] of Object.entries(r)) if (names.length) this.log.info(`volumes: ${what} after a crash`, { volumes: names });
  }

  /** One operation per volume name at a time. */
  lock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(name, tail);
    void tail.then(() => { if (this.locks.get(name) === tail) this.locks.delete(name); });
    return next;
  }

  /** A volume event (create, destroy, mount, unmount, prune) as dockerd's. */
  publish(action: string, id: string, attrs: Record<string, string>): void {
    this.o.events.publish({ Type: 'volume', Action: action, Actor: { ID: id, Attributes: attrs } });
  }

  /** The API shape of a stored volume. */
  toWire(v: VolumeRecord): Volume {
    return {
      CreatedAt: rfc3339(v.created), Driver: v.driver, Labels: v.labels, Mountpoint: this.store.dataPath(v.name), Name: v.name,
      Options: v.options, Scope: 'local',
    } as Volume;
  }

  /** The containers whose records name the volume. */
  users(name: string): ContainerUse[] {
    return this.o.containers().filter((c) => c.mountPoints.some((m) => m.type === 'volume' && m.name === name));
  }

  /** Ids of the containers referencing `name`, in creation order of their records. */
  references(name: string): string[] {
    const ids = this.users(name).map((c) => c.id);
    for (const id of this.pending.get(name) ?? []) if (!ids.includes(id)) ids.push(id);
    return ids;
  }

  // --- Engine API operations ---------------------------------------------------------------

  /**
   * POST /volumes/create. An existing name returns the existing volume (dockerd ignores the new
   * options and labels then). No name: an anonymous volume (64 hex, Docker's anonymous label).
   * `ref`: a container being created that will use it (held until `settle`).
   */
  async create(req: VolumeCreateRequest, ref?: string): Promise<Volume> {
    let name = req.Name ?? '';
    let labels = req.Labels ?? null;
    if (!name) {
      name = anonymousVolumeName();
      labels = { ...(labels ?? {}), [ANONYMOUS_LABEL]: '' };
    }
    const prefix = (e: unknown) => {
      if (e instanceof BerthError && !e.message.startsWith(`create ${name}:`)) return new BerthError(e.code, `create ${name}: ${e.message}`, { cause: e });
      return e;
    };
    return this.lock(name, async () => {
      try {
        const driver = req.Driver || LOCAL_DRIVER;
        const existing = this.store.get(name);
        if (existing) {
          if (req.Driver && existing.driver !== req.Driver) throw errConflict('volume name must be unique');
          if (ref) this.hold(name, ref);
          return this.toWire(existing);
        }
        if (driver !== LOCAL_DRIVER) throw errNotFound(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
        checkVolumeName(name);
        checkLocalOptions(req.DriverOpts);
        const rec = this.store.create({ name, driver, labels, options: req.DriverOpts ?? null, created: new Date().toISOString() });
        if (ref) this.hold(name, ref);
        this.publish('create', name, { driver });
        return this.toWire(rec);
      } catch (e) {
        throw prefix(e);
      }
    });
  }

  private hold(name: string, ref: string): void {
    let s = this.pending.get(name);
    if (!s) this.pending.set(name, (s = new Set()));
    s.add(ref);
  }

  /** Drop the creation-time references of container `ref` (its record now holds them, or its create failed). */
  settle(ref: string): void {
    for (const [name, s] of this.pending) {
      s.delete(ref);
      if (!s.size) this.pending.delete(name);
    }
  }

  /** GET /volumes/{name}. */
  inspect(name: string): Volume {
    const v = this.store.get(name);
    if (!v) throw noSuchVolume(name);
    return this.toWire(v);
  }

  /** A stored volume, or not-found with Docker's text. */
  get(name: string): VolumeRecord {
    const v = this.store.get(name);
    if (!v) throw noSuchVolume(name);
    return v;
  }

  /** GET /volumes with Docker's filters. */
  list(filters: Record<string, string[]> = {}): VolumeListResponse {
    checkFilterKeys(filters, LIST_FILTERS);
    const used = this.usedNames();
    const vols = this.store.list().filter((v) => matchListFilters(filters, { name: v.name, driver: v.driver, labels: v.labels, inUse: used.has(v.name) }));
    return { Volumes: vols.map((v) => this.toWire(v)), Warnings: null };
  }

  private usedNames(): Set<string> {
    const used = new Set<string>(this.pending.keys());
    for (const c of this.o.containers()) for (const m of c.mountPoints) if (m.type === 'volume' && m.name) used.add(m.name);
    return used;
  }

  /**
   * DELETE /volumes/{name}: refused while any container references it (409 with their ids);
   * `force` makes a missing volume no error (not an in-use one: dockerd's purge-on-error).
   */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.lock(name, async () => {
      const v = this.store.get(name);
      if (!v) {
        if (opts.force) return;
        throw noSuchVolume(name);
      }
      const refs = this.references(name);
      if (refs.length) throw errConflict(`remove ${name}: volume is in use - [${refs.join(', ')}]`);
      await this.removeLocked(v);
    });
  }

  private async removeLocked(v: VolumeRecord): Promise<void> {
    if (needsMount(v.options)) {
      try {
        await unmountLocal(this.store.dataPath(v.name));
      } catch (e) {
        throw new BerthError('internal', `remove ${v.name}: ${(e as Error).message}`, { cause: e });
      }
    }
    this.store.beginRemove(v.name);
    await this.store.finishRemove(v.name);
    this.publish('destroy', v.name, { driver: v.driver });
  }

  /**
   * POST /volumes/prune: unused local volumes without driver options, only anonymous ones unless
   * the `all` filter is true (API 1.42+; the route adds `all=true` for older clients).
   */
  async prune(filters: Record<string, string[]> = {}): Promise<VolumePruneReport> {
    if (this.pruning) throw errConflict('a prune operation is already running');
    this.pruning = true;
    try {
      checkFilterKeys(filters, PRUNE_FILTERS);
      const label = pruneAll(filters) ? filters.label : [...(filters.label ?? []), ANONYMOUS_LABEL];
      const deleted: string[] = [];
      let reclaimed = 0;
      for (const v of this.store.list()) {
        if (v.driver !== LOCAL_DRIVER || (v.options && Object.keys(v.options).length)) continue;
        if (!matchLabels(label, v.labels)) continue;
        if (filters['label!']?.length && matchLabels(filters['label!'], v.labels)) continue;
        try {
          await this.lock(v.name, async () => {
            const cur = this.store.get(v.name);
            if (!cur || this.references(v.name).length) return;
            const size = await dirSize(this.store.dataPath(v.name));
            await this.removeLocked(cur);
            deleted.push(v.name);
            if (size > 0) reclaimed += size;
          });
        } catch (e) {
          this.log.warn('volume prune: could not remove volume', { volume: v.name, err: (e as Error).message });
        }
      }
      this.publish('prune', '', { reclaimed: String(reclaimed) });
      return { VolumesDeleted: deleted, SpaceReclaimed: reclaimed };
    } finally {
      this.pruning = false;
    }
  }

  /** /system/df: local volumes without driver options, with their size and reference count. */
  async usage(): Promise<Volume[]> {
    const out: Volume[] = [];
    for (const v of this.store.list()) {
      if (v.driver !== LOCAL_DRIVER || (v.options && Object.keys(v.options).length)) continue;
      out.push({ ...this.toWire(v), UsageData: { RefCount: this.references(v.name).length, Size: await dirSize(this.store.dataPath(v.name)) } });
    }
    return out;
  }
}
