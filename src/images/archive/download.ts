// `docker import <url>`: the tarball fetched over HTTP(S) as a stream, size-limited, with dockerd's error texts.
import http from 'node:http';
import https from 'node:https';
import { Transform, type Readable } from 'node:stream';
import { BerthError, errInvalid, errNotFound, type ErrorCode } from '../../common/errors.js';

/** Default cap on a download: far above any rootfs, low enough that a runaway server cannot fill the disk. */
const DEFAULT_DOWNLOAD_LIMIT = 16 * 1024 ** 3;
/** Go's http.Client follows at most 10 redirects. */
const MAX_REDIRECTS = 10;
/** An error body is quoted in the message; more of it says nothing more. */
const MAX_ERROR_BODY = 4096;

export interface DownloadOptions {
  /** Bytes; a larger body fails the stream. Default DEFAULT_DOWNLOAD_LIMIT. */
  limit?: number;
  /** Called as bytes arrive: so far, and the Content-Length (-1 when the server sent none). */
  onData?: (current: number, total: number) => void;
  signal?: AbortSignal;
}

// dockerd's GetWithStatusError maps these statuses to its error kinds; the rest are plain failures.
const STATUS_CODES: Record<number, ErrorCode> = { 400: 'invalid-argument', 401: 'permission-denied', 403: 'permission-denied', 404: 'not-found' };

function get(url: URL, signal: AbortSignal | undefined): Promise<http.IncomingMessage> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(url, { signal }, resolve);
    req.once('error', (e) => reject(new BerthError('unavailable', `Get "${url.href}": ${e.message}`, { cause: e })));
  });
}

/**
 * GET `src` (http:// assumed when it has no scheme, as dockerd does), following redirects. Resolves
 * once the response has started, so a failure to connect or an error status is an error before
 * any byte: `failed to GET <url> with status 404 Not Found: <body>`, as dockerd says it.
 */
export async function download(src: string, o: DownloadOptions = {}): Promise<{ url: string; body: Readable }> {
  let url: URL;
  try {
    url = new URL(src.includes('://') ? src : `http://${src}`);
  } catch (e) {
    throw errInvalid(`parse "${src}": invalid URL`, e);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw errInvalid(`Get "${url.href}": unsupported protocol scheme "${url.protocol.slice(0, -1)}"`);
  let res = await get(url, o.signal);
  for (let hops = 0; res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && res.headers.location; hops++) {
    res.resume();
    if (hops === MAX_REDIRECTS) throw new BerthError('unavailable', `Get "${url.href}": stopped after ${MAX_REDIRECTS} redirects`);
    url = new URL(res.headers.location, url);
    res = await get(url, o.signal);
  }
  const status = res.statusCode ?? 0;
  if (status >= 400) {
    let text = '';
    for await (const c of res) {
      if (text.length < MAX_ERROR_BODY) text += (c as Buffer).toString('utf8');
    }
    const msg = `failed to GET ${url.href} with status ${status} ${res.statusMessage ?? ''}: ${text.slice(0, MAX_ERROR_BODY).trim()}`;
    throw status === 404 ? errNotFound(msg) : new BerthError(STATUS_CODES[status] ?? 'internal', msg);
  }
  const limit = o.limit ?? DEFAULT_DOWNLOAD_LIMIT;
  const total = Number(res.headers['content-length'] ?? -1);
  if (total > limit) {
    res.destroy();
    throw errInvalid(`Get "${url.href}": ${total} bytes is over the ${limit}-byte limit of an import`);
  }
  let current = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      current += chunk.length;
      if (current > limit) return cb(errInvalid(`Get "${url.href}": the body is over the ${limit}-byte limit of an import`));
      o.onData?.(current, total);
      cb(null, chunk);
    },
  });
  res.once('error', (e) => counted.destroy(new BerthError('unavailable', `Get "${url.href}": ${e.message}`, { cause: e })));
  // A body cut short of its Content-Length is an error, not a shorter tarball.
  res.once('aborted', () => counted.destroy(new BerthError('unavailable', `Get "${url.href}": unexpected EOF`)));
  res.pipe(counted);
  return { url: url.href, body: counted };
}
