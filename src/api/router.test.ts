import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router, compilePattern } from './router.js';

const h = () => undefined;

test('router: segment parameters and literal paths', () => {
  const r = new Router().get('/containers/json', h).get('/containers/{id}/json', h).post('/containers/{id}/start', h);
  const m = r.match('GET', '/containers/abc123/json');
  assert.equal(m.kind, 'found');
  if (m.kind === 'found') {
    assert.equal(m.route.pattern, '/containers/{id}/json');
    assert.deepEqual(m.params, { id: 'abc123' });
  }
  const l = r.match('GET', '/containers/json');
  assert.ok(l.kind === 'found' && l.route.pattern === '/containers/json');
  assert.equal(r.match('GET', '/containers/a/b/json').kind, 'not-found');
  assert.equal(r.match('GET', '/containers/json/').kind, 'not-found');
});

test('router: greedy {name:.*} for image references', () => {
  const r = new Router().get('/images/{name:.*}/json', h).post('/images/{name:.*}/tag', h);
  const m = r.match('GET', '/images/registry.example:5000/library/busybox:latest/json');
  assert.ok(m.kind === 'found');
  if (m.kind === 'found') assert.equal(m.params['name'], 'registry.example:5000/library/busybox:latest');
  const d = r.match('GET', '/images/sha256%3Aabc/json');
  assert.ok(d.kind === 'found' && d.params['name'] === 'sha256:abc');
});

test('router: method mismatch is reported with the allowed methods', () => {
  const r = new Router().get('/_ping', h).head('/_ping', h);
  const m = r.match('POST', '/_ping');
  assert.deepEqual(m, { kind: 'method-not-allowed', allowed: ['GET', 'HEAD'] });
  assert.equal(r.match('head', '/_ping').kind, 'found');
});

test('router: bad percent escapes throw URIError', () => {
  const r = new Router().get('/containers/{id}/json', h);
  assert.throws(() => r.match('GET', '/containers/%E0%A4%A/json'), URIError);
});

test('router: pattern errors', () => {
  assert.throws(() => compilePattern('x'), /must start/);
  assert.throws(() => compilePattern('/a/{id'), /unclosed/);
  assert.throws(() => compilePattern('/a/{id}/{id}'), /duplicate/);
  assert.throws(() => compilePattern('/a/{id:[0-9]+}'), /unsupported/);
  assert.ok(compilePattern('/a.b/{x}').regex.test('/a.b/1'));
  assert.ok(!compilePattern('/a.b/{x}').regex.test('/aXb/1'));
});
