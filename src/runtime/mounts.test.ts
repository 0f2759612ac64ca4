// Tests for OCI mount option parsing and the per-mount actions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mountActions, parseMountOptions, type MountContext } from './mounts.js';
import {
  MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME, MS_SHARED,
  MS_SLAVE, MS_STRICTATIME,
} from './linux.js';

test('flags, clearing options and data', () => {
  assert.deepEqual(parseMountOptions(['nosuid', 'strictatime', 'mode=755', 'size=65536k']), {
    flags: MS_NOSUID | MS_STRICTATIME, propagation: [], data: 'mode=755,size=65536k', approximated: [],
  });
  assert.equal(parseMountOptions(['ro', 'rw']).flags, 0);
  assert.equal(parseMountOptions(['rw', 'ro']).flags, MS_RDONLY);
  assert.equal(parseMountOptions(['nodev', 'dev', 'noexec', 'exec', 'nosuid', 'suid']).flags, 0);
  assert.equal(parseMountOptions(['rbind']).flags, MS_BIND | MS_REC);
  assert.equal(parseMountOptions(undefined).data, '');
  assert.deepEqual(parseMountOptions(['rprivate', 'shared']).propagation, [MS_PRIVATE | MS_REC, MS_SHARED]);
  const r = parseMountOptions(['rbind', 'rro']);
  assert.equal(r.flags, MS_BIND | MS_REC | MS_RDONLY);
  assert.deepEqual(r.approximated, ['rro']);
  assert.throws(() => parseMountOptions(['idmap']), /idmapped/);
});

const ctx = (o: Partial<MountContext> = {}): MountContext => ({
  bundle: '/bundle', hostCgroupVersion: 2, newUserNs: false, newNetNs: true, newCgroupNs: true,
  statSource: (p) => (p.endsWith('.conf') ? 'file' : p.includes('missing') ? undefined : 'dir'), ...o,
});

test('a read-only bind mount is a bind, then a remount', () => {
  const { actions } = mountActions({ destination: '/data/', type: 'bind', source: 'vol', options: ['rbind', 'ro', 'nosuid', 'rslave'] }, ctx());
  assert.deepEqual(actions, [
    { op: 'mount', source: '/bundle/vol', destination: '/data', fstype: 'bind', flags: MS_BIND | MS_REC, data: '', kind: 'dir' },
    { op: 'mount-propagation', destination: '/data', flags: MS_SLAVE | MS_REC },
    { op: 'remount', destination: '/data', flags: MS_BIND | MS_RDONLY | MS_NOSUID },
  ]);
  const file = mountActions({ destination: '/etc/resolv.conf', type: 'none', source: '/run/x/resolv.conf', options: ['bind'] }, ctx());
  assert.deepEqual(file.actions, [{ op: 'mount', source: '/run/x/resolv.conf', destination: '/etc/resolv.conf', fstype: 'bind', flags: MS_BIND, data: '', kind: 'file' }]);
  assert.throws(() => mountActions({ destination: '/x', source: '/missing', options: ['bind'] }, ctx()), /does not exist/);
});

test('tmpfs read-only is delayed to the end, as runc does', () => {
  const r = mountActions({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'nosuid', 'size=1m'] }, ctx());
  assert.deepEqual(r.actions, [{ op: 'mount', source: 'tmpfs', destination: '/tmp', fstype: 'tmpfs', flags: MS_NOSUID, data: 'size=1m', kind: 'dir' }]);
  assert.deepEqual(r.late, [{ op: 'remount', destination: '/tmp', flags: MS_BIND | MS_RDONLY | MS_NOSUID }]);
});

