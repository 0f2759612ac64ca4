// Container routes of the Engine API: HTTP <-> ContainerService, with dockerd's status codes and stream formats.
//
// Translation only: the ContainerService (engine/) decides everything; here are the query and
// body parsing, the status codes (create 201, start/stop 204 or 304, wait 200 with headers sent
// early), and the stream framing (stdcopy unless the container has a tty).
import { pipeline } from 'node:stream/promises';
import { errInvalid } from '../../common/errors.js';
import type { ContainerConfig, ContainerCreateRequest, ContainerService, HostConfig, PathStat, WaitCondition } from '../../engine/types.js';
import { repoTagReference } from '../../images/reference.js';
import type { Context } from '../context.js';
import { parseDetachKeys } from '../detach-keys.js';
import { hijackContentType } from '../hijack.js';
import type { Filters } from '../query.js';
import type { Router } from '../router.js';
import { FrameBatch, STDERR, STDOUT } from '../../common/stdcopy.js';

/** The header `docker cp` reads a path's stat from (base64 of its JSON). */
export const PATH_STAT_HEADER = 'X-Docker-Container-Path-Stat';

export function encodePathStat(stat: PathStat): string {
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}

export function filtersRecord(f: Filters): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const k of f.keys()) out[k] = f.get(k);
  return out;
}

/** Docker's time parameter for logs: unix seconds with an optional fraction; 0 when absent. */
function parseLogTime(name: string, v: string | undefined): number {
  if (v === undefined || v === '') return 0;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw errInvalid(`invalid value for ${name}: ${JSON.stringify(v)}`);
  return t / 1000;
}

function stopOptions(ctx: Context): { signal?: string; timeout?: number } {
  const timeout = ctx.query.int('t');
  const signal = ctx.query.string('signal') || undefined;
  return { ...(signal ? { signal } : {}), ...(timeout !== undefined ? { timeout } : {}) };
}

const WAIT_CONDITIONS: ReadonlySet<string> = new Set(['not-running', 'next-exit', 'removed']);

/** Write a byte stream response: the whole body is `chunks`, until the source ends or the client leaves. */
async function streamBody(ctx: Context, contentType: string, headers: Record<string, string>, src: NodeJS.ReadableStream): Promise<void> {
  ctx.res.writeHead(200, { ...headers, 'Content-Type': contentType });
  try {
    await pipeline(src, ctx.res, { signal: ctx.signal });
  } catch (e) {
    if (!ctx.signal.aborted) throw e;
  }
}

