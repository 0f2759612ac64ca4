// The detach-key scanner: the sequence ends stdin and is not passed on; broken prefixes are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDetachKeys } from '../api/detach-keys.js';
import { DetachScanner } from './attach.js';

function run(keys: string, chunks: (string | number[])[]): { out: string; detached: boolean } {
  const s = new DetachScanner(parseDetachKeys(keys));
  const got: Buffer[] = [];
  for (const c of chunks) got.push(s.feed(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c)));
  if (!s.detached) got.push(s.flush());
  return { out: Buffer.concat(got).toString('latin1'), detached: s.detached };
}

test('the sequence ends stdin and is not passed on', () => {
  assert.deepEqual(run('', ['ab', [16], [17], 'lost']), { out: 'ab', detached: true });
  assert.deepEqual(run('', [[0x61, 16, 17, 0x62]]), { out: 'a', detached: true });
});

test('a broken prefix is passed on, overlapping starts still detach', () => {
  assert.deepEqual(run('', ['a', [16], 'b', [17]]), { out: 'a\x10b\x11', detached: false });
  assert.deepEqual(run('', [[16, 16, 17]]), { out: '\x10', detached: true });
  assert.deepEqual(run('ctrl-p,ctrl-p,ctrl-q', [[16], [16], [16], [17]]), { out: '\x10', detached: true });
});

test('a partial match at the end of input is flushed', () => {
  assert.deepEqual(run('', ['xy', [16]]), { out: 'xy\x10', detached: false });
});

test('single-key sequences', () => {
  assert.deepEqual(run('q', ['abcqdef']), { out: 'abc', detached: true });
});
