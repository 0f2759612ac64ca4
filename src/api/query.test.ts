import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Filters, Query, parseDockerBool } from './query.js';
import { isInvalid } from '../common/errors.js';

test('query: docker booleans', () => {
  for (const t of ['1', 'true', 'True', 'TRUE', 'yes', ' 1 ', 'anything']) assert.equal(parseDockerBool(t), true, t);
  for (const f of ['', '0', 'false', 'False', 'no', 'NONE', '  ']) assert.equal(parseDockerBool(f), false, f);
  const q = Query.parse('a=1&b=False&c=&e=True');
  assert.equal(q.bool('a'), true);
  assert.equal(q.bool('b', true), false);
  assert.equal(q.bool('c', true), false);
  assert.equal(q.bool('d'), false);
  assert.equal(q.bool('d', true), true);
  assert.equal(q.bool('e'), true);
});

test('query: integers', () => {
  const q = Query.parse('t=10&neg=-5&bad=1x&empty=');
  assert.equal(q.int('t'), 10);
  assert.equal(q.int('neg'), -5);
  assert.equal(q.int('empty', 7), 7);
  assert.equal(q.int('missing'), undefined);
  assert.throws(() => q.int('bad'), (e) => isInvalid(e));
});

test('query: strings and repeated values', () => {
  const q = Query.parse('t=a%2Fb&t=c&name=web');
  assert.equal(q.string('name'), 'web');
  assert.deepEqual(q.all('t'), ['a/b', 'c']);
  assert.equal(q.string('x'), undefined);
});

test('filters: current map form', () => {
  const f = Query.parse('filters=' + encodeURIComponent('{"label":{"a=b":true,"c":true,"off":false},"status":{"running":true}}')).filters();
  assert.deepEqual(f.keys(), ['label', 'status']);
  assert.deepEqual(f.get('label'), ['a=b', 'c']);
  assert.equal(f.match('status', 'running'), true);
  assert.equal(f.match('status', 'exited'), false);
  assert.equal(f.match('name', 'anything'), true);
  assert.deepEqual(f.toJSON(), { label: { 'a=b': true, c: true }, status: { running: true } });
});

test('filters: legacy array form', () => {
  const f = Filters.fromJSON('{"label":["a=b"],"dangling":["true"]}');
  assert.deepEqual(f.get('label'), ['a=b']);
  assert.equal(f.bool('dangling'), true);
  assert.equal(f.bool('absent'), undefined);
});

test('filters: empty, null and malformed', () => {
  assert.equal(Filters.fromJSON('').size, 0);
  assert.equal(Filters.fromJSON('null').size, 0);
  assert.equal(Filters.fromJSON('{}').size, 0);
  for (const bad of ['{', '[]', '"x"', '{"a":1}', '{"a":{"b":"yes"}}', '{"a":[1]}']) {
    assert.throws(() => Filters.fromJSON(bad), (e) => isInvalid(e), bad);
  }
});

test('filters: validate and bool', () => {
  const f = Filters.fromJSON('{"label":{"x":true},"dangling":{"maybe":true}}');
  assert.throws(() => f.validate(['label']), /invalid filter 'dangling'/);
  f.validate(['label', 'dangling']);
  assert.throws(() => f.bool('dangling'), /invalid filter 'dangling=maybe'/);
});
