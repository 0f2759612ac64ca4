import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { IdleGc, exposedGc } from './idle-gc.js';

test('one collection after the last poke, none while pokes keep coming', async () => {
  // A delay far above the pokes' spacing, so a stalled event loop on a busy machine does not make
  // a gap of it; each run is checked against the time of the last poke, which no stall can shorten.
  const delay = 500;
  let lastPoke = 0;
  const sinceLastPoke: number[] = [];
  const g = new IdleGc(() => { sinceLastPoke.push(performance.now() - lastPoke); }, delay);
  const poke = () => { lastPoke = performance.now(); g.poke(); };
  for (let i = 0; i < 10; i++) {
    poke();
    await sleep(20);
  }
  for (let end = performance.now() + 5000; sinceLastPoke.length === 0 && performance.now() < end;) await sleep(20);
  await sleep(delay + 100); // a second run would come by now
  assert.equal(sinceLastPoke.length, 1);
  assert.equal(g.runs, 1);
  // None while busy: the run came a whole delay after the last poke (libuv counts whole
  // milliseconds, so a timer may fire up to 1 ms before performance.now() says so).
  assert.ok(sinceLastPoke[0]! >= delay - 2, `ran ${sinceLastPoke[0]} ms after the last poke`);
  g.poke();
  g.close();
  await sleep(delay + 100);
  assert.equal(g.runs, 1, 'closed: no more');
});

test('without --expose-gc there is no collector and poking does nothing', () => {
  assert.equal(typeof (globalThis as { gc?: unknown }).gc === 'function', exposedGc() !== undefined);
  const g = new IdleGc(undefined, 1);
  g.poke();
  g.close();
  assert.equal(g.runs, 0);
});
