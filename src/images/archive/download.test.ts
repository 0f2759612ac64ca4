// Unit tests for the import download: redirects, dockerd's error texts, the size limit (a server on 127.0.0.1).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';
import { errorCode } from '../../common/errors.js';
import { download } from './download.js';

let server: http.Server;
let base: string;

before(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/ok') return void res.writeHead(200, { 'Content-Length': '5' }).end('hello');
    if (req.url === '/hop') return void res.writeHead(302, { Location: '/ok' }).end();
    if (req.url === '/chunked') {
      res.writeHead(200);
      res.write('x'.repeat(600));
      return void res.end('y'.repeat(600));
    }
    if (req.url === '/boom') return void res.writeHead(500).end('  broken\n');
    res.writeHead(404).end('nope\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

test('a body, with progress; no scheme means http; redirects are followed', async () => {
  const seen: Array<[number, number]> = [];
  const r = await download(`${base}/hop`, { onData: (c, t) => seen.push([c, t]) });
  assert.equal(r.url, `http://${base}/ok`);
  assert.equal(await text(r.body), 'hello');
  assert.deepEqual(seen.at(-1), [5, 5]);
});

test("an error status is dockerd's text, before any byte; 404 is not-found", async () => {
  await assert.rejects(download(`http://${base}/missing`), (e: Error) => {
    assert.equal(e.message, `failed to GET http://${base}/missing with status 404 Not Found: nope`);
    assert.equal(errorCode(e), 'not-found');
    return true;
  });
  await assert.rejects(download(`http://${base}/boom`), (e: Error) => e.message === `failed to GET http://${base}/boom with status 500 Internal Server Error: broken` && errorCode(e) === 'internal');
});

test('the size limit: a Content-Length over it fails at once, a longer chunked body fails the stream', async () => {
  await assert.rejects(download(`http://${base}/ok`, { limit: 4 }), /5 bytes is over the 4-byte limit/);
  const r = await download(`http://${base}/chunked`, { limit: 1000 });
  await assert.rejects(text(r.body), /over the 1000-byte limit/);
});

test('no server, a bad scheme', async () => {
  const dead = http.createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const port = (dead.address() as AddressInfo).port;
  await new Promise<void>((r) => dead.close(() => r()));
  await assert.rejects(download(`http://127.0.0.1:${port}/x`), (e: Error) => e.message.startsWith(`Get "http://127.0.0.1:${port}/x": connect ECONNREFUSED`));
  await assert.rejects(download('ftp://127.0.0.1/x'), /unsupported protocol scheme "ftp"/);
});
