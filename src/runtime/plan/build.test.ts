// Tests for the plan builder on sample specs: runc's default, rootless, binds, devices, sysctls, exec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOOPBACK_ANNOTATION, buildCreatePlan, buildExecPlan, type CreatePlanOptions } from './build.js';
import { decodePlan, encodePlan, type Plan, type PlanAction } from './plan.js';
import { defaultSpec } from '../spec/defaults.js';
import { validateSpec } from '../spec/validate.js';
import type { Spec } from '../spec/types.js';
import {
  CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWTIME, CLONE_NEWUSER,
  CLONE_NEWUTS, MS_BIND, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_SHARED, MS_SLAVE,
} from '../linux.js';

const opts = (o: Partial<CreatePlanOptions> = {}): CreatePlanOptions => ({
  bundle: '/bundle',
  cgroupProcsFiles: ['/sys/fs/cgroup/berth/c1/cgroup.procs'],
  hostCgroupVersion: 2,
  consoleSocket: '/run/c1/console.sock',
  execFifo: '/run/berth/c1/exec.fifo',
  rootlessEuid: false,
  lastCap: 40,
  statSource: (p) => (p.endsWith('.conf') ? 'file' : 'dir'),
  ...o,
});

const clone = (spec: Spec) => JSON.parse(JSON.stringify(spec)) as Spec;
const ops = (actions: PlanAction[]) => actions.map((a) => a.op);

test("runc's default spec: the whole plan text", () => {
  const spec = validateSpec(defaultSpec({ cgroupNamespace: true }));
  const plan = buildCreatePlan(spec, opts());
  const text = encodePlan(plan);
  assert.equal(text, `berth-plan 1
clone 0x6e020000
cgroup-join /sys/fs/cgroup/berth/c1/cgroup.procs
hostname berth
root /bundle/rootfs
args sh
env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
env TERM=xterm
cwd /
user 0 0
umask 0022
caps bounding 0x20000420
caps effective 0x20000420
caps permitted 0x20000420
no-new-privs
rlimit 7 1024 1024
console-socket /run/c1/console.sock
exec-fifo /run/berth/c1/exec.fifo
propagation / 0x84000
bind-root
mount proc /proc proc 0x0 % dir
mount tmpfs /dev tmpfs 0x1000002 mode=755,size=65536k dir
mount devpts /dev/pts devpts 0xa newinstance,ptmxmode=0666,mode=0620,gid=5 dir
mount shm /dev/shm tmpfs 0xe mode=1777,size=65536k dir
mount mqueue /dev/mqueue mqueue 0xe % dir
mount sysfs /sys sysfs 0xf % dir
mount cgroup2 /sys/fs/cgroup cgroup2 0x20000f % dir
mknod /dev/null c 1 3 438 0 0
mknod /dev/zero c 1 5 438 0 0
mknod /dev/full c 1 7 438 0 0
mknod /dev/random c 1 8 438 0 0
mknod /dev/urandom c 1 9 438 0 0
mknod /dev/tty c 5 0 438 0 0
symlink pts/ptmx /dev/ptmx
symlink /proc/self/fd /dev/fd
symlink /proc/self/fd/0 /dev/stdin
symlink /proc/self/fd/1 /dev/stdout
symlink /proc/self/fd/2 /dev/stderr
symlink /proc/kcore /dev/core
pivot
readonly /proc/bus
readonly /proc/fs
readonly /proc/irq
readonly /proc/sys
readonly /proc/sysrq-trigger
mask /proc/acpi
mask /proc/asound
mask /proc/kcore
mask /proc/keys
mask /proc/latency_stats
mask /proc/timer_list
mask /proc/timer_stats
mask /proc/sched_debug
mask /sys/firmware
mask /proc/scsi
mask /sys/devices/virtual/tpm
root-readonly
`);
  assert.equal(plan.records[0]?.op === 'clone' && plan.records[0].flags,
    CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWCGROUP);
  assert.deepEqual(decodePlan(text), plan);
});

