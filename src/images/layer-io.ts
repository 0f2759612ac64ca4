// The seam between images/ and the tar codec (src/images/tar/): apply a layer blob with its diff id, write tars.
import { createReadStream, createWriteStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import { errPrecondition } from '../common/errors.js';
import { applyLayer, type WhiteoutMode } from './tar/apply.js';
import { decompress } from './tar/compression.js';
import { TarWriter } from './tar/writer.js';

export type { WhiteoutMode };

/** An uncompressed view of a layer stream (gzip, zstd or plain, told by its first bytes). */
export function decompressStream(input: Readable): Readable {
  return decompress(input);
}

/** A pass-through that hashes and counts what flows through it. */
export class Digester extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    this.push(chunk);
    cb();
  }
  digest(): string {
    return `sha256:${this.hash.copy().digest('hex')}`;
  }
}

/**
 * Apply the layer in `blobPath` to `root` and return the digest and size of its uncompressed tar
 * (the diff id, for the caller to check against the config). `lowers` (overlay mode, topmost
 * first) lets the codec take implied directories' attributes and hardlink targets from below.
 */
export async function applyLayerBlob(blobPath: string, root: string, whiteouts: WhiteoutMode, lowers: string[] = []): Promise<{ diffId: string; size: number }> {
  const plain = decompress(createReadStream(blobPath));
  const dg = new Digester();
  plain.on('error', (e) => dg.destroy(e));
  plain.pipe(dg);
  await applyLayer(root, dg, { whiteouts, lowers });
  // The codec stops at the end-of-archive marker; the diff id covers the padding after it too.
  dg.resume();
  await finished(dg);
  return { diffId: dg.digest(), size: dg.size };
}

/** One member of a tar written by `writeTar`. */
export interface TarMember {
  name: string;
  type: 'file' | 'dir';
  mode: number;
  /** A file's content: bytes, or a file to stream (its size must not change meanwhile). */
  body?: Buffer | { path: string; size: number };
}

/** Write a deterministic tar of `members` (in the given order, owner 0, mtime 0) to the file `out`. */
export async function writeTar(out: string, members: TarMember[]): Promise<void> {
  const file = createWriteStream(out);
  const done = finished(file);
  try {
    const w = new TarWriter(file);
    for (const m of members) {
      const b = m.body;
      if (m.type === 'dir' || !b) await w.add({ name: m.name, type: m.type, mode: m.mode, mtime: new Date(0) });
      else if (Buffer.isBuffer(b)) await w.add({ name: m.name, type: 'file', mode: m.mode, mtime: new Date(0), size: b.length }, b);
      else await w.add({ name: m.name, type: 'file', mode: m.mode, mtime: new Date(0), size: b.size }, createReadStream(b.path));
    }
    await w.finish();
    file.end();
    await done;
  } catch (e) {
    file.destroy();
    await done.catch(() => undefined);
    throw errPrecondition(`write tar "${out}"`, e);
  }
}
