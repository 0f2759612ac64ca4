// The API edge end to end on a temp unix socket: raw peers writing HTTP by hand, the docker CLI, and our client.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { errConflict, errNotFound, errorCode, BerthError } from '../../../src/common/errors.js';
import { createLogger } from '../../../src/common/log.js';
import { Router } from '../../../src/api/router.js';
import { ApiServer, startApiServer } from '../../../src/api/server.js';
import { registerPingRoutes } from '../../../src/api/ping.js';
import { registerVersionRoute } from '../../../src/api/version.js';
import type { Context } from '../../../src/api/context.js';
import { FrameEncoder, STDERR, STDOUT, decodeFrames, encodeFrame, frameWriter } from '../../../src/common/stdcopy.js';
import { ApiError, Client } from '../../../src/client/client.js';
import { RawPeer, parseResponses, rawRequest } from './raw-peer.js';

const run = promisify(execFile);
const DOCKER = '/usr/bin/docker';

/** What the demo handlers observed, for assertions. */
const seen = {
  streamAborted: [] as unknown[],
  bodyErrors: [] as unknown[],
  waitAborted: [] as unknown[],
  requestIds: [] as string[],
};
let onStreamAbort: (() => void) | undefined;

function demoRouter(): Router {
  const r = new Router();
  registerPingRoutes(r);
  registerVersionRoute(r, undefined, () => [{ Name: 'berth-shim', Version: '0.0.0-test', Details: { Note: 'demo' } }]);
  r.post('/echo', async (ctx: Context) => {
    seen.requestIds.push(ctx.requestId);
    const body = await ctx.readJson();
    return {
      body,
      flag: ctx.query.bool('flag'),
      filters: ctx.query.filters().toJSON(),
      apiVersion: ctx.apiVersion,
      requestId: ctx.requestId,
    };
  });
  r.get('/containers/{id}/json', (ctx) => {
    if (ctx.params['id'] === 'missing') throw errNotFound('No such container: missing');
    if (ctx.params['id'] === 'busy') throw errConflict('container busy is restarting');
    return { Id: ctx.params['id'], State: { Running: true }, Config: {} };
  });
  // Enough of exec for `docker exec -i`: create, start (the hijack echo below), inspect for the exit code.
  r.post('/containers/{id}/exec', async (ctx) => {
    const body = (await ctx.readJson()) as { Cmd?: string[] };
    ctx.sendJson({ Id: `exec-${body.Cmd?.[0] ?? 'x'}` }, 201);
  });
  r.get('/exec/{id}/json', (ctx) => ({ ID: ctx.params['id'], Running: false, ExitCode: 3 }));
  r.get('/images/{name:.*}/json', (ctx) => ({ Name: ctx.params['name'] }));
  r.get('/boom', () => {
    throw new Error('kaput');
  });
  r.delete('/nothing', () => undefined);
  r.post('/slowbody', async (ctx) => {
    try {
      await ctx.readBody();
    } catch (e) {
      seen.bodyErrors.push(e);
      throw e;
    }
    return { ok: true };
  });
  r.get('/stream', async (ctx) => {
    const count = ctx.query.int('count');
    const s = ctx.jsonStream();
    s.start();
    ctx.signal.addEventListener('abort', () => {
      seen.streamAborted.push(ctx.signal.reason);
      onStreamAbort?.();
    });
    for (let i = 0; count === undefined || i < count; i++) {
      if (!(await s.write({ status: 'tick', n: i }))) break;
      await new Promise((res) => setTimeout(res, 10));
    }
    s.end();
  });
  r.get('/wait', async (ctx) => {
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
    seen.waitAborted.push(ctx.signal.reason);
  });
  // A hijack echo: stdin comes back upper-cased as stdout frames; stdin EOF -> "bye" on stderr, then end.
  r.post('/exec/{id}/start', async (ctx) => {
    if (ctx.params['id'] === 'missing') throw errNotFound('No such exec instance: missing');
    const opts = ((await ctx.readJson()) ?? {}) as { Tty?: boolean };
    const conn = ctx.hijack({ multiplexed: !opts.Tty });
    const out = opts.Tty ? conn : frameWriter(conn, STDOUT);
    conn.on('data', (c: Buffer) => out.write(Buffer.from(c.toString().toUpperCase())));
    conn.once('end', () => {
      if (opts.Tty) conn.end('bye\n');
      else conn.end(encodeFrame(STDERR, 'bye\n'));
    });
  });
  return r;
}

