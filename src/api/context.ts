// The per-request context handed to route handlers: request facts, body readers, response helpers, hijack.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import { BerthError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { DEFAULT_JSON_LIMIT, checkJsonContentType, parseJsonBody, readBody } from './body.js';
import type { WireRoot } from './wire-check.js';
import { sendError } from './errors.js';
import { hijackContentType, hijackWithoutUpgrade, upgradeResponseHead } from './hijack.js';
import { JsonStream } from './json-stream.js';
import type { Query } from './query.js';
import { versionAtLeast } from './version.js';

/** The upgraded connection of a `Connection: Upgrade` / `Upgrade: tcp` request. */
export interface UpgradeState {
  socket: Socket;
  /** The request body, already read off the socket (Content-Length bytes). */
  body: Buffer;
}

export interface ContextInit {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  apiVersion: string;
  path: string;
  params: Record<string, string>;
  query: Query;
  signal: AbortSignal;
  log: Logger;
  /** Headers every response carries (Api-Version, Server, X-Request-Id...). */
  commonHeaders: Record<string, string>;
  upgrade?: UpgradeState;
  maxBodyBytes?: number;
}

/**
 * One request. A handler answers exactly once: sendJson/sendText/sendStatus, a jsonStream, or
 * hijack; or returns a value (sent as JSON) and lets the server answer.
 */
// A double cannot hold int64's maximum: a client's 9223372036854775807 (a limit of "no limit", as Go clients send
// it) is 2^63 here, which JSON.stringify writes as 9223372036854776000 and no Go client decodes into an int64.
const INT64_MAX_AS_DOUBLE = /([:[,])9223372036854776000(?=[,\]}])/g;

