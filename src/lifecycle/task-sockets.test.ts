// Unit tests for task socket paths: short, stable, independent of the id and namespace, and the state-dir limit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorCode } from '../common/errors.js';
import { checkStateDirLength, MAX_STATE_DIR, SUN_PATH_MAX, taskSockets } from './task-sockets.js';

const id64 = 'a'.repeat(64);

test('sockets live in <stateDir>/s under a name derived from the task dir', () => {
  const s = taskSockets(`/run/berth/moby/${id64}`);
  assert.match(s.control, /^\/run\/berth\/s\/[0-9a-f]{24}\.sock$/);
  assert.equal(s.console, s.control.replace(/\.sock$/, '-c.sock'));
  assert.match(s.exec('e1'), /^\/run\/berth\/s\/[0-9a-f]{24}-x[0-9a-f]{8}\.sock$/);
  assert.ok(s.control.startsWith(`/run/berth/s/${s.prefix}`));
  // Stable: a new owner derives the same paths from the task row's dir.
  assert.deepEqual(taskSockets(`/run/berth/moby/${id64}`).control, s.control);
  assert.notEqual(s.exec('e1'), s.exec('e2'));
  // Other tasks (another id, another namespace) get other names in the same dir.
  assert.notEqual(taskSockets(`/run/berth/moby/${'b'.repeat(64)}`).control, s.control);
  assert.notEqual(taskSockets(`/run/berth/k8s.io/${id64}`).control, s.control);
});

test('the path length depends on the state dir only', () => {
  const stateDir = '/' + 'd'.repeat(MAX_STATE_DIR - 1);
  const longNs = 'n'.repeat(200);
  const s = taskSockets(`${stateDir}/${longNs}/${id64}`);
  for (const p of [s.control, s.console, s.exec(id64)]) assert.ok(Buffer.byteLength(p) <= SUN_PATH_MAX, `${p}: ${Buffer.byteLength(p)} bytes`);
  assert.equal(Buffer.byteLength(s.exec(id64)), SUN_PATH_MAX, 'the exec socket is the longest and just fits');
});

test('a state dir over the limit is refused, naming the limit', () => {
  assert.equal(MAX_STATE_DIR, 65);
  checkStateDirLength('/' + 'd'.repeat(MAX_STATE_DIR - 1));
  checkStateDirLength('/' + 'd'.repeat(MAX_STATE_DIR - 1) + '/');
  assert.throws(() => checkStateDirLength('/' + 'd'.repeat(MAX_STATE_DIR)), (e: Error) =>
    errorCode(e) === 'invalid-argument' && /too long \(66 bytes; at most 65\)/.test(e.message) && /107 bytes/.test(e.message));
  assert.throws(() => checkStateDirLength('/' + 'd'.repeat(80), 'engine: exec root'), /^.*engine: exec root "\/d+" is too long/);
});
