// The content store on the local filesystem: blobs by digest, resumable verified ingests, label sidecars.
//
// Layout under `root` (dataRoot/content):
//   blobs/sha256/<hex>          committed blobs, immutable
//   labels/sha256/<hex>.json    labels of a blob (absent = none); written atomically
//   ingest/<sha256(ref)>/       data, ref, expected (JSON), one dir per ingest in progress
// A blob appears in blobs/ only through rename(2) of a fully written, fsynced, verified file,
// so a crash leaves either no blob or the whole blob, never a prefix.
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, errInvalid, errNotFound, errPrecondition, errUnavailable } from '../../common/errors.js';
import type { ContentInfo, ContentStore, ContentWriter, Descriptor } from '../types.js';

/** Blobs up to this size are read without the thread pool (see `read`). */
const SYNC_READ_MAX = 256 << 10;

const DIGEST_RE = /^sha256:([a-f0-9]{64})$/;

/** The hex of a sha256 digest, or an invalid-argument error naming it. */
export function digestHex(digest: string): string {
  const m = DIGEST_RE.exec(digest);
  if (!m) throw errInvalid(`digest "${digest}": not a sha256 digest (sha256:<64 hex>)`);
  return m[1];
}

/** `sha256:<hex>` of some bytes. */
export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

const isENOENT = (e: unknown) => (e as NodeJS.ErrnoException)?.code === 'ENOENT';

/** Write a small file atomically (temp + fsync + rename), so readers see the old or the new content. */
async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/** fsync a directory so a rename inside it survives a crash. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

interface Expected {
  size?: number;
  digest?: string;
}

/** A content store in a directory; see the file header for the layout. */
export class LocalContentStore implements ContentStore {
  readonly root: string;
  /** Refs with an open writer in this process: a second writer on the same ref is refused (containerd's "locked"). */
  private readonly locked = new Set<string>();

  constructor(root: string) {
    this.root = root;
  }

