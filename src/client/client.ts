// The Engine API client (node:http over the daemon's unix socket, node:https for tcp://): version negotiation, JSON, NDJSON streams, hijack.
// node:http rather than undici: its parser is native, so a short-lived CLI neither loads undici
// (~40 ms) nor compiles llhttp's WASM on its first request.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { pipeline, type Duplex, type Readable } from 'node:stream';
import { BerthError, errInvalid, type ErrorCode } from '../common/errors.js';
import { tracer, type Span } from '../common/trace.js';
import { ERROR_CODE_HEADER, STATUS_BY_CODE, codeFromStatus } from '../api/errors.js';
import { MULTIPLEXED_STREAM } from '../api/hijack.js';
import { parseNdjson } from '../api/json-stream.js';
import { API_MAX_VERSION, API_MIN_VERSION, compareApiVersions } from '../api/version.js';

/** The default daemon socket. */
export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';

/** An error answer from the daemon: the server's message, its status, and the BerthError code. */
export class ApiError extends BerthError {
  readonly status: number;
  constructor(code: ErrorCode, status: number, message: string) {
    super(code, message);
    this.name = 'ApiError';
    this.status = status;
  }
}

export interface ClientOptions {
  /** `unix:///path` or `tcp://host:port`; default $BERTH_HOST, else DEFAULT_HOST. */
  host?: string;
  /** Pin the API version (no negotiation), as DOCKER_API_VERSION does. */
  version?: string;
  /** Highest version to negotiate up to; default the version this code speaks. */
  maxVersion?: string;
  /** For tcp hosts: PEM contents of the CA, client certificate and key. */
  tls?: { ca: string | Buffer; cert: string | Buffer; key: string | Buffer };
  userAgent?: string;
  /** Sent as X-Request-Id, so the daemon's logs carry the caller's trace id. */
  requestId?: () => string | undefined;
}

/** A query value: booleans become `1`/`0`, arrays repeat, objects (filters) become JSON. */
export type QueryValue = string | number | boolean | undefined | null | readonly string[] | { toJSON(): unknown } | Record<string, unknown>;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  /** A JSON body (sent with Content-Type: application/json). */
  body?: unknown;
  /** A raw body (tar archives...), with its content type. */
  raw?: Buffer | Readable;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Default true: prefix the negotiated `/v1.xx`. */
  versioned?: boolean;
}

/** A response whose body has not been read. */
export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable & { text(): Promise<string>; json(): Promise<unknown> };
}

/** What `/_ping` says. */
export interface PingInfo {
  apiVersion: string | undefined;
  osType: string | undefined;
  experimental: boolean;
  builderVersion: string | undefined;
}

/** A hijacked connection: read output from `stream`, write stdin to it, `end()` it for stdin EOF. */
export interface Hijacked {
  stream: Duplex;
  contentType: string;
  /** True when the output is stdcopy-framed (decode with api/stdcopy.ts). */
  multiplexed: boolean;
}

type Target = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

function parseTarget(host: string): Target {
  if (host.startsWith('unix://')) return { kind: 'unix', path: host.slice('unix://'.length) };
  if (host.startsWith('/')) return { kind: 'unix', path: host };
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(host);
  if (m) return { kind: 'tcp', host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2] ?? 2376) };
  throw errInvalid(`unsupported host ${JSON.stringify(host)}: use unix:// or tcp://`);
}

/** A request's span name: ids (64 hex) and trace ids (32 hex) in the path become placeholders, as the server's routes name them. */
function spanName(method: string, path: string): string {
  return `${method} ${path.replace(/\/[0-9a-f]{64}(?=\/|$)/g, '/{id}').replace(/^\/traces\/[0-9a-f]{32}$/, '/traces/{traceId}')}`;
}

/**
 * A span for one request when a trace is active (the CLI's `--trace`, or OTLP export), and its
 * `traceparent` header: berthd continues the trace below it.
 */
function requestSpan(method: string, path: string, headers: Record<string, string>): Span | undefined {
  const span = tracer.start(spanName(method, path), 'cli', { kind: 'client' });
  if (span) headers['traceparent'] = span.traceparent();
  return span;
}

