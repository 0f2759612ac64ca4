// primeCgroupAttach: only where the join is a cgroup.procs write (v2); the helper's write is a no-op move.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { helperBinaryPath, hostHelper } from '../../../src/common/host-helper.js';
import { detectCgroupLayout } from '../../../src/runtime/cgroups/open.js';
import { primeProcsFile } from '../../../src/runtime/cgroups/prime.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : helperBinaryPath() ? undefined : 'berth-helper is not built (make -C native)';

test('no warming write on v1 (berth-init joins through `tasks`); on v2 this process\'s own cgroup.procs', () => {
  const v2 = { version: 2 as const, unified: { mountpoint: '/sys/fs/cgroup', mountRoot: '/', selfPath: '/user.slice/u.service' } };
  assert.equal(primeProcsFile(v2), '/sys/fs/cgroup/user.slice/u.service/cgroup.procs');
  const v1 = { version: 1 as const, hierarchies: [], hybridUnified: v2.unified };
  assert.equal(primeProcsFile(v1), undefined);
});

test('the helper\'s warming write leaves the helper and this process in their cgroups', { skip }, async () => {
  const h = hostHelper()!;
  await h.umount('/nonexistent-berth-prime').catch(() => undefined); // start the helper
  const pid = h.pid!;
  const l = detectCgroupLayout();
  // This machine's layout decides which file a warming write would use; any cgroup.procs of ours will do here.
  const file = l.version === 2 ? primeProcsFile(l)! : `${l.hierarchies.find((x) => x.controllers.includes('pids'))!.mountpoint}${readFileSync('/proc/self/cgroup', 'utf8').match(/^\d+:pids:(.*)$/m)![1]!.replace(/\/$/, '')}/cgroup.procs`;
  const cgroups = () => [readFileSync(`/proc/${pid}/cgroup`, 'utf8'), readFileSync('/proc/self/cgroup', 'utf8')];
  const before = cgroups();
  assert.equal(before[0], before[1], 'the helper starts in our cgroups');
  await h.prime(file);
  assert.equal(h.pid, pid, 'the helper is still the same process');
  assert.deepEqual(cgroups(), before);
});
