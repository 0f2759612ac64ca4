// `docker commit`: a parent image + one layer (a container's changes) -> a new image, stored as import stores one.
import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { crashPoint } from '../../common/crash-point.js';
import { DANGLING_PREFIX, type ImageService } from '../images.js';
import { MediaType, type ContainerConfig, type ImageConfig } from '../manifest.js';
import { resolveImage, type ResolvedImage } from '../resolve.js';

/** The digest of a tar with no entries (its two zero end blocks): what a container with no changes diffs to. */
const EMPTY_TAR_DIGEST = `sha256:${createHash('sha256').update(Buffer.alloc(1024)).digest('hex')}`;

export interface CommitOptions {
  /** The container's image. */
  parent: ResolvedImage;
  /** Writes the new layer as an uncompressed tar to `out` (without ending it). */
  writeLayer: (out: Writable) => Promise<void>;
  /** The new image's `config`. */
  config: ContainerConfig;
  /** History `created_by` (dockerd: the container's Cmd joined by spaces). */
  createdBy: string;
  author?: string;
  comment?: string;
  /** The full name to give it (`docker.io/library/img:1`); none leaves it dangling, reachable by id. */
  ref?: string;
}

/**
 * Store the new layer, config and manifest, unpack the layer and name the image. Blobs go
 * through the content store's atomic ingest and only the last step names them, so a failure or
 * a crash before it leaves unnamed blobs that GC collects, never a half image.
 */
export async function commitImage(service: ImageService, o: CommitOptions): Promise<{ id: string; name?: string }> {
  return service.hold(async () => {
    const w = await service.content.writer(`commit-${randomBytes(8).toString('hex')}`);
    let layerDigest: string;
    // The store's own error (ENOSPC, ...): the tar writer only sees its output close.
    let storeError: unknown;
    try {
      const sink = new Writable({
        write: (chunk: Buffer, _enc, cb) => void w.write(chunk).then(() => cb(), (e: unknown) => {
          storeError = e;
          cb(e as Error);
        }),
      });
      await o.writeLayer(sink);
      sink.end();
      await finished(sink);
      layerDigest = await w.commit();
      crashPoint('commit:after-layer');
    } catch (e) {
      await w.abort().catch(() => undefined);
      throw storeError ?? e;
    }
    const layerSize = (await service.content.info(layerDigest)).size;
    // No change (an empty tar): dockerd adds no layer, only a history entry that says so.
    const empty = layerDigest === EMPTY_TAR_DIGEST;
    const p = o.parent;
    // A Docker-typed parent keeps Docker media types throughout: one manifest, one family of types.
    const docker = p.manifestDesc.mediaType === MediaType.dockerManifest;
    const created = new Date().toISOString();
    const config: ImageConfig = {
      created,
      ...(o.author ? { author: o.author } : {}),
      architecture: p.config.architecture,
      os: p.config.os,
      ...(p.config.variant ? { variant: p.config.variant } : {}),
      ...(p.config['os.version'] ? { 'os.version': p.config['os.version'] } : {}),
      config: o.config,
      // The layer is stored uncompressed: its digest is its diff id.
      rootfs: { type: 'layers', diff_ids: [...p.config.rootfs.diff_ids, ...(empty ? [] : [layerDigest])] },
      history: [
        ...(p.config.history ?? []),
        {
          created, created_by: o.createdBy, ...(o.author ? { author: o.author } : {}), ...(o.comment ? { comment: o.comment } : {}),
          ...(empty ? { empty_layer: true } : {}),
        },
      ],
    };
    const cfg = await service.content.writeBlob(Buffer.from(JSON.stringify(config)), { mediaType: docker ? MediaType.dockerConfig : MediaType.ociConfig });
    const manifest = {
      schemaVersion: 2,
      mediaType: docker ? MediaType.dockerManifest : MediaType.ociManifest,
      config: cfg,
      layers: [...p.manifest.layers, ...(empty ? [] : [{ mediaType: docker ? MediaType.dockerLayer : MediaType.ociLayer, digest: layerDigest, size: layerSize }])],
    };
    const target = await service.content.writeBlob(Buffer.from(JSON.stringify(manifest)), { mediaType: manifest.mediaType });
    const img = await resolveImage(service.content, target, service.platform);
    await service.unpack(img);
    crashPoint('commit:after-unpack');
    const name = o.ref ? (await service.setName(o.ref, target)).name : undefined;
    if (!name) await service.setName(`${DANGLING_PREFIX}${target.digest}`, target);
    return { id: img.id, ...(name ? { name } : {}) };
  });
}
