// Tests for Docker's user resolution inside a rootfs (moby/sys/user semantics) and the safe path walk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getAdditionalGroups, getExecUser, parseGroup, parsePasswd, readFileInRoot, resolveContainerUser, resolveInRoot } from './user.js';

const PASSWD = parsePasswd([
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'web:x:1000:1000::/home/web:/bin/sh',
  '',
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
].join('\n'));
const GROUP = parseGroup([
  '# comment',
  'root:x:0:',
  'wheel:x:10:root,web',
  'audio:x:29:web',
  'web:x:1000:',
  'nogroup:x:65534:',
].join('\n'));

test('User forms resolve as moby/sys/user does', () => {
  const cases: Array<[string, { uid: number; gid: number; sgids: number[]; home?: string }]> = [
    ['', { uid: 0, gid: 0, sgids: [10], home: '/root' }],
    ['root', { uid: 0, gid: 0, sgids: [10], home: '/root' }],
    ['web', { uid: 1000, gid: 1000, sgids: [10, 29], home: '/home/web' }],
    ['1000', { uid: 1000, gid: 1000, sgids: [10, 29], home: '/home/web' }],
    ['web:audio', { uid: 1000, gid: 29, sgids: [], home: '/home/web' }],
    ['web:4242', { uid: 1000, gid: 4242, sgids: [], home: '/home/web' }],
    ['1000:10', { uid: 1000, gid: 10, sgids: [], home: '/home/web' }],
    ['4242', { uid: 4242, gid: 0, sgids: [] }],
    ['4242:4343', { uid: 4242, gid: 4343, sgids: [] }],
    ['nobody', { uid: 65534, gid: 65534, sgids: [], home: '/nonexistent' }],
  ];
  for (const [spec, want] of cases) assert.deepEqual(getExecUser(spec, PASSWD, GROUP), want, spec);
});

test("unknown names fail with Docker's texts; numeric ids need no files", () => {
  assert.throws(() => getExecUser('xyz', PASSWD, GROUP), /^BerthError: unable to find user xyz: no matching entries in passwd file$/);
  assert.throws(() => getExecUser('xyz', undefined, undefined), /unable to find user xyz: no matching entries in passwd file/);
  assert.throws(() => getExecUser('web:nogrp', PASSWD, GROUP), /unable to find group nogrp: no matching entries in group file/);
  assert.deepEqual(getExecUser('123:456', undefined, undefined), { uid: 123, gid: 456, sgids: [] });
  assert.throws(() => getExecUser('99999999999', PASSWD, GROUP), /uids and gids must be in range 0-2147483647/);
});

test('GroupAdd takes names and numbers; a numeric gid needs no entry', () => {
  assert.deepEqual(getAdditionalGroups(['audio', '10', '777', 'audio'], GROUP), [29, 10, 777]);
  assert.deepEqual(getAdditionalGroups(['777'], undefined), [777]);
  assert.throws(() => getAdditionalGroups(['nope'], GROUP), /unable to find group nope: no matching entries in group file/);
});

test('files are read inside the rootfs: symlinks cannot escape it', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-user-'));
  const outside = mkdtempSync(join(tmpdir(), 'berth-user-out-'));
  try {
    mkdirSync(join(root, 'etc'));
    mkdirSync(join(root, 'real'));
    writeFileSync(join(outside, 'passwd'), 'evil:x:0:0::/evil:/bin/sh\n');
    // An absolute symlink to a host file resolves inside the rootfs instead.
    symlinkSync(join(outside, 'passwd'), join(root, 'etc', 'passwd'));
    assert.equal(resolveInRoot(root, '/etc/passwd'), join(root, outside, 'passwd'));
    assert.equal(readFileInRoot(root, '/etc/passwd'), undefined);
    // ../ walks stop at the root.
    symlinkSync('../../../../../../etc/shadowx', join(root, 'etc', 'group'));
    assert.equal(resolveInRoot(root, '/etc/group'), join(root, 'etc', 'shadowx'));
    // A relative symlink inside works; a directory symlink too.
    writeFileSync(join(root, 'real', 'group'), 'staff:x:50:nobody\n');
    rmSync(join(root, 'etc', 'group'));
    symlinkSync('../real/group', join(root, 'etc', 'group'));
    assert.equal(readFileInRoot(root, '/etc/group'), 'staff:x:50:nobody\n');
    // A loop is an error, not a hang.
    symlinkSync('loop', join(root, 'loop'));
    assert.throws(() => resolveInRoot(root, '/loop/x'), /too many symlinks/);
    // Missing passwd: numeric user fine, name not; group membership still from /etc/group.
    assert.deepEqual(resolveContainerUser(root, '65534', ['staff']), { uid: 65534, gid: 0, additionalGids: [0, 50] });
    assert.throws(() => resolveContainerUser(root, 'nobody'), /unable to find user nobody/);
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  }
});

test('resolveContainerUser: primary gid first, then memberships, then GroupAdd (as dockerd writes)', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-user-'));
  try {
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000::/home/web:/bin/sh\n');
    writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nwheel:x:10:web\nweb:x:1000:\ndocker:x:999:\n');
    assert.deepEqual(resolveContainerUser(root, 'web', ['docker', '5']), { uid: 1000, gid: 1000, additionalGids: [1000, 10, 999, 5], home: '/home/web' });
    assert.deepEqual(resolveContainerUser(root, ''), { uid: 0, gid: 0, additionalGids: [0], home: '/root' });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a file where a directory is expected reads as missing', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-user-'));
  try {
    writeFileSync(join(root, 'etc'), 'not a dir');
    assert.equal(readFileInRoot(root, '/etc/passwd'), undefined);
    assert.deepEqual(resolveContainerUser(root, '7:8'), { uid: 7, gid: 8, additionalGids: [8] });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
