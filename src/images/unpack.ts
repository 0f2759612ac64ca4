// Unpack an image's layers into committed snapshots named by chain id, one verified layer at a time.
import { randomBytes } from 'node:crypto';
import { BerthError, errInvalid, errPrecondition, isAlreadyExists } from '../common/errors.js';
import { crashPoint } from '../common/crash-point.js';
import { applyLayerBlob, type WhiteoutMode } from './layer-io.js';
import { chainIds, layerCompression, type ImageConfig, type Manifest } from './manifest.js';
import type { ContentStore, Snapshotter } from './types.js';

/** Labels put on unpacked layers, so GC and inspect can find what a snapshot came from. */
export const SNAPSHOT_LABEL_DIFF_ID = 'berth.io/diff-id';
export const SNAPSHOT_LABEL_UNCOMPRESSED_SIZE = 'berth.io/uncompressed-size';

export interface UnpackOptions {
  /** 'overlay' for OverlaySnapshotter (whiteouts as 0/0 char devices), 'native' for copy snapshotters. */
  whiteouts: WhiteoutMode;
  /** Called after each layer (applied or found), for progress. */
  onLayer?: (i: number, chainId: string, applied: boolean) => void;
}

/**
 * Make sure every layer of `manifest` is a committed snapshot named by its chain id, and return the
 * top chain id (undefined for an image with no layers). Layers whose snapshot exists are skipped.
 * A layer is applied into a temporary active snapshot on its parent; its uncompressed digest must equal
 * the config's diff_id before it is committed, and on any failure the temporary snapshot is removed.
 */
export async function unpackImage(
  content: ContentStore,
  snapshotter: Snapshotter,
  manifest: Manifest,
  config: ImageConfig,
  opts: UnpackOptions,
): Promise<string | undefined> {
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw errInvalid(`unpack ${manifest.config.digest}: the manifest has ${manifest.layers.length} layers but the config has ${diffIds.length} diff_ids`);
  }
  const chain = chainIds(diffIds);
  let parent: string | undefined;
  for (let i = 0; i < chain.length; i++) {
    const name = chain[i];
    if (await exists(snapshotter, name)) {
      opts.onLayer?.(i, name, false);
      parent = name;
      continue;
    }
    const layer = manifest.layers[i];
    layerCompression(layer.mediaType); // refuses unknown layer types before any work
    const key = `extract-${randomBytes(6).toString('hex')}-${name}`;
    await snapshotter.prepare(key, parent, { 'berth.io/unpack': 'true' });
    try {
      const blob = content.path(layer.digest);
      const info = await content.info(layer.digest);
      if (info.size !== layer.size) throw errInvalid(`layer ${i} ${layer.digest}: stored size ${info.size} does not match the manifest's ${layer.size}`);
      const mounts = await snapshotter.mounts(key);
      const lowerOpt = mounts[0]?.type === 'overlay' ? mounts[0].options.find((o) => o.startsWith('lowerdir=')) : undefined;
      const lowers = lowerOpt ? lowerOpt.slice('lowerdir='.length).split(':') : [];
      const { diffId, size } = await applyLayerBlob(blob, snapshotter.dir(key), opts.whiteouts, lowers);
      crashPoint('unpack:after-apply');
      if (diffId !== diffIds[i]) throw errInvalid(`layer ${i} ${layer.digest}: uncompressed digest ${diffId} does not match the config's diff_id ${diffIds[i]}`);
      try {
        await snapshotter.commit(name, key, { [SNAPSHOT_LABEL_DIFF_ID]: diffId, [SNAPSHOT_LABEL_UNCOMPRESSED_SIZE]: String(size) });
      } catch (e) {
        // Another unpack of the same layer won the race: theirs is as good as ours.
        if (!isAlreadyExists(e)) throw e;
        await snapshotter.remove(key);
      }
    } catch (e) {
      await snapshotter.remove(key).catch(() => undefined);
      if (e instanceof BerthError) throw e;
      throw errPrecondition(`unpack layer ${i} (${layer.digest})`, e);
    }
    opts.onLayer?.(i, name, true);
    parent = name;
  }
  return chain.at(-1);
}

async function exists(s: Snapshotter, key: string): Promise<boolean> {
  try {
    const info = await s.stat(key);
    return info.kind === 'committed';
  } catch {
    return false;
  }
}
