// Unit tests for the restart backoff and decision (moby restartmanager's values: 100 ms doubling, 1 min cap, reset after 10 s).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextBackoff, policyWantsRestart, RestartManager } from './restart.js';

test('nextBackoff: 100 ms, doubling, capped at a minute', () => {
  const seen: number[] = [];
  for (let t = 0, i = 0; i < 13; i++) seen.push((t = nextBackoff(t, 50)));
  assert.deepEqual(seen, [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000, 60000]);
});

test('nextBackoff: a run of 10 s or more starts over at 100 ms; 9.999 s does not', () => {
  assert.equal(nextBackoff(60_000, 10_000), 100);
  assert.equal(nextBackoff(3200, 25_000), 100);
  assert.equal(nextBackoff(3200, 9_999), 6400);
});

test('policyWantsRestart: always, unless-stopped, on-failure with and without a bound, no', () => {
  assert.equal(policyWantsRestart({ Name: 'always' }, 0, true, 99), true);
  assert.equal(policyWantsRestart({ Name: 'unless-stopped' }, 0, false, 0), true);
  assert.equal(policyWantsRestart({ Name: 'unless-stopped' }, 1, true, 0), false);
  assert.equal(policyWantsRestart({ Name: 'on-failure' }, 1, false, 1000), true, 'no bound');
  assert.equal(policyWantsRestart({ Name: 'on-failure' }, 0, false, 0), false, 'a success');
  assert.equal(policyWantsRestart({ Name: 'on-failure', MaximumRetryCount: 2 }, 1, false, 1), true);
  assert.equal(policyWantsRestart({ Name: 'on-failure', MaximumRetryCount: 2 }, 1, false, 2), false);
  assert.equal(policyWantsRestart({ Name: 'no' }, 1, false, 0), false);
  assert.equal(policyWantsRestart(undefined, 1, false, 0), false);
});

test('RestartManager: the backoff grows per container, even when the policy says no; cancel and reset', async () => {
  const rm = new RestartManager();
  const always = { Name: 'always' as const };
  assert.equal(rm.decide('a', always, 0, false, 0, 10), 100);
  assert.equal(rm.decide('a', always, 0, false, 1, 10), 200);
  assert.equal(rm.decide('b', always, 0, false, 0, 10), 100, 'per container');
  // dockerd advances the timeout before it looks at the policy.
  assert.equal(rm.decide('a', { Name: 'on-failure' }, 0, false, 2, 10), undefined);
  assert.equal(rm.decide('a', always, 0, false, 2, 10), 800);
  assert.equal(rm.decide('a', always, 0, false, 3, 10_000), 100, 'ran 10 s');
  assert.equal(rm.decide('a', { Name: 'no' }, 1, false, 0, 10), undefined);
  // A stop during the wait calls it off; the next exit is not restarted until a user start.
  const wait = rm.wait('a', 60_000);
  assert.equal(rm.isPending('a'), true);
  assert.equal(rm.cancel('a'), true);
  assert.equal(await wait, false);
  assert.equal(rm.isPending('a'), false);
  assert.equal(rm.decide('a', always, 1, false, 4, 10), undefined);
  rm.reset('a');
  assert.equal(rm.decide('a', always, 1, false, 0, 10), 100, 'a fresh manager after a user start');
  assert.equal(await rm.wait('a', 1), true);
  rm.close();
});
