// Tests for seccomp: OCI -> plan records, and Docker's profile format -> OCI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertDockerSeccompProfile, dockerDefaultSeccomp, seccompRecords, seccompSection, withSeccompCache } from './seccomp.js';
import { encodeRecord } from './plan/plan.js';
import { DOCKER_DEFAULT_SECCOMP_PROFILE } from './seccomp-default-profile.js';
import { DOCKER_DEFAULT_CAPS } from './spec/defaults.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'berth') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('repo root not found');
    dir = up;
  }
}

const reference = resolve(repoRoot(), '../shared/reference/seccomp-default.json');

test('the generated profile equals the shared reference', { skip: existsSync(reference) ? false : `no ${reference}` }, () => {
  assert.deepEqual(DOCKER_DEFAULT_SECCOMP_PROFILE, JSON.parse(readFileSync(reference, 'utf8')));
});

test('records: default, arches, flags, rules; KILL is kill-thread; errno defaults to EPERM', () => {
  const recs = seccompRecords({
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    flags: ['SECCOMP_FILTER_FLAG_LOG'],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['kexec_load'], action: 'SCMP_ACT_KILL' },
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
      { names: ['mount'], action: 'SCMP_ACT_ERRNO' },
      { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40, op: 'SCMP_CMP_GT' }] },
      { names: ['ptrace'], action: 'SCMP_ACT_TRACE' },
      { names: ['x'], action: 'SCMP_ACT_KILL_PROCESS', args: [{ index: 1, value: 0xff, valueTwo: 2, op: 'SCMP_CMP_MASKED_EQ' }] },
    ],
  });
  assert.deepEqual(recs, [
    { op: 'seccomp-default', action: 'errno', errno: 1 },
    { op: 'seccomp-arch', name: 'x86_64' },
    { op: 'seccomp-arch', name: 'x86' },
    { op: 'seccomp-flag', name: 'SECCOMP_FILTER_FLAG_LOG' },
    { op: 'seccomp-rule', action: 'allow', errno: 0, syscall: 'read', conds: [] },
    { op: 'seccomp-rule', action: 'allow', errno: 0, syscall: 'write', conds: [] },
    { op: 'seccomp-rule', action: 'kill-thread', errno: 0, syscall: 'kexec_load', conds: [] },
    { op: 'seccomp-rule', action: 'errno', errno: 38, syscall: 'clone3', conds: [] },
    // `mount` (errno EPERM) equals the default and is dropped.
    { op: 'seccomp-rule', action: 'allow', errno: 0, syscall: 'socket', conds: [{ index: 0, op: 'gt', value: 40n, valueTwo: 0n }] },
    { op: 'seccomp-rule', action: 'trace', errno: 1, syscall: 'ptrace', conds: [] },
    { op: 'seccomp-rule', action: 'kill-process', errno: 0, syscall: 'x', conds: [{ index: 1, op: 'masked-eq', value: 255n, valueTwo: 2n }] },
  ]);
});

test('conditions on one argument become separate rules, as runc does', () => {
  const recs = seccompRecords({
    defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 5,
    syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 0, value: 2, op: 'SCMP_CMP_EQ' }] }],
  });
  assert.deepEqual(recs.slice(1), [
    { op: 'seccomp-rule', action: 'errno', errno: 1, syscall: 'personality', conds: [{ index: 0, op: 'eq', value: 1n, valueTwo: 0n }] },
    { op: 'seccomp-rule', action: 'errno', errno: 1, syscall: 'personality', conds: [{ index: 0, op: 'eq', value: 2n, valueTwo: 0n }] },
  ]);
  assert.deepEqual(recs[0], { op: 'seccomp-default', action: 'allow', errno: 0 });
});

