// The API server on tcp://127.0.0.1 with TLS and client-certificate verification (dockerd's --tlsverify).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { errorCode } from '../../../src/common/errors.js';
import { Router } from '../../../src/api/router.js';
import { ApiServer, startApiServer } from '../../../src/api/server.js';
import { registerPingRoutes } from '../../../src/api/ping.js';
import { registerVersionRoute } from '../../../src/api/version.js';
import { Client } from '../../../src/client/client.js';

const run = promisify(execFile);

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makePki(dir: string): void {
  const o = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  o(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=berth-test-ca']);
  fs.writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  fs.writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    o(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${who}-key.pem`, '-out', `${who}.csr`, '-subj', `/CN=${who}`]);
    o(['x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${who}.pem`, '-days', '1', '-extfile', `${who}.ext`]);
  }
  // A client certificate from a CA the server does not trust.
  o(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'rogue-key.pem', '-out', 'rogue.pem', '-days', '1', '-subj', '/CN=rogue']);
}

describe('api server over TLS', { skip: haveOpenssl() ? false : 'openssl not installed' }, () => {
  let dir: string;
  let server: ApiServer;
  let port = 0;
  const file = (n: string) => path.join(dir, n);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-api-tls-'));
    makePki(dir);
    const r = new Router();
    registerPingRoutes(r);
    registerVersionRoute(r);
    server = await startApiServer({
      router: r,
      hosts: ['tcp://127.0.0.1:0'],
      tls: { caFile: file('ca.pem'), certFile: file('server.pem'), keyFile: file('server-key.pem') },
    });
    const a = server.addresses[0]!;
    assert.equal(a.kind, 'tcp');
    if (a.kind === 'tcp') port = a.port;
  });

  after(async () => {
    await server?.close({ graceMs: 0 });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a client with a certificate from the CA is served', async () => {
    const c = new Client({
      host: `tcp://127.0.0.1:${port}`,
      tls: { ca: fs.readFileSync(file('ca.pem')), cert: fs.readFileSync(file('client.pem')), key: fs.readFileSync(file('client-key.pem')) },
    });
    try {
      assert.equal(await c.negotiate(), '1.50');
      const v = await c.json<{ Os: string }>('GET', '/version');
      assert.equal(v.Os, 'linux');
    } finally {
      await c.close();
    }
  });

  test('a client without a certificate, or with a foreign one, is refused', async () => {
    for (const cert of [undefined, 'rogue']) {
      const err = await new Promise<Error | undefined>((resolve) => {
        const s = tls.connect({
          host: '127.0.0.1',
          port,
          ca: fs.readFileSync(file('ca.pem')),
          ...(cert ? { cert: fs.readFileSync(file(`${cert}.pem`)), key: fs.readFileSync(file(`${cert}-key.pem`)) } : {}),
        });
        s.on('secureConnect', () => s.write('GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n'));
        let got = '';
        s.on('data', (d: Buffer) => (got += d.toString()));
        s.on('error', (e) => resolve(e));
        s.on('close', () => resolve(got.includes('200 OK') ? undefined : new Error('closed without answer')));
      });
      assert.ok(err, `no certificate (${cert ?? 'none'}) must not be served`);
    }
    const c = new Client({ host: `tcp://127.0.0.1:${port}`, tls: { ca: fs.readFileSync(file('ca.pem')), cert: fs.readFileSync(file('rogue.pem')), key: fs.readFileSync(file('rogue-key.pem')) } });
    await assert.rejects(c.ping(), (e: unknown) => errorCode(e) === 'unavailable');
    await c.close();
  });

  test('docker --tlsverify negotiates', { skip: fs.existsSync('/usr/bin/docker') ? false : 'docker CLI not installed' }, async () => {
    const r = await run('/usr/bin/docker', [
      '--tlsverify', '--tlscacert', file('ca.pem'), '--tlscert', file('client.pem'), '--tlskey', file('client-key.pem'),
      '-H', `tcp://127.0.0.1:${port}`, 'version', '--format', '{{.Server.APIVersion}}',
    ], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, DOCKER_CONFIG: path.join(dir, 'docker-config') }, timeout: 20_000 });
    assert.equal(r.stdout.trim(), '1.50');
  });
});
