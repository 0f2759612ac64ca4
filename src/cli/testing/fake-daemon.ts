// TEST FAKE: a tiny HTTP server on a temp unix socket that pretends to be a daemon, so the docker CLI and berth
// can be driven with the same canned answers and their requests compared. Not an engine; used only by tests.
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';

/** One request the fake received. */
export interface Recorded {
  method: string;
  url: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A canned answer. `hijack` upgrades the connection and writes the given bytes, then ends it. */
export interface Answer {
  status?: number;
  json?: unknown;
  text?: string;
  headers?: Record<string, string>;
  hijack?: { contentType?: string; data?: Buffer };
  /** NDJSON lines. */
  lines?: unknown[];
}

export type Route = (req: Recorded) => Answer | undefined;

export interface FakeDaemon {
  socket: string;
  host: string;
  requests: Recorded[];
  close(): Promise<void>;
}

const VERSION = {
  Platform: { Name: 'Fake Engine' },
  Components: [{ Name: 'Engine', Version: '28.0.0', Details: { ApiVersion: '1.50', Arch: 'amd64', BuildTime: '2025-01-01T00:00:00.000000000+00:00', Experimental: 'false', GitCommit: 'abcdef0', GoVersion: 'go1.24.0', KernelVersion: '6.1.0', MinAPIVersion: '1.24', Os: 'linux' } }],
  Version: '28.0.0', ApiVersion: '1.50', MinAPIVersion: '1.24', GitCommit: 'abcdef0', GoVersion: 'go1.24.0', Os: 'linux', Arch: 'amd64', KernelVersion: '6.1.0', BuildTime: '2025-01-01T00:00:00.000000000+00:00',
};

/** Start a fake daemon answering with `route` (unversioned path, e.g. `/containers/json`), /_ping and /version built in. */
export async function startFakeDaemon(route: Route = () => undefined): Promise<FakeDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-fake-'));
  const socket = join(dir, 'd.sock');
  const requests: Recorded[] = [];
  const sockets = new Set<Socket>();
  const answer = (rec: Recorded): Answer => {
    if (rec.path === '/_ping') return { text: 'OK', headers: { 'Api-Version': '1.50', Ostype: 'linux', 'Content-Type': 'text/plain; charset=utf-8' } };
    const a = route(rec);
    if (a) return a;
    if (rec.path === '/version') return { json: VERSION };
    return { status: 404, json: { message: `page not found: ${rec.method} ${rec.path}` } };
  };
  const record = (req: http.IncomingMessage, body: string): Recorded => {
    const u = new URL(req.url ?? '/', 'http://x');
    const rec: Recorded = { method: req.method ?? 'GET', url: req.url ?? '/', path: u.pathname.replace(/^\/v1\.\d+/, ''), query: u.searchParams, headers: req.headers, body };
    requests.push(rec);
    return rec;
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const a = answer(record(req, Buffer.concat(chunks).toString()));
      const headers: Record<string, string> = { ...a.headers };
      let body = '';
      if (a.json !== undefined) {
        headers['Content-Type'] ??= 'application/json';
        body = JSON.stringify(a.json) + '\n';
      } else if (a.lines) {
        headers['Content-Type'] ??= 'application/json';
        body = a.lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
      } else if (a.text !== undefined) body = a.text;
      res.writeHead(a.status ?? 200, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, sock, head) => {
    const chunks: Buffer[] = head.length ? [head] : [];
    const len = Number(req.headers['content-length'] ?? 0);
    const finish = () => {
      const a = answer(record(req, Buffer.concat(chunks).toString()));
      if (!a.hijack) {
        sock.end(`HTTP/1.1 ${a.status ?? 404} X\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${JSON.stringify(a.json ?? {})}`);
        return;
      }
      sock.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${a.hijack.contentType ?? 'application/vnd.docker.multiplexed-stream'}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
      sock.end(a.hijack.data ?? Buffer.alloc(0));
    };
    if (Buffer.concat(chunks).length >= len) finish();
    else {
      sock.on('data', function onData(c: Buffer) {
        chunks.push(c);
        if (Buffer.concat(chunks).length >= len) {
          sock.off('data', onData);
          finish();
        }
      });
    }
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return {
    socket,
    host: `unix://${socket}`,
    requests,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
