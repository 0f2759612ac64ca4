// The inputs every part of `berthd check` shares: the roots, one read of the recorded state, and whether berthd runs.
import type { RecordedState } from './state.js';

export interface CheckContext {
  dataRoot: string;
  execRoot: string;
  state: RecordedState;
  /** The running berthd's pid; undefined when it is down. */
  daemonPid?: number;
  /** With berthd running: content and snapshots younger than this may belong to an operation under way. */
  graceMs: number;
  /** Directories of the containers' cgroup parent, one per hierarchy (cgroup-parent-file.ts). */
  cgroupParentDirs: string[];
}

/**
 * A container whose resources may exist: it has an engine record and a lifecycle task (of any
 * status: a task that stopped while berthd was down keeps its mount, cgroup and netns until the
 * next berthd applies the exit).
 */
export function hasTask(ctx: CheckContext, id: string): boolean {
  return ctx.state.records.has(id) && ctx.state.tasks.has(id);
}
