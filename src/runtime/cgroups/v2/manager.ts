// The cgroup v2 manager: one directory in the unified hierarchy, controllers enabled in the parents, limits, freeze, stats, destroy.
import { dirname, join, posix } from 'node:path';
import { BerthError, errPrecondition, errnoOf } from '../../../common/errors.js';
import type { LinuxResources } from '../../spec/types.js';
import type { CgroupManager, CgroupStats } from '../cgroups.js';
import { CgroupDir, killUntilEmpty, mkdirLevels, parseKeyValues, pollUntil, procsRecursive, rmdirIfEmpty, rmdirTree } from '../fs.js';
import type { ResolvedDir } from '../path.js';
import { validateResources } from '../validate.js';
import { V2_APPLIERS, type V2ApplyContext } from './resources.js';
import { readV2Stats } from './stats.js';

/** How long freeze/thaw wait for cgroup.events to report the new state. */
const FREEZE_TIMEOUT_MS = 5_000;

export interface V2ManagerOptions extends ResolvedDir {
  /** The normalized cgroupsPath, for messages and `path`. */
  path: string;
  /** The unified hierarchy's mount point. */
  mountpoint: string;
  /**
   * Controllers to enable on the way down (default: every controller the parent offers, as runc
   * does, so stats and later updates work). Only ancestors from `baseDir` down are written.
   */
  enableControllers?: string[];
}

/**
 * Manages one container's cgroup in the unified hierarchy.
 *
 * Device rules are NOT enforced here: v2 has no devices.allow/deny files, and filtering needs
 * an eBPF program of type BPF_CGROUP_DEVICE attached to the cgroup. create/update accept the
 * rules and record a warning in `warnings`; enforcing them is left to a later eBPF step.
 */
export class V2CgroupManager implements CgroupManager {
  readonly version = 2 as const;
  readonly path: string;
  readonly warnings: string[] = [];
  private readonly opts: V2ManagerOptions;
  private readonly d: CgroupDir;

  constructor(opts: V2ManagerOptions) {
    this.opts = opts;
    this.path = opts.path;
    this.d = new CgroupDir(opts.dir, opts.cgPath);
  }

  /** The cgroup's directory (for tests and diagnostics). */
  get dir(): string {
    return this.opts.dir;
  }

  private warn(msg: string): void {
    if (!this.warnings.includes(msg)) this.warnings.push(msg);
  }

  async create(resources?: LinuxResources): Promise<void> {
    if (resources) validateResources(resources, 2, this.path);
    const { mountpoint, dir, cgPath } = this.opts;
    await mkdirLevels(mountpoint, dir, cgPath);
    await this.enableControllers();
    if (resources) await this.apply(resources);
  }

  /**
   * A controller's files appear in a cgroup only when its parent lists the controller in
   * cgroup.subtree_control, so enable the wanted ones in each ancestor from `baseDir` down to
   * the parent. Ancestors above `baseDir` are not ours; what they delegate is what we get.
   * All at once first; if the kernel refuses (EBUSY for a populated non-root cgroup, a cpu
   * controller blocked by realtime tasks), one by one, keeping what works.
   */
  private async enableControllers(): Promise<void> {
    const { baseDir, dir, cgPath } = this.opts;
    const levels: string[] = [];
    for (let cur = dirname(dir); cur.length >= baseDir.length; cur = dirname(cur)) {
      levels.unshift(cur);
      if (cur === baseDir || cur === '/') break;
    }
    // Each level's name in the hierarchy, for messages: cgPath minus the components below it.
    const levelPath = (level: string) => {
      const below = dir.slice(level.length).split('/').filter(Boolean).length;
      let p = cgPath;
      for (let i = 0; i < below; i++) p = posix.dirname(p);
      return p;
    };
    for (const level of levels) {
      const ld = new CgroupDir(level, levelPath(level));
      const available = ((await ld.readOptional('cgroup.controllers')) ?? '').split(/\s+/).filter(Boolean);
      const enabled = new Set(((await ld.readOptional('cgroup.subtree_control')) ?? '').split(/\s+/).filter(Boolean).map((c) => c.replace(/^\+/, '')));
      const wanted = this.opts.enableControllers ?? available;
      const missing = wanted.filter((c) => available.includes(c) && !enabled.has(c));
      if (missing.length === 0) continue;
      try {
        await ld.write('cgroup.subtree_control', missing.map((c) => `+${c}`).join(' '));
      } catch {
        for (const c of missing) {
          try {
            await ld.write('cgroup.subtree_control', `+${c}`);
          } catch (err) {
            this.warn(`controller "${c}" could not be enabled in cgroup "${ld.cgPath}": ${errnoOf(err) ?? String(err)}`);
          }
        }
      }
    }
  }

