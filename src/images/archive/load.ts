// `docker load`: a `docker save` tar (manifest.json, legacy layer dirs) or an OCI image layout tar
// (oci-layout, index.json, blobs/) -> content store, unpacked snapshots, image records.
//
// The tar is read once, in order, and every file that is not a small metadata file goes straight
// into the content store by its computed digest (archive order is not guaranteed: docker writes
// manifest.json last). Names are recorded only after every image of the archive is verified and
// unpacked, so a broken archive leaves no record; the blobs it wrote are unreferenced, for GC.
import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError, errInvalid, errNotFound } from '../../common/errors.js';
import { DANGLING_PREFIX, type ImageService } from '../images.js';
import {
  MediaType, isIndexType, isManifestType, ociLayerType, parseConfig, parseIndex, parseImageManifest, sniffCompression,
} from '../manifest.js';
import { normalize, parseReference } from '../reference.js';
import { resolveImage } from '../resolve.js';
import { readTar } from '../tar/reader.js';
import type { Descriptor } from '../types.js';
import { sha256Digest } from '../content/local-store.js';


/** Files kept in memory rather than stored as blobs (all small JSON or text). */
const METADATA = /^(?:manifest\.json|repositories|index\.json|oci-layout|[^/]+\/(?:json|VERSION))$/;
const METADATA_MAX = 16 << 20;

interface Staged {
  digest: string;
  size: number;
}

export interface LoadResult {
  images: Array<{ id: string; names: string[] }>;
  /** Docker's load stream lines: "Loaded image: busybox:latest" / "Loaded image ID: sha256:...". */
  messages: string[];
}

/** Load an archive (a path or a stream of the tar) into `service`; see the file header. */
export async function loadArchive(service: ImageService, input: string | Readable): Promise<LoadResult> {
  return service.hold(async () => {
    const staged = await stage(service, typeof input === 'string' ? createReadStream(input) : input);
    return commitLoad(service, staged);
  });
}

interface StagedArchive {
  files: Map<string, Staged>;
  meta: Map<string, Buffer>;
  links: Map<string, string>;
}

async function stage(service: ImageService, input: Readable): Promise<StagedArchive> {
  const files = new Map<string, Staged>();
  const meta = new Map<string, Buffer>();
  const links = new Map<string, string>();
  const nonce = randomBytes(6).toString('hex');
  let n = 0;
  try {
    for await (const { entry, body } of readTar(input)) {
      const name = clean(entry.name);
      if (entry.type === 'symlink' || entry.type === 'hardlink') {
        // docker save links a repeated layer to its first copy.
        links.set(name, entry.type === 'symlink' ? posix.normalize(posix.join(posix.dirname(name), entry.linkname)) : clean(entry.linkname));
        body.resume();
        continue;
      }
      if (entry.type !== 'file') {
        body.resume();
        continue;
      }
      if (METADATA.test(name) && entry.size <= METADATA_MAX) {
        const chunks: Buffer[] = [];
        for await (const c of body) chunks.push(c as Buffer);
        meta.set(name, Buffer.concat(chunks));
        continue;
      }
      const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
      const expected = m ? { digest: `sha256:${m[1]}`, size: entry.size } : { size: entry.size };
      const w = await service.content.writer(`load-${nonce}-${n++}`, expected);
      try {
        for await (const c of body) await w.write(c as Buffer);
        const digest = await w.commit(expected);
        files.set(name, { digest, size: entry.size });
      } catch (e) {
        await w.abort().catch(() => undefined);
        if (e instanceof BerthError && e.code === 'failed-precondition' && m) {
          throw errInvalid(`load: archive member "${name}": content does not match its digest (${e.message})`, e);
        }
        throw e;
      }
    }
  } catch (e) {
    if (e instanceof BerthError && e.code === 'invalid-argument') throw errInvalid(`load: ${e.message}`, e);
    throw errInvalid(`load: reading the archive: ${(e as Error).message}`, e);
  }
  return { files, meta, links };
}

const clean = (p: string) => posix.normalize(p.replace(/^(\.\/)+/, '').replace(/^\/+/, '')).replace(/\/$/, '');

