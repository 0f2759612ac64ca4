// The --metrics-addr listener: plain HTTP on host:port serving GET /metrics, as dockerd's metrics-addr does.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../common/log.js';
import { BerthError } from '../common/errors.js';

/** What the listener serves: the exposition text, read at each request. */
export interface MetricsExposer {
  expose(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsServer {
  /** The bound address (a port 0 resolved). */
  host: string;
  port: number;
  close(): Promise<void>;
}

/** Split `host:port` (`[::1]:9323` for IPv6; an empty host means every address, as Go's net.Listen). */
export function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(addr.slice(i + 1)) };
}

/**
 * Listen on `addr` (host:port, validated by daemon-config.ts). Only `GET /metrics` (and HEAD)
 * answers; there is no TLS or auth, as with dockerd's: bind it to an address only trusted
 * scrapers reach. Resolves once bound; a bind failure rejects (berthd then refuses to start).
 */
export async function startMetricsServer(addr: string, metrics: MetricsExposer, log: Logger): Promise<MetricsServer> {
  const { host, port } = splitHostPort(addr);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    metrics.expose().then(({ contentType, body }) => {
      res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(body)) });
      res.end(req.method === 'HEAD' ? undefined : body);
    }, (err: unknown) => {
      log.error('metrics: collecting failed', { err });
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`collecting metrics failed: ${(err as Error).message}\n`);
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const code = e.code === 'EADDRINUSE' ? 'already-exists' : e.code === 'EACCES' ? 'permission-denied' : 'invalid-argument';
      reject(new BerthError(code, `metrics-addr ${addr}: ${e.message}`, { cause: e }));
    });
    server.listen(port, host || undefined, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const shown = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  log.info('metrics listening', { addr: `http://${shown}:${bound.port}/metrics` });
  return {
    host: bound.address,
    port: bound.port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
