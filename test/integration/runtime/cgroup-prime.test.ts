// primeCgroupAttach: the helper's cgroup.procs write is a no-op move (nothing changes cgroup) and never fails a start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { helperBinaryPath, hostHelper } from '../../../src/common/host-helper.js';
import { primeCgroupAttach } from '../../../src/runtime/cgroups/prime.js';

const skip = process.getuid?.() !== 0 ? 'needs root' : helperBinaryPath() ? undefined : 'berth-helper is not built (make -C native)';

test('priming leaves the helper and this process in their cgroups', { skip }, async () => {
  const h = hostHelper()!;
  await h.umount('/nonexistent-berth-prime').catch(() => undefined); // start the helper
  const pid = h.pid!;
  const cgroups = () => [readFileSync(`/proc/${pid}/cgroup`, 'utf8'), readFileSync('/proc/self/cgroup', 'utf8')];
  const before = cgroups();
  assert.equal(before[0], before[1], 'the helper starts in our cgroups');
  const first = primeCgroupAttach();
  assert.equal(primeCgroupAttach(), first, 'one write at a time');
  await first;
  assert.equal(h.pid, pid, 'the helper is still the same process');
  assert.deepEqual(cgroups(), before);
  await primeCgroupAttach();
  assert.deepEqual(cgroups(), before);
});
