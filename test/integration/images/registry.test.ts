// Pull and push against a real registry (Debian's docker-registry), checked with skopeo; faults from a proxy of ours.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { request } from 'undici';
import { errorCode } from '../../../src/common/errors.js';
import { LocalContentStore } from '../../../src/images/content/local-store.js';
import type { ContentStore, Descriptor, ImageRecord, ImageStore } from '../../../src/images/types.js';
import { pull, pullImage, type PullResult } from '../../../src/images/distribution/pull.js';
import { push } from '../../../src/images/distribution/push.js';
import { RegistryClient, type RegistryClientOptions } from '../../../src/images/distribution/registry-client.js';
import type { ProgressEvent } from '../../../src/images/distribution/progress.js';
import { buildOciImageTar } from '../../fixtures/image.js';
import { freePort, registrySkipReason, startRegistry, type Registry } from '../../fixtures/registry.js';
import { haveCommand, tempDir } from '../../fixtures/rootfs.js';

const skip = registrySkipReason({ auth: true }) ?? (haveCommand('skopeo') ? undefined : 'missing skopeo')
  ?? (haveCommand('busybox') || process.getuid?.() === 0 ? undefined : 'missing busybox');

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const sha256 = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const tmp = tempDir('berth-registry-test-');
let seq = 0;
/** A fresh LocalContentStore in the temp dir. */
async function newStore(): Promise<LocalContentStore> {
  return new LocalContentStore(join(tmp.path, `content-${++seq}`)).init();
}

/** skopeo with no access to the real ~/.docker or auth files: HOME, DOCKER_CONFIG and the auth file are temp. */
function skopeo(args: string[]): string {
  const home = join(tmp.path, 'skopeo-home');
  mkdirSync(join(home, 'docker'), { recursive: true });
  writeFileSync(join(home, 'auth.json'), '{"auths":{}}');
  const r = spawnSync('skopeo', ['--insecure-policy', ...args], { encoding: 'utf8', timeout: 120000,
    env: { PATH: process.env.PATH, HOME: home, DOCKER_CONFIG: join(home, 'docker'), REGISTRY_AUTH_FILE: join(home, 'auth.json') } });
  if (r.status !== 0) throw new Error(`skopeo ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** An image store in memory (the SQLite one belongs to the ImageService tests). */
class MemoryImageStore implements ImageStore {
  readonly records = new Map<string, ImageRecord>();
  async get(name: string) {
    const r = this.records.get(name);
    if (!r) throw new Error(`no ${name}`);
    return r;
  }
  async list() { return [...this.records.values()]; }
  async put(r: Omit<ImageRecord, 'createdAt' | 'updatedAt'> & { createdAt?: Date }) {
    const rec = { ...r, createdAt: r.createdAt ?? new Date(), updatedAt: new Date() };
    this.records.set(r.name, rec);
    return rec;
  }
  async delete(name: string) { this.records.delete(name); }
}

/** Load an OCI layout tar into `content`; the manifest descriptor. */
async function importOciTar(tarPath: string, content: ContentStore): Promise<{ target: Descriptor; layers: Descriptor[]; config: Descriptor }> {
  const dir = join(tmp.path, `import-${++seq}`);
  mkdirSync(dir);
  const r = spawnSync('tar', ['-xf', tarPath, '-C', dir]);
  assert.equal(r.status, 0);
  const blob = (d: string) => readFileSync(join(dir, 'blobs', 'sha256', d.slice(7)));
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const target = { mediaType: index.manifests[0]!.mediaType, digest: index.manifests[0]!.digest, size: index.manifests[0]!.size };
  const manifest = JSON.parse(blob(target.digest).toString()) as { config: Descriptor; layers: Descriptor[] };
  for (const d of [manifest.config, ...manifest.layers, target]) await content.writeBlob(blob(d.digest), { mediaType: d.mediaType });
  return { target, layers: manifest.layers, config: manifest.config };
}

/** Client options that never read the real ~/.docker and retry fast. */
function clientOpts(extra: RegistryClientOptions = {}): RegistryClientOptions {
  const empty = join(tmp.path, 'no-docker-config');
  mkdirSync(empty, { recursive: true });
  return { dockerConfigDir: empty, retryDelayMs: 20, ...extra };
}

async function assertClean(content: ContentStore, bad: string[]): Promise<void> {
  for (const d of bad) assert.equal(await content.has(d), false, `bad blob ${d} committed`);
  for (const i of await content.listIngests()) await content.abortIngest(i.ref);
  assert.deepEqual(await content.listIngests(), []);
}

// ---------------------------------------------------------------------------------------------------------------
// A proxy in front of the registry: hooks answer some requests themselves, the rest go through unchanged.

type Hook = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<boolean> | boolean;

interface Proxy {
  host: string;
  port: number;
  server: Server;
  hooks: Hook[];
  seen: Array<{ method: string; url: string; headers: IncomingMessage['headers'] }>;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Forward `req` to `upstream` (host:port) and copy the answer back. */
async function forward(upstream: string, req: IncomingMessage, res: ServerResponse, body: Buffer, path = req.url!): Promise<void> {
  const headers = { ...req.headers };
  delete headers.connection;
  const up = await request(`http://${upstream}${path}`, { method: req.method as 'GET', headers: headers as Record<string, string>,
    body: body.length || (req.method !== 'GET' && req.method !== 'HEAD') ? body : undefined });
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && k !== 'connection' && k !== 'keep-alive' && k !== 'transfer-encoding') out[k] = v;
  res.writeHead(up.statusCode, out);
  for await (const c of up.body) res.write(c);
  res.end();
}