test('notify is not supported; unknown names are errors', () => {
  assert.throws(() => seccompRecords({ defaultAction: 'SCMP_ACT_NOTIFY' }), /not supported/);
  assert.throws(() => seccompRecords({ defaultAction: 'SCMP_ACT_NOPE' }), /unknown seccomp action/);
  assert.throws(() => seccompRecords({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_Z80'] }), /unknown architecture/);
  assert.throws(() => seccompRecords({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['a'], action: 'SCMP_ACT_KILL', args: [{ index: 0, value: 0, op: 'SCMP_CMP_XX' }] }] }), /unknown operator/);
});

test("Docker's default profile for the default caps on amd64", () => {
  const s = dockerDefaultSeccomp({ arch: 'amd64', kernelRelease: '6.1.0-18-amd64' });
  assert.equal(s.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(s.defaultErrnoRet, 1);
  assert.deepEqual(s.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  const names = (action: string) => new Set(s.syscalls!.filter((c) => c.action === action && !c.args).flatMap((c) => c.names));
  const allowed = names('SCMP_ACT_ALLOW');
  assert.ok(allowed.has('read') && allowed.has('arch_prctl') && allowed.has('modify_ldt') && allowed.has('ptrace'));
  assert.ok(!allowed.has('mount') && !allowed.has('bpf') && !allowed.has('reboot'));
  assert.ok(allowed.has('chroot'), 'CAP_SYS_CHROOT is a default cap');
  assert.ok(!allowed.has('s390_runtime_instr') && !allowed.has('riscv_flush_icache'));
  // No CAP_SYS_ADMIN: clone with the namespace flags masked out, clone3 answers ENOSYS.
  assert.ok(s.syscalls!.some((c) => c.names.includes('clone') && c.args?.[0]?.op === 'SCMP_CMP_MASKED_EQ' && c.args[0].index === 0));
  assert.ok(s.syscalls!.some((c) => c.names.includes('clone3') && c.action === 'SCMP_ACT_ERRNO' && c.errnoRet === 38));
  for (const c of s.syscalls!) assert.equal(Object.hasOwn(c, 'includes') || Object.hasOwn(c, 'comment'), false);
});

test('Docker profile conditions: caps, arches, kernel', () => {
  const admin = dockerDefaultSeccomp({ arch: 'amd64', kernelRelease: '6.1.0', capabilities: [...DOCKER_DEFAULT_CAPS, 'CAP_SYS_ADMIN'] });
  assert.ok(admin.syscalls!.some((c) => c.names.includes('mount') && c.action === 'SCMP_ACT_ALLOW'));
  assert.ok(!admin.syscalls!.some((c) => c.names.includes('clone3') && c.action === 'SCMP_ACT_ERRNO'));
  const old = dockerDefaultSeccomp({ arch: 'amd64', kernelRelease: '4.4.0' });
  assert.ok(!old.syscalls!.some((c) => c.names.includes('ptrace')));
  const s390 = dockerDefaultSeccomp({ arch: 's390x', kernelRelease: '6.1.0' });
  assert.deepEqual(s390.architectures, ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390']);
  assert.ok(s390.syscalls!.some((c) => c.names.includes('clone') && c.args?.[0]?.index === 1));
  assert.ok(!s390.syscalls!.some((c) => c.names.includes('clone') && c.args?.[0]?.index === 0));
  assert.throws(() => convertDockerSeccompProfile({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86'], archMap: [{ architecture: 'SCMP_ARCH_X86', subArchitectures: null }] }), /both/);
  assert.deepEqual(convertDockerSeccompProfile({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ name: 'x', action: 'SCMP_ACT_ERRNO' }] }).syscalls, [{ names: ['x'], action: 'SCMP_ACT_ERRNO' }]);
});

test("Docker's default profile becomes plan records", () => {
  const recs = seccompRecords(dockerDefaultSeccomp({ arch: 'amd64', kernelRelease: '6.1.0' }));
  assert.ok(recs.length > 300);
  assert.ok(recs.every((r) => r.op !== 'seccomp-rule' || !(r.action === 'errno' && r.errno === 1)));
  assert.ok(recs.some((r) => r.op === 'seccomp-rule' && r.syscall === 'personality' && r.conds[0]?.value === 4294967295n));
});

test('the seccomp-cache record names a file by the records it was compiled from', () => {
  const a = seccompRecords({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
  const b = seccompRecords({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 2 }] });
  assert.deepEqual(withSeccompCache(a, undefined), a, 'no dir: no record');
  assert.deepEqual(withSeccompCache([], '/run/x'), [], 'no filter: no record');
  const withA = withSeccompCache(a, '/run/x/seccomp');
  assert.deepEqual(withA.slice(0, -1), a);
  const last = withA.at(-1)!;
  assert.equal(last.op, 'seccomp-cache');
  const path = (last as { path: string }).path;
  assert.match(path, /^\/run\/x\/seccomp\/[0-9a-f]{64}\.bpf$/);
  assert.equal((withSeccompCache(a, '/run/x/seccomp').at(-1) as { path: string }).path, path, 'the same records, the same file');
  assert.notEqual((withSeccompCache(b, '/run/x/seccomp').at(-1) as { path: string }).path, path, 'another errno, another file');
});

test('seccompSection: one frozen section per profile and cache dir, equal to building it afresh; warnings every time', () => {
  const profile = () => dockerDefaultSeccomp({ arch: 'amd64', kernelRelease: '6.1.0', capabilities: [...DOCKER_DEFAULT_CAPS] });
  const a = seccompSection(profile(), '/cache');
  const b = seccompSection(profile(), '/cache'); // an equal profile, another object (as read back from the store)
  assert.equal(a, b, 'the same records, not rebuilt');
  assert.ok(a.every((r) => Object.isFrozen(r)));
  assert.deepEqual(a, withSeccompCache(seccompRecords(profile()), '/cache'));
  assert.deepEqual(a.map(encodeRecord), withSeccompCache(seccompRecords(profile()), '/cache').map(encodeRecord));
  assert.notEqual(seccompSection(profile(), '/other'), a, 'another cache dir, another section');
  const other = profile();
  other.syscalls = other.syscalls!.slice(1);
  assert.notDeepEqual(seccompSection(other, '/cache'), a, 'another profile, another section');
  const flagged = { ...profile(), flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] };
  for (let i = 0; i < 2; i++) {
    const warned: string[] = [];
    seccompSection(flagged, '/cache', { warn: (m) => warned.push(m) });
    assert.equal(warned.length, 1, `warned at call ${i + 1}`);
  }
});
