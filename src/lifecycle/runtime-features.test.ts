import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitSpec } from './runtime-features.js';
import type { Spec } from '../runtime/spec/types.js';

const spec = (): Spec => ({
  ociVersion: '1.2.0', root: { path: 'rootfs' }, process: { args: ['true'], cwd: '/', user: { uid: 0, gid: 0 } },
  linux: { namespaces: [{ type: 'mount' }, { type: 'time' }] },
} as Spec);

test('fitSpec: the time namespace Berth adds goes for a runtime without it; one the user asked for (a path, offsets) stays', () => {
  assert.deepEqual(fitSpec(spec(), { namespaces: ['mount'] }).linux?.namespaces, [{ type: 'mount' }]);
  assert.deepEqual(fitSpec(spec(), { namespaces: ['mount', 'time'] }).linux?.namespaces, [{ type: 'mount' }, { type: 'time' }]);
  assert.deepEqual(fitSpec(spec(), {}).linux?.namespaces, [{ type: 'mount' }, { type: 'time' }], 'the runtime did not say');
  const joined = spec();
  joined.linux!.namespaces![1] = { type: 'time', path: '/proc/1/ns/time' };
  assert.equal(fitSpec(joined, { namespaces: ['mount'] }), joined);
  const offsets = spec();
  offsets.linux!.timeOffsets = { monotonic: { secs: 10, nanosecs: 0 } };
  assert.equal(fitSpec(offsets, { namespaces: ['mount'] }), offsets);
});

test('fitSpec: a runtime older than `features` gets runtime-spec 1.0.2 (crun 1.8 refuses 1.2.0); others the spec as written', () => {
  const s = spec();
  assert.equal(fitSpec(s, { namespaces: ['mount', 'time'], old: true }).ociVersion, '1.0.2');
  assert.equal(s.ociVersion, '1.2.0', 'the caller\'s spec is not changed');
  assert.equal(fitSpec(s, { namespaces: ['mount', 'time'] }), s);
});
