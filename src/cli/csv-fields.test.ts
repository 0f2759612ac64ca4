// Tests for the one-record csv reader (Go encoding/csv) behind string-slice flags and --network's long syntax.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvFields, stringSlice } from './csv-fields.js';

test('fields, quoted fields with commas and doubled quotes, empty fields', () => {
  assert.deepEqual(csvFields('a,b'), ['a', 'b']);
  assert.deepEqual(csvFields('"a,b",c'), ['a,b', 'c']);
  assert.deepEqual(csvFields('"say ""hi""",x'), ['say "hi"', 'x']);
  assert.deepEqual(csvFields('a,,b,'), ['a', '', 'b', '']);
  assert.deepEqual(csvFields(' a , b'), [' a ', ' b']);
  assert.deepEqual(csvFields('a,b\nc,d'), ['a', 'b']);
});

test("errors carry Go's wording and byte columns", () => {
  assert.throws(() => csvFields('a"b'), { message: 'parse error on line 1, column 2: bare " in non-quoted-field' });
  assert.throws(() => csvFields('"a"b'), { message: 'parse error on line 1, column 3: extraneous or missing " in quoted-field' });
  assert.throws(() => csvFields('"x'), { message: 'parse error on line 1, column 3: extraneous or missing " in quoted-field' });
  assert.throws(() => csvFields('é"'), { message: 'parse error on line 1, column 3: bare " in non-quoted-field' });
});

test('stringSlice: an empty value is no element', () => {
  assert.deepEqual(stringSlice(''), []);
  assert.deepEqual(stringSlice('10.1.0.0/16,10.2.0.0/16'), ['10.1.0.0/16', '10.2.0.0/16']);
});
