// SDK clients against a private berthd: dockerode (images, a container's life cycle, exec, commit) and testcontainers-node.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { berthdSkipReason, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { buildDockerSaveTar } from '../fixtures/image.js';
import { repoRoot } from '../fixtures/rootfs.js';

const skip = berthdSkipReason();
const engineSkip = existsSync(join(repoRoot, 'dist', 'src', 'engine', 'engine.js')) ? undefined : 'the engine (src/engine/engine.ts) is not built yet';
const IMAGE = 'busybox:latest';

let d: Berthd;
let docker: Docker;
let tmp: string;

/**
 * testcontainers pointed at this berthd, without Ryuk. This machine has /.dockerenv, so testcontainers would take
 * the bridge's gateway for the host: the override keeps every port it waits on and maps on loopback.
 */
async function testcontainers(): Promise<typeof import('testcontainers')> {
  process.env.DOCKER_HOST = d.host;
  process.env.DOCKER_CONFIG = join(tmp, 'docker-config');
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  process.env.TESTCONTAINERS_HOST_OVERRIDE = '127.0.0.1';
  return import('testcontainers');
}

/** GET http://host:port/path: status and body. */
function httpGet(host: string, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host, port, path, timeout: 10000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject).on('timeout', function (this: http.ClientRequest) { this.destroy(new Error('timeout')); });
  });
}

/** Collect a multiplexed (stdcopy) stream into stdout and stderr text. */
async function demux(stream: NodeJS.ReadableStream): Promise<{ stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => { stdout += c.toString(); });
  err.on('data', (c: Buffer) => { stderr += c.toString(); });
  docker.modem.demuxStream(stream, out, err);
  await new Promise<void>((resolve, reject) => {
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
    stream.once('error', reject);
  });
  return { stdout, stderr };
}

