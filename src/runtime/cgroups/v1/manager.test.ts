// Unit tests for the v1 manager on a fake tree: the exact files and values written, memsw ordering, cpuset copy, freezer, stats, destroy.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { errorCode } from '../../../common/errors.js';
import { UNLIMITED } from '../cgroups.js';
import { makeFakeV1, type FakeTree } from '../fake-tree.js';
import { openCgroups } from '../open.js';
import type { V1CgroupManager } from './manager.js';

let fake: FakeTree;
beforeEach(() => {
  fake = makeFakeV1();
});
afterEach(() => fake.cleanup());

const open = (path?: string, f: FakeTree = fake) =>
  openCgroups({ id: 'c1', ...(path ? { path } : {}), root: f.root, mountinfo: f.mountinfo, selfCgroup: f.selfCgroup }) as V1CgroupManager;

/** Writes below one cgroup, with the dir prefix cut: [`memory/...`, value] -> [`memory.limit_in_bytes`, value]. */
const writesIn = (f: FakeTree, dir: string) => f.writes.filter(([p]) => p.startsWith(dir + '/')).map(([p, v]) => [p.slice(dir.length + 1), v]);

test('create makes the dir in every hierarchy, under the caller per hierarchy', async () => {
  const m = open();
  await m.create();
  assert.equal(m.path, 'berth/c1');
  for (const h of ['cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'blkio', 'pids', 'systemd']) {
    assert.ok(existsSync(join(fake.root, h, 'berth/c1/cgroup.procs')), h);
  }
  assert.ok(existsSync(join(fake.root, 'memory/process_api/abc/berth/c1/memory.limit_in_bytes')));
  assert.ok(!existsSync(join(fake.root, 'unified/berth')), 'the hybrid cgroup2 mount is left alone');
  assert.deepEqual(m.procsFiles().map((p) => p.slice(fake.root.length + 1)).sort(), [
    'blkio/berth/c1/cgroup.procs', 'cpu/berth/c1/cgroup.procs', 'cpuacct/berth/c1/cgroup.procs', 'cpuset/berth/c1/cgroup.procs',
    'devices/berth/c1/cgroup.procs', 'freezer/berth/c1/cgroup.procs', 'memory/process_api/abc/berth/c1/cgroup.procs',
    'pids/berth/c1/cgroup.procs', 'systemd/berth/c1/cgroup.procs',
  ]);
});

test('cpuset: empty cpus/mems are copied from the parent at every new level', async () => {
  await open().create();
  assert.deepEqual(writesIn(fake, 'cpuset'), [
    ['berth/cpuset.cpus', '0-1'], ['berth/cpuset.mems', '0'],
    ['berth/c1/cpuset.cpus', '0-1'], ['berth/c1/cpuset.mems', '0'],
  ]);
  await open().create({ cpu: { cpus: '1', mems: '0' } });
  assert.equal(fake.read('cpuset/berth/c1/cpuset.cpus'), '1');
});

test('create writes each limit to its controller file', async () => {
  const m = open('/docker/c1');
  await m.create({
    memory: { limit: 16 << 20, reservation: 8 << 20, swap: 32 << 20, swappiness: 10, disableOOMKiller: true },
    cpu: { shares: 512, quota: 50000, period: 100000, burst: 1000 },
    pids: { limit: 64 },
    blockIO: {
      weight: 300,
      weightDevice: [{ major: 8, minor: 0, weight: 200 }],
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
      throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 100 }],
    },
    devices: [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: true, type: 'c', major: 136, access: 'rw' },
    ],
  });
  assert.equal(m.path, '/docker/c1');
  assert.deepEqual(writesIn(fake, 'memory/docker/c1'), [
    // The new memsw (32M) is below the current memory limit (unlimited), so memory goes first.
    ['memory.limit_in_bytes', String(16 << 20)],
    ['memory.memsw.limit_in_bytes', String(32 << 20)],
    ['memory.soft_limit_in_bytes', String(8 << 20)],
    ['memory.oom_control', '1'],
    ['memory.swappiness', '10'],
  ]);
  assert.deepEqual(writesIn(fake, 'cpu/docker/c1'), [
    ['cpu.shares', '512'], ['cpu.cfs_period_us', '100000'], ['cpu.cfs_quota_us', '50000'], ['cpu.cfs_burst_us', '1000'],
  ]);
  assert.equal(fake.read('pids/docker/c1/pids.max'), '64');
  // No CFQ blkio.weight on this kernel: the BFQ files take the same scale.
  assert.deepEqual(writesIn(fake, 'blkio/docker/c1'), [
    ['blkio.bfq.weight', '300'], ['blkio.bfq.weight_device', '8:0 200'],
    ['blkio.throttle.read_bps_device', '8:0 1048576'], ['blkio.throttle.write_iops_device', '8:16 100'],
  ]);
  assert.deepEqual(writesIn(fake, 'devices/docker/c1'), [
    ['devices.deny', 'a'], ['devices.deny', 'a'], ['devices.allow', 'c 1:3 rwm'], ['devices.allow', 'c 136:* rw'],
  ]);
});

