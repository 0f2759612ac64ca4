// Layer compression: detect gzip / zstd / plain by magic bytes; gzip via zlib, zstd via Debian's zstd.
import { spawn } from 'node:child_process';
import { Duplex, PassThrough, Readable, Transform } from 'node:stream';
import { createGunzip, createGzip, constants as zc } from 'node:zlib';
import { BerthError } from '../../common/errors.js';

/** A layer's compression, as its media type suffix says (`+gzip`, `+zstd`, none). */
export type Compression = 'gzip' | 'zstd' | 'none';

const GZIP_MAGIC = [0x1f, 0x8b];
// RFC 8878 §3.1.1: a zstd frame starts with 0xFD2FB528 little-endian.
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** The compression of a stream from its first bytes (at least 4 for zstd; fewer means plain). */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]) return 'gzip';
  if (head.length >= 4 && ZSTD_MAGIC.every((b, i) => head[i] === b)) return 'zstd';
  return 'none';
}

/** Large output chunks: fewer, bigger writes downstream (the tar reader and the applier like that). */
const CHUNK = 256 * 1024;

/**
 * A child-process filter (`zstd -dc`, `zstd -c`) as a Duplex. A missing binary or a non-zero
 * exit fails the stream with a BerthError that says what to install or what zstd said.
 */
function zstdFilter(args: string[], what: string): Duplex {
  const child = spawn('zstd', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const out = new PassThrough({ highWaterMark: CHUNK });
  let failed = false;
  const fail = (err: Error) => {
    if (failed) return;
    failed = true;
    duplex.destroy(err);
  };
  child.on('error', (err: NodeJS.ErrnoException) => {
    fail(err.code === 'ENOENT'
      ? new BerthError('failed-precondition', `${what}: the zstd program is not installed (apt-get install zstd)`, { cause: err })
      : new BerthError('internal', `${what}: zstd: ${err.message}`, { cause: err }));
  });
  // The child's stdout ends before 'close' gives its status: hold the end until the status is known.
  child.stdout.pipe(out, { end: false });
  child.on('close', (code, signal) => {
    if (code === 0) out.end();
    else if (!failed) fail(new BerthError('invalid-argument', `${what}: zstd failed (${signal ?? `exit ${code}`}): ${stderr.trim() || 'no message'}`));
  });
  // A reader that stops early closes stdin; zstd then dies of EPIPE, which is not our error.
  child.stdin.on('error', () => undefined);
  const duplex = Duplex.from({ writable: child.stdin, readable: out });
  duplex.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return duplex;
}

/**
 * Decompress a layer stream whatever its compression: the first bytes pick gzip (node:zlib),
 * zstd (`zstd -dc`, streaming) or none (passed through). The result is a plain tar stream.
 */
export function decompress(input: Readable): Readable {
  const out = new PassThrough({ highWaterMark: CHUNK });
  const wrap = (err: Error) => (err instanceof BerthError ? err
    : new BerthError('invalid-argument', `decompress layer: ${err.message}`, { cause: err }));
  void (async () => {
    const it = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    let head: Buffer = Buffer.alloc(0);
    let ended = false;
    while (head.length < 4) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      head = head.length ? Buffer.concat([head, r.value]) : r.value;
    }
    const kind = detectCompression(head);
    // The bytes already read go first, then the rest of the input, unchanged.
    const rest = Readable.from((async function* () {
      try {
        if (head.length) yield head;
        if (ended) return;
        for (;;) {
          const r = await it.next();
          if (r.done) return;
          yield r.value;
        }
      } finally {
        // Stopped early (the reader went away): release the input too.
        await it.return?.();
      }
    })(), { objectMode: false });
    const filter: Duplex | null = kind === 'gzip'
      ? createGunzip({ chunkSize: CHUNK })
      : kind === 'zstd' ? zstdFilter(['-dc', '-q'], 'decompress layer') : null;
    // Not pipeline(): it would hand `out` the raw zlib error before we could say what failed.
    const fail = (err: Error) => {
      if (!out.destroyed) out.destroy(wrap(err));
    };
    rest.on('error', fail);
    out.on('close', () => {
      rest.destroy();
      filter?.destroy();
    });
    if (filter) {
      filter.on('error', fail);
      rest.pipe(filter).pipe(out);
    } else rest.pipe(out);
  })().catch((err: Error) => {
    if (!out.destroyed) out.destroy(wrap(err));
    if (!input.destroyed) input.destroy();
  });
  return out;
}

/**
 * A compressing Transform for writing layers: `gzip` (zlib, default level, deterministic: no
 * name or mtime in the header), `zstd` (`zstd -c`, level 3 unless given), or `none`.
 */
export function compress(kind: Compression, opts: { level?: number } = {}): Duplex {
  switch (kind) {
    case 'gzip':
      return createGzip({ level: opts.level ?? zc.Z_DEFAULT_COMPRESSION, chunkSize: CHUNK });
    case 'zstd':
      return zstdFilter(['-c', '-q', `-${opts.level ?? 3}`], 'compress layer');
    case 'none':
      return new Transform({ transform: (c, _e, cb) => cb(null, c) });
    default:
      throw new BerthError('invalid-argument', `compress: unknown compression ${JSON.stringify(kind)}`);
  }
}
