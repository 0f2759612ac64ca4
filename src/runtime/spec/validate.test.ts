// Tests for the config.json validator and readSpec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSpec, validateProcess, validateSpec } from './validate.js';
import { defaultSpec } from './defaults.js';
import type { Spec } from './types.js';
import { isInvalid, isNotFound } from '../../common/errors.js';

const base = (): Spec => defaultSpec({ cgroupNamespace: false });
const tweak = (f: (s: any) => void): unknown => {
  const s = JSON.parse(JSON.stringify(base()));
  f(s);
  return s;
};
const rejects = (f: (s: any) => void, re: RegExp) => {
  assert.throws(() => validateSpec(tweak(f)), (e: unknown) => isInvalid(e) && re.test((e as Error).message));
};

test('the default specs are valid', () => {
  validateSpec(base());
  validateSpec(defaultSpec({ rootless: true, uid: 1000, gid: 1000 }));
});

test('errors name the file and the field path', () => {
  assert.throws(() => validateSpec(tweak((s) => s.process.capabilities.bounding.push('CAP_FOO'))), {
    message: 'config.json: process.capabilities.bounding[3]: unknown capability "CAP_FOO"',
  });
  assert.throws(() => validateSpec(tweak((s) => { s.process.cwd = 'tmp'; }), { file: '/b/config.json' }), /\/b\/config\.json: process\.cwd: must be an absolute path/);
});

test('required fields and types', () => {
  rejects((s) => { delete s.ociVersion; }, /ociVersion: must be a string/);
  rejects((s) => { s.ociVersion = '2.0.0'; }, /unsupported version/);
  rejects((s) => { delete s.root; }, /root: must be an object/);
  rejects((s) => { s.root.path = ''; }, /root\.path: must not be empty/);
  rejects((s) => { delete s.process; }, /process: required/);
  rejects((s) => { s.process.args = []; }, /process\.args: must not be empty/);
  rejects((s) => { s.process.args = ['a\0b']; }, /NUL/);
  rejects((s) => { s.process.user.uid = '0'; }, /process\.user\.uid: must be an integer/);
  rejects((s) => { delete s.process.user.gid; }, /process\.user\.gid: must be an integer/);
  rejects((s) => { s.process.user.uid = -1; }, /between 0 and 4294967295/);
  rejects((s) => { s.process.env = ['NOEQUALS']; }, /process\.env\[0\]: must be KEY=VALUE/);
  rejects((s) => { s.process.terminal = 'yes'; }, /process\.terminal: must be a boolean/);
  rejects((s) => { s.process.oomScoreAdj = 1001; }, /oomScoreAdj/);
  rejects((s) => { s.hooks = { prestart: [{ path: 'rel' }] }; }, /hooks\.prestart\[0\]\.path: must be an absolute path/);
  rejects((s) => { s.annotations = { a: 1 }; }, /annotations\["a"\]: must be a string/);
  rejects((s) => { s.linux.resources.memory = { limit: '1g' }; }, /linux\.resources\.memory\.limit: must be an integer/);
  rejects((s) => { s.linux.resources.devices[0].access = 'rwx'; }, /access/);
  // Process is optional when not creating.
  validateSpec(tweak((s) => { delete s.process; }), { requireProcess: false });
  // Unknown properties are ignored (runtime-spec: extensibility).
  validateSpec(tweak((s) => { s.windows = { whatever: 1 }; s.process.futureThing = true; }));
});

test('mounts: absolute destinations', () => {
  rejects((s) => { s.mounts[0].destination = 'proc'; }, /mounts\[0\]\.destination: must be an absolute path/);
  rejects((s) => { s.mounts[1].options = 'ro'; }, /mounts\[1\]\.options: must be an array/);
});

test('capabilities and rlimits', () => {
  rejects((s) => { s.process.capabilities.ambient = ['cap_kill']; }, /ambient\[0\]: unknown capability "cap_kill"/);
  rejects((s) => { s.process.rlimits.push({ type: 'RLIMIT_FOO', soft: 1, hard: 1 }); }, /rlimits\[1\]\.type: unknown rlimit/);
  rejects((s) => { s.process.rlimits.push({ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 }); }, /duplicate rlimit/);
  rejects((s) => { s.process.rlimits[0].soft = 2048; }, /above hard limit/);
  validateSpec(tweak((s) => { s.process.rlimits.push({ type: 'RLIMIT_CORE', soft: 18446744073709551615, hard: 18446744073709551615 }); }));
});

test('namespaces and id mappings', () => {
  rejects((s) => { s.linux.namespaces.push({ type: 'pid' }); }, /duplicate namespace "pid"/);
  rejects((s) => { s.linux.namespaces.push({ type: 'bogus' }); }, /unknown namespace type "bogus"/);
  rejects((s) => { s.linux.namespaces[0].path = 'proc/1/ns/pid'; }, /namespaces\[0\]\.path: must be an absolute path/);
  rejects((s) => { s.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]; }, /linux\.uidMappings: id mappings need a user namespace/);
  rejects((s) => { s.linux.namespaces.push({ type: 'user' }); }, /a new user namespace needs uid and gid mappings/);
  rejects((s) => { s.linux.namespaces = s.linux.namespaces.filter((n: any) => n.type !== 'uts'); }, /hostname: setting the hostname needs a UTS namespace/);
  rejects((s) => { s.linux.timeOffsets = { monotonic: { secs: 1 } }; }, /time offsets need a new time namespace/);
  rejects((s) => { s.linux.namespaces.push({ type: 'time' }); s.linux.timeOffsets = { realtime: { secs: 1 } }; }, /unknown clock/);
  rejects((s) => { s.linux.namespaces = s.linux.namespaces.filter((n: any) => n.type !== 'mount'); }, /mounts: needs a mount namespace/);
  // Joining a user namespace by path needs no mappings.
  validateSpec(tweak((s) => { s.linux.namespaces.push({ type: 'user', path: '/proc/1/ns/user' }); }));
});

