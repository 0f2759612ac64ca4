// berthd's Engine API server: node:http on unix sockets (and TLS tcp), request ids, dispatch to the router, graceful close.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http, { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type https from 'node:https';
import net, { type Socket } from 'node:net';
import path from 'node:path';
import { BerthError, errInvalid, errNotFound, errUnavailable } from '../common/errors.js';
import { nullLogger, type Logger } from '../common/log.js';
import { parseTraceparent, tracer } from '../common/trace.js';
import { DEFAULT_JSON_LIMIT } from './body.js';
import { Context, type UpgradeState } from './context.js';
import { ERROR_CODE_HEADER, httpStatusOf, sendError } from './errors.js';
import { readUpgradeBody, upgradeErrorResponse } from './hijack.js';
import { Query } from './query.js';
import type { Router } from './router.js';
import { API_MAX_VERSION, checkApiVersion, splitVersionPrefix } from './version.js';

/** Where to listen, parsed from a `-H` style host. */
export type ListenAddress =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number }
  /** systemd socket activation: `fd://` every socket passed, `fd://N` the one at fd N. */
  | { kind: 'fd'; fd?: number };

/** TLS for tcp hosts, as dockerd's --tlsverify with --tlscacert/--tlscert/--tlskey (file paths). */
export interface TlsOptions {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Require and verify client certificates against the CA (default true, as --tlsverify). */
  verifyClients?: boolean;
}

export interface ApiServerOptions {
  router: Router;
  /** `unix:///run/berth.sock`, `tcp://127.0.0.1:2376`; a bare absolute path is a unix socket. */
  hosts: readonly string[];
  log?: Logger;
  /** Required for tcp hosts unless `allowInsecureTcp`. */
  tls?: TlsOptions;
  /** Permit plain-text tcp (dockerd warns loudly about it; so do we). */
  allowInsecureTcp?: boolean;
  /** Group owning unix sockets (mode 0660); when it does not exist the socket is 0600. Default `berth`. */
  socketGroup?: string;
  /** Limit for JSON request bodies; default 10 MiB. */
  maxBodyBytes?: number;
  /** Daemon version for the `Server` header. */
  daemonVersion?: string;
  /** Told of every answered request (metrics): its route pattern, never the raw path, so label values stay bounded. */
  onRequestDone?: (r: RequestRecord) => void;
}

/** One answered request, as `onRequestDone` hears of it. */
export interface RequestRecord {
  method: string;
  /** The route's pattern (`/containers/{id}/start`), or '' when no route matched. */
  route: string;
  /** The HTTP status (101 for a hijacked stream). */
  status: number;
  /** From the request's arrival until the handler finished (for streams: until the stream ended). */
  seconds: number;
}

/** Parse a host spec. */
export function parseHost(spec: string): ListenAddress {
  if (spec.startsWith('/')) return { kind: 'unix', path: spec };
  if (spec.startsWith('unix://')) {
    const p = spec.slice('unix://'.length);
    if (!p.startsWith('/')) throw errInvalid(`invalid host ${JSON.stringify(spec)}: unix socket path must be absolute`);
    return { kind: 'unix', path: p };
  }
  if (spec.startsWith('tcp://')) {
    const rest = spec.slice('tcp://'.length).replace(/\/$/, '');
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:/\[\]]*)(?::(\d+))?$/.exec(rest);
    if (!m) throw errInvalid(`invalid host ${JSON.stringify(spec)}`);
    const host = (m[1] || '127.0.0.1').replace(/^\[|\]$/g, '');
    const port = m[2] === undefined ? 2376 : Number(m[2]);
    if (port > 65535) throw errInvalid(`invalid host ${JSON.stringify(spec)}: bad port`);
    return { kind: 'tcp', host, port };
  }
  if (spec.startsWith('fd://')) {
    const n = spec.slice('fd://'.length);
    if (n === '' || n === '*') return { kind: 'fd' };
    if (!/^\d+$/.test(n)) throw errInvalid(`invalid host ${JSON.stringify(spec)}: failed to parse systemd fd address: should be a number: ${n}`);
    return { kind: 'fd', fd: Number(n) };
  }
  throw errInvalid(`invalid host ${JSON.stringify(spec)}: only unix://, tcp:// and fd:// are supported`);
}

