// `<exec-root>/cgroup-parent.json`: where berthd's container cgroups live, resolved once by the daemon, for `berthd check`.
//
// A relative cgroup parent (the default `berth`) nests under berthd's own cgroup, which another
// process (the check, run from a shell or CI) cannot know; on cgroup v1 a task's recorded path may
// even stay relative (the daemon sits at different places per hierarchy). So the daemon writes the
// parent's directories, one per hierarchy, when it opens. In the exec root: lost on reboot, as the
// cgroups are.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openCgroups } from '../runtime/cgroups/open.js';

export interface CgroupParentRecord {
  /** As configured (`--cgroup-parent`, default `berth`). */
  parent: string;
  /** The parent's directory in each hierarchy (one for cgroup v2). */
  dirs: string[];
}

export const cgroupParentFile = (execRoot: string) => join(execRoot, 'cgroup-parent.json');

/** The directories of `parent` as this process resolves a container cgroup under it. */
export function resolveCgroupParent(parent: string): CgroupParentRecord {
  const probe = 'c0ffee';
  const dirs = Object.values(openCgroups({ id: probe, path: `${parent.replace(/\/+$/, '')}/${probe}` }).hierarchyDirs()).map((d) => dirname(d));
  return { parent, dirs: [...new Set(dirs)].sort() };
}

/** Resolve and record the parent (atomically: a reader sees the old file or the new one). */
export function writeCgroupParentFile(execRoot: string, parent: string): CgroupParentRecord {
  const rec = resolveCgroupParent(parent);
  const f = cgroupParentFile(execRoot);
  writeFileSync(`${f}.tmp`, `${JSON.stringify(rec)}\n`);
  renameSync(`${f}.tmp`, f);
  return rec;
}

/** The record a daemon wrote, or undefined. */
export function readCgroupParentFile(execRoot: string): CgroupParentRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(cgroupParentFile(execRoot), 'utf8')) as CgroupParentRecord;
    return typeof r.parent === 'string' && Array.isArray(r.dirs) ? r : undefined;
  } catch {
    return undefined;
  }
}
