// Detach keys (`--detach-keys`, default ctrl-p,ctrl-q): parsing and a stdin transform that stops at the sequence.
import { Transform, type TransformCallback } from 'node:stream';
import { errInvalid } from '../common/errors.js';

/** Docker's default detach sequence. */
export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** `ctrl-<c>` targets beyond letters: the ASCII control codes 0 and 27..31. */
const CTRL_SPECIAL: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

/**
 * Parse a detach-keys spec: comma-separated keys, each a single character (`a`) or
 * `ctrl-<x>` with x one of a-z, @, [, \, ], ^, _ (docker's format). Empty or undefined means the
 * default. Errors use dockerd's wording ("Invalid detach keys (...) provided").
 */
export function parseDetachKeys(spec: string | undefined): Buffer {
  const s = spec === undefined || spec === '' ? DEFAULT_DETACH_KEYS : spec;
  const out: number[] = [];
  for (const key of s.split(',')) {
    const norm = key.trim().toLowerCase();
    if (norm.length > 1 && norm.startsWith('ctrl-')) {
      const c = norm.slice(5);
      if (c.length === 1 && c >= 'a' && c <= 'z') out.push(c.charCodeAt(0) - 96);
      else if (c.length === 1 && c in CTRL_SPECIAL) out.push(CTRL_SPECIAL[c]!);
      else throw errInvalid(`Invalid detach keys (${s}) provided: Unknown character: '${c}'`);
    } else if (key.length === 1 && key.charCodeAt(0) < 0x80) {
      out.push(key.charCodeAt(0));
    } else {
      throw errInvalid(`Invalid detach keys (${s}) provided: Unknown character: '${key}'`);
    }
  }
  return Buffer.from(out);
}

/**
 * Passes stdin through until the detach sequence is typed, then emits 'detach' and ends its
 * output without the sequence. Bytes that start the sequence are held back until the next
 * byte decides; if the input ends with a partial match, the held bytes are passed on.
 * Matching is overlap-aware (`ctrl-p,ctrl-p,ctrl-q` after `ctrl-p` x3 still detaches).
 */
export class DetachKeysTransform extends Transform {
  private held: number[] = [];
  private detached = false;

  constructor(private readonly keys: Buffer) {
    super();
    if (keys.length === 0) throw errInvalid('detach keys: empty sequence');
  }

  /** True once the sequence was seen. */
  get didDetach(): boolean {
    return this.detached;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.detached) return cb();
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.held.length === 0 && b !== this.keys[0]) continue;
      // Bytes before the held run in this chunk are plain data.
      if (this.held.length === 0 && i > start) {
        this.push(chunk.subarray(start, i));
      }
      this.held.push(b);
      start = i + 1;
      // Keep the longest suffix of the held bytes that is still a prefix of the sequence.
      while (this.held.length && !this.isPrefix(this.held)) {
        this.push(Buffer.from([this.held.shift()!]));
      }
      if (this.held.length === this.keys.length) {
        this.held = [];
        this.detached = true;
        this.push(null);
        this.emit('detach');
        return cb();
      }
    }
    if (this.held.length === 0 && start < chunk.length) this.push(chunk.subarray(start));
    cb();
  }

  override _flush(cb: TransformCallback): void {
    if (!this.detached && this.held.length) this.push(Buffer.from(this.held));
    this.held = [];
    cb();
  }

  private isPrefix(bytes: number[]): boolean {
    if (bytes.length > this.keys.length) return false;
    return bytes.every((b, i) => b === this.keys[i]);
  }
}
