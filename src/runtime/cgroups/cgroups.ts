// The cgroup manager interface: one implementation per hierarchy layout (v1, v2).
//
// Lifecycle, as the runtime uses it:
//   const mgr = openCgroups({ path: spec.linux.cgroupsPath, id });         // v1 or v2, detected once
//   await mgr.create(spec.linux.resources);     // make dirs, write limits
//   plan.cgroupJoin = mgr.procsFiles();          // berth-init joins before cloning
//   ... await mgr.freeze(); await mgr.thaw(); await mgr.update(res); await mgr.stats(); await mgr.pids();
//   await mgr.destroy();                          // kill leftovers, rmdir, deepest first
import type { LinuxResources } from '../spec/types.js';

/**
 * Stats in runc's `events --stats` shape (the fields containerd reads), filled where known.
 * Times are nanoseconds, sizes bytes. A limit the kernel reports as unlimited (v1's huge
 * page-counter maximum, v2's `max`) is {@link UNLIMITED}; `pids.limit` is 0 when unlimited,
 * as runc reports it. `memory.swap` is memory+swap on both versions, as runc reports it.
 */
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

/** The value stats report for an unlimited limit (exact in a JS number, and in Go's int64/uint64). */
export const UNLIMITED = Number.MAX_SAFE_INTEGER;

export interface CgroupManager {
  /** 1 or 2. */
  readonly version: 1 | 2;
  /**
   * The cgroup path, normalized (systemd `slice:prefix:name` converted), to store and reopen
   * with: absolute (`/berth/abc`, under each hierarchy's root) whenever the request resolves to
   * the same path in every hierarchy (always on v2); else, for a relative request on a v1 host
   * where the caller sits at different places per hierarchy, relative (`berth/abc`, resolved
   * again under the caller's own cgroups on reopen).
   */
  readonly path: string;
  /**
   * Settings that were accepted but are not enforced by this implementation, one sentence each
   * (e.g. device rules on cgroup v2, which need an eBPF program). Filled by create/update, so the
   * engine can surface them as Docker does its `WARNING:` lines.
   */
  readonly warnings: readonly string[];
  /** Create the cgroup(s) and apply `resources`. Existing dirs are reused (joining a shared cgroup). */
  create(resources?: LinuxResources): Promise<void>;
  /** Apply new resources to an existing cgroup (runc `update`). */
  update(resources: LinuxResources): Promise<void>;
  /** The `cgroup.procs` files a new process must be written into, one per hierarchy. */
  procsFiles(): string[];
  /**
   * The container's cgroup dir in each hierarchy, keyed by the hierarchy's mount name under
   * /sys/fs/cgroup (`memory`, `cpu,cpuacct`, `name=systemd` -> `systemd`; v2: `""`), so a
   * `cgroup` mount in the container can bind them (cgroup v1 has no cgroup-namespaced mount of all).
   */
  hierarchyDirs(): Record<string, string>;
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
  /**
   * Test seam: root of the cgroup filesystem (default `/sys/fs/cgroup`); mount points under
   * `/sys/fs/cgroup` in the mount table are read relative to it. And the caller's /proc/self/cgroup text.
   */
  root?: string;
  selfCgroup?: string;
  /** Test seam: the mount table text (default /proc/self/mountinfo). */
  mountinfo?: string;
}
