// daemon.json's registry settings and default runtime, observed through berthd with the docker CLI: info's
// RegistryConfig, a docker.io pull served by a mirror, an insecure registry over plain http, the download limit.
// Everything stays on loopback: registry-1.docker.io does not resolve on the test machines, and a mirror that
// serves the image leaves no reason to try it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { berthdSkipReason, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { buildDockerSaveTar } from '../fixtures/image.js';
import { registrySkipReason, startRegistry, type Registry } from '../fixtures/registry.js';

const RUNC = '/usr/sbin/runc';
const IMAGE = 'busybox:latest';
const NONE = ['--network', 'none'];
const MAX_DOWNLOADS = 2;
const skip = berthdSkipReason() ?? registrySkipReason() ?? (existsSync(RUNC) ? undefined : `missing ${RUNC}`);

/** A pass-through to `upstream` that holds each blob GET a while and counts how many are in flight at once. */
async function countingProxy(upstream: string): Promise<{ host: string; maxBlobGets: () => number; blobGets: () => number; close(): Promise<void> }> {
  let inFlight = 0;
  let max = 0;
  let total = 0;
  const server: Server = createServer((req, res) => {
    const blob = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url!);
    if (blob) {
      total++;
      max = Math.max(max, ++inFlight);
    }
    void (async () => {
      if (blob) await new Promise((r) => setTimeout(r, 400));
      const headers = { ...req.headers } as Record<string, string>;
      delete headers.connection;
      const up = await request(`http://${upstream}${req.url}`, { method: req.method as 'GET', headers });
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !['connection', 'keep-alive', 'transfer-encoding'].includes(k)) out[k] = v;
      res.writeHead(up.statusCode, out);
      for await (const c of up.body) res.write(c);
      res.end();
    })().catch((e: Error) => { if (!res.headersSent) res.writeHead(502); res.end(e.message); })
      .finally(() => { if (blob) inFlight--; });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`, maxBlobGets: () => max, blobGets: () => total,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

describe('berthd with registry settings and a default runtime in daemon.json', { skip }, () => {
  let d: Berthd;
  let reg: Registry;
  let tmp: string;
  const ok = (args: string[]): string => {
    const r = d.docker(args, { timeout: 120000 });
    assert.equal(r.status, 0, `docker ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  };
  /** `ok` without blocking this process: for commands that reach a proxy it serves. */
  const okAsync = async (args: string[]): Promise<string> => {
    const r = await d.dockerAsync(args, { timeout: 120000 });
    assert.equal(r.status, 0, `docker ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-e2e-regcfg-'));
    reg = await startRegistry({ accessLog: true });
    d = await startBerthd({
      prefix: 'berthd-e2e-regcfg-',
      config: {
        'registry-mirrors': [`http://${reg.host}`],
        // 0.0.0.0 reaches the registry on 127.0.0.1 but lies outside the loopback CIDRs that are insecure anyway:
        // only this entry lets it be pulled over plain http. Given with http://, as operators often do.
        'insecure-registries': [`http://0.0.0.0:${reg.port}`, '192.168.77.9/24'],
        'max-concurrent-downloads': MAX_DOWNLOADS,
        'default-runtime': 'runc',
        runtimes: { runc: { path: RUNC } },
      },
    });
    ok(['load', '-i', buildDockerSaveTar(tmp, IMAGE)]);
    // docker.io/library/busybox, as the mirror holds it.
    ok(['tag', IMAGE, `${reg.host}/library/busybox:latest`]);
    ok(['push', `${reg.host}/library/busybox:latest`]);
  });
  after(async () => {
    await d?.stop();
    await reg?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('docker info shows the RegistryConfig dockerd would: insecure names and CIDRs, mirrors', () => {
    const rc = JSON.parse(ok(['info', '--format', '{{json .RegistryConfig}}'])) as Record<string, unknown>;
    const mirror = `http://${reg.host}/`;
    assert.deepEqual(rc.InsecureRegistryCIDRs, ['192.168.77.0/24', '::1/128', '127.0.0.0/8']);
    assert.deepEqual(rc.IndexConfigs, {
      [`0.0.0.0:${reg.port}`]: { Name: `0.0.0.0:${reg.port}`, Mirrors: [], Secure: false, Official: false },
      'docker.io': { Name: 'docker.io', Mirrors: [mirror], Secure: true, Official: true },
    });
    assert.deepEqual(rc.Mirrors, [mirror]);
    assert.match(ok(['info']), new RegExp(` Insecure Registries:\\n  0\\.0\\.0\\.0:${reg.port}\\n  192\\.168\\.77\\.0/24\\n  ::1/128\\n  127\\.0\\.0\\.0/8\\n Registry Mirrors:\\n  http://127\\.0\\.0\\.1:${reg.port}/\\n`));
    // The scheme was dropped with dockerd's warning.
    assert.match(readFileSync(d.log, 'utf8'), new RegExp(`insecure registry http://0\\.0\\.0\\.0:${reg.port} should not contain 'http://'`));
  });

  test('docker pull busybox is served by the mirror', () => {
    const id = ok(['image', 'inspect', '-f', '{{.Id}}', IMAGE]).trim();
    ok(['rmi', IMAGE, `${reg.host}/library/busybox:latest`]);
    const before = readFileSync(reg.log, 'utf8').length;
    const out = ok(['pull', 'busybox']);
    assert.match(out, /Using default tag: latest\nlatest: Pulling from library\/busybox\n/);
    assert.match(out, /Status: Downloaded newer image for busybox:latest\ndocker\.io\/library\/busybox:latest\n$/);
    assert.equal(ok(['image', 'inspect', '-f', '{{.Id}}', IMAGE]).trim(), id);
    // The mirror's access log has the manifest and the layer.
    const access = readFileSync(reg.log, 'utf8').slice(before);
    assert.match(access, /"GET \/v2\/library\/busybox\/manifests\/latest HTTP\/1\.1" 200/);
    assert.match(access, /"GET \/v2\/library\/busybox\/blobs\/sha256:[0-9a-f]{64} HTTP\/1\.1" 200/);
  });

  test('a registry listed in insecure-registries is pulled from over plain http; one not listed is held to https', async () => {
    const ref = `0.0.0.0:${reg.port}/library/busybox:latest`;
    const out = ok(['pull', ref]);
    assert.match(out, new RegExp(`Status: (Downloaded newer image|Image is up to date) for 0\\.0\\.0\\.0:${reg.port}/library/busybox:latest`));
    assert.equal(ok(['run', '--rm', ...NONE, ref, 'echo', 'pulled over http']), 'pulled over http\n');
    ok(['rmi', ref]);
    // Another registry, not listed: https only, which a plain http server cannot answer.
    const other = await startRegistry();
    try {
      const r = d.docker(['pull', `0.0.0.0:${other.port}/library/busybox:latest`]);
      assert.equal(r.status, 1, r.stdout);
      assert.equal(r.stderr, `Error response from daemon: registry 0.0.0.0:${other.port}: GET https://0.0.0.0:${other.port}/v2/: http: server gave HTTP response to HTTPS client\n`);
    } finally {
      await other.stop();
    }
  });

  test('default-runtime runc: a container given no --runtime runs under runc', () => {
    const id = ok(['run', '-d', ...NONE, IMAGE, 'sleep', '1000']).trim();
    try {
      assert.equal(ok(['inspect', '-f', '{{.HostConfig.Runtime}}', id]), 'runc\n');
      assert.equal(ok(['info', '-f', '{{.DefaultRuntime}}']), 'runc\n');
      const pid = Number(ok(['inspect', '-f', '{{.State.Pid}}', id]));
      // runc itself knows the container, from the state dir berth-shim gave it, and reports its pid.
      const st = spawnSync(RUNC, ['--root', join(d.execRoot, 'moby', id, 'runtime'), 'state', id], { encoding: 'utf8' });
      assert.equal(st.status, 0, st.stderr);
      const state = JSON.parse(st.stdout) as { pid: number; status: string };
      assert.deepEqual([state.pid, state.status], [pid, 'running']);
      assert.equal(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), 'sleep\u00001000\u0000');
    } finally {
      ok(['rm', '-f', id]);
    }
  });

  test(`max-concurrent-downloads ${MAX_DOWNLOADS}: no more than ${MAX_DOWNLOADS} layers are fetched at once`, async () => {
    // A four-layer image: busybox and three commits.
    let from = IMAGE;
    for (const n of [1, 2, 3]) {
      const c = ok(['run', '-d', ...NONE, from, 'sh', '-c', `echo ${n} > /layer${n}`]).trim();
      ok(['wait', c]);
      from = `${reg.host}/test/layers:${n}`;
      ok(['commit', c, from]);
      ok(['rm', c]);
    }
    ok(['push', from]);
    const proxy = await countingProxy(reg.host);
    try {
      const ref = `${proxy.host}/test/layers:3`;
      ok(['rmi', from, `${reg.host}/test/layers:2`, `${reg.host}/test/layers:1`]);
      ok(['rmi', IMAGE]);
      await okAsync(['pull', ref]);
      assert.equal(ok(['run', '--rm', ...NONE, ref, 'cat', '/layer1', '/layer2', '/layer3']), '1\n2\n3\n');
      assert.ok(proxy.blobGets() >= 4, `blob GETs: ${proxy.blobGets()}`);
      assert.equal(proxy.maxBlobGets(), MAX_DOWNLOADS);
    } finally {
      await proxy.close();
    }
  });
});