/** Build a query string with docker's conventions. */
export function encodeQuery(query: Record<string, QueryValue> | undefined): string {
  if (!query) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null) continue;
    if (typeof v === 'boolean') p.append(k, v ? '1' : '0');
    else if (typeof v === 'string' || typeof v === 'number') p.append(k, String(v));
    else if (Array.isArray(v)) for (const x of v) p.append(k, String(x));
    else p.append(k, JSON.stringify(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** The API client. One per daemon; `close()` when done. */
export class Client {
  private readonly target: Target;
  private readonly agent: http.Agent;
  private readonly opts: ClientOptions;
  private version: string | undefined;
  private negotiating: Promise<string> | undefined;

  constructor(opts: ClientOptions = {}) {
    this.opts = opts;
    this.target = parseTarget(opts.host ?? process.env['BERTH_HOST'] ?? DEFAULT_HOST);
    this.version = opts.version;
    if (this.target.kind === 'unix') {
      this.agent = new http.Agent({ keepAlive: true });
    } else {
      if (!opts.tls) throw errInvalid('tcp hosts need TLS options (ca, cert, key)');
      this.agent = new https.Agent({ keepAlive: true, ca: opts.tls.ca, cert: opts.tls.cert, key: opts.tls.key });
    }
  }

  /** The version in use: pinned, negotiated, or undefined before the first request. */
  get apiVersion(): string | undefined {
    return this.version;
  }

  /** `GET /_ping`. */
  async ping(signal?: AbortSignal): Promise<PingInfo> {
    const res = await this.request('GET', '/_ping', { versioned: false, signal });
    await res.body.text();
    const h = (n: string) => {
      const v = res.headers[n];
      return Array.isArray(v) ? v[0] : v;
    };
    return {
      apiVersion: h('api-version'),
      osType: h('ostype'),
      experimental: h('docker-experimental') === 'true',
      builderVersion: h('builder-version'),
    };
  }

  /**
   * Negotiate as docker's client does: ping, then use min(our max, the server's Api-Version);
   * a server without the header is assumed to speak the minimum. Done once; pinned versions skip it.
   */
  negotiate(): Promise<string> {
    if (this.version) return Promise.resolve(this.version);
    this.negotiating ??= this.ping().then(
      (p) => {
        const max = this.opts.maxVersion ?? API_MAX_VERSION;
        const server = p.apiVersion ?? API_MIN_VERSION;
        this.version = compareApiVersions(server, max) < 0 ? server : max;
        return this.version;
      },
      (e) => {
        this.negotiating = undefined;
        throw e;
      },
    );
    return this.negotiating;
  }

  private async url(path: string, opts: RequestOptions): Promise<string> {
    const prefix = opts.versioned === false ? '' : `/v${await this.negotiate()}`;
    return `${prefix}${path}${encodeQuery(opts.query)}`;
  }

  private headers(opts: RequestOptions): Record<string, string> {
    const h: Record<string, string> = { 'User-Agent': this.opts.userAgent ?? 'Berth-Client/0.1.0', ...opts.headers };
    const rid = this.opts.requestId?.();
    if (rid) h['X-Request-Id'] = rid;
    return h;
  }

  /** A raw request; non-2xx answers are thrown as ApiError with the server's message. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse> {
    const headers = this.headers(opts);
    let body: Buffer | Readable | undefined;
    if (opts.raw !== undefined) {
      body = opts.raw;
      headers['Content-Type'] = opts.contentType ?? 'application/octet-stream';
    } else if (opts.body !== undefined) {
      body = Buffer.from(JSON.stringify(opts.body));
      headers['Content-Type'] = 'application/json';
    }
    if (Buffer.isBuffer(body)) headers['Content-Length'] = String(body.length);
    const url = await this.url(path, opts);
    const span = requestSpan(method, path, headers);
    let res: http.IncomingMessage;
    try {
      res = await this.send(method, url, headers, body, opts.signal);
    } catch (e) {
      span?.fail(e).finish();
      if (e instanceof BerthError) throw e;
      const err = e as Error & { code?: string };
      if (err.name === 'AbortError' || err.code === 'ABORT_ERR') throw new BerthError('cancelled', `${method} ${path}: aborted`, { cause: e });
      throw new BerthError('unavailable', `cannot connect to the Berth daemon at ${this.describe()}: ${err.message}`, { cause: e });
    }
    const status = res.statusCode ?? 0;
    const wrapped = withBody(res);
    if (status >= 400) {
      const err = await toApiError(status, res.headers, await wrapped.text());
      span?.set('http.response.status_code', status).fail(err).finish();
      throw err;
    }
    if (span) {
      // The answer is complete when its body is (wait and streams send their head early).
      span.set('http.response.status_code', status);
      const end = () => span.finish();
      res.once('end', end);
      res.once('close', end);
    }
    return { status, headers: res.headers, body: wrapped };
  }

  /**
   * Send one request; resolves with the response once its head has arrived. Aborting `signal`
   * before then rejects with an AbortError; after, it destroys the body with one.
   */
  private send(method: string, path: string, headers: Record<string, string>, body: Buffer | Readable | undefined, signal: AbortSignal | undefined): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const t = this.target;
      const req =
        t.kind === 'unix'
          ? http.request({ agent: this.agent, socketPath: t.path, host: 'localhost', method, path, headers })
          : https.request({ agent: this.agent, host: t.host, port: t.port, method, path, headers });
      let res: http.IncomingMessage | undefined;
      const onAbort = () => {
        const e = abortError(signal!);
        res?.destroy(e);
        req.destroy(e);
        reject(e);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => signal?.removeEventListener('abort', onAbort);
      req.on('response', (r: http.IncomingMessage) => {
        res = r;
        r.once('close', done);
        resolve(r);
      });
      // `on`, not `once`: the socket can report more than one error over the request's life.
      req.on('error', (e) => {
        if (!res) done();
        reject(e);
      });
      if (body === undefined || Buffer.isBuffer(body)) req.end(body);
      else pipeline(body, req, () => undefined);
    });
  }

  /** A request whose answer is JSON (undefined for an empty body such as 204). */
  async json<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    const text = await res.body.text();
    return (text.trim() === '' ? undefined : JSON.parse(text)) as T;
  }

  /**
   * A streamed NDJSON answer (progress, events) as an async iterator. Breaking out of the loop or
   * aborting `signal` closes the connection, which the server sees as a client disconnect.
   */
  async *ndjson<T = unknown>(method: string, path: string, opts: RequestOptions = {}): AsyncGenerator<T> {
    const res = await this.request(method, path, opts);
    try {
      for await (const v of parseNdjson(res.body)) yield v as T;
    } finally {
      if (!res.body.destroyed) res.body.destroy();
    }
  }

  /**
   * Hijack: send `method path` with a JSON body and `Upgrade: tcp`, and on `101` return the raw
   * connection (attach, exec start). Error answers reject with ApiError.
   */
  async hijack(method: string, path: string, body?: unknown, opts: Omit<RequestOptions, 'body' | 'raw'> = {}): Promise<Hijacked> {
    const fullPath = await this.url(path, opts);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = {
      ...this.headers(opts),
      Host: 'localhost',
      Connection: 'Upgrade',
      Upgrade: 'tcp',
    };
    // Ends when the stream closes (the container's output ended, or the user detached).
    const span = requestSpan(method, path, headers);
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const target = this.target;
    const tlsOpts = this.opts.tls;
    return new Promise<Hijacked>((resolve, reject) => {
      const req = http.request({
        method,
        path: fullPath,
        headers,
        signal: opts.signal,
        createConnection: () =>
          target.kind === 'unix'
            ? net.connect({ path: target.path, allowHalfOpen: true })
            : tls.connect({ host: target.host, port: target.port, ca: tlsOpts?.ca, cert: tlsOpts?.cert, key: tlsOpts?.key }),
      });
      req.once('upgrade', (res, socket, head) => {
        if (span) socket.once('close', () => span.finish());
        if (head.length) socket.unshift(head);
        const contentType = String(res.headers['content-type'] ?? '');
        resolve({ stream: socket, contentType, multiplexed: contentType === MULTIPLEXED_STREAM });
      });
      req.once('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 400) {
            void toApiError(status, res.headers, Buffer.concat(chunks).toString()).then((e) => {
              span?.fail(e).finish();
              reject(e);
            });
          } else {
            reject(new BerthError('unavailable', `${method} ${path}: the daemon answered ${status} instead of upgrading the connection`));
          }
        });
        res.once('error', reject);
      });
      req.once('error', (e) => {
        span?.fail(e).finish();
        reject(new BerthError('unavailable', `cannot connect to the Berth daemon at ${this.describe()}: ${e.message}`, { cause: e }));
      });
      req.end(payload);
    });
  }

  private describe(): string {
    return this.target.kind === 'unix' ? `unix://${this.target.path}` : `tcp://${this.target.host}:${this.target.port}`;
  }

  /** Close pooled connections. */
  async close(): Promise<void> {
    this.agent.destroy();
  }
}

