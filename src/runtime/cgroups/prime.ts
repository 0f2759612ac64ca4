// Warms the kernel for the cgroup join of a container about to start (the largest wait of a start on cgroup v1).
//
// Every write to a cgroup.procs file takes the global cgroup_threadgroup_rwsem for writing, and a
// percpu rwsem's writer first waits for an RCU grace period unless another writer entered within
// the last one (rcu_sync, kernel/rcu/sync.c): berth-init's join of a new container waited 7-12 ms
// here. A write that starts earlier, in parallel with writing the plan, launching the shim and
// berth-init's start, pays that grace period instead, and the join that follows finds the lock
// warm. The write is berth-helper moving itself into the cgroup it is already in: a no-op move.
// It holds the cgroup mutex while it waits, as every cgroup.procs write does, so it must come
// after the container's cgroups are made (a mkdir would wait for it), not before.
import { join } from 'node:path';
import { hostHelper } from '../../common/host-helper.js';
import { detectCgroupLayout } from './open.js';
import { resolveInHierarchy } from './path.js';

let procsFile: string | null | undefined;
let inFlight: Promise<void> | undefined;

/** This process's cgroup.procs in one hierarchy (the first v1 one with a controller, or v2's), if known. */
function ownProcsFile(): string | undefined {
  if (procsFile === undefined) {
    try {
      const l = detectCgroupLayout();
      const h = l.version === 2 ? l.unified : l.hierarchies.find((x) => x.controllers.some((c) => !c.startsWith('name=')));
      procsFile = h ? join(resolveInHierarchy({ path: '.', absolute: false }, h).baseDir, 'cgroup.procs') : null;
    } catch {
      procsFile = null;
    }
  }
  return procsFile ?? undefined;
}

/**
 * Start warming the cgroup attach lock, when a container's cgroup join (start or exec) is near. Callers do not
 * wait (the promise, settled when the write is done, is for tests); one write at a time; without
 * berth-helper or a known cgroup it does nothing. It never fails.
 */
export function primeCgroupAttach(): Promise<void> {
  if (inFlight) return inFlight;
  const h = hostHelper();
  const file = h && ownProcsFile();
  if (!h || !file) return Promise.resolve();
  const p = h.prime(file).catch(() => undefined).finally(() => { inFlight = undefined; });
  inFlight = p;
  return p;
}