test('memory and memsw are written in the order the kernel accepts, raising and lowering', async () => {
  const m = open();
  await m.create({ memory: { limit: 100 << 20, swap: 200 << 20 } });
  const dir = 'memory/process_api/abc/berth/c1';
  fake.writes.length = 0;
  // Raising both above the current memory limit: memsw first, else memory would exceed it.
  await m.update({ memory: { limit: 300 << 20, swap: 400 << 20 } });
  assert.deepEqual(writesIn(fake, dir), [['memory.memsw.limit_in_bytes', String(400 << 20)], ['memory.limit_in_bytes', String(300 << 20)]]);
  fake.writes.length = 0;
  // Lowering both: memory first, else memsw would drop below memory.
  await m.update({ memory: { limit: 50 << 20, swap: 60 << 20 } });
  assert.deepEqual(writesIn(fake, dir), [['memory.limit_in_bytes', String(50 << 20)], ['memory.memsw.limit_in_bytes', String(60 << 20)]]);
  fake.writes.length = 0;
  // Unlimited memory with swap unset: memsw goes unlimited first.
  await m.update({ memory: { limit: -1 } });
  assert.deepEqual(writesIn(fake, dir), [['memory.memsw.limit_in_bytes', '-1'], ['memory.limit_in_bytes', '-1']]);
  assert.equal(fake.read(`${dir}/memory.limit_in_bytes`), '9223372036854771712');
  // memory+swap below memory is refused before any write.
  await assert.rejects(m.update({ memory: { limit: 64 << 20, swap: 32 << 20 } }), (e) => errorCode(e) === 'invalid-argument');
});

test('swap without swap accounting: an error if a limit is asked, skipped if unlimited', async () => {
  const f = makeFakeV1({ memsw: false });
  try {
    const m = open(undefined, f);
    await m.create({ memory: { limit: 16 << 20, swap: -1 } });
    assert.equal(f.read('memory/process_api/abc/berth/c1/memory.limit_in_bytes'), String(16 << 20));
    await assert.rejects(m.update({ memory: { limit: 16 << 20, swap: 32 << 20 } }), (e: Error) =>
      errorCode(e) === 'failed-precondition' && /swap accounting is off/.test(e.message));
  } finally {
    f.cleanup();
  }
});

test('cfs period/quota: when the kernel refuses the period first, the quota goes first', async () => {
  const m = open();
  await m.create();
  const { setCgroupFsHooks } = await import('../fs.js');
  // Emulate a kernel that refuses this period until the quota has changed.
  let first = true;
  const log: string[] = [];
  setCgroupFsHooks({
    onWrite: (p, v) => {
      if (p.endsWith('cpu.cfs_period_us') && first) {
        first = false;
        throw Object.assign(new Error('EINVAL'), { code: 'EINVAL' });
      }
      log.push(`${p.split('/').pop()}=${v}`);
    },
  });
  await m.update({ cpu: { quota: 20000, period: 50000 } });
  assert.deepEqual(log, ['cpu.cfs_quota_us=20000', 'cpu.cfs_period_us=50000']);
});

test('pids -1/0 mean max; unsupported controllers and files are clear errors', async () => {
  const m = open();
  await m.create({ pids: { limit: 0 } });
  assert.equal(fake.read('pids/berth/c1/pids.max'), 'max');
  await m.update({ pids: { limit: -1 } });
  assert.equal(fake.read('pids/berth/c1/pids.max'), 'max');
  await assert.rejects(m.update({ hugepageLimits: [{ pageSize: '2MB', limit: 1 << 21 }] }), (e: Error) =>
    errorCode(e) === 'failed-precondition' && /hugetlb controller is not mounted/.test(e.message));
  await assert.rejects(m.update({ network: { classID: 1 } }), (e: Error) => /net_cls controller is not mounted/.test(e.message));
  await assert.rejects(m.update({ unified: { 'memory.high': '1' } }), (e) => errorCode(e) === 'failed-precondition');
  await assert.rejects(m.update({ blockIO: { leafWeight: 100 } }), (e: Error) => /no blkio.leaf_weight/.test(e.message));
  await assert.rejects(m.update({ devices: [{ allow: true, type: 'x' }] }), (e) => errorCode(e) === 'invalid-argument');
});

test('device rule of type a with partial access becomes c and b lines', async () => {
  const m = open();
  await m.create({ devices: [{ allow: true, type: 'a', access: 'r' }] });
  assert.deepEqual(writesIn(fake, 'devices/berth/c1'), [['devices.deny', 'a'], ['devices.allow', 'c *:* r'], ['devices.allow', 'b *:* r']]);
});