test('rootless: user namespace maps, setgroups deny, bound devices, host /sys, own cgroup dir', () => {
  const spec = validateSpec(defaultSpec({ rootless: true, uid: 1000, gid: 1000, cgroupNamespace: false }));
  const plan = buildCreatePlan(spec, opts({ rootlessEuid: true, cgroupMountSources: { '': '/sys/fs/cgroup/user.slice/berth/c1' } }));
  const text = encodePlan(plan);
  const lines = text.split('\n');
  assert.equal(lines[1], `clone 0x${(CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWUSER).toString(16)}`);
  // setgroups is denied before gid_map is written.
  const iu = lines.indexOf('uid-map 0 1000 1'), is = lines.indexOf('setgroups deny'), ig = lines.indexOf('gid-map 0 1000 1');
  assert.ok(iu > 0 && is > iu && ig > is, text);
  assert.ok(lines.includes('mount /sys /sys bind 0x5000 % dir'));
  assert.ok(lines.includes('remount /sys 0x100f'));
  assert.ok(lines.includes('mount /sys/fs/cgroup/user.slice/berth/c1 /sys/fs/cgroup bind 0x5000 % dir'));
  assert.ok(lines.includes('mount devpts /dev/pts devpts 0xa newinstance,ptmxmode=0666,mode=0620 dir'));
  assert.ok(!plan.actions.some((a) => a.op === 'mknod'));
  assert.deepEqual(plan.actions.filter((a) => a.op === 'bind-dev').map((a) => a.op === 'bind-dev' && a.hostPath),
    ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty']);
  assert.ok(lines.includes('bind-dev /dev/null /dev/null'));
  // Extra groups cannot be set once setgroups is denied (runc refuses too).
  const withGroups = clone(spec);
  withGroups.process!.user.additionalGids = [10];
  assert.throws(() => buildCreatePlan(withGroups, opts({ rootlessEuid: true })), /additional groups in a rootless container/);
  // As root, a user namespace gets maps but no setgroups deny.
  assert.ok(!encodePlan(buildCreatePlan(spec, opts({ rootlessEuid: false, cgroupMountSources: { '': '/x' } }))).includes('setgroups'));
});

test('bind mounts read-only with propagation, and rootfsPropagation', () => {
  const spec = clone(defaultSpec({ cgroupNamespace: true }));
  spec.linux!.rootfsPropagation = 'shared';
  spec.mounts!.push(
    { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'ro', 'rprivate'] },
    { destination: '/etc/resolv.conf', type: 'bind', source: 'resolv.conf', options: ['bind', 'nosuid'] },
    { destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'size=1m'] },
  );
  const plan = buildCreatePlan(validateSpec(spec), opts());
  const a = plan.actions;
  assert.deepEqual(a[0], { op: 'propagation', path: '/', flags: MS_SHARED });
  const i = a.findIndex((x) => x.op === 'mount' && x.destination === '/data');
  assert.deepEqual(a.slice(i, i + 3), [
    { op: 'mount', source: '/srv/data', destination: '/data', fstype: 'bind', flags: MS_BIND | MS_REC, data: '', kind: 'dir' },
    { op: 'mount-propagation', destination: '/data', flags: MS_PRIVATE | MS_REC },
    { op: 'remount', destination: '/data', flags: MS_BIND | MS_RDONLY },
  ]);
  assert.deepEqual(a.slice(i + 3, i + 5), [
    { op: 'mount', source: '/bundle/resolv.conf', destination: '/etc/resolv.conf', fstype: 'bind', flags: MS_BIND, data: '', kind: 'file' },
    { op: 'remount', destination: '/etc/resolv.conf', flags: MS_BIND | MS_NOSUID },
  ]);
  // The read-only tmpfs is mounted writable and made read-only at the end, before the root.
  assert.deepEqual(a[i + 5], { op: 'mount', source: 'tmpfs', destination: '/scratch', fstype: 'tmpfs', flags: 0, data: 'size=1m', kind: 'dir' });
  assert.deepEqual(a.slice(-2), [{ op: 'remount', destination: '/scratch', flags: MS_BIND | MS_RDONLY }, { op: 'root-readonly' }]);
  // The root's propagation is applied again after pivot.
  const p = a.findIndex((x) => x.op === 'pivot');
  assert.deepEqual(a[p + 1], { op: 'mount-propagation', destination: '/', flags: MS_SHARED });
  // Default: rslave, no re-apply.
  const d = buildCreatePlan(validateSpec(defaultSpec({ cgroupNamespace: true })), opts()).actions;
  assert.deepEqual(d[0], { op: 'propagation', path: '/', flags: MS_SLAVE | MS_REC });
  assert.equal(d[d.findIndex((x) => x.op === 'pivot') + 1]?.op, 'readonly');
});

