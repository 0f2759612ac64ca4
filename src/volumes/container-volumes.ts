// What a container does with volumes and mounts: resolve its planned mounts (creating volumes) at create, copy-up, mount option volumes and host dirs at start, release at stop, remove anonymous volumes with it.
//
// The engine calls, in a container's life:
//   create: attach(id, plan) -> [populate(root, mounts)] -> record saved -> settle(id)   (undo: detach)
//   start:  beforeStart(id, mounts)        stop: afterStop(id, mounts)
//   remove: removeAnonymous(mounts) when `rm -v` or AutoRemove
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { BerthError, errInvalid, errorCode } from '../common/errors.js';
import { resolveInRoot } from '../engine/user.js';
import { copyUp, isEmptyDir } from './copy-up.js';
import { mountLocal, needsMount, unmountLocal } from './local-driver.js';
import type { PlannedMount } from './mount-parser.js';
import { LOCAL_DRIVER } from './names.js';
import type { VolumeService } from './service.js';
import type { MountPointRecord } from './types.js';

/** A mount as the spec builder takes it (bind and volume mounts; tmpfs mounts go through HostConfig.Tmpfs). */
export interface SpecVolumeMount { source: string; destination: string; readOnly: boolean; propagation?: string; nonRecursive?: boolean }

/** The bind and volume mounts of a container for the OCI spec. */
export function specMounts(mounts: readonly MountPointRecord[]): SpecVolumeMount[] {
  return mounts.filter((m) => m.type !== 'tmpfs').map((m) => ({
    source: m.source, destination: m.destination, readOnly: !m.rw,
    // The default rprivate is the runtime's default too: only an explicit choice goes in the spec.
    ...(m.type === 'bind' && m.propagation && m.propagation !== 'rprivate' ? { propagation: m.propagation } : {}),
    ...(m.nonRecursive ? { nonRecursive: true } : {}),
  }));
}

/** Docker's inspect `Mounts` entry of a mount point. */
export function wireMountPoint(m: MountPointRecord): { Type: MountPointRecord['type']; Name?: string; Source: string; Destination: string; Driver?: string; Mode: string; RW: boolean; Propagation: string } {
  return {
    Type: m.type,
    ...(m.type === 'volume' ? { Name: m.name ?? '' } : {}),
    Source: m.source,
    Destination: m.destination,
    ...(m.type === 'volume' ? { Driver: m.driver ?? LOCAL_DRIVER } : {}),
    Mode: m.mode,
    RW: m.rw,
    Propagation: m.propagation,
  };
}

export class ContainerVolumes {
  /**
   * Per volume with driver options: the containers whose start mounted it and that have not
   * stopped yet (dockerd's active mount count). Seeded on first use from the records of running
   * containers, so it is right after a daemon restart too; the last one out unmounts.
   */
  private readonly active = new Map<string, Set<string>>();

  constructor(private readonly volumes: VolumeService) {}

  private activeUsers(name: string): Set<string> {
    let s = this.active.get(name);
    if (!s) this.active.set(name, (s = new Set(this.volumes.users(name).filter((c) => c.running).map((c) => c.id))));
    return s;
  }

  /**
   * Turn a container's planned mounts into mount points, creating (or finding) its volumes with a
   * reference for `id` until `settle(id)`. On failure, what this call created is undone.
   */
  async attach(id: string, plan: readonly PlannedMount[]): Promise<MountPointRecord[]> {
    const out: MountPointRecord[] = [];
    try {
      for (const p of plan) {
        if (p.type !== 'volume') {
          out.push({
            type: p.type, destination: p.destination, source: p.source, mode: p.mode, rw: p.rw, propagation: p.propagation,
            ...(p.createSource ? { createSource: true } : {}), ...(p.nonRecursive ? { nonRecursive: true } : {}),
          });
          continue;
        }
        const v = await this.volumes.create({
          Name: p.name, Driver: p.driver,
          ...(p.driverOpts ? { DriverOpts: p.driverOpts } : {}),
          ...(p.labels ? { Labels: p.labels } : {}),
        }, id);
        out.push({
          type: 'volume', destination: p.destination, source: v.Mountpoint, name: v.Name, driver: v.Driver,
          // dockerd's setBindModeIfNull for local volumes of -v and --mount; not for Config.Volumes or --volumes-from ones.
          mode: p.mode || (p.fromConfig || p.inherited ? '' : 'z'), rw: p.rw, propagation: '',
          ...(p.name === '' || p.anonymous ? { anonymous: true } : {}),
          ...(p.copyData ? { copyData: true } : {}),
        });
      }
    } catch (e) {
      await this.detach(id, out);
      throw e;
    }
    return out;
  }

  /** The container's record now carries its references (or its create failed): drop the creation-time ones. */
  settle(id: string): void {
    this.volumes.settle(id);
  }

