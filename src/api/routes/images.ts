// Image routes of the Engine API: list, inspect, history, tag, remove, prune, pull/import, push, load, save.
//
// Translation only: every decision is the ImageService's (images/), the archive code's or the
// distribution code's. Progress and load output follow Docker's JSONMessage stream.
import { matchLabels } from '../../common/label-filter.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { errConflict, errInvalid, errNotFound, errorCode, isNotFound } from '../../common/errors.js';
import { download } from '../../images/archive/download.js';
import { importRootfs } from '../../images/archive/import.js';
import { loadArchive } from '../../images/archive/load.js';
import { saveImages } from '../../images/archive/save.js';
import type { Credentials } from '../../images/distribution/credentials.js';
import { throttled, type ProgressEvent } from '../../images/distribution/progress.js';
import type { RegistryClientOptions } from '../../images/distribution/registry-client.js';
import type { ImageService, ImageSummary } from '../../images/images.js';
import { familiarString, normalize, normalizeReference, parseReference, repoName, repoTagReference } from '../../images/reference.js';
import type { EventService } from '../../engine/types.js';
import type { Context } from '../context.js';
import type { Filters } from '../query.js';
import type { Router } from '../router.js';

export interface ImageRouteDeps {
  images: ImageService;
  /** Image events (pull, tag, untag, delete, load, save, import) go here when given. */
  events?: EventService;
  /** Registry settings (insecure registries, mirrors); credentials come from X-Registry-Auth only. */
  registry?: RegistryClientOptions;
  /** Containers per image id (for `Containers` in the list); -1 when unknown. */
  containerCounts?: () => Promise<Map<string, number>>;
  /** Where `docker save` output is staged; default the system temp dir. */
  tmpDir?: string;
  /** Told how each pull ended (metrics). */
  onPull?: (ok: boolean) => void;
}

/**
 * Docker's X-Registry-Auth header: base64url JSON of {username, password, serveraddress} (or an
 * identity token, which Berth does not support and ignores). Undefined when absent or empty.
 */
export function registryAuth(header: string | undefined): Credentials | undefined {
  if (!header) return undefined;
  let v: { username?: string; password?: string };
  try {
    v = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as typeof v;
  } catch (e) {
    throw errInvalid('invalid X-Registry-Auth header: not base64 JSON', e);
  }
  if (!v || typeof v !== 'object' || !v.username) return undefined;
  return { username: v.username, password: v.password ?? '' };
}

/** Registry options for one request: the daemon's settings, the request's credentials, never a config.json. */
function registryOptions(deps: ImageRouteDeps, ctx: Context): RegistryClientOptions {
  const creds = registryAuth(ctx.header('x-registry-auth'));
  return { ...deps.registry, credentials: () => creds };
}

function publish(deps: ImageRouteDeps, action: string, id: string, attrs: Record<string, string> = {}): void {
  deps.events?.publish({ Type: 'image', Action: action, Actor: { ID: id, Attributes: { name: id, ...attrs } }, status: action, id });
}

/** A progress event as Docker's JSONMessage. */
function jsonMessage(e: ProgressEvent): Record<string, unknown> {
  const m: Record<string, unknown> = { status: e.status };
  if (e.id !== undefined) m['id'] = e.id;
  if (e.progressDetail) m['progressDetail'] = e.progressDetail;
  else if (e.id !== undefined) m['progressDetail'] = {};
  return m;
}

/**
 * Run `work` with a progress callback whose messages go out as a JSON stream. Until the first
 * message past `holdWhile` (the "Pulling from" line, written before the manifest is resolved)
 * nothing is sent, so an early failure (no such repository, bad credentials) is an ordinary HTTP
 * error, as dockerd's is; after that, errors go inside the stream.
 */
async function progressStream(ctx: Context, work: (onProgress: (e: ProgressEvent) => void) => Promise<void>, holdWhile: (e: ProgressEvent) => boolean): Promise<void> {
  let stream: ReturnType<Context['jsonStream']> | undefined;
  const held: unknown[] = [];
  let chain = Promise.resolve();
  const send = (m: unknown) => {
    chain = chain.then(async () => { await stream!.write(m); });
  };
  const onProgress = (e: ProgressEvent) => {
    const m = jsonMessage(e);
    if (!stream) {
      if (holdWhile(e)) {
        held.push(m);
        return;
      }
      stream = ctx.jsonStream();
      stream.start();
      for (const h of held.splice(0)) send(h);
    }
    send(m);
  };
  try {
    await work(onProgress);
  } catch (err) {
    if (!stream) throw err;
    await chain;
    await stream.writeError(err);
    stream.end();
    return;
  }
  if (!stream) {
    stream = ctx.jsonStream();
    for (const h of held.splice(0)) send(h);
  }
  await chain;
  stream.end();
}

/** `fromImage` + `tag` as the reference to pull: a digest tag makes `repo@digest`. */
function pullReference(fromImage: string, tag: string | undefined): string {
  if (!tag) return fromImage;
  if (/^[a-z0-9]+:[a-f0-9]{32,}$/.test(tag)) return `${fromImage}@${tag}`;
  return `${fromImage}:${tag}`;
}

