// Tests for docker's natural sort order (the cases of fvbommel/sortorder's own table, checked by hand).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { naturalCompare, naturalLess } from './natural-order.js';

test('numbers by value, digits before letters, fewer leading zeros first, prefixes first', () => {
  assert.deepEqual(['net10', 'net2', 'bridge', 'net1', 'host'].sort(naturalCompare), ['bridge', 'host', 'net1', 'net2', 'net10']);
  assert.equal(naturalLess('a1', 'a01'), true);
  assert.equal(naturalLess('a01', 'a1'), false);
  assert.equal(naturalLess('1', 'a'), true);
  assert.equal(naturalLess('a', 'ab'), true);
  assert.equal(naturalLess('a', 'a'), false);
  assert.equal(naturalLess('Z', 'a'), true);
  assert.equal(naturalLess('a9b', 'a10a'), true);
  assert.deepEqual(['9000/tcp -> x', '80/tcp -> x', '443/tcp -> x'].sort(naturalCompare), ['80/tcp -> x', '443/tcp -> x', '9000/tcp -> x']);
});