  /** Undo `attach` for a create that failed: references dropped, the anonymous volumes it made removed. */
  async detach(id: string, mounts: readonly MountPointRecord[]): Promise<void> {
    this.volumes.settle(id);
    await this.removeAnonymous(mounts);
  }

  /** True if some volume may need the image's content (so the rootfs must be mounted for `populate`). */
  needsPopulate(mounts: readonly MountPointRecord[]): boolean {
    return mounts.some((m) => {
      if (m.type !== 'volume' || !m.copyData || !m.name) return false;
      const v = this.volumes.store.get(m.name);
      if (!v) return false;
      return needsMount(v.options) || isEmptyDir(m.source);
    });
  }

  /**
   * Copy-up at create, with the container's rootfs mounted at `root`: each empty volume gets the
   * image's directory at its destination. A volume over an existing file is refused, as dockerd does.
   */
  async populate(id: string, root: string, mounts: readonly MountPointRecord[]): Promise<void> {
    for (const m of mounts) {
      if (m.type !== 'volume' || !m.copyData || !m.name) continue;
      const inRoot = resolveInRoot(root, m.destination);
      let st;
      try { st = statSync(inRoot); } catch { continue; }
      if (!st.isDirectory()) throw errInvalid(`cannot mount volume over existing file, file exists ${inRoot}`);
      const v = this.volumes.get(m.name);
      await this.volumes.lock(m.name, async () => {
        const mounted = needsMount(v.options);
        if (mounted) await mountLocal(v.options!, m.source);
        try {
          await copyUp(inRoot, m.source);
        } finally {
          if (mounted && !this.activeUsers(m.name!).size) await unmountLocal(m.source);
        }
      });
    }
  }

  /**
   * Before the task starts: a missing `-v` host directory is created (dockerd's MkdirAll, 0755), a
   * volume with driver options is mounted on its `_data`; `mount` events as dockerd's.
   */
  async beforeStart(id: string, mounts: readonly MountPointRecord[] | undefined): Promise<void> {
    if (!mounts?.length) return;
    const done: MountPointRecord[] = [];
    try {
      for (const m of mounts) {
        if (m.type === 'bind') {
          if (m.createSource && !existsSync(m.source)) mkdirSync(m.source, { recursive: true, mode: 0o755 });
          continue;
        }
        if (m.type !== 'volume' || !m.name) continue;
        const v = this.volumes.get(m.name);
        if (needsMount(v.options)) {
          const name = m.name;
          await this.volumes.lock(name, async () => {
            await mountLocal(v.options!, m.source);
            this.activeUsers(name).add(id);
          }).catch((e: unknown) => {
            throw new BerthError(errorCode(e) ?? 'internal', `error while mounting volume '${m.source}': ${(e as Error).message}`, { cause: e });
          });
          done.push(m);
        }
        this.publish('mount', m.name, {
          driver: m.driver ?? LOCAL_DRIVER, container: id, destination: m.destination, 'read/write': String(m.rw), propagation: m.propagation,
        });
      }
    } catch (e) {
      await this.afterStop(id, done, false);
      throw e;
    }
  }

  /**
   * After the task ended (or a start failed, or the container goes): a volume with driver options
   * that no started container holds any more is unmounted; `unmount` events. Idempotent.
   */
  async afterStop(id: string, mounts: readonly MountPointRecord[] | undefined, events = true): Promise<void> {
    for (const m of mounts ?? []) {
      if (m.type !== 'volume' || !m.name) continue;
      const v = this.volumes.store.get(m.name);
      if (v && needsMount(v.options)) {
        const name = m.name;
        await this.volumes.lock(name, async () => {
          const users = this.activeUsers(name);
          users.delete(id);
          if (!users.size) await unmountLocal(m.source);
        });
      }
      if (events) this.publish('unmount', m.name, { driver: m.driver ?? LOCAL_DRIVER, container: id });
    }
  }

  /**
   * Remove the anonymous volumes among `mounts` (`docker rm -v`, `--rm`): named ones stay, and one
   * another container still uses is left alone (dockerd ignores in-use there). Failures are returned.
   */
  async removeAnonymous(mounts: readonly MountPointRecord[] | undefined): Promise<string[]> {
    const errors: string[] = [];
    for (const m of mounts ?? []) {
      if (m.type !== 'volume' || !m.anonymous || !m.name) continue;
      try {
        await this.volumes.remove(m.name, { force: true });
      } catch (e) {
        if ((e as { code?: string }).code === 'conflict') continue;
        errors.push((e as Error).message);
      }
    }
    return errors;
  }

  private publish(action: string, name: string, attrs: Record<string, string>): void {
    this.volumes.publish(action, name, attrs);
  }
}
