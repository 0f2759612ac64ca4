import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { FrameBatch, FrameDecoder, FrameEncoder, MAX_FRAME_PAYLOAD, STDERR, STDOUT, decodeFrames, demux, encodeFrame, frameWriter } from './stdcopy.js';

test('stdcopy: header layout', () => {
  const f = encodeFrame(STDERR, 'hi');
  assert.deepEqual([...f], [2, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69]);
  assert.deepEqual([...encodeFrame(STDOUT, Buffer.alloc(0))], [1, 0, 0, 0, 0, 0, 0, 0]);
  const big = encodeFrame(STDOUT, Buffer.alloc(0x01020304 & 0xffff));
  assert.equal(big.readUInt32BE(4), 0x0304);
});

test('stdcopy: decoder handles frames split anywhere and several per chunk', () => {
  const all = Buffer.concat([encodeFrame(1, 'hello'), encodeFrame(2, ''), encodeFrame(2, 'err'), encodeFrame(1, 'x'.repeat(1000))]);
  for (const step of [1, 3, 7, 8, 9, 100, all.length]) {
    const dec = new FrameDecoder();
    const frames = [];
    for (let i = 0; i < all.length; i += step) frames.push(...dec.push(all.subarray(i, i + step)));
    dec.end();
    assert.deepEqual(frames.map((f) => [f.stream, f.payload.toString()]), [[1, 'hello'], [2, ''], [2, 'err'], [1, 'x'.repeat(1000)]], `step ${step}`);
  }
});

test('stdcopy: decoder rejects bad headers and truncated input', () => {
  assert.throws(() => new FrameDecoder().push(Buffer.from([7, 0, 0, 0, 0, 0, 0, 0])), /bad frame header/);
  assert.throws(() => new FrameDecoder().push(Buffer.from('hello world')), /bad frame header/);
  const dec = new FrameDecoder();
  dec.push(encodeFrame(1, 'abc').subarray(0, 9));
  assert.throws(() => dec.end(), /ended inside a frame/);
});

test('stdcopy: encoder transform splits large writes', async () => {
  const enc = new FrameEncoder(STDOUT);
  const payload = Buffer.alloc(MAX_FRAME_PAYLOAD * 2 + 5, 0x61);
  const frames = [];
  const it = decodeFrames(Readable.from([payload]).pipe(enc));
  for await (const f of it) frames.push(f);
  assert.deepEqual(frames.map((f) => f.payload.length), [MAX_FRAME_PAYLOAD, MAX_FRAME_PAYLOAD, 5]);
});

test('stdcopy: frame writers share one destination; demux splits them back', async () => {
  const wire = new PassThrough();
  const out = frameWriter(wire, STDOUT);
  const err = frameWriter(wire, STDERR);
  out.write('one ');
  err.write('E1');
  out.write('two');
  await new Promise((r) => setImmediate(r));
  wire.end();
  const so = new PassThrough();
  const se = new PassThrough();
  const n = await demux(wire, so, se);
  assert.deepEqual(n, { stdout: 7, stderr: 2 });
  assert.equal(so.read().toString(), 'one two');
  assert.equal(se.read().toString(), 'E1');
});

test('stdcopy: systemerr frame rejects with its message', async () => {
  await assert.rejects(demux(Readable.from([encodeFrame(1, 'a'), encodeFrame(3, 'boom')]), null, null), /boom/);
});

test('stdcopy: a FrameBatch holds the same frames as one encodeFrame each, across takes and a payload bigger than its buffer', () => {
  const batch = new FrameBatch();
  const big = Buffer.alloc(FrameBatch.SIZE + 10, 'b');
  const lines: [1 | 2, string, Buffer][] = [[1, '', Buffer.from('one\n')], [2, '2026-11-30T10:00:00.000000001Z ', Buffer.from('two\n')], [1, 'é ', Buffer.alloc(0)]];
  for (const [s, p, b] of lines) batch.add(s, b, p);
  assert.equal(batch.size, 3 * 8 + 4 + 31 + 4 + 3);
  const first = batch.take();
  assert.equal(batch.size, 0);
  batch.add(1, Buffer.from('x'));
  batch.add(2, big);
  const second = batch.take();
  const want = Buffer.concat([...lines.map(([s, p, b]) => encodeFrame(s, Buffer.concat([Buffer.from(p), b]))), encodeFrame(1, 'x'), encodeFrame(2, big)]);
  assert.deepEqual(Buffer.concat([first, second]), want);
  // Unframed (a TTY's stream): the bytes alone.
  batch.add(undefined, Buffer.from('raw'), 'T ');
  assert.equal(batch.take().toString(), 'T raw');
});
