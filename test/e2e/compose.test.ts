// Debian's docker-compose (v1, docker-py) against a private berthd: a three-service application (frontend, backend, database) on its own network and volume.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { berthdSkipReason, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { buildDockerSaveTar } from '../fixtures/image.js';
import { freePort } from '../fixtures/registry.js';
import { haveCommand } from '../fixtures/rootfs.js';
import { daemonInterfaces, existingInterfaces } from '../fixtures/network.js';

const skip = berthdSkipReason()
  ?? (haveCommand('docker-compose') ? undefined : 'needs docker-compose (apt-get install docker-compose)')
  ?? (existsSync('/usr/lib/cni/bridge') ? undefined : 'needs containernetworking-plugins');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let d: Berthd;
let dir: string;
let port: number;

function compose(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('docker-compose', ['-p', 'shop', ...args], { cwd: dir, encoding: 'utf8', env: { ...d.env, COMPOSE_INTERACTIVE_NO_CLI: '1' }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(args: string[]): string {
  const r = compose(args);
  assert.equal(r.status, 0, `docker-compose ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout + r.stderr;
}

function httpGet(p: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(p, '127.0.0.1');
    let buf = '';
    c.on('data', (x) => { buf += x.toString(); });
    c.on('error', reject);
    c.on('close', () => resolve(buf.slice(buf.indexOf('\r\n\r\n') + 4)));
    c.on('connect', () => c.write(`GET ${path} HTTP/1.0\r\n\r\n`));
    setTimeout(() => c.destroy(), 5000);
  });
}

describe('docker-compose v1 -> berthd: a three-service application', { skip, concurrency: false }, () => {
  before(async () => {
    d = await startBerthd({ prefix: 'berthd-compose-' });
    assert.equal(d.docker(['load', '-i', buildDockerSaveTar(d.dir, 'docker.io/library/busybox:latest')]).status, 0);
    dir = join(d.dir, 'shop');
    mkdirSync(dir);
    port = await freePort();
    // db keeps its data in a named volume; backend asks db by name; frontend asks backend and is published.
    writeFileSync(join(dir, 'docker-compose.yml'), `version: "3.8"
services:
  db:
    image: busybox:latest
    command: ["sh", "-c", "test -f /data/index.html || echo db-row-1 > /data/index.html; echo db ready; exec httpd -f -p 80 -h /data"]
    volumes: ["dbdata:/data"]
  backend:
    image: busybox:latest
    depends_on: [db]
    command: ["sh", "-c", "echo backend ready; while true; do wget -qO /tmp/index.html http://db/index.html && echo got-db; sleep 1; done & exec httpd -f -p 8080 -h /tmp"]
  frontend:
    image: busybox:latest
    depends_on: [backend]
    ports: ["127.0.0.1:${port}:80"]
    command: ["sh", "-c", "while true; do wget -qO /tmp/index.html http://backend:8080/index.html; sleep 1; done & exec httpd -f -p 80 -h /tmp"]
volumes:
  dbdata: {}
`);
  });
  after(async () => {
    if (d) {
      compose(['down', '-v', '-t', '1']);
      await d.stop();
    }
  });

  test('up -d, ps, logs, service-to-service by name, a published port, down -v leaves nothing', async () => {
    ok(['up', '-d']);
    const ours = daemonInterfaces((a) => d.docker(a));
    assert.ok(ours.length >= 4, `the project's bridge and three veths: ${ours.join(' ')}`);
    const ps = ok(['ps']);
    for (const s of ['shop_db_1', 'shop_backend_1', 'shop_frontend_1']) assert.match(ps, new RegExp(`${s}\\s.*Up`));
    assert.match(ps, new RegExp(`127\\.0\\.0\\.1:${port}->80/tcp`));
    // frontend -> backend -> db, all by service name, seen from the host through the published port
    let body = '';
    for (let i = 0; i < 60 && !body.includes('db-row-1'); i++) {
      await sleep(250);
      body = await httpGet(port, '/index.html').catch(() => '');
    }
    assert.equal(body.trim(), 'db-row-1');
    assert.match(ok(['exec', '-T', 'backend', 'wget', '-qO-', 'http://db/index.html']), /db-row-1/);
    const logs = ok(['logs', '--no-color']);
    assert.match(logs, /db_1\s+\| db ready/);
    assert.match(logs, /backend_1\s+\| got-db/);
    // the project's network and volume, as compose named them
    assert.match(d.docker(['network', 'ls', '--format', '{{.Name}}']).stdout, /^shop_default$/m);
    assert.match(d.docker(['volume', 'ls', '--format', '{{.Name}}']).stdout, /^shop_dbdata$/m);
    ok(['down', '-v', '-t', '1']);
    assert.equal(d.docker(['ps', '-aq']).stdout.trim(), '');
    assert.doesNotMatch(d.docker(['network', 'ls', '--format', '{{.Name}}']).stdout, /shop_default/);
    assert.doesNotMatch(d.docker(['volume', 'ls', '--format', '{{.Name}}']).stdout, /shop_dbdata/);
    const left = existingInterfaces(ours);
    assert.deepEqual(left, [], `interfaces left: ${left.join(' ')}`);
    // no pinned netns, no IPAM lease, no volume directory, no container directory
    assert.deepEqual(readdirSync(join(d.execRoot, 'netns')).filter((f) => !f.startsWith('.')), [], 'netns files left');
    assert.equal(readFileSync('/proc/mounts', 'utf8').includes(join(d.execRoot, 'netns')), false, 'netns mounts left');
    const ipam = join(d.dataRoot, 'network', 'ipam');
    const leases = existsSync(ipam) ? readdirSync(ipam, { recursive: true }).map(String).filter((f) => /\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
    assert.deepEqual(leases, [], 'IPAM leases left');
    assert.deepEqual(readdirSync(join(d.dataRoot, 'volumes')).filter((f) => f.startsWith('shop_')), [], 'volume data left');
    assert.deepEqual(readdirSync(join(d.dataRoot, 'containers')), [], 'container directories left');
    assert.deepEqual(d.check().report.findings, [], 'berthd check');
  });
});
