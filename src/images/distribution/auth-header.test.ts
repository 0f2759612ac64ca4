// Unit tests for WWW-Authenticate parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWwwAuthenticate } from './auth-header.js';

test('Docker Hub bearer challenge', () => {
  const h = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"';
  assert.deepEqual(parseWwwAuthenticate(h), [{ scheme: 'bearer', params: {
    realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } }]);
});

test('basic challenge, case-insensitive scheme and names, spaces around commas and =', () => {
  assert.deepEqual(parseWwwAuthenticate('BASIC Realm = "berth test" , charset="UTF-8"'),
    [{ scheme: 'basic', params: { realm: 'berth test', charset: 'UTF-8' } }]);
});

test('several challenges in one value and across values', () => {
  const got = parseWwwAuthenticate(['Basic realm="a", Bearer realm="https://t/x",service=s', 'Negotiate abc==']);
  assert.deepEqual(got.map((c) => c.scheme), ['basic', 'bearer', 'negotiate']);
  assert.equal(got[1]!.params.service, 's');
  assert.equal(got[2]!.params.token68, 'abc==');
});

test('scope with several actions and quoted escapes; insufficient_scope error', () => {
  const got = parseWwwAuthenticate('Bearer realm="r",scope="repository:a/b:pull,push repository:c:pull",error="insufficient_scope",x="q\\"uote"');
  assert.equal(got[0]!.params.scope, 'repository:a/b:pull,push repository:c:pull');
  assert.equal(got[0]!.params.error, 'insufficient_scope');
  assert.equal(got[0]!.params.x, 'q"uote');
});

test('absent and empty headers give no challenge; an unterminated quote is an error', () => {
  assert.deepEqual(parseWwwAuthenticate(undefined), []);
  assert.deepEqual(parseWwwAuthenticate(''), []);
  assert.throws(() => parseWwwAuthenticate('Bearer realm="x'), /unterminated/);
});