test('errors name the cgroup path and the file', async () => {
  const m = open();
  await m.create();
  const { setCgroupFsHooks } = await import('../fs.js');
  setCgroupFsHooks({ onWrite: (p) => { if (p.endsWith('memory.limit_in_bytes')) throw Object.assign(new Error('busy'), { code: 'EBUSY' }); } });
  await assert.rejects(m.update({ memory: { limit: 1 << 20 } }), (e: Error) =>
    e.message === 'cgroup "/process_api/abc/berth/c1": write memory.limit_in_bytes: EBUSY' && errorCode(e) === 'conflict');
});

test('freeze and thaw through freezer.state', async () => {
  const m = open();
  await m.create();
  assert.equal(await m.isFrozen(), false);
  await m.freeze();
  assert.equal(fake.read('freezer/berth/c1/freezer.state'), 'FROZEN');
  assert.equal(await m.isFrozen(), true);
  await m.thaw();
  assert.equal(fake.read('freezer/berth/c1/freezer.state'), 'THAWED');
  assert.equal(await m.isFrozen(), false);
});

test('pids are the union over hierarchies and child cgroups', async () => {
  const m = open();
  await m.create();
  fake.put('pids/berth/c1/cgroup.procs', '10\n11\n');
  fake.put('memory/process_api/abc/berth/c1/cgroup.procs', '11\n');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(join(fake.root, 'freezer/berth/c1/sub'));
  writeFileSync(join(fake.root, 'freezer/berth/c1/sub/cgroup.procs'), '12\n');
  assert.deepEqual(await m.pids(), [10, 11, 12]);
});

test('stats parse the v1 files', async () => {
  const m = open();
  await m.create();
  fake.put('cpuacct/berth/c1/cpuacct.usage', '5000000\n');
  fake.put('cpuacct/berth/c1/cpuacct.usage_percpu', '3000000 2000000 \n');
  fake.put('cpuacct/berth/c1/cpuacct.stat', 'user 3\nsystem 1\n');
  fake.put('cpu/berth/c1/cpu.stat', 'nr_periods 10\nnr_throttled 2\nthrottled_time 12345\n');
  const mem = 'memory/process_api/abc/berth/c1';
  fake.put(`${mem}/memory.usage_in_bytes`, '4096\n');
  fake.put(`${mem}/memory.max_usage_in_bytes`, '8192\n');
  fake.put(`${mem}/memory.failcnt`, '3\n');
  fake.put(`${mem}/memory.stat`, 'cache 1024\nrss 2048\ntotal_cache 1024\n');
  fake.put('pids/berth/c1/pids.current', '1\n');
  fake.put('pids/berth/c1/pids.max', '64\n');
  fake.put('blkio/berth/c1/blkio.throttle.io_service_bytes_recursive', '8:0 Read 123\n8:0 Write 456\n8:0 Total 579\nTotal 579\n');
  fake.put('blkio/berth/c1/blkio.throttle.io_serviced_recursive', '8:0 Read 1\n');
  const s = await m.stats();
  assert.deepEqual(s.cpu, {
    usage: { total: 5000000, percpu: [3000000, 2000000], user: 30_000_000, kernel: 10_000_000 },
    throttling: { periods: 10, throttledPeriods: 2, throttledTime: 12345 },
  });
  assert.deepEqual(s.memory.usage, { usage: 4096, max: 8192, limit: UNLIMITED, failcnt: 3 });
  assert.equal(s.memory.cache, 1024);
  assert.equal(s.memory.raw?.rss, 2048);
  assert.equal(s.memory.swap?.limit, UNLIMITED);
  assert.deepEqual(s.pids, { current: 1, limit: 64 });
  assert.deepEqual(s.blkio.ioServiceBytesRecursive, [
    { major: 8, minor: 0, op: 'Read', value: 123 }, { major: 8, minor: 0, op: 'Write', value: 456 }, { major: 8, minor: 0, op: 'Total', value: 579 },
  ]);
  assert.deepEqual(s.blkio.ioServicedRecursive, [{ major: 8, minor: 0, op: 'Read', value: 1 }]);
});

test('oomKilled reads oom_kill from memory.oom_control, child cgroups included', async () => {
  const m = open();
  await m.create();
  assert.equal(await m.oomKilled(), false);
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const sub = join(fake.root, 'memory/process_api/abc/berth/c1/sub');
  mkdirSync(sub);
  writeFileSync(join(sub, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
  assert.equal(await m.oomKilled(), true);
});

test('destroy thaws, removes every dir deepest first, and is fine when already gone', async () => {
  const m = open();
  await m.create();
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(fake.root, 'cpu/berth/c1/sub/deeper'), { recursive: true });
  await m.freeze();
  await m.destroy();
  assert.deepEqual(fake.writes.at(-1), ['freezer/berth/c1/freezer.state', 'THAWED']);
  for (const h of ['cpu', 'cpuset', 'freezer', 'systemd']) assert.ok(!existsSync(join(fake.root, h, 'berth/c1')), h);
  assert.ok(!existsSync(join(fake.root, 'memory/process_api/abc/berth/c1')));
  // The parent `berth` stays: other containers may be in it.
  assert.ok(existsSync(join(fake.root, 'cpu/berth')));
  await m.destroy();
});
