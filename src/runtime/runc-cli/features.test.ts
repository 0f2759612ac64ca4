// `berth-runc features` prints JSON that the runtime-spec's features schema accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../../test/fixtures/rootfs.js';
import { schemasMissing, schemaValidator } from '../../../test/fixtures/schemas.js';

test('features output validates against features-schema.json and names what Berth supports', { skip: schemasMissing('oci-runtime-spec-schema') }, () => {
  const r = spawnSync(join(repoRoot, 'bin', 'berth-runc.cjs'), ['features'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const f = JSON.parse(r.stdout);
  const validate = schemaValidator('oci-runtime-spec-schema', 'features-schema.json');
  assert.ok(validate(f), JSON.stringify(validate.errors));
  assert.deepEqual(f.linux.namespaces, ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts']);
  assert.ok(f.linux.capabilities.includes('CAP_SYS_ADMIN'));
  assert.equal(f.linux.seccomp.enabled, true);
  assert.ok(f.hooks.includes('createContainer'));
});
