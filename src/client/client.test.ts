import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, encodeQuery } from './client.js';
import { Filters } from '../api/query.js';

test('client: query encoding with docker conventions', () => {
  assert.equal(encodeQuery(undefined), '');
  assert.equal(encodeQuery({ all: true, quiet: false, n: 5, skip: undefined, none: null }), '?all=1&quiet=0&n=5');
  assert.equal(encodeQuery({ t: ['a', 'b'] }), '?t=a&t=b');
  const f = new Filters().add('label', 'a=b');
  assert.equal(decodeURIComponent(encodeQuery({ filters: f }).slice(9)), '{"label":{"a=b":true}}');
  assert.equal(decodeURIComponent(encodeQuery({ filters: { status: ['running'] } }).slice(9)), '{"status":["running"]}');
});

test('client: host validation', async () => {
  assert.throws(() => new Client({ host: 'ssh://x' }), /unsupported host/);
  assert.throws(() => new Client({ host: 'tcp://127.0.0.1:2376' }), /need TLS/);
  const c = new Client({ host: 'unix:///nonexistent/berth.sock', version: '1.41' });
  assert.equal(c.apiVersion, '1.41');
  await c.close();
});
