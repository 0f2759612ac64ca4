// Tests for the default specs, including agreement with the runtime-spec JSON Schemas (ajv, tests only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { schemasMissing, schemaValidator as ociSchemaValidator } from '../../../test/fixtures/schemas.js';
import { defaultSpec, DOCKER_DEFAULT_CAPS, DOCKER_MASKED_PATHS, DOCKER_READONLY_PATHS } from './defaults.js';
import { validateSpec } from './validate.js';
import { dockerDefaultSeccomp } from '../seccomp.js';

const noSchemas = schemasMissing('oci-runtime-spec-schema');
const schemaValidator = () => ociSchemaValidator('oci-runtime-spec-schema', 'config-schema.json');

test('the runtime-spec schemas accept our default specs', { skip: noSchemas }, () => {
  const validate = schemaValidator();
  const specs = {
    default: defaultSpec(),
    cgroupns: defaultSpec({ cgroupNamespace: true }),
    rootless: defaultSpec({ rootless: true, uid: 1000, gid: 1000 }),
    seccomp: { ...defaultSpec(), linux: { ...defaultSpec().linux, seccomp: dockerDefaultSeccomp({ arch: 'amd64', kernelRelease: '6.1.0' }) } },
  };
  for (const [name, spec] of Object.entries(specs)) {
    assert.ok(validate(JSON.parse(JSON.stringify(spec))), `${name}: ${JSON.stringify(validate.errors, null, 1)}`);
  }
});

test('the schemas and our validator both reject a spec without ociVersion', { skip: noSchemas }, () => {
  const validate = schemaValidator();
  const spec: Record<string, unknown> = { ...defaultSpec() };
  delete spec.ociVersion;
  assert.equal(validate(spec), false);
  assert.throws(() => validateSpec(spec), /ociVersion: must be a string/);
});

test('defaultSpec matches runc spec, with hostname berth', () => {
  const s = defaultSpec({ cgroupNamespace: false });
  assert.equal(s.process?.terminal, true);
  assert.deepEqual(s.process?.args, ['sh']);
  assert.equal(s.process?.cwd, '/');
  assert.equal(s.process?.noNewPrivileges, true);
  assert.deepEqual(s.process?.capabilities?.bounding, ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']);
  assert.deepEqual(s.process?.capabilities?.permitted, s.process?.capabilities?.bounding);
  assert.equal(s.process?.capabilities?.inheritable, undefined);
  assert.deepEqual(s.process?.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }]);
  assert.deepEqual(s.root, { path: 'rootfs', readonly: true });
  assert.equal(s.hostname, 'berth');
  assert.deepEqual(s.mounts?.map((m) => m.destination), ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']);
  assert.deepEqual(s.linux?.namespaces?.map((n) => n.type), ['pid', 'network', 'ipc', 'uts', 'mount']);
  assert.ok(s.linux?.maskedPaths?.includes('/proc/kcore'));
  assert.deepEqual(defaultSpec({ cgroupNamespace: true }).linux?.namespaces?.at(-1), { type: 'cgroup' });
  assert.deepEqual(defaultSpec({ args: ['echo', 'hi'] }).process?.args, ['echo', 'hi']);
  validateSpec(s);
});

test('defaultSpec rootless follows runc spec --rootless', () => {
  const s = defaultSpec({ rootless: true, uid: 1000, gid: 1001, cgroupNamespace: false });
  assert.deepEqual(s.linux?.namespaces?.map((n) => n.type), ['pid', 'ipc', 'uts', 'mount', 'user']);
  assert.deepEqual(s.linux?.uidMappings, [{ containerID: 0, hostID: 1000, size: 1 }]);
  assert.deepEqual(s.linux?.gidMappings, [{ containerID: 0, hostID: 1001, size: 1 }]);
  assert.deepEqual(s.mounts?.find((m) => m.destination === '/sys'), { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
  assert.ok(!s.mounts?.find((m) => m.destination === '/dev/pts')?.options?.includes('gid=5'));
  assert.equal(s.linux?.resources, undefined);
  validateSpec(s);
});

test("Docker's defaults as data", () => {
  assert.equal(DOCKER_DEFAULT_CAPS.length, 14);
  assert.ok(DOCKER_DEFAULT_CAPS.includes('CAP_NET_RAW') && !DOCKER_DEFAULT_CAPS.includes('CAP_SYS_ADMIN'));
  assert.ok(DOCKER_MASKED_PATHS.includes('/proc/interrupts'));
  assert.deepEqual([...DOCKER_READONLY_PATHS], ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
});
