// Unit tests for the bearer token cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenCache, tokenKey } from './token-cache.js';

test('scopes are a set in the key', () => {
  assert.equal(tokenKey('r', 's', ['b', 'a', 'a']), tokenKey('r', 's', ['a', 'b']));
  assert.notEqual(tokenKey('r', 's', ['a']), tokenKey('r', 't', ['a']));
  assert.notEqual(tokenKey('r', undefined, ['a:pull']), tokenKey('r', undefined, ['a:pull,push']));
});

test('a token lives until shortly before expires_in; default lifetime 60 s', () => {
  let now = 1_000_000;
  const c = new TokenCache(() => now);
  c.set('k', 't1', 300);
  c.set('d', 't2');
  now += 294_000;
  assert.equal(c.get('k'), 't1');
  now += 1_000; // 295 s: inside the 5 s margin
  assert.equal(c.get('k'), undefined);
  assert.equal(c.get('d'), undefined);
  now = 1_000_000 + 54_000;
  c.set('d2', 'x');
  assert.equal(c.get('d2'), 'x');
});

test('issued_at in the past shortens the life; in the future it is ignored; delete forgets', () => {
  let now = Date.parse('2024-01-01T00:01:00Z');
  const c = new TokenCache(() => now);
  c.set('old', 't', 60, '2024-01-01T00:00:00Z');
  assert.equal(c.get('old'), undefined);
  c.set('future', 't', 60, '2024-01-01T01:00:00Z');
  now += 50_000;
  assert.equal(c.get('future'), 't');
  c.delete('future');
  assert.equal(c.get('future'), undefined);
});

test('a very short lifetime is still usable once', () => {
  const now = 0;
  const c = new TokenCache(() => now);
  c.set('k', 't', 2);
  assert.equal(c.get('k'), 't');
});
