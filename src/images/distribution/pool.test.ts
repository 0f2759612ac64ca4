// Unit tests for bounded parallelism.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapLimit } from './pool.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

test('keeps order and never runs more than the limit', async () => {
  let running = 0;
  let peak = 0;
  const out = await mapLimit([5, 4, 3, 2, 1, 0], 3, async (x) => {
    peak = Math.max(peak, ++running);
    await tick();
    running--;
    return x * 2;
  });
  assert.deepEqual(out, [10, 8, 6, 4, 2, 0]);
  assert.equal(peak, 3);
});

test('the first failure rejects after started calls settle; no new calls start', async () => {
  const started: number[] = [];
  let settled = 0;
  await assert.rejects(mapLimit([0, 1, 2, 3, 4], 2, async (x) => {
    started.push(x);
    await tick();
    settled++;
    if (x === 0) throw new Error('boom');
    return x;
  }), /boom/);
  assert.deepEqual(started, [0, 1]);
  assert.equal(settled, 2);
  assert.deepEqual(await mapLimit([], 3, async (x) => x), []);
});
