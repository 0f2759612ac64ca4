// Tests for the plan text codec (docs/plan.md "Encoding").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePlan, decodeToken, encodePlan, encodeToken, type Plan } from './plan.js';

test('tokens are percent-encoded', () => {
  assert.equal(encodeToken(''), '%');
  assert.equal(encodeToken('a b'), 'a%20b');
  assert.equal(encodeToken('100%'), '100%25');
  assert.equal(encodeToken('tab\there\nnl'), 'tab%09here%0Anl');
  assert.equal(encodeToken('é'), '%C3%A9');
  assert.equal(encodeToken('\x7f'), '%7F');
  assert.equal(encodeToken('K=V,x/y'), 'K=V,x/y');
  for (const s of ['', 'a b', '100%', 'é ü', '%', '%%20', 'x\0y']) assert.equal(decodeToken(encodeToken(s)), s);
  assert.throws(() => decodeToken('%G0'), /bad escape/);
});

const sample: Plan = {
  records: [
    { op: 'clone', flags: 0x6e020000 },
    { op: 'setns', type: 'net', path: '/var/run/netns/a b' },
    { op: 'cgroup-join', procsFile: '/sys/fs/cgroup/x/cgroup.procs' },
    { op: 'uid-map', inside: 0, outside: 1000, count: 1 },
    { op: 'setgroups', value: 'deny' },
    { op: 'gid-map', inside: 0, outside: 1000, count: 1 },
    { op: 'timens-offset', clock: 'monotonic', sec: -5, nsec: 10 },
    { op: 'hostname', name: 'h' },
    { op: 'root', path: '/b/rootfs' },
    { op: 'args', args: ['sh', '-c', 'echo "a b"', ''] },
    { op: 'env', value: 'EMPTY=' },
    { op: 'cwd', path: '/' },
    { op: 'user', uid: 0, gid: 0 },
    { op: 'groups', gids: [1, 2, 3] },
    { op: 'umask', mask: 0o022 },
    { op: 'caps', set: 'bounding', mask: 1n << 40n },
    { op: 'no-new-privs' },
    { op: 'oom-score-adj', value: -999 },
    { op: 'rlimit', resource: 7, soft: 1024, hard: -1 },
    { op: 'console-size', rows: 24, cols: 80 },
    { op: 'seccomp-default', action: 'errno', errno: 1 },
    { op: 'seccomp-rule', action: 'allow', errno: 0, syscall: 'personality', conds: [{ index: 0, op: 'eq', value: 4294967295n, valueTwo: 0n }] },
    { op: 'seccomp-rule', action: 'allow', errno: 0, syscall: 'read', conds: [] },
    { op: 'no-pivot' },
  ],
  actions: [
    { op: 'propagation', path: '/', flags: 0x84000 },
    { op: 'bind-root' },
    { op: 'mount', source: 'tmpfs', destination: '/dev', fstype: 'tmpfs', flags: 0x1000002, data: '', kind: 'dir' },
    { op: 'mknod', path: '/dev/null', type: 'c', major: 1, minor: 3, mode: 0o666, uid: 0, gid: 0 },
    { op: 'sysctl', key: 'net/ipv4/ip_forward', value: '1' },
    { op: 'pivot' },
    { op: 'root-readonly' },
  ],
};

test('encodePlan writes the documented lines', () => {
  const text = encodePlan(sample);
  const lines = text.split('\n');
  assert.equal(lines[0], 'berth-plan 1');
  assert.ok(text.endsWith('\n'));
  for (const l of [
    'clone 0x6e020000',
    'setns net /var/run/netns/a%20b',
    'timens-offset monotonic -5 10',
    'args sh -c echo%20"a%20b" %',
    'env EMPTY=',
    'groups 1 2 3',
    'umask 0022',
    'caps bounding 0x10000000000',
    'no-new-privs',
    'rlimit 7 1024 -1',
    'seccomp-rule allow 0 personality 0 eq 4294967295 0',
    'seccomp-rule allow 0 read',
    'mount tmpfs /dev tmpfs 0x1000002 % dir',
    'mknod /dev/null c 1 3 438 0 0',
    'sysctl net/ipv4/ip_forward 1',
  ]) assert.ok(lines.includes(l), `missing line ${JSON.stringify(l)}`);
  // Actions come after every record, in order.
  assert.ok(lines.indexOf('no-pivot') < lines.indexOf('propagation / 0x84000'));
  assert.ok(lines.indexOf('bind-root') < lines.indexOf('pivot'));
});

test('decodePlan inverts encodePlan', () => {
  assert.deepEqual(decodePlan(encodePlan(sample)), sample);
  assert.deepEqual(decodePlan('berth-plan 1\n# a comment\nclone 0x0\n'), { records: [{ op: 'clone', flags: 0 }], actions: [] });
});

test('decodePlan names the bad line', () => {
  assert.throws(() => decodePlan('nope\n'), /line 1/);
  assert.throws(() => decodePlan('berth-plan 1\nfrobnicate x\n'), /line 2: unknown op "frobnicate"/);
  assert.throws(() => decodePlan('berth-plan 1\nuser 0\n'), /line 2: missing gid/);
  assert.throws(() => decodePlan('berth-plan 1\nuser 0 0 0\n'), /extra token/);
  assert.throws(() => decodePlan('berth-plan 1\nclone 12\n'), /not a hex mask/);
  assert.throws(() => decodePlan('berth-plan 1\nseccomp-rule allow 0 x 0 eq 1\n'), /4-tuples/);
});