/** Glob match for the `reference` filter (Go's path.Match: `*` does not cross `/`). */
function globMatch(pattern: string, s: string): boolean {
  const re = pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`).test(s);
}

function nameMatches(patterns: string[], name: string): boolean {
  const repo = name.replace(/(@.*|:[^:/]*)$/, '');
  for (const p of patterns) {
    if (globMatch(p, name) || globMatch(p, repo)) return true;
    try {
      // `busybox` also matches `docker.io/library/busybox:latest`, as Docker's normalized match.
      if (normalize(p) === normalize(name)) return true;
    } catch {
      // a pattern with glob characters is not a reference
    }
  }
  return false;
}

/** The image with only the names the `reference` patterns match (as dockerd shows it), or undefined. */
function referenceFilter(patterns: string[], img: ImageSummary): ImageSummary | undefined {
  const tags = img.RepoTags.filter((t) => nameMatches(patterns, t));
  const digests = img.RepoDigests.filter((t) => nameMatches(patterns, t));
  if (tags.length === 0 && digests.length === 0) return undefined;
  return { ...img, RepoTags: tags, RepoDigests: digests };
}


/** Apply `docker images --filter` (dangling, label, reference, before, since, until). */
async function filterImages(deps: ImageRouteDeps, list: ImageSummary[], f: Filters): Promise<ImageSummary[]> {
  f.validate(['dangling', 'label', 'reference', 'before', 'since', 'until']);
  const dangling = f.bool('dangling');
  let out = list;
  if (dangling !== undefined) out = out.filter((i) => (i.RepoTags.length === 0) === dangling);
  if (f.get('label').length) out = out.filter((i) => matchLabels(f.get('label'), i.Labels));
  if (f.get('reference').length) out = out.map((i) => referenceFilter(f.get('reference'), i)).filter((i): i is ImageSummary => i !== undefined);
  for (const key of ['before', 'since'] as const) {
    for (const ref of f.get(key)) {
      const pivot = await deps.images.get(ref);
      const created = list.find((i) => i.Id === pivot.id)?.Created ?? 0;
      out = out.filter((i) => (key === 'before' ? i.Created < created : i.Created > created));
    }
  }
  for (const u of f.get('until')) {
    const t = parseTimestamp(u);
    out = out.filter((i) => i.Created < t);
  }
  return out;
}

/** A Docker timestamp filter value: unix seconds (with fraction) or an RFC 3339 date. */
function parseTimestamp(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw errInvalid(`invalid filter 'until=${v}': not a timestamp`);
  return t / 1000;
}

/** Register the image routes. */
export function registerImageRoutes(router: Router, deps: ImageRouteDeps): void {
  const { images } = deps;

  router.get('/images/json', async (ctx) => {
    let list = await images.list();
    if (deps.containerCounts) {
      const counts = await deps.containerCounts();
      list = list.map((i) => ({ ...i, Containers: counts.get(i.Id) ?? 0 }));
    }
    const f = ctx.query.filters();
    // The legacy `filter` parameter is a reference pattern.
    const legacy = ctx.query.string('filter');
    if (legacy) f.add('reference', legacy);
    return filterImages(deps, list, f);
  });

  // POST /images/create: pull (fromImage) or import (fromSrc, `-` is the request body).
  router.post('/images/create', async (ctx) => {
    const fromImage = ctx.query.string('fromImage');
    const fromSrc = ctx.query.string('fromSrc');
    const tag = ctx.query.string('tag');
    if (fromImage) {
      const ref = pullReference(fromImage, tag);
      const full = normalize(ref);
      await progressStream(ctx, async (onProgress) => {
        // Loaded on first use: the registry client (undici) is most of an idle daemon's memory.
        const { pullImage } = await import('../../images/distribution/pull.js');
        try {
          await pullImage(images, ref, { registry: registryOptions(deps, ctx), onProgress });
        } catch (e) {
          deps.onPull?.(false);
          throw e;
        }
        deps.onPull?.(true);
        publish(deps, 'pull', familiarString(full));
      }, (e) => /^Pulling from /.test(e.status));
      return;
    }
    if (fromSrc !== undefined) {
      const ref = repoTagReference(ctx.query.string('repo'), tag);
      const opts = { ...(ref ? { ref } : {}), changes: ctx.query.all('changes'), message: ctx.query.string('message') || undefined };
      if (fromSrc === '-') {
        const r = await importRootfs(images, ctx.bodyStream(), opts);
        publish(deps, 'import', r.id);
        const s = ctx.jsonStream();
        await s.write({ status: r.id });
        s.end();
        return;
      }
      // A URL: dockerd fetches it; a failed GET is the HTTP error, later ones are in the stream.
      await progressStream(ctx, async (onProgress) => {
        const importing = throttled(onProgress);
        const { url, body } = await download(fromSrc, {
          signal: ctx.signal,
          onData: (current, total) => importing({ status: 'Importing', progressDetail: total > 0 ? { current, total } : { current } }),
        });
        onProgress({ status: `Downloading from ${url}` });
        const r = await importRootfs(images, body, opts);
        publish(deps, 'import', r.id);
        onProgress({ status: r.id });
      }, () => false);
      return;
    }
    throw errInvalid('either fromImage or fromSrc must be given');
  });

  router.post('/images/load', async (ctx) => {
    const quiet = ctx.query.bool('quiet');
    const r = await loadArchive(images, ctx.bodyStream());
    for (const img of r.images) for (const n of img.names.length ? img.names : [img.id]) publish(deps, 'load', n.includes(':') && !n.startsWith('sha256:') ? familiarString(n) : n);
    const s = ctx.jsonStream();
    for (const m of r.messages) await s.write({ stream: `${m}\n` });
    void quiet; // quiet only hides progress bars, which Berth's load does not send
    s.end();
  });

  const save = async (ctx: Context, refs: string[]) => {
    if (refs.length === 0) throw errInvalid('no images given (names=...)');
    // Resolve first, so a missing image is a 404 rather than a broken tar.
    for (const r of refs) await images.get(r);
    const dir = await mkdtemp(join(deps.tmpDir ?? tmpdir(), 'berth-save-'));
    try {
      const out = join(dir, 'images.tar');
      await saveImages(images, refs, out);
      for (const r of refs) publish(deps, 'save', r);
      ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      await pipeline(createReadStream(out), ctx.res, { signal: ctx.signal }).catch((e: unknown) => {
        if (!ctx.signal.aborted) throw e;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  router.get('/images/get', (ctx) => save(ctx, ctx.query.all('names').flatMap((n) => n.split(',')).filter(Boolean)));

  router.post('/images/prune', async (ctx) => {
    const f = ctx.query.filters();
    f.validate(['dangling', 'label', 'label!', 'until']);
    const danglingOnly = f.bool('dangling') ?? true;
    let list = await images.list();
    if (danglingOnly) list = list.filter((i) => i.RepoTags.length === 0);
    if (f.get('label').length) list = list.filter((i) => matchLabels(f.get('label'), i.Labels));
    if (f.get('label!').length) list = list.filter((i) => !matchLabels(f.get('label!'), i.Labels));
    for (const u of f.get('until')) list = list.filter((i) => i.Created < parseTimestamp(u));
    const deleted: unknown[] = [];
    let reclaimed = 0;
    for (const img of list) {
      try {
        const items = await images.remove(img.Id, {});
        deleted.push(...items);
        reclaimed += img.Size;
        for (const it of items) if ('Deleted' in it) publish(deps, 'delete', it.Deleted);
      } catch (e) {
        // In use by a container, or gone meanwhile: not prunable, as dockerd skips it.
        if (errorCode(e) !== 'conflict' && !isNotFound(e)) throw e;
      }
    }
    return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  });

  router.get('/images/{name:.*}/json', (ctx) => images.inspect(ctx.params['name']!));
  router.get('/images/{name:.*}/history', (ctx) => images.history(ctx.params['name']!));
  router.get('/images/{name:.*}/get', (ctx) => save(ctx, [ctx.params['name']!]));

  router.post('/images/{name:.*}/tag', async (ctx) => {
    const repo = ctx.query.string('repo');
    if (!repo) throw errInvalid('repository name must have at least one component');
    const tag = ctx.query.string('tag') || 'latest';
    const target = `${repo}:${tag}`;
    try {
      parseReference(target);
    } catch (e) {
      throw errInvalid(`invalid reference format: ${(e as Error).message}`, e);
    }
    const name = await images.tag(ctx.params['name']!, target);
    publish(deps, 'tag', familiarString(name));
    ctx.sendStatus(201);
  });

  router.post('/images/{name:.*}/push', async (ctx) => {
    const repoRef = ctx.params['name']!;
    const tag = ctx.query.string('tag');
    const ref = tag ? pullReference(repoRef, tag) : repoRef;
    const full = normalize(ref);
    const img = await images.get(ref).catch((e: unknown) => {
      if (isNotFound(e)) throw errNotFound(`An image does not exist locally with the tag: ${familiarString(repoName(normalizeReference(ref)))}`, e);
      throw e;
    });
    const target = img.records.find((r) => r.name === full)?.target ?? img.manifestDesc;
    await progressStream(ctx, async (onProgress) => {
      const { push } = await import('../../images/distribution/push.js'); // on first use, as pull
      await push(full, { content: images.content, target, registry: registryOptions(deps, ctx), onProgress });
      publish(deps, 'push', familiarString(full));
    }, (e) => /^The push refers to/.test(e.status));
  });

  router.delete('/images/{name:.*}', async (ctx) => {
    const name = ctx.params['name']!;
    const items = await images.remove(name, { force: ctx.query.bool('force') }).catch((e: unknown) => {
      if (errorCode(e) === 'conflict') throw errConflict((e as Error).message, e);
      throw e;
    });
    for (const it of items) {
      if ('Untagged' in it) publish(deps, 'untag', it.Untagged);
      else publish(deps, 'delete', it.Deleted);
    }
    return items;
  });
}