function lookup(a: StagedArchive, path: string): Staged {
  let p = clean(path);
  for (let i = 0; i < 16 && a.links.has(p); i++) p = a.links.get(p)!;
  const f = a.files.get(p);
  if (!f) throw errNotFound(`load: the archive has no file "${path}"`);
  return f;
}

function metaJson(a: StagedArchive, path: string): unknown {
  const b = a.meta.get(path);
  if (!b) throw errNotFound(`load: the archive has no "${path}"`);
  try {
    return JSON.parse(b.toString('utf8'));
  } catch (e) {
    throw errInvalid(`load: "${path}" is not JSON: ${(e as Error).message}`, e);
  }
}

interface Pending {
  id: string;
  target: Descriptor;
  names: string[];
}

async function commitLoad(service: ImageService, a: StagedArchive): Promise<LoadResult> {
  const pending: Pending[] = [];
  const isOci = a.meta.has('index.json') && a.meta.has('oci-layout');
  if (isOci) pending.push(...(await fromOciLayout(service, a)));
  if (a.meta.has('manifest.json')) {
    for (const p of await fromDockerManifest(service, a, isOci)) {
      const same = pending.find((x) => x.id === p.id);
      if (same) same.names.push(...p.names.filter((nm) => !same.names.includes(nm)));
      else if (!isOci) pending.push(p);
      else throw errInvalid(`load: manifest.json names image ${p.id}, which index.json does not have`);
    }
  }
  if (!isOci && !a.meta.has('manifest.json')) {
    throw errInvalid('load: not an image archive (neither manifest.json nor oci-layout with index.json found)');
  }
  if (pending.length === 0) throw errInvalid('load: the archive holds no image');
  // Verify and unpack everything before any name appears.
  for (const p of pending) {
    const img = await resolveImage(service.content, p.target, service.platform);
    await service.unpack(img);
  }
  const result: LoadResult = { images: [], messages: [] };
  for (const p of pending) {
    const names = [...new Set(p.names)];
    if (names.length === 0) {
      // Unless some name already holds it, an unnamed image stays reachable by id.
      if ((await service.store.list((r) => r.target.digest === p.target.digest)).length === 0) {
        await service.setName(`${DANGLING_PREFIX}${p.target.digest}`, p.target);
      }
      result.messages.push(`Loaded image ID: ${p.id}`);
    }
    for (const nm of names) {
      await service.setName(nm, p.target);
      result.messages.push(`Loaded image: ${shortName(nm)}`);
    }
    result.images.push({ id: p.id, names });
  }
  return result;
}

