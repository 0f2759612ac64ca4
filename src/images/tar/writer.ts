// Deterministic tar writer: ustar headers, plus a PAX header only for what ustar cannot hold.
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { once } from 'node:events';
import { BerthError } from '../../common/errors.js';
import type { TarEntry, TarEntryType } from './reader.js';

/** What {@link TarWriter.add} takes: a {@link TarEntry} where everything but name and type may be left out. */
export type TarWriteEntry = Pick<TarEntry, 'name' | 'type'> & Partial<Omit<TarEntry, 'name' | 'type'>>;

const BLOCK = 512;
const OCTAL_MAX_8 = 0o7777777; // 7 digits + NUL
const OCTAL_MAX_12 = 0o77777777777; // 11 digits + NUL

const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6',
};

const invalid = (msg: string) => new BerthError('invalid-argument', `tar writer: ${msg}`);

function putString(h: Buffer, off: number, len: number, b: Buffer): void {
  b.copy(h, off, 0, Math.min(len, b.length));
}

function putOctal(h: Buffer, off: number, len: number, v: number): void {
  const s = v.toString(8).padStart(len - 1, '0');
  h.write(s, off, len - 1, 'latin1');
  h[off + len - 1] = 0;
}

/** GNU base-256: for device numbers, which have no PAX keyword. */
function putBase256(h: Buffer, off: number, len: number, v: number): void {
  let x = BigInt(v);
  for (let i = off + len - 1; i > off; i--) {
    h[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  h[off] = 0x80;
}

/** One PAX record, "<len> <key>=<value>\n", where <len> counts its own digits. */
function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(key) + value.length + 3; // ' ', '=', '\n'
  let len = rest + String(rest).length;
  if (String(len).length !== String(rest).length) len = rest + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`), value, Buffer.from('\n')]);
}

/** Split a long name into ustar prefix (<=155 bytes) and name (<=100 bytes) at a '/', if possible. */
function splitUstar(name: Buffer): [Buffer, Buffer] | null {
  if (name.length <= 100) return [Buffer.alloc(0), name];
  if (name.length > 256) return null;
  // The rightmost slash that leaves a name part of at most 100 bytes keeps the prefix shortest.
  for (let i = Math.max(0, name.length - 101); i < name.length && i <= 155; i++) {
    if (name[i] !== 0x2f) continue;
    const n = name.subarray(i + 1);
    if (i > 0 && n.length > 0 && n.length <= 100) return [name.subarray(0, i), n];
  }
  return null;
}

function checksum(h: Buffer): void {
  h.fill(0x20, 148, 156);
  let s = 0;
  for (let i = 0; i < BLOCK; i++) s += h[i]!;
  h.write(s.toString(8).padStart(6, '0'), 148, 6, 'latin1');
  h[154] = 0;
  h[155] = 0x20;
}

function pad(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/**
 * Writes a tar stream: POSIX ustar headers, preceded by a PAX `x` header only when an entry
 * needs one (path or link name that ustar cannot hold, size >= 8 GiB, ids >= 2^21, names of
 * more than 32 bytes, mtimes before 1970 or past 2242, xattrs as `SCHILY.xattr.*`, or extra
 * `pax` records). Output is deterministic: same entries and bodies give the same bytes (PAX
 * records sorted by key, PAX header names derived from the entry name, no pid or clock).
 * mtimes are written in whole seconds.
 *
 * @example
 * const w = new TarWriter(createWriteStream('x.tar'));
 * await w.add({ name: 'etc/', type: 'dir', mode: 0o755 });
 * await w.add({ name: 'etc/hostname', type: 'file', mode: 0o644 }, Buffer.from('box\n'));
 * await w.finish();
 */
export class TarWriter {
  private finished = false;
  private busy = false;

  constructor(private readonly out: Writable) {}

  private async write(b: Buffer): Promise<void> {
    if (this.out.destroyed) throw new BerthError('cancelled', 'tar writer: output stream closed');
    if (!this.out.write(b)) {
      // The loser's listeners are removed: a long write waits for 'drain' thousands of times.
      const ac = new AbortController();
      try {
        await Promise.race([
          once(this.out, 'drain', { signal: ac.signal }),
          once(this.out, 'close', { signal: ac.signal }).then(() => {
            throw new BerthError('cancelled', 'tar writer: output stream closed');
          }),
        ]);
      } finally {
        ac.abort();
      }
    }
  }

  /** Encode the header blocks (PAX header included) of one entry. */
  static headers(e: TarWriteEntry, size: number): Buffer {
    const records = new Map<string, Buffer>();
    const name = Buffer.from(e.type === 'dir' && !e.name.endsWith('/') ? `${e.name}/` : e.name);
    if (name.length === 0) throw invalid('empty entry name');
    const linkname = Buffer.from(e.linkname ?? '');
    if ((e.type === 'symlink' || e.type === 'hardlink') && linkname.length === 0) throw invalid(`entry ${JSON.stringify(e.name)}: ${e.type} without a target`);
    const uname = Buffer.from(e.uname ?? '');
    const gname = Buffer.from(e.gname ?? '');
    const uid = e.uid ?? 0;
    const gid = e.gid ?? 0;
    const mtimeMs = e.mtime ? e.mtime.getTime() : 0;
    if (Number.isNaN(mtimeMs)) throw invalid(`entry ${JSON.stringify(e.name)}: invalid mtime`);
    const mtime = Math.floor(mtimeMs / 1000);
    for (const [what, v] of [['uid', uid], ['gid', gid], ['size', size]] as const) {
      if (!Number.isSafeInteger(v) || v < 0) throw invalid(`entry ${JSON.stringify(e.name)}: bad ${what} ${v}`);
    }

    let split = splitUstar(name);
    if (!split) {
      records.set('path', name);
      // The header name still says something useful to a reader without PAX support.
      split = [Buffer.alloc(0), name.subarray(0, 100)];
    }
    if (linkname.length > 100) records.set('linkpath', linkname);
    if (size > OCTAL_MAX_12) records.set('size', Buffer.from(String(size)));
    if (uid > OCTAL_MAX_8) records.set('uid', Buffer.from(String(uid)));
    if (gid > OCTAL_MAX_8) records.set('gid', Buffer.from(String(gid)));
    if (uname.length > 32) records.set('uname', uname);
    if (gname.length > 32) records.set('gname', gname);
    if (mtime < 0 || mtime > OCTAL_MAX_12) records.set('mtime', Buffer.from(String(mtime)));
    for (const [k, v] of Object.entries(e.pax ?? {})) if (!records.has(k)) records.set(k, Buffer.from(v));
    for (const [k, v] of Object.entries(e.xattrs ?? {})) {
      if (k.includes('=') || k.length === 0) throw invalid(`entry ${JSON.stringify(e.name)}: bad xattr name ${JSON.stringify(k)}`);
      records.set(`SCHILY.xattr.${k}`, Buffer.from(v));
    }

    const h = Buffer.alloc(BLOCK);
    putString(h, 0, 100, split[1]);
    putOctal(h, 100, 8, (e.mode ?? (e.type === 'dir' ? 0o755 : 0o644)) & 0o7777);
    putOctal(h, 108, 8, uid > OCTAL_MAX_8 ? 0 : uid);
    putOctal(h, 116, 8, gid > OCTAL_MAX_8 ? 0 : gid);
    putOctal(h, 124, 12, size > OCTAL_MAX_12 ? 0 : size);
    putOctal(h, 136, 12, mtime < 0 || mtime > OCTAL_MAX_12 ? 0 : mtime);
    h.write(TYPEFLAG[e.type], 156, 1, 'latin1');
    putString(h, 157, 100, linkname);
    h.write('ustar\x0000', 257, 8, 'latin1');
    putString(h, 265, 32, uname);
    putString(h, 297, 32, gname);
    const dev = e.type === 'char' || e.type === 'block';
    for (const [off, v] of [[329, dev ? e.devmajor ?? 0 : 0], [337, dev ? e.devminor ?? 0 : 0]] as const) {
      if (v > OCTAL_MAX_8) putBase256(h, off, 8, v);
      else putOctal(h, off, 8, v);
    }
    putString(h, 345, 155, split[0]);
    checksum(h);
    if (records.size === 0) return h;

    const keys = [...records.keys()].sort();
    const body = Buffer.concat(keys.map((k) => paxRecord(k, records.get(k)!)));
    // The PAX header's own name follows Go's "dir/PaxHeaders.0/base" (GNU tar puts its pid there).
    const slash = name.lastIndexOf(0x2f, name.length - 2);
    const base = name.subarray(slash + 1).toString('utf8').replace(/\/$/, '');
    const dir = slash > 0 ? name.subarray(0, slash).toString('utf8') : '';
    let paxName = Buffer.from(`${dir ? `${dir}/` : ''}PaxHeaders.0/${base}`);
    if (paxName.length > 100) paxName = paxName.subarray(0, 100);
    const ph = Buffer.alloc(BLOCK);
    putString(ph, 0, 100, paxName);
    putOctal(ph, 100, 8, 0o644);
    putOctal(ph, 108, 8, 0);
    putOctal(ph, 116, 8, 0);
    putOctal(ph, 124, 12, body.length);
    putOctal(ph, 136, 12, mtime < 0 || mtime > OCTAL_MAX_12 ? 0 : mtime);
    ph.write('x', 156, 1, 'latin1');
    ph.write('ustar\x0000', 257, 8, 'latin1');
    putOctal(ph, 329, 8, 0);
    putOctal(ph, 337, 8, 0);
    checksum(ph);
    return Buffer.concat([ph, body, Buffer.alloc(pad(body.length)), h]);
  }

  /**
   * Append one entry. A file's body is a Buffer, or a Readable of exactly `entry.size` bytes
   * (fewer or more is an error). Other types take no body. Calls must not overlap.
   */
  async add(entry: TarWriteEntry, body?: Buffer | Readable): Promise<void> {
    if (this.finished) throw invalid('add() after finish()');
    if (this.busy) throw invalid('add() called while another add() is running');
    this.busy = true;
    try {
      let size = 0;
      if (entry.type === 'file') {
        if (Buffer.isBuffer(body)) {
          size = body.length;
          if (entry.size !== undefined && entry.size !== size) throw invalid(`entry ${JSON.stringify(entry.name)}: size ${entry.size} but body has ${size} bytes`);
        } else if (body) {
          if (entry.size === undefined) throw invalid(`entry ${JSON.stringify(entry.name)}: a streamed body needs entry.size`);
          size = entry.size;
        } else size = entry.size ?? 0;
      } else if (body && (Buffer.isBuffer(body) ? body.length > 0 : true)) {
        throw invalid(`entry ${JSON.stringify(entry.name)}: a ${entry.type} has no body`);
      }
      const h = TarWriter.headers(entry, size);
      if (Buffer.isBuffer(body) && size > 0 && size <= 256 * 1024) {
        // Small files: header, data and padding in one write.
        await this.write(Buffer.concat([h, body, Buffer.alloc(pad(size))]));
        return;
      }
      await this.write(h);
      if (Buffer.isBuffer(body)) {
        if (size > 0) await this.write(body);
      } else if (body) {
        let n = 0;
        for await (const c of body as AsyncIterable<Buffer>) {
          const chunk = Buffer.isBuffer(c) ? c : Buffer.from(c);
          n += chunk.length;
          if (n > size) throw invalid(`entry ${JSON.stringify(entry.name)}: body longer than size ${size}`);
          await this.write(chunk);
        }
        if (n !== size) throw invalid(`entry ${JSON.stringify(entry.name)}: body has ${n} bytes, size says ${size}`);
      } else if (size > 0) {
        throw invalid(`entry ${JSON.stringify(entry.name)}: size ${size} but no body`);
      }
      if (pad(size) > 0) await this.write(Buffer.alloc(pad(size)));
    } finally {
      this.busy = false;
    }
  }

  /** Write the end-of-archive marker (two zero blocks). Does not end the output stream. */
  async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.write(Buffer.alloc(2 * BLOCK));
  }
}

/** A whole tar in memory: small archives (tests, tiny layers) built from entries and bodies. */
export async function tarBuffer(entries: Iterable<[TarWriteEntry, (Buffer | Readable)?]>): Promise<Buffer> {
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on('data', (c: Buffer) => parts.push(c));
  const w = new TarWriter(out);
  for (const [e, b] of entries) await w.add(e, b);
  await w.finish();
  out.end();
  return Buffer.concat(parts);
}
