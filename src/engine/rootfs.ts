// Container rootfs mounts at <exec-root>/containers/<id>/rootfs: held while a task runs, and briefly for archive/export of a stopped container.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isMountPoint, mountAll, stackedMountPoints, unmount, unmountTop } from '../images/snapshots/mount.js';
import type { Snapshotter } from '../images/types.js';

/**
 * Who holds a rootfs mount: the task (from start to exit) and any number of short users
 * (archive, export, changes of a stopped container). The last one out unmounts.
 */
export class RootfsMounts {
  private readonly users = new Map<string, number>();
  private readonly tasks = new Set<string>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /**
   * The mounts on each rootfs mount point: read from mountinfo once, at open (what a previous
   * berthd left: live restore, a crash, stacked mounts), then kept as this process mounts and
   * unmounts. Nobody else mounts there, and reading mountinfo at every start and exit cost
   * ~1 ms per container, more with every running one (each adds its line).
   */
  private readonly layers: Map<string, number>;
  /** Mount points found at open: unmounted the careful way (mountinfo, submounts first). */
  private readonly inherited: Set<string>;

  constructor(private readonly execRoot: string, private readonly snapshotter: Snapshotter) {
    const under = `${join(execRoot, 'containers')}/`;
    this.layers = new Map([...stackedMountPoints()].filter(([mp]) => mp.startsWith(under)));
    this.inherited = new Set(this.layers.keys());
  }

  /** The merged rootfs path of a container. */
  path(id: string): string {
    return join(this.execRoot, 'containers', id, 'rootfs');
  }

  private serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.locks.set(id, tail);
    void tail.then(() => { if (this.locks.get(id) === tail) this.locks.delete(id); });
    return next;
  }

  private async mountNow(id: string, key: string): Promise<string> {
    const target = this.path(id);
    if (this.layers.get(target)) return target;
    mkdirSync(target, { recursive: true, mode: 0o755 });
    const mounts = await this.snapshotter.mounts(key);
    await mountAll(mounts, target);
    this.layers.set(target, mounts.length);
    return target;
  }

  private async unmountNow(id: string): Promise<void> {
    const target = this.path(id);
    if (this.inherited.delete(target)) {
      // A stacked mount (a second mount over the first, after a crash) needs one umount each.
      for (let i = 0; i < 8 && isMountPoint(target); i++) await unmount(target);
      this.layers.delete(target);
      return;
    }
    for (let n = this.layers.get(target) ?? 0; n > 0; n--) {
      await unmountTop(target);
      this.layers.set(target, n - 1);
    }
    this.layers.delete(target);
  }

  /** Mount for the task (idempotent: after a daemon restart the mount is already there). */
  holdForTask(id: string, key: string): Promise<string> {
    return this.serial(id, async () => {
      const p = await this.mountNow(id, key);
      this.tasks.add(id);
      return p;
    });
  }

  /** Mark a rootfs mounted by a previous daemon as held by its (still running) task. */
  adoptTask(id: string): void {
    this.tasks.add(id);
  }

  /** The task ended: unmount unless a short user still holds it. */
  releaseTask(id: string): Promise<void> {
    return this.serial(id, async () => {
      this.tasks.delete(id);
      if (!this.users.get(id)) await this.unmountNow(id);
    });
  }

  /** Run `fn` with the rootfs mounted (mounting it for the duration if it is not). */
  async with<T>(id: string, key: string, fn: (root: string) => Promise<T>): Promise<T> {
    const root = await this.serial(id, async () => {
      this.users.set(id, (this.users.get(id) ?? 0) + 1);
      try {
        return await this.mountNow(id, key);
      } catch (e) {
        this.users.set(id, this.users.get(id)! - 1);
        throw e;
      }
    });
    try {
      return await fn(root);
    } finally {
      await this.serial(id, async () => {
        const n = (this.users.get(id) ?? 1) - 1;
        if (n > 0) this.users.set(id, n);
        else this.users.delete(id);
        if (n <= 0 && !this.tasks.has(id)) await this.unmountNow(id);
      });
    }
  }

  /** Like `with`, but the caller releases: for streams that outlive the call (export, getArchive). */
  async acquire(id: string, key: string): Promise<{ root: string; release: () => Promise<void> }> {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let ready!: (root: string) => void;
    let failed!: (e: unknown) => void;
    const rootP = new Promise<string>((res, rej) => { ready = res; failed = rej; });
    const done = this.with(id, key, async (root) => {
      ready(root);
      await held;
    }).catch((e) => failed(e));
    const root = await rootP;
    return { root, release: async () => { release(); await done; } };
  }

  /** Unmount (whoever holds it) and remove the container's exec-root dir: on container removal. */
  async removeAll(id: string): Promise<void> {
    await this.serial(id, async () => {
      this.tasks.delete(id);
      this.users.delete(id);
      await this.unmountNow(id);
      // Unmounted above (it throws otherwise): an empty mount point dir on the exec root.
      rmSync(join(this.execRoot, 'containers', id), { recursive: true, force: true });
    });
  }
}
