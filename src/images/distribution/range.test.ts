// Unit tests for Range / Content-Range parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseContentRange, parseRange, uploadContentRange } from './range.js';

test('upload status Range: spec form, bytes= form, empty upload, junk', () => {
  assert.deepEqual(parseRange('0-1023'), { start: 0, end: 1023 });
  assert.deepEqual(parseRange('bytes=0-99'), { start: 0, end: 99 });
  assert.deepEqual(parseRange('0--1'), { start: 0, end: -1 });
  assert.equal(parseRange(undefined), undefined);
  assert.equal(parseRange('bytes 0-1'), undefined);
  assert.equal(parseRange('a-b'), undefined);
});

test('Content-Range of a 206', () => {
  assert.deepEqual(parseContentRange('bytes 100-199/200'), { start: 100, end: 199, total: 200 });
  assert.deepEqual(parseContentRange('bytes 5-9/*'), { start: 5, end: 9 });
  assert.equal(parseContentRange('bytes 9-5/10'), undefined);
  assert.equal(parseContentRange('bytes */10'), undefined);
  assert.equal(parseContentRange('100-199/200'), undefined);
});

test('PATCH Content-Range is inclusive with no unit', () => {
  assert.equal(uploadContentRange(0, 10), '0-9');
  assert.equal(uploadContentRange(65536, 1), '65536-65536');
});