test('devices: spec devices after the defaults, overriding by path; none when /dev is bound', () => {
  const spec = clone(defaultSpec({ cgroupNamespace: true }));
  spec.linux!.devices = [
    { type: 'c', path: '/dev/null', major: 1, minor: 3, fileMode: 0o600, uid: 0, gid: 0 },
    { type: 'u', path: '/dev/fuse', major: 10, minor: 229 },
    { type: 'b', path: '/dev/sda', major: 8, minor: 0, fileMode: 0o660, uid: 0, gid: 6 },
    { type: 'p', path: '/dev/fifo0' },
  ];
  const a = buildCreatePlan(validateSpec(spec), opts()).actions;
  const nodes = a.filter((x) => x.op === 'mknod');
  assert.deepEqual(nodes.map((x) => x.op === 'mknod' && x.path), ['/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/null', '/dev/fuse', '/dev/sda', '/dev/fifo0']);
  assert.deepEqual(nodes[5], { op: 'mknod', path: '/dev/null', type: 'c', major: 1, minor: 3, mode: 0o600, uid: 0, gid: 0 });
  assert.deepEqual(nodes[6], { op: 'mknod', path: '/dev/fuse', type: 'c', major: 10, minor: 229, mode: 0o666, uid: 0, gid: 0 });
  assert.deepEqual(nodes[8], { op: 'mknod', path: '/dev/fifo0', type: 'p', major: 0, minor: 0, mode: 0o666, uid: 0, gid: 0 });
  assert.ok(encodePlan({ records: [], actions: a }).includes('\nmknod /dev/sda b 8 0 432 0 6\n'));
  // Devices come after all mounts and before the links.
  const names = ops(a);
  assert.ok(names.indexOf('mknod') > names.lastIndexOf('mount'));
  assert.ok(names.indexOf('symlink') > names.lastIndexOf('mknod'));

  const bound = clone(spec);
  bound.mounts = bound.mounts!.map((m) => (m.destination === '/dev' ? { destination: '/dev', type: 'bind', source: '/dev', options: ['rbind'] } : m));
  const b = buildCreatePlan(validateSpec(bound), opts()).actions;
  assert.ok(!b.some((x) => x.op === 'mknod' || x.op === 'symlink' || x.op === 'bind-dev'));
});

test('sysctls after pivot, then read-only paths, then masks', () => {
  const spec = clone(defaultSpec({ cgroupNamespace: true }));
  spec.linux!.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '65536', 'net/ipv4/conf/eth0.100/forwarding': '0' };
  spec.linux!.maskedPaths = ['/proc/kcore/'];
  spec.linux!.readonlyPaths = ['/proc/sys'];
  const a = buildCreatePlan(validateSpec(spec, { isHostNamespace: () => false }), opts()).actions;
  const p = a.findIndex((x) => x.op === 'pivot');
  assert.deepEqual(a.slice(p + 1), [
    { op: 'sysctl', key: 'net/ipv4/ip_forward', value: '1' },
    { op: 'sysctl', key: 'kernel/shmmax', value: '65536' },
    { op: 'sysctl', key: 'net/ipv4/conf/eth0.100/forwarding', value: '0' },
    { op: 'readonly', path: '/proc/sys' },
    { op: 'mask', path: '/proc/kcore' },
    { op: 'root-readonly' },
  ]);
});

