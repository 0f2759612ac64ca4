// Warms the kernel for the cgroup join of a container about to start, where that join is a
// cgroup.procs write: on cgroup v2 before Linux 5.7 only.
//
// Every write to a cgroup.procs file takes the global cgroup_threadgroup_rwsem for writing, and a
// percpu rwsem's writer first waits for an RCU grace period unless another writer entered within
// the last one (rcu_sync, kernel/rcu/sync.c): 7-12 ms here. On v1 berth-init needs none of this:
// the container process moves its own (single) thread with a "0" written to each hierarchy's
// `tasks` file, which the kernel does without that lock (docs/plan.md `cgroup-join`). On v2 from
// Linux 5.7 the process is born in its cgroup (clone3's CLONE_INTO_CGROUP), with no write at
// all, and a warming write would only hold the cgroup mutex for nothing. Before that, a write
// that starts earlier, in parallel with writing the plan, launching
// the shim and berth-init's start, pays the grace period instead, and the join that follows finds
// the lock warm. The write is berth-helper moving itself into the cgroup it is already in: a
// no-op move. It holds the cgroup mutex while it waits, as every cgroup.procs write does, so it
// must come after the container's cgroups are made (a mkdir would wait for it), not before.
import { release } from 'node:os';
import { join } from 'node:path';
import { hostHelper } from '../../common/host-helper.js';
import { detectCgroupLayout, type CgroupLayout } from './open.js';
import { resolveInHierarchy } from './path.js';

let procsFile: string | null | undefined;
let inFlight: Promise<void> | undefined;

/** Whether the kernel (its `uname -r`) has clone3's CLONE_INTO_CGROUP: Linux 5.7 and later. */
export function hasCloneIntoCgroup(kernelRelease: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(kernelRelease);
  return !!m && (Number(m[1]) > 5 || (Number(m[1]) === 5 && Number(m[2]) >= 7));
}

/** The cgroup.procs file a warming write goes to under `layout`: this process's own on v2 before 5.7; none otherwise. */
export function primeProcsFile(layout: CgroupLayout, kernelRelease = release()): string | undefined {
  if (layout.version !== 2 || hasCloneIntoCgroup(kernelRelease)) return undefined;
  return join(resolveInHierarchy({ path: '.', absolute: false }, layout.unified).baseDir, 'cgroup.procs');
}

function ownProcsFile(): string | undefined {
  if (procsFile === undefined) {
    try {
      procsFile = primeProcsFile(detectCgroupLayout()) ?? null;
    } catch {
      procsFile = null;
    }
  }
  return procsFile ?? undefined;
}

/**
 * Start warming the cgroup attach lock, when a container's cgroup join (start or exec) is near. Callers do not
 * wait (the promise, settled when the write is done, is for tests); one write at a time; on v1, without
 * berth-helper or without a known cgroup it does nothing. It never fails.
 */
export function primeCgroupAttach(): Promise<void> {
  if (inFlight) return inFlight;
  const file = ownProcsFile();
  const h = file && hostHelper();
  if (!h || !file) return Promise.resolve();
  const p = h.prime(file).catch(() => undefined).finally(() => { inFlight = undefined; });
  inFlight = p;
  return p;
}
