// Push: blobs the registry lacks (HEAD, then mount, then upload), then the manifest; an index's children first.
import type { ContentStore, Descriptor } from '../types.js';
import { errInvalid, errPrecondition } from '../../common/errors.js';
import { RegistryClient, type PushBlobResult, type RegistryClientOptions, type RepoRef } from './registry-client.js';
import { addSource, mergeLabels, sourceLabel } from './labels.js';
import { isIndexType, isManifestType, parseIndex, parseManifest } from '../manifest.js';
import { mapLimit } from './pool.js';
import { shortId, type ProgressFn } from './progress.js';
import { formatReference, normalizeReference } from '../reference.js';

/** Options for {@link push}. */
export interface PushOptions {
  content: ContentStore;
  /** The manifest or index (in `content`) to push under the reference. */
  target: Descriptor;
  client?: RegistryClient;
  registry?: RegistryClientOptions;
  /**
   * Upload in chunks of this many bytes (POST, PATCH with Content-Range per chunk, PUT); default: monolithic
   * (POST, one PUT with the whole blob).
   */
  chunkSize?: number;
  /** Repositories on the same registry to try a cross-repository mount from (besides each blob's source labels). */
  mountFrom?: string[];
  onProgress?: ProgressFn;
}

/** What was pushed. */
export interface PushResult {
  name: string;
  digest: string;
  size: number;
  /** Per blob digest: already there, mounted, or uploaded. */
  blobs: Record<string, PushBlobResult>;
}

/**
 * Push `o.target` from `o.content` to `ref` (`127.0.0.1:5000/test/busybox:1`). The content is read back verified,
 * so a corrupt local blob never reaches the registry. An index's children are pushed by digest first (the
 * registry checks an index's references), then the index under the tag.
 *
 * @example
 *   await push('127.0.0.1:5000/test/copy:1', { content, target: record.target, chunkSize: 5 << 20 });
 */
export async function push(ref: string, o: PushOptions): Promise<PushResult> {
  const parsed = normalizeReference(ref);
  const repo: RepoRef = { registry: parsed.domain, repository: parsed.path };
  const name = formatReference(parsed);
  const client = o.client ?? new RegistryClient(o.registry);
  const blobs: Record<string, PushBlobResult> = {};
  const progress = o.onProgress;
  const src = sourceLabel(repo.registry);

  const pushBlob = async (d: Descriptor, show: boolean) => {
    const id = shortId(d.digest);
    const info = await o.content.info(d.digest);
    const mountFrom = [...new Set([...(o.mountFrom ?? []), ...(info.labels[src] ?? '').split(',').filter(Boolean)])];
    const r = await client.pushBlob(repo, d, o.content, { mountFrom, chunkSize: o.chunkSize, onProgress: show ? progress : undefined });
    blobs[d.digest] = r.result;
    if (show) {
      progress?.({ id, status: r.result === 'exists' ? 'Layer already exists' : r.result === 'mounted' ? `Mounted from ${r.from}` : 'Pushed' });
    }
    // Remember the registry has it here too, for later mounts into other repositories.
    await mergeLabels(o.content, d.digest, { [src]: addSource(info.labels[src], repo.repository) }).catch(() => {});
  };

  const pushNode = async (d: Descriptor, reference: string, depth: number): Promise<void> => {
    if (depth > 4) throw errInvalid(`${name}: indexes nested too deep`);
    if (!(await o.content.has(d.digest))) throw errPrecondition(`${name}: ${d.mediaType} ${d.digest} is not in the content store`);
    const bytes = await o.content.read(d.digest, { verify: true });
    if (isIndexType(d.mediaType)) {
      const index = parseIndex(bytes, d.mediaType);
      for (const child of index.manifests) {
        if (!isIndexType(child.mediaType) && !isManifestType(child.mediaType)) continue; // artifacts etc.: not ours to push
        await pushNode(child, child.digest, depth + 1);
      }
    } else if (isManifestType(d.mediaType)) {
      const m = parseManifest(bytes, d.mediaType);
      m.layers.forEach((l) => progress?.({ id: shortId(l.digest), status: 'Preparing' }));
      await mapLimit([m.config, ...m.layers], client.concurrency, (b, i) => pushBlob(b, i > 0));
    } else {
      throw errInvalid(`${name}: cannot push media type ${JSON.stringify(d.mediaType)}`);
    }
    await client.putManifest(repo, reference, d.mediaType, bytes);
  };

  try {
    progress?.({ status: `The push refers to repository [${repo.registry}/${repo.repository}]` });
    await pushNode(o.target, parsed.digest ?? parsed.tag!, 0);
    progress?.({ status: `${parsed.tag ?? parsed.digest}: digest: ${o.target.digest} size: ${o.target.size}` });
    return { name, digest: o.target.digest, size: o.target.size, blobs };
  } finally {
    if (!o.client) await client.close();
  }
}
