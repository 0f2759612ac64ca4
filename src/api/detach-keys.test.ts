import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDetachKeys } from './detach-keys.js';
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