describe('dockerode and testcontainers against berthd', { skip }, () => {
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-e2e-sdk-'));
    d = await startBerthd({ prefix: 'berthd-e2e-sdk-' });
    docker = new Docker({ socketPath: d.socket });
    const tar = buildDockerSaveTar(tmp, IMAGE);
    const { createReadStream } = await import('node:fs');
    const res = await docker.loadImage(createReadStream(tar));
    const chunks: Buffer[] = [];
    for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
    assert.match(Buffer.concat(chunks).toString(), /Loaded image: busybox:latest/);
  });
  after(async () => {
    await d?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('dockerode: version, info, ping', async () => {
    const v = await docker.version();
    assert.equal(v.ApiVersion, '1.50');
    assert.equal(v.Components?.[0]?.Name, 'Engine');
    const info = await docker.info() as { DockerRootDir: string; Driver: string };
    assert.equal(info.DockerRootDir, d.dataRoot);
    assert.equal(info.Driver, 'overlayfs');
    assert.equal(String(await docker.ping()), 'OK');
  });

  test('dockerode: images list, inspect, tag, history, remove', async () => {
    const list = await docker.listImages();
    const bb = list.find((i) => i.RepoTags?.includes(IMAGE));
    assert.ok(bb, 'busybox:latest listed');
    const img = docker.getImage(IMAGE);
    const ins = await img.inspect();
    assert.equal(ins.Id, bb.Id);
    await img.tag({ repo: 'sdk/copy', tag: 'v2' });
    assert.ok((await docker.getImage('sdk/copy:v2').inspect()).RepoTags.includes('sdk/copy:v2'));
    const hist = await img.history() as Array<{ CreatedBy: string }>;
    assert.match(hist[0]!.CreatedBy, /busybox-static/);
    const rm = await docker.getImage('sdk/copy:v2').remove() as Array<{ Untagged?: string }>;
    assert.deepEqual(rm, [{ Untagged: 'sdk/copy:v2' }]);
    await assert.rejects(docker.getImage('nothere:1').inspect(), (e: { statusCode?: number }) => e.statusCode === 404);
  });

  test('dockerode: a container life cycle with logs and exec', { skip: engineSkip }, async () => {
    const c = await docker.createContainer({
      Image: IMAGE, name: 'sdk-life', Cmd: ['sh', '-c', 'echo out; echo err >&2; sleep 1000'], HostConfig: { NetworkMode: 'none' },
    });
    try {
      await c.start();
      const ins = await c.inspect();
      assert.equal(ins.State.Running, true);
      assert.ok(ins.State.Pid > 0);
      await assert.rejects(c.start(), (e: { statusCode?: number }) => e.statusCode === 304);
      let logs = { stdout: '', stderr: '' };
      for (let i = 0; i < 50 && !logs.stderr.includes('err'); i++) {
        const buf = await c.logs({ stdout: true, stderr: true, follow: false }) as unknown as Buffer;
        logs = { stdout: '', stderr: '' };
        // Not streaming: dockerode hands back the framed bytes.
        for (let off = 0; off + 8 <= buf.length;) {
          const size = buf.readUInt32BE(off + 4);
          const text = buf.subarray(off + 8, off + 8 + size).toString();
          if (buf[off] === 2) logs.stderr += text;
          else logs.stdout += text;
          off += 8 + size;
        }
        if (!logs.stderr.includes('err')) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(logs.stdout, 'out\n');
      assert.equal(logs.stderr, 'err\n');
      const exec = await c.exec({ Cmd: ['sh', '-c', 'echo exec-out; exit 7'], AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({ hijack: true, stdin: false });
      const out = await demux(stream);
      assert.equal(out.stdout, 'exec-out\n');
      const ei = await exec.inspect();
      assert.equal(ei.ExitCode, 7);
      assert.equal(ei.Running, false);
      await c.stop({ t: 1 });
      const w = await c.wait();
      assert.equal(w.StatusCode, 137);
      await assert.rejects(c.stop(), (e: { statusCode?: number }) => e.statusCode === 304);
    } finally {
      await c.remove({ force: true });
    }
    await assert.rejects(c.inspect(), (e: { statusCode?: number }) => e.statusCode === 404);
  });

  test('dockerode: container.commit with query options; a missing container is a 404', { skip: engineSkip }, async () => {
    const c = await docker.createContainer({ Image: IMAGE, Cmd: ['sh', '-c', 'echo sdk > /f'], HostConfig: { NetworkMode: 'none' } });
    await c.start();
    await c.wait();
    const r = await c.commit({ repo: 'sdk-commit', tag: 'v1', comment: 'from dockerode', author: 'sdk', changes: 'CMD ["cat", "/f"]' }) as { Id: string };
    assert.match(r.Id, /^sha256:[0-9a-f]{64}$/);
    const img = await docker.getImage('sdk-commit:v1').inspect();
    assert.equal(img.Author, 'sdk');
    assert.equal(img.Comment, 'from dockerode');
    assert.deepEqual(img.Config.Cmd, ['cat', '/f']);
    await c.remove();
    await docker.getImage('sdk-commit:v1').remove();
    await assert.rejects(docker.getContainer('no-such-container').commit({}), (e: { statusCode?: number }) => e.statusCode === 404);
  });

  test('dockerode: one-shot stats of a busy container, events, putArchive/getArchive, attach with stdin', { skip: engineSkip }, async () => {
    const busy = await docker.createContainer({
      Image: IMAGE, name: 'sdk-busy', Cmd: ['sh', '-c', 'while :; do :; done'], HostConfig: { NetworkMode: 'none', Memory: 64 * 1024 * 1024 },
    });
    const since = Math.floor(Date.now() / 1000) - 1;
    try {
      await busy.start();
      await new Promise((r) => setTimeout(r, 500));
      const st = await busy.stats({ stream: false, 'one-shot': true } as { stream: false }) as unknown as {
        memory_stats: { usage?: number; limit?: number }; cpu_stats: { cpu_usage: { total_usage: number } }; pids_stats: { current?: number };
      };
      assert.ok((st.memory_stats.usage ?? 0) > 0, JSON.stringify(st.memory_stats));
      assert.equal(st.memory_stats.limit, 64 * 1024 * 1024);
      assert.ok(st.cpu_stats.cpu_usage.total_usage > 0, JSON.stringify(st.cpu_stats));
      assert.ok((st.pids_stats.current ?? 0) >= 1);

      // A tar into the container and back out of it.
      const marker = Buffer.from('put by dockerode\n');
      const one = spawnSync('sh', ['-c', 'mkdir -p "$1" && printf "put by dockerode\\n" > "$1/f" && tar -c -C "$1" f', 'sh', join(tmp, 'archive-src')]);
      await busy.putArchive(one.stdout, { path: '/tmp' });
      const got = await busy.getArchive({ path: '/tmp/f' }) as unknown as NodeJS.ReadableStream;
      const chunks: Buffer[] = [];
      for await (const c of got as AsyncIterable<Buffer>) chunks.push(c);
      const listed = spawnSync('tar', ['-xO', 'f'], { input: Buffer.concat(chunks) });
      assert.deepEqual(listed.stdout, marker);
      await busy.kill();
      await busy.wait();
    } finally {
      await busy.remove({ force: true });
    }

    // The life of sdk-busy as events: create, start, kill, die, destroy, in order.
    const ev = await docker.getEvents({ since, until: Math.floor(Date.now() / 1000) + 1, filters: { container: ['sdk-busy'] } }) as unknown as NodeJS.ReadableStream;
    let text = '';
    for await (const c of ev as AsyncIterable<Buffer>) text += c.toString();
    const actions = text.trim().split('\n').map((l) => (JSON.parse(l) as { Action: string }).Action);
    const order = ['create', 'start', 'kill', 'die', 'destroy'].map((a) => actions.indexOf(a));
    assert.ok(order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1]!)), actions.join(' '));

    // attach with stdin: what is written comes back from cat.
    const cat = await docker.createContainer({ Image: IMAGE, name: 'sdk-cat', Cmd: ['cat'], OpenStdin: true, StdinOnce: true, HostConfig: { NetworkMode: 'none' } });
    try {
      const stream = await cat.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
      await cat.start();
      const out = demux(stream);
      stream.write('hello through attach\n');
      stream.end();
      assert.equal((await out).stdout, 'hello through attach\n');
      assert.equal((await cat.wait()).StatusCode, 0);
    } finally {
      await cat.remove({ force: true });
    }
  });

  test('testcontainers: GenericContainer start, exec, stop', { skip: engineSkip }, async () => {
    const { GenericContainer, PullPolicy } = await testcontainers();
    const started = await new GenericContainer(IMAGE)
      .withCommand(['sleep', '1000'])
      .withNetworkMode('none')
      .withPullPolicy(PullPolicy.defaultPolicy())
      .start();
    try {
      const r = await started.exec(['sh', '-c', 'echo from-testcontainers']);
      assert.equal(r.exitCode, 0);
      assert.equal(r.output.trim(), 'from-testcontainers');
      // commit: testcontainers sends its changes as one newline-joined value.
      await started.exec(['sh', '-c', 'echo committed > /f']);
      const id = await started.commit({ repo: 'tc-img', tag: '1', deleteOnExit: false, changes: ['ENV X=1', 'CMD ["cat", "/f"]'] });
      assert.match(id, /^sha256:[0-9a-f]{64}$/);
      const img = await docker.getImage('tc-img:1').inspect();
      assert.equal(img.Id, id);
      assert.ok(img.Config.Env.includes('X=1'), JSON.stringify(img.Config.Env));
      assert.deepEqual(img.Config.Cmd, ['cat', '/f']);
      await docker.getImage('tc-img:1').remove();
    } finally {
      await started.stop({ timeout: 1000 });
    }
  });

  test('testcontainers: httpd on the default bridge, port 8080 mapped, the default wait for listening ports, a GET on 127.0.0.1', { skip: engineSkip }, async () => {
    const { GenericContainer } = await testcontainers();
    const started = await new GenericContainer(IMAGE).withCommand(['httpd', '-f', '-p', '8080']).withExposedPorts(8080).start();
    try {
      assert.equal(started.getHost(), '127.0.0.1');
      const info = await docker.getContainer(started.getId()).inspect();
      assert.deepEqual(Object.keys(info.NetworkSettings.Networks), ['bridge']);
      const port = started.getMappedPort(8080);
      assert.equal(String(port), info.NetworkSettings.Ports['8080/tcp']?.[0]?.HostPort);
      // httpd serves from / here: the container's own /etc/hostname comes back through the mapped port.
      const r = await httpGet(started.getHost(), port, '/etc/hostname');
      assert.deepEqual(r, { status: 200, body: `${started.getId().slice(0, 12)}\n` });
      assert.equal((await httpGet(started.getHost(), port, '/no/such')).status, 404);
    } finally {
      await started.stop({ timeout: 1000 });
    }
  });

  test('testcontainers: Wait.forLogMessage on the default bridge, then a GET through the mapped port', { skip: engineSkip }, async () => {
    const { GenericContainer, Wait } = await testcontainers();
    // Without -f httpd forks once its socket listens, so the line comes after the port is open.
    const started = await new GenericContainer(IMAGE)
      .withCommand(['sh', '-c', 'mkdir /www && echo served-by-berth > /www/index.html && httpd -p 8080 -h /www && echo httpd is up && exec sleep 1000'])
      .withExposedPorts(8080)
      .withWaitStrategy(Wait.forLogMessage('httpd is up'))
      .withStartupTimeout(30000)
      .start();
    try {
      assert.equal(started.getHost(), '127.0.0.1');
      assert.deepEqual(await httpGet(started.getHost(), started.getMappedPort(8080), '/'), { status: 200, body: 'served-by-berth\n' });
    } finally {
      await started.stop({ timeout: 1000 });
    }
  });
});
