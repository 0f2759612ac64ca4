// The cgroup manager interface: one implementation per hierarchy layout (v1, v2).
//
// Lifecycle, as the runtime uses it:
//   const mgr = await openCgroups({ path: spec.linux.cgroupsPath, id });   // v1 or v2, detected once
//   await mgr.create(spec.linux.resources);     // make dirs, write limits
//   plan.cgroupJoin = mgr.procsFiles();          // berth-init joins before cloning
//   ... await mgr.freeze(); await mgr.thaw(); await mgr.update(res); await mgr.stats(); await mgr.pids();
//   await mgr.destroy();                          // kill leftovers, rmdir, deepest first
import type { LinuxResources } from '../spec/types.js';

/** Stats in runc's `events --stats` shape (the fields containerd reads), filled where known. */
export interface CgroupStats {
  cpu: {
    usage: { total: number; percpu?: number[]; kernel: number; user: number };
    throttling: { periods?: number; throttledPeriods?: number; throttledTime?: number };
  };
  memory: {
    cache?: number;
    usage: { limit: number; usage: number; max: number; failcnt: number };
    swap?: { limit: number; usage: number; max: number; failcnt: number };
    kernel?: { limit: number; usage: number; max: number; failcnt: number };
    raw?: Record<string, number>;
  };
  pids: { current: number; limit: number };
  blkio: {
    ioServiceBytesRecursive?: Array<{ major: number; minor: number; op: string; value: number }>;
    ioServicedRecursive?: Array<{ major: number; minor: number; op: string; value: number }>;
  };
  hugetlb?: Record<string, { usage: number; max: number; failcnt: number }>;
}

export interface CgroupManager {
  /** 1 or 2. */
  readonly version: 1 | 2;
  /** The cgroup path as given/resolved (e.g. `/berth/abc`), relative to each hierarchy root. */
  readonly path: string;
  /** Create the cgroup(s) and apply `resources`. Existing dirs are reused (joining a shared cgroup). */
  create(resources?: LinuxResources): Promise<void>;
  /** Apply new resources to an existing cgroup (runc `update`). */
  update(resources: LinuxResources): Promise<void>;
  /** The `cgroup.procs` files a new process must be written into, one per hierarchy. */
  procsFiles(): string[];
  /** Freeze every process (v1 freezer.state FROZEN, v2 cgroup.freeze 1) and wait until frozen. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  isFrozen(): Promise<boolean>;
  /** Pids in the cgroup (recursive), as the host sees them. */
  pids(): Promise<number[]>;
  stats(): Promise<CgroupStats>;
  /** True if the OOM killer has killed a process in this cgroup since creation. */
  oomKilled(): Promise<boolean>;
  /** SIGKILL what is left (thawing first), then remove the dirs. Missing dirs are not an error. */
  destroy(): Promise<void>;
}

export interface CgroupOptions {
  /** OCI `linux.cgroupsPath`: absolute = under each hierarchy's root; relative = under the caller's cgroup. */
  path?: string;
  /** Container id, used for the default path `berth/<id>` under the caller's cgroup. */
  id: string;
  /** Test seam: root of the cgroup filesystem (default `/sys/fs/cgroup`), and the caller's /proc/self/cgroup text. */
  root?: string;
  selfCgroup?: string;
  /** Test seam: the mount table text (default /proc/self/mountinfo). */
  mountinfo?: string;
}
