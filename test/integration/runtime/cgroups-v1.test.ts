// Integration tests for the cgroup managers on this host's real kernel: v1 limits, a real process moved in, freeze, OOM, destroy; v2 on a hybrid unified mount.
//
// Safety: every cgroup is created under the test process's own cgroup in each hierarchy, with a
// unique berth-test-<random> name, and removed in t.after even when a test fails. Only processes
// this test spawned are moved or killed, by pid.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { detectCgroupLayout, openCgroups } from '../../../src/runtime/cgroups/open.js';
import { rmdirIfEmpty } from '../../../src/runtime/cgroups/fs.js';
import { resolveInHierarchy } from '../../../src/runtime/cgroups/path.js';
import type { V1CgroupManager } from '../../../src/runtime/cgroups/v1/manager.js';
import { V2CgroupManager } from '../../../src/runtime/cgroups/v2/manager.js';
import type { CgroupManager } from '../../../src/runtime/cgroups/cgroups.js';

const isRoot = process.getuid?.() === 0;
function layoutOrReason(): { version: 1 | 2; reason?: string } {
  try {
    return { version: detectCgroupLayout().version };
  } catch (e) {
    return { version: 1, reason: `no cgroups: ${(e as Error).message}` };
  }
}
const layout = layoutOrReason();
const skipV1 = !isRoot ? 'needs root to create cgroups' : layout.reason ?? (layout.version !== 1 ? 'host uses cgroup v2, not v1' : undefined);

const uniq = () => `berth-test-${randomBytes(4).toString('hex')}`;
const read = (p: string) => readFileSync(p, 'utf8').trim();

