import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { lookupGroupId, parseHost, requestIdFrom, takeActivatedFds } from './server.js';

test('server: host parsing', () => {
  assert.deepEqual(parseHost('unix:///run/berth/berth.sock'), { kind: 'unix', path: '/run/berth/berth.sock' });
  assert.deepEqual(parseHost('/tmp/x.sock'), { kind: 'unix', path: '/tmp/x.sock' });
  assert.deepEqual(parseHost('tcp://127.0.0.1:2376'), { kind: 'tcp', host: '127.0.0.1', port: 2376 });
  assert.deepEqual(parseHost('tcp://127.0.0.1'), { kind: 'tcp', host: '127.0.0.1', port: 2376 });
  assert.deepEqual(parseHost('tcp://[::1]:1234'), { kind: 'tcp', host: '::1', port: 1234 });
  assert.deepEqual(parseHost('tcp://:2375'), { kind: 'tcp', host: '127.0.0.1', port: 2375 });
  assert.deepEqual(parseHost('fd://'), { kind: 'fd' });
  assert.deepEqual(parseHost('fd://*'), { kind: 'fd' });
  assert.deepEqual(parseHost('fd://4'), { kind: 'fd', fd: 4 });
  assert.throws(() => parseHost('fd://docker.socket'), /failed to parse systemd fd address: should be a number: docker\.socket/);
  for (const bad of ['unix://relative', 'tcp://a:99999', 'http://x', 'npipe:////./pipe/x']) {
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

test('server: systemd\'s sockets are ours only when LISTEN_PID names us; the variables are taken away', () => {
  const env: NodeJS.ProcessEnv = { LISTEN_PID: '42', LISTEN_FDS: '2', LISTEN_FDNAMES: 'berthd.socket:berthd.socket', PATH: '/bin' };
  assert.deepEqual(takeActivatedFds(env, 42), [3, 4]);
  assert.deepEqual(env, { PATH: '/bin' });
  assert.deepEqual(takeActivatedFds({ LISTEN_PID: '41', LISTEN_FDS: '2' }, 42), [], 'meant for another process');
  assert.deepEqual(takeActivatedFds({ LISTEN_FDS: '1' }, 42), []);
  assert.deepEqual(takeActivatedFds({ LISTEN_PID: '42', LISTEN_FDS: 'x' }, 42), []);
});

test('server: -H fd:// serves the socket systemd passed as fd 3 (socket activation, as dockerd)', async () => {
  // systemd's part: a listening socket at fd 3 of a process whose pid is in LISTEN_PID.
  const sock = net.createServer();
  await new Promise<void>((r) => sock.listen(0, '127.0.0.1', r));
  const { port } = sock.address() as net.AddressInfo;
  const fd = (sock as unknown as { _handle: { fd: number } })._handle.fd;
  const serverJs = path.join(path.dirname(fileURLToPath(import.meta.url)), 'server.js');
  const script = `
    import { startApiServer } from ${JSON.stringify(serverJs)};
    import { Router } from ${JSON.stringify(path.join(path.dirname(serverJs), 'router.js'))};
    import { registerPingRoutes } from ${JSON.stringify(path.join(path.dirname(serverJs), 'ping.js'))};
    const router = new Router();
    registerPingRoutes(router);
    const s = await startApiServer({ router, hosts: [process.argv[1]] });
    console.log(JSON.stringify({ addresses: s.addresses, left: Object.keys(process.env).filter((k) => k.startsWith('LISTEN_')) }));
  `;
  const start = (host: string, fds: number) => spawn('sh', ['-c', `LISTEN_PID=$$ LISTEN_FDS=${fds} exec "$@"`, 'sh', process.execPath, '--input-type=module', '-e', script, host],
    { stdio: ['ignore', 'pipe', 'pipe', fd] });
  const firstLine = (c: ReturnType<typeof spawn>) => new Promise<string>((resolve) => {
    let out = '';
    let err = '';
    c.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('\n')) resolve(out.split('\n')[0]!); });
    c.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    c.on('exit', () => resolve(`exited: ${err}`));
  });
  const child = start('fd://', 1);
  const bad = start('fd://5', 1);
  // Listening from the start: `bad` may be gone before its line is awaited, and its exit would be missed.
  const childLine = firstLine(child);
  const badLine = firstLine(bad);
  sock.close(); // the child holds its own copy
  try {
    assert.deepEqual(JSON.parse(await childLine), { addresses: [{ kind: 'fd', fd: 3 }], left: [] });
    const ping = await new Promise<string>((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1', () => c.end('GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let got = '';
      c.on('data', (d: Buffer) => { got += d.toString(); });
      c.on('end', () => resolve(got));
      c.on('error', reject);
    });
    assert.match(ping, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nOK$/);
    assert.match(await badLine, /fd:\/\/5: too few socket activated files passed in by systemd/);
  } finally {
    for (const c of [child, bad]) c.kill('SIGKILL');
  }
});
