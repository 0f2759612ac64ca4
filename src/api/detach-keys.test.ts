import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DetachKeysTransform, parseDetachKeys } from './detach-keys.js';
import { isInvalid } from '../common/errors.js';

test('detach keys: parsing', () => {
  assert.deepEqual([...parseDetachKeys(undefined)], [16, 17]);
  assert.deepEqual([...parseDetachKeys('')], [16, 17]);
  assert.deepEqual([...parseDetachKeys('ctrl-a,x')], [1, 0x78]);
  assert.deepEqual([...parseDetachKeys('ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_')], [0, 27, 28, 29, 30, 31]);
  assert.deepEqual([...parseDetachKeys('CTRL-Z')], [26]);
  for (const bad of ['ctrl-1', 'ab', 'ctrl-', 'ctrl-ab', 'é', ',']) {
    assert.throws(() => parseDetachKeys(bad), (e) => isInvalid(e) && /Invalid detach keys/.test((e as Error).message), bad);
  }
});

async function run(keys: string, chunks: (string | number[])[]): Promise<{ out: string; detached: boolean }> {
  const t = new DetachKeysTransform(parseDetachKeys(keys));
  let detached = false;
  t.on('detach', () => (detached = true));
  const got: Buffer[] = [];
  t.on('data', (c: Buffer) => got.push(c));
  const done = new Promise((r) => t.on('end', r));
  for (const c of chunks) t.write(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c));
  t.end();
  await done;
  return { out: Buffer.concat(got).toString('latin1'), detached };
}

test('detach keys: the sequence ends the stream and is not passed on', async () => {
  assert.deepEqual(await run('', ['ab', [16], [17], 'lost']), { out: 'ab', detached: true });
  assert.deepEqual(await run('', [[0x61, 16, 17, 0x62]]), { out: 'a', detached: true });
});

test('detach keys: a broken prefix is passed on', async () => {
  assert.deepEqual(await run('', ['a', [16], 'b', [17]]), { out: 'a\x10b\x11', detached: false });
  assert.deepEqual(await run('', [[16, 16, 17]]), { out: '\x10', detached: true });
  assert.deepEqual(await run('ctrl-p,ctrl-p,ctrl-q', [[16], [16], [16], [17]]), { out: '\x10', detached: true });
});

test('detach keys: a partial match at end of input is flushed', async () => {
  assert.deepEqual(await run('', ['xy', [16]]), { out: 'xy\x10', detached: false });
});

test('detach keys: single-key sequences', async () => {
  assert.deepEqual(await run('q', ['abcqdef']), { out: 'abc', detached: true });
});
