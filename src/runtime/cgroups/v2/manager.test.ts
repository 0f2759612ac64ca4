// Unit tests for the v2 manager on a fake cgroup2 tree: subtree_control, the exact values written, conversions, freeze, stats, destroy.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { errorCode } from '../../../common/errors.js';
import { UNLIMITED } from '../cgroups.js';
import { makeFakeV2, type FakeTree } from '../fake-tree.js';
import { openCgroups } from '../open.js';
import { blkioWeightToIoWeight, ioMaxLines, sharesToWeight, swapToV2 } from './resources.js';
import type { V2CgroupManager } from './manager.js';

let fake: FakeTree;
beforeEach(() => {
  fake = makeFakeV2();
});
afterEach(() => fake.cleanup());

const open = (path?: string, f: FakeTree = fake, enableControllers?: string[]) =>
  openCgroups(
    { id: 'c1', ...(path ? { path } : {}), root: f.root, mountinfo: f.mountinfo, selfCgroup: f.selfCgroup },
    enableControllers ? { enableControllers } : {},
  ) as V2CgroupManager;

const CG = 'user.slice/me/berth/c1';
const writesIn = (f: FakeTree, dir: string) => f.writes.filter(([p]) => p.startsWith(dir + '/')).map(([p, v]) => [p.slice(dir.length + 1), v]);

test('conversions match runc: shares->weight, blkio->io weight, memory+swap->swap', () => {
  assert.equal(sharesToWeight(0), 0);
  assert.equal(sharesToWeight(2), 1);
  assert.equal(sharesToWeight(1024), 39);
  assert.equal(sharesToWeight(262144), 10000);
  assert.equal(blkioWeightToIoWeight(10), 1);
  assert.equal(blkioWeightToIoWeight(500), 4950);
  assert.equal(blkioWeightToIoWeight(1000), 10000);
  assert.equal(swapToV2(100, 300), '200');
  assert.equal(swapToV2(100, 100), '0');
  assert.equal(swapToV2(100, -1), 'max');
  assert.equal(swapToV2(-1, undefined), 'max');
  assert.equal(swapToV2(100, undefined), undefined);
  assert.deepEqual(ioMaxLines({ blockIO: {
    throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 100 }],
    throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 5 }, { major: 8, minor: 16, rate: 0 }],
  } }), ['8:0 rbps=100 wiops=5', '8:16 wiops=max']);
});

test('create enables controllers from the caller down, never above it', async () => {
  const m = open();
  await m.create();
  assert.equal(m.path, '/user.slice/me/berth/c1');
  assert.deepEqual(m.procsFiles(), [join(fake.root, CG, 'cgroup.procs')]);
  // The caller's cgroup and the berth level get every controller the parent offers, in one write each.
  assert.deepEqual(fake.writes, [
    ['user.slice/me/cgroup.subtree_control', '+cpuset +cpu +io +memory +hugetlb +pids +rdma'],
    ['user.slice/me/berth/cgroup.subtree_control', '+cpuset +cpu +io +memory +hugetlb +pids +rdma'],
  ]);
  assert.equal(fake.read('user.slice/me/berth/cgroup.subtree_control'), 'cpuset cpu io memory hugetlb pids rdma');
  // Ancestors above the caller (user.slice, the root) are not written.
  assert.equal(fake.read('cgroup.subtree_control'), 'cpuset cpu io memory hugetlb pids rdma');
  // Again: nothing missing, nothing written.
  fake.writes.length = 0;
  await open().create();
  assert.deepEqual(fake.writes, []);
});

test('enableControllers limits what is enabled; an absolute path starts from the root', async () => {
  const m = open('/berth-x/c1', fake, ['memory', 'pids']);
  await m.create();
  assert.deepEqual(fake.writes, [['berth-x/cgroup.subtree_control', '+memory +pids']]);
  assert.equal(m.path, '/berth-x/c1');
});

