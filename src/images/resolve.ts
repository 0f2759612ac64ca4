// From an image record's target to the runnable image: index -> platform manifest -> config -> chain ids.
import { errInvalid, errNotFound, isNotFound } from '../common/errors.js';
import {
  chainIds, isIndexType, isManifestType, parseConfig, parseImageManifest, parseIndex, selectPlatform,
  type ImageConfig, type Index, type Manifest,
} from './manifest.js';
import type { ContentStore, Descriptor, Platform } from './types.js';

/** A resolved image: what a record's target means on one platform. */
export interface ResolvedImage {
  /** The record's target (a manifest, or an index the manifest was picked from). */
  target: Descriptor;
  index?: Index;
  manifestDesc: Descriptor;
  manifest: Manifest;
  config: ImageConfig;
  /** Docker's image id: the config digest. */
  id: string;
  /** Chain ids of the layers, bottom first (the snapshot names). */
  chainIds: string[];
}

/** Read a blob and check it against its descriptor's size and digest. */
export async function readVerified(content: ContentStore, desc: Descriptor, what: string): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await content.read(desc.digest, { verify: true });
  } catch (e) {
    if (isNotFound(e)) throw errNotFound(`${what} ${desc.digest}: blob missing from the content store`, e);
    throw e;
  }
  if (data.length !== desc.size) throw errInvalid(`${what} ${desc.digest}: size ${data.length} does not match the descriptor's ${desc.size}`);
  return data;
}

/** Resolve `target` for `platform` (indexes nest at most a few levels deep). */
export async function resolveImage(content: ContentStore, target: Descriptor, platform?: Platform): Promise<ResolvedImage> {
  let desc = target;
  let index: Index | undefined;
  for (let depth = 0; isIndexType(desc.mediaType); depth++) {
    if (depth > 4) throw errInvalid(`image index ${target.digest}: nested too deeply`);
    index = parseIndex(await readVerified(content, desc, 'image index'), desc.mediaType);
    desc = selectPlatform(index, platform);
  }
  if (!isManifestType(desc.mediaType)) throw errInvalid(`image ${target.digest}: unsupported media type "${desc.mediaType}"`);
  const manifest = parseImageManifest(await readVerified(content, desc, 'image manifest'), desc.mediaType);
  const config = parseConfig(await readVerified(content, manifest.config, 'image config'));
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw errInvalid(`image ${desc.digest}: ${manifest.layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids in the config`);
  }
  return {
    target, ...(index ? { index } : {}), manifestDesc: desc, manifest, config,
    id: manifest.config.digest, chainIds: chainIds(config.rootfs.diff_ids),
  };
}

/** Every blob a target references that exists or should (index, manifests, configs, layers). */
export async function referencedBlobs(content: ContentStore, target: Descriptor, out = new Set<string>(), missing?: Set<string>, optional = false): Promise<Set<string>> {
  out.add(target.digest);
  let data: Buffer;
  try {
    data = await content.read(target.digest);
  } catch (e) {
    if (isNotFound(e)) {
      // An index lists every platform; only the ones pulled are stored.
      if (!optional) missing?.add(target.digest);
      return out;
    }
    throw e;
  }
  if (isIndexType(target.mediaType)) {
    const idx = parseIndex(data);
    for (const m of idx.manifests) await referencedBlobs(content, m, out, missing, true);
  } else if (isManifestType(target.mediaType)) {
    const m = JSON.parse(data.toString('utf8')) as Manifest;
    for (const d of [m.config, ...(m.layers ?? [])]) {
      if (!d?.digest) continue;
      out.add(d.digest);
      // Foreign layers (urls) are not expected in the store.
      if (missing && !d.urls?.length && !(await content.has(d.digest))) missing.add(d.digest);
    }
  }
  return out;
}