/** The first fd systemd passes (SD_LISTEN_FDS_START). */
const LISTEN_FDS_START = 3;

/**
 * The sockets systemd passed this process (sd_listen_fds(3)): fds 3.. when LISTEN_PID names it.
 * The variables are removed, as go-systemd's activation does for dockerd, so the processes it
 * starts (shims) do not take them for their own.
 */
export function takeActivatedFds(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number[] {
  const forUs = env.LISTEN_PID !== undefined && Number(env.LISTEN_PID) === pid;
  const n = Number(env.LISTEN_FDS);
  for (const k of ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES']) delete env[k];
  if (!forUs || !Number.isInteger(n) || n <= 0) return [];
  return Array.from({ length: n }, (_, i) => LISTEN_FDS_START + i);
}

/** The gid of a group in /etc/group, or undefined. */
export function lookupGroupId(name: string, groupFile = '/etc/group'): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(groupFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [n, , gid] = line.split(':');
    if (n === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** A caller's X-Request-Id when it is sane (so `berth` CLI traces line up), else a fresh one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const v = Array.isArray(header) ? header[0] : header;
  return v && REQUEST_ID_RE.test(v) ? v : randomBytes(8).toString('hex');
}

interface Inflight {
  ac: AbortController;
  socket: Socket;
  hijacked: () => boolean;
}

type AnyServer = http.Server | https.Server;

/**
 * The API server. Create with a router and hosts, `listen()`, and `close()` to stop: close
 * stops accepting, lets in-flight requests finish for `graceMs`, then aborts their signals and
 * drops the connections.
 */
export class ApiServer {
  private readonly router: Router;
  private readonly log: Logger;
  private readonly opts: ApiServerOptions;
  private readonly listeners: { server: AnyServer; address: ListenAddress }[] = [];
  private readonly inflight = new Set<Inflight>();

  /** Requests not yet over: a stream or a hijacked connection counts until it closes. */
  get inFlight(): number {
    return this.inflight.size;
  }
  private readonly sockets = new Set<Socket>();
  private closing: Promise<void> | undefined;

  constructor(opts: ApiServerOptions) {
    this.opts = opts;
    this.router = opts.router;
    this.log = opts.log ?? nullLogger;
    if (opts.hosts.length === 0) throw errInvalid('no hosts to listen on');
    for (const h of opts.hosts) {
      const a = parseHost(h);
      if (a.kind === 'tcp' && !opts.tls && !opts.allowInsecureTcp) {
        throw errInvalid(`refusing to listen on ${h} without TLS: pass TLS options, or allow insecure tcp explicitly`);
      }
    }
  }

  /** The bound addresses (tcp port 0 resolved), after listen(). */
  get addresses(): ListenAddress[] {
    return this.listeners.map((l) => l.address);
  }

  /** Bind every host. On failure, the hosts already bound are closed again. */
  async listen(): Promise<ListenAddress[]> {
    try {
      let activated: number[] | undefined;
      for (const h of this.opts.hosts) {
        const address = parseHost(h);
        if (address.kind === 'fd') {
          activated ??= takeActivatedFds();
          for (const fd of this.activatedFor(address.fd, activated)) await this.bind(address, (server) => this.listenFd(server, fd));
          continue;
        }
        await this.bind(address, (server) => address.kind === 'unix' ? this.listenUnix(server, address.path) : this.listenTcp(server, address));
      }
    } catch (e) {
      await this.close({ graceMs: 0 });
      throw e;
    }
    return this.addresses;
  }

  private async bind(address: ListenAddress, listen: (server: AnyServer) => Promise<ListenAddress>): Promise<void> {
    const server = await this.createServer(address);
    const bound = await listen(server);
    this.listeners.push({ server, address: bound });
    this.log.info('API listening', { addr: formatAddress(bound) });
  }

  /** dockerd's listenFD: `fd://` takes every activated socket, `fd://N` only N (the others are closed). */
  private activatedFor(fd: number | undefined, activated: number[]): number[] {
    if (activated.length === 0) throw errInvalid('no sockets found via socket activation: make sure the service was started by systemd');
    if (fd === undefined) return activated;
    if (!activated.includes(fd)) throw errInvalid(`fd://${fd}: too few socket activated files passed in by systemd`);
    for (const other of activated) if (other !== fd) fs.closeSync(other);
    return [fd];
  }

  private listenFd(server: AnyServer, fd: number): Promise<ListenAddress> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ fd }, () => {
        server.off('error', reject);
        resolve({ kind: 'fd', fd });
      });
    });
  }

  private async createServer(address: ListenAddress): Promise<AnyServer> {
    const base: http.ServerOptions = {
      // Attach streams, image loads and build contexts can outlast any request timeout.
      requestTimeout: 0,
      headersTimeout: 60_000,
      keepAliveTimeout: 5_000,
    };
    let server: AnyServer;
    // An activated socket may be tcp: TLS when configured, as dockerd's activation.TLSListeners.
    if ((address.kind === 'tcp' || address.kind === 'fd') && this.opts.tls) {
      const t = this.opts.tls;
      const verify = t.verifyClients ?? true;
      // Loaded only for a TLS listener: TLS and https cost the daemon ~1 MB it needs on unix sockets.
      const { createServer } = await import('node:https');
      server = createServer({
        ...base,
        ca: fs.readFileSync(t.caFile),
        cert: fs.readFileSync(t.certFile),
        key: fs.readFileSync(t.keyFile),
        requestCert: verify,
        rejectUnauthorized: verify,
        minVersion: 'TLSv1.2',
      });
    } else {
      if (address.kind === 'tcp') this.log.warn('API listening on plain tcp: anyone who can connect has root on this host', { host: address.host, port: address.port });
      server = http.createServer(base);
    }
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void this.dispatch(req, res, undefined));
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.onUpgrade(req, socket, head));
    server.on('clientError', (err: Error & { code?: string }, socket: Socket) => this.onClientError(err, socket));
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    server.on('secureConnection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    server.on('tlsClientError', (err: Error) => this.log.debug('TLS handshake failed', { err }));
    return server;
  }

  private async listenUnix(server: AnyServer, sockPath: string): Promise<ListenAddress> {
    await fs.promises.mkdir(path.dirname(sockPath), { recursive: true, mode: 0o755 });
    await removeStaleSocket(sockPath);
    const gid = lookupGroupId(this.opts.socketGroup ?? 'berth');
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // The socket is created inside listen() synchronously; under this umask it is born 0600,
      // so there is no window where others can connect (as dockerd does with its umask).
      const old = process.umask(0o177);
      try {
        server.listen(sockPath, () => {
          server.off('error', reject);
          resolve();
        });
      } finally {
        process.umask(old);
      }
    });
    if (gid !== undefined) {
      await fs.promises.chown(sockPath, process.getuid?.() ?? 0, gid);
      await fs.promises.chmod(sockPath, 0o660);
    } else {
      await fs.promises.chmod(sockPath, 0o600);
    }
    return { kind: 'unix', path: sockPath };
  }

  private listenTcp(server: AnyServer, a: { host: string; port: number }): Promise<ListenAddress> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(a.port, a.host, () => {
        server.off('error', reject);
        const addr = server.address() as net.AddressInfo;
        resolve({ kind: 'tcp', host: a.host, port: addr.port });
      });
    });
  }

  private commonHeaders(requestId: string): Record<string, string> {
    return {
      'Api-Version': API_MAX_VERSION,
      Ostype: 'linux',
      Server: `Berth/${this.opts.daemonVersion ?? '0.1.0'} (linux)`,
      'X-Request-Id': requestId,
    };
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    // Node drops its own error handler from an upgraded socket: without ours a reset would crash.
    socket.on('error', (err) => this.log.debug('upgraded connection error', { err }));
    const res = upgradeErrorResponse(req, socket);
    if (this.closing) {
      sendError(res, errUnavailable('server is shutting down'));
      return;
    }
    readUpgradeBody(req, socket, head, this.opts.maxBodyBytes ?? DEFAULT_JSON_LIMIT).then(
      (body) => this.dispatch(req, res, { socket, body }),
      (err) => {
        this.log.debug('reading upgrade request body failed', { err });
        if (!sendError(res, err)) socket.destroy();
      },
    );
  }

  private onClientError(err: Error & { code?: string }, socket: Socket): void {
    const pending = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || pending?.headersSent) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const reason =
      err.code === 'HPE_INVALID_EOF_STATE' ? 'unexpected EOF: request cut off' : `malformed HTTP request: ${err.message.replace(/^Parse Error: /, '')}`;
    this.log.debug('client error', { code: err.code, status });
    const body = JSON.stringify({ message: reason }) + '\n';
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Api-Version: ${API_MAX_VERSION}\r\nConnection: close\r\n\r\n${body}`,
    );
    socket.once('finish', () => socket.destroy());
  }

  /** Route one request (plain or upgraded) and answer it. Never throws. */
  private async dispatch(req: IncomingMessage, res: ServerResponse, upgrade: UpgradeState | undefined): Promise<void> {
    const started = performance.now();
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const qi = url.indexOf('?');
    const rawPath = qi < 0 ? url : url.slice(0, qi);
    const log = this.log.child({ reqId: requestId });
    // One span per request, continuing the caller's trace (W3C traceparent) or starting one; the
    // layers below add theirs through the async context. Renamed to its route once matched.
    const span = tracer.startRoot(`${method} ${rawPath}`, 'api', { parent: parseTraceparent(req.headers.traceparent), kind: 'server' });
    span.set('berth.request_id', requestId);
    const common = this.commonHeaders(requestId);
    for (const [k, v] of Object.entries(common)) res.setHeader(k, v);

    const ac = new AbortController();
    const socket = upgrade?.socket ?? req.socket;
    let ctx: Context | undefined;
    const entry: Inflight = { ac, socket, hijacked: () => ctx?.hijacked ?? false };
    this.inflight.add(entry);
    const abort = () => {
      if (!ac.signal.aborted) ac.abort(new BerthError('cancelled', 'client disconnected'));
    };
    if (upgrade) socket.once('close', abort);
    else res.once('close', () => { if (!res.writableFinished) abort(); });

    let status = 0;
    let route = '';
    let failure: unknown;
    try {
      const { version, rest } = splitVersionPrefix(rawPath);
      const apiVersion = version ?? API_MAX_VERSION;
      const refused = version !== undefined ? checkApiVersion(version) : undefined;
      if (refused) throw errInvalid(refused);
      let match;
      try {
        match = this.router.match(method, rest);
      } catch (e) {
        throw errInvalid(`invalid path ${JSON.stringify(rawPath)}: bad percent-encoding`, e);
      }
      if (match.kind === 'not-found') throw errNotFound('page not found');
      if (match.kind === 'found') route = match.route.pattern;
      if (match.kind === 'method-not-allowed') {
        const body = JSON.stringify({ message: `method ${method} not allowed on ${rest}` }) + '\n';
        res.writeHead(405, { Allow: match.allowed.join(', '), 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) });
        res.end(method === 'HEAD' ? undefined : body);
        return;
      }
      ctx = new Context({
        req, res, requestId, apiVersion, path: rest, params: match.params,
        query: Query.parse(qi < 0 ? '' : url.slice(qi + 1)),
        signal: ac.signal, log, commonHeaders: common, upgrade,
        maxBodyBytes: this.opts.maxBodyBytes,
      });
      log.debug('request', { method, path: rawPath, route: match.route.pattern, apiVersion, upgrade: !!upgrade });
      span.name = `${method} ${match.route.pattern}`;
      span.set('http.route', match.route.pattern);
      const c = ctx;
      const value = await tracer.run(span, () => match.route.handler(c));
      if (!ctx.responded) {
        if (value === undefined) ctx.sendStatus(204);
        else ctx.sendJson(value);
      }
    } catch (err) {
      failure = err;
      if (ctx?.hijacked) {
        // The HTTP exchange is over; the only way left to report is to drop the stream.
        socket.destroy();
      } else if (!(ctx ? ctx.sendError(err) : sendErrorSafe(res, err))) {
        if (!res.writableEnded) res.destroy();
      }
    } finally {
      status = ctx?.hijacked ? 101 : res.statusCode;
      if (failure !== undefined && !ctx?.hijacked && !res.headersSent) status = httpStatusOf(failure);
      const fields = { method, path: rawPath, status, ms: Math.round((performance.now() - started) * 10) / 10 };
      if (failure !== undefined && httpStatusOf(failure) >= 500 && !ac.signal.aborted) log.error('request failed', { ...fields, err: failure });
      else if (failure !== undefined) log.debug('request failed', { ...fields, err: (failure as Error).message, code: res.getHeader(ERROR_CODE_HEADER) });
      else log.debug('request done', fields);
      this.opts.onRequestDone?.({ method, route, status, seconds: (performance.now() - started) / 1000 });
      span.set('http.response.status_code', status);
      if (failure !== undefined) span.fail(failure);
      if (ctx?.hijacked) {
        // The handler owns the stream until it closes; keep it in the shutdown set till then.
        if (socket.destroyed) {
          this.inflight.delete(entry);
          span.finish();
        } else {
          socket.once('close', () => { this.inflight.delete(entry); span.finish(); });
        }
      } else {
        this.inflight.delete(entry);
        span.finish();
      }
    }
  }

  /**
   * Stop: no new connections; in-flight requests get `graceMs` to finish; then their signals
   * fire (`unavailable`) and every connection is dropped. Unix socket files are removed.
   */
  close(opts: { graceMs?: number } = {}): Promise<void> {
    this.closing ??= this.doClose(opts.graceMs ?? 5_000);
    return this.closing;
  }

  private async doClose(graceMs: number): Promise<void> {
    const closed = this.listeners.map(
      ({ server }) => new Promise<void>((resolve) => server.close(() => resolve())),
    );
    for (const { server } of this.listeners) server.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    while (this.inflight.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, deadline - Date.now()))));
      for (const { server } of this.listeners) server.closeIdleConnections();
    }
    for (const f of this.inflight) f.ac.abort(errUnavailable('server is shutting down'));
    for (const { server } of this.listeners) server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await Promise.all(closed);
    for (const { address } of this.listeners) {
      if (address.kind === 'unix') await fs.promises.rm(address.path, { force: true });
    }
    this.log.info('API server closed');
  }
}

/** A bound address as a host spec. */
function formatAddress(a: ListenAddress): string {
  if (a.kind === 'unix') return `unix://${a.path}`;
  if (a.kind === 'tcp') return `tcp://${a.host}:${a.port}`;
  return `fd://${a.fd ?? ''}`;
}

function sendErrorSafe(res: ServerResponse, err: unknown): boolean {
  const sock = res.socket;
  if (sock && !sock.writable) return false;
  return sendError(res, err);
}

/**
 * A leftover socket file from a daemon that died is removed; one that still accepts
 * connections means another daemon is running there; a non-socket file is never touched.
 */
async function removeStaleSocket(sockPath: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = await fs.promises.lstat(sockPath);
  } catch {
    return;
  }
  if (!st.isSocket()) throw errInvalid(`${sockPath} exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const c = net.connect(sockPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (live) throw new BerthError('already-exists', `${sockPath}: another daemon is listening on this socket`);
  await fs.promises.rm(sockPath, { force: true });
}

/** Create, listen and return a server (the usual way to start one). */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const s = new ApiServer(opts);
  await s.listen();
  return s;
}
