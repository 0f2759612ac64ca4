// Tests for Go fmt emulation: value printing, Sprint spacing, float formatting and quoting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFloat, formatValue, goKind, goTypeName, quote, sprint, sprintf, sprintln } from './gofmt.js';

test('kinds and type names', () => {
  assert.equal(goKind(undefined), 'invalid');
  assert.equal(goKind(null), 'nil');
  assert.equal(goKind(3), 'int');
  assert.equal(goKind(3.5), 'float');
  assert.equal(goKind([]), 'slice');
  assert.equal(goKind({}), 'map');
  assert.equal(goKind(new Map()), 'map');
  assert.equal(goKind(new (class X {})()), 'struct');
  assert.equal(goTypeName([1]), '[]interface {}');
  assert.equal(goTypeName({}), 'map[string]interface {}');
});

test('%v of values', () => {
  assert.equal(formatValue([1, 'a', null, [true]]), '[1 a <nil> [true]]');
  assert.equal(formatValue({ b: 1, a: { c: 'x' } }), 'map[a:map[c:x] b:1]');
  assert.equal(formatValue(1e6 + 0.5), '1.0000005e+06');
  assert.equal(formatValue(0.1), '0.1');
  assert.equal(formatValue(NaN), 'NaN');
  assert.equal(formatValue(-Infinity), '-Inf');
  class P { constructor(public Name: string, public Port: number) {} }
  assert.equal(formatValue(new P('x', 80)), '{x 80}');
  assert.equal(formatValue(new P('x', 80), true), '{Name:x Port:80}');
  assert.equal(formatValue(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 120))), '2024-01-02 03:04:05.12 +0000 UTC');
});

test('Sprint adds spaces only between non-strings; Sprintln always', () => {
  assert.equal(sprint([1, 2, 'a', 'b', 3, null, true]), '1 2ab3 <nil> true');
  assert.equal(sprintln([1, 'a', 2]), '1 a 2\n');
});

test('FormatFloat like strconv (checked against docker 28 printf)', () => {
  assert.equal(formatFloat(1234.5678, 'e', 6), '1.234568e+03');
  assert.equal(formatFloat(0.00001234, 'g', -1), '1.234e-05');
  assert.equal(formatFloat(1234.5678, 'g', 3), '1.23e+03');
  assert.equal(formatFloat(2.5, 'f', 0), '2');
  assert.equal(formatFloat(3.5, 'f', 0), '4');
  assert.equal(formatFloat(0.125, 'f', 2), '0.12');
  assert.equal(formatFloat(1e21, 'g', -1), '1e+21');
  assert.equal(formatFloat(123456, 'g', -1), '123456');
  assert.equal(formatFloat(1e6, 'g', -1), '1e+06');
  assert.equal(formatFloat(100, 'g', 3), '100');
  assert.equal(formatFloat(999.9, 'g', 3), '1e+03');
  assert.equal(formatFloat(-0.5, 'f', 3), '-0.500');
  assert.equal(formatFloat(5e-324, 'e', 2), '4.94e-324');
});

test('Sprintf corner cases', () => {
  assert.equal(sprintf('%5.1f|%-4d|%q|%x|%X', [3.14159, 7, 'a"b', 'hi', 255]), '  3.1|7   |"a\\"b"|6869|FF');
  assert.equal(sprintf('%d%%', [50]), '50%');
  assert.equal(sprintf('%s', [[1, 2]]), '[%!s(int=1) %!s(int=2)]');
  assert.equal(sprintf('%d', [[1, 2]]), '[1 2]');
  assert.equal(sprintf('%v', [{ k: 'v' }]), 'map[k:v]');
  assert.equal(sprintf('%.1f', [2]), '2.0');
  assert.equal(sprintf('%06.2f|%+.2f|% d', [-1.5, 2, 5]), '-01.50|+2.00| 5');
  assert.equal(sprintf('%c%c', [0x65e5, 0x672c]), '日本');
  assert.equal(sprintf('%!', []), '%!!(MISSING)');
  assert.equal(sprintf('%s %s', ['a', null, 3]), 'a %!s(<nil>)%!(EXTRA int=3)');
});

test('Quote', () => {
  assert.equal(quote('a\tb\u00e9\x01'), '"a\\tbé\\x01"');
  assert.equal(quote('é', true), '"\\u00e9"');
  assert.equal(quote('\u2028'), '"\\u2028"');
});