export class Context {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Generated (or taken from a sane incoming X-Request-Id); in every log line and the response. */
  readonly requestId: string;
  /** The negotiated API version: from the `/v1.xx` prefix, else the server's current one. */
  readonly apiVersion: string;
  readonly method: string;
  /** The path without the version prefix or query. */
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Query;
  /** Fires when the client goes away (or the server shuts down); long handlers stop on it. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  private readonly commonHeaders: Record<string, string>;
  private readonly upgrade: UpgradeState | undefined;
  private readonly maxBodyBytes: number;
  private bodyTaken = false;
  private hijackedStream: Duplex | undefined;

  constructor(init: ContextInit) {
    this.req = init.req;
    this.res = init.res;
    this.requestId = init.requestId;
    this.apiVersion = init.apiVersion;
    this.method = (init.req.method ?? 'GET').toUpperCase();
    this.path = init.path;
    this.params = init.params;
    this.query = init.query;
    this.signal = init.signal;
    this.log = init.log;
    this.commonHeaders = init.commonHeaders;
    this.upgrade = init.upgrade;
    this.maxBodyBytes = init.maxBodyBytes ?? DEFAULT_JSON_LIMIT;
  }

  get headers(): IncomingHttpHeaders {
    return this.req.headers;
  }

  /** A request header (first value when repeated). */
  header(name: string): string | undefined {
    const v = this.req.headers[name.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  }

  /** The client asked for `Upgrade: tcp`. */
  get isUpgrade(): boolean {
    return this.upgrade !== undefined;
  }

  /** The API version is at least `v` (for version-gated behaviour). */
  versionAtLeast(v: string): boolean {
    return versionAtLeast(this.apiVersion, v);
  }

  /** Whether a response (or a hijack) has begun. */
  get responded(): boolean {
    return this.hijackedStream !== undefined || this.res.headersSent || this.res.writableEnded;
  }

  get hijacked(): boolean {
    return this.hijackedStream !== undefined;
  }

  /** True when the request carries a body (dockerd's ContentLength != 0 test). */
  get hasBody(): boolean {
    if (this.upgrade) return this.upgrade.body.length > 0;
    const len = this.req.headers['content-length'];
    if (len !== undefined) return Number(len) > 0;
    return this.req.headers['transfer-encoding'] !== undefined;
  }

  /** The raw body stream (build contexts, image loads, archives). Once only. */
  bodyStream(): Readable {
    this.takeBody();
    return this.upgrade ? Readable.from([this.upgrade.body]) : this.req;
  }

  /** The whole body, up to `limit` bytes. */
  async readBody(limit = this.maxBodyBytes): Promise<Buffer> {
    this.takeBody();
    if (this.upgrade) return this.upgrade.body;
    return readBody(this.req, limit, this.signal);
  }

  /**
   * The JSON body, with dockerd's Content-Type check. An empty body is undefined (dockerd treats
   * it as "no options"); malformed JSON is invalid-argument (400).
   */
  async readJson<T = unknown>(types?: WireRoot, limit = this.maxBodyBytes): Promise<T | undefined> {
    checkJsonContentType(this.header('content-type'), this.hasBody);
    return parseJsonBody<T>(await this.readBody(limit), types);
  }

  private takeBody(): void {
    if (this.bodyTaken) throw new BerthError('internal', 'request body read twice');
    this.bodyTaken = true;
  }

  /** Set a response header (before the response starts). */
  setHeader(name: string, value: string | number): void {
    this.res.setHeader(name, value);
  }

  /** Send `value` as JSON. */
  sendJson(value: unknown, status = 200, headers: Record<string, string> = {}): void {
    const body = JSON.stringify(value).replace(INT64_MAX_AS_DOUBLE, '$19223372036854775807') + '\n';
    this.send(status, body, { ...headers, 'Content-Type': 'application/json' });
  }

  /** Send text (ping's `OK`, plain bodies). */
  sendText(text: string, status = 200, headers: Record<string, string> = {}): void {
    this.send(status, text, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  }

  /** Send an empty response (204 No Content, 304, 201 without body...). */
  sendStatus(status: number, headers: Record<string, string> = {}): void {
    this.send(status, '', headers);
  }

  /** Send `err` as dockerd does (status by code, `{"message"}`). False when too late to. */
  sendError(err: unknown): boolean {
    if (this.hijacked || !this.writable()) return false;
    return sendError(this.res, err);
  }

  private send(status: number, body: string, headers: Record<string, string>): void {
    if (this.responded) throw new BerthError('internal', `${this.method} ${this.path}: response already sent`);
    if (!this.writable()) return;
    const h = { ...headers };
    const bodiless = status === 204 || status === 304 || (status >= 100 && status < 200);
    // HEAD gets the length the GET would have; Node drops the body itself.
    if (!bodiless) h['Content-Length'] = String(Buffer.byteLength(body));
    this.res.writeHead(status, h);
    this.res.end(bodiless || this.method === 'HEAD' ? undefined : body);
  }

  private writable(): boolean {
    // The socket may already be gone, or taken over by a clientError 400 (see server.ts).
    const sock = this.res.socket;
    return !this.res.destroyed && !this.res.writableEnded && (sock === null || sock.writable);
  }

  /** Start a newline-delimited JSON response (progress, events). */
  jsonStream(opts: { status?: number; contentType?: string; headers?: Record<string, string> } = {}): JsonStream {
    if (this.responded) throw new BerthError('internal', `${this.method} ${this.path}: response already sent`);
    return new JsonStream(this.res, this.signal, opts);
  }

  /**
   * Take over the connection for a raw byte stream (attach, exec start). With `Upgrade: tcp`
   * this writes `101 UPGRADED` and returns the socket: reading it gives stdin (its end is the
   * client's half-close), writing it goes to the client; `multiplexed` chooses the content type
   * (stdcopy frames for non-TTY). Without the upgrade headers, a `200 OK` output-only stream.
   */
  hijack(opts: { multiplexed: boolean }): Duplex {
    if (this.responded) throw new BerthError('internal', `${this.method} ${this.path}: cannot hijack, response already sent`);
    const contentType = hijackContentType(this.apiVersion, opts.multiplexed);
    if (!this.upgrade) {
      const d = hijackWithoutUpgrade(this.req, this.res, contentType, this.commonHeaders);
      // A client going away mid-stream is routine here, not a crash.
      d.on('error', (err) => this.log.debug('hijacked stream error', { err }));
      this.hijackedStream = d;
      return d;
    }
    const { socket } = this.upgrade;
    // Stdin EOF must not end our side: the output keeps flowing after the client's half-close.
    socket.allowHalfOpen = true;
    socket.setTimeout(0);
    if (typeof socket.setNoDelay === 'function') socket.setNoDelay(true);
    socket.write(upgradeResponseHead(contentType, this.commonHeaders));
    this.hijackedStream = socket;
    return socket;
  }
}
