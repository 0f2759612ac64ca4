// Built-in images that need no network: `hello` (the greeter) and `berth-probe` (the test probe).
//
// Each is one layer holding one static binary from native/build, with a fixed creation time and a
// deterministic tar, so the same binary always gives the same image id and manifest digest.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isNotFound } from '../common/errors.js';
import type { ImageService } from './images.js';
import { writeTar } from './layer-io.js';
import { MediaType, type ImageConfig } from './manifest.js';
import { normalize } from './reference.js';
import { resolveImage } from './resolve.js';
import type { ContentStore, Descriptor } from './types.js';

/** native/build of this checkout (works from src/ and dist/). */
function nativeBuild(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d);
  return join(d, 'native', 'build');
}

export interface BuiltinImage {
  name: string;
  binary: string;
  /** Where the binary goes in the image (no leading slash). */
  path: string;
  cmd: string[];
  description: string;
}

/** The built-in images, with their binaries' default locations. */
export function builtinImages(build = nativeBuild()): BuiltinImage[] {
  return [
    { name: 'hello:latest', binary: join(build, 'berth-hello'), path: 'hello', cmd: ['/hello'], description: 'Berth greeter' },
    { name: 'berth-probe:latest', binary: join(build, 'berth-probe'), path: 'probe', cmd: ['/probe'], description: 'Berth test probe' },
  ];
}

/** Store the file at `path` as a blob, read in chunks twice (digest, then ingest) rather than held in memory. */
async function ingestFile(content: ContentStore, path: string, mediaType: string): Promise<Descriptor> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const digest = `sha256:${hash.digest('hex')}`;
  if (await content.has(digest)) return { mediaType, digest, size };
  const w = await content.writer(`builtin-${digest.slice(7)}-${randomBytes(4).toString('hex')}`, { digest, size });
  try {
    for await (const chunk of createReadStream(path)) await w.write(chunk as Buffer);
    await w.commit({ digest, size });
  } catch (e) {
    await w.abort().catch(() => undefined);
    throw e;
  }
  return { mediaType, digest, size };
}

/** Fixed, so the config (and the image id) depends on the binary alone. */
const CREATED = '2024-01-01T00:00:00Z';

/**
 * Create each built-in image whose name is missing (a name the user re-pointed is left alone).
 * Returns what was created and what was skipped with the reason (a binary not built).
 */
export async function ensureBuiltinImages(service: ImageService, images = builtinImages()): Promise<{ created: string[]; skipped: Array<{ name: string; reason: string }> }> {
  const created: string[] = [];
  const skipped: Array<{ name: string; reason: string }> = [];
  for (const b of images) {
    const name = normalize(b.name);
    try {
      await service.store.get(name);
      continue;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (!existsSync(b.binary)) {
      skipped.push({ name, reason: `${b.binary} not built (run make -C native)` });
      continue;
    }
    await service.hold(async () => {
      const tmp = await mkdtemp(join(tmpdir(), 'berth-builtin-'));
      try {
        const tarPath = join(tmp, 'layer.tar');
        // Streamed from the binary to the tar to the content store: the daemon never holds them whole.
        await writeTar(tarPath, [{ name: b.path, type: 'file', mode: 0o755, body: { path: b.binary, size: statSync(b.binary).size } }]);
        const layer = await ingestFile(service.content, tarPath, MediaType.ociLayer);
        const config: ImageConfig = {
          created: CREATED,
          architecture: service.platform.architecture,
          os: 'linux',
          config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: b.cmd, WorkingDir: '/', Labels: { 'io.berth.builtin': 'true' } },
          rootfs: { type: 'layers', diff_ids: [layer.digest] },
          history: [{ created: CREATED, created_by: `berth builtin: ${b.description} (/${b.path})` }],
        };
        const cfg = await service.content.writeBlob(Buffer.from(JSON.stringify(config)), { mediaType: MediaType.ociConfig });
        const manifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: cfg, layers: [layer] };
        const target = await service.content.writeBlob(Buffer.from(JSON.stringify(manifest)), { mediaType: MediaType.ociManifest });
        await service.unpack(await resolveImage(service.content, target, service.platform));
        await service.setName(name, target);
        created.push(name);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    });
  }
  return { created, skipped };
}