test('mounts inside /proc are refused except the lxcfs files', () => {
  assert.throws(() => mountActions({ destination: '/proc/self/x', type: 'bind', source: '/x', options: ['bind'] }, ctx()), /inside \/proc/);
  assert.throws(() => mountActions({ destination: '/proc', type: 'tmpfs', source: 'tmpfs' }, ctx()), /inside \/proc/);
  assert.equal(mountActions({ destination: '/proc/meminfo', type: 'bind', source: '/var/lib/lxcfs/proc/meminfo', options: ['bind'] }, ctx({ statSource: () => 'file' })).actions.length, 1);
});

test('sysfs without a network namespace of its own is bound from the host', () => {
  const { actions } = mountActions({ destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] }, ctx({ newUserNs: true, newNetNs: false }));
  assert.deepEqual(actions, [
    { op: 'mount', source: '/sys', destination: '/sys', fstype: 'bind', flags: MS_BIND | MS_REC, data: '', kind: 'dir' },
    { op: 'remount', destination: '/sys', flags: MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC },
  ]);
});

const cgroupMount = { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] };
const cgFlags = MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY;

test('cgroup on a v2 host is cgroup2', () => {
  assert.deepEqual(mountActions(cgroupMount, ctx()).actions, [
    { op: 'mount', source: 'cgroup2', destination: '/sys/fs/cgroup', fstype: 'cgroup2', flags: cgFlags, data: '', kind: 'dir' },
  ]);
  // Without a cgroup namespace in a user namespace, the container's own dir is bound instead.
  const own = mountActions(cgroupMount, ctx({ newUserNs: true, newCgroupNs: false, cgroupMountSources: { '': '/sys/fs/cgroup/berth/c1' } }));
  assert.equal(own.actions[0]?.op === 'mount' && own.actions[0].source, '/sys/fs/cgroup/berth/c1');
});

test('cgroup on a v1 host is a tmpfs with one bind per hierarchy', () => {
  const { actions } = mountActions(cgroupMount, ctx({
    hostCgroupVersion: 1,
    cgroupMountSources: { 'cpu,cpuacct': '/sys/fs/cgroup/cpu,cpuacct/berth/c1', memory: '/sys/fs/cgroup/memory/berth/c1', systemd: '/sys/fs/cgroup/systemd/berth/c1' },
  }));
  const bindRemount = MS_BIND | MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY;
  assert.deepEqual(actions, [
    { op: 'mount', source: 'tmpfs', destination: '/sys/fs/cgroup', fstype: 'tmpfs', flags: MS_NOSUID | MS_NODEV | MS_NOEXEC, data: 'mode=755', kind: 'dir' },
    { op: 'mount', source: '/sys/fs/cgroup/cpu,cpuacct/berth/c1', destination: '/sys/fs/cgroup/cpu,cpuacct', fstype: 'bind', flags: MS_BIND | MS_REC, data: '', kind: 'dir' },
    { op: 'remount', destination: '/sys/fs/cgroup/cpu,cpuacct', flags: bindRemount },
    { op: 'symlink', target: 'cpu,cpuacct', path: '/sys/fs/cgroup/cpu' },
    { op: 'symlink', target: 'cpu,cpuacct', path: '/sys/fs/cgroup/cpuacct' },
    { op: 'mount', source: '/sys/fs/cgroup/memory/berth/c1', destination: '/sys/fs/cgroup/memory', fstype: 'bind', flags: MS_BIND | MS_REC, data: '', kind: 'dir' },
    { op: 'remount', destination: '/sys/fs/cgroup/memory', flags: bindRemount },
    { op: 'mount', source: '/sys/fs/cgroup/systemd/berth/c1', destination: '/sys/fs/cgroup/systemd', fstype: 'bind', flags: MS_BIND | MS_REC, data: '', kind: 'dir' },
    { op: 'remount', destination: '/sys/fs/cgroup/systemd', flags: bindRemount },
    { op: 'remount', destination: '/sys/fs/cgroup', flags: MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC },
  ]);
  assert.throws(() => mountActions(cgroupMount, ctx({ hostCgroupVersion: 1 })), /cgroup v1/);
});
