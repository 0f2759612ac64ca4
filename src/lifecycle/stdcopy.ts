// Docker's stdcopy framing (8-byte header: stream, 0, 0, 0, uint32 BE size; then the payload), as berth-shim writes attach streams.
import type { Readable, Writable } from 'node:stream';
import { errInvalid } from '../common/errors.js';

/** Stream numbers in a frame header (Docker's stdcopy: 0 stdin, 1 stdout, 2 stderr, 3 systemerr). */
export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const SYSTEMERR = 3;

const HEADER = 8;

/** Encode one frame (used by tests and by anything that re-frames output). */
export function encodeStdcopyFrame(stream: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const h = Buffer.alloc(HEADER);
  h[0] = stream;
  h.writeUInt32BE(body.length, 4);
  return Buffer.concat([h, body]);
}

/**
 * An incremental decoder: feed it chunks as they arrive (frames may be split anywhere or
 * several may share a chunk); it calls `onFrame` once per complete frame, 0-length ones included.
 */
export class StdcopyDecoder {
  private pending: Buffer[] = [];
  private pendingLen = 0;

  constructor(private readonly onFrame: (stream: number, payload: Buffer) => void) {}

  /** Bytes held back waiting for the rest of a frame. */
  get buffered(): number {
    return this.pendingLen;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.pending.push(chunk);
    this.pendingLen += chunk.length;
    // Join lazily: only when a whole frame is present, so a large frame arriving in many small
    // chunks is copied once, not once per chunk.
    while (this.pendingLen >= HEADER) {
      const head = this.peek(HEADER);
      const stream = head[0]!;
      if (stream > SYSTEMERR) throw errInvalid(`stdcopy: bad stream byte ${stream}`);
      const size = head.readUInt32BE(4);
      if (this.pendingLen < HEADER + size) return;
      const all = this.peek(HEADER + size);
      const payload = Buffer.from(all.subarray(HEADER, HEADER + size));
      this.consume(HEADER + size);
      this.onFrame(stream, payload);
    }
  }

  private peek(n: number): Buffer {
    if (this.pending[0]!.length < n) {
      const joined = Buffer.concat(this.pending, this.pendingLen);
      this.pending = [joined];
    }
    return this.pending[0]!.subarray(0, n);
  }

  private consume(n: number): void {
    const first = this.pending[0]!;
    this.pendingLen -= n;
    if (first.length === n) this.pending.shift();
    else this.pending[0] = first.subarray(n);
  }
}

/**
 * Copy a framed stream to `stdout` and `stderr` (Docker's `stdcopy.StdCopy`) until it ends.
 * Resolves when the source ends; rejects on a malformed frame, on a source error, or when the
 * source ends inside a frame. `systemerr` frames reject with their text as the message.
 * The destinations are not ended.
 */
export function demuxStdcopy(src: Readable, stdout: Writable | null, stderr: Writable | null): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let failed = false;
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      src.off('data', onData);
      reject(e);
    };
    const dec = new StdcopyDecoder((stream, payload) => {
      if (stream === SYSTEMERR) return fail(new Error(payload.toString()));
      const dst = stream === STDERR ? stderr : stdout;
      if (dst && payload.length && !dst.write(payload)) {
        // Respect the destination's back-pressure rather than buffer without bound.
        src.pause();
        dst.once('drain', () => src.resume());
      }
    });
    const onData = (chunk: Buffer) => {
      try {
        dec.push(chunk);
      } catch (e) {
        fail(e as Error);
      }
    };
    src.on('data', onData);
    src.once('error', fail);
    const onEnd = () => {
      if (dec.buffered > 0) fail(errInvalid(`stdcopy: stream ended inside a frame (${dec.buffered} bytes left)`));
      else if (!failed) {
        failed = true;
        resolve();
      }
    };
    src.once('end', onEnd);
    // A socket destroyed without a FIN (peer reset) emits 'close' but no 'end'.
    src.once('close', onEnd);
    // An explicitly paused source (as ShimClient hands attach streams over) does not start
    // flowing when a 'data' listener is added.
    src.resume();
  });
}