test('create writes every limit with v2 names and values', async () => {
  const m = open();
  await m.create({
    memory: { limit: 16 << 20, reservation: 8 << 20, swap: 48 << 20 },
    cpu: { shares: 1024, quota: 50000, period: 100000, cpus: '0', mems: '0', burst: 1000 },
    pids: { limit: 100 },
    blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 1000 }], throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }] },
    hugepageLimits: [{ pageSize: '2MB', limit: 4 << 21 }],
    rdma: { mlx5_0: { hcaHandles: 2, hcaObjects: 100 } },
    unified: { 'memory.high': '12582912' },
  });
  assert.deepEqual(writesIn(fake, CG), [
    ['cpuset.cpus', '0'], ['cpuset.mems', '0'],
    ['memory.max', String(16 << 20)], ['memory.low', String(8 << 20)], ['memory.swap.max', String(32 << 20)],
    ['cpu.weight', '39'], ['cpu.max', '50000 100000'], ['cpu.max.burst', '1000'],
    ['pids.max', '100'],
    ['io.weight', '4950'], ['io.weight', '8:0 10000'], ['io.max', '8:0 rbps=1048576'],
    ['hugetlb.2MB.max', String(4 << 21)],
    ['rdma.max', 'mlx5_0 hca_handle=2 hca_object=100'],
    ['memory.high', '12582912'],
  ]);
  assert.equal(fake.read(`${CG}/memory.swap.max`), String(32 << 20));
  assert.deepEqual(m.warnings, []);
});

test('update: unlimited values, quota without period, pids 0, BFQ weight', async () => {
  const m = open();
  await m.create();
  writeFileSync(join(fake.root, CG, 'io.bfq.weight'), 'default 100');
  fake.writes.length = 0;
  await m.update({ memory: { limit: -1 }, cpu: { quota: -1 }, pids: { limit: 0 }, blockIO: { weight: 300 } });
  assert.deepEqual(writesIn(fake, CG), [
    ['memory.max', 'max'], ['memory.swap.max', 'max'], ['cpu.max', 'max'], ['pids.max', 'max'], ['io.bfq.weight', '300'],
  ]);
});

test('device rules and v1-only knobs are accepted with warnings, not enforced', async () => {
  const m = open();
  await m.create({ devices: [{ allow: false, access: 'rwm' }], memory: { swappiness: 10, disableOOMKiller: true } });
  assert.equal(m.warnings.length, 3);
  assert.match(m.warnings[0] ?? '', /swappiness/);
  assert.ok(m.warnings.some((w) => /device rules are not enforced on cgroup v2/.test(w)));
  assert.ok(!fake.writes.some(([p]) => p.includes('devices')));
});

test('invalid or unsupported resources fail before anything is created', async () => {
  const m = open('/fresh/c1');
  const cases: Array<[Parameters<V2CgroupManager['create']>[0], string]> = [
    [{ unified: { '../x': '1' } }, 'invalid-argument'],
    [{ unified: { 'cgroup.procs': '1' } }, 'invalid-argument'],
    [{ unified: { 'memory/high': '1' } }, 'invalid-argument'],
    [{ memory: { swap: 100 } }, 'invalid-argument'],
    [{ cpu: { realtimeRuntime: 1000 } }, 'failed-precondition'],
    [{ network: { classID: 1 } }, 'failed-precondition'],
    [{ hugepageLimits: [{ pageSize: '2M', limit: 1 }] }, 'invalid-argument'],
  ];
  for (const [res, code] of cases) {
    await assert.rejects(m.create(res), (e) => errorCode(e) === code, JSON.stringify(res));
  }
  assert.ok(!existsSync(join(fake.root, 'fresh')));
});

