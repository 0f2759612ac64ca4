// Pull: resolve a reference to one platform's manifest, fetch config and layers into the content store.
import type { ContentStore, Descriptor, ImageStore, Platform } from '../types.js';
import { BerthError, errInvalid, errorCode } from '../../common/errors.js';
import { crashPoint } from '../../common/crash-point.js';
import { RegistryClient, type FetchedManifest, type RegistryClientOptions, type RepoRef } from './registry-client.js';
import { addSource, mergeLabels, sourceLabel } from './labels.js';
import { hostPlatform, isIndexType, parseIndex, parseManifest, selectPlatform } from '../manifest.js';
import { mapLimit } from './pool.js';
import { shortId, type ProgressFn } from './progress.js';
import { familiarString, formatReference, normalizeReference } from '../reference.js';
import { inSpan } from '../../common/trace.js';

/** What was pulled: the ImageService records `name -> target` and unpacks `layers` (in order, base first). */
export interface PullResult {
  /** The full name: `docker.io/library/busybox:latest`, or `host/repo@sha256:...` for a digest reference. */
  name: string;
  /** What the reference points at (an index or a manifest): the image record's target. */
  target: Descriptor;
  /** The manifest for the chosen platform (equal to `target` when there is no index). */
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  /** False when every blob was in the store already ("Image is up to date"). */
  fetched: boolean;
}

/** Options for {@link pull}. */
export interface PullOptions {
  content: ContentStore;
  /** When given, the image record `name -> target` is written once everything is in the store. */
  images?: ImageStore;
  /** A client to reuse (connections, endpoints, tokens); else one is made from `registry` and closed after. */
  client?: RegistryClient;
  registry?: RegistryClientOptions;
  /** The platform to pick from an index; default this host's (linux/<GOARCH>). */
  platform?: Platform;
  onProgress?: ProgressFn;
  /** Called after the blobs are in and before the record is written, e.g. the ImageService's unpack. */
  unpack?: (result: PullResult) => Promise<void>;
}

const MAX_INDEX_DEPTH = 4;

/** Run a parser; its error gets the image and digest in front (the parsers do not know them). */
function inContext<T>(f: () => T, where: string): T {
  try {
    return f();
  } catch (e) {
    throw new BerthError(errorCode(e) ?? 'invalid-argument', `${where}: ${(e as Error).message}`, { cause: e });
  }
}

/** Store manifest bytes already verified by the client, with GC labels for what they reference. */
async function storeManifest(content: ContentStore, m: FetchedManifest, labels: Record<string, string>): Promise<void> {
  if (await content.has(m.descriptor.digest)) {
    await mergeLabels(content, m.descriptor.digest, labels);
    return;
  }
  const d = await content.writeBlob(m.bytes, { mediaType: m.descriptor.mediaType, labels });
  if (d.digest !== m.descriptor.digest) throw errInvalid(`manifest ${m.descriptor.digest}: store computed ${d.digest}`);
}

/**
 * Pull `ref` (`busybox`, `127.0.0.1:5000/test/busybox:1`, `repo@sha256:...`) into `o.content`: the manifest for
 * the platform, its config and layers (bounded parallel, skipping blobs present), then the manifests themselves,
 * so a committed manifest always has its children. Progress follows `docker pull`'s messages.
 *
 * @example
 *   const r = await pull('127.0.0.1:5000/test/busybox:1', { content, onProgress: (e) => console.log(e) });
 *   await images.put({ name: r.name, target: r.target, labels: {} });
 */
