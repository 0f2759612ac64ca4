// berthd check: shims, task dirs and sockets in the exec root, and container records against lifecycle containers and container dirs.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SOCKET_DIR, taskSockets } from '../lifecycle/task-sockets.js';
import type { CheckContext } from './context.js';
import type { Finding } from './findings.js';

const ls = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

/** berth-shim processes (not zombies) and the task dir each serves (its `--dir`). */
export function shimProcesses(): Array<{ pid: number; dir: string }> {
  const out: Array<{ pid: number; dir: string }> = [];
  for (const n of ls('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const argv = readFileSync(`/proc/${n}/cmdline`, 'latin1').split('\0');
      if (basename(argv[0] ?? '') !== 'berth-shim') continue;
      const i = argv.indexOf('--dir');
      if (i < 0 || argv[i + 1] === undefined) continue;
      if (/\) Z /.test(readFileSync(`/proc/${n}/stat`, 'latin1'))) continue;
      out.push({ pid: Number(n), dir: argv[i + 1]! });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Shims of this exec root that no task explains, task dirs and sockets no task owns, tasks left half-made. */
export function checkTasks(ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  const { state, execRoot } = ctx;
  const byDir = new Map([...state.tasks.values()].map((t) => [t.dir, t]));

  for (const s of shimProcesses()) {
    if (!s.dir.startsWith(execRoot + '/')) continue;
    const id = basename(s.dir);
    const t = byDir.get(s.dir);
    if (!t) out.push({ kind: 'orphan-shim', object: String(s.pid), message: `berth-shim pid ${s.pid} serves ${s.dir}, which no task names` });
    else if (t.shimPid !== 0 && t.shimPid !== s.pid) out.push({ kind: 'orphan-shim', object: String(s.pid), message: `berth-shim pid ${s.pid} serves ${s.dir}, whose task's shim is pid ${t.shimPid}` });
    else if (!state.records.has(id)) out.push({ kind: 'orphan-shim', object: String(s.pid), message: `berth-shim pid ${s.pid} runs container ${id}, which has no record` });
  }

  for (const ns of state.namespaces) {
    for (const n of ls(join(execRoot, ns))) {
      const dir = join(execRoot, ns, n);
      if (!byDir.has(dir)) out.push({ kind: 'orphan-task-dir', object: dir, message: `task dir ${dir}: no task` });
    }
  }

  const prefixes = new Set([...state.tasks.values()].map((t) => taskSockets(t.dir).prefix));
  const sdir = join(execRoot, SOCKET_DIR);
  for (const n of ls(sdir)) {
    const prefix = /^([0-9a-f]+)/.exec(n)?.[1] ?? '';
    if (!prefixes.has(prefix)) out.push({ kind: 'orphan-socket', object: join(sdir, n), message: `socket ${join(sdir, n)}: no task` });
  }

  for (const t of state.tasks.values()) {
    if (t.status === 'creating') {
      out.push({ kind: 'interrupted-task', object: t.id, message: `task of ${t.id} is still "creating" (a start cut short; berthd undoes it when it starts)` });
    } else if (t.status === 'stopped' && ctx.daemonPid) {
      // A running berthd deletes a task once its exit is applied; one that stays was not cleaned up.
      out.push({ kind: 'unapplied-exit', object: t.id, message: `task of ${t.id} stopped but was not deleted (cgroups, task dir)` });
    }
  }
  return out;
}

/** Engine records against lifecycle containers, snapshots and the containers' dirs. */
export function checkContainers(ctx: CheckContext, snapshotKeys: Set<string> | undefined): Finding[] {
  const out: Finding[] = [];
  const { state } = ctx;
  for (const c of state.records.values()) {
    if (c.state.status === 'removing') {
      out.push({ kind: 'interrupted-removal', object: c.id, message: `container ${c.id} (${c.name}) is being removed${ctx.daemonPid ? '' : ' (berthd finishes it when it starts)'}` });
    }
    if (snapshotKeys && c.snapshotKey && !snapshotKeys.has(c.snapshotKey) && c.state.status !== 'removing') {
      out.push({ kind: 'container-without-snapshot', object: c.id, message: `container ${c.id} (${c.name}): its snapshot ${c.snapshotKey} is missing` });
    }
  }
  for (const l of state.lifecycle.values()) {
    if (!state.records.has(l.id)) out.push({ kind: 'orphan-lifecycle-container', object: l.id, message: `lifecycle container ${l.namespace}/${l.id} has no engine record (a create cut short)` });
  }
  for (const base of [join(ctx.dataRoot, 'containers'), join(ctx.execRoot, 'containers')]) {
    for (const n of ls(base)) {
      if (!state.records.has(n)) out.push({ kind: 'orphan-container-dir', object: join(base, n), message: `container dir ${join(base, n)}: no such container` });
    }
  }
  // Removed trees waiting to be deleted (common/trash.ts): under way while berthd runs; with it
  // down, what a crash or a kill left, which its next start deletes.
  if (!ctx.daemonPid) {
    const trash = join(ctx.dataRoot, 'trash');
    for (const n of ls(trash)) out.push({ kind: 'trash', object: join(trash, n), message: `${join(trash, n)}: a removed tree not yet deleted (berthd deletes it when it starts)` });
  }
  return out;
}