  async update(resources: LinuxResources): Promise<void> {
    validateResources(resources, 2, this.path);
    await this.apply(resources);
  }

  private async apply(res: LinuxResources): Promise<void> {
    const ctx: V2ApplyContext = { d: this.d, warn: (m) => this.warn(m) };
    for (const apply of V2_APPLIERS) await apply(ctx, res);
  }

  procsFiles(): string[] {
    return [join(this.opts.dir, 'cgroup.procs')];
  }

  /** v2 has one hierarchy; its key is `""`. */
  hierarchyDirs(): Record<string, string> {
    return { '': this.opts.dir };
  }

  private async events(): Promise<Record<string, number>> {
    return parseKeyValues(await this.d.read('cgroup.events'));
  }

  /** cgroup.freeze (5.2+); the freeze is done when cgroup.events says `frozen 1`. */
  async freeze(): Promise<void> {
    if (!(await this.d.exists('cgroup.freeze'))) throw errPrecondition(`cgroup "${this.d.cgPath}": freeze needs cgroup.freeze (Linux 5.2+)`);
    await this.d.write('cgroup.freeze', 1);
    if (!(await pollUntil(async () => (await this.events()).frozen === 1, FREEZE_TIMEOUT_MS))) {
      await this.d.write('cgroup.freeze', 0).catch(() => undefined);
      throw new BerthError('deadline-exceeded', `cgroup "${this.d.cgPath}": freeze: cgroup.events not frozen after ${FREEZE_TIMEOUT_MS}ms`);
    }
  }

  async thaw(): Promise<void> {
    if (!(await this.d.exists('cgroup.freeze'))) throw errPrecondition(`cgroup "${this.d.cgPath}": thaw needs cgroup.freeze (Linux 5.2+)`);
    await this.d.write('cgroup.freeze', 0);
    if (!(await pollUntil(async () => (await this.events()).frozen !== 1, FREEZE_TIMEOUT_MS))) {
      throw new BerthError('deadline-exceeded', `cgroup "${this.d.cgPath}": thaw: cgroup.events still frozen after ${FREEZE_TIMEOUT_MS}ms`);
    }
  }

  async isFrozen(): Promise<boolean> {
    return parseKeyValues(await this.d.readOptional('cgroup.events')).frozen === 1;
  }

  async pids(): Promise<number[]> {
    return procsRecursive(this.opts.dir, this.opts.cgPath);
  }

  async stats(): Promise<CgroupStats> {
    return readV2Stats(this.d);
  }

  /** memory.events `oom_kill` (hierarchical: kills in child cgroups count too). */
  async oomKilled(): Promise<boolean> {
    return (parseKeyValues(await this.d.readOptional('memory.events')).oom_kill ?? 0) > 0;
  }

  /**
   * cgroup.kill (5.14+) kills the whole subtree atomically, frozen or not, and cannot race a
   * fork; without it, SIGKILL pid by pid until empty. Then rmdir, deepest first.
   */
  async destroy(): Promise<void> {
    if (rmdirIfEmpty(this.opts.dir)) return;
    if (!(await this.d.present())) return;
    if (await this.isFrozen()) await this.thaw();
    if (await this.d.exists('cgroup.kill')) {
      // Never through cgroup.kill if we are inside: that would kill the caller.
      const pids = await this.pids();
      if (pids.includes(process.pid)) {
        throw errPrecondition(`cgroup "${this.d.cgPath}": destroy: the calling process ${process.pid} is in it; refusing to kill`);
      }
      if (pids.length > 0) await this.d.write('cgroup.kill', 1);
    }
    await killUntilEmpty(this.d.cgPath, () => this.pids());
    await rmdirTree(this.opts.dir, this.opts.cgPath);
  }
}
