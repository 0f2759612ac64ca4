// Tests for compression detection and the gzip / zstd / plain streams.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { compress, decompress, detectCompression } from './compression.js';

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

const data = Buffer.concat(Array.from({ length: 200 }, (_, i) => Buffer.from(`line ${i} of some layer data\n`)));
const haveZstd = spawnSync('zstd', ['--version']).status === 0;

test('detects gzip, zstd and plain from the first bytes', () => {
  assert.equal(detectCompression(gzipSync(data)), 'gzip');
  assert.equal(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0])), 'zstd');
  assert.equal(detectCompression(Buffer.from('ustar')), 'none');
  assert.equal(detectCompression(Buffer.from([0x28, 0xb5])), 'none');
  assert.equal(detectCompression(Buffer.alloc(0)), 'none');
});

test('decompress passes plain data through, even tiny or split inputs', async () => {
  assert.ok((await collect(decompress(Readable.from([data])))).equals(data));
  assert.ok((await collect(decompress(Readable.from([data.subarray(0, 1), data.subarray(1, 3), data.subarray(3)])))).equals(data));
  assert.equal((await collect(decompress(Readable.from([Buffer.from('ab')])))).toString(), 'ab');
  assert.equal((await collect(decompress(Readable.from([])))).length, 0);
});

test('gzip: compress is deterministic and decompress reverses it', async () => {
  const a = await collect(Readable.from([data]).pipe(compress('gzip')));
  const b = await collect(Readable.from([data]).pipe(compress('gzip')));
  assert.ok(a.equals(b));
  assert.ok((await collect(decompress(Readable.from([a.subarray(0, 1), a.subarray(1)])))).equals(data));
  await assert.rejects(collect(decompress(Readable.from([Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5])]))), (e: Error & { code?: string }) => e.code === 'invalid-argument');
});

test('zstd through the zstd program, both ways; corrupt input fails with zstd\'s message', { skip: !haveZstd && 'zstd not installed' }, async () => {
  const z = await collect(Readable.from([data]).pipe(compress('zstd')));
  assert.equal(detectCompression(z), 'zstd');
  assert.ok((await collect(decompress(Readable.from([z])))).equals(data));
  const bad = Buffer.concat([z.subarray(0, 8), Buffer.alloc(64, 0x55)]);
  await assert.rejects(collect(decompress(Readable.from([bad]))), /zstd failed/);
  const sink = compress('none');
  const parts: Buffer[] = [];
  sink.on('data', (c: Buffer) => parts.push(c));
  await pipeline(Readable.from([data]), sink);
  assert.ok(Buffer.concat(parts).equals(data));
});