  /** Create the directories; call once before use. */
  async init(): Promise<this> {
    await mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true });
    await mkdir(join(this.root, 'labels', 'sha256'), { recursive: true });
    await mkdir(join(this.root, 'ingest'), { recursive: true });
    return this;
  }

  path(digest: string): string {
    return join(this.root, 'blobs', 'sha256', digestHex(digest));
  }

  private labelsPath(digest: string): string {
    return join(this.root, 'labels', 'sha256', `${digestHex(digest)}.json`);
  }

  private ingestDir(ref: string): string {
    return join(this.root, 'ingest', createHash('sha256').update(ref).digest('hex'));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await stat(this.path(digest));
      return true;
    } catch (e) {
      if (isENOENT(e)) return false;
      throw e;
    }
  }

  async info(digest: string): Promise<ContentInfo> {
    let st;
    try {
      st = await stat(this.path(digest));
    } catch (e) {
      if (isENOENT(e)) throw errNotFound(`content ${digest}: not found`, e);
      throw e;
    }
    return { digest, size: st.size, createdAt: st.mtime, labels: await this.readLabels(digest) };
  }

  private async readLabels(digest: string): Promise<Record<string, string>> {
    try {
      return JSON.parse(await readFile(this.labelsPath(digest), 'utf8')) as Record<string, string>;
    } catch (e) {
      if (isENOENT(e)) return {};
      throw e;
    }
  }

  async read(digest: string, opts: { verify?: boolean } = {}): Promise<Buffer> {
    let data: Buffer;
    try {
      // Manifests and configs (a few KiB, read at every container create) in place: the thread
      // pool's open, stat, read and close round trips took ~1.5 ms each under load. Layers and
      // other big blobs still go through the pool, not to hold up the daemon while they are read.
      const p = this.path(digest);
      data = statSync(p).size <= SYNC_READ_MAX ? readFileSync(p) : await readFile(p);
    } catch (e) {
      if (isENOENT(e)) throw errNotFound(`content ${digest}: not found`, e);
      throw e;
    }
    if (opts.verify) {
      const actual = sha256Digest(data);
      if (actual !== digest) throw errPrecondition(`content ${digest}: corrupt on disk (digest is ${actual})`);
    }
    return data;
  }

  reader(digest: string, offset = 0): NodeJS.ReadableStream {
    return createReadStream(this.path(digest), { start: offset });
  }

  async writer(ref: string, expected: Expected = {}): Promise<ContentWriter> {
    if (!ref) throw errInvalid('content writer: empty ref');
    if (expected.digest !== undefined) digestHex(expected.digest);
    if (this.locked.has(ref)) throw errUnavailable(`content ingest "${ref}": locked by another writer`);
    this.locked.add(ref);
    try {
      const dir = this.ingestDir(ref);
      await mkdir(dir, { recursive: true });
      const dataPath = join(dir, 'data');
      // A resumed ingest keeps its first expectation unless the caller states a new one.
      let prior: Expected = {};
      try {
        prior = JSON.parse(await readFile(join(dir, 'expected'), 'utf8')) as Expected;
      } catch (e) {
        if (!isENOENT(e)) throw e;
        await writeFile(join(dir, 'ref'), ref);
      }
      const want: Expected = { ...prior, ...stripUndefined(expected) };
      if (prior.digest && expected.digest && prior.digest !== expected.digest) {
        // A different blob under the same ref: the old partial data is useless.
        await rm(dataPath, { force: true });
      }
      await writeFile(join(dir, 'expected'), JSON.stringify(want));
      const fh = await open(dataPath, 'a+', 0o644);
      // The hash state is not persisted, so it is rebuilt from the bytes already on disk.
      const hash = createHash('sha256');
      let offset = 0;
      try {
        // Only a resumed ingest has bytes to hash again. A buffer of 1 MiB at every new ingest made
        // glibc raise its mmap threshold, so later large buffers landed in (and fragmented) the heap.
        if ((await fh.stat()).size > 0) {
          const buf = Buffer.allocUnsafe(64 << 10);
          for (;;) {
            const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
            if (bytesRead === 0) break;
            hash.update(buf.subarray(0, bytesRead));
            offset += bytesRead;
          }
        }
      } catch (e) {
        await fh.close();
        throw e;
      }
      return new LocalWriter(this, ref, dir, fh, hash, offset, want, () => this.locked.delete(ref));
    } catch (e) {
      this.locked.delete(ref);
      throw e;
    }
  }

  /** Move a verified ingest file into blobs/ (called by the writer). */
  async _commitFile(dataPath: string, digest: string, labels?: Record<string, string>): Promise<void> {
    const target = this.path(digest);
    if (labels && Object.keys(labels).length > 0) await this.setLabelsFile(digest, labels);
    await rename(dataPath, target);
    await syncDir(join(this.root, 'blobs', 'sha256'));
  }

  async writeBlob(data: Uint8Array, opts: { mediaType?: string; labels?: Record<string, string> } = {}): Promise<Descriptor> {
    const digest = sha256Digest(data);
    const desc: Descriptor = { mediaType: opts.mediaType ?? 'application/octet-stream', digest, size: data.length };
    if (await this.has(digest)) {
      if (opts.labels) await this.setLabels(digest, { ...(await this.readLabels(digest)), ...opts.labels });
      return desc;
    }
    const w = await this.writer(`write-blob-${digestHex(digest)}-${randomBytes(4).toString('hex')}`, { digest, size: data.length });
    try {
      await w.write(data);
      await w.commit({ digest, size: data.length }, opts.labels);
    } catch (e) {
      await w.abort().catch(() => undefined);
      throw e;
    }
    return desc;
  }

  async setLabels(digest: string, labels: Record<string, string>): Promise<void> {
    if (!(await this.has(digest))) throw errNotFound(`content ${digest}: not found`);
    await this.setLabelsFile(digest, labels);
  }

  private async setLabelsFile(digest: string, labels: Record<string, string>): Promise<void> {
    if (Object.keys(labels).length === 0) {
      await rm(this.labelsPath(digest), { force: true });
      return;
    }
    await writeFileAtomic(this.labelsPath(digest), JSON.stringify(labels));
  }

  async delete(digest: string): Promise<void> {
    try {
      await unlink(this.path(digest));
    } catch (e) {
      if (isENOENT(e)) throw errNotFound(`content ${digest}: not found`, e);
      throw e;
    }
    await rm(this.labelsPath(digest), { force: true });
  }

  async list(): Promise<ContentInfo[]> {
    const dir = join(this.root, 'blobs', 'sha256');
    const out: ContentInfo[] = [];
    for (const name of await readdir(dir)) {
      if (!/^[a-f0-9]{64}$/.test(name)) continue;
      try {
        out.push(await this.info(`sha256:${name}`));
      } catch (e) {
        if (!(e instanceof BerthError && e.code === 'not-found')) throw e; // deleted meanwhile
      }
    }
    return out;
  }

  /** Digests of label sidecars whose blob is gone (for consistency checks). */
  async orphanLabels(): Promise<string[]> {
    const out: string[] = [];
    for (const name of await readdir(join(this.root, 'labels', 'sha256'))) {
      const m = /^([a-f0-9]{64})\.json$/.exec(name);
      if (m && !(await this.has(`sha256:${m[1]}`))) out.push(`sha256:${m[1]}`);
    }
    return out;
  }

  /** Remove label sidecars whose blob is gone; returns their digests. */
  async removeOrphanLabels(): Promise<string[]> {
    const out = await this.orphanLabels();
    for (const d of out) await rm(this.labelsPath(d), { force: true });
    return out;
  }

  async listIngests(): Promise<Array<{ ref: string; offset: number; updatedAt: Date }>> {
    const base = join(this.root, 'ingest');
    const out: Array<{ ref: string; offset: number; updatedAt: Date }> = [];
    for (const name of await readdir(base)) {
      const dir = join(base, name);
      let ref: string;
      try {
        ref = await readFile(join(dir, 'ref'), 'utf8');
      } catch (e) {
        if (!isENOENT(e)) throw e;
        // A dir without a ref file is a crash between mkdir and the first write: report it by its dir name.
        const st = await stat(dir).catch(() => undefined);
        if (st) out.push({ ref: `?${name}`, offset: 0, updatedAt: st.mtime });
        continue;
      }
      const st = await stat(join(dir, 'data')).catch(() => undefined);
      const dst = await stat(dir).catch(() => undefined);
      const updatedAt = st && dst ? (st.mtime > dst.mtime ? st.mtime : dst.mtime) : (st?.mtime ?? dst?.mtime ?? new Date(0));
      out.push({ ref, offset: st?.size ?? 0, updatedAt });
    }
    return out;
  }

  async abortIngest(ref: string): Promise<void> {
    if (this.locked.has(ref)) throw errUnavailable(`content ingest "${ref}": locked by an open writer`);
    const dir = ref.startsWith('?') ? join(this.root, 'ingest', ref.slice(1)) : this.ingestDir(ref);
    try {
      await stat(dir);
    } catch (e) {
      if (isENOENT(e)) throw errNotFound(`content ingest "${ref}": not found`, e);
      throw e;
    }
    await rm(dir, { recursive: true, force: true });
  }
}

