// berthd check: is what is on the host (shims, mounts, cgroups, netns, leases, veths, snapshots, blobs) exactly what the recorded state explains?
//
//   const r = await checkState({ dataRoot: '/var/lib/berth', execRoot: '/run/berth', pidfile: '/run/berth/berthd.pid' });
//   if (!r.ok) for (const f of r.findings) console.log(f.kind, f.message);
//
// It changes nothing and takes no lock, so it runs with berthd down (after a crash, say) or up.
// With berthd up, an operation under way looks like a leak for a moment (a rootfs mounted for a
// create before its record exists): the check looks twice, `settleMs` apart, and reports only what
// it saw both times; young blobs and snapshots (within `graceMs`) are taken as a pull or unpack
// under way.
import { readCgroupParentFile } from '../engine/cgroup-parent-file.js';
import { checkImages } from './check-images.js';
import { checkCgroups, checkMounts } from './check-host.js';
import { checkNetwork } from './check-network.js';
import { checkContainers, checkTasks } from './check-tasks.js';
import type { CheckContext } from './context.js';
import { findingKey, type Finding } from './findings.js';
import { openReadOnly, readRecordedState, runningDaemon } from './state.js';

export interface CheckOptions {
  dataRoot: string;
  execRoot: string;
  /** berthd's pidfile: tells whether it runs. */
  pidfile: string;
  /** Default 5 minutes; only with berthd running. */
  graceMs?: number;
  /** Default 2 s; only with berthd running. */
  settleMs?: number;
  /** Rehash every blob too. */
  verifyContent?: boolean;
}

export interface CheckReport {
  ok: boolean;
  /** The running berthd's pid, if it was up. */
  daemonPid?: number;
  findings: Finding[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function checkState(o: CheckOptions): Promise<CheckReport> {
  const daemonPid = runningDaemon(o.pidfile);
  // No record: no berthd ever opened this exec root since boot, so it has no cgroups either. (Not
  // resolving a default parent here: from this process's cgroup it could name another daemon's.)
  const cgroupParentDirs = readCgroupParentFile(o.execRoot)?.dirs ?? [];
  let db;
  try {
    db = openReadOnly(o.dataRoot);
  } catch (e) {
    return { ok: false, ...(daemonPid ? { daemonPid } : {}), findings: [{ kind: 'unreadable', object: o.dataRoot, message: `metadata.db: ${(e as Error).message}` }] };
  }
  try {
    const pass = async (): Promise<Finding[]> => {
      const ctx: CheckContext = {
        dataRoot: o.dataRoot, execRoot: o.execRoot, state: readRecordedState(db), graceMs: o.graceMs ?? 300_000, cgroupParentDirs,
        ...(daemonPid ? { daemonPid } : {}),
      };
      const out: Finding[] = [];
      const part = async (what: string, fn: () => Finding[] | Promise<Finding[]>) => {
        try {
          out.push(...(await fn()));
        } catch (e) {
          out.push({ kind: 'unreadable', object: what, message: `${what}: ${(e as Error).message}` });
        }
      };
      let snapshotKeys: Set<string> | undefined;
      if (db) {
        const dbh = db;
        await part('images', async () => {
          const r = await checkImages(ctx, dbh, { ...(o.verifyContent ? { verifyContent: true } : {}) });
          snapshotKeys = r.snapshotKeys;
          return r.findings;
        });
      }
      await part('tasks', () => checkTasks(ctx));
      await part('containers', () => checkContainers(ctx, snapshotKeys));
      await part('mounts', () => checkMounts(ctx));
      await part('cgroups', () => checkCgroups(ctx));
      await part('network', () => checkNetwork(ctx));
      return out;
    };
    let findings = await pass();
    const settle = o.settleMs ?? 2000;
    if (daemonPid && findings.length && settle > 0) {
      const first = new Set(findings.map(findingKey));
      await sleep(settle);
      findings = (await pass()).filter((f) => first.has(findingKey(f)));
    }
    return { ok: findings.length === 0, ...(daemonPid ? { daemonPid } : {}), findings };
  } finally {
    db?.close();
  }
}
