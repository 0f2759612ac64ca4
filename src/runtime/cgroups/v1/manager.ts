// The cgroup v1 manager: one directory per mounted hierarchy, limits per controller, freezer, stats, destroy.
import { basename, join } from 'node:path';
import { BerthError, errPrecondition } from '../../../common/errors.js';
import type { LinuxResources } from '../../spec/types.js';
import type { CgroupManager, CgroupStats } from '../cgroups.js';
import {
  CgroupDir, killUntilEmpty, mkdirLevels, parseKeyValues, pollUntil, procsRecursive, rmdirTree, childCgroups,
  rmdirIfEmpty,
} from '../fs.js';
import type { ResolvedDir } from '../path.js';
import { validateResources } from '../validate.js';
import { V1_APPLIERS, type V1ApplyContext } from './resources.js';
import { readV1Stats } from './stats.js';

/** How long freeze/thaw wait for the freezer to settle. */
const FREEZE_TIMEOUT_MS = 5_000;

/** The container's cgroup in one v1 hierarchy. */
export interface V1Target extends ResolvedDir {
  /** The hierarchy's controllers (`['cpu','cpuacct']`, `['name=systemd']`). */
  controllers: string[];
  mountpoint: string;
}

export interface V1ManagerOptions {
  /** The normalized cgroupsPath, for messages and `path`. */
  path: string;
  targets: V1Target[];
}

/**
 * Manages one container's cgroup across every mounted v1 hierarchy (the named `name=systemd`
 * one included, so tools that read it find the container). Limits go to the hierarchy that
 * has the controller; a controller that is not mounted is an error only if its limit is asked for.
 */
export class V1CgroupManager implements CgroupManager {
  readonly version = 1 as const;
  readonly path: string;
  readonly warnings: string[] = [];
  private readonly targets: V1Target[];

  constructor(opts: V1ManagerOptions) {
    this.path = opts.path;
    this.targets = opts.targets;
  }

  /** The container's dir in the hierarchy that has `controller`, if mounted. */
  private ctl(controller: string): CgroupDir | undefined {
    const t = this.targets.find((x) => x.controllers.includes(controller));
    return t ? new CgroupDir(t.dir, t.cgPath) : undefined;
  }

  /** Keyed by the mount's name under /sys/fs/cgroup (`memory`, `cpu,cpuacct`, `systemd`). */
  hierarchyDirs(): Record<string, string> {
    return Object.fromEntries(this.targets.map((t) => [basename(t.mountpoint), t.dir]));
  }

  /** The cgroup dirs, one per hierarchy (for tests and diagnostics). */
  dirs(): Array<{ controllers: string[]; dir: string; cgPath: string }> {
    return this.targets.map((t) => ({ controllers: t.controllers, dir: t.dir, cgPath: t.cgPath }));
  }

  async create(resources?: LinuxResources): Promise<void> {
    if (resources) validateResources(resources, 1, this.path);
    for (const t of this.targets) {
      const isCpuset = t.controllers.includes('cpuset');
      await mkdirLevels(t.mountpoint, t.dir, t.cgPath, isCpuset ? (dir, parent) => this.fillCpuset(t, dir, parent) : undefined);
    }
    if (resources) await this.apply(resources);
  }