test('joined namespaces: setns with the user namespace first, not in the clone flags', () => {
  const spec = clone(defaultSpec({ cgroupNamespace: false }));
  spec.linux!.namespaces = [
    { type: 'pid' },
    { type: 'network', path: '/var/run/netns/cni-1' },
    { type: 'mount' },
    { type: 'uts' },
    { type: 'ipc', path: '/proc/42/ns/ipc' },
    { type: 'user', path: '/proc/42/ns/user' },
  ];
  const plan = buildCreatePlan(validateSpec(spec), opts());
  assert.deepEqual(plan.records.slice(0, 3), [
    { op: 'clone', flags: CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS },
    { op: 'setns', type: 'user', path: '/proc/42/ns/user' },
    { op: 'setns', type: 'net', path: '/var/run/netns/cni-1' },
  ]);
  assert.deepEqual(plan.records[3], { op: 'setns', type: 'ipc', path: '/proc/42/ns/ipc' });
  assert.ok(!plan.records.some((r) => r.op === 'uid-map'));
  // Joining a user namespace: devices are bound, not made.
  assert.ok(plan.actions.some((a) => a.op === 'bind-dev') && !plan.actions.some((a) => a.op === 'mknod'));
});

test('hooks stop once before pivot; time namespace offsets; no-pivot; console size', () => {
  const spec = clone(defaultSpec({ cgroupNamespace: true }));
  spec.hooks = { prestart: [{ path: '/usr/bin/hook' }], poststart: [{ path: '/usr/bin/other' }] };
  spec.linux!.namespaces!.push({ type: 'time' });
  spec.linux!.timeOffsets = { boottime: { secs: 3600 }, monotonic: { secs: -10, nanosecs: 5 } };
  spec.process!.consoleSize = { height: 40, width: 120 };
  const plan = buildCreatePlan(validateSpec(spec), opts({ noPivot: true, preserveFds: 2 }));
  const a = ops(plan.actions);
  assert.equal(a.filter((x) => x === 'hook').length, 1);
  assert.equal(a.indexOf('hook'), a.indexOf('pivot') - 1);
  assert.deepEqual(plan.actions[a.indexOf('hook')], { op: 'hook', name: 'createContainer' });
  assert.ok(!ops(buildCreatePlan(validateSpec(spec), opts({ runHooksInline: false })).actions).includes('hook'));
  const text = encodePlan(plan);
  assert.ok(text.startsWith(`berth-plan 1\nclone 0x${(0x6e020000 | CLONE_NEWTIME).toString(16)}\n`));
  for (const l of ['timens-offset monotonic -10 5', 'timens-offset boottime 3600 0', 'no-pivot', 'console-size 40 120', 'preserve-fds 2']) {
    assert.ok(text.includes(`\n${l}\n`), l);
  }
});

test('process records: caps the kernel lacks, rlimit infinity, groups, umask, oom', () => {
  const spec = clone(defaultSpec({ cgroupNamespace: true }));
  const p = spec.process!;
  p.terminal = false;
  p.capabilities = { bounding: ['CAP_KILL', 'CAP_BPF'], ambient: ['CAP_KILL'] };
  p.rlimits = [{ type: 'RLIMIT_CORE', soft: 18446744073709551615, hard: 18446744073709551615 }, { type: 'RLIMIT_NPROC', soft: 10, hard: 20 }];
  p.user = { uid: 1000, gid: 1000, umask: 0o077, additionalGids: [10, 20] };
  p.oomScoreAdj = -500;
  const warnings: string[] = [];
  const plan = buildCreatePlan(validateSpec(spec), opts({ consoleSocket: undefined, lastCap: 38, warn: (m) => warnings.push(m) }));
  const text = encodePlan(plan);
  for (const l of ['caps bounding 0x20', 'caps ambient 0x20', 'rlimit 4 -1 -1', 'rlimit 6 10 20', 'user 1000 1000', 'groups 10 20', 'umask 0077', 'oom-score-adj -500']) {
    assert.ok(text.includes(`\n${l}\n`), l);
  }
  assert.ok(!text.includes('console-socket'));
  assert.deepEqual(warnings, ['process.capabilities.bounding: CAP_BPF unknown to this kernel, ignored']);
  // A terminal needs a console socket and the other way round, as runc insists.
  assert.throws(() => buildCreatePlan(validateSpec(defaultSpec()), opts({ consoleSocket: undefined })), /no console socket/);
  assert.throws(() => buildCreatePlan(validateSpec(spec), opts()), /process\.terminal is false/);
});