/** Register the container routes. */
export function registerContainerRoutes(router: Router, containers: ContainerService): void {
  router.get('/containers/json', (ctx) =>
    containers.list({
      all: ctx.query.bool('all'),
      limit: ctx.query.int('limit'),
      size: ctx.query.bool('size'),
      filters: filtersRecord(ctx.query.filters()),
    }),
  );

  router.post('/containers/create', async (ctx) => {
    const body = await ctx.readJson<ContainerCreateRequest>('CreateRequest');
    if (body === undefined || body === null) throw errInvalid('config cannot be empty in order to create a container');
    const name = ctx.query.string('name') || undefined;
    const platform = ctx.query.string('platform') || undefined;
    const r = await containers.create(body, { ...(name ? { name } : {}), ...(platform ? { platform } : {}) });
    ctx.sendJson({ Id: r.Id, Warnings: r.Warnings ?? [] }, 201);
  });

  router.post('/containers/prune', async (ctx) => containers.prune(filtersRecord(ctx.query.filters())));

  router.get('/containers/{id}/json', (ctx) => containers.inspect(ctx.params['id']!, { size: ctx.query.bool('size') }));

  router.get('/containers/{id}/top', (ctx) => containers.top(ctx.params['id']!, ctx.query.string('ps_args') || undefined));

  router.get('/containers/{id}/changes', async (ctx) => {
    const c = await containers.changes(ctx.params['id']!);
    return c.length ? c : null;
  });

  router.get('/containers/{id}/export', async (ctx) => {
    const s = await containers.export(ctx.params['id']!);
    await streamBody(ctx, 'application/x-tar', {}, s);
  });

  router.post('/commit', async (ctx) => {
    const body = await ctx.readJson<ContainerConfig | null>();
    const ref = repoTagReference(ctx.query.string('repo'), ctx.query.string('tag'));
    const container = ctx.query.string('container') ?? '';
    const r = await containers.commit(container, {
      ...(ref ? { ref } : {}),
      ...(ctx.query.string('comment') ? { comment: ctx.query.string('comment') } : {}),
      ...(ctx.query.string('author') ? { author: ctx.query.string('author') } : {}),
      // Absent means true since API 1.13; an empty value is false (dockerd's BoolValue).
      pause: ctx.query.bool('pause', ctx.versionAtLeast('1.13')),
      changes: ctx.query.all('changes'),
      ...(body ? { config: body } : {}),
    });
    ctx.sendJson(r, 201);
  });

  router.get('/containers/{id}/logs', async (ctx) => {
    const id = ctx.params['id']!;
    const stdout = ctx.query.bool('stdout');
    const stderr = ctx.query.bool('stderr');
    if (!stdout && !stderr) throw errInvalid('Bad parameters: you must choose at least one stream');
    const tailArg = ctx.query.string('tail');
    let tail: number | 'all' = 'all';
    if (tailArg !== undefined && tailArg !== '' && tailArg !== 'all') {
      const n = Number(tailArg);
      // dockerd treats a malformed tail as "all".
      if (Number.isInteger(n) && n >= 0) tail = n;
    }
    const timestamps = ctx.query.bool('timestamps');
    const tty = await containers.isTty(id);
    const lines = containers.logs(id, {
      follow: ctx.query.bool('follow'),
      stdout,
      stderr,
      since: parseLogTime('since', ctx.query.string('since')),
      until: parseLogTime('until', ctx.query.string('until')),
      timestamps,
      tail,
    }, ctx.signal);
    const it = lines[Symbol.asyncIterator]();
    // Pull the first line before answering, so a missing container is still a 404.
    const first = await it.next();
    const res = ctx.res;
    res.writeHead(200, { 'Content-Type': hijackContentType(ctx.apiVersion, !tty) });
    res.flushHeaders();
    // Frames are gathered and written FrameBatch.SIZE at a time, or when the event loop turns
    // (as when a follow waits for new lines), so a long past log goes out in large writes.
    const batch = new FrameBatch();
    let scheduled = false;
    const flush = (): boolean => {
      scheduled = false;
      return batch.size && !res.destroyed ? res.write(batch.take()) : true;
    };
    const drained = () => new Promise<void>((r) => {
      const done = () => { res.off('drain', done); res.off('close', done); r(); };
      res.once('drain', done);
      res.once('close', done);
    });
    /** Adds a line; a promise only when the client must catch up first. */
    const add = (l: { stream: 'stdout' | 'stderr'; text: Buffer; time: string }): Promise<void> | undefined => {
      batch.add(tty ? undefined : l.stream === 'stderr' ? STDERR : STDOUT, l.text, timestamps ? `${l.time} ` : '');
      if (batch.size >= FrameBatch.SIZE) return flush() ? undefined : drained();
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      return undefined;
    };
    try {
      if (!first.done) {
        await add(first.value);
        for (let n = await it.next(); !n.done && !ctx.signal.aborted && !res.destroyed; n = await it.next()) {
          const wait = add(n.value);
          if (wait) await wait;
        }
      }
    } finally {
      await it.return?.();
      flush();
      if (!res.writableEnded && !res.destroyed) res.end();
    }
  });

  router.get('/containers/{id}/stats', async (ctx) => {
    const id = ctx.params['id']!;
    const stream = ctx.query.bool('stream', true);
    const oneShot = ctx.query.bool('one-shot');
    const src = containers.stats(id, { stream, oneShot }, ctx.signal);
    if (!stream) {
      for await (const s of src) return s;
      throw errInvalid(`no stats for container ${id}`);
    }
    const it = src[Symbol.asyncIterator]();
    const first = await it.next();
    const out = ctx.jsonStream();
    out.start();
    if (first.done) return out.end();
    await out.write(first.value);
    await out.pipeFrom({ [Symbol.asyncIterator]: () => it });
  });

  router.post('/containers/{id}/resize', async (ctx) => {
    const h = ctx.query.int('h');
    const w = ctx.query.int('w');
    if (h === undefined || w === undefined) throw errInvalid('resize: h and w are required');
    await containers.resize(ctx.params['id']!, h, w);
    ctx.sendStatus(200);
  });

  router.post('/containers/{id}/start', async (ctx) => {
    if (ctx.hasBody) {
      // API < 1.24 clients sent a HostConfig here; dockerd refuses it now too.
      const b = await ctx.readJson<Record<string, unknown>>().catch(() => undefined);
      if (b && Object.keys(b).length) throw errInvalid('starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24');
    }
    const started = await containers.start(ctx.params['id']!);
    ctx.sendStatus(started ? 204 : 304);
  });

  router.post('/containers/{id}/stop', async (ctx) => {
    const stopped = await containers.stop(ctx.params['id']!, stopOptions(ctx));
    ctx.sendStatus(stopped ? 204 : 304);
  });

  router.post('/containers/{id}/restart', async (ctx) => {
    await containers.restart(ctx.params['id']!, stopOptions(ctx));
    ctx.sendStatus(204);
  });

  router.post('/containers/{id}/kill', async (ctx) => {
    await containers.kill(ctx.params['id']!, ctx.query.string('signal') || undefined);
    ctx.sendStatus(204);
  });

  router.post('/containers/{id}/update', async (ctx) => {
    const body = await ctx.readJson<HostConfig>('UpdateConfig');
    return containers.update(ctx.params['id']!, body ?? {});
  });

  router.post('/containers/{id}/rename', async (ctx) => {
    const name = ctx.query.string('name');
    if (!name) throw errInvalid('Neither old nor new names may be empty');
    await containers.rename(ctx.params['id']!, name);
    ctx.sendStatus(204);
  });

  router.post('/containers/{id}/pause', async (ctx) => {
    await containers.pause(ctx.params['id']!);
    ctx.sendStatus(204);
  });

  router.post('/containers/{id}/unpause', async (ctx) => {
    await containers.unpause(ctx.params['id']!);
    ctx.sendStatus(204);
  });

  router.post('/containers/{id}/wait', async (ctx) => {
    const cond = ctx.query.string('condition') || 'not-running';
    if (!WAIT_CONDITIONS.has(cond)) throw errInvalid(`invalid condition: "${cond}"`);
    const ac = new AbortController();
    const onAbort = () => ac.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const p = containers.wait(ctx.params['id']!, cond as WaitCondition, ac.signal);
      // An immediate failure (no such container) is an HTTP error; after that, the 200 and its
      // headers go out at once (the docker CLI starts the container once they arrive), the body later.
      // `wait` settles an immediate answer within microtasks, so one turn of the loop tells them apart
      // (a timer here would hold up every `docker run` by its length).
      const early = await Promise.race([p.then((v) => ({ v }), (e: unknown) => ({ e })), new Promise<undefined>((r) => setImmediate(() => r(undefined)))]);
      if (early && 'e' in early) throw early.e;
      if (!early) {
        ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
        ctx.res.flushHeaders();
      }
      let body: { StatusCode: number; Error?: { Message: string } | null };
      try {
        body = early ? early.v : await p;
      } catch (e) {
        if (!ctx.res.headersSent) throw e;
        body = { StatusCode: -1, Error: { Message: (e as Error).message } };
      }
      const text = JSON.stringify({ StatusCode: body.StatusCode, Error: body.Error ?? null }) + '\n';
      if (ctx.res.headersSent) ctx.res.end(text);
      else ctx.sendJson({ StatusCode: body.StatusCode, Error: body.Error ?? null });
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
  });

  router.delete('/containers/{id}', async (ctx) => {
    await containers.remove(ctx.params['id']!, { force: ctx.query.bool('force'), volumes: ctx.query.bool('v'), link: ctx.query.bool('link') });
    ctx.sendStatus(204);
  });

  router.post('/containers/{id}/attach', async (ctx) => {
    const id = ctx.params['id']!;
    const detachKeys = parseDetachKeys(ctx.query.string('detachKeys'));
    const tty = await containers.isTty(id);
    const conn = ctx.hijack({ multiplexed: !tty });
    try {
      await containers.attach(id, {
        conn,
        stdin: ctx.query.bool('stdin'),
        stdout: ctx.query.bool('stdout'),
        stderr: ctx.query.bool('stderr'),
        detachKeys,
      }, { logs: ctx.query.bool('logs'), stream: ctx.query.bool('stream') });
    } finally {
      if (!conn.destroyed) conn.end();
    }
  });

  // Archive: HEAD stats a path, GET reads it as a tar, PUT extracts a tar into a directory.
  const archivePath = (ctx: Context) => {
    const p = ctx.query.string('path');
    if (!p) throw errInvalid('path is required');
    return p;
  };
  router.head('/containers/{id}/archive', async (ctx) => {
    const stat = await containers.statPath(ctx.params['id']!, archivePath(ctx));
    ctx.sendStatus(200, { [PATH_STAT_HEADER]: encodePathStat(stat), 'Content-Type': 'application/json' });
  });
  router.get('/containers/{id}/archive', async (ctx) => {
    const { stat, stream } = await containers.getArchive(ctx.params['id']!, archivePath(ctx));
    await streamBody(ctx, 'application/x-tar', { [PATH_STAT_HEADER]: encodePathStat(stat) }, stream);
  });
  router.put('/containers/{id}/archive', async (ctx) => {
    await containers.putArchive(ctx.params['id']!, archivePath(ctx), ctx.bodyStream(), {
      noOverwriteDirNonDir: ctx.query.bool('noOverwriteDirNonDir'),
      copyUIDGID: ctx.query.bool('copyUIDGID'),
    });
    ctx.sendStatus(200);
  });
}
