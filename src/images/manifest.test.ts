// Unit tests for media types, manifest/index/config parsing, platform selection and chain ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv-draft-04';
import { isInvalid, isNotFound } from '../common/errors.js';
import {
  MediaType, chainIds, layerCompression, parseConfig, parseImageManifest, parseIndex, parsePlatform, selectPlatform, sniffCompression,
} from './manifest.js';
import { compactOverlayOptions } from './snapshots/mount.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const manifest = {
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: MediaType.ociConfig, digest: d('a'), size: 10 },
  layers: [{ mediaType: MediaType.ociLayerGzip, digest: d('b'), size: 20 }],
};

test('parseImageManifest accepts OCI and Docker v2s2; refuses what is wrong with a reason', () => {
  assert.equal(parseImageManifest(JSON.stringify(manifest)).layers.length, 1);
  const docker = { ...manifest, mediaType: MediaType.dockerManifest, config: { ...manifest.config, mediaType: MediaType.dockerConfig },
    layers: [{ mediaType: MediaType.dockerLayerGzip, digest: d('b'), size: 20 }] };
  assert.equal(parseImageManifest(JSON.stringify(docker), MediaType.dockerManifest).config.mediaType, MediaType.dockerConfig);
  const bad: Array<[unknown, RegExp]> = [
    [{ ...manifest, schemaVersion: 1 }, /schemaVersion/],
    [{ ...manifest, layers: [{ mediaType: 'application/x-foo', digest: d('b'), size: 1 }] }, /unknown layer media type/],
    [{ ...manifest, config: { ...manifest.config, digest: 'sha256:xyz' } }, /digest/],
    [{ ...manifest, config: { ...manifest.config, size: -1 } }, /invalid size/],
    [{ ...manifest, mediaType: MediaType.ociIndex }, /unsupported mediaType/],
  ];
  for (const [m, re] of bad) assert.throws(() => parseImageManifest(JSON.stringify(m)), (e: unknown) => isInvalid(e) && re.test((e as Error).message));
  assert.throws(() => parseImageManifest('{'), /not JSON/);
  assert.throws(() => parseImageManifest(JSON.stringify(manifest), MediaType.dockerManifest), /does not match/);
});

test('parseConfig checks rootfs, os, architecture, created', () => {
  const ok = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [d('c')] }, config: { Cmd: ['sh'] } };
  assert.equal(parseConfig(JSON.stringify(ok)).rootfs.diff_ids.length, 1);
  assert.throws(() => parseConfig(JSON.stringify({ ...ok, rootfs: { type: 'x', diff_ids: [] } })), /rootfs.type/);
  assert.throws(() => parseConfig(JSON.stringify({ ...ok, os: '' })), /os/);
  assert.throws(() => parseConfig(JSON.stringify({ ...ok, created: 'yesterday' })), /created/);
  assert.throws(() => parseConfig(JSON.stringify({ ...ok, config: { Cmd: 'sh' } })), /config.Cmd/);
});

test('selectPlatform picks the host or the asked platform; arm64 variant defaults to v8', () => {
  const idx = parseIndex(JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.ociIndex,
    manifests: [
      { mediaType: MediaType.ociManifest, digest: d('1'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: MediaType.ociManifest, digest: d('2'), size: 1, platform: { os: 'linux', architecture: 'arm64' } },
      { mediaType: MediaType.ociManifest, digest: d('3'), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
      { mediaType: MediaType.ociManifest, digest: d('4'), size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
    ],
  }));
  assert.equal(selectPlatform(idx, { os: 'linux', architecture: 'amd64' }).digest, d('1'));
  assert.equal(selectPlatform(idx, parsePlatform('linux/arm64/v8')).digest, d('2'));
  assert.equal(selectPlatform(idx, parsePlatform('linux/arm/v7')).digest, d('3'));
  assert.throws(() => selectPlatform(idx, parsePlatform('linux/s390x')), (e: unknown) => isNotFound(e) && /linux\/amd64/.test((e as Error).message));
});

test('chainIds follow config.md: sha256(parent + " " + diffID)', () => {
  const [a, b, c] = [d('a'), d('b'), d('c')];
  const ab = `sha256:${createHash('sha256').update(`${a} ${b}`).digest('hex')}`;
  const abc = `sha256:${createHash('sha256').update(`${ab} ${c}`).digest('hex')}`;
  assert.deepEqual(chainIds([a, b, c]), [a, ab, abc]);
  assert.deepEqual(chainIds([]), []);
});

test('layer compression from media types and magic bytes', () => {
  assert.equal(layerCompression(MediaType.dockerForeignLayerGzip), 'gzip');
  assert.equal(layerCompression(MediaType.ociLayerZstd), 'zstd');
  assert.equal(layerCompression(MediaType.ociLayer), 'none');
  assert.throws(() => layerCompression('application/json'), (e: unknown) => isInvalid(e));
  assert.equal(sniffCompression(Buffer.from([0x1f, 0x8b, 8, 0])), 'gzip');
  assert.equal(sniffCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), 'zstd');
  assert.equal(sniffCompression(Buffer.from('ustar')), 'none');
});

test('what we write validates against the OCI schemas', () => {
  const dir = [join(process.cwd(), 'shared/reference/oci-image-spec-schema'), '/work/shared/reference/oci-image-spec-schema'].find((p) => {
    try {
      return readdirSync(p).length > 0;
    } catch {
      return false;
    }
  });
  if (!dir) return;
  // CommonJS default export seen through NodeNext.
  const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as new (o: object) => import('ajv').default;
  const ajv = new Ajv({ strict: false });
  // The schemas refer to each other by file name: register them (ids stripped) under one base.
  const stripIds = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(stripIds) : v && typeof v === 'object'
      ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'id').map(([k, x]) => [k, stripIds(x)])) : v;
  for (const f of readdirSync(dir)) {
    const schema = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { id?: string };
    ajv.addSchema(stripIds(schema) as object, `https://schemas.test/${f}`);
  }
  const validate = (id: string, v: unknown) => {
    const fn = ajv.getSchema(id);
    assert.ok(fn, id);
    assert.ok(fn(v), `${id}: ${JSON.stringify(fn.errors)}`);
  };
  validate('https://schemas.test/image-manifest-schema.json', manifest);
  validate('https://schemas.test/config-schema.json', {
    architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [d('c')] }, config: { Cmd: ['sh'], Env: ['A=b'] },
  });
});

test('compactOverlayOptions makes layer paths relative to their common dir', () => {
  const r = compactOverlayOptions(['workdir=/var/lib/b/s/3/work', 'upperdir=/var/lib/b/s/3/fs', 'lowerdir=/var/lib/b/s/2/fs:/var/lib/b/s/1/fs', 'index=off']);
  assert.equal(r.cwd, '/var/lib/b/s');
  assert.deepEqual(r.options, ['workdir=3/work', 'upperdir=3/fs', 'lowerdir=2/fs:1/fs', 'index=off']);
});
