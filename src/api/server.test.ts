import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lookupGroupId, parseHost, requestIdFrom } from './server.js';

test('server: host parsing', () => {
  assert.deepEqual(parseHost('unix:///run/berth/berth.sock'), { kind: 'unix', path: '/run/berth/berth.sock' });
  assert.deepEqual(parseHost('/tmp/x.sock'), { kind: 'unix', path: '/tmp/x.sock' });
  assert.deepEqual(parseHost('tcp://127.0.0.1:2376'), { kind: 'tcp', host: '127.0.0.1', port: 2376 });
  assert.deepEqual(parseHost('tcp://127.0.0.1'), { kind: 'tcp', host: '127.0.0.1', port: 2376 });
  assert.deepEqual(parseHost('tcp://[::1]:1234'), { kind: 'tcp', host: '::1', port: 1234 });
  assert.deepEqual(parseHost('tcp://:2375'), { kind: 'tcp', host: '127.0.0.1', port: 2375 });
  for (const bad of ['fd://', 'unix://relative', 'tcp://a:99999', 'http://x', 'npipe:////./pipe/x']) {
    assert.throws(() => parseHost(bad), /invalid host/, bad);
  }
});

test('server: group lookup from a group file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-grp-'));
  const f = path.join(dir, 'group');
  fs.writeFileSync(f, 'root:x:0:\ndocker:x:106:\nberth:x:998:alice,bob\n');
  try {
    assert.equal(lookupGroupId('berth', f), 998);
    assert.equal(lookupGroupId('docker', f), 106);
    assert.equal(lookupGroupId('nope', f), undefined);
    assert.equal(lookupGroupId('berth', path.join(dir, 'missing')), undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('server: request ids', () => {
  assert.equal(requestIdFrom('abc-123'), 'abc-123');
  assert.equal(requestIdFrom(['t1', 't2']), 't1');
  assert.match(requestIdFrom(undefined), /^[0-9a-f]{16}$/);
  assert.match(requestIdFrom('has space'), /^[0-9a-f]{16}$/);
  assert.match(requestIdFrom('x'.repeat(200)), /^[0-9a-f]{16}$/);
  assert.notEqual(requestIdFrom(undefined), requestIdFrom(undefined));
});
