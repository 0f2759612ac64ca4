// Unit tests for endpoint choice: Docker's insecure rule and docker.io mirrors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endpointsFor, hostOf, inCidr, isInsecure } from './endpoints.js';

test('CIDR membership and host parts', () => {
  assert.ok(inCidr('127.5.6.7', '127.0.0.0/8'));
  assert.ok(!inCidr('128.0.0.1', '127.0.0.0/8'));
  assert.ok(inCidr('10.1.2.3', '10.0.0.0/16') === false);
  assert.ok(inCidr('10.0.200.3', '10.0.0.0/16'));
  assert.ok(inCidr('1.2.3.4', '0.0.0.0/0'));
  assert.equal(hostOf('127.0.0.1:5000'), '127.0.0.1');
  assert.equal(hostOf('[::1]:5000'), '::1');
  assert.equal(hostOf('reg.lan'), 'reg.lan');
});

test('loopback is insecure by default (Docker), names and CIDRs from config, resolved names', async () => {
  const resolve = async (h: string) => ({ 'reg.lan': ['10.0.0.5'], localhost: ['127.0.0.1'] } as Record<string, string[]>)[h] ?? [];
  assert.equal(await isInsecure('127.0.0.1:5000', { resolve }), true);
  assert.equal(await isInsecure('localhost:5000', { resolve }), true);
  assert.equal(await isInsecure('reg.lan:5000', { resolve }), false);
  assert.equal(await isInsecure('reg.lan:5000', { resolve, insecureRegistries: ['reg.lan:5000'] }), true);
  assert.equal(await isInsecure('reg.lan:5000', { resolve, insecureRegistries: ['reg.lan:6000'] }), false);
  assert.equal(await isInsecure('reg.lan:5000', { resolve, insecureRegistries: ['10.0.0.0/24'] }), true);
  assert.equal(await isInsecure('nowhere', { resolve: async () => { throw new Error('NXDOMAIN'); } }), false);
});

test('endpoint order: https then http for insecure, https only otherwise, mirrors first for docker.io pulls', async () => {
  const resolve = async () => ['192.0.2.1'];
  assert.deepEqual((await endpointsFor('127.0.0.1:5000', { resolve })).map((e) => [e.base, e.skipVerify]),
    [['https://127.0.0.1:5000', true], ['http://127.0.0.1:5000', false]]);
  assert.deepEqual((await endpointsFor('reg.lan', { resolve })).map((e) => e.base), ['https://reg.lan']);
  const hub = await endpointsFor('docker.io', { resolve, mirrors: ['http://127.0.0.1:9/', 'https://m.lan'] });
  assert.deepEqual(hub.map((e) => [e.base, e.mirror]),
    [['http://127.0.0.1:9', true], ['https://m.lan', true], ['https://registry-1.docker.io', false]]);
  assert.deepEqual((await endpointsFor('docker.io', { resolve, mirrors: ['http://m'] }, false)).map((e) => e.base), ['https://registry-1.docker.io']);
  await assert.rejects(endpointsFor('docker.io', { mirrors: ['ftp://x'] }), /http or https/);
});