export async function pull(ref: string, o: PullOptions): Promise<PullResult> {
  const parsed = normalizeReference(ref);
  const repo: RepoRef = { registry: parsed.domain, repository: parsed.path };
  const name = formatReference(parsed);
  const client = o.client ?? new RegistryClient(o.registry);
  const progress = o.onProgress;
  const reference = parsed.digest ?? parsed.tag!;
  const src = { [sourceLabel(repo.registry)]: repo.repository };
  try {
    progress?.({ id: parsed.tag ?? parsed.digest, status: `Pulling from ${repo.repository}` });
    const top = await client.getManifest(repo, reference);
    // Walk index -> platform manifest; keep the chain so the indexes are stored (child first) at the end.
    const chain: Array<{ m: FetchedManifest; child?: Descriptor }> = [];
    let cur = top;
    for (let depth = 0; isIndexType(cur.descriptor.mediaType); depth++) {
      if (depth >= MAX_INDEX_DEPTH) throw errInvalid(`${name}: indexes nested deeper than ${MAX_INDEX_DEPTH}`);
      const index = inContext(() => parseIndex(cur.bytes, cur.descriptor.mediaType), `${name}: index ${cur.descriptor.digest}`);
      const child = selectPlatform(index, o.platform ?? hostPlatform());
      chain.push({ m: cur, child });
      cur = await client.getManifest(repo, child.digest, child);
    }
    const manifest = inContext(() => parseManifest(cur.bytes, cur.descriptor.mediaType), `${name}: manifest ${cur.descriptor.digest}`);

    // "Already exists" and "Pulling fs layer" up front, as docker prints the whole list before any bytes.
    const present = await Promise.all(manifest.layers.map((l) => o.content.has(l.digest)));
    manifest.layers.forEach((l, i) => progress?.({ id: shortId(l.digest), status: present[i] ? 'Already exists' : 'Pulling fs layer' }));
    const blobs = [manifest.config, ...manifest.layers];
    const seen = new Set<string>();
    const unique = blobs.filter((b) => !seen.has(b.digest) && seen.add(b.digest));
    const results = await inSpan('image.fetch', 'image', (span) => {
      span?.set('image.blobs', unique.length);
      return mapLimit(unique, client.concurrency, async (b) => {
        const r = await client.fetchBlob(repo, b, o.content, { onProgress: b === manifest.config ? undefined : progress, labels: src });
        if (r === 'exists') {
          const info = await o.content.info(b.digest);
          await mergeLabels(o.content, b.digest, { [sourceLabel(repo.registry)]: addSource(info.labels[sourceLabel(repo.registry)], repo.repository) });
        }
        return r;
      });
    });
    const fetched = results.some((r) => r === 'fetched');
    crashPoint('pull:after-blobs');

    const gc: Record<string, string> = { ...src, 'containerd.io/gc.ref.content.config': manifest.config.digest };
    manifest.layers.forEach((l, i) => { gc[`containerd.io/gc.ref.content.l.${i}`] = l.digest; });
    await storeManifest(o.content, cur, gc);
    for (const { m, child } of chain.reverse()) {
      await storeManifest(o.content, m, { ...src, 'containerd.io/gc.ref.content.m.0': child!.digest });
    }

    const result: PullResult = { name, target: top.descriptor, manifest: cur.descriptor, config: manifest.config, layers: manifest.layers, fetched };
    if (o.unpack) await o.unpack(result);
    manifest.layers.forEach((l, i) => { if (!present[i]) progress?.({ id: shortId(l.digest), status: 'Pull complete' }); });
    if (o.images) await o.images.put({ name, target: top.descriptor, labels: {} });
    progress?.({ status: `Digest: ${top.descriptor.digest}` });
    // dockerd names the image as the user would: busybox:latest, not docker.io/library/busybox:latest.
    progress?.({ status: `Status: ${fetched ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarString(name)}` });
    return result;
  } finally {
    if (!o.client) await client.close();
  }
}

/** The part of the ImageService that pull needs (structural, so distribution/ does not import images.ts). */
export interface PullTarget {
  content: ContentStore;
  platform?: Platform;
  hold?<T>(fn: () => Promise<T>): Promise<T>;
  setName(name: string, target: Descriptor, labels?: Record<string, string>): Promise<unknown>;
  unpack(ref: string): Promise<unknown>;
}

/**
 * `docker pull` on an ImageService: pull (under the GC hold, so nothing fetched is swept before it is named),
 * record the name with Docker's RepoDigests label, then unpack the layers into snapshots.
 */
export async function pullImage(service: PullTarget, ref: string, o: Omit<PullOptions, 'content' | 'images' | 'unpack'> & { unpack?: boolean } = {}): Promise<PullResult> {
  const run = () => pull(ref, {
    ...o,
    content: service.content,
    platform: o.platform ?? service.platform,
    unpack: async (r) => {
      await service.setName(r.name, r.target, r.name.includes('@') ? {} : { 'berth.io/repo-digest': 'true' });
      crashPoint('pull:after-name');
      if (o.unpack !== false) await inSpan('image.unpack', 'image', () => service.unpack(r.name));
    },
  });
  return inSpan('image.pull', 'image', () => (service.hold ? service.hold(run) : run()), { attrs: { 'image.ref': ref } });
}
