// berthd check: mounts under the data root and exec root (/proc/self/mountinfo) and cgroups under the containers' parent that no container explains.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { stackedMountPoints } from '../images/snapshots/mount.js';
import { hasTask, type CheckContext } from './context.js';
import type { Finding } from './findings.js';

const real = (p: string) => {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
};

/** Mounts strictly under either root that no container with a task explains (its rootfs, a volume it uses). */
export function checkMounts(ctx: CheckContext, mounts = stackedMountPoints()): Finding[] {
  const out: Finding[] = [];
  const dataRoot = real(ctx.dataRoot);
  const execRoot = real(ctx.execRoot);
  // Volumes the containers with a task use, by name (a volume with mount options is mounted on its _data while used).
  const volumesInUse = new Set<string>();
  for (const c of ctx.state.records.values()) {
    if (!hasTask(ctx, c.id)) continue;
    for (const m of c.mountPoints ?? []) if (m.type === 'volume' && m.name) volumesInUse.add(m.name);
  }
  for (const [mp, n] of mounts) {
    const underData = mp.startsWith(dataRoot + '/');
    const underExec = mp.startsWith(execRoot + '/');
    if (!underData && !underExec) continue;
    let why: string | undefined;
    if (underExec) {
      const rel = mp.slice(execRoot.length + 1).split('/');
      if (rel[0] === 'netns' && rel.length === 2) continue; // the netns check's
      if (rel[0] === 'containers' && rel[2] === 'rootfs' && rel.length === 3) {
        why = hasTask(ctx, rel[1]!) ? undefined : `rootfs of ${ctx.state.records.has(rel[1]!) ? 'container' : 'unknown container'} ${rel[1]} that has no task`;
      } else {
        why = 'not a mount berthd makes';
      }
    } else {
      const rel = mp.slice(dataRoot.length + 1).split('/');
      if (rel[0] === 'volumes' && rel[2] === '_data' && rel.length === 3) {
        why = volumesInUse.has(rel[1]!) ? undefined : `volume ${rel[1]} that no running container uses`;
      } else {
        why = 'not a mount berthd makes';
      }
    }
    if (why) out.push({ kind: 'orphan-mount', object: mp, message: `mount ${mp}: ${why}${n > 1 ? ` (${n} mounts stacked)` : ''}` });
    else if (n > 1) out.push({ kind: 'orphan-mount', object: mp, message: `mount ${mp}: ${n} mounts stacked where one is expected` });
  }
  return out;
}

/**
 * Child cgroups of the containers' parent whose container has no task: one finding per child,
 * named by its dir in the first hierarchy that has it (cgroup v1 has one per hierarchy).
 */
export function checkCgroups(ctx: CheckContext): Finding[] {
  const found = new Map<string, { dirs: string[]; procs: number }>();
  for (const parent of ctx.cgroupParentDirs) {
    let names: string[];
    try {
      names = readdirSync(parent);
    } catch {
      continue; // not made yet (no container started)
    }
    for (const n of names) {
      const dir = join(parent, n);
      try {
        if (!statSync(dir).isDirectory()) continue;
      } catch {
        continue;
      }
      if (hasTask(ctx, n)) continue;
      const f = found.get(n) ?? { dirs: [], procs: 0 };
      found.set(n, f);
      f.dirs.push(dir);
      try {
        if (existsSync(join(dir, 'cgroup.procs'))) f.procs = Math.max(f.procs, readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).length);
      } catch { /* removed meanwhile */ }
    }
  }
  return [...found].map(([n, f]) => ({
    kind: 'orphan-cgroup' as const, object: f.dirs[0]!,
    message: `cgroup ${f.dirs[0]}${f.dirs.length > 1 ? ` (and in ${f.dirs.length - 1} more hierarchies)` : ''}: ${ctx.state.records.has(n) ? 'container' : 'no container'} ${n.slice(0, 12)} has no task${f.procs ? `, yet ${f.procs} processes are in it` : ''}`,
  }));
}
