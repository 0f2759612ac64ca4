// Connection hijack for attach and exec start: `Upgrade: tcp` -> `101 UPGRADED`, then the socket is the handler's.
//
// The Engine API: a client sends `Connection: Upgrade` + `Upgrade: tcp`; the daemon answers
// `HTTP/1.1 101 UPGRADED` with Content-Type application/vnd.docker.raw-stream (TTY) or, from
// API 1.42, application/vnd.docker.multiplexed-stream (stdcopy frames). Clients without the
// upgrade headers get `200 OK` and the raw stream until the connection closes.
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { errInvalid, BerthError } from '../common/errors.js';
import { versionAtLeast } from './version.js';

export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

/** What dockerd announces: multiplexed only for non-TTY streams on API >= 1.42; raw otherwise. */
export function hijackContentType(apiVersion: string, multiplexed: boolean): string {
  return multiplexed && versionAtLeast(apiVersion, '1.42') ? MULTIPLEXED_STREAM : RAW_STREAM;
}

/** True for `Connection: Upgrade` + `Upgrade: tcp` (case-insensitive, comma lists allowed). */
export function wantsTcpUpgrade(req: IncomingMessage): boolean {
  const conn = String(req.headers['connection'] ?? '').toLowerCase().split(',').map((s) => s.trim());
  const up = String(req.headers['upgrade'] ?? '').toLowerCase().split(',').map((s) => s.trim());
  return conn.includes('upgrade') && up.includes('tcp');
}

/** The `101 UPGRADED` head written on the socket before it is handed over. */
export function upgradeResponseHead(contentType: string, headers: Record<string, string | number> = {}): string {
  let head = `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n`;
  for (const [k, v] of Object.entries(headers)) {
    if (/^(content-type|connection|upgrade|content-length|transfer-encoding)$/i.test(k)) continue;
    head += `${k}: ${String(v).replace(/[\r\n]/g, ' ')}\r\n`;
  }
  return head + '\r\n';
}

/**
 * Read an upgrade request's body. Node hands an upgrade request over right after its headers:
 * the body (exec start's JSON) is at the front of `head` and of whatever the socket sends next.
 * Exactly Content-Length bytes are taken; what follows is stream data and is put back on the
 * socket. Chunked bodies are refused (docker clients send Content-Length).
 */
export async function readUpgradeBody(req: IncomingMessage, socket: Socket, head: Buffer, limit: number): Promise<Buffer> {
  if (req.headers['transfer-encoding']) throw errInvalid('chunked request bodies are not supported on upgraded connections');
  const n = Number(req.headers['content-length'] ?? 0);
  if (!Number.isSafeInteger(n) || n < 0) throw errInvalid(`bad Content-Length: ${req.headers['content-length']}`);
  if (n > limit) throw errInvalid(`request body too large: more than ${limit} bytes`);
  let buf = head;
  if (buf.length < n) {
    buf = await new Promise<Buffer>((resolve, reject) => {
      const chunks = [head];
      let got = head.length;
      const cleanup = () => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('close', onEnd);
        socket.off('error', onError);
      };
      const onData = (c: Buffer) => {
        chunks.push(c);
        got += c.length;
        if (got >= n) {
          socket.pause();
          cleanup();
          resolve(Buffer.concat(chunks, got));
        }
      };
      const onEnd = () => {
        cleanup();
        reject(errInvalid(`unexpected EOF: request body cut off after ${got} of ${n} bytes`));
      };
      const onError = (e: Error) => {
        cleanup();
        reject(new BerthError('cancelled', `reading request body: ${e.message}`, { cause: e }));
      };
      socket.on('data', onData);
      socket.once('end', onEnd);
      socket.once('close', onEnd);
      socket.once('error', onError);
      socket.resume();
    });
  }
  const rest = buf.subarray(n);
  socket.pause();
  if (rest.length) socket.unshift(rest);
  // Back to "not flowing, not explicitly paused" (how Node hands over an upgraded socket), so
  // that the handler's first 'data' listener or pipe() starts the flow and no byte is lost.
  (socket as unknown as { readableFlowing: boolean | null }).readableFlowing = null;
  return buf.subarray(0, n);
}

/**
 * A ServerResponse bound to an upgrade request's socket, so a handler that fails before it
 * hijacks (no such container, bad body) answers with an ordinary HTTP response. The
 * connection closes after that response: the socket is not back in the HTTP parser's hands.
 */
export function upgradeErrorResponse(req: IncomingMessage, socket: Socket): ServerResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  res.once('finish', () => {
    res.detachSocket(socket);
    socket.end();
  });
  return res;
}

/**
 * The fallback for clients that did not ask to upgrade: `200 OK` with the stream content type
 * and no chunked framing, output until the connection closes. Input is the request body only
 * (the socket stays with Node's HTTP parser), so stdin needs the upgrade.
 */
export function hijackWithoutUpgrade(req: IncomingMessage, res: ServerResponse, contentType: string, headers: Record<string, string> = {}): Duplex {
  // No Content-Length and no chunked encoding: the body is the raw stream, ended by close.
  res.useChunkedEncodingByDefault = false;
  res.shouldKeepAlive = false;
  res.writeHead(200, { ...headers, 'Content-Type': contentType, Connection: 'close' });
  res.flushHeaders();
  return Duplex.from({ readable: req, writable: res });
}
