// Tests for Go encoding/json emulation (docker's `json` template function).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GoJSONError, goJSON, goJSONString } from './gojson.js';

test('strings escape like Go (docker 28: no HTML escaping, U+2028 escaped)', () => {
  assert.equal(goJSONString('<a&b>\u2028'), '"<a&b>\\u2028"');
  assert.equal(goJSONString('<a&b>', true), '"\\u003ca\\u0026b\\u003e"');
  assert.equal(goJSONString('\x01\t\b\f\r\n\\"/'), '"\\u0001\\t\\b\\f\\r\\n\\\\\\"/"');
  assert.equal(goJSONString('\ud800x'), '"\\ufffdx"');
  assert.equal(goJSONString('🐳'), '"🐳"');
});

test('numbers, null and nesting', () => {
  assert.equal(goJSON([1, 1.5, 1e21, 1e-7, 0.000001, null, undefined]), '[1,1.5,1e+21,1e-7,0.000001,null,null]');
  assert.equal(goJSON(undefined), 'null');
  assert.equal(goJSON({ b: 1, a: { d: [], c: {} }, u: undefined }), '{"b":1,"a":{"d":[],"c":{}}}');
  assert.throws(() => goJSON(NaN), GoJSONError);
  assert.throws(() => goJSON({ f: () => 1 }), /unsupported type/);
});

test('Maps and class instances are Go maps: keys sorted; only exported getters', () => {
  assert.equal(goJSON(new Map([['z', 1], ['a', 2]])), '{"a":2,"z":1}');
  class Row {
    constructor(private readonly id: string) {}
    get Names() { return 'web'; }
    get ID() { return this.id; }
    get Command() { return '"sh"'; }
  }
  // docker ps --format json marshals its context's methods, sorted (checked with docker 28).
  assert.equal(goJSON(new Row('abc')), '{"Command":"\\"sh\\"","ID":"abc","Names":"web"}');
  assert.equal(goJSON(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 100))), '"2024-01-02T03:04:05.1Z"');
});