const shortName = (n: string) => n.replace(/^docker\.io\/library\/(?=[^/]+$)/, '').replace(/^docker\.io\//, '');

/** The name an index.json entry gives, if any (containerd's full name, else an OCI ref name that is a full reference). */
function ociName(d: Descriptor): string | undefined {
  const full = d.annotations?.['io.containerd.image.name'];
  if (full) return normalize(full);
  const ref = d.annotations?.['org.opencontainers.image.ref.name'];
  // A bare tag ("latest") names no repository; Docker leaves such an image untagged too.
  if (ref && /[/:]/.test(ref)) {
    try {
      parseReference(ref);
      return normalize(ref);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Check a descriptor against the staged blob at blobs/<alg>/<hex>: present, right size (digest was checked on ingest). */
function checkBlob(a: StagedArchive, d: Descriptor, what: string): void {
  if (d.urls?.length) return; // foreign layers are fetched from their urls, not shipped
  const path = `blobs/${d.digest.replace(':', '/')}`;
  let f: Staged;
  try {
    f = lookup(a, path);
  } catch (e) {
    throw errNotFound(`load: ${what} ${d.digest}: blob missing from the archive`, e);
  }
  if (f.size !== d.size) throw errInvalid(`load: ${what} ${d.digest}: descriptor says ${d.size} bytes, the archive has ${f.size}`);
}

async function fromOciLayout(service: ImageService, a: StagedArchive): Promise<Pending[]> {
  const layout = metaJson(a, 'oci-layout') as { imageLayoutVersion?: unknown };
  if (layout?.imageLayoutVersion !== '1.0.0') throw errInvalid(`load: oci-layout: unsupported imageLayoutVersion ${JSON.stringify(layout?.imageLayoutVersion)}`);
  const index = parseIndex(a.meta.get('index.json')!);
  const out: Pending[] = [];
  const walk = async (d: Descriptor, depth: number): Promise<void> => {
    if (depth > 4) throw errInvalid('load: index nested too deeply');
    checkBlob(a, d, 'manifest');
    const data = await service.content.read(d.digest);
    if (isIndexType(d.mediaType)) {
      const idx = parseIndex(data, d.mediaType);
      for (const m of idx.manifests) {
        // An index lists all platforms; a layout may ship only some of them.
        if (!a.files.has(`blobs/${m.digest.replace(':', '/')}`)) continue;
        await walk(m, depth + 1);
      }
    } else if (isManifestType(d.mediaType)) {
      const m = parseImageManifest(data, d.mediaType);
      checkBlob(a, m.config, 'config');
      parseConfig(await service.content.read(m.config.digest));
      m.layers.forEach((l, i) => checkBlob(a, l, `layer ${i}`));
    } else {
      throw errInvalid(`load: index.json entry ${d.digest}: unsupported media type "${d.mediaType}"`);
    }
  };
  for (const d of index.manifests) {
    await walk(d, 0);
    const img = await resolveImage(service.content, d, service.platform);
    const name = ociName(d);
    out.push({ id: img.id, target: d, names: name ? [name] : [] });
  }
  return out;
}

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

async function fromDockerManifest(service: ImageService, a: StagedArchive, haveOci: boolean): Promise<Pending[]> {
  const entries = metaJson(a, 'manifest.json');
  if (!Array.isArray(entries)) throw errInvalid('load: manifest.json must be an array');
  const out: Pending[] = [];
  for (const [i, raw] of entries.entries()) {
    const e = raw as DockerManifestEntry;
    if (!e || typeof e.Config !== 'string' || !Array.isArray(e.Layers)) throw errInvalid(`load: manifest.json[${i}]: needs Config and Layers`);
    // The config: a blob (docker 25+) or a metadata-sized <hex>.json (classic), named by its digest.
    let cfgBytes: Buffer;
    const staged = a.files.get(clean(e.Config));
    if (staged) cfgBytes = await service.content.read(staged.digest);
    else {
      const b = a.meta.get(clean(e.Config));
      if (!b) throw errNotFound(`load: manifest.json[${i}]: config "${e.Config}" missing from the archive`);
      cfgBytes = b;
    }
    const cfgDigest = sha256Digest(cfgBytes);
    const named = /([a-f0-9]{64})(?:\.json)?$/.exec(e.Config);
    if (named && `sha256:${named[1]}` !== cfgDigest) throw errInvalid(`load: config "${e.Config}": content digest is ${cfgDigest}`);
    const config = parseConfig(cfgBytes);
    if (config.rootfs.diff_ids.length !== e.Layers.length) {
      throw errInvalid(`load: manifest.json[${i}]: ${e.Layers.length} layers but the config has ${config.rootfs.diff_ids.length} diff_ids`);
    }
    const names = (e.RepoTags ?? []).map((t) => normalize(t));
    if (haveOci) {
      // Docker 25+ writes both: the OCI index already brought this image in with its real manifest.
      out.push({ id: cfgDigest, target: { mediaType: '', digest: '', size: 0 }, names });
      continue;
    }
    const cfgDesc = await service.content.writeBlob(cfgBytes, { mediaType: MediaType.ociConfig });
    const layers: Descriptor[] = [];
    for (const l of e.Layers) {
      const f = lookup(a, l);
      layers.push({ mediaType: ociLayerType(await sniff(service, f.digest)), digest: f.digest, size: f.size });
    }
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: cfgDesc, layers }));
    const target = await service.content.writeBlob(manifest, { mediaType: MediaType.ociManifest });
    out.push({ id: cfgDigest, target, names });
  }
  return out;
}

async function sniff(service: ImageService, digest: string): Promise<ReturnType<typeof sniffCompression>> {
  const s = service.content.reader(digest);
  for await (const c of s) {
    (s as Readable).destroy();
    return sniffCompression(c as Buffer);
  }
  return 'none';
}
