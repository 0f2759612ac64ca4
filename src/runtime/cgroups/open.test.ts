// Unit tests for layout detection and path resolution in openCgroups, on mount tables of real host shapes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorCode } from '../../common/errors.js';
import { detectCgroupLayout, openCgroups } from './open.js';
import type { V1CgroupManager } from './v1/manager.js';

// This machine's shape: v1 with separate cpu and cpuacct mounts, and a hybrid cgroup2 mount.
const HYBRID_MOUNTINFO = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const HYBRID_SELF = `9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/61fe
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`;

test('hybrid host: v1 is chosen, every v1 hierarchy found, the cgroup2 mount recorded but unused', () => {
  const layout = detectCgroupLayout({ mountinfo: HYBRID_MOUNTINFO, selfCgroup: HYBRID_SELF });
  assert.equal(layout.version, 1);
  if (layout.version !== 1) return;
  assert.deepEqual(layout.hierarchies.map((h) => h.controllers.join(',')).sort(), ['blkio', 'cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'memory', 'name=systemd', 'pids']);
  assert.equal(layout.hybridUnified?.mountpoint, '/sys/fs/cgroup/unified');
  const mem = layout.hierarchies.find((h) => h.controllers.includes('memory'));
  assert.deepEqual(mem, { controllers: ['memory'], mountpoint: '/sys/fs/cgroup/memory', mountRoot: '/', selfPath: '/process_api/61fe' });
});

test('openCgroups on the hybrid host: default path under the caller per hierarchy; hugetlb not taken from cgroup2', () => {
  const m = openCgroups({ id: 'c1', mountinfo: HYBRID_MOUNTINFO, selfCgroup: HYBRID_SELF }) as V1CgroupManager;
  assert.equal(m.version, 1);
  // Different places per hierarchy: the path stays relative.
  assert.equal(m.path, 'berth/c1');
  const dirs = m.hierarchyDirs();
  assert.equal(dirs.memory, '/sys/fs/cgroup/memory/process_api/61fe/berth/c1');
  assert.equal(dirs.cpu, '/sys/fs/cgroup/cpu/berth/c1');
  assert.equal(dirs.systemd, '/sys/fs/cgroup/systemd/berth/c1');
  assert.equal(dirs.unified, undefined);
  assert.equal(m.procsFiles().length, 9);
  assert.ok(m.procsFiles().includes('/sys/fs/cgroup/cpuacct/berth/c1/cgroup.procs'));
  // Absolute: the same path in every hierarchy, and `path` says so.
  const a = openCgroups({ id: 'c1', path: '/docker/c1', mountinfo: HYBRID_MOUNTINFO, selfCgroup: HYBRID_SELF });
  assert.equal(a.path, '/docker/c1');
  assert.equal(a.hierarchyDirs().memory, '/sys/fs/cgroup/memory/docker/c1');
  // systemd-style names are converted to the plain path.
  const s = openCgroups({ id: 'c1', path: 'system.slice:docker:c1', mountinfo: HYBRID_MOUNTINFO, selfCgroup: HYBRID_SELF });
  assert.equal(s.path, '/system.slice/docker-c1.scope');
  assert.equal(s.hierarchyDirs().pids, '/sys/fs/cgroup/pids/system.slice/docker-c1.scope');
});

test('relative path that lands at the same place everywhere becomes absolute', () => {
  const self = HYBRID_SELF.replace('/process_api/61fe', '/');
  const m = openCgroups({ id: 'c1', mountinfo: HYBRID_MOUNTINFO, selfCgroup: self });
  assert.equal(m.path, '/berth/c1');
});

test('comounted cpu,cpuacct is one hierarchy, keyed by its mount name', () => {
  const mi = `30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
31 25 0:27 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
`;
  const self = '3:cpu,cpuacct:/docker/abc\n2:memory:/docker/abc\n';
  const layout = detectCgroupLayout({ mountinfo: mi, selfCgroup: self });
  assert.equal(layout.version, 1);
  const m = openCgroups({ id: 'x', mountinfo: mi, selfCgroup: self });
  // memory's mount shows only /docker/abc (mount root), so the caller's cgroup is the mount point itself.
  assert.deepEqual(m.hierarchyDirs(), {
    'cpu,cpuacct': '/sys/fs/cgroup/cpu,cpuacct/docker/abc/berth/x',
    memory: '/sys/fs/cgroup/memory/berth/x',
  });
  assert.equal(m.path, '/docker/abc/berth/x');
});

test('pure v2 host: v2 manager under the caller, path resolved to absolute', () => {
  const mi = '25 1 0:23 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n';
  const m = openCgroups({ id: 'c2', mountinfo: mi, selfCgroup: '0::/user.slice/u.service\n' });
  assert.equal(m.version, 2);
  assert.equal(m.path, '/user.slice/u.service/berth/c2');
  assert.deepEqual(m.procsFiles(), ['/sys/fs/cgroup/user.slice/u.service/berth/c2/cgroup.procs']);
  assert.deepEqual(m.hierarchyDirs(), { '': '/sys/fs/cgroup/user.slice/u.service/berth/c2' });
  // A test root relocates /sys/fs/cgroup mount points.
  const r = openCgroups({ id: 'c2', path: '/x', root: '/tmp/fake', mountinfo: mi, selfCgroup: '0::/\n' });
  assert.deepEqual(r.procsFiles(), ['/tmp/fake/x/cgroup.procs']);
});

test('a v1 named hierarchy alone does not make a v2 host v1', () => {
  const mi = `25 1 0:23 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
26 25 0:24 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd
`;
  const layout = detectCgroupLayout({ mountinfo: mi, selfCgroup: '1:name=systemd:/\n0::/\n' });
  assert.equal(layout.version, 2);
});

test('no cgroup mounts at all is unavailable', () => {
  assert.throws(
    () => detectCgroupLayout({ mountinfo: '1 0 0:1 / / rw - ext4 /dev/sda rw\n', selfCgroup: '0::/\n', root: '/nonexistent-berth' }),
    (e) => errorCode(e) === 'unavailable',
  );
});
