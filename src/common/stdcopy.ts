// Docker's stdcopy multiplexing for attach/exec/logs without a TTY: an 8-byte header per frame, then the payload.
//
// Header: [stream, 0, 0, 0, size uint32 big-endian]; stream 0 stdin, 1 stdout, 2 stderr, 3 systemerr
// (an error from the daemon, after which the stream ends). See the Engine API's attach docs.
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { errInvalid } from '../common/errors.js';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const SYSTEMERR = 3;
export type StreamId = 0 | 1 | 2 | 3;

export const FRAME_HEADER_SIZE = 8;
/** Largest payload put in one frame by the encoders; bigger writes are split (dockerd uses 32 KiB buffers too). */
export const MAX_FRAME_PAYLOAD = 32 * 1024;

/** The 8-byte header of a frame. */
export function frameHeader(stream: StreamId, size: number): Buffer {
  const h = Buffer.alloc(FRAME_HEADER_SIZE);
  h[0] = stream;
  h.writeUInt32BE(size, 4);
  return h;
}

/** One whole frame. */
export function encodeFrame(stream: StreamId, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([frameHeader(stream, body.length), body]);
}

/**
 * Frames gathered in one buffer, so that a long run of small entries (a past log) goes out in a
 * few large writes: one write per entry costs an HTTP chunk and a stream round each, which made
 * a long `logs` CPU-bound in berthd. `stream` undefined adds the payload unframed (a TTY's).
 */
export class FrameBatch {
  static readonly SIZE = 64 * 1024;
  private buf = Buffer.allocUnsafe(FrameBatch.SIZE);
  private len = 0;

  get size(): number {
    return this.len;
  }

  /** One frame of `prefix` (UTF-8) then `payload`. */
  add(stream: StreamId | undefined, payload: Buffer, prefix = ''): void {
    const plen = prefix ? Buffer.byteLength(prefix) : 0;
    const head = stream === undefined ? 0 : FRAME_HEADER_SIZE;
    const need = head + plen + payload.length;
    if (this.len + need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.len + need));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    if (head) {
      this.buf.writeUInt32BE(0, this.len);
      this.buf[this.len] = stream!;
      this.buf.writeUInt32BE(plen + payload.length, this.len + 4);
      this.len += head;
    }
    if (plen) this.len += this.buf.write(prefix, this.len, 'utf8');
    this.len += payload.copy(this.buf, this.len);
  }

  /** What was added since the last take; the batch starts empty again (the buffer given out is not reused). */
  take(): Buffer {
    const out = this.buf.subarray(0, this.len);
    this.buf = Buffer.allocUnsafe(FrameBatch.SIZE);
    this.len = 0;
    return out;
  }
}

/**
 * A writable that frames everything written to it as `stream` and writes the frames to `dst`
 * (several such writers share one socket: one for stdout, one for stderr). It never ends `dst`.
 * Back-pressure from `dst` is passed on.
 */
export function frameWriter(dst: NodeJS.WritableStream, stream: StreamId): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      let ok = true;
      for (let off = 0; off < chunk.length; off += MAX_FRAME_PAYLOAD) {
        const part = chunk.subarray(off, off + MAX_FRAME_PAYLOAD);
        ok = dst.write(Buffer.concat([frameHeader(stream, part.length), part]));
      }
      if (ok) cb();
      else dst.once('drain', () => cb());
    },
  });
}

/** A transform that frames its input as one stream: raw bytes in, stdcopy frames out. */
export class FrameEncoder extends Transform {
  constructor(private readonly stream: StreamId) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    for (let off = 0; off < chunk.length; off += MAX_FRAME_PAYLOAD) {
      const part = chunk.subarray(off, off + MAX_FRAME_PAYLOAD);
      this.push(frameHeader(this.stream, part.length));
      this.push(part);
    }
    cb();
  }
}

/** One decoded frame. */
export interface Frame {
  stream: StreamId;
  payload: Buffer;
}

/**
 * Incremental decoder: `push` chunks split anywhere; complete frames come back in order.
 * A header with a stream byte above 3 or non-zero padding is invalid-argument (the peer is
 * not speaking stdcopy, e.g. a TTY stream read as multiplexed).
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Frame[] = [];
    while (this.buf.length >= FRAME_HEADER_SIZE) {
      const stream = this.buf[0]!;
      if (stream > SYSTEMERR || this.buf[1] !== 0 || this.buf[2] !== 0 || this.buf[3] !== 0) {
        throw errInvalid(`stdcopy: bad frame header ${this.buf.subarray(0, FRAME_HEADER_SIZE).toString('hex')}`);
      }
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < FRAME_HEADER_SIZE + size) break;
      out.push({ stream: stream as StreamId, payload: Buffer.from(this.buf.subarray(FRAME_HEADER_SIZE, FRAME_HEADER_SIZE + size)) });
      this.buf = this.buf.subarray(FRAME_HEADER_SIZE + size);
    }
    return out;
  }

  /** Call at end of input: throws when the input ended inside a frame. */
  end(): void {
    if (this.buf.length) throw errInvalid(`stdcopy: stream ended inside a frame (${this.buf.length} bytes left)`);
  }
}

/** Decode a framed byte stream as an async iterable of frames. */
export async function* decodeFrames(src: AsyncIterable<Buffer | string> | Iterable<Buffer | string>): AsyncGenerator<Frame> {
  const dec = new FrameDecoder();
  for await (const chunk of src) {
    yield* dec.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  dec.end();
}

/**
 * Docker's StdCopy: copy a framed stream to `stdout`/`stderr` until it ends. A systemerr frame
 * rejects with its text. Returns the bytes written per stream. Destinations are not ended.
 */
export async function demux(
  src: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  stdout: NodeJS.WritableStream | null,
  stderr: NodeJS.WritableStream | null,
): Promise<{ stdout: number; stderr: number }> {
  const n = { stdout: 0, stderr: 0 };
  for await (const f of decodeFrames(src)) {
    if (f.stream === SYSTEMERR) throw new Error(f.payload.toString());
    const dst = f.stream === STDERR ? stderr : stdout;
    if (f.stream === STDERR) n.stderr += f.payload.length;
    else n.stdout += f.payload.length;
    if (dst && f.payload.length && !dst.write(f.payload)) await new Promise((r) => dst.once('drain', r));
  }
  return n;
}