test('seccomp records join the plan', () => {
  const spec = clone(defaultSpec({ cgroupNamespace: true }));
  spec.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['mount', 'umount2'], action: 'SCMP_ACT_ERRNO' }] };
  const text = encodePlan(buildCreatePlan(validateSpec(spec), opts()));
  assert.ok(text.includes('\nseccomp-default allow 0\nseccomp-arch x86_64\nseccomp-rule errno 1 mount\nseccomp-rule errno 1 umount2\n'));
});

test('without a mount namespace: no root, no actions', () => {
  const spec = clone(defaultSpec({ cgroupNamespace: false }));
  spec.linux!.namespaces = [{ type: 'pid' }];
  delete spec.mounts;
  delete spec.hostname;
  delete spec.linux!.maskedPaths;
  delete spec.linux!.readonlyPaths;
  const plan: Plan = buildCreatePlan(validateSpec(spec), opts());
  assert.deepEqual(plan.actions, []);
  assert.ok(!plan.records.some((r) => r.op === 'root'));
});

test('exec: setns through /proc/PID/ns, user first, clone 0, no actions', () => {
  const proc = clone(defaultSpec()).process!;
  proc.terminal = false;
  proc.args = ['ps', 'aux'];
  const plan = buildExecPlan(proc, {
    containerPid: 4242,
    namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'user', 'cgroup'],
    cgroupProcsFiles: ['/sys/fs/cgroup/berth/c1/cgroup.procs'],
    seccomp: { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] },
    rootlessEuid: false,
    lastCap: 40,
  });
  assert.deepEqual(plan.actions, []);
  assert.equal(encodePlan(plan), `berth-plan 1
clone 0x0
setns user /proc/4242/ns/user
setns pid /proc/4242/ns/pid
setns net /proc/4242/ns/net
setns ipc /proc/4242/ns/ipc
setns uts /proc/4242/ns/uts
setns mnt /proc/4242/ns/mnt
setns cgroup /proc/4242/ns/cgroup
cgroup-join /sys/fs/cgroup/berth/c1/cgroup.procs
args ps aux
env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
env TERM=xterm
cwd /
user 0 0
umask 0022
caps bounding 0x20000420
caps effective 0x20000420
caps permitted 0x20000420
no-new-privs
rlimit 7 1024 1024
seccomp-default errno 1
seccomp-rule allow 0 read
`);
  assert.throws(() => buildExecPlan(proc, { containerPid: 1, namespaces: ['bogus'], cgroupProcsFiles: [] }), /unknown namespace type/);
  assert.throws(() => buildExecPlan({ ...proc, terminal: true }, { containerPid: 1, namespaces: [], cgroupProcsFiles: [] }), /no console socket/);
});

test('loopback-up: only for a new network namespace and only when the annotation asks', () => {
  const has = (spec: ReturnType<typeof defaultSpec>) => buildCreatePlan(validateSpec(spec), opts()).records.some((r) => r.op === 'loopback-up');
  const spec = clone(defaultSpec());
  assert.equal(has(spec), false);
  spec.annotations = { [LOOPBACK_ANNOTATION]: 'up' };
  assert.equal(has(spec), true);
  assert.ok(encodePlan(buildCreatePlan(validateSpec(spec), opts())).includes('\nloopback-up\n'));
  // joining an existing netns (a pinned one, or another container's): never
  spec.linux!.namespaces = spec.linux!.namespaces!.map((n) => (n.type === 'network' ? { type: 'network', path: '/proc/1/ns/net' } : n));
  assert.equal(has(spec), false);
});
