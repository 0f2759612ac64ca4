// primeCgroupAttach: only where the join is a cgroup.procs write (v2); the helper's write is a no-op move.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { helperBinaryPath, hostHelper } from '../../../src/common/host-helper.js';
import { detectCgroupLayout } from '../../../src/runtime/cgroups/open.js';
import { hasCloneIntoCgroup, primeProcsFile } from '../../../src/runtime/cgroups/prime.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : helperBinaryPath() ? undefined : 'berth-helper is not built (make -C native)';

test('no warming write on v1 (berth-init joins through `tasks`) nor on v2 from Linux 5.7 (CLONE_INTO_CGROUP); before, this process\'s own cgroup.procs', () => {
  const v2 = { version: 2 as const, unified: { mountpoint: '/sys/fs/cgroup', mountRoot: '/', selfPath: '/user.slice/u.service' } };
  assert.equal(primeProcsFile(v2, '5.4.0-150-generic'), '/sys/fs/cgroup/user.slice/u.service/cgroup.procs');
  assert.equal(primeProcsFile(v2, '5.7.0'), undefined);
  assert.equal(primeProcsFile(v2, '6.1.0-18-amd64'), undefined);
  const v1 = { version: 1 as const, hierarchies: [], hybridUnified: v2.unified };
  assert.equal(primeProcsFile(v1, '5.4.0'), undefined);
  assert.deepEqual(['4.19.0', '5.6.19', '5.7', '5.10.0', '6.18.44-fc'].map(hasCloneIntoCgroup), [false, false, true, true, true]);
});

test('the helper\'s warming write leaves the helper and this process in their cgroups', { skip }, async () => {
  const h = hostHelper()!;
  await h.umount('/nonexistent-berth-prime').catch(() => undefined); // start the helper
  const pid = h.pid!;
  const l = detectCgroupLayout();
  // This machine's layout decides which file a warming write would use; any cgroup.procs of ours will do here.
  const file = l.version === 2 ? primeProcsFile(l, '5.4.0')! : `${l.hierarchies.find((x) => x.controllers.includes('pids'))!.mountpoint}${readFileSync('/proc/self/cgroup', 'utf8').match(/^\d+:pids:(.*)$/m)![1]!.replace(/\/$/, '')}/cgroup.procs`;
  const cgroups = () => [readFileSync(`/proc/${pid}/cgroup`, 'utf8'), readFileSync('/proc/self/cgroup', 'utf8')];
  const before = cgroups();
  assert.equal(before[0], before[1], 'the helper starts in our cgroups');
  await h.prime(file);
  assert.equal(h.pid, pid, 'the helper is still the same process');
  assert.deepEqual(cgroups(), before);
});