  /**
   * A new v1 cpuset cgroup starts with empty cpus and mems (unless the parent has
   * cgroup.clone_children), and a task cannot join an empty cpuset. Copy them from the parent,
   * level by level from the top, so every level on the way has them.
   */
  private async fillCpuset(t: V1Target, dir: string, parentDir: string): Promise<void> {
    const here = new CgroupDir(dir, t.cgPath);
    const parent = new CgroupDir(parentDir, t.cgPath);
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      const cur = (await here.readOptional(file))?.trim();
      if (cur) continue;
      const fromParent = (await parent.readOptional(file))?.trim();
      if (!fromParent) throw errPrecondition(`cgroup "${t.cgPath}": ${file} is empty in the parent ${parentDir}`);
      await here.write(file, fromParent);
    }
  }

  async update(resources: LinuxResources): Promise<void> {
    validateResources(resources, 1, this.path);
    await this.apply(resources);
  }

  private async apply(res: LinuxResources): Promise<void> {
    const ctx: V1ApplyContext = {
      ctl: (c) => this.ctl(c),
      path: this.path,
      warn: (m) => {
        if (!this.warnings.includes(m)) this.warnings.push(m);
      },
    };
    for (const apply of V1_APPLIERS) await apply(ctx, res);
  }

  procsFiles(): string[] {
    return this.targets.map((t) => join(t.dir, 'cgroup.procs'));
  }

  private freezer(): CgroupDir {
    const d = this.ctl('freezer');
    if (!d) throw errPrecondition(`cgroup "${this.path}": freeze needs the freezer controller, which is not mounted`);
    return d;
  }

  /**
   * Write FROZEN until freezer.state reads FROZEN. The kernel may stay FREEZING while a task is
   * in an uninterruptible sleep; rewriting retries the freeze. If it never settles, thaw again
   * rather than leave the container half frozen.
   */
  async freeze(): Promise<void> {
    const d = this.freezer();
    const ok = await pollUntil(async () => {
      await d.write('freezer.state', 'FROZEN');
      return (await d.read('freezer.state')).trim() === 'FROZEN';
    }, FREEZE_TIMEOUT_MS);
    if (!ok) {
      await d.write('freezer.state', 'THAWED').catch(() => undefined);
      throw new BerthError('deadline-exceeded', `cgroup "${d.cgPath}": freeze: freezer.state not FROZEN after ${FREEZE_TIMEOUT_MS}ms`);
    }
  }

  async thaw(): Promise<void> {
    const d = this.freezer();
    await d.write('freezer.state', 'THAWED');
    const ok = await pollUntil(async () => (await d.read('freezer.state')).trim() === 'THAWED', FREEZE_TIMEOUT_MS);
    if (!ok) throw new BerthError('deadline-exceeded', `cgroup "${d.cgPath}": thaw: freezer.state not THAWED after ${FREEZE_TIMEOUT_MS}ms`);
  }

  async isFrozen(): Promise<boolean> {
    const d = this.ctl('freezer');
    if (!d) return false;
    return (await d.readOptional('freezer.state'))?.trim() === 'FROZEN';
  }

  /** Union over every hierarchy: a process moved out of one hierarchy's cgroup is still ours in the others. */
  async pids(): Promise<number[]> {
    const all = new Set<number>();
    for (const t of this.targets) for (const p of await procsRecursive(t.dir, t.cgPath)) all.add(p);
    return [...all].sort((a, b) => a - b);
  }

  async stats(): Promise<CgroupStats> {
    return readV1Stats((c) => this.ctl(c));
  }

  /**
   * memory.oom_control's `oom_kill` counter (kernel 4.13+). On v1 it counts kills of tasks in
   * that very cgroup only, so child cgroups are summed too.
   */
  async oomKilled(): Promise<boolean> {
    const d = this.ctl('memory');
    if (!d) return false;
    for (const dir of [d.dir, ...(await childCgroups(d.dir))]) {
      const oc = parseKeyValues(await new CgroupDir(dir, d.cgPath).readOptional('memory.oom_control'));
      if ((oc.oom_kill ?? 0) > 0) return true;
    }
    return false;
  }

  async destroy(): Promise<void> {
    // Every hierarchy's cgroup empty and childless (an exited task): one rmdir each, done.
    let busy = false;
    for (const t of this.targets) if (!rmdirIfEmpty(t.dir)) busy = true;
    if (!busy) return;
    // A frozen v1 task does not act on SIGKILL until thawed.
    const fz = this.ctl('freezer');
    if (fz && (await fz.present())) {
      const state = (await fz.readOptional('freezer.state'))?.trim();
      if (state && state !== 'THAWED') await this.thaw();
    }
    await killUntilEmpty(this.path, () => this.pids());
    // Deepest first within each hierarchy; hierarchies are independent of each other.
    for (const t of this.targets) await rmdirTree(t.dir, t.cgPath);
  }
}