test('sysctls need their namespace, as runc checks', () => {
  const ok = (sysctl: Record<string, string>, f: (s: any) => void = () => {}) => validateSpec(tweak((s) => { s.linux.sysctl = sysctl; f(s); }), { isHostNamespace: () => false });
  ok({ 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1', 'fs.mqueue.msg_max': '10', 'kernel.domainname': 'x', 'net/ipv4/conf/all/forwarding': '1' });
  const noNs = (t: string) => (s: any) => { s.linux.namespaces = s.linux.namespaces.filter((n: any) => n.type !== t); };
  rejects((s) => { noNs('network')(s); s.linux.sysctl = { 'net.ipv4.ip_forward': '1' }; }, /not allowed in the host's network namespace/);
  rejects((s) => { noNs('ipc')(s); s.linux.sysctl = { 'kernel.msgmax': '1' }; }, /not allowed in the host's IPC namespace/);
  rejects((s) => { noNs('ipc')(s); s.linux.sysctl = { 'fs.mqueue.queues_max': '1' }; }, /IPC namespace/);
  rejects((s) => { s.linux.sysctl = { 'kernel.hostname': 'x' }; }, /conflicts with the "hostname" field/);
  rejects((s) => { s.linux.sysctl = { 'vm.swappiness': '1' }; }, /linux\.sysctl\["vm\.swappiness"\]: is not in a separate kernel namespace/);
  rejects((s) => { s.linux.sysctl = { 'kernel.pid_max': '1' }; }, /not in a separate kernel namespace/);
  // A joined namespace that is the host's own counts as none.
  assert.throws(() => validateSpec(tweak((s) => {
    s.linux.namespaces = s.linux.namespaces.map((n: any) => (n.type === 'network' ? { type: 'network', path: '/proc/1/ns/net' } : n));
    s.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
  }), { isHostNamespace: (t) => t === 'network' }), /host's network namespace/);
});

test('devices and seccomp names', () => {
  rejects((s) => { s.linux.devices = [{ type: 'x', path: '/dev/x', major: 1, minor: 1 }]; }, /linux\.devices\[0\]\.type: unknown device type "x"/);
  rejects((s) => { s.linux.devices = [{ type: 'c', path: '/dev/x' }]; }, /linux\.devices\[0\]\.major: must be an integer/);
  validateSpec(tweak((s) => { s.linux.devices = [{ type: 'p', path: '/dev/fifo' }, { type: 'u', path: '/dev/u', major: 1, minor: 2, fileMode: 0o600 }]; }));
  const sc = (seccomp: unknown) => (s: any) => { s.linux.seccomp = seccomp; };
  rejects(sc({}), /linux\.seccomp\.defaultAction: must be a string/);
  rejects(sc({ defaultAction: 'SCMP_ACT_FOO' }), /unknown seccomp action/);
  rejects(sc({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['x86_64'] }), /architectures\[0\]: unknown seccomp architecture/);
  rejects(sc({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['LOG'] }), /flags\[0\]: unknown seccomp flag/);
  rejects(sc({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_ERRNO' }] }), /syscalls\[0\]\.names: must not be empty/);
  rejects(sc({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['a'], action: 'SCMP_ACT_KILL', errnoRet: 1 }] }), /errnoRet: only valid/);
  rejects(sc({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['a'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }] }), /args\[0\]\.index/);
  rejects(sc({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['a'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0, op: 'EQ' }] }] }), /unknown seccomp operator "EQ"/);
  rejects(sc({ defaultAction: 'SCMP_ACT_NOTIFY' }), /listenerPath: required/);
  rejects((s) => { s.linux.rootfsPropagation = 'weird'; }, /unknown propagation/);
});

test('validateProcess for exec', () => {
  const p = base().process!;
  assert.equal(validateProcess(p), p);
  assert.throws(() => validateProcess({ ...p, args: [] }), /config\.json: process\.args: must not be empty/);
  assert.throws(() => validateProcess({ ...p, cwd: '' }, 'process', 'process.json'), /process\.json: process\.cwd/);
});

test('readSpec: missing file, bad JSON, valid bundle', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-spec-'));
  try {
    await assert.rejects(readSpec(dir), (e: unknown) => isNotFound(e) && (e as Error).message.includes(join(dir, 'config.json')));
    writeFileSync(join(dir, 'config.json'), '{"ociVersion": ');
    await assert.rejects(readSpec(dir), (e: unknown) => isInvalid(e) && /config\.json: invalid JSON/.test((e as Error).message));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(tweak((s) => { s.process.cwd = 'x'; })));
    await assert.rejects(readSpec(dir), new RegExp(`${join(dir, 'config.json')}: process\\.cwd`));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(base()));
    assert.equal((await readSpec(dir)).hostname, 'berth');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
