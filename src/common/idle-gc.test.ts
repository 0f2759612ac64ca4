import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { IdleGc, exposedGc } from './idle-gc.js';

test('one collection after the last poke, none while pokes keep coming', async () => {
  let n = 0;
  const g = new IdleGc(() => { n++; }, 60);
  for (let i = 0; i < 5; i++) {
    g.poke();
    await sleep(20);
  }
  assert.equal(n, 0, 'not while busy');
  await sleep(120);
  assert.equal(n, 1);
  assert.equal(g.runs, 1);
  g.poke();
  g.close();
  await sleep(120);
  assert.equal(n, 1, 'closed: no more');
});

test('without --expose-gc there is no collector and poking does nothing', () => {
  assert.equal(typeof (globalThis as { gc?: unknown }).gc === 'function', exposedGc() !== undefined);
  const g = new IdleGc(undefined, 1);
  g.poke();
  g.close();
  assert.equal(g.runs, 0);
});
