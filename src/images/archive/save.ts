// `docker save`: images -> one tar, as Docker 25+ writes it (an OCI image layout plus manifest.json and
// repositories, which older docker load reads) or as a plain OCI image layout.
import { errInvalid } from '../../common/errors.js';
import type { ImageService } from '../images.js';
import { writeTar, type TarMember } from '../layer-io.js';
import { MediaType } from '../manifest.js';
import { familiarString, normalize, parseReference, repoName } from '../reference.js';
import type { Descriptor } from '../types.js';

export type SaveFormat = 'docker' | 'oci';

const hexOf = (d: string) => d.replace(/^sha256:/, '');
const blobPath = (d: string) => `blobs/sha256/${hexOf(d)}`;

/**
 * Write the images `refs` name to the tar file `out`. A ref that is a name saves under that name; an id
 * saves the image with no name (as `docker save <id>` does). Only the blobs of the host platform's
 * manifest are written: the layout's index.json points at that manifest, not at a multi-platform index.
 */
export async function saveImages(service: ImageService, refs: string[], out: string, opts: { format?: SaveFormat } = {}): Promise<void> {
  const format = opts.format ?? 'docker';
  if (refs.length === 0) throw errInvalid('save: no images given');
  const blobs = new Map<string, number>();
  const index: Descriptor[] = [];
  const dockerManifest: Array<{ Config: string; RepoTags: string[] | null; Layers: string[] }> = [];
  const repositories: Record<string, Record<string, string>> = {};
  const seen = new Map<string, { tags: string[] }>();
  for (const ref of refs) {
    const img = await service.get(ref);
    let name: string | undefined;
    try {
      const n = normalize(ref);
      if (img.names.includes(n) && !n.includes('@')) name = n;
    } catch {
      // an id
    }
    for (const d of [img.manifestDesc, img.manifest.config, ...img.manifest.layers]) {
      if (d.urls?.length && !(await service.content.has(d.digest))) continue; // foreign layer, not shipped
      blobs.set(d.digest, d.size);
    }
    const base: Descriptor = { mediaType: img.manifestDesc.mediaType, digest: img.manifestDesc.digest, size: img.manifestDesc.size };
    if (name) {
      const r = parseReference(name);
      index.push({ ...base, annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': r.tag ?? 'latest' } });
      const repo = familiarString(repoName(r));
      const top = img.manifest.layers.at(-1);
      if (top) (repositories[repo] ??= {})[r.tag ?? 'latest'] = hexOf(top.digest);
    } else if (!index.some((d) => d.digest === base.digest && !d.annotations)) {
      index.push(base);
    }
    const entry = seen.get(img.id);
    const tag = name ? familiarString(name) : undefined;
    if (entry) {
      if (tag && !entry.tags.includes(tag)) entry.tags.push(tag);
      continue;
    }
    const e = { Config: blobPath(img.manifest.config.digest), RepoTags: tag ? [tag] : null, Layers: img.manifest.layers.map((l) => blobPath(l.digest)) };
    dockerManifest.push(e);
    seen.set(img.id, { tags: (e.RepoTags ??= []) });
  }
  for (const e of dockerManifest) if (e.RepoTags && e.RepoTags.length === 0) e.RepoTags = null;
  const members: TarMember[] = [
    { name: 'blobs', type: 'dir', mode: 0o755 },
    { name: 'blobs/sha256', type: 'dir', mode: 0o755 },
  ];
  for (const [digest, size] of [...blobs].sort(([a], [b]) => a.localeCompare(b))) {
    members.push({ name: blobPath(digest), type: 'file', mode: 0o644, body: { path: service.content.path(digest), size } });
  }
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  members.push({ name: 'index.json', type: 'file', mode: 0o644, body: json({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: index }) });
  if (format === 'docker') {
    members.push({ name: 'manifest.json', type: 'file', mode: 0o644, body: json(dockerManifest) });
    if (Object.keys(repositories).length) members.push({ name: 'repositories', type: 'file', mode: 0o644, body: json(repositories) });
  }
  members.push({ name: 'oci-layout', type: 'file', mode: 0o644, body: json({ imageLayoutVersion: '1.0.0' }) });
  await writeTar(out, members);
}

