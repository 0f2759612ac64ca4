// The real docker CLI against a private berthd: images, system, containers end to end, and bad input.
//
// DOCKER_HOST points at the test's socket and DOCKER_CONFIG at a temp dir; DOCKER_API_VERSION is unset, so the
// CLI negotiates. Every container runs with --network none. Registry traffic stays on 127.0.0.1.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countingLimit, diskOf } from '../fixtures/block-device.js';
import { berthdSkipReason, DOCKER, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { buildDockerSaveTar } from '../fixtures/image.js';
import { freePort, registrySkipReason, startRegistry, type Registry } from '../fixtures/registry.js';
import { haveCommand, repoRoot } from '../fixtures/rootfs.js';

const skip = berthdSkipReason();
const engineSkip = existsSync(join(repoRoot, 'dist', 'src', 'engine', 'engine.js')) ? undefined : 'the engine (src/engine/engine.ts) is not built yet';
const IMAGE = 'busybox:latest';
const NONE = ['--network', 'none'];
const TINI = '/usr/bin/tini-static';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let d: Berthd;
let tmp: string;
let imageTar: string;
let reg: Registry | undefined;

/** Run docker and fail with its output unless it exits 0; returns stdout. */
function ok(args: string[], opts: { input?: string; timeout?: number } = {}): string {
  const r = d.docker(args, opts);
  assert.equal(r.status, 0, `docker ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}\nlog:\n${tailLog()}`);
  return r.stdout;
}

function tailLog(n = 25): string {
  try {
    return readFileSync(d.log, 'utf8').split('\n').filter((l) => /"level":(40|50|60)/.test(l)).slice(-n).join('\n');
  } catch {
    return '';
  }
}

/** A raw HTTP exchange on the daemon's socket: write `data` (and half-close when `end`), collect the answer. */
function raw(data: string | Buffer, opts: { end?: boolean; waitMs?: number } = {}): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect(d.socket);
    let buf = '';
    c.on('data', (x) => { buf += x.toString(); });
    c.once('error', () => resolve(buf));
    c.once('close', () => resolve(buf));
    c.once('connect', () => {
      c.write(data);
      if (opts.end) c.end();
    });
    setTimeout(() => c.destroy(), opts.waitMs ?? 5000);
  });
}

function daemonHealthy(): void {
  const r = d.docker(['version', '--format', '{{.Server.Version}}'], { timeout: 15000 });
  assert.equal(r.status, 0, `daemon no longer answers: ${r.stderr}`);
}