function abortError(signal: AbortSignal): Error {
  const e = new Error('This operation was aborted', { cause: signal.reason });
  e.name = 'AbortError';
  return Object.assign(e, { code: 'ABORT_ERR' });
}

/** The response stream, with the undici-style readers callers use (`text()`, `json()`). */
function withBody(res: http.IncomingMessage): ApiResponse['body'] {
  const text = () =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.once('error', reject);
      res.once('close', () => {
        if (!res.readableEnded) reject(new BerthError('unavailable', 'the connection closed before the answer ended'));
      });
    });
  return Object.assign(res, { text, json: async (): Promise<unknown> => JSON.parse(await text()) });
}

const KNOWN_CODES = new Set(Object.keys(STATUS_BY_CODE));

async function toApiError(status: number, headers: Record<string, string | string[] | undefined>, text: string): Promise<ApiError> {
  let message = text.trim();
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed?.message === 'string') message = parsed.message;
  } catch {
    // Not JSON (a proxy, or an old daemon): keep the text.
  }
  if (!message) message = `${status} ${http.STATUS_CODES[status] ?? ''}`.trim();
  const h = headers[ERROR_CODE_HEADER.toLowerCase()];
  const wire = Array.isArray(h) ? h[0] : h;
  const code = wire && KNOWN_CODES.has(wire) ? (wire as ErrorCode) : codeFromStatus(status);
  return new ApiError(code, status, message);
}
