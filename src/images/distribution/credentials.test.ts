// Unit tests for docker config.json credentials.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerConfigDir, loadDockerCredentials, normalizeAuthKey } from './credentials.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('auth keys normalize to host[:port]', () => {
  assert.equal(normalizeAuthKey('https://index.docker.io/v1/'), 'index.docker.io');
  assert.equal(normalizeAuthKey('http://127.0.0.1:5000/v2'), '127.0.0.1:5000');
  assert.equal(normalizeAuthKey('Registry.LAN:443'), 'registry.lan:443');
});

test('DOCKER_CONFIG wins over HOME', () => {
  assert.equal(dockerConfigDir({ DOCKER_CONFIG: '/x', HOME: '/h' }), '/x');
  assert.equal(dockerConfigDir({ HOME: '/h' }), '/h/.docker');
});

test('auth (base64), username/password, docker.io aliases, missing file and entry', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-creds-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(await loadDockerCredentials('127.0.0.1:5000', dir), undefined);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: {
    'https://index.docker.io/v1/': { auth: b64('hub:pa:ss') },
    '127.0.0.1:5000': { username: 'u', password: 'p' },
    'http://reg.lan:8080/v2/': { auth: b64('a:b') },
    'helper.only': {},
  }, credsStore: 'desktop' }));
  assert.deepEqual(await loadDockerCredentials('docker.io', dir), { username: 'hub', password: 'pa:ss' });
  assert.deepEqual(await loadDockerCredentials('registry-1.docker.io', dir), { username: 'hub', password: 'pa:ss' });
  assert.deepEqual(await loadDockerCredentials('127.0.0.1:5000', dir), { username: 'u', password: 'p' });
  assert.deepEqual(await loadDockerCredentials('reg.lan:8080', dir), { username: 'a', password: 'b' });
  assert.equal(await loadDockerCredentials('reg.lan', dir), undefined);
  assert.equal(await loadDockerCredentials('helper.only', dir), undefined);
  writeFileSync(join(dir, 'config.json'), '{');
  await assert.rejects(loadDockerCredentials('x', dir), /not JSON/);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { x: { auth: b64('nocolon') } } }));
  await assert.rejects(loadDockerCredentials('x', dir), /user:password/);
});
