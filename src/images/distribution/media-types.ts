// The media types the registry client asks for and accepts (image-spec media-types.md, Docker image manifest v2.2).
import { MediaType } from '../manifest.js';

export { isIndexType, isManifestType } from '../manifest.js';

/** Schema 1 is signed JSON with no descriptors; Docker dropped pulling it in 20.10+. */
export const DOCKER_SCHEMA1 = ['application/vnd.docker.distribution.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v1+prettyjws'];

/** The Accept header for manifest GETs: without it, a registry may answer with schema 1. */
export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest].join(', ');

/** The media type a manifest body declares, if any (OCI makes the field optional; Docker's formats require it). */
export function declaredMediaType(bytes: Uint8Array): string | undefined {
  try {
    const o = JSON.parse(Buffer.from(bytes).toString('utf8')) as { mediaType?: unknown };
    return typeof o?.mediaType === 'string' ? o.mediaType : undefined;
  } catch {
    return undefined;
  }
}
