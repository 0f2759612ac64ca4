// Unit tests for the stdcopy demuxer: frames split anywhere, several per chunk, empty frames, bad input.
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { demuxStdcopy, encodeStdcopyFrame, StdcopyDecoder, STDERR, STDOUT } from './stdcopy.js';

function decodeAll(chunks: Buffer[]): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  const d = new StdcopyDecoder((s, p) => out.push([s, p.toString()]));
  for (const c of chunks) d.push(c);
  assert.equal(d.buffered, 0);
  return out;
}

const frames = Buffer.concat([
  encodeStdcopyFrame(STDOUT, 'hello\n'),
  encodeStdcopyFrame(STDERR, 'oops\n'),
  encodeStdcopyFrame(STDOUT, ''),
  encodeStdcopyFrame(STDOUT, 'x'.repeat(70_000)),
  encodeStdcopyFrame(STDERR, 'bye'),
]);
const expected: Array<[number, string]> = [[1, 'hello\n'], [2, 'oops\n'], [1, ''], [1, 'x'.repeat(70_000)], [2, 'bye']];

test('several frames in one chunk', () => {
  assert.deepEqual(decodeAll([frames]), expected);
});

test('frames split at every possible offset (header and payload)', () => {
  const small = frames.subarray(0, 8 + 6 + 8 + 5 + 8);
  for (let i = 1; i < small.length; i++) {
    assert.deepEqual(decodeAll([small.subarray(0, i), small.subarray(i)]), expected.slice(0, 3), `split at ${i}`);
  }
});

test('one byte at a time', () => {
  const chunks: Buffer[] = [];
  for (let i = 0; i < frames.length; i += 1) chunks.push(frames.subarray(i, i + 1));
  assert.deepEqual(decodeAll(chunks), expected);
});

test('0-length frames are delivered, empty chunks ignored', () => {
  const z = encodeStdcopyFrame(STDERR, Buffer.alloc(0));
  assert.deepEqual(decodeAll([Buffer.alloc(0), z, Buffer.alloc(0), z]), [[2, ''], [2, '']]);
});

test('a bad stream byte is an error', () => {
  const d = new StdcopyDecoder(() => {});
  assert.throws(() => d.push(Buffer.from([9, 0, 0, 0, 0, 0, 0, 1, 65])), /bad stream byte 9/);
});

test('demuxStdcopy copies to stdout and stderr until the end', async () => {
  const out = new PassThrough();
  const err = new PassThrough();
  const o: Buffer[] = [];
  const e: Buffer[] = [];
  out.on('data', (b: Buffer) => o.push(b));
  err.on('data', (b: Buffer) => e.push(b));
  const chunks = [frames.subarray(0, 3), frames.subarray(3, 20), frames.subarray(20, 30_000), frames.subarray(30_000)];
  await demuxStdcopy(Readable.from(chunks), out, err);
  assert.equal(Buffer.concat(o).toString(), 'hello\n' + 'x'.repeat(70_000));
  assert.equal(Buffer.concat(e).toString(), 'oops\nbye');
});

test('demuxStdcopy rejects a stream that ends inside a frame', async () => {
  await assert.rejects(demuxStdcopy(Readable.from([frames.subarray(0, 10)]), null, null), /ended inside a frame/);
});
