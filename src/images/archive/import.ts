// `docker import`: a root filesystem tar (plain, gzip or zstd) -> a one-layer image with a config built from --change.
import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { DANGLING_PREFIX, type ImageService } from '../images.js';
import { decompressStream, Digester } from '../layer-io.js';
import { MediaType, ociLayerType, sniffCompression, type Compression, type ImageConfig } from '../manifest.js';
import { resolveImage } from '../resolve.js';
import type { Platform } from '../types.js';
import { applyChanges } from './changes.js';

export interface ImportOptions {
  /** The name to give the image (`repo[:tag]`); none leaves it reachable by id only. */
  ref?: string;
  /** Dockerfile instructions (`CMD ["sh"]`, `ENV A=b`, ...). */
  changes?: string[];
  /** The history comment (`docker import -m`). */
  message?: string;
  /** Default: the service's platform. */
  platform?: Platform;
  /** Default: now. A fixed date makes the image id reproducible. */
  created?: Date;
}

/** Import a rootfs tar (a path or a stream); returns the image id and its name, if given. */
export async function importRootfs(service: ImageService, input: string | Readable, opts: ImportOptions = {}): Promise<{ id: string; name?: string }> {
  return service.hold(async () => {
    const src = typeof input === 'string' ? createReadStream(input) : input;
    const w = await service.content.writer(`import-${randomBytes(8).toString('hex')}`);
    let compression: Compression | undefined;
    let layerDigest: string;
    try {
      for await (const c of src) {
        compression ??= sniffCompression(c as Buffer);
        await w.write(c as Buffer);
      }
      layerDigest = await w.commit();
    } catch (e) {
      await w.abort().catch(() => undefined);
      throw e;
    }
    compression ??= 'none';
    const layerSize = (await service.content.info(layerDigest)).size;
    // The diff id is the digest of the uncompressed tar; unpack checks the tar itself.
    const dg = new Digester();
    await pipeline(decompressStream(createReadStream(service.content.path(layerDigest))), dg, new Writable({ write: (_c, _e, cb) => cb() }));
    const created = (opts.created ?? new Date()).toISOString();
    const platform = opts.platform ?? service.platform;
    const config: ImageConfig = {
      created,
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: applyChanges({}, opts.changes ?? []),
      rootfs: { type: 'layers', diff_ids: [dg.digest()] },
      history: [{ created, created_by: 'berth import', comment: opts.message ?? 'Imported from tarball' }],
    };
    const cfg = await service.content.writeBlob(Buffer.from(JSON.stringify(config)), { mediaType: MediaType.ociConfig });
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: cfg,
      layers: [{ mediaType: ociLayerType(compression), digest: layerDigest, size: layerSize }],
    };
    const target = await service.content.writeBlob(Buffer.from(JSON.stringify(manifest)), { mediaType: MediaType.ociManifest });
    const img = await resolveImage(service.content, target, platform);
    await service.unpack(img);
    const name = opts.ref ? (await service.setName(opts.ref, target)).name : undefined;
    if (!name) await service.setName(`${DANGLING_PREFIX}${target.digest}`, target);
    return { id: img.id, ...(name ? { name } : {}) };
  });
}