/** POST a JSON body on the raw socket: the answer's status and its JSON message. */
async function postJson(path: string, body: string): Promise<{ status: number; message: string }> {
  const ans = await raw(`POST /v1.50${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  const status = Number(/^HTTP\/1\.1 (\d+)/.exec(ans)?.[1]);
  const text = ans.slice(ans.indexOf('\r\n\r\n') + 4);
  return { status, message: text.startsWith('{') ? (JSON.parse(text) as { message: string }).message : text };
}

/** GET on the raw socket: the answer's status and its parsed JSON body. */
async function getJson(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const ans = await raw(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(ans)?.[1]), body: JSON.parse(ans.slice(ans.indexOf('\r\n\r\n') + 4)) as Record<string, unknown> };
}

const allContainers = () => ok(['ps', '-aq', '--no-trunc']);

/** The container list is what it was before, and `berthd check` finds the data root consistent. */
function assertNothingLeft(before: string, what: string): void {
  assert.equal(allContainers(), before, `${what}: a container was left`);
  const r = d.check();
  assert.equal(r.status, 0, `${what}: berthd check found:\n${r.report.findings.map((f) => `  ${f.kind}: ${f.message}`).join('\n')}${r.stderr}`);
  assert.equal(r.report.daemonPid, d.pid);
}

describe('docker CLI against berthd', { skip }, () => {
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-e2e-cli-'));
    imageTar = buildDockerSaveTar(tmp, IMAGE);
    d = await startBerthd();
    ok(['load', '-i', imageTar]);
  });
  after(async () => {
    await d?.stop();
    await reg?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe('system', () => {
    test('docker version shows both sections, negotiated to the server API', () => {
      const out = ok(['version']);
      assert.match(out, /^Client:/m);
      assert.match(out, /^Server: Berth Engine/m);
      assert.match(out, /API version:\s+1\.50 \(minimum version 1\.24\)/);
      assert.match(out, /berth-shim:/);
      const j = JSON.parse(ok(['version', '--format', '{{json .}}'])) as { Client: { ApiVersion: string }; Server: { ApiVersion: string; Components: Array<{ Name: string }> } };
      assert.equal(j.Server.ApiVersion, '1.50');
      assert.deepEqual(j.Server.Components.map((c) => c.Name).slice(0, 1), ['Engine']);
    });

    test('docker info reports the daemon facts', () => {
      const info = JSON.parse(ok(['info', '--format', '{{json .}}'])) as Record<string, unknown>;
      assert.equal(info['Driver'], 'overlayfs');
      assert.equal(info['DockerRootDir'], d.dataRoot);
      assert.equal(info['CgroupDriver'], 'cgroupfs');
      assert.equal(info['DefaultRuntime'], 'berth');
      assert.equal(info['LoggingDriver'], 'json-file');
      assert.ok((info['Images'] as number) >= 1);
      assert.ok((info['NCPU'] as number) >= 1);
      assert.ok((info['MemTotal'] as number) > 0);
      assert.match(String(info['CgroupVersion']), /^[12]$/);
      assert.deepEqual(info['SecurityOptions'] && (info['SecurityOptions'] as string[])[0], 'name=seccomp,profile=builtin');
      assert.ok((info['Runtimes'] as Record<string, unknown>)['berth']);
      const text = ok(['info']);
      assert.match(text, /Storage Driver: overlayfs/);
      // No init configured: the one --init uses, Debian's tini-static (dockerd shows its docker-init).
      if (existsSync(TINI)) {
        assert.equal(info['InitBinary'], TINI);
        assert.match(text, /^ Init Binary: \/usr\/bin\/tini-static$/m);
      }
    });

    test('docker system df', () => {
      const out = ok(['system', 'df']);
      assert.match(out, /^Images\s+\d+/m);
      assert.match(out, /^Containers\s+\d+/m);
    });

    test('GET /system/df?type= reads only the kinds named (API 1.42+); an unknown kind is a 400', async () => {
      ok(['volume', 'create', 'df-vol']);
      try {
        const full = await getJson('/v1.50/system/df');
        assert.equal(full.status, 200);
        for (const k of ['Images', 'Containers', 'Volumes', 'BuildCache']) assert.ok(Array.isArray(full.body[k]), k);
        assert.ok((full.body['LayersSize'] as number) > 0);
        const vol = await getJson('/v1.50/system/df?type=volume');
        assert.equal(vol.status, 200);
        assert.deepEqual({ ...vol.body, Volumes: (vol.body['Volumes'] as Array<{ Name: string }>).map((v) => v.Name).includes('df-vol') },
          { LayersSize: 0, Images: null, Containers: null, Volumes: true, BuildCache: null });
        const two = await getJson('/v1.50/system/df?type=image&type=container');
        assert.ok(Array.isArray(two.body['Images']) && (two.body['Images'] as unknown[]).length > 0);
        assert.ok(Array.isArray(two.body['Containers']));
        assert.equal(two.body['Volumes'], null);
        assert.equal(two.body['BuildCache'], null);
        assert.ok((two.body['LayersSize'] as number) > 0);
        assert.deepEqual(await getJson('/v1.50/system/df?type=bogus'), { status: 400, body: { message: 'unknown object type: bogus' } });
        // Before 1.42 dockerd ignores `type`: everything.
        const old = await getJson('/v1.41/system/df?type=volume');
        for (const k of ['Images', 'Containers', 'Volumes', 'BuildCache']) assert.ok(Array.isArray(old.body[k]), k);
      } finally {
        ok(['volume', 'rm', 'df-vol']);
      }
    });

    test('a second berthd runs side by side with its own roots and socket', async () => {
      const d2 = await startBerthd({ prefix: 'berthd-e2e-2-' });
      try {
        const a = JSON.parse(ok(['info', '--format', '{{json .}}'])) as { ID: string; DockerRootDir: string };
        const b = JSON.parse(d2.docker(['info', '--format', '{{json .}}']).stdout) as { ID: string; DockerRootDir: string };
        assert.notEqual(a.ID, b.ID);
        assert.equal(b.DockerRootDir, d2.dataRoot);
        assert.equal(readFileSync(d2.pidfile, 'utf8').trim(), String(d2.pid));
      } finally {
        await d2.stop();
      }
      assert.equal(existsSync(d2.socket), false);
      daemonHealthy();
    });

    test('tcp with --tlsverify: a client certificate from the CA gets in, none does not; --tls alone refuses to start', { skip: haveCommand('openssl') ? undefined : 'missing openssl' }, async () => {
      const pki = join(tmp, 'pki');
      const sh = (cmd: string) => {
        const r = spawnSync('sh', ['-ec', cmd], { cwd: pki, encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
      };
      spawnSync('mkdir', ['-p', pki]);
      sh([
        'openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 1 -subj /CN=berth-test-ca 2>/dev/null',
        'for n in server client; do openssl req -newkey rsa:2048 -nodes -keyout $n-key.pem -out $n.csr -subj /CN=$n 2>/dev/null; done',
        'printf "subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n" > server.ext',
        'printf "extendedKeyUsage=clientAuth\\n" > client.ext',
        'for n in server client; do openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out $n.pem -days 1 -extfile $n.ext 2>/dev/null; done',
      ].join('\n'));
      const port = await freePort();
      const tcp = `tcp://127.0.0.1:${port}`;
      const d3 = await startBerthd({ prefix: 'berthd-e2e-tls-', args: ['-H', tcp, '--tlsverify', '--tlscacert', join(pki, 'ca.pem'), '--tlscert', join(pki, 'server.pem'), '--tlskey', join(pki, 'server-key.pem')] });
      try {
        const env = { ...d3.env, DOCKER_HOST: tcp };
        const tlsArgs = ['--tlsverify', '--tlscacert', join(pki, 'ca.pem'), '--tlscert', join(pki, 'client.pem'), '--tlskey', join(pki, 'client-key.pem')];
        const good = spawnSync(DOCKER, [...tlsArgs, 'version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', env, timeout: 20000 });
        assert.equal(good.status, 0, good.stderr);
        const bad = spawnSync(DOCKER, ['--tlsverify', '--tlscacert', join(pki, 'ca.pem'), 'version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', env: { ...env, DOCKER_CERT_PATH: join(tmp, 'none') }, timeout: 20000 });
        assert.notEqual(bad.status, 0);
      } finally {
        await d3.stop();
      }
      // --tls without --tlsverify would serve any client: berthd refuses to start, naming the flag, and serves nothing.
      const sock = join(tmp, 'tls-only.sock');
      const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'berthd.js'), '-H', tcp, '-H', `unix://${sock}`, '--tls', '--tlscert', join(pki, 'server.pem'), '--tlskey', join(pki, 'server-key.pem'),
        '--data-root', join(tmp, 'tls-only-data'), '--exec-root', join(tmp, 'tls-only-exec'), '--pidfile', join(tmp, 'tls-only.pid')], { encoding: 'utf8', timeout: 20000 });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`hosts: tcp://127\\.0\\.0\\.1:${port}: tcp is served only with --tlsverify \\(client certificates checked against --tlscacert\\); --tls alone would let in any client`));
      assert.equal(existsSync(sock), false);
      assert.equal(existsSync(join(tmp, 'tls-only.pid')), false);
    });

    test('a --pidfile naming a live process refuses to start, and leaves the file and the process alone', async () => {
      const live = spawn('sleep', ['60'], { stdio: 'ignore' });
      try {
        const pidfile = join(tmp, 'live.pid');
        writeFileSync(pidfile, `${live.pid}\n`);
        const sock = join(tmp, 'live-pid.sock');
        const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'berthd.js'), '-H', `unix://${sock}`, '--pidfile', pidfile,
          '--data-root', join(tmp, 'live-pid-data'), '--exec-root', join(tmp, 'live-pid-exec')], { encoding: 'utf8', timeout: 20000 });
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`pid file found, ensure berthd is not running or delete ${pidfile.replace(/[.]/g, '\\.')}`));
        assert.equal(readFileSync(pidfile, 'utf8'), `${live.pid}\n`);
        assert.equal(existsSync(sock), false);
        assert.equal(live.exitCode, null);
        process.kill(live.pid!, 0);
      } finally {
        live.kill();
      }
    });

    test('a --pidfile naming a zombie (a killed daemon not yet reaped) does not stop the next berthd from starting', async () => {
      // `sleep 0` exits as the child of a `sleep 60` that never waits: a zombie for as long as its parent lives.
      const holder = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
      const d1 = await startBerthd({ prefix: 'berthd-e2e-zpid-' });
      let d2: Berthd | undefined;
      try {
        const zombie = await new Promise<number>((resolve) => holder.stdout!.once('data', (b: Buffer) => resolve(Number(b.toString().trim()))));
        const state = () => { try { return readFileSync(`/proc/${zombie}/stat`, 'utf8').split(') ')[1]![0]; } catch { return undefined; } };
        for (let end = Date.now() + 10000; state() !== 'Z'; await sleep(20)) assert.ok(Date.now() < end, `pid ${zombie} never became a zombie (${state()})`);
        await d1.stop({ keepDir: true });
        writeFileSync(d1.pidfile, `${zombie}\n`);
        d2 = await startBerthd({ reuse: { dir: d1.dir, execRoot: d1.execRoot } });
        assert.equal(readFileSync(d2.pidfile, 'utf8').trim(), String(d2.pid));
      } finally {
        if (d2) await d2.stop();
        await d1.stop();
        holder.kill();
      }
    });

    test('daemon.json with an unknown key refuses to start, naming the key', () => {
      const cfg = join(tmp, 'bad-daemon.json');
      writeFileSync(cfg, JSON.stringify({ 'data-root': join(tmp, 'x'), 'bogus-key': 1 }));
      const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'berthd.js'), '--config-file', cfg, '-H', `unix://${join(tmp, 'never.sock')}`], { encoding: 'utf8', timeout: 20000 });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /bogus-key/);
    });
  });

  describe('images', () => {
    test('docker load prints what it loaded; docker images lists it', () => {
      const out = ok(['load', '-i', imageTar]);
      assert.match(out, /Loaded image: busybox:latest/);
      const list = ok(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
      assert.match(list, /^busybox:latest [0-9a-f]{12}$/m);
      const q = ok(['load', '-q', '-i', imageTar]);
      assert.match(q, /Loaded image: busybox:latest/);
    });

    test('tag, filters, history, inspect, rmi', () => {
      ok(['tag', IMAGE, 'example.test/team/bb:v1']);
      const id = ok(['image', 'inspect', '--format', '{{.Id}}', IMAGE]).trim();
      assert.match(id, /^sha256:[0-9a-f]{64}$/);
      const tags = ok(['image', 'inspect', '--format', '{{json .RepoTags}}', id]);
      assert.deepEqual((JSON.parse(tags) as string[]).sort(), ['busybox:latest', 'example.test/team/bb:v1']);
      assert.match(ok(['images', '--filter', 'reference=example.test/*/*', '--format', '{{.Repository}}']), /^example\.test\/team\/bb$/m);
      assert.doesNotMatch(ok(['images', '--filter', 'reference=example.test/*/*', '--format', '{{.Repository}}']), /^busybox$/m);
      assert.equal(ok(['images', '--filter', 'dangling=true', '-q']).trim(), '');
      const hist = ok(['history', IMAGE]);
      assert.match(hist, /berth test fixture: busybox-static rootfs/);
      const rm = ok(['rmi', 'example.test/team/bb:v1']);
      assert.match(rm, /Untagged: example\.test\/team\/bb:v1/);
      assert.doesNotMatch(rm, /Deleted/);
      const miss = d.docker(['rmi', 'nothere:1']);
      assert.equal(miss.status, 1);
      assert.match(miss.stderr, /No such image: nothere:1/);
      const inspectMiss = d.docker(['image', 'inspect', 'nothere:1']);
      assert.notEqual(inspectMiss.status, 0);
      assert.match(inspectMiss.stderr, /No such image/);
    });

    test('docker save then docker load round trips the image', () => {
      const id = ok(['image', 'inspect', '--format', '{{.Id}}', IMAGE]).trim();
      ok(['tag', IMAGE, 'roundtrip:1']);
      const out = join(tmp, 'saved.tar');
      ok(['save', '-o', out, 'roundtrip:1']);
      const members = spawnSync('tar', ['-tf', out], { encoding: 'utf8' }).stdout;
      assert.match(members, /manifest\.json/);
      assert.match(members, /index\.json/);
      const rm = ok(['rmi', 'roundtrip:1']);
      assert.match(rm, /Untagged: roundtrip:1/);
      const loaded = ok(['load', '-i', out]);
      assert.match(loaded, /Loaded image: roundtrip:1/);
      assert.equal(ok(['image', 'inspect', '--format', '{{.Id}}', 'roundtrip:1']).trim(), id);
      // Through stdout too (GET /images/get as a stream).
      const piped = spawnSync('sh', ['-c', `${DOCKER} save roundtrip:1 | ${DOCKER} load`], { encoding: 'utf8', env: d.env });
      assert.equal(piped.status, 0, piped.stderr);
      assert.match(piped.stdout, /Loaded image: roundtrip:1/);
      ok(['rmi', 'roundtrip:1']);
    });

    test('docker import from stdin', () => {
      const rootfs = join(tmp, 'import.tar');
      spawnSync('tar', ['-cf', rootfs, '-C', tmp, 'busybox-docker.tar']);
      const id = ok(['import', '-c', 'CMD ["/bin/sh"]', rootfs, 'imported:1']).trim();
      assert.match(id, /^sha256:[0-9a-f]{64}$/);
      assert.equal(ok(['image', 'inspect', '--format', '{{json .Config.Cmd}}', 'imported:1']).trim(), '["/bin/sh"]');
      ok(['rmi', 'imported:1']);
    });

    test('docker image prune: dangling only, then -a with --filter; docker\'s output', () => {
      const layer = (n: string) => {
        const dir = join(tmp, `prune-${n}`);
        spawnSync('mkdir', ['-p', dir]);
        writeFileSync(join(dir, 'f'), n);
        const tar = join(tmp, `prune-${n}.tar`);
        spawnSync('tar', ['-cf', tar, '-C', dir, 'f']);
        return tar;
      };
      const images = () => ok(['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}']);
      const kept = images();
      // Re-tagging prune:d leaves the first image dangling (<none>:<none>).
      const dangling = ok(['import', layer('1'), 'prune:d']).trim();
      ok(['import', layer('2'), 'prune:d']);
      assert.match(images(), new RegExp(`^${dangling} <none>:<none>$`, 'm'));
      assert.match(ok(['image', 'prune', '-f']), new RegExp(`^Deleted Images:\ndeleted: ${dangling}\n\nTotal reclaimed space: \\d+(\\.\\d+)?[kMG]?B\n$`));
      assert.equal(ok(['image', 'prune', '-f']), 'Total reclaimed space: 0B\n');
      assert.doesNotMatch(images(), new RegExp(dangling));
      assert.match(images(), /^sha256:\S+ prune:d$/m);

      // -a takes unused tagged images too; --filter narrows it (here to a label).
      const labelled = ok(['import', '-c', 'LABEL prune=yes', layer('3'), 'prune:labelled']).trim();
      const out = ok(['image', 'prune', '-a', '-f', '--filter', 'label=prune=yes']);
      assert.match(out, new RegExp(`^Deleted Images:\nuntagged: prune:labelled\ndeleted: ${labelled}\n\nTotal reclaimed space: \\d+(\\.\\d+)?[kMG]?B\n$`));
      assert.doesNotMatch(images(), /prune:labelled/);
      assert.match(images(), /prune:d$/m);
      ok(['rmi', 'prune:d']);
      assert.equal(images(), kept);
    });

    test('docker push to and pull from a local registry', { skip: registrySkipReason() }, async () => {
      reg ??= await startRegistry();
      const ref = `${reg.host}/test/bb:1`;
      ok(['tag', IMAGE, ref]);
      const pushed = ok(['push', ref]);
      assert.match(pushed, /The push refers to repository/);
      assert.match(pushed, /1: digest: sha256:[0-9a-f]{64}/);
      const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed)![1];
      if (haveCommand('skopeo')) {
        // An independent client sees what we pushed.
        const s = spawnSync('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${ref}`], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: tmp } });
        assert.equal(s.status, 0, s.stderr);
        assert.match(s.stdout, /schemaVersion/);
      }
      const id = ok(['image', 'inspect', '--format', '{{.Id}}', IMAGE]).trim();
      ok(['rmi', ref]);
      const pulled = ok(['pull', ref]);
      assert.match(pulled, /1: Pulling from test\/bb/);
      assert.match(pulled, new RegExp(`Digest: ${digest}`));
      assert.equal(ok(['image', 'inspect', '--format', '{{.Id}}', ref]).trim(), id);
      assert.match(ok(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref]), new RegExp(digest));
      ok(['rmi', ref]);
      const miss = d.docker(['pull', `${reg.host}/test/nothere:1`]);
      assert.equal(miss.status, 1);
      assert.match(miss.stderr, /Error response from daemon: .*(manifest unknown|not found)/i);
    });

    test('image events with --since/--until', async () => {
      const since = Math.floor(Date.now() / 1000) - 1;
      ok(['tag', IMAGE, 'evt:1']);
      ok(['rmi', 'evt:1']);
      await sleep(1100);
      const until = Math.floor(Date.now() / 1000) + 1;
      const out = ok(['events', '--since', String(since), '--until', String(until), '--filter', 'type=image', '--format', '{{.Type}} {{.Action}} {{.Actor.ID}}'], { timeout: 20000 });
      assert.match(out, /^image tag evt:1$/m);
      assert.match(out, /^image untag evt:1$/m);
    });
  });

  describe('bad input', () => {
    test('a cut-off load body is an error, and leaves no image', async () => {
      const images = () => ok(['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}']);
      const before = images();
      // The tar of another image, cut off: loading it whole would add `cutoff:1`.
      ok(['tag', IMAGE, 'cutoff:1']);
      const whole = join(tmp, 'cutoff.tar');
      ok(['save', '-o', whole, 'cutoff:1']);
      ok(['rmi', 'cutoff:1']);
      assert.equal(images(), before);
      const tar = readFileSync(whole);
      const cut = tar.subarray(0, tar.length >> 1);
      // A body that ends early (Content-Length promises more; the client half-closes) ...
      const head = `POST /v1.50/images/load HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\nContent-Length: ${tar.length}\r\n\r\n`;
      await raw(Buffer.concat([Buffer.from(head), cut]), { end: true });
      daemonHealthy();
      assert.equal(images(), before);
      // ... and a complete body that is a cut-off tar: an error the client sees, no image.
      const short = `POST /v1.50/images/load HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\nContent-Length: ${cut.length}\r\nConnection: close\r\n\r\n`;
      const ans = await raw(Buffer.concat([Buffer.from(short), cut]));
      assert.match(ans, /^HTTP\/1\.1 400 /, ans.slice(0, 2000));
      assert.match(ans, /"(error|message)":".*(unexpected EOF|truncated)/i, ans.slice(0, 2000));
      assert.equal(images(), before);
      const viaCli = d.docker(['load'], { input: cut });
      assert.equal(viaCli.status, 1, viaCli.stdout + viaCli.stderr);
      assert.match(viaCli.stderr, /^Error response from daemon: .*(unexpected EOF|truncated)/im);
      assert.equal(images(), before);
    });

    test('garbage instead of HTTP gets a 400, and the daemon stays up', async () => {
      const ans = await raw('NOT HTTP AT ALL\r\n\r\n', { end: true });
      assert.match(ans, /^HTTP\/1\.1 400/);
      daemonHealthy();
    });

    test('an unknown path is 404 with a JSON message', async () => {
      const ans = await raw('GET /v1.50/nothing/here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.match(ans, /^HTTP\/1\.1 404/);
      assert.match(ans, /"message"/);
    });

    test('a too-new API version is refused with dockerd\'s text', async () => {
      const ans = await raw('GET /v9.99/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.match(ans, /^HTTP\/1\.1 400/);
      assert.match(ans, /client version 9\.99 is too new/);
    });
  });

  describe('containers', { skip: engineSkip }, () => {
    const names: string[] = [];
    const name = (n: string) => {
      names.push(n);
      return n;
    };
    const inspect = (ref: string) => JSON.parse(ok(['inspect', ref]))[0] as {
      Id: string; Name: string; State: { Status: string; Running: boolean; Paused: boolean; Pid: number; ExitCode: number; OOMKilled: boolean };
      Config: { Tty: boolean }; HostConfig: { Memory: number };
    };
    const waitFor = async (what: string, f: () => boolean, ms = 15000) => {
      const end = Date.now() + ms;
      while (!f()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await sleep(100);
      }
    };

    test('run --rm prints the output and removes the container', () => {
      assert.equal(ok(['run', '--rm', ...NONE, IMAGE, 'echo', 'hi']), 'hi\n');
      assert.equal(ok(['ps', '-aq', '--filter', 'status=exited']).trim(), '');
    });

    test('exit codes: the command\'s, 125 for a missing image', async () => {
      const three = d.docker(['run', '--rm', ...NONE, IMAGE, 'sh', '-c', 'exit 3']);
      assert.equal(three.status, 3, three.stderr);
      reg ??= await startRegistry();
      const missing = d.docker(['run', '--rm', ...NONE, `${reg.host}/test/absent:1`, 'true']);
      assert.equal(missing.status, 125);
      assert.match(missing.stderr, /Unable to find image '127\.0\.0\.1:\d+\/test\/absent:1' locally/);
    });

    test('a missing command exits 127 (plain and with --rm)', () => {
      const plain = d.docker(['run', ...NONE, IMAGE, '/no/such/command'], { timeout: 20000 });
      assert.equal(plain.status, 127, `exit ${plain.status}: ${plain.stderr}`);
      // With --rm the CLI waits until the daemon removed the container that failed to start.
      const rm = d.docker(['run', '--rm', ...NONE, IMAGE, '/no/such/command'], { timeout: 20000 });
      assert.equal(rm.status, 127, `exit ${rm.status} (null: the CLI hung waiting for the removal): ${rm.stderr}`);
    });

    test('run -d, ps, logs, logs -f, inspect, exec, exec -i, exit codes', async () => {
      const c = name('e2e-daemon');
      const id = ok(['run', '-d', '--name', c, '--memory', '96m', ...NONE, IMAGE, 'sh', '-c', 'echo started; echo err >&2; i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done']).trim();
      assert.match(id, /^[0-9a-f]{64}$/);
      assert.match(ok(['ps', '--format', '{{.Names}} {{.Status}}']), new RegExp(`^${c} Up`, 'm'));
      const st = inspect(c);
      assert.equal(st.State.Running, true);
      assert.ok(st.State.Pid > 0);
      assert.ok(existsSync(`/proc/${st.State.Pid}`));
      await waitFor('logs', () => /tick2/.test(d.docker(['logs', c]).stdout));
      const logs = d.docker(['logs', c]);
      assert.match(logs.stdout, /^started$/m);
      assert.match(logs.stderr, /^err$/m);
      assert.doesNotMatch(logs.stdout, /^err$/m);
      assert.match(ok(['logs', '--tail', '1', c]), /^tick\d+\n$/);
      assert.match(ok(['logs', '-t', c]), /^\d{4}-\d\d-\d\dT\S+ started$/m);
      // logs -f keeps streaming new lines.
      const f = d.spawnDocker(['logs', '-f', '--tail', '0', c]);
      let followed = '';
      f.stdout!.on('data', (x: Buffer) => { followed += x.toString(); });
      await waitFor('logs -f output', () => /tick\d+\ntick\d+\n/.test(followed));
      f.kill('SIGTERM');
      // exec: output, exit code, stdin.
      assert.equal(ok(['exec', c, 'echo', 'from-exec']), 'from-exec\n');
      const ex = d.docker(['exec', c, 'sh', '-c', 'exit 5']);
      assert.equal(ex.status, 5);
      assert.equal(ok(['exec', '-i', c, 'cat'], { input: 'through stdin\n' }), 'through stdin\n');
      // A command that is not there exits 127, one that cannot be run 126; the runtime's words on stdout, as dockerd writes them.
      const exMissing = d.docker(['exec', c, '/no/such/thing']);
      assert.equal(exMissing.status, 127, exMissing.stderr);
      assert.equal(exMissing.stdout, 'OCI runtime exec failed: exec failed: unable to start container process: exec: "/no/such/thing": stat /no/such/thing: no such file or directory: unknown\r\n');
      assert.equal(d.docker(['exec', c, 'no-such-command']).status, 127);
      const exNotExec = d.docker(['exec', c, '/etc/passwd']);
      assert.equal(exNotExec.status, 126, exNotExec.stderr);
      assert.equal(exNotExec.stdout, 'OCI runtime exec failed: exec failed: unable to start container process: exec: "/etc/passwd": permission denied: unknown\r\n');
      assert.equal(d.docker(['exec', c, '/tmp']).status, 126);
      ok(['exec', '-d', c, 'sh', '-c', 'echo detached > /tmp/d']);
      await waitFor('detached exec', () => d.docker(['exec', c, 'cat', '/tmp/d']).stdout === 'detached\n');
      // top and stats.
      assert.match(ok(['top', c]), /sleep|sh/);
      // What the container's cgroup charges (a shell and its sleeps: not nothing), out of its --memory.
      const stats = ok(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', c]);
      const mem = new RegExp(`^${c} (\\d+(?:\\.\\d+)?)(B|KiB|MiB) / 96MiB\\n$`).exec(stats);
      assert.ok(mem, stats);
      assert.ok(Number(mem[1]) > 0, stats);
    });

    test('stop -t 1, start, restart, kill, wait, pause/unpause, rename, rm -f', () => {
      const c = name('e2e-life');
      ok(['run', '-d', '--name', c, ...NONE, IMAGE, 'sleep', '1000']);
      const t0 = Date.now();
      ok(['stop', '-t', '1', c]);
      assert.ok(Date.now() - t0 < 8000, 'stop -t 1 took too long');
      let s = inspect(c);
      assert.equal(s.State.Running, false);
      assert.equal(s.State.ExitCode, 137);
      ok(['start', c]);
      assert.equal(inspect(c).State.Running, true);
      const pid1 = inspect(c).State.Pid;
      ok(['restart', '-t', '1', c]);
      s = inspect(c);
      assert.equal(s.State.Running, true);
      assert.notEqual(s.State.Pid, pid1);
      ok(['pause', c]);
      assert.equal(inspect(c).State.Status, 'paused');
      assert.match(ok(['ps', '--filter', `name=${c}`, '--format', '{{.Status}}']), /Paused/);
      ok(['unpause', c]);
      assert.equal(inspect(c).State.Status, 'running');
      ok(['rename', c, `${c}-2`]);
      names.push(`${c}-2`);
      assert.equal(inspect(`${c}-2`).Name, `/${c}-2`);
      ok(['kill', `${c}-2`]);
      assert.equal(ok(['wait', `${c}-2`]).trim(), '137');
      const notRunning = d.docker(['kill', `${c}-2`]);
      assert.notEqual(notRunning.status, 0);
      assert.match(notRunning.stderr, /is not running/);
      ok(['start', `${c}-2`]);
      ok(['rm', '-f', `${c}-2`]);
      const gone = d.docker(['inspect', `${c}-2`]);
      assert.notEqual(gone.status, 0);
      assert.match(gone.stderr, /No such (container|object)/);
    });

    test('attach sees the output and the exit', async () => {
      const c = name('e2e-attach');
      ok(['run', '-d', '--name', c, ...NONE, IMAGE, 'sh', '-c', 'sleep 1; i=0; while [ $i -lt 5 ]; do echo att$i; i=$((i+1)); sleep 0.2; done; exit 4']);
      const r = await d.dockerAsync(['attach', '--no-stdin', c], { timeout: 20000 });
      assert.match(r.stdout, /att4/);
      assert.equal(r.status, 4);
    });

    test('run options: -e, --env-file, -w, -u, --entrypoint, --hostname', () => {
      const envFile = join(tmp, 'env');
      writeFileSync(envFile, 'B=two\n# comment\n');
      const out = ok(['run', '--rm', ...NONE, '-e', 'A=one', '--env-file', envFile, '-w', '/tmp', '-u', '65534:65534', '--hostname', 'hh',
        '--entrypoint', 'sh', IMAGE, '-c', 'echo $A $B $(pwd) $(id -u):$(id -g) $(hostname)']);
      assert.equal(out, 'one two /tmp 65534:65534 hh\n');
    });

    test('--read-only, --cap-drop ALL, --memory in the cgroup, --pids-limit', () => {
      const ro = d.docker(['run', '--rm', ...NONE, '--read-only', IMAGE, 'touch', '/x']);
      assert.notEqual(ro.status, 0);
      assert.match(ro.stderr, /Read-only file system/);
      assert.match(ok(['run', '--rm', ...NONE, '--cap-drop', 'ALL', IMAGE, 'grep', 'CapEff', '/proc/self/status']), /CapEff:\s+0000000000000000/);
      const mem = ok(['run', '--rm', ...NONE, '--memory', '32m', IMAGE, 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max']);
      assert.equal(mem.trim(), String(32 * 1024 * 1024));
      const bomb = d.docker(['run', '--rm', ...NONE, '--pids-limit', '10', IMAGE, 'sh', '-c', 'for i in $(seq 50); do sleep 5 & done 2>&1; echo done'], { timeout: 60000 });
      assert.match(bomb.stdout + bomb.stderr, /fork|Resource temporarily unavailable/i);
    });

    test('--cpus, --cpu-shares, --cpuset-cpus, --pids-limit: the values in the container\'s cgroup, read from inside', () => {
      // cgroup v1 (hybrid): one file per controller; v2: cpu.max, cpu.weight (shares 512 -> weight 20), cpuset.cpus, pids.max.
      const script = [
        'if [ -d /sys/fs/cgroup/cpu ]; then',
        '  cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpuset/cpuset.cpus /sys/fs/cgroup/pids/pids.max',
        'else',
        '  cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu.weight /sys/fs/cgroup/cpuset.cpus /sys/fs/cgroup/pids.max',
        'fi',
      ].join('\n');
      const out = ok(['run', '--rm', ...NONE, '--cpus', '1.5', '--cpu-shares', '512', '--cpuset-cpus', '0', '--pids-limit', '42', IMAGE, 'sh', '-c', script]);
      const v1 = ['150000', '100000', '512', '0', '42'].join('\n');
      const v2 = ['150000 100000', '20', '0', '42'].join('\n');
      assert.ok(out === `${v1}\n` || out === `${v2}\n`, out);
      // inspect shows what was asked (NanoCpus for --cpus).
      const c = name('e2e-cpus');
      ok(['create', '--name', c, ...NONE, '--cpus', '1.5', '--cpu-shares', '512', '--cpuset-cpus', '0', '--pids-limit', '42', IMAGE, 'true']);
      assert.equal(ok(['inspect', '--format', '{{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.CpusetCpus}} {{.HostConfig.PidsLimit}}', c]), '1500000000 512 0 42\n');
      ok(['rm', c]);
    });

    test('OOMKilled with --memory 16m and a memory hog', () => {
      const c = name('e2e-oom');
      const r = d.docker(['run', '--name', c, ...NONE, '--memory', '16m', IMAGE, 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'], { timeout: 60000 });
      assert.equal(r.status, 137, r.stderr);
      const s = inspect(c);
      assert.equal(s.State.OOMKilled, true);
      assert.equal(s.State.ExitCode, 137);
      ok(['rm', c]);
    });

    test('-t gives the process a terminal (docker CLI under script)', { skip: haveCommand('script') ? undefined : 'missing script (util-linux)' }, () => {
      const r = spawnSync('script', ['-qec', `${DOCKER} run --rm -t ${NONE.join(' ')} ${IMAGE} sh -c 'test -t 1 && echo is-a-tty'`, '/dev/null'], { encoding: 'utf8', env: d.env, timeout: 30000 });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /is-a-tty/);
    });

    test('cp both ways, and paths cannot leave the container', () => {
      const c = name('e2e-cp');
      ok(['run', '-d', '--name', c, ...NONE, IMAGE, 'sh', '-c', 'echo inside > /marker; ln -s / /tmp/root; sleep 1000']);
      const src = join(tmp, 'to-container.txt');
      writeFileSync(src, 'hello container\n');
      ok(['cp', src, `${c}:/tmp/`]);
      assert.equal(ok(['exec', c, 'cat', '/tmp/to-container.txt']), 'hello container\n');
      const back = join(tmp, 'back');
      ok(['cp', `${c}:/tmp/to-container.txt`, back]);
      assert.equal(readFileSync(back, 'utf8'), 'hello container\n');
      // `..` past the root stays at the container's root.
      const up = join(tmp, 'up');
      ok(['cp', `${c}:/../../../../marker`, up]);
      assert.equal(readFileSync(up, 'utf8'), 'inside\n');
      // A symlink to / inside the container resolves inside the container.
      const pw = join(tmp, 'passwd');
      ok(['cp', `${c}:/tmp/root/etc/passwd`, pw]);
      assert.equal(readFileSync(pw, 'utf8'), ok(['exec', c, 'cat', '/etc/passwd']));
      assert.doesNotMatch(readFileSync(pw, 'utf8'), /^daemon:/m);
      const marker = `berth-e2e-escape-${process.pid}`;
      ok(['cp', src, `${c}:/tmp/root/../../tmp/${marker}`]);
      assert.equal(existsSync(join('/tmp', marker)), false, 'cp wrote outside the container');
      const missing = d.docker(['cp', `${c}:/no/such/file`, join(tmp, 'x')]);
      assert.notEqual(missing.status, 0);
      assert.match(missing.stderr, /Could not find the file|No such/);
      // export
      const exp = join(tmp, 'export.tar');
      ok(['export', '-o', exp, c]);
      assert.match(spawnSync('tar', ['-tf', exp], { encoding: 'utf8' }).stdout, /^bin\/busybox$/m);
      ok(['rm', '-f', c]);
    });

    test('cp freezes a running container while it copies (no path swapped under it), without a pause anyone sees; a paused one stays paused', async () => {
      const c = name('e2e-cp-freeze');
      ok(['run', '-d', '--name', c, ...NONE, IMAGE, 'sh', '-c', 'dd if=/dev/zero of=/big bs=1M count=64 2>/dev/null; sleep 1000']);
      await waitFor('the 64 MiB file', () => d.docker(['exec', c, 'sh', '-c', '[ $(stat -c %s /big) = 67108864 ]']).status === 0);
      const pid = inspect(c).State.Pid;
      const freezer = /^\d+:freezer:(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1];
      const state = () => (freezer !== undefined
        ? readFileSync(`/sys/fs/cgroup/freezer${freezer}/freezer.state`, 'utf8').trim()
        : (readFileSync(`/sys/fs/cgroup${/^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))![1]}/cgroup.freeze`, 'utf8').trim() === '1' ? 'FROZEN' : 'THAWED'));
      assert.equal(state(), 'THAWED');
      const since = Math.floor(Date.now() / 1000);
      // Nobody reads the tar yet: berthd's copy stalls mid-file with the stream open.
      const cp = d.spawnDocker(['cp', `${c}:/big`, '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
      await waitFor('the container frozen during the copy', () => state() === 'FROZEN');
      assert.equal(inspect(c).State.Status, 'running', 'not a pause the user sees');
      let bytes = 0;
      cp.stdout!.on('data', (b: Buffer) => { bytes += b.length; });
      const code = await new Promise<number | null>((r) => cp.on('close', r));
      assert.equal(code, 0);
      assert.ok(bytes > 64 * 1024 * 1024, `the whole file came out (${bytes} bytes)`);
      // Thawed before the tar ended, not after: a user's next command finds it running.
      assert.equal(state(), 'THAWED', 'thawed by the time the copy ended');
      const events = ok(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', `container=${c}`, '--format', '{{.Action}}']);
      assert.doesNotMatch(events, /pause/, 'no pause or unpause event');
      // A copy out of a container the user paused leaves it paused.
      ok(['pause', c]);
      ok(['cp', `${c}:/etc/hostname`, join(tmp, 'frozen-hostname')]);
      assert.equal(state(), 'FROZEN');
      assert.equal(inspect(c).State.Status, 'paused');
      ok(['unpause', c]);
      ok(['rm', '-f', c]);
    });

    test('cp of a tar holding whiteout names writes them as files and deletes nothing', () => {
      const c = name('e2e-cp-wh');
      ok(['run', '-d', '--name', c, ...NONE, IMAGE, 'sleep', '1000']);
      ok(['exec', c, 'sh', '-c', 'mkdir /d && echo keep > /d/x && echo also > /d/y']);
      const src = join(tmp, 'wh-src');
      mkdirSync(src, { recursive: true });
      writeFileSync(join(src, '.wh.x'), 'a plain file\n');
      writeFileSync(join(src, '.wh..wh..opq'), '');
      const tarIn = spawnSync('tar', ['-C', src, '-c', '.wh.x', '.wh..wh..opq']).stdout;
      const r = d.docker(['cp', '-', `${c}:/d`], { input: tarIn });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(ok(['exec', c, 'cat', '/d/x', '/d/y', '/d/.wh.x']), 'keep\nalso\na plain file\n');
      assert.equal(ok(['exec', c, 'ls', '-A', '/d']), '.wh..wh..opq\n.wh.x\nx\ny\n');
      ok(['rm', '-f', c]);
    });

    test('cp refuses to swap a directory for a file and back (dockerd\'s text); -a gives the container user\'s owner, no -a the tar\'s', () => {
      const c = name('e2e-cp-own');
      ok(['run', '-d', '--name', c, '--user', 'nobody', ...NONE, IMAGE, 'sleep', '1000']);
      ok(['exec', c, 'sh', '-c', 'mkdir -p /tmp/d/x && echo f > /tmp/d/f']);
      const src = join(tmp, 'own-src');
      mkdirSync(join(src, 'f'), { recursive: true });
      writeFileSync(join(src, 'x'), 'a file\n');
      const fileOverDir = d.docker(['cp', join(src, 'x'), `${c}:/tmp/d`]);
      assert.equal(fileOverDir.status, 1);
      assert.equal(fileOverDir.stderr, 'Error response from daemon: cannot overwrite directory "/tmp/d/x" with non-directory "/tmp/d"\n');
      const dirOverFile = d.docker(['cp', join(src, 'f'), `${c}:/tmp/d`]);
      assert.equal(dirOverFile.status, 1);
      assert.equal(dirOverFile.stderr, 'Error response from daemon: cannot overwrite non-directory "/tmp/d/f" with directory "/tmp/d"\n');
      assert.equal(ok(['exec', c, 'sh', '-c', 'test -d /tmp/d/x && cat /tmp/d/f']), 'f\n');

      const owned = join(src, 'owned');
      writeFileSync(owned, 'owned\n');
      chownSync(owned, 4321, 8765);
      ok(['cp', owned, `${c}:/tmp/plain`]);
      ok(['cp', '-a', owned, `${c}:/tmp/archive`]);
      assert.equal(ok(['exec', c, 'stat', '-c', '%u:%g', '/tmp/plain', '/tmp/archive']), '4321:8765\n65534:65534\n');
      ok(['rm', '-f', c]);
    });

    test('--read-only refuses cp into the rootfs but not into a writable volume; a :ro volume refuses it', () => {
      const c = name('e2e-cp-ro');
      ok(['run', '-d', '--name', c, '--read-only', '-v', 'e2e-cp-rw:/rw', '-v', 'e2e-cp-ro:/ro:ro', ...NONE, IMAGE, 'sleep', '1000']);
      const src = join(tmp, 'ro-src');
      writeFileSync(src, 'into a volume\n');
      const root = d.docker(['cp', src, `${c}:/tmp/`]);
      assert.equal(root.status, 1);
      assert.equal(root.stderr, 'Error response from daemon: container rootfs is marked read-only\n');
      const ro = d.docker(['cp', src, `${c}:/ro/`]);
      assert.equal(ro.status, 1);
      assert.equal(ro.stderr, 'Error response from daemon: mounted volume is marked read-only\n');
      ok(['cp', src, `${c}:/rw/`]);
      assert.equal(ok(['exec', c, 'cat', '/rw/ro-src']), 'into a volume\n');
      ok(['rm', '-f', c]);
      ok(['volume', 'rm', 'e2e-cp-rw', 'e2e-cp-ro']);
    });

    test('cp into / of a running container: entries under a volume land in the volume', () => {
      const c = name('e2e-cp-root');
      ok(['run', '-d', '--name', c, '-v', 'e2e-cp-rootvol:/data', ...NONE, IMAGE, 'sleep', '1000']);
      const data = join(tmp, 'root-cp', 'data');
      mkdirSync(data, { recursive: true });
      writeFileSync(join(data, 'f'), 'through the mount\n');
      ok(['cp', data, `${c}:/`]);
      ok(['rm', '-f', c]);
      assert.equal(ok(['run', '--rm', '-v', 'e2e-cp-rootvol:/v', ...NONE, IMAGE, 'cat', '/v/f']), 'through the mount\n');
      ok(['volume', 'rm', 'e2e-cp-rootvol']);
    });

    test('cp into and out of a container that is not running goes through its volumes and binds; links in them stay inside', () => {
      const c = name('e2e-cp-created');
      const bind = join(tmp, 'cp-bind');
      mkdirSync(bind, { recursive: true });
      writeFileSync(join(bind, 'on-host'), 'bound\n');
      ok(['create', '--name', c, '-v', 'e2e-cp-vol:/data', '-v', `${bind}:/b`, ...NONE, IMAGE, 'sh', '-c', 'cat /data/f /data/g; echo x > /data/sub/o; ln -s /../../../../etc /data/esc']);
      const src = join(tmp, 'cp-vol-src');
      writeFileSync(src, 'copied before the start\n');
      ok(['cp', src, `${c}:/data/f`]);
      ok(['cp', src, `${c}:/b/from-cp`]);
      assert.equal(readFileSync(join(bind, 'from-cp'), 'utf8'), 'copied before the start\n');
      ok(['cp', `${c}:/b/on-host`, join(tmp, 'bound-out')]);
      assert.equal(readFileSync(join(tmp, 'bound-out'), 'utf8'), 'bound\n');
      const sub = join(tmp, 'sub');
      mkdirSync(sub, { recursive: true });
      writeFileSync(join(sub, 'cp-vol-src'), 'in a dir\n');
      ok(['cp', sub, `${c}:/data/`]);
      // Into /, a tree whose top is the mount point: its entries go into the volume too.
      const top = join(tmp, 'cp-top', 'data');
      mkdirSync(top, { recursive: true });
      writeFileSync(join(top, 'g'), 'through /\n');
      ok(['cp', top, `${c}:/`]);
      assert.equal(ok(['start', '-a', c]), 'copied before the start\nthrough /\n');

      // Exited: out of the volume, the directory whole (a tar on stdout) and a file through a link.
      ok(['cp', `${c}:/data/sub/o`, join(tmp, 'vol-out')]);
      assert.equal(readFileSync(join(tmp, 'vol-out'), 'utf8'), 'x\n');
      const list = spawnSync('tar', ['-t'], { input: d.docker(['cp', `${c}:/data`, '-']).stdout, encoding: 'utf8' }).stdout;
      assert.deepEqual(list.split('\n').filter(Boolean).sort(), ['data/', 'data/esc', 'data/f', 'data/g', 'data/sub/', 'data/sub/cp-vol-src', 'data/sub/o']);
      ok(['cp', `${c}:/data/esc/passwd`, join(tmp, 'vol-passwd')]);
      ok(['cp', `${c}:/etc/passwd`, join(tmp, 'ctr-passwd')]);
      assert.equal(readFileSync(join(tmp, 'vol-passwd'), 'utf8'), readFileSync(join(tmp, 'ctr-passwd'), 'utf8'));
      assert.notEqual(readFileSync(join(tmp, 'vol-passwd'), 'utf8'), readFileSync('/etc/passwd', 'utf8'));
      const marker = `berth-e2e-vol-escape-${process.pid}`;
      ok(['cp', src, `${c}:/data/esc/${marker}`]);
      assert.equal(existsSync(join('/etc', marker)), false, 'cp wrote to the host /etc');
      assert.equal(d.docker(['cp', `${c}:/etc/${marker}`, '-']).status, 0, 'the copy is in the container\'s /etc');
      ok(['rm', c]);
      ok(['volume', 'rm', 'e2e-cp-vol']);
    });

    test('ps and container prune refuse unknown filters and bad values in dockerd\'s words; a misspelt prune filter prunes nothing', () => {
      const c = name('e2e-prune-keep');
      ok(['create', '--name', c, '--label', 'keep=1', '--expose', '7777', ...NONE, IMAGE, 'true']);
      const refused = (args: string[], text: string) => {
        const r = d.docker(args);
        assert.equal(r.status, 1, r.stderr);
        assert.equal(r.stderr, `Error response from daemon: ${text}\n`);
      };
      refused(['container', 'prune', '-f', '--filter', 'lable=keep'], "invalid filter 'lable'");
      refused(['ps', '-a', '--filter', 'lable=keep'], "invalid filter 'lable'");
      refused(['ps', '--filter', 'status=up'], "invalid filter 'status=up': invalid value for state (up): must be one of created, running, paused, restarting, removing, exited, dead");
      refused(['ps', '--filter', 'health=ok'], "invalid filter 'health=ok': invalid value for health (ok): must be one of none, starting, healthy, unhealthy");
      refused(['ps', '--filter', 'exited=one'], "invalid filter 'exited=one': strconv.Atoi: parsing \"one\": invalid syntax");
      refused(['ps', '--filter', 'publish=80:80'], "filter for 'publish' should not contain ':': 80:80");
      assert.equal(ok(['ps', '-a', '--filter', 'name=e2e-prune-keep', '--format', '{{.Names}}']), `${c}\n`);
      assert.equal(ok(['ps', '-a', '--filter', 'expose=7777', '--format', '{{.Names}}']), `${c}\n`);
      assert.equal(ok(['ps', '-a', '--filter', 'expose=7778', '--filter', 'name=e2e-prune-keep', '--format', '{{.Names}}']), '');
      assert.equal(ok(['ps', '-a', '--filter', 'is-task=true', '--format', '{{.Names}}']), '');
      assert.equal(ok(['ps', '-a', '--filter', 'is-task=false', '--filter', 'name=e2e-prune-keep', '--format', '{{.Names}}']), `${c}\n`);
      ok(['rm', c]);
    });

    test('container events with --since/--until', async () => {
      const since = Math.floor(Date.now() / 1000) - 1;
      const c = name('e2e-events');
      ok(['run', '--name', c, ...NONE, IMAGE, 'true']);
      ok(['rm', c]);
      await sleep(1100);
      const until = Math.floor(Date.now() / 1000) + 1;
      const out = ok(['events', '--since', String(since), '--until', String(until), '--filter', `container=${c}`, '--format', '{{.Action}}'], { timeout: 20000 });
      const actions = out.split('\n').filter(Boolean);
      for (const a of ['create', 'start', 'die', 'destroy']) assert.ok(actions.includes(a), `missing ${a} in ${actions.join(',')}`);
    });

    test('SIGTERM stops berthd gracefully; containers keep running and the next berthd adopts them', async () => {
      const d1 = await startBerthd({ prefix: 'berthd-e2e-lr-' });
      let d2: Berthd | undefined;
      try {
        d1.docker(['load', '-i', imageTar]);
        const id = d1.docker(['run', '-d', '--name', 'lr', ...NONE, IMAGE, 'sh', '-c', 'echo before; sleep 1000']).stdout.trim();
        const pid = (JSON.parse(d1.docker(['inspect', 'lr']).stdout) as Array<{ State: { Pid: number } }>)[0]!.State.Pid;
        assert.ok(pid > 0);
        await d1.stop({ keepContainers: true });
        assert.equal(existsSync(d1.pidfile), false, 'pidfile removed on stop');
        assert.equal(existsSync(d1.socket), false, 'socket removed on stop');
        assert.ok(existsSync(`/proc/${pid}`), 'the container survived the daemon');
        d2 = await startBerthd({ reuse: { dir: d1.dir, execRoot: d1.execRoot } });
        const st = (JSON.parse(d2.docker(['inspect', id]).stdout) as Array<{ State: { Running: boolean; Pid: number } }>)[0]!.State;
        assert.equal(st.Running, true);
        assert.equal(st.Pid, pid);
        assert.match(d2.docker(['logs', 'lr']).stdout, /before/);
        assert.equal(d2.docker(['exec', 'lr', 'echo', 'adopted']).stdout, 'adopted\n');
      } finally {
        if (d2) await d2.stop();
        else await d1.stop();
      }
    });

    test("an image's HEALTHCHECK (import --change) runs with no --health-* flag; --health-* override it field by field; --no-healthcheck disables it", async () => {
      const tar = join(tmp, 'hc.tar');
      ok(['create', '--name', name('hc-src'), ...NONE, IMAGE]);
      ok(['export', '-o', tar, 'hc-src']);
      ok(['import', '-c', 'HEALTHCHECK --interval=100ms --retries=1 CMD test -e /tmp/ready', '-c', 'CMD ["sh", "-c", "touch /tmp/ready; sleep 1000"]', tar, 'hcimg:1']);
      assert.equal(ok(['image', 'inspect', '-f', '{{json .Config.Healthcheck}}', 'hcimg:1']).trim(), '{"Test":["CMD-SHELL","test -e /tmp/ready"],"Interval":100000000,"Retries":1}');
      const health = (c: string) => ok(['inspect', '-f', '{{json .State.Health}}', c]).trim();
      const status = (c: string) => ok(['inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{end}}', c]).trim();

      ok(['run', '-d', '--name', name('hc-img'), ...NONE, 'hcimg:1']);
      await waitFor('healthy', () => status('hc-img') === 'healthy');
      assert.match(ok(['ps', '--filter', 'name=hc-img', '--format', '{{.Status}}']), /^Up .* \(healthy\)$/m);
      // The flag's command and the image's interval: probes keep coming every 100 ms and fail (no /tmp/nope).
      ok(['run', '-d', '--name', name('hc-merge'), ...NONE, '--health-cmd', 'test -e /tmp/nope', 'hcimg:1']);
      assert.equal(ok(['inspect', '-f', '{{json .Config.Healthcheck}}', 'hc-merge']).trim(), '{"Test":["CMD-SHELL","test -e /tmp/nope"],"Interval":100000000,"Retries":1}');
      await waitFor('unhealthy', () => status('hc-merge') === 'unhealthy');

      ok(['run', '-d', '--name', name('hc-off'), ...NONE, '--no-healthcheck', 'hcimg:1']);
      // dockerd merges the image's other fields under NONE too; the Test is what disables it.
      assert.equal(ok(['inspect', '-f', '{{json .Config.Healthcheck.Test}}', 'hc-off']).trim(), '["NONE"]');
      await sleep(500);
      assert.equal(health('hc-off'), 'null');
      assert.match(ok(['ps', '--filter', 'name=hc-off', '--format', '{{.Status}}']), /^Up [^(]*$/m);
      ok(['rm', '-f', 'hc-img', 'hc-merge', 'hc-off', 'hc-src']);
      ok(['rmi', 'hcimg:1']);
    });

    test('berthd killed -9: the container keeps running and logging; the next berthd lists it, logs every line, follows, execs and stops it', async () => {
      const d1 = await startBerthd({ prefix: 'berthd-e2e-kill-' });
      let d2: Berthd | undefined;
      try {
        d1.docker(['load', '-i', imageTar]);
        // One numbered line every 100 ms; TERM ends it with 7 (sh as PID 1 would otherwise ignore it).
        const loop = "trap 'echo bye; exit 7' TERM; i=0; while true; do i=$((i+1)); echo line $i; sleep 0.1; done";
        const id = d1.docker(['run', '-d', '--name', 'k9', ...NONE, IMAGE, 'sh', '-c', loop]).stdout.trim();
        const pid = (JSON.parse(d1.docker(['inspect', 'k9']).stdout) as Array<{ State: { Pid: number } }>)[0]!.State.Pid;
        const numbers = (out: string) => out.split('\n').filter((l) => l.startsWith('line ')).map((l) => Number(l.slice(5)));
        await waitFor('5 lines', () => numbers(d1.docker(['logs', 'k9']).stdout).length >= 5);
        process.kill(d1.pid, 'SIGKILL');
        assert.equal((await d1.exited).signal, 'SIGKILL');
        const down = Date.now();
        await sleep(1500);
        assert.ok(existsSync(`/proc/${pid}`), 'the container outlived the daemon');
        const up = Date.now();
        d2 = await startBerthd({ reuse: { dir: d1.dir, execRoot: d1.execRoot } });
        const dk = d2.docker.bind(d2);
        assert.match(dk(['ps', '--format', '{{.ID}} {{.Names}} {{.Status}}']).stdout, new RegExp(`^${id.slice(0, 12)} k9 Up `, 'm'));
        const st = (JSON.parse(dk(['inspect', 'k9']).stdout) as Array<{ State: { Running: boolean; Pid: number } }>)[0]!.State;
        assert.deepEqual([st.Running, st.Pid], [true, pid]);
        // Every line, the ones written while no daemon ran included: 1..n with no gap.
        const seen = numbers(dk(['logs', 'k9']).stdout);
        assert.deepEqual(seen, Array.from({ length: seen.length }, (_, i) => i + 1));
        // ... and among them lines stamped while no daemon ran (between d1's death and d2's start), whatever the line
        // rate of a slow machine was.
        const stamps = dk(['logs', '-t', 'k9']).stdout.split('\n').filter((l) => / line \d+$/.test(l)).map((l) => Date.parse(l.slice(0, l.indexOf(' '))));
        const whileDown = stamps.filter((t) => t > down && t < up).length;
        assert.ok(whileDown >= 1, `no line of the ${seen.length} is stamped between the daemon's death and the next one's start`);
        // -f prints what is there and follows new lines.
        const f = d2.spawnDocker(['logs', '-f', 'k9']);
        let followed = '';
        f.stdout!.on('data', (b: Buffer) => { followed += b.toString(); });
        try {
          await waitFor('followed lines', () => (numbers(followed).at(-1) ?? 0) >= seen.length + 5);
        } finally {
          f.kill();
        }
        const all = numbers(followed);
        assert.deepEqual(all, Array.from({ length: all.length }, (_, i) => i + 1));
        assert.equal(dk(['exec', 'k9', 'echo', 'adopted']).stdout, 'adopted\n');
        const stop = dk(['stop', 'k9']);
        assert.equal(stop.status, 0, stop.stderr);
        assert.equal(dk(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'k9']).stdout.trim(), 'exited 7');
        assert.match(dk(['logs', '--tail', '1', 'k9']).stdout, /^bye$/m);
        assert.ok(!existsSync(`/proc/${pid}`));
      } finally {
        if (d2) await d2.stop();
        else await d1.stop();
      }
    });

    test('--init with no init path configured: tini is PID 1 (at /sbin/docker-init), runs the command, forwards docker stop\'s SIGTERM', { skip: existsSync(TINI) ? undefined : `missing ${TINI} (Debian's tini)` }, () => {
      assert.equal(ok(['run', '--rm', '--init', ...NONE, IMAGE, 'cat', '/proc/1/cmdline']), '/sbin/docker-init\0--\0cat\0/proc/1/cmdline\0');
      const [comm, shPid] = ok(['run', '--rm', '--init', ...NONE, IMAGE, 'sh', '-c', 'cat /proc/1/comm; echo $$']).trim().split('\n');
      assert.equal(comm, 'docker-init');
      assert.notEqual(shPid, '1', 'the command is tini\'s child');
      assert.equal(ok(['run', '--rm', ...NONE, IMAGE, 'cat', '/proc/1/cmdline']), 'cat\0/proc/1/cmdline\0', 'no init without --init');
      // sleep as PID 1 would ignore SIGTERM and wait out the timeout; under tini it gets it and dies.
      const c = name('e2e-init');
      ok(['run', '-d', '--name', c, '--init', ...NONE, IMAGE, 'sleep', '1000']);
      const t0 = Date.now();
      ok(['stop', '-t', '20', c]);
      assert.ok(Date.now() - t0 < 10_000, `stop took ${Date.now() - t0} ms`);
      assert.equal(ok(['inspect', '-f', '{{.State.ExitCode}}', c]).trim(), '143');
      ok(['rm', c]);
    });

    test('stats with stream=false: two samples (precpu filled, cpu grown for a busy container); one-shot: one', async () => {
      const c = name('e2e-busy');
      ok(['run', '-d', '--name', c, ...NONE, IMAGE, 'sh', '-c', 'while :; do :; done']);
      try {
        type Cpu = { cpu_usage: { total_usage: number }; system_cpu_usage?: number; online_cpus?: number };
        const stats = async (q: string) => {
          const r = await getJson(`/v1.50/containers/${c}/stats?${q}`);
          assert.equal(r.status, 200);
          return r.body as { read: string; preread: string; cpu_stats: Cpu; precpu_stats: Cpu };
        };
        const two = await stats('stream=false');
        assert.ok(two.precpu_stats.cpu_usage.total_usage > 0, JSON.stringify(two.precpu_stats));
        assert.ok((two.precpu_stats.system_cpu_usage ?? 0) > 0);
        assert.ok(two.cpu_stats.cpu_usage.total_usage > two.precpu_stats.cpu_usage.total_usage, 'a busy loop used cpu between the samples');
        assert.ok(Date.parse(two.read) > Date.parse(two.preread));
        const one = await stats('stream=false&one-shot=true');
        assert.equal(one.precpu_stats.cpu_usage.total_usage, 0);
        assert.ok(one.cpu_stats.cpu_usage.total_usage > 0);
        // docker stats --no-stream computes CPU % from the two samples.
        const pct = Number(ok(['stats', '--no-stream', '--format', '{{.CPUPerc}}', c]).trim().replace('%', ''));
        assert.ok(pct > 0, `CPU % ${pct}`);
      } finally {
        ok(['rm', '-f', c]);
      }
    });

    test('docker stats --no-stream: BLOCK I/O shows the 20MB a container wrote with O_DIRECT to its rootfs', async (t) => {
      const disk = diskOf(d.dataRoot);
      if (!disk) return t.skip(`no block device under ${d.dataRoot}`);
      const c = name('e2e-blkio');
      ok(['run', '-d', '--name', c, ...NONE, ...countingLimit(disk), IMAGE, 'sh', '-c', 'dd if=/dev/zero of=/x bs=1M count=20 oflag=direct && echo written; exec sleep 300']);
      try {
        await waitFor('the write', () => ok(['logs', c]).includes('written'), 30000);
        const io = ok(['stats', '--no-stream', '--format', '{{.BlockIO}}', c]).trim();
        const m = /^(\S+) \/ (\d+(?:\.\d+)?)MB$/.exec(io);
        assert.ok(m && Number(m[2]) >= 20.9, `BLOCK I/O ${io}`);
        // Inspect's limit is what made the kernel count: on the disk under the data root.
        assert.equal(ok(['inspect', '-f', '{{range .HostConfig.BlkioDeviceWriteBps}}{{.Path}} {{.Rate}}{{end}}', c]).trim(), `${disk.node} ${10 * 1024 ** 3}`);
      } finally {
        ok(['rm', '-f', c]);
      }
    });

    test('system df counts containers', () => {
      const c = name('e2e-df');
      ok(['create', '--name', c, ...NONE, IMAGE, 'true']);
      assert.match(ok(['system', 'df']), /^Containers\s+[1-9]/m);
      ok(['rm', c]);
    });

    test('bad input: malformed JSON, a name conflict, a missing image, a cut-off body', async () => {
      const before = allContainers();
      const bad = '{"Image": "busybox", bad';
      const ans = await raw(`POST /v1.50/containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bad.length}\r\nConnection: close\r\n\r\n${bad}`);
      assert.match(ans, /^HTTP\/1\.1 400/);
      assert.match(ans, /"message":"invalid JSON: invalid character 'b' /);
      assertNothingLeft(before, 'malformed JSON');
      const c = name('e2e-conflict');
      ok(['create', '--name', c, ...NONE, IMAGE, 'true']);
      const dup = d.docker(['run', '--name', c, ...NONE, IMAGE, 'true']);
      assert.equal(dup.status, 125);
      assert.match(dup.stderr, new RegExp(`Conflict\\. The container name "/${c}" is already in use by container "[0-9a-f]{64}"\\. You have to remove \\(or rename\\) that container to be able to reuse that name\\.`));
      ok(['rm', c]);
      const nf = await raw('POST /v1.50/containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 22\r\nConnection: close\r\n\r\n{"Image":"nothere:9"}\n');
      assert.match(nf, /^HTTP\/1\.1 404/);
      assert.match(nf, /No such image: nothere:9/);
      assertNothingLeft(before, 'missing image');
      const cut = '{"Image":"busybox","Cmd":["true"]}';
      await raw(`POST /v1.50/containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${cut.length + 50}\r\n\r\n${cut}`, { end: true });
      daemonHealthy();
      assertNothingLeft(before, 'cut-off body');
      const noSuch = d.docker(['start', 'no-such-container-x']);
      assert.notEqual(noSuch.status, 0);
      assert.match(noSuch.stderr, /No such container: no-such-container-x/);
    });

    test('a wrong-typed field is a 400 in Go\'s words (docker 28, Go 1.24), and creates nothing', async () => {
      const before = allContainers();
      const cases: Array<[string, string]> = [
        ['{"Image":"busybox","Env":"A=b"}', 'CreateRequest.Config.Env of type []string'],
        ['{"Image":"busybox","Cmd":["true"],"HostConfig":{"Memory":"lots"}}', 'HostConfig.HostConfig.Resources.Memory of type int64'],
        ['{"Image":"busybox","Cmd":7}', 'CreateRequest.Config.Cmd of type string'],
        ['{"Image":"busybox","Tty":"yes"}', 'CreateRequest.Config.Tty of type bool'],
        ['{"Image":"busybox","HostConfig":{"RestartPolicy":{"Name":"always","MaximumRetryCount":"3"}}}', 'RestartPolicy.HostConfig.RestartPolicy.MaximumRetryCount of type int'],
        ['{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"none":{"Aliases":"x"}}}}', 'EndpointSettings.NetworkingConfig.EndpointsConfig.Aliases of type []string'],
      ];
      for (const [body, field] of cases) {
        const r = await postJson('/containers/create', body);
        assert.equal(r.status, 400, body);
        assert.equal(r.message, `invalid JSON: json: cannot unmarshal ${/"Cmd":7/.test(body) ? 'number' : 'string'} into Go struct field ${field}`, body);
      }
      assertNothingLeft(before, 'wrong-typed fields');
      // Null is no value, and unknown fields are ignored, as Go does.
      const r = await postJson('/containers/create?name=e2e-nulls', '{"Image":"busybox","Cmd":["true"],"Env":null,"HostConfig":{"Memory":null,"NetworkMode":"none"},"NoSuchField":{"x":[1]}}');
      assert.equal(r.status, 201, r.message);
      ok(['rm', name('e2e-nulls')]);
    });

    test('absurd memory values: Docker\'s texts, 400, nothing created (API and docker run)', async () => {
      const before = allContainers();
      const mem = (hc: string) => `{"Image":"busybox","Cmd":["true"],"HostConfig":{"NetworkMode":"none",${hc}}}`;
      const cases: Array<[string, string]> = [
        ['"Memory":1e30', 'invalid JSON: json: cannot unmarshal number 1e30 into Go struct field HostConfig.HostConfig.Resources.Memory of type int64'],
        ['"Memory":9223372036854775808', 'invalid JSON: json: cannot unmarshal number 9223372036854775808 into Go struct field HostConfig.HostConfig.Resources.Memory of type int64'],
        ['"Memory":-1', 'Minimum memory limit allowed is 6MB'],
        ['"Memory":-9223372036854775808', 'Minimum memory limit allowed is 6MB'],
        ['"Memory":6291455', 'Minimum memory limit allowed is 6MB'],
        ['"Memory":104857600,"MemorySwap":52428800', 'Minimum memoryswap limit should be larger than memory limit, see usage'],
        ['"MemorySwap":52428800', 'You should always set the Memory limit when using Memoryswap limit, see usage'],
        ['"MemoryReservation":1000', 'Minimum memory reservation allowed is 6MB'],
        ['"Memory":8388608,"MemoryReservation":16777216', 'Minimum memory limit can not be less than memory reservation limit, see usage'],
      ];
      for (const [hc, message] of cases) {
        const r = await postJson('/containers/create', mem(hc));
        assert.deepEqual(r, { status: 400, message }, hc);
      }
      // The CLI's own parse turns 9223372036854775807 into a float and back: int64's minimum reaches the daemon.
      for (const m of ['1k', '9223372036854775807']) {
        const r = d.docker(['run', '--rm', ...NONE, '-m', m, IMAGE, 'true']);
        assert.equal(r.status, 125, m);
        assert.match(r.stderr, /^docker: Error response from daemon: Minimum memory limit allowed is 6MB/m, m);
      }
      assertNothingLeft(before, 'absurd memory');
      // The largest int64 is a limit Go decodes and Docker takes (no limit in effect): the container runs.
      const max = await postJson('/containers/create?name=e2e-int64max', mem('"Memory":9223372036854775807'));
      assert.equal(max.status, 201, max.message);
      ok(['start', '-a', name('e2e-int64max')]);
      assert.equal(inspect('e2e-int64max').State.ExitCode, 0);
      assert.equal(ok(['inspect', '--format', '{{.HostConfig.Memory}}', 'e2e-int64max']).trim(), '9223372036854775807');
      ok(['rm', 'e2e-int64max']);
      assertNothingLeft(before, 'int64 max');
    });

    test('docker update applies create\'s resource checks, and a refused update changes nothing', async () => {
      const c = name('e2e-update');
      ok(['run', '-d', '--name', c, ...NONE, '-m', '64m', IMAGE, 'sleep', '300']);
      const limit = () => ok(['exec', c, 'sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max']).trim();
      assert.equal(limit(), String(64 << 20));
      const refused: Array<[string[], RegExp]> = [
        [['--memory', '1m'], /Minimum memory limit allowed is 6MB/],
        [['--memory', '100m', '--memory-swap', '50m'], /Minimum memoryswap limit should be larger than memory limit, see usage/],
        [['--memory-reservation', '1k'], /Minimum memory reservation allowed is 6MB/],
        [['--memory', '8m', '--memory-reservation', '16m'], /Minimum memory limit can not be less than memory reservation limit, see usage/],
        [['--cpu-period', '10'], /CPU cfs period can not be less than 1ms \(i\.e\. 1000\) or larger than 1s \(i\.e\. 1000000\)/],
        [['--blkio-weight', '5'], /Range of blkio weight is from 10 to 1000/],
      ];
      for (const [args, re] of refused) {
        const r = d.docker(['update', ...args, c]);
        assert.equal(r.status, 1, `update ${args.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /^Error response from daemon: /m);
        assert.match(r.stderr, re);
      }
      const wrong = await postJson(`/containers/${c}/update`, '{"Memory":"lots"}');
      assert.deepEqual(wrong, { status: 400, message: 'invalid JSON: json: cannot unmarshal string into Go struct field UpdateConfig.Resources.Memory of type int64' });
      assert.equal(inspect(c).HostConfig.Memory, 64 << 20);
      assert.equal(limit(), String(64 << 20));
      ok(['update', '--memory', '96m', '--memory-swap', '192m', c]);
      assert.equal(limit(), String(96 << 20));
      ok(['rm', '-f', c]);
    });

    after(() => {
      for (const n of names) d?.docker(['rm', '-f', n]);
    });
  });
});
