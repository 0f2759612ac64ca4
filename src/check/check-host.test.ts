import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stackedMountPoints } from '../images/snapshots/mount.js';
import { checkMounts } from './check-host.js';
import type { CheckContext } from './context.js';
import type { ContainerRecord } from '../engine/store.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const line = (mp: string, fs = 'overlay') => `1 2 0:1 / ${mp} rw,relatime shared:1 - ${fs} ${fs} rw`;

function ctx(records: Record<string, Partial<ContainerRecord>>, tasks: string[]): CheckContext {
  return {
    dataRoot: '/nonexistent-data', execRoot: '/nonexistent-exec', graceMs: 0, cgroupParentDirs: [],
    state: {
      records: new Map(Object.entries(records).map(([id, r]) => [id, { id, ...r } as ContainerRecord])),
      lifecycle: new Map(), namespaces: [], networks: [], pendingNetworkRemovals: [],
      tasks: new Map(tasks.map((id) => [id, { namespace: 'moby', id, status: 'running' as const, shimPid: 1, dir: `/x/moby/${id}` }])),
    },
  };
}

test('stackedMountPoints: octal escapes decoded, stacked mounts counted', () => {
  const m = stackedMountPoints([line('/a\\040b'), line('/x'), line('/x'), ''].join('\n'));
  assert.deepEqual([...m], [['/a b', 1], ['/x', 2]]);
});

test('check mounts: a task\'s rootfs and a used volume are explained; anything else under the roots is not', () => {
  const c = ctx({
    [A]: { mountPoints: [{ type: 'volume', name: 'vol1', destination: '/v', source: '', mode: '', rw: true, propagation: '' }] },
    [B]: {},
  }, [A]);
  const mounts = stackedMountPoints([
    line('/'),
    line('/nonexistent-exec'), // the root itself is not under it
    line(`/nonexistent-exec/containers/${A}/rootfs`),
    line(`/nonexistent-exec/containers/${B}/rootfs`), // B has no task
    line(`/nonexistent-exec/netns/${A}`, 'nsfs'), // the netns check's
    line('/nonexistent-data/volumes/vol1/_data', 'tmpfs'),
    line('/nonexistent-data/volumes/vol2/_data', 'tmpfs'),
    line('/nonexistent-data/snapshots/3/fs', 'tmpfs'),
    line(`/nonexistent-exec/containers/${A}/rootfs`), // stacked on A's
  ].join('\n'));
  const got = checkMounts(c, mounts).map((f) => `${f.kind} ${f.object}`);
  assert.deepEqual(got.sort(), [
    `orphan-mount /nonexistent-data/snapshots/3/fs`,
    `orphan-mount /nonexistent-data/volumes/vol2/_data`,
    `orphan-mount /nonexistent-exec/containers/${A}/rootfs`,
    `orphan-mount /nonexistent-exec/containers/${B}/rootfs`,
  ].sort());
  assert.match(checkMounts(c, mounts).find((f) => f.object.includes(A))!.message, /2 mounts stacked/);
});