async function startProxy(upstream: string): Promise<Proxy> {
  const hooks: Hook[] = [];
  const seen: Proxy['seen'] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      seen.push({ method: req.method!, url: req.url!, headers: req.headers });
      for (const h of hooks) if (await h(req, res, body)) return;
      await forward(upstream, req, res, body);
    })().catch((e: Error) => { if (!res.headersSent) res.writeHead(502); res.end(String(e.message)); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { host: `127.0.0.1:${port}`, port, server, hooks, seen,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

// ---------------------------------------------------------------------------------------------------------------

describe('registry client against docker-registry', { skip }, () => {
  let reg: Registry;
  let ref: string;
  let pulled: PullResult;
  let source: { target: Descriptor; layers: Descriptor[]; config: Descriptor };
  let ociTar: string;

  before(async () => {
    reg = await startRegistry();
    ociTar = buildOciImageTar(tmp.path, 'docker.io/library/busybox:berth-test');
    ref = `${reg.host}/test/busybox:1`;
    skopeo(['copy', '--dest-tls-verify=false', `oci-archive:${ociTar}`, `docker://${ref}`]);
    source = await importOciTar(ociTar, await newStore());
  });
  after(async () => {
    await reg?.stop();
    tmp.cleanup();
  });

  test('(a) pull what skopeo pushed: manifest digest equals skopeo inspect --raw, blobs verified, progress', async () => {
    const content = await newStore();
    const images = new MemoryImageStore();
    const events: ProgressEvent[] = [];
    pulled = await pull(ref, { content, images, registry: clientOpts(), onProgress: (e) => events.push(e) });
    const raw = skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
    assert.equal(pulled.target.digest, sha256(raw));
    assert.equal(pulled.manifest.digest, pulled.target.digest);
    assert.equal(pulled.name, `${ref}`);
    // skopeo compresses the fixture's plain tar layer on the way into a registry, so compare with what it reports.
    const inspect = JSON.parse(skopeo(['inspect', '--tls-verify=false', `docker://${ref}`])) as { Layers: string[] };
    assert.deepEqual(pulled.layers.map((l) => l.digest), inspect.Layers);
    assert.equal(pulled.layers.length, source.layers.length);
    for (const d of [pulled.target, pulled.config, ...pulled.layers]) {
      assert.equal(sha256(await content.read(d.digest, { verify: true })), d.digest);
    }
    assert.deepEqual((await images.get(ref)).target, pulled.target);
    const labels = (await content.info(pulled.target.digest)).labels;
    assert.equal(labels['containerd.io/gc.ref.content.config'], pulled.config.digest);
    assert.equal(labels['containerd.io/gc.ref.content.l.0'], pulled.layers[0]!.digest);
    const id = pulled.layers[0]!.digest.slice(7, 19);
    const statuses = events.filter((e) => e.id === id).map((e) => e.status);
    for (const s of ['Pulling fs layer', 'Downloading', 'Verifying Checksum', 'Download complete', 'Pull complete']) assert.ok(statuses.includes(s), `${s} in ${statuses}`);
    const dl = events.filter((e) => e.id === id && e.status === 'Downloading').at(-1)!;
    assert.deepEqual(dl.progressDetail, { current: pulled.layers[0]!.size, total: pulled.layers[0]!.size });
    assert.ok(events.some((e) => e.status === `Digest: ${pulled.target.digest}`));
    assert.deepEqual(await content.listIngests(), []);

    // Again: everything is there.
    const again: ProgressEvent[] = [];
    const r2 = await pull(ref, { content, registry: clientOpts(), onProgress: (e) => again.push(e) });
    assert.equal(r2.fetched, false);
    assert.ok(again.some((e) => e.id === id && e.status === 'Already exists'));
    assert.ok(again.some((e) => e.status.startsWith('Status: Image is up to date')));
  });

  test('(a) by digest, and pullImage records the name and asks the service to unpack', async () => {
    const content = await newStore();
    const calls: string[] = [];
    const r = await pullImage({
      content,
      setName: async (name, target, labels) => { calls.push(`setName ${name} ${target.digest} ${JSON.stringify(labels)}`); },
      unpack: async (n) => { calls.push(`unpack ${n}`); },
      hold: async (fn) => { calls.push('hold'); return fn(); },
    }, `${reg.host}/test/busybox@${pulled.target.digest}`, { registry: clientOpts() });
    assert.equal(r.target.digest, pulled.target.digest);
    assert.deepEqual(calls, ['hold', `setName ${reg.host}/test/busybox@${pulled.target.digest} ${pulled.target.digest} {}`,
      `unpack ${reg.host}/test/busybox@${pulled.target.digest}`]);
  });

  for (const mode of ['monolithic', 'chunked'] as const) {
    test(`(b) push ${mode}: skopeo reads back the same digest and layers`, async () => {
      const content = await newStore();
      const img = await importOciTar(ociTar, content);
      const proxy = await startProxy(reg.host);
      try {
        const dest = `${proxy.host}/test/pushed-${mode}:1`;
        const events: ProgressEvent[] = [];
        const r = await push(dest, { content, target: img.target, registry: clientOpts(), chunkSize: mode === 'chunked' ? 64 * 1024 : undefined,
          onProgress: (e) => events.push(e) });
        assert.equal(r.digest, img.target.digest);
        const patches = proxy.seen.filter((s) => s.method === 'PATCH');
        if (mode === 'chunked') {
          assert.ok(patches.length >= Math.ceil(img.layers[0]!.size / 65536), `${patches.length} PATCHes`);
          assert.ok(patches.every((p) => /^\d+-\d+$/.test(String(p.headers['content-range']))));
        } else {
          assert.equal(patches.length, 0);
        }
        const inspect = JSON.parse(skopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/test/pushed-${mode}:1`])) as { Digest: string; Layers: string[] };
        assert.equal(inspect.Digest, img.target.digest);
        assert.deepEqual(inspect.Layers, img.layers.map((l) => l.digest));
        assert.ok(events.some((e) => e.status === 'Pushed'));
        // Again: HEAD finds every blob.
        const again = await push(dest, { content, target: img.target, registry: clientOpts() });
        assert.ok(Object.values(again.blobs).every((b) => b === 'exists'));
      } finally {
        await proxy.close();
      }
    });
  }

  test('(b) cross-repository mount from the source label; index push with children first, platform pull', async () => {
    const content = await newStore();
    const img = await importOciTar(ociTar, content);
    await push(`${reg.host}/test/mount-src:1`, { content, target: img.target, registry: clientOpts() });
    const events: ProgressEvent[] = [];
    const m = await push(`${reg.host}/test/mount-dst:1`, { content, target: img.target, registry: clientOpts(), onProgress: (e) => events.push(e) });
    assert.ok(Object.values(m.blobs).every((b) => b === 'mounted'), JSON.stringify(m.blobs));
    assert.ok(events.some((e) => e.status === 'Mounted from test/mount-src'));

    // A second platform: a tiny manifest of its own, then an index over both.
    const cfg = await content.writeBlob(Buffer.from(JSON.stringify({ architecture: 'riscv64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })),
      { mediaType: 'application/vnd.oci.image.config.v1+json' });
    const other = await content.writeBlob(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: cfg, layers: [] })), { mediaType: OCI_MANIFEST });
    const arch = (JSON.parse((await content.read(img.config.digest)).toString()) as { architecture: string }).architecture;
    const indexBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [
      { ...img.target, platform: { os: 'linux', architecture: arch } },
      { ...other, platform: { os: 'linux', architecture: 'riscv64' } },
    ] }));
    const index = await content.writeBlob(indexBytes, { mediaType: OCI_INDEX });
    await push(`${reg.host}/test/multi:1`, { content, target: index, registry: clientOpts() });
    assert.equal(sha256(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/test/multi:1`])), index.digest);
    const a = await pull(`${reg.host}/test/multi:1`, { content: await newStore(), registry: clientOpts() });
    assert.equal(a.target.digest, index.digest);
    assert.equal(a.manifest.digest, img.target.digest);
    const b = await pull(`${reg.host}/test/multi:1`, { content: await newStore(), registry: clientOpts(), platform: { os: 'linux', architecture: 'riscv64' } });
    assert.equal(b.manifest.digest, other.digest);
    await assert.rejects(pull(`${reg.host}/test/multi:1`, { content: await newStore(), registry: clientOpts(), platform: { os: 'linux', architecture: 's390x' } }),
      /no manifest for platform linux\/s390x/);
  });

  describe('(c) basic auth (htpasswd) with docker config credentials', () => {
    let auth: Registry;
    const user = { username: 'berth', password: 's3cret pass' };
    before(async () => {
      auth = await startRegistry({ auth: user });
      skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `${user.username}:${user.password}`, `oci-archive:${ociTar}`, `docker://${auth.host}/test/busybox:1`]);
    });
    after(async () => { await auth?.stop(); });

    test('no credentials: permission-denied naming the host, nothing stored', async () => {
      const content = await newStore();
      const err = await pull(`${auth.host}/test/busybox:1`, { content, registry: clientOpts() }).catch((e: unknown) => e);
      assert.equal(errorCode(err), 'permission-denied', String(err));
      assert.match(String((err as Error).message), new RegExp(`no credentials for ${auth.host}`));
      assert.deepEqual(await content.list(), []);
    });

    test('DOCKER_CONFIG with a base64 auth entry; a dir option with username/password; a wrong password', async () => {
      const dir1 = join(tmp.path, 'docker-config-auth');
      mkdirSync(dir1, { recursive: true });
      writeFileSync(join(dir1, 'config.json'), JSON.stringify({ auths: { [`http://${auth.host}`]: { auth: Buffer.from(`${user.username}:${user.password}`).toString('base64') } } }));
      const saved = process.env.DOCKER_CONFIG;
      process.env.DOCKER_CONFIG = dir1;
      let r: PullResult;
      try {
        r = await pull(`${auth.host}/test/busybox:1`, { content: await newStore(), registry: { retryDelayMs: 20 } });
      } finally {
        if (saved === undefined) delete process.env.DOCKER_CONFIG; else process.env.DOCKER_CONFIG = saved;
      }
      assert.equal(r.target.digest, pulled.target.digest);

      const dir2 = join(tmp.path, 'docker-config-userpass');
      mkdirSync(dir2, { recursive: true });
      writeFileSync(join(dir2, 'config.json'), JSON.stringify({ auths: { [auth.host]: user } }));
      const content = await newStore();
      const img = await importOciTar(ociTar, content);
      await push(`${auth.host}/test/pushed:auth`, { content, target: img.target, registry: clientOpts({ dockerConfigDir: dir2 }), chunkSize: 1 << 20 });
      const inspect = JSON.parse(skopeo(['inspect', '--tls-verify=false', '--creds', `${user.username}:${user.password}`, `docker://${auth.host}/test/pushed:auth`])) as { Digest: string };
      assert.equal(inspect.Digest, img.target.digest);

      const bad = await pull(`${auth.host}/test/busybox:1`, { content: await newStore(),
        registry: clientOpts({ credentials: () => ({ username: user.username, password: 'wrong' }) }) }).catch((e: unknown) => e);
      assert.equal(errorCode(bad), 'permission-denied');
      assert.match(String((bad as Error).message), /credentials refused/);
    });
  });

  describe('(d) faults from a proxy', () => {
    let proxy: Proxy;
    let layer: Descriptor;
    let pref: string;
    before(async () => {
      proxy = await startProxy(reg.host);
      layer = pulled.layers[0]!;
      pref = `${proxy.host}/test/busybox:1`;
    });
    after(async () => { await proxy?.close(); });
    const isLayerGet = (req: IncomingMessage) => req.method === 'GET' && req.url === `/v2/test/busybox/blobs/${layer.digest}`;
    const layerBytes = async () => readFileSync((await (async () => { const c = await newStore(); await pull(ref, { content: c, registry: clientOpts() }); return c; })()).path(layer.digest));

    test('connection dropped mid-blob: pull fails, the ingest stays, a second pull resumes with Range', async () => {
      const bytes = await layerBytes();
      const half = Math.floor(bytes.length / 2);
      let drops = 1;
      proxy.hooks.splice(0, proxy.hooks.length, (req, res) => {
        if (!isLayerGet(req) || drops === 0) return false;
        drops--;
        res.writeHead(200, { 'content-length': String(bytes.length), 'content-type': 'application/octet-stream' });
        res.write(bytes.subarray(0, half), () => setTimeout(() => res.socket?.destroy(), 50));
        return true;
      });
      const content = await newStore();
      const err = await pull(pref, { content, registry: clientOpts({ retries: 0 }) }).catch((e: unknown) => e);
      assert.equal(errorCode(err), 'unavailable', String(err));
      assert.equal(await content.has(layer.digest), false);
      const ingests = await content.listIngests();
      assert.equal(ingests.length, 1);
      assert.ok(ingests[0]!.offset > 0 && ingests[0]!.offset <= half, `offset ${ingests[0]!.offset}`);
      proxy.seen.length = 0;
      await pull(pref, { content, registry: clientOpts({ retries: 0 }) });
      const ranged = proxy.seen.find((s) => s.url.endsWith(layer.digest) && s.method === 'GET');
      assert.equal(ranged?.headers.range, `bytes=${ingests[0]!.offset}-`);
      assert.equal(sha256(await content.read(layer.digest)), layer.digest);
      assert.deepEqual(await content.listIngests(), []);

      // With retries, the same fault is healed inside one pull.
      drops = 1;
      proxy.seen.length = 0;
      const c2 = await newStore();
      await pull(pref, { content: c2, registry: clientOpts({ retries: 2 }) });
      assert.ok(proxy.seen.some((s) => s.url.endsWith(layer.digest) && s.headers.range));
      assert.equal(sha256(await c2.read(layer.digest)), layer.digest);
      proxy.hooks.length = 0;
    });

    test('a blob whose bytes do not match its digest: invalid-argument, nothing committed, no ingest', async () => {
      proxy.hooks.splice(0, proxy.hooks.length, (req, res) => {
        if (!isLayerGet(req)) return false;
        const junk = Buffer.alloc(layer.size, 7);
        res.writeHead(200, { 'content-length': String(junk.length) });
        res.end(junk);
        return true;
      });
      const content = await newStore();
      const err = await pull(pref, { content, registry: clientOpts() }).catch((e: unknown) => e);
      assert.equal(errorCode(err), 'invalid-argument', String(err));
      assert.match(String((err as Error).message), new RegExp(`blob ${layer.digest}.*hashes to`));
      assert.deepEqual(await content.listIngests(), []);
      await assertClean(content, [layer.digest, pulled.target.digest]);
      proxy.hooks.length = 0;
    });

    test('sizes that lie: an index child and a layer descriptor', async () => {
      const manifestBytes = skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
      const index = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [
        { mediaType: OCI_MANIFEST, digest: sha256(manifestBytes), size: Buffer.byteLength(manifestBytes) - 10, platform: { os: 'linux', architecture: hostArch() } },
      ] });
      const m = JSON.parse(manifestBytes) as { layers: Descriptor[] };
      m.layers[0]!.size -= 100;
      const lying = JSON.stringify(m);
      proxy.hooks.splice(0, proxy.hooks.length, (req, res) => {
        const serve = (body: string, type: string) => {
          res.writeHead(200, { 'content-type': type, 'docker-content-digest': sha256(body), 'content-length': String(Buffer.byteLength(body)) });
          res.end(req.method === 'HEAD' ? undefined : body);
          return true;
        };
        if (req.url === '/v2/test/busybox/manifests/lying-index') return serve(index, OCI_INDEX);
        if (req.url === '/v2/test/busybox/manifests/lying-layer') return serve(lying, OCI_MANIFEST);
        return false;
      });
      const content = await newStore();
      const e1 = await pull(`${proxy.host}/test/busybox:lying-index`, { content, registry: clientOpts() }).catch((e: unknown) => e);
      assert.equal(errorCode(e1), 'invalid-argument', String(e1));
      assert.match(String((e1 as Error).message), /more than the \d+ (bytes )?expected|bytes, descriptor says/);
      const e2 = await pull(`${proxy.host}/test/busybox:lying-layer`, { content, registry: clientOpts() }).catch((e: unknown) => e);
      assert.equal(errorCode(e2), 'invalid-argument', String(e2));
      assert.match(String((e2 as Error).message), /descriptor says|more than the/);
      await assertClean(content, [layer.digest, sha256(manifestBytes), sha256(index), sha256(lying)]);
      proxy.hooks.length = 0;
    });

    test('unknown manifest media type, Docker-Content-Digest mismatch, schema 1', async () => {
      const weird = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.example.weird+json', config: pulled.config, layers: [] });
      const good = skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
      proxy.hooks.splice(0, proxy.hooks.length, (req, res) => {
        if (req.url === '/v2/test/busybox/manifests/weird') {
          res.writeHead(200, { 'content-type': 'application/vnd.example.weird+json' });
          res.end(weird);
          return true;
        }
        if (req.url === '/v2/test/busybox/manifests/wrongdigest') {
          res.writeHead(200, { 'content-type': OCI_MANIFEST, 'docker-content-digest': sha256('something else') });
          res.end(good);
          return true;
        }
        if (req.url === '/v2/test/busybox/manifests/v1') {
          res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' });
          res.end(JSON.stringify({ schemaVersion: 1, name: 'test/busybox', tag: 'v1', fsLayers: [] }));
          return true;
        }
        return false;
      });
      const content = await newStore();
      const e1 = await pull(`${proxy.host}/test/busybox:weird`, { content, registry: clientOpts() }).catch((e: unknown) => e);
      assert.equal(errorCode(e1), 'invalid-argument');
      assert.match(String((e1 as Error).message), /unsupported manifest media type "application\/vnd.example.weird\+json"/);
      const e2 = await pull(`${proxy.host}/test/busybox:wrongdigest`, { content, registry: clientOpts() }).catch((e: unknown) => e);
      assert.match(String((e2 as Error).message), /Docker-Content-Digest says sha256:[0-9a-f]{64}, content hashes to/);
      const e3 = await pull(`${proxy.host}/test/busybox:v1`, { content, registry: clientOpts() }).catch((e: unknown) => e);
      assert.equal(errorCode(e3), 'not-implemented');
      await assertClean(content, [pulled.config.digest]);
      assert.deepEqual(await content.list(), []);
      proxy.hooks.length = 0;
    });

    test('a 401 with no credentials to give: permission-denied; 503s are retried', async () => {
      let unavailable = 2;
      proxy.hooks.splice(0, proxy.hooks.length, (req, res) => {
        if (req.url?.startsWith('/v2/test/locked/')) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="locked"', 'content-type': 'application/json' });
          res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
          return true;
        }
        if (req.url === '/v2/test/busybox/manifests/1' && unavailable > 0) {
          unavailable--;
          res.writeHead(503);
          res.end();
          return true;
        }
        return false;
      });
      const content = await newStore();
      const err = await pull(`${proxy.host}/test/locked:1`, { content, registry: clientOpts() }).catch((e: unknown) => e);
      assert.equal(errorCode(err), 'permission-denied');
      assert.match(String((err as Error).message), /HTTP 401 UNAUTHORIZED: authentication required \(no credentials for/);
      const r = await pull(pref, { content, registry: clientOpts({ retries: 3 }) });
      assert.equal(unavailable, 0);
      assert.equal(r.target.digest, pulled.target.digest);
      const e2 = await pull(pref, { content: await newStore(), registry: clientOpts({ retries: 0 }) }).then(() => undefined, (e: unknown) => e);
      assert.equal(e2, undefined); // no more 503s left: a plain pull
      proxy.hooks.length = 0;
    });
  });

  test('(d) bearer tokens (cached per scope, access_token or token) and a blob redirect that drops the auth header', async () => {
    const storage = await startProxy(reg.host); // another origin: the "storage host" of the redirect
    const front = await startProxy(reg.host);
    let tokens = 0;
    const realm = `http://${front.host}/token`;
    try {
      front.hooks.push((req, res) => {
        const url = new URL(req.url!, 'http://x');
        if (url.pathname === '/token') {
          tokens++;
          assert.equal(url.searchParams.get('service'), 'berth-test');
          const field = tokens % 2 ? 'access_token' : 'token';
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ [field]: `tok-${url.searchParams.getAll('scope').join(' ')}`, expires_in: 300, issued_at: new Date().toISOString() }));
          return true;
        }
        const scope = url.pathname.match(/^\/v2\/(.+)\/(manifests|blobs)\//)?.[1];
        const want = scope ? `Bearer tok-repository:${scope}:pull` : undefined;
        if (url.pathname.startsWith('/v2/') && (scope ? req.headers.authorization !== want : !req.headers.authorization?.startsWith('Bearer tok-'))) {
          res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="berth-test"${scope ? `,scope="repository:${scope}:pull"` : ''}` });
          res.end();
          return true;
        }
        if (req.method === 'GET' && url.pathname.includes('/blobs/')) {
          res.writeHead(307, { location: `http://${storage.host}${url.pathname}?signed=1` });
          res.end();
          return true;
        }
        return false;
      });
      const content = await newStore();
      const client = new RegistryClient(clientOpts());
      try {
        await pull(`${front.host}/test/busybox:1`, { content, client });
        await pull(`${front.host}/test/pushed-monolithic:1`, { content: await newStore(), client });
        await pull(`${front.host}/test/busybox:1`, { content: await newStore(), client });
      } finally {
        await client.close();
      }
      assert.equal(tokens, 2, 'one token per repository scope, reused across pulls');
      const blobGets = storage.seen.filter((s) => s.url.includes('/blobs/'));
      assert.ok(blobGets.length >= 2);
      assert.ok(blobGets.every((s) => s.headers.authorization === undefined), 'auth header forwarded to another origin');
      assert.equal(sha256(await content.read(layerOf(pulled))), layerOf(pulled));
    } finally {
      await front.close();
      await storage.close();
    }
  });

  test('(d) docker.io through mirrors: a dead mirror is skipped, the next one serves', async () => {
    const mirror = await startProxy(reg.host);
    const dead = await freePort();
    try {
      mirror.hooks.push(async (req, res, body) => {
        if (!req.url!.startsWith('/v2/library/busybox/')) return false;
        await forward(reg.host, req, res, body, req.url!.replace('/v2/library/busybox/', '/v2/test/busybox/'));
        return true;
      });
      const content = await newStore();
      // The hub endpoint is a dead local port too: nothing may leave this machine if both mirrors failed.
      const r = await pull('busybox:1', { content, registry: clientOpts({ mirrors: [`http://127.0.0.1:${dead}`, `http://${mirror.host}`],
        hubEndpoint: `http://127.0.0.1:${dead}` }) });
      assert.equal(r.name, 'docker.io/library/busybox:1');
      assert.equal(r.target.digest, pulled.target.digest);
      assert.ok(mirror.seen.some((s) => s.url === '/v2/library/busybox/manifests/1'));
    } finally {
      await mirror.close();
    }
  });
});

function layerOf(r: PullResult): string {
  return r.layers[0]!.digest;
}

function hostArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };
  return map[process.arch] ?? process.arch;
}