describe('api server on a unix socket', () => {
  let dir: string;
  let sock: string;
  let server: ApiServer;
  const logLines: Record<string, unknown>[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);

  before(async () => {
    process.on('uncaughtException', onUnhandled);
    process.on('unhandledRejection', onUnhandled);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-api-'));
    sock = path.join(dir, 'berth.sock');
    server = await startApiServer({
      router: demoRouter(),
      hosts: [`unix://${sock}`],
      socketGroup: 'no-such-group-berth-test',
      maxBodyBytes: 64 * 1024,
      log: createLogger({ level: 'debug', dest: { write: (l: string) => logLines.push(JSON.parse(l)) } }),
    });
  });

  after(async () => {
    await server.close({ graceMs: 100 });
    fs.rmSync(dir, { recursive: true, force: true });
    process.off('uncaughtException', onUnhandled);
    process.off('unhandledRejection', onUnhandled);
    assert.deepEqual(unhandled, [], 'no uncaught errors during the suite');
  });

  test('socket is 0600 when the socket group does not exist', () => {
    const st = fs.statSync(sock);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
  });

  test('raw: GET /_ping with headers sent in pieces', async () => {
    const peer = await RawPeer.connect(sock);
    peer.write('GET /_p');
    await new Promise((r) => setTimeout(r, 30));
    peer.write('ing HTTP/1.1\r\nHo');
    await new Promise((r) => setTimeout(r, 30));
    peer.write('st: x\r\n');
    await new Promise((r) => setTimeout(r, 30));
    peer.write('\r\n');
    await peer.until((d) => parseResponses(d).length === 1);
    const [res] = parseResponses(peer.data);
    peer.destroy();
    assert.equal(res!.status, 200);
    assert.equal(res!.body.toString(), 'OK');
    assert.equal(res!.headers['api-version'], '1.50');
    assert.equal(res!.headers['docker-experimental'], 'false');
    assert.equal(res!.headers['ostype'], 'linux');
    assert.equal(res!.headers['builder-version'], '1');
    assert.equal(res!.headers['cache-control'], 'no-cache, no-store, must-revalidate');
    assert.equal(res!.headers['pragma'], 'no-cache');
    assert.match(res!.headers['x-request-id']!, /^[0-9a-f]{16}$/);
    assert.match(res!.headers['server']!, /^Berth\//);
  });

  test('raw: HEAD /_ping has the headers and no body', async () => {
    const peer = await RawPeer.connect(sock);
    // A HEAD then a GET on the same connection: if HEAD leaked a body, the GET would misparse.
    peer.write('HEAD /_ping HTTP/1.1\r\nHost: x\r\n\r\nGET /v1.41/_ping HTTP/1.1\r\nHost: x\r\n\r\n');
    await peer.until((d) => d.includes('\r\n\r\nOK'));
    peer.destroy();
    const text = peer.data.toString();
    const secondAt = text.indexOf('HTTP/1.1', 1);
    const head = parseResponses(peer.data.subarray(0, secondAt), { bodiless: true })[0]!;
    assert.equal(head.status, 200);
    assert.equal(head.headers['api-version'], '1.50');
    assert.equal(head.headers['docker-experimental'], 'false');
    assert.ok(text.slice(0, secondAt).endsWith('\r\n\r\n'), 'nothing after the HEAD headers');
    const get = parseResponses(peer.data.subarray(secondAt))[0]!;
    assert.equal(get.body.toString(), 'OK');
  });

  test('raw: pipelined requests are answered in order', async () => {
    const peer = await RawPeer.connect(sock);
    const echo = (n: number) => {
      const body = JSON.stringify({ n });
      return `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    };
    peer.write(echo(1) + 'GET /containers/abc/json HTTP/1.1\r\nHost: x\r\n\r\n' + echo(3));
    await peer.until((d) => parseResponses(d).length === 3);
    peer.destroy();
    const rs = parseResponses(peer.data);
    assert.deepEqual(rs.map((r) => r.status), [200, 200, 200]);
    assert.deepEqual((JSON.parse(rs[0]!.body.toString()) as { body: unknown }).body, { n: 1 });
    assert.equal((JSON.parse(rs[1]!.body.toString()) as { Id: string }).Id, 'abc');
    assert.deepEqual((JSON.parse(rs[2]!.body.toString()) as { body: unknown }).body, { n: 3 });
    assert.notEqual(rs[0]!.headers['x-request-id'], rs[2]!.headers['x-request-id']);
  });

  test('raw: a body cut off mid-way gets 400 and the server stays healthy', async () => {
    const before = seen.bodyErrors.length;
    const peer = await RawPeer.connect(sock);
    peer.write('POST /slowbody HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\n0123456789');
    await new Promise((r) => setTimeout(r, 30));
    peer.end();
    await peer.untilEnd();
    const [res] = parseResponses(peer.data);
    assert.equal(res?.status, 400);
    assert.equal(res?.headers['content-type'], 'application/json');
    assert.match((JSON.parse(res!.body.toString()) as { message: string }).message, /EOF|cut off/);
    await waitFor(() => seen.bodyErrors.length > before);
    assert.equal(errorCode(seen.bodyErrors.at(-1)), 'cancelled');
    const ping = await rawRequest(sock, 'GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(ping.body.toString(), 'OK');
  });

  test('raw: garbage instead of HTTP gets a JSON 400', async () => {
    const peer = await RawPeer.connect(sock);
    peer.write('NOT HTTP AT ALL\r\n\r\n');
    await peer.untilEnd();
    const [res] = parseResponses(peer.data);
    assert.equal(res?.status, 400);
    assert.ok('message' in (JSON.parse(res!.body.toString()) as object));
  });

  test('raw: a client that disconnects mid-stream fires the handler signal', async () => {
    const before = seen.streamAborted.length;
    const aborted = new Promise<void>((r) => (onStreamAbort = r));
    const peer = await RawPeer.connect(sock);
    peer.write('GET /v1.41/stream HTTP/1.1\r\nHost: x\r\n\r\n');
    await peer.until((d) => d.toString().split('"tick"').length > 3);
    assert.match(peer.data.toString(), /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(peer.data.toString(), /Content-Type: application\/json/i);
    peer.destroy();
    await aborted;
    assert.equal(seen.streamAborted.length, before + 1);
    assert.equal(errorCode(seen.streamAborted.at(-1)), 'cancelled');
  });

  test('raw: hijack on API 1.50 is 101 UPGRADED with stdcopy frames; half-close is stdin EOF', async () => {
    const peer = await RawPeer.connect(sock);
    const body = JSON.stringify({ Detach: false, Tty: false });
    // Body and the first stdin bytes in one write: the body must be split off exactly.
    peer.write(
      `POST /v1.50/exec/e1/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}hello `,
    );
    await peer.until((d) => d.includes('\r\n\r\n'));
    const headEnd = peer.data.indexOf('\r\n\r\n') + 4;
    const head = parseResponses(peer.data.subarray(0, headEnd))[0]!;
    assert.equal(head.status, 101);
    assert.equal(head.reason, 'UPGRADED');
    assert.equal(head.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
    assert.equal(head.headers['connection'], 'Upgrade');
    assert.equal(head.headers['upgrade'], 'tcp');
    peer.write('world');
    await new Promise((r) => setTimeout(r, 20));
    peer.end();
    await peer.untilEnd();
    const frames = [];
    for await (const f of decodeFrames([peer.data.subarray(headEnd)])) frames.push(f);
    const stdout = frames.filter((f) => f.stream === STDOUT).map((f) => f.payload.toString()).join('');
    const stderr = frames.filter((f) => f.stream === STDERR).map((f) => f.payload.toString()).join('');
    assert.equal(stdout, 'HELLO WORLD');
    assert.equal(stderr, 'bye\n');
  });

  test('raw: hijack on API 1.41 announces a raw stream even when multiplexed', async () => {
    const peer = await RawPeer.connect(sock);
    peer.write('POST /v1.41/exec/e1/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n');
    await peer.until((d) => d.includes('\r\n\r\n'));
    assert.match(peer.data.toString(), /^HTTP\/1\.1 101 UPGRADED\r\n/);
    assert.match(peer.data.toString(), /Content-Type: application\/vnd\.docker\.raw-stream\r\n/);
    peer.end();
    await peer.untilEnd();
  });

  test('raw: hijack with a TTY is a raw stream', async () => {
    const peer = await RawPeer.connect(sock);
    const body = '{"Tty":true}';
    peer.write(`POST /exec/t/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 20));
    peer.write(body.slice(0, 5));
    await new Promise((r) => setTimeout(r, 20));
    peer.write(body.slice(5) + 'abc');
    peer.end();
    await peer.untilEnd();
    const text = peer.data.toString();
    assert.match(text, /Content-Type: application\/vnd\.docker\.raw-stream\r\n/);
    assert.equal(text.slice(text.indexOf('\r\n\r\n') + 4), 'ABCbye\n');
  });

  test('raw: an upgrade request that fails before the hijack gets a normal JSON error', async () => {
    const peer = await RawPeer.connect(sock);
    peer.write('POST /v1.50/exec/missing/start HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 2\r\n\r\n{}');
    await peer.untilEnd();
    const [res] = parseResponses(peer.data);
    assert.equal(res?.status, 404);
    assert.deepEqual(JSON.parse(res!.body.toString()), { message: 'No such exec instance: missing' });
    assert.equal(res!.headers['connection'], 'close');
  });

  test('raw: hijack without upgrade headers answers 200 with the raw stream', async () => {
    const peer = await RawPeer.connect(sock);
    peer.write('POST /v1.50/exec/old/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"Tty":true}');
    await peer.until((d) => d.includes('\r\n\r\n'));
    assert.match(peer.data.toString(), /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(peer.data.toString(), /Content-Type: application\/vnd\.docker\.raw-stream/i);
    assert.doesNotMatch(peer.data.toString(), /Transfer-Encoding/i);
    peer.destroy();
  });

  test('errors: unknown route, wrong method, bad version, bad escapes', async () => {
    const nf = await rawRequest(sock, 'GET /v1.50/info HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(nf.status, 404);
    assert.deepEqual(JSON.parse(nf.body.toString()), { message: 'page not found' });
    assert.equal(nf.headers['content-type'], 'application/json');
    const na = await rawRequest(sock, 'PUT /_ping HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
    assert.equal(na.status, 405);
    assert.equal(na.headers['allow'], 'GET, HEAD');
    const tooNew = await rawRequest(sock, 'GET /v1.51/version HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(tooNew.status, 400);
    assert.deepEqual(JSON.parse(tooNew.body.toString()), { message: 'client version 1.51 is too new. Maximum supported API version is 1.50' });
    const tooOld = await rawRequest(sock, 'GET /v1.12/version HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(tooOld.status, 400);
    assert.match(tooOld.body.toString(), /client version 1\.12 is too old\. Minimum supported API version is 1\.24/);
    const esc = await rawRequest(sock, 'GET /containers/%E0%A4%A/json HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(esc.status, 400);
    const boom = await rawRequest(sock, 'GET /boom HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(boom.status, 500);
    assert.deepEqual(JSON.parse(boom.body.toString()), { message: 'kaput' });
    assert.ok(logLines.some((l) => l['msg'] === 'request failed' && l['level'] === 50 && typeof l['reqId'] === 'string'));
    const none = await rawRequest(sock, 'DELETE /nothing HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(none.status, 204);
  });

  test('errors: Content-Type and JSON body checks', async () => {
    const req = (ct: string | undefined, body: string) =>
      rawRequest(sock, `POST /echo HTTP/1.1\r\nHost: x\r\n${ct ? `Content-Type: ${ct}\r\n` : ''}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    const plain = await req('text/plain', '{}');
    assert.equal(plain.status, 400);
    assert.deepEqual(JSON.parse(plain.body.toString()), { message: "Content-Type specified (text/plain) must be 'application/json'" });
    const bad = await req('application/json', 'xyz');
    assert.equal(bad.status, 400);
    assert.deepEqual(JSON.parse(bad.body.toString()), { message: "invalid JSON: invalid character 'x' looking for beginning of value" });
    const empty = await req(undefined, '');
    assert.equal(empty.status, 200);
    assert.equal((JSON.parse(empty.body.toString()) as { body?: unknown }).body, undefined);
    const charset = await req('application/json; charset=utf-8', '{"a":1}');
    assert.equal(charset.status, 200);
    const big = await req('application/json', JSON.stringify({ x: 'y'.repeat(70 * 1024) }));
    assert.equal(big.status, 400);
    assert.match(big.body.toString(), /too large/);
  });

  test('query: docker booleans, filters both forms, versioned path', async () => {
    const client = new Client({ host: `unix://${sock}` });
    try {
      const a = await client.json<Record<string, unknown>>('POST', '/echo', {
        query: { flag: 'True', filters: { label: { 'a=b': true } } },
        body: { x: 1 },
      });
      assert.equal(a['flag'], true);
      assert.deepEqual(a['filters'], { label: { 'a=b': true } });
      assert.equal(a['apiVersion'], '1.50');
      const legacy = await client.json<Record<string, unknown>>('POST', '/echo', { query: { flag: '0', filters: { label: ['c'] } } });
      assert.equal(legacy['flag'], false);
      assert.deepEqual(legacy['filters'], { label: { c: true } });
      await assert.rejects(client.json('POST', '/echo', { query: { filters: '{bad' } }), (e: unknown) => e instanceof ApiError && e.status === 400 && /invalid filter/.test(e.message));
      const img = await client.json<{ Name: string }>('GET', '/images/registry.local:5000/a/b:1/json');
      assert.equal(img.Name, 'registry.local:5000/a/b:1');
    } finally {
      await client.close();
    }
  });

  test('request ids: generated per request, or taken from a sane X-Request-Id, and logged', async () => {
    const mine = await rawRequest(sock, 'POST /echo HTTP/1.1\r\nHost: x\r\nX-Request-Id: trace-123\r\nContent-Length: 0\r\n\r\n');
    assert.equal(mine.headers['x-request-id'], 'trace-123');
    assert.equal((JSON.parse(mine.body.toString()) as { requestId: string }).requestId, 'trace-123');
    const weird = await rawRequest(sock, 'POST /echo HTTP/1.1\r\nHost: x\r\nX-Request-Id: a b\r\nContent-Length: 0\r\n\r\n');
    assert.match(weird.headers['x-request-id']!, /^[0-9a-f]{16}$/);
    assert.ok(logLines.some((l) => l['reqId'] === 'trace-123' && l['msg'] === 'request done'));
  });

  test('client: negotiation picks min(client max, server)', async () => {
    const c1 = new Client({ host: `unix://${sock}` });
    const c2 = new Client({ host: sock, maxVersion: '1.45' });
    const c3 = new Client({ host: sock, version: '1.41' });
    try {
      assert.equal(await c1.negotiate(), '1.50');
      assert.equal(await c2.negotiate(), '1.45');
      assert.equal((await c2.json<{ apiVersion: string }>('POST', '/echo')).apiVersion, '1.45');
      assert.equal((await c3.json<{ apiVersion: string }>('POST', '/echo')).apiVersion, '1.41');
      const ping = await c1.ping();
      assert.deepEqual(ping, { apiVersion: '1.50', osType: 'linux', experimental: false, builderVersion: '1' });
      const v = await c1.json<{ ApiVersion: string; Components: { Name: string }[] }>('GET', '/version');
      assert.equal(v.ApiVersion, '1.50');
      assert.deepEqual(v.Components.map((c) => c.Name), ['Engine', 'berth-shim']);
    } finally {
      await Promise.all([c1.close(), c2.close(), c3.close()]);
    }
  });

  test('client: errors come back as BerthError with the server message and exact code', async () => {
    const c = new Client({ host: sock });
    try {
      await assert.rejects(c.json('GET', '/containers/missing/json'), (e: unknown) => {
        assert.ok(e instanceof ApiError && e instanceof BerthError);
        assert.equal(e.code, 'not-found');
        assert.equal(e.status, 404);
        assert.equal(e.message, 'No such container: missing');
        return true;
      });
      await assert.rejects(c.json('GET', '/containers/busy/json'), (e: unknown) => errorCode(e) === 'conflict' && (e as ApiError).status === 409);
      await assert.rejects(c.json('GET', '/boom'), (e: unknown) => errorCode(e) === 'internal' && (e as Error).message === 'kaput');
      const pinned = new Client({ host: sock, version: '1.99' });
      await assert.rejects(pinned.json('GET', '/version'), /client version 1\.99 is too new/);
      await pinned.close();
      const nowhere = new Client({ host: path.join(dir, 'nope.sock') });
      await assert.rejects(nowhere.ping(), (e: unknown) => errorCode(e) === 'unavailable');
      await nowhere.close();
    } finally {
      await c.close();
    }
  });

  test('client: NDJSON stream; leaving the loop early fires the server-side signal', async () => {
    const c = new Client({ host: sock });
    try {
      const all = [];
      for await (const m of c.ndjson<{ n: number }>('GET', '/stream', { query: { count: 5 } })) all.push(m.n);
      assert.deepEqual(all, [0, 1, 2, 3, 4]);
      const aborted = new Promise<void>((r) => (onStreamAbort = r));
      let got = 0;
      for await (const m of c.ndjson<{ n: number }>('GET', '/stream')) {
        got = m.n;
        if (m.n === 3) break;
      }
      assert.equal(got, 3);
      await aborted;
    } finally {
      await c.close();
    }
  });

  test('client: hijack round trip with stdcopy frames and half-close', async () => {
    const c = new Client({ host: sock });
    try {
      const h = await c.hijack('POST', '/exec/e2/start', { Detach: false, Tty: false });
      assert.equal(h.multiplexed, true);
      const chunks: Buffer[] = [];
      h.stream.on('data', (d: Buffer) => chunks.push(d));
      const done = new Promise((r) => h.stream.once('end', r));
      h.stream.write('round ');
      h.stream.write('trip');
      h.stream.end();
      await done;
      const frames = [];
      for await (const f of decodeFrames([Buffer.concat(chunks)])) frames.push([f.stream, f.payload.toString()]);
      assert.equal(frames.filter((f) => f[0] === STDOUT).map((f) => f[1]).join(''), 'ROUND TRIP');
      assert.deepEqual(frames.at(-1), [STDERR, 'bye\n']);
      await assert.rejects(c.hijack('POST', '/exec/missing/start', {}), (e: unknown) => errorCode(e) === 'not-found' && (e as Error).message === 'No such exec instance: missing');
    } finally {
      await c.close();
    }
  });

  test('stdcopy encoder output decodes through the hijack path', async () => {
    const enc = new FrameEncoder(STDOUT);
    const out: Buffer[] = [];
    enc.on('data', (d: Buffer) => out.push(d));
    enc.end('x');
    await new Promise((r) => enc.once('end', r));
    assert.deepEqual([...Buffer.concat(out)], [1, 0, 0, 0, 0, 0, 0, 1, 0x78]);
  });

  describe('the docker CLI', { skip: fs.existsSync(DOCKER) ? false : `${DOCKER} not installed` }, () => {
    const docker = (args: string[], env: Record<string, string> = {}) =>
      run(DOCKER, ['-H', `unix://${sock}`, ...args], {
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, DOCKER_CONFIG: path.join(dir, 'docker-config'), ...env },
        timeout: 20_000,
      }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
      );

    test('docker version negotiates and prints the Server section', async () => {
      const r = await docker(['version']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Client:/m);
      assert.match(r.stdout, /^Server: Berth Engine$/m);
      assert.match(r.stdout, /API version:\s+1\.50 \(minimum version 1\.24\)/);
      assert.match(r.stdout, /Go version:\s+n\/a \(Node\.js v/);
      assert.match(r.stdout, /berth-shim:\n\s+Version:\s+0\.0\.0-test/);
      const f = await docker(['version', '--format', '{{.Server.APIVersion}} {{.Server.Os}}']);
      assert.equal(f.stdout.trim(), '1.50 linux');
    });

    test('docker info fails cleanly with the server message', async () => {
      const r = await docker(['info']);
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, /Error response from daemon: page not found/);
    });

    test('docker exec -i: the CLI hijacks, streams stdin, half-closes, demuxes stdout/stderr', async () => {
      const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = execFile(DOCKER, ['-H', `unix://${sock}`, 'exec', '-i', 'c1', 'cat'], {
          env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, DOCKER_CONFIG: path.join(dir, 'docker-config') },
          timeout: 20_000,
        }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
        child.on('error', reject);
        child.stdin!.end('hello from stdin\n');
      });
      assert.equal(r.stdout, 'HELLO FROM STDIN\n');
      assert.equal(r.stderr, 'bye\n');
      assert.equal(r.code, 3, 'exit code from exec inspect');
    });

    test('DOCKER_API_VERSION out of range gets dockerd\'s messages', async () => {
      const hi = await docker(['version'], { DOCKER_API_VERSION: '1.51' });
      assert.notEqual(hi.code, 0);
      assert.match(hi.stderr, /client version 1\.51 is too new\. Maximum supported API version is 1\.50/);
      const lo = await docker(['version'], { DOCKER_API_VERSION: '1.23' });
      assert.match(lo.stderr, /client version 1\.23 is too old\. Minimum supported API version is 1\.24/);
      const ok = await docker(['version', '--format', '{{.Server.Version}}'], { DOCKER_API_VERSION: '1.41' });
      assert.equal(ok.code, 0, ok.stderr);
    });
  });
});

describe('server lifecycle', () => {
  test('plain tcp is refused without TLS or the explicit insecure flag; fd:// without sockets from systemd', async () => {
    assert.throws(() => new ApiServer({ router: new Router(), hosts: ['tcp://127.0.0.1:0'] }), /refusing to listen on tcp:\/\/127\.0\.0\.1:0 without TLS/);
    assert.throws(() => new ApiServer({ router: new Router(), hosts: ['npipe:////./pipe/docker'] }), /only unix:\/\/, tcp:\/\/ and fd:\/\//);
    await assert.rejects(startApiServer({ router: new Router(), hosts: ['fd://'] }), /no sockets found via socket activation: make sure the service was started by systemd/);
    assert.throws(() => new ApiServer({ router: new Router(), hosts: [] }), /no hosts/);
  });

  test('onRequestDone hears each answered request by route pattern, never the raw path', async () => {
    const r = new Router();
    registerPingRoutes(r);
    r.get('/containers/{id}/json', (ctx) => {
      if (ctx.params['id'] === 'missing') throw errNotFound('No such container: missing');
      return { Id: ctx.params['id'] };
    });
    const heard: Array<{ method: string; route: string; status: number; seconds: number }> = [];
    const s = await startApiServer({ router: r, hosts: ['tcp://127.0.0.1:0'], allowInsecureTcp: true, onRequestDone: (x) => heard.push(x) });
    try {
      const a = s.addresses[0]!;
      const base = `http://127.0.0.1:${a.kind === 'tcp' ? a.port : 0}`;
      for (const p of ['/v1.41/containers/abc/json?size=1', '/containers/missing/json', '/nowhere', '/_ping']) await (await fetch(base + p)).text();
      await (await fetch(`${base}/_ping`, { method: 'DELETE' })).text();
      assert.deepEqual(heard.map(({ method, route, status }) => ({ method, route, status })), [
        { method: 'GET', route: '/containers/{id}/json', status: 200 },
        { method: 'GET', route: '/containers/{id}/json', status: 404 },
        { method: 'GET', route: '', status: 404 },
        { method: 'GET', route: '/_ping', status: 200 },
        { method: 'DELETE', route: '', status: 405 },
      ]);
      for (const h of heard) assert.ok(h.seconds > 0 && h.seconds < 5, String(h.seconds));
    } finally {
      await s.close({ graceMs: 0 });
    }
  });

  test('insecure tcp on 127.0.0.1 works when explicitly allowed', async () => {
    const r = new Router();
    registerPingRoutes(r);
    const s = await startApiServer({ router: r, hosts: ['tcp://127.0.0.1:0'], allowInsecureTcp: true });
    try {
      const a = s.addresses[0]!;
      assert.equal(a.kind, 'tcp');
      const res = await fetch(`http://127.0.0.1:${a.kind === 'tcp' ? a.port : 0}/_ping`);
      assert.equal(await res.text(), 'OK');
    } finally {
      await s.close({ graceMs: 0 });
    }
  });

  test('socket group: 0660 and the group when it exists', { skip: process.getuid?.() !== 0 ? 'needs root to chown' : false }, async () => {
    const group = fs.readFileSync('/etc/group', 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[0] && f[2] && f[2] !== '0');
    if (!group) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-api-'));
    const sock = path.join(dir, 'g.sock');
    const s = await startApiServer({ router: new Router(), hosts: [`unix://${sock}`], socketGroup: group[0]! });
    try {
      const st = fs.statSync(sock);
      assert.equal(st.mode & 0o777, 0o660);
      assert.equal(st.gid, Number(group[2]));
    } finally {
      await s.close({ graceMs: 0 });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a stale socket file is replaced; a live one is refused; close removes the file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-api-'));
    const sock = path.join(dir, 's.sock');
    try {
      const first = await startApiServer({ router: new Router(), hosts: [sock] });
      await assert.rejects(startApiServer({ router: new Router(), hosts: [sock] }), (e: unknown) => errorCode(e) === 'already-exists');
      await first.close({ graceMs: 0 });
      assert.equal(fs.existsSync(sock), false);
      // Leave a dead socket behind, as a crashed daemon would.
      await run(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => process.kill(process.pid, 'SIGKILL'))`]).catch(() => undefined);
      assert.equal(fs.statSync(sock).isSocket(), true);
      const second = await startApiServer({ router: new Router(), hosts: [sock] });
      await second.close({ graceMs: 0 });
      fs.writeFileSync(sock, 'not a socket');
      await assert.rejects(startApiServer({ router: new Router(), hosts: [sock] }), /not a socket/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('graceful close: in-flight requests finish; stragglers are aborted after the grace period', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-api-'));
    const sock = path.join(dir, 'c.sock');
    const reasons: unknown[] = [];
    let started = 0;
    let finishQuick = () => {};
    const quickGate = new Promise<void>((res) => { finishQuick = res; });
    const r = new Router();
    r.get('/quick', async () => {
      started++;
      await quickGate;
      return { done: true };
    });
    r.get('/forever', async (ctx) => {
      started++;
      await new Promise<void>((res) => ctx.signal.addEventListener('abort', () => res()));
      reasons.push(ctx.signal.reason);
    });
    const s = await startApiServer({ router: r, hosts: [sock] });
    try {
      const c = new Client({ host: sock, version: '1.50' });
      const quick = c.json('GET', '/quick');
      const forever = c.json('GET', '/forever').catch((e: unknown) => e);
      // Both requests must be in flight when the close begins, whatever the machine's speed.
      await waitFor(() => started === 2);
      const t0 = Date.now();
      const closing = s.close({ graceMs: 300 });
      // /quick finishes only after the close has begun: it is answered, not cut off.
      finishQuick();
      await closing;
      assert.deepEqual(await quick, { done: true });
      assert.ok(Date.now() - t0 >= 250, 'waited for the grace period');
      await forever;
      assert.equal(errorCode(reasons[0]), 'unavailable');
      assert.equal(fs.existsSync(sock), false);
      await c.close().catch(() => undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function waitFor(pred: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