/** Spawn `sh -c 'read x; <then>'`: it waits on stdin so it can be moved into the cgroup before it goes on. */
function spawnWaiting(then: string): { child: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn('/bin/sh', ['-c', `read x; ${then}`], { stdio: ['pipe', 'ignore', 'ignore'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited };
}

/** Put a pid we spawned into every hierarchy of the cgroup. */
function moveInto(mgr: CgroupManager, pid: number): void {
  for (const f of mgr.procsFiles()) writeFileSync(f, String(pid));
}

/** Cleanup that runs even when the test failed: kill our child, destroy, then rmdir whatever is left. */
function cleanupAfter(t: TestContext, mgr: CgroupManager, children: ChildProcess[]): void {
  t.after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid) {
      try { process.kill(c.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    await mgr.destroy().catch((e) => console.error('cleanup destroy:', e));
    for (const dir of Object.values(mgr.hierarchyDirs())) {
      try { rmdirSync(dir); } catch { /* removed by destroy */ }
    }
  });
}

test('v1: limits, a real process, pids, stats, freeze, update, destroy', { skip: skipV1 }, async (t) => {
  const name = uniq();
  const mgr = openCgroups({ id: 'itest', path: name }) as V1CgroupManager;
  const { child, exited } = spawnWaiting('exec /bin/sleep 30');
  cleanupAfter(t, mgr, [child]);
  assert.equal(mgr.version, 1);

  await mgr.create({
    memory: { limit: 64 << 20, reservation: 32 << 20, swap: 64 << 20 },
    cpu: { shares: 512, quota: 50000, period: 100000 },
    pids: { limit: 32 },
    devices: [
      { allow: false, access: 'rwm' },
      ...[3, 5, 7, 8, 9].map((minor) => ({ allow: true, type: 'c', major: 1, minor, access: 'rwm' })),
      { allow: true, type: 'c', major: 136, access: 'rwm' },
    ],
  });
  const dirs = mgr.hierarchyDirs();
  const own = (ctl: string) => {
    const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes(ctl));
    return line?.split(':')[2] ?? '/';
  };
  // Nested under our own cgroup in each hierarchy (memory is /process_api/... here, the rest /).
  assert.equal(dirs.memory, join('/sys/fs/cgroup/memory', own('memory'), name));
  assert.ok(dirs.memory && dirs.cpu && dirs.pids && dirs.devices && dirs.freezer && dirs.cpuset);
  assert.equal(read(join(dirs.memory, 'memory.limit_in_bytes')), String(64 << 20));
  assert.equal(read(join(dirs.memory, 'memory.soft_limit_in_bytes')), String(32 << 20));
  if (existsSync(join(dirs.memory, 'memory.memsw.limit_in_bytes'))) {
    assert.equal(read(join(dirs.memory, 'memory.memsw.limit_in_bytes')), String(64 << 20));
  }
  assert.equal(read(join(dirs.cpu, 'cpu.shares')), '512');
  assert.equal(read(join(dirs.cpu, 'cpu.cfs_quota_us')), '50000');
  assert.equal(read(join(dirs.pids, 'pids.max')), '32');
  assert.ok(read(join(dirs.cpuset, 'cpuset.cpus')) !== '', 'cpuset.cpus copied from the parent');
  const devs = read(join(dirs.devices, 'devices.list')).split('\n');
  assert.ok(devs.includes('c 1:3 rwm') && devs.includes('c 136:* rwm') && !devs.includes('a *:* rwm'), devs.join('|'));

  // Move the child in, then let it exec sleep so its new memory is charged here.
  assert.ok(child.pid);
  moveInto(mgr, child.pid);
  child.stdin?.write('go\n');
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(await mgr.pids(), [child.pid]);
  const s = await mgr.stats();
  assert.ok(s.memory.usage.usage > 0, `memory usage ${s.memory.usage.usage}`);
  assert.equal(s.memory.usage.limit, 64 << 20);
  assert.equal(s.pids.current, 1);
  assert.equal(s.pids.limit, 32);
  assert.ok(s.cpu.usage.total > 0, `cpu usage ${s.cpu.usage.total}`);
  assert.ok((s.cpu.usage.percpu?.length ?? 0) > 0, 'per-cpu usage listed');

  await mgr.freeze();
  assert.equal(read(join(dirs.freezer, 'freezer.state')), 'FROZEN');
  assert.equal(await mgr.isFrozen(), true);
  await mgr.thaw();
  assert.equal(read(join(dirs.freezer, 'freezer.state')), 'THAWED');
  assert.equal(await mgr.isFrozen(), false);

  // Lowering memory and memsw together: the order must satisfy the kernel.
  await mgr.update({ memory: { limit: 32 << 20, swap: 32 << 20 }, pids: { limit: 16 }, cpu: { quota: -1 } });
  assert.equal(read(join(dirs.memory, 'memory.limit_in_bytes')), String(32 << 20));
  assert.equal(read(join(dirs.pids, 'pids.max')), '16');
  assert.equal(read(join(dirs.cpu, 'cpu.cfs_quota_us')), '-1');
  // And raising them again.
  await mgr.update({ memory: { limit: 128 << 20, swap: 256 << 20 } });
  assert.equal(read(join(dirs.memory, 'memory.limit_in_bytes')), String(128 << 20));

  // destroy kills what is left, even frozen, and removes every dir.
  await mgr.freeze();
  await mgr.destroy();
  const ex = await exited;
  assert.equal(ex.signal, 'SIGKILL');
  for (const [h, dir] of Object.entries(dirs)) assert.ok(!existsSync(dir), `${h}: ${dir} removed`);
  await mgr.destroy();
});

test('v1: destroy after an exit is one rmdir per hierarchy; a populated cgroup or one with a child is refused it', { skip: skipV1 }, async (t) => {
  const mgr = openCgroups({ id: 'itest', path: uniq() }) as V1CgroupManager;
  await mgr.create({ pids: { limit: 8 } });
  const { child, exited } = spawnWaiting('exit 3');
  cleanupAfter(t, mgr, [child]);
  moveInto(mgr, child.pid!);
  const dirs = mgr.hierarchyDirs();
  assert.equal(rmdirIfEmpty(dirs.pids!), false, 'a cgroup with a process in it stays');
  assert.ok(existsSync(dirs.pids!));
  child.stdin!.end('go\n');
  assert.equal((await exited).code, 3);
  // A child cgroup in one hierarchy: that one needs the full walk, the others the one rmdir.
  const sub = join(dirs.memory!, 'sub');
  mkdirSync(sub);
  assert.equal(rmdirIfEmpty(dirs.memory!), false, 'a cgroup with a child cgroup stays');
  await mgr.destroy();
  for (const [h, dir] of Object.entries(dirs)) assert.ok(!existsSync(dir), `${h}: ${dir} removed`);
  assert.equal(rmdirIfEmpty(dirs.pids!), true, 'already gone counts as removed');
});

test('v1: containers under one parent: the second needs only its own level, and a parent removed meanwhile is made again', { skip: skipV1 }, async (t) => {
  const parent = uniq();
  const mgrs = ['a', 'b', 'c'].map((x) => openCgroups({ id: `itest-${x}`, path: `${parent}/${x}` }) as V1CgroupManager);
  const parentDirs = () => Object.values(mgrs[0]!.hierarchyDirs()).map((d) => join(d, '..'));
  t.after(async () => {
    for (const m of mgrs) await m.destroy().catch(() => undefined);
    for (const d of parentDirs()) try { rmdirSync(d); } catch { /* gone */ }
  });
  await mgrs[0]!.create({ pids: { limit: 8 } });
  await mgrs[1]!.create({ pids: { limit: 9 } });
  const b = mgrs[1]!.hierarchyDirs();
  assert.equal(read(join(b.pids!, 'pids.max')), '9');
  // cpuset: a task can join only a cpuset with cpus and mems, copied from the parent.
  if (b.cpuset) {
    assert.notEqual(read(join(b.cpuset, 'cpuset.cpus')), '');
    assert.notEqual(read(join(b.cpuset, 'cpuset.mems')), '');
  }
  const { child, exited } = spawnWaiting('exit 0');
  moveInto(mgrs[1]!, child.pid!);
  child.stdin!.end('go\n');
  await exited;
  // Both removed, and their parent too: the third walks every level again.
  await mgrs[0]!.destroy();
  await mgrs[1]!.destroy();
  for (const d of parentDirs()) rmdirSync(d);
  await mgrs[2]!.create({ pids: { limit: 10 } });
  assert.equal(read(join(mgrs[2]!.hierarchyDirs().pids!, 'pids.max')), '10');
});

test('v1: a memory hog over the limit is OOM-killed and oomKilled() says so', { skip: skipV1 }, async (t) => {
  const mgr = openCgroups({ id: 'itest', path: uniq() });
  // dash grows its own heap to hold the 64 MiB command substitution.
  const { child, exited } = spawnWaiting(`x=$(head -c 64m /dev/zero | tr '\\0' a); echo done`);
  cleanupAfter(t, mgr, [child]);
  await mgr.create({ memory: { limit: 16 << 20, swap: 16 << 20 } });
  assert.equal(await mgr.oomKilled(), false);
  assert.ok(child.pid);
  moveInto(mgr, child.pid);
  child.stdin?.write('go\n');
  const ex = await exited;
  assert.equal(ex.signal, 'SIGKILL', `hog exit ${JSON.stringify(ex)}`);
  assert.equal(await mgr.oomKilled(), true);
  await mgr.destroy();
});

test('hybrid host: v1 chosen; the cgroup2 mount (hugetlb only here) is detected and left out', { skip: layout.reason ?? (layout.version !== 1 ? 'host uses cgroup v2, not v1' : undefined) }, () => {
  const l = detectCgroupLayout();
  assert.equal(l.version, 1);
  if (l.version !== 1) return;
  const mgr = openCgroups({ id: 'itest', path: uniq() });
  assert.equal(mgr.version, 1);
  assert.ok(!('unified' in mgr.hierarchyDirs()), 'no dir in the cgroup2 mount');
  assert.ok(mgr.procsFiles().every((f) => !f.startsWith(l.hybridUnified?.mountpoint ?? '\0')));
  if (l.hybridUnified) {
    const ctls = read(join(l.hybridUnified.mountpoint, 'cgroup.controllers')).split(/\s+/).filter(Boolean);
    // A controller lives in v1 or in v2, never both: whatever cgroup2 holds is absent from v1.
    for (const c of ctls) assert.ok(!l.hierarchies.some((h) => h.controllers.includes(c)), c);
  }
});

const hybrid = (() => {
  try {
    const l = detectCgroupLayout();
    return l.version === 1 ? l.hybridUnified : undefined;
  } catch {
    return undefined;
  }
})();
const skipV2 = !isRoot ? 'needs root to create cgroups' : !hybrid ? 'no hybrid cgroup2 mount on this host' : undefined;

test('v2 on the hybrid unified mount: create, move, freeze, kill, rmdir (no controllers enabled)', { skip: skipV2 }, async (t) => {
  assert.ok(hybrid);
  const name = uniq();
  // Relative path: under our own v2 cgroup. No controllers are enabled, so nothing above our dir is written.
  const r = resolveInHierarchy({ path: name, absolute: false }, hybrid);
  const mgr = new V2CgroupManager({ path: r.cgPath, mountpoint: hybrid.mountpoint, ...r, enableControllers: [] });
  const { child, exited } = spawnWaiting('exec /bin/sleep 30');
  cleanupAfter(t, mgr, [child]);
  const before = read(join(r.baseDir, 'cgroup.subtree_control'));
  await mgr.create({ pids: undefined });
  assert.equal(read(join(r.baseDir, 'cgroup.subtree_control')), before, 'parent subtree_control untouched');
  assert.ok(child.pid);
  moveInto(mgr, child.pid);
  child.stdin?.write('go\n');
  await new Promise((res) => setTimeout(res, 100));
  assert.deepEqual(await mgr.pids(), [child.pid]);
  await mgr.freeze();
  assert.equal(await mgr.isFrozen(), true);
  assert.match(read(join(mgr.dir, 'cgroup.events')), /frozen 1/);
  await mgr.thaw();
  assert.equal(await mgr.isFrozen(), false);
  const s = await mgr.stats();
  assert.ok(s.cpu.usage.total > 0, `cpu usage ${s.cpu.usage.total}`);
  await mgr.freeze();
  await mgr.destroy();
  assert.equal((await exited).signal, 'SIGKILL');
  assert.ok(!existsSync(mgr.dir));
});