test('a missing controller file says which controller is not enabled', async () => {
  const m = open();
  await m.create();
  const { rmSync } = await import('node:fs');
  rmSync(join(fake.root, CG, 'pids.max'));
  await assert.rejects(m.update({ pids: { limit: 5 } }), (e: Error) =>
    errorCode(e) === 'failed-precondition' && /cgroup "\/user.slice\/me\/berth\/c1": write pids.max: no such file \(controller "pids" not enabled/.test(e.message));
});

test('freeze writes cgroup.freeze and waits for frozen 1 in cgroup.events', async () => {
  const m = open();
  await m.create();
  await m.freeze();
  assert.equal(fake.read(`${CG}/cgroup.freeze`), '1');
  assert.equal(await m.isFrozen(), true);
  await m.thaw();
  assert.equal(fake.read(`${CG}/cgroup.freeze`), '0');
  assert.equal(await m.isFrozen(), false);
});

test('stats parse the v2 files; memory.swap is memory+swap', async () => {
  const m = open();
  await m.create();
  fake.put(`${CG}/cpu.stat`, 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 20\n');
  fake.put(`${CG}/memory.current`, '4096\n');
  fake.put(`${CG}/memory.max`, '16777216\n');
  fake.put(`${CG}/memory.peak`, '8192\n');
  fake.put(`${CG}/memory.events`, 'low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n');
  fake.put(`${CG}/memory.stat`, 'anon 2048\nfile 1024\n');
  fake.put(`${CG}/memory.swap.current`, '100\n');
  fake.put(`${CG}/memory.swap.max`, 'max\n');
  fake.put(`${CG}/pids.current`, '2\n');
  fake.put(`${CG}/pids.max`, 'max\n');
  fake.put(`${CG}/io.stat`, '8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n');
  fake.put(`${CG}/hugetlb.2MB.current`, '2097152\n');
  fake.put(`${CG}/hugetlb.2MB.events`, 'max 3\n');
  const s = await m.stats();
  assert.deepEqual(s.cpu, { usage: { total: 1_500_000, user: 1_000_000, kernel: 500_000 }, throttling: { periods: 4, throttledPeriods: 1, throttledTime: 20_000 } });
  assert.deepEqual(s.memory.usage, { usage: 4096, limit: 16777216, max: 8192, failcnt: 7 });
  assert.equal(s.memory.cache, 1024);
  assert.deepEqual(s.memory.swap, { usage: 4196, limit: UNLIMITED, max: 0, failcnt: 0 });
  assert.deepEqual(s.pids, { current: 2, limit: 0 });
  assert.deepEqual(s.blkio, {
    ioServiceBytesRecursive: [{ major: 8, minor: 0, op: 'Read', value: 10 }, { major: 8, minor: 0, op: 'Write', value: 20 }],
    ioServicedRecursive: [{ major: 8, minor: 0, op: 'Read', value: 1 }, { major: 8, minor: 0, op: 'Write', value: 2 }],
  });
  assert.deepEqual(s.hugetlb, { '2MB': { usage: 2097152, max: 0, failcnt: 3 } });
  assert.equal(await m.oomKilled(), true);
});

test('destroy writes cgroup.kill only when there are pids, then removes dirs deepest first', async () => {
  const m = open();
  await m.create();
  mkdirSync(join(fake.root, CG, 'sub'));
  await m.freeze();
  fake.writes.length = 0;
  await m.destroy();
  assert.deepEqual(fake.writes, [[`${CG}/cgroup.freeze`, '0']]);
  assert.ok(!existsSync(join(fake.root, CG)));
  assert.ok(existsSync(join(fake.root, 'user.slice/me/berth')));
  await m.destroy();
});

test('destroy refuses to kill a cgroup that holds the caller', async () => {
  const m = open();
  await m.create();
  fake.put(`${CG}/cgroup.procs`, `${process.pid}\n`);
  await assert.rejects(m.destroy(), (e) => errorCode(e) === 'failed-precondition');
  fake.put(`${CG}/cgroup.procs`, '');
});

test('mount root: a cgroup2 mount showing only /ct resolves the caller below it', async () => {
  const f = makeFakeV2({ mountRoot: '/ct', selfPath: '/ct/inner' });
  try {
    const m = open(undefined, f);
    await m.create();
    assert.equal(m.path, '/ct/inner/berth/c1');
    assert.ok(existsSync(join(f.root, 'inner/berth/c1/cgroup.procs')));
  } finally {
    f.cleanup();
  }
});