function stripUndefined(e: Expected): Expected {
  const out: Expected = {};
  if (e.size !== undefined) out.size = e.size;
  if (e.digest !== undefined) out.digest = e.digest;
  return out;
}

/** One open ingest. Not safe for concurrent `write` calls: callers write in order. */
class LocalWriter implements ContentWriter {
  private done = false;
  constructor(
    private readonly store: LocalContentStore,
    readonly ref: string,
    private readonly dir: string,
    private readonly fh: FileHandle,
    private readonly hash: Hash,
    private _offset: number,
    private readonly expected: Expected,
    private readonly unlock: () => void,
  ) {}

  get offset(): number {
    return this._offset;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.done) throw errPrecondition(`content ingest "${this.ref}": writer is closed`);
    if (this.expected.size !== undefined && this._offset + chunk.length > this.expected.size) {
      throw errInvalid(`content ingest "${this.ref}": more data than the expected ${this.expected.size} bytes`);
    }
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off);
      off += bytesWritten;
    }
    this.hash.update(chunk);
    this._offset += chunk.length;
  }

  async commit(expected: Expected = {}, labels?: Record<string, string>): Promise<string> {
    if (this.done) throw errPrecondition(`content ingest "${this.ref}": writer is closed`);
    const want = { ...this.expected, ...stripUndefined(expected) };
    const size = this._offset;
    const digest = `sha256:${this.hash.copy().digest('hex')}`;
    // On a mismatch the ingest stays (closed), so the caller may inspect, resume or abort it.
    if (want.size !== undefined && size !== want.size) {
      await this.close();
      throw errPrecondition(`content ingest "${this.ref}": size ${size} does not match the expected ${want.size}`);
    }
    if (want.digest !== undefined && digest !== want.digest) {
      await this.close();
      throw errPrecondition(`content ingest "${this.ref}": digest ${digest} does not match the expected ${want.digest}`);
    }
    try {
      await this.fh.sync();
      await this.close();
      if (await this.store.has(digest)) {
        // Same bytes already stored (a concurrent pull, a second load): the ingest is redundant.
        if (labels && Object.keys(labels).length > 0) await this.store.setLabels(digest, labels);
      } else {
        await this.store._commitFile(join(this.dir, 'data'), digest, labels);
      }
      await rm(this.dir, { recursive: true, force: true });
    } catch (e) {
      if (e instanceof BerthError) throw e;
      throw errPrecondition(`content ingest "${this.ref}": commit`, e);
    }
    return digest;
  }

  async abort(): Promise<void> {
    await this.close();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Release the file and the ref lock (idempotent). */
  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      await this.fh.close();
    } finally {
      this.unlock();
    }
  }
}
