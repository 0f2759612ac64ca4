// Streaming tar reader: ustar, PAX (x/g, binary SCHILY.xattr), GNU long names; no whole-file buffering.
//
// Facts used (POSIX.1-2017 pax "ustar Interchange Format" and "pax Extended Header", GNU tar
// manual "Basic Tar Format"): 512-byte blocks; numeric fields are octal text, or GNU base-256
// when the first byte has its high bit set; the checksum is the sum of the header bytes with
// the checksum field read as spaces (historic writers summed signed chars, so both sums are
// accepted); a PAX record is "<len> <key>=<value>\n" where <len> counts the whole record, so
// values are length-delimited bytes and may hold NULs and invalid UTF-8 (xattr values do).
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { BerthError } from '../../common/errors.js';

/** The kinds of entries Berth extracts; the other tar types are rejected or skipped. */
export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** One archive member, with every PAX override already applied. */
export interface TarEntry {
  /** The path as stored (PAX `path`, GNU long name or prefix/name); directories usually end in `/`. */
  name: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (`& 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Body size in bytes (0 for everything but files). */
  size: number;
  mtime: Date;
  /** Symlink target or hardlink target path ('' otherwise). */
  linkname: string;
  devmajor: number;
  devminor: number;
  uname: string;
  gname: string;
  /** Extended attributes from `SCHILY.xattr.*` (and `LIBARCHIVE.xattr.*`), values as raw bytes. */
  xattrs: Record<string, Buffer>;
  /** The PAX records in force for this entry (global and local), xattr records excluded. */
  pax: Record<string, string>;
}

const BLOCK = 512;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

const invalid = (msg: string) => new BerthError('invalid-argument', `tar: ${msg}`);

/**
 * A pull-based byte source over a stream's chunks. Small reads (headers) are served from the
 * current chunk without copying when they fit; bodies are handed out as chunk slices.
 */
class ByteSource {
  private it: AsyncIterator<Buffer>;
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private eof = false;
  /** Absolute offset of the next unread byte in the archive. */
  offset = 0;

  constructor(input: AsyncIterable<Buffer | Uint8Array | string>) {
    this.it = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  get available(): number {
    return this.buf.length - this.pos;
  }

  /** Load the next chunk; false at end of input. */
  async fill(): Promise<boolean> {
    if (this.eof) return false;
    for (;;) {
      const r = await this.it.next();
      if (r.done) {
        this.eof = true;
        return false;
      }
      let chunk = r.value as Buffer | Uint8Array | string;
      if (typeof chunk === 'string') chunk = Buffer.from(chunk);
      else if (!Buffer.isBuffer(chunk)) chunk = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (chunk.length === 0) continue;
      const rest = this.available;
      // Keep a partial tail (at most one header's worth in practice) in front of the new chunk.
      this.buf = rest > 0 ? Buffer.concat([this.buf.subarray(this.pos), chunk as Buffer]) : (chunk as Buffer);
      this.pos = 0;
      return true;
    }
  }

  /** Exactly `n` bytes, or however many remain before the end of input (fewer means truncated). */
  async read(n: number): Promise<Buffer> {
    if (this.available >= n) return this.takeSync(n);
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      if (this.available === 0 && !(await this.fill())) break;
      const b = this.takeSync(Math.min(need, this.available));
      parts.push(b);
      need -= b.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Up to `max` bytes from the current chunk, without waiting (empty when the chunk is used up). */
  takeSync(max: number): Buffer {
    const n = Math.min(max, this.available);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.offset += n;
    return b;
  }

  /** Discard `n` bytes; returns how many were really skipped. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      if (this.available === 0 && !(await this.fill())) break;
      left -= this.takeSync(left).length;
    }
    return n - left;
  }

  /** Consume the rest of the input (records padding after the end marker), so the producer finishes. */
  async drain(): Promise<void> {
    this.takeSync(this.available);
    while (await this.fill()) this.takeSync(this.available);
  }

  /** Stop reading early: lets the underlying stream be destroyed. */
  async close(): Promise<void> {
    this.eof = true;
    await this.it.return?.();
  }
}

/** Field offsets of the ustar header (POSIX pax, "ustar Interchange Format"). */
const F = {
  name: [0, 100], mode: [100, 8], uid: [108, 8], gid: [116, 8], size: [124, 12], mtime: [136, 12],
  chksum: [148, 8], typeflag: [156, 1], linkname: [157, 100], magic: [257, 6], version: [263, 2],
  uname: [265, 32], gname: [297, 32], devmajor: [329, 8], devminor: [337, 8], prefix: [345, 155],
} as const;

function cstr(h: Buffer, [off, len]: readonly [number, number]): Buffer {
  const f = h.subarray(off, off + len);
  const z = f.indexOf(0);
  return z < 0 ? f : f.subarray(0, z);
}

/**
 * A numeric header field: octal text (leading spaces/NULs allowed, ended by NUL or space), or
 * GNU base-256 (first byte 0x80 positive, 0xff negative two's complement) for values that do not fit.
 */
export function parseNumeric(f: Buffer): number {
  if (f.length > 0 && (f[0]! & 0x80) !== 0) {
    const negative = f[0] === 0xff;
    let v = 0n;
    for (let i = 0; i < f.length; i++) {
      const b = i === 0 ? (negative ? 0xff : f[0]! & 0x7f) : f[i]!;
      v = (v << 8n) | BigInt(b);
    }
    if (negative) v -= 1n << BigInt(8 * f.length);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new RangeError('base-256 value out of range');
    return Number(v);
  }
  let i = 0;
  while (i < f.length && (f[i] === 0x20 || f[i] === 0)) i++;
  let v = 0;
  let digits = 0;
  for (; i < f.length; i++) {
    const c = f[i]!;
    if (c === 0x20 || c === 0) break;
    if (c < 0x30 || c > 0x37) throw new RangeError(`bad octal digit 0x${c.toString(16)}`);
    v = v * 8 + (c - 0x30);
    digits++;
  }
  for (; i < f.length; i++) if (f[i] !== 0x20 && f[i] !== 0) throw new RangeError('junk after octal number');
  if (digits === 0) return 0;
  return v;
}

/** Both historic checksums: unsigned and signed byte sums, checksum field counted as spaces. */
function checksums(h: Buffer): { unsigned: number; signed: number } {
  let u = 0;
  let s = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    u += b;
    s += b > 127 ? b - 256 : b;
  }
  return { unsigned: u, signed: s };
}

/** Parse a PAX extended header body into records; values stay bytes (xattrs are binary). */
export function parsePaxRecords(body: Buffer): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  let p = 0;
  while (p < body.length) {
    // GNU tar and others pad the last block with NULs; stop there.
    if (body[p] === 0) break;
    const sp = body.indexOf(0x20, p);
    if (sp < 0 || sp - p > 20) throw new RangeError(`bad PAX record at byte ${p}`);
    const lenText = body.toString('latin1', p, sp);
    if (!/^[0-9]+$/.test(lenText)) throw new RangeError(`bad PAX record length "${lenText}"`);
    const len = Number(lenText);
    const end = p + len;
    if (len <= sp - p + 1 || end > body.length || body[end - 1] !== 0x0a) throw new RangeError(`bad PAX record at byte ${p}`);
    const eq = body.indexOf(0x3d, sp + 1);
    if (eq < 0 || eq >= end) throw new RangeError(`PAX record without "=" at byte ${p}`);
    out.push([body.toString('utf8', sp + 1, eq), body.subarray(eq + 1, end - 1)]);
    p = end;
  }
  return out;
}

/** PAX records in force: the value Buffer, or null when a local record deletes a global one. */
type PaxMap = Map<string, Buffer | null>;

function mergePax(into: PaxMap, records: Array<[string, Buffer]>, local: boolean): void {
  for (const [k, v] of records) {
    // POSIX: an empty value in an `x` header means "use the header field", undoing a `g` value.
    if (v.length === 0) {
      if (local) into.set(k, null);
      else into.delete(k);
    } else into.set(k, v);
  }
}

function paxNumber(v: Buffer, key: string): number {
  const s = v.toString('latin1');
  if (!/^-?[0-9]+$/.test(s)) throw new RangeError(`bad PAX ${key} "${s}"`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new RangeError(`PAX ${key} out of range`);
  return n;
}

function paxTime(v: Buffer): Date {
  const s = v.toString('latin1');
  const m = /^(-?)([0-9]+)(?:\.([0-9]*))?$/.exec(s);
  if (!m) throw new RangeError(`bad PAX mtime "${s}"`);
  const sec = Number(m[2]);
  const frac = m[3] ? Number(`0.${m[3]}`) : 0;
  const ms = Math.floor((sec + frac) * 1000 + 1e-6);
  return new Date(m[1] ? -ms : ms);
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo',
  // GNU "dumpdir": a directory followed by a listing of its names, which extraction ignores.
  D: 'dir',
};

/**
 * The pull parser under {@link readTar}: `next()` yields the next entry's header; the body is
 * then read with `bodyChunkSync`/`bodyChunk` (or left, and skipped by the next `next()`).
 * Used directly by the layer applier, which writes each chunk as it comes.
 */
export class TarParser {
  private src: ByteSource;
  private globalPax: PaxMap = new Map();
  private pad = 0;
  private done = false;
  private current = '';
  private currentAt = 0;
  /** Body bytes of the current entry not read yet. */
  remaining = 0;

  constructor(input: AsyncIterable<Buffer | Uint8Array | string>) {
    this.src = new ByteSource(input);
  }

  /** Offset in the (uncompressed) archive of the next unread byte. */
  get offset(): number {
    return this.src.offset;
  }

  private err(msg: string, name: string, offset: number): BerthError {
    return invalid(`entry ${JSON.stringify(name)} at offset ${offset}: ${msg}`);
  }

  /** Read a header block; null at clean end of archive. */
  private async header(): Promise<Buffer | null> {
    const at = this.src.offset;
    const h = await this.src.read(BLOCK);
    if (h.length === 0) return null; // EOF on a block boundary without end marker: accepted, as GNU tar and Go do
    if (h.length < BLOCK) throw this.err('archive truncated inside a header', this.current || '?', at);
    if (h.equals(ZERO_BLOCK)) {
      const at2 = this.src.offset;
      const h2 = await this.src.read(BLOCK);
      if (h2.length === 0) return null; // one zero block then EOF: tolerated like GNU tar ("A lone zero block")
      if (!h2.equals(ZERO_BLOCK)) throw this.err('a single zero block inside the archive', this.current || '?', at2);
      return null;
    }
    return h;
  }

  private async bodyBytes(size: number, name: string, what: string): Promise<Buffer> {
    const at = this.src.offset;
    // Meta bodies (PAX, long names) are small; cap them so a hostile size cannot exhaust memory.
    if (size > 16 << 20) throw this.err(`${what} of ${size} bytes is too large`, name, at);
    const b = await this.src.read(size);
    if (b.length < size) throw this.err(`archive truncated inside the ${what}`, name, at);
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if ((await this.src.skip(pad)) < pad) throw this.err(`archive truncated inside the ${what}`, name, at);
    return Buffer.from(b); // copy: the slice may alias a chunk the stream reuses
  }

  /** The next entry, or null after the end-of-archive marker. Skips any unread body first. */
  async next(): Promise<TarEntry | null> {
    if (this.done) return null;
    if (this.remaining + this.pad > 0) {
      const want = this.remaining + this.pad;
      if ((await this.src.skip(want)) < want) throw this.err(`archive truncated inside the body (input ends at byte ${this.src.offset})`, this.current, this.currentAt);
      this.remaining = 0;
      this.pad = 0;
    }
    let localPax: PaxMap | null = null;
    let longName: Buffer | null = null;
    let longLink: Buffer | null = null;
    for (;;) {
      const at = this.src.offset;
      const h = await this.header();
      if (!h) {
        this.done = true;
        if (localPax || longName || longLink) throw this.err('archive ends after an extended header', this.current || '?', at);
        await this.src.drain();
        return null;
      }
      const rawName = cstr(h, F.name).toString('utf8');
      const sums = checksums(h);
      let stored: number;
      try {
        stored = parseNumeric(h.subarray(148, 156));
      } catch {
        throw this.err('bad header (checksum field is not a number)', rawName, at);
      }
      if (stored !== sums.unsigned && stored !== sums.signed) throw this.err(`bad header checksum (stored ${stored}, computed ${sums.unsigned})`, rawName, at);
      const flag = String.fromCharCode(h[156]!);
      const num = (field: readonly [number, number], what: string): number => {
        try {
          return parseNumeric(h.subarray(field[0], field[0] + field[1]));
        } catch (e) {
          throw this.err(`bad ${what} field: ${(e as Error).message}`, rawName, at);
        }
      };
      const hsize = num(F.size, 'size');
      if (hsize < 0) throw this.err('negative size', rawName, at);
      switch (flag) {
        case 'x':
        case 'g': {
          const body = await this.bodyBytes(hsize, rawName, 'PAX header');
          let recs: Array<[string, Buffer]>;
          try {
            recs = parsePaxRecords(body);
          } catch (e) {
            throw this.err((e as Error).message, rawName, at);
          }
          if (flag === 'g') mergePax(this.globalPax, recs, false);
          else mergePax((localPax ??= new Map()), recs, true);
          continue;
        }
        case 'L':
        case 'K': {
          const body = await this.bodyBytes(hsize, rawName, flag === 'L' ? 'GNU long name' : 'GNU long link');
          const z = body.indexOf(0);
          const v = z < 0 ? body : body.subarray(0, z);
          if (flag === 'L') longName = v;
          else longLink = v;
          continue;
        }
        case 'S':
          throw this.err('GNU sparse files are not supported (re-create the archive without --sparse)', rawName, at);
        case 'M':
          throw this.err('GNU multi-volume continuation entries are not supported', rawName, at);
        case 'V': {
          // A GNU volume label describes the archive, not a file.
          await this.bodyBytes(hsize, rawName, 'volume label');
          localPax = null;
          longName = longLink = null;
          continue;
        }
        default:
          break;
      }
      const type = TYPES[flag];
      if (!type) throw this.err(`unsupported entry type ${JSON.stringify(flag)}`, rawName, at);

      // Only POSIX ustar ("ustar\0") has the prefix field; GNU's "ustar  \0" keeps atime/ctime there.
      const magic = h.toString('latin1', 257, 263);
      let name = rawName;
      if (magic === 'ustar\0') {
        const prefix = cstr(h, F.prefix);
        if (prefix.length > 0) name = `${prefix.toString('utf8')}/${rawName}`;
      }
      if (longName) name = longName.toString('utf8');
      let linkname = longLink ? longLink.toString('utf8') : cstr(h, F.linkname).toString('utf8');

      const e: TarEntry = {
        name, type, mode: num(F.mode, 'mode') & 0o7777, uid: num(F.uid, 'uid'), gid: num(F.gid, 'gid'),
        size: hsize, mtime: new Date(num(F.mtime, 'mtime') * 1000), linkname,
        devmajor: type === 'char' || type === 'block' ? num(F.devmajor, 'devmajor') : 0,
        devminor: type === 'char' || type === 'block' ? num(F.devminor, 'devminor') : 0,
        uname: cstr(h, F.uname).toString('utf8'), gname: cstr(h, F.gname).toString('utf8'), xattrs: {}, pax: {},
      };
      const pax: PaxMap = localPax ? new Map([...this.globalPax, ...localPax]) : this.globalPax;
      if (pax.size > 0) {
        try {
          this.applyPax(e, pax);
        } catch (err) {
          throw this.err((err as Error).message, e.name, at);
        }
      }
      if (e.size < 0 || !Number.isSafeInteger(e.size)) throw this.err('bad size', e.name, at);
      // Only regular files carry data; a size on a link or directory header is ignored (GNU tar does the same
      // for hardlinks, which may repeat the target's size). Directories' dumpdir data is skipped.
      const bodySize = type === 'file' || flag === 'D' ? e.size : 0;
      if (type !== 'file') e.size = 0;
      if (flag === 'D') {
        const skip = bodySize + ((BLOCK - (bodySize % BLOCK)) % BLOCK);
        if ((await this.src.skip(skip)) < skip) throw this.err(`archive truncated inside the body (input ends at byte ${this.src.offset})`, e.name, at);
        this.remaining = 0;
        this.pad = 0;
      } else {
        this.remaining = bodySize;
        this.pad = (BLOCK - (bodySize % BLOCK)) % BLOCK;
      }
      this.current = e.name;
      this.currentAt = at;
      return e;
    }
  }

  private applyPax(e: TarEntry, pax: PaxMap): void {
    for (const [k, v] of pax) {
      if (v === null) continue;
      if (k.startsWith('SCHILY.xattr.')) {
        e.xattrs[k.slice('SCHILY.xattr.'.length)] = Buffer.from(v);
        continue;
      }
      if (k.startsWith('LIBARCHIVE.xattr.')) {
        // libarchive: URL-encoded name, base64 value.
        e.xattrs[decodeURIComponent(k.slice('LIBARCHIVE.xattr.'.length))] = Buffer.from(v.toString('latin1'), 'base64');
        continue;
      }
      if (k.startsWith('GNU.sparse.')) throw new RangeError('GNU sparse files are not supported (PAX GNU.sparse records)');
      const s = v.toString('utf8');
      e.pax[k] = s;
      switch (k) {
        case 'path': e.name = s; break;
        case 'linkpath': e.linkname = s; break;
        case 'size': e.size = paxNumber(v, k); break;
        case 'uid': e.uid = paxNumber(v, k); break;
        case 'gid': e.gid = paxNumber(v, k); break;
        case 'uname': e.uname = s; break;
        case 'gname': e.gname = s; break;
        case 'mtime': e.mtime = paxTime(v); break;
        default: break;
      }
    }
  }

  /** Up to `max` body bytes already buffered, without waiting; empty if a read must wait. */
  bodyChunkSync(max = Infinity): Buffer {
    const b = this.src.takeSync(Math.min(max, this.remaining));
    this.remaining -= b.length;
    return b;
  }

  /** The next piece of the current body; null when the body is done. Fails on truncation. */
  async bodyChunk(max = Infinity): Promise<Buffer | null> {
    if (this.remaining === 0) return null;
    if (this.src.available === 0 && !(await this.src.fill())) {
      throw this.err(`archive truncated inside the body (input ends at byte ${this.src.offset})`, this.current, this.currentAt);
    }
    return this.bodyChunkSync(max);
  }

  /** Stop early (consumer gave up): releases the input stream. */
  async close(): Promise<void> {
    await this.src.close();
  }
}

/**
 * Read a tar stream entry by entry. Nothing is buffered beyond one input chunk: each body is a
 * Readable fed straight from the input.
 *
 * Contract: consume each `body` (read it to the end, pipe it, or call `body.resume()` to discard
 * it) before asking for the next entry. Asking early is safe: the iterator then resumes the body
 * itself and waits for its end, so data still reaches any pipe but backpressure is lost.
 *
 * Fails with BerthError('invalid-argument') naming the entry and byte offset on a bad checksum,
 * bad field, unsupported type (GNU sparse, multi-volume) or a truncated archive.
 *
 * @example
 * for await (const { entry, body } of readTar(createReadStream('layer.tar'))) {
 *   if (entry.type === 'file') await pipeline(body, createWriteStream(out)); else body.resume();
 * }
 */
export async function* readTar(input: Readable | AsyncIterable<Buffer>): AsyncGenerator<{ entry: TarEntry; body: Readable }> {
  const p = new TarParser(input);
  let clean = false;
  try {
    for (;;) {
      const entry = await p.next();
      if (!entry) {
        clean = true;
        return;
      }
      let ended = false;
      let failed: unknown = null;
      let inflight: Promise<unknown> | null = null;
      const body = new Readable({
        highWaterMark: 64 * 1024,
        read(size) {
          inflight = p.bodyChunk(Math.max(size, 16 * 1024)).then(
            (c) => {
              if (c === null) {
                ended = true;
                this.push(null);
              } else this.push(c); // input chunks are never reused by their stream, so a slice is safe to hand out
            },
            (err: unknown) => {
              failed = err;
              this.destroy(err as Error);
            },
          );
        },
      });
      if (entry.size === 0) {
        ended = true;
        body.push(null);
      }
      yield { entry, body };
      if (!ended && !body.destroyed) {
        const done = finished(body);
        body.resume();
        await done.catch(() => undefined);
      }
      // A consumer that destroyed the body may have left a read in flight; next() skips the rest.
      if (inflight) await (inflight as Promise<unknown>).catch(() => undefined);
      if (failed) throw failed;
    }
  } finally {
    if (!clean) await p.close().catch(() => undefined);
  }
}
