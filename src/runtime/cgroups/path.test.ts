// Unit tests for cgroupsPath normalization, systemd name conversion and per-hierarchy resolution.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorCode } from '../../common/errors.js';
import { expandSlice, normalizeCgroupsPath, resolveInHierarchy, systemdToPath } from './path.js';

test('systemd slice:prefix:name becomes the scope path systemd would use', () => {
  assert.equal(systemdToPath('system.slice:docker:abc'), '/system.slice/docker-abc.scope');
  assert.equal(systemdToPath('machine-qemu.slice:libpod:x1'), '/machine.slice/machine-qemu.slice/libpod-x1.scope');
  assert.equal(systemdToPath(':docker:abc'), '/system.slice/docker-abc.scope');
  assert.equal(systemdToPath('-.slice:cri:abc'), '/cri-abc.scope');
  assert.equal(systemdToPath('user.slice::abc'), '/user.slice/abc.scope');
  assert.equal(systemdToPath('kubepods.slice:cri:kubepods-pod1.slice'), '/kubepods.slice/kubepods-pod1.slice');
  // Not the systemd form: plain paths stay as they are.
  assert.equal(systemdToPath('/docker/abc'), undefined);
  assert.equal(systemdToPath('a:b'), undefined);
  assert.equal(systemdToPath('notaslice:docker:abc'), undefined);
});

test('expandSlice nests dashed slice names and rejects malformed ones', () => {
  assert.equal(expandSlice('a-b-c.slice'), '/a.slice/a-b.slice/a-b-c.slice');
  assert.equal(expandSlice('-.slice'), '/');
  assert.throws(() => expandSlice('a--b.slice'), (e) => errorCode(e) === 'invalid-argument');
  assert.throws(() => expandSlice('a/b.slice'), (e) => errorCode(e) === 'invalid-argument');
});

test('normalizeCgroupsPath: default, absolute, relative, systemd, and refusals', () => {
  assert.deepEqual(normalizeCgroupsPath(undefined, 'abc'), { path: 'berth/abc', absolute: false });
  assert.deepEqual(normalizeCgroupsPath('', 'abc'), { path: 'berth/abc', absolute: false });
  assert.deepEqual(normalizeCgroupsPath('/docker//abc/', 'abc'), { path: '/docker/abc', absolute: true });
  assert.deepEqual(normalizeCgroupsPath('./x/./y', 'abc'), { path: 'x/y', absolute: false });
  assert.deepEqual(normalizeCgroupsPath('system.slice:docker:abc', 'abc'), { path: '/system.slice/docker-abc.scope', absolute: true });
  for (const bad of ['/', '.', '/a/../b', '../x', 'a/..']) {
    assert.throws(() => normalizeCgroupsPath(bad, 'abc'), (e) => errorCode(e) === 'invalid-argument', bad);
  }
  assert.throws(() => normalizeCgroupsPath(undefined, '../x'), (e) => errorCode(e) === 'invalid-argument');
  assert.throws(() => normalizeCgroupsPath('system.slice:cri:a--b.slice', 'abc'), (e) => errorCode(e) === 'invalid-argument');
});

test('resolveInHierarchy: relative under the caller, absolute under the mount, mount root stripped', () => {
  const host = { mountpoint: '/sys/fs/cgroup/memory', mountRoot: '/', selfPath: '/process_api/abc' };
  assert.deepEqual(resolveInHierarchy({ path: 'berth/x', absolute: false }, host), {
    dir: '/sys/fs/cgroup/memory/process_api/abc/berth/x', cgPath: '/process_api/abc/berth/x', baseDir: '/sys/fs/cgroup/memory/process_api/abc',
  });
  assert.deepEqual(resolveInHierarchy({ path: '/berth/x', absolute: true }, host), {
    dir: '/sys/fs/cgroup/memory/berth/x', cgPath: '/berth/x', baseDir: '/sys/fs/cgroup/memory',
  });
  // A container without a cgroup namespace: the mount shows /docker/c1, we are in /docker/c1/sub.
  const nested = { mountpoint: '/sys/fs/cgroup/memory', mountRoot: '/docker/c1', selfPath: '/docker/c1/sub' };
  assert.deepEqual(resolveInHierarchy({ path: 'berth/x', absolute: false }, nested), {
    dir: '/sys/fs/cgroup/memory/sub/berth/x', cgPath: '/docker/c1/sub/berth/x', baseDir: '/sys/fs/cgroup/memory/sub',
  });
  assert.deepEqual(resolveInHierarchy({ path: '/docker/c1/y', absolute: true }, nested), {
    dir: '/sys/fs/cgroup/memory/y', cgPath: '/docker/c1/y', baseDir: '/sys/fs/cgroup/memory',
  });
  assert.deepEqual(resolveInHierarchy({ path: '/y', absolute: true }, nested), {
    dir: '/sys/fs/cgroup/memory/y', cgPath: '/docker/c1/y', baseDir: '/sys/fs/cgroup/memory',
  });
});
