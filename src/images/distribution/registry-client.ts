// The registry client (OCI distribution spec): ping, token/basic auth, manifests, verified resumable blobs, uploads.
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import type { ContentStore, ContentWriter, Descriptor } from '../types.js';
import { BerthError, errInvalid, errNotImplemented, errorCode, errUnavailable, type ErrorCode } from '../../common/errors.js';
import { crashPoint } from '../../common/crash-point.js';
import { parseWwwAuthenticate, type AuthChallenge } from './auth-header.js';
import { dockerConfigDir, loadDockerCredentials, type Credentials } from './credentials.js';
import { endpointsFor, type Endpoint, type EndpointConfig } from './endpoints.js';
import { DOCKER_SCHEMA1, MANIFEST_ACCEPT, declaredMediaType, isIndexType, isManifestType } from './media-types.js';
import { shortId, throttled, type ProgressFn } from './progress.js';
import { parseContentRange, parseRange, uploadContentRange } from './range.js';
import { TokenCache, tokenKey } from './token-cache.js';

/** A repository on a registry: `{ registry: 'docker.io', repository: 'library/busybox' }`. */
export interface RepoRef {
  registry: string;
  repository: string;
}

/** How the client reaches registries. Every field is optional; the defaults follow dockerd's. */
export interface RegistryClientOptions extends EndpointConfig {
  /** Credentials for a host[:port]; default: the `auths` of `<dockerConfigDir>/config.json`. */
  credentials?: (host: string) => Promise<Credentials | undefined> | Credentials | undefined;
  /** Where config.json lives; default `$DOCKER_CONFIG`, else `~/.docker` (read at each lookup). */
  dockerConfigDir?: string;
  /** Retries of a transient failure (connection reset, 429, 5xx), each after a doubling delay. Default 3. */
  retries?: number;
  /** The first retry delay in ms. Default 250. */
  retryDelayMs?: number;
  /** Parallel blob transfers in pull and push. Default 3 (dockerd's max-concurrent-downloads). */
  concurrency?: number;
  /** Header and body-idle timeout per request in ms. Default 60000. */
  timeoutMs?: number;
  /** The largest manifest we read when no descriptor gives its size. Default 4 MiB (as containerd). */
  maxManifestBytes?: number;
  userAgent?: string;
}

/** A registry's answer other than the one expected: the HTTP status and the spec's error codes. */
export class RegistryError extends BerthError {
  readonly status: number;
  /** The `errors[].code` values of the response body (`MANIFEST_UNKNOWN`, `UNAUTHORIZED`, ...). */
  readonly registryCodes: string[];
  constructor(code: ErrorCode, message: string, status: number, registryCodes: string[]) {
    super(code, message);
    this.name = 'RegistryError';
    this.status = status;
    this.registryCodes = registryCodes;
  }
}

/** No HTTP response at all (refused, reset, TLS failure): the case where a next endpoint is worth a try. */
class NoResponseError extends BerthError {
  constructor(message: string, cause: unknown) {
    super('unavailable', message, { cause });
    this.name = 'NoResponseError';
  }
}

/** A manifest as fetched: its descriptor (digest verified) and its exact bytes. */
export interface FetchedManifest {
  descriptor: Descriptor;
  bytes: Buffer;
}

/** What `pushBlob` did. */
export type PushBlobResult = 'exists' | 'mounted' | 'pushed';

type Body = Buffer | Readable | undefined;

interface Req {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH';
  /** `/v2/...` under the endpoint, or an absolute URL (an upload Location). */
  path: string;
  headers?: Record<string, string>;
  /** A factory, so a retry sends the body again. */
  body?: () => Body | Promise<Body>;
  scopes: string[];
  /** Follow redirects (blob GETs may go to a storage host). */
  follow?: boolean;
  /** Retry on transient failures (default: true). */
  retry?: boolean;
}

type Res = Dispatcher.ResponseData;

const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const TRANSIENT_ERRNO = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED']);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
/** Codes after which a partial ingest is worth keeping for a resume; any other failure aborts it. */
const RESUMABLE: Array<ErrorCode | undefined> = ['unavailable', 'cancelled', 'deadline-exceeded', 'permission-denied'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function causeCodes(e: unknown): string[] {
  const out: string[] = [];
  for (let c: unknown = e, d = 0; c && d < 16; d++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string') out.push(code);
    c = (c as { cause?: unknown }).cause;
  }
  return out;
}

/** A failure worth retrying: the network broke (reset, timeout), not a verdict about the content or the auth. */
const isTransientError = (e: unknown) =>
  (e instanceof NoResponseError || !(e instanceof BerthError)) && causeCodes(e).some((c) => TRANSIENT_ERRNO.has(c));

function statusCode(status: number): ErrorCode {
  if (status === 401 || status === 403) return 'permission-denied';
  if (status === 404) return 'not-found';
  if (status === 400 || status === 405 || status === 413 || status === 416) return 'invalid-argument';
  if (status === 409) return 'conflict';
  if (status === 501) return 'not-implemented';
  return 'unavailable';
}

/** Hash `bytes` with the algorithm `digest` names; `sha256:<hex>`. */
export function digestOf(bytes: Uint8Array, algorithm = 'sha256'): string {
  if (algorithm !== 'sha256' && algorithm !== 'sha512') throw errNotImplemented(`digest algorithm ${algorithm}`);
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

const algorithmOf = (digest: string) => digest.slice(0, digest.indexOf(':'));
const isDigest = (s: string) => /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(s);
const header = (res: Res, name: string): string | undefined => {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Stop reading a response body; undici reports a destroy without an error as an abort, which nobody awaits. */
function discard(body: Res['body']): void {
  body.on('error', () => {});
  body.destroy();
}

/** Read at most `limit` bytes of `body`; more is an error (a size that lies, or a hostile server). */
async function readLimited(body: Res['body'], limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) {
      discard(body);
      throw errInvalid(`${what}: more than the ${limit} bytes expected`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Read a whole stream into one buffer. */
async function readAll(stream: NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream as AsyncIterable<Buffer>) {
    const b = Buffer.from(c);
    const take = Math.min(b.length, limit - n);
    chunks.push(b.subarray(0, take));
    n += take;
    if (n >= limit) break;
  }
  (stream as Readable).destroy?.();
  return Buffer.concat(chunks);
}

/**
 * A client for OCI distribution registries. One instance keeps connections, endpoint choices, auth challenges
 * and bearer tokens across calls; `close()` ends its connections.
 *
 * @example
 *   const client = new RegistryClient({ insecureRegistries: ['registry.lan:5000'] });
 *   const m = await client.getManifest({ registry: '127.0.0.1:5000', repository: 'test/busybox' }, '1');
 *   await client.fetchBlob(repo, layerDescriptor, contentStore);
 */
export class RegistryClient {
  readonly concurrency: number;
  private readonly opts: RegistryClientOptions;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly maxManifestBytes: number;
  private readonly userAgent: string;
  private readonly agent: Agent;
  private readonly insecureAgent: Agent;
  private readonly tokens = new TokenCache();
  private readonly challenges = new Map<string, AuthChallenge[]>();
  private readonly pings = new Map<string, Promise<void>>();
  private readonly endpointLists = new Map<string, Promise<Endpoint[]>>();
  /** The endpoint base that last worked per registry, tried first next time (skips a dead mirror or https). */
  private readonly preferred = new Map<string, string>();
  private readonly tokenFetches = new Map<string, Promise<string>>();
  /** Fetches in flight per store and digest: a layer shared by two images being pulled is fetched once. */
  private readonly blobFetches = new WeakMap<ContentStore, Map<string, Promise<'exists' | 'fetched'>>>();

  constructor(opts: RegistryClientOptions = {}) {
    this.opts = opts;
    this.retries = opts.retries ?? 3;
    this.retryDelayMs = opts.retryDelayMs ?? 250;
    this.concurrency = Math.max(1, opts.concurrency ?? 3);
    this.maxManifestBytes = opts.maxManifestBytes ?? 4 << 20;
    this.userAgent = opts.userAgent ?? 'berth/0.1';
    const timeout = opts.timeoutMs ?? 60000;
    this.agent = new Agent({ headersTimeout: timeout, bodyTimeout: timeout });
    this.insecureAgent = new Agent({ headersTimeout: timeout, bodyTimeout: timeout, connect: { rejectUnauthorized: false } });
  }

  /** End every pooled connection. */
  async close(): Promise<void> {
    await Promise.all([this.agent.close(), this.insecureAgent.close()]);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Endpoints, ping, auth

  private endpoints(registry: string, pull: boolean): Promise<Endpoint[]> {
    const key = `${pull ? 'pull' : 'push'} ${registry}`;
    let p = this.endpointLists.get(key);
    if (!p) {
      p = endpointsFor(registry, this.opts, pull);
      this.endpointLists.set(key, p);
      p.catch(() => this.endpointLists.delete(key));
    }
    return p;
  }

  /**
   * Run `fn` on the endpoints of `registry` in turn until one works. A mirror falls through on any failure;
   * the registry's own https falls through to its http only when no response came back at all.
   */
  private async withEndpoint<T>(registry: string, pull: boolean, fn: (ep: Endpoint) => Promise<T>): Promise<T> {
    const list = await this.endpoints(registry, pull);
    const key = `${pull ? 'pull' : 'push'} ${registry}`;
    const pref = this.preferred.get(key);
    const ordered = pref ? [...list.filter((e) => e.base === pref), ...list.filter((e) => e.base !== pref)] : list;
    let last: unknown;
    for (const [i, ep] of ordered.entries()) {
      try {
        const r = await fn(ep);
        this.preferred.set(key, ep.base);
        return r;
      } catch (e) {
        last = e;
        const more = i < ordered.length - 1;
        if (!more || errorCode(e) === 'cancelled' || !(ep.mirror || e instanceof NoResponseError)) throw e;
      }
    }
    throw last;
  }

  /** GET /v2/ once per endpoint: proves it speaks the API and learns its auth challenge. */
  ping(ep: Endpoint): Promise<void> {
    let p = this.pings.get(ep.base);
    if (!p) {
      p = (async () => {
        const res = await this.retrying(ep, { method: 'GET', path: '/v2/', scopes: [] }, () => this.exchange(ep, { method: 'GET', path: '/v2/', scopes: [] }));
        await res.body.dump();
        if (res.statusCode === 401) {
          this.challenges.set(ep.base, parseWwwAuthenticate(res.headers['www-authenticate']));
        } else if (res.statusCode !== 200) {
          throw new RegistryError(statusCode(res.statusCode), `registry ${ep.base}: ping /v2/: HTTP ${res.statusCode}`, res.statusCode, []);
        }
      })();
      this.pings.set(ep.base, p);
      p.catch(() => this.pings.delete(ep.base));
    }
    return p;
  }

  /** Ping `registry` (its first working endpoint); resolves to the endpoint's base URL. */
  async pingRegistry(registry: string): Promise<string> {
    return this.withEndpoint(registry, true, async (ep) => { await this.ping(ep); return ep.base; });
  }

  private async credentialsFor(host: string): Promise<Credentials | undefined> {
    if (this.opts.credentials) return this.opts.credentials(host);
    return loadDockerCredentials(host, this.opts.dockerConfigDir ?? dockerConfigDir());
  }

  /** The Authorization header for `scopes` on `ep`, from its challenge; `fresh` skips the token cache. */
  private async authorization(ep: Endpoint, scopes: string[], fresh = false): Promise<string | undefined> {
    const ch = this.challenges.get(ep.base);
    if (!ch?.length) return undefined;
    const bearer = ch.find((c) => c.scheme === 'bearer');
    if (bearer) {
      const realm = bearer.params.realm;
      if (!realm) throw errInvalid(`registry ${ep.host}: Bearer challenge without a realm`);
      return `Bearer ${await this.token(ep, realm, bearer.params.service, scopes, fresh)}`;
    }
    if (ch.some((c) => c.scheme === 'basic')) {
      const creds = await this.credentialsFor(ep.host);
      return creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` : undefined;
    }
    return undefined;
  }

  /** A bearer token from the realm (token spec: GET with service and scope, basic auth when we have credentials). */
  private async token(ep: Endpoint, realm: string, service: string | undefined, scopes: string[], fresh: boolean): Promise<string> {
    const key = tokenKey(realm, service, scopes);
    if (fresh) this.tokens.delete(key);
    const cached = this.tokens.get(key);
    if (cached) return cached;
    // One token request per key at a time: parallel layer downloads would otherwise each ask for one.
    let p = this.tokenFetches.get(key);
    if (!p) {
      p = this.fetchToken(ep, realm, service, scopes, key).finally(() => this.tokenFetches.delete(key));
      this.tokenFetches.set(key, p);
    }
    return p;
  }

  private async fetchToken(ep: Endpoint, realm: string, service: string | undefined, scopes: string[], key: string): Promise<string> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch (e) {
      throw errInvalid(`registry ${ep.host}: token realm ${JSON.stringify(realm)} is not a URL`, e);
    }
    if (service) url.searchParams.set('service', service);
    for (const s of [...new Set(scopes)].sort()) url.searchParams.append('scope', s);
    const headers: Record<string, string> = { 'user-agent': this.userAgent };
    const creds = await this.credentialsFor(ep.host);
    if (creds) headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    const what = `registry ${ep.host}: token from ${url.origin}${url.pathname}`;
    const res = await this.retrying(ep, { method: 'GET', path: url.href, scopes: [] },
      () => this.http(url.href, { method: 'GET', headers }, url.host === ep.host ? ep : undefined, what));
    if (res.statusCode !== 200) {
      await res.body.dump();
      const code: ErrorCode = res.statusCode === 401 || res.statusCode === 403 ? 'permission-denied' : statusCode(res.statusCode);
      throw new RegistryError(code, `${what}: HTTP ${res.statusCode}${creds ? '' : ' (no credentials)'}`, res.statusCode, []);
    }
    const body = await readLimited(res.body, 1 << 20, what);
    let json: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    try {
      json = JSON.parse(body.toString('utf8')) as typeof json;
    } catch (e) {
      throw errInvalid(`${what}: answer is not JSON`, e);
    }
    // The token spec names both; `access_token` is the OAuth 2 name and wins when both are present.
    const token = typeof json.access_token === 'string' && json.access_token ? json.access_token
      : typeof json.token === 'string' && json.token ? json.token : undefined;
    if (!token) throw errInvalid(`${what}: answer has neither token nor access_token`);
    this.tokens.set(key, token, typeof json.expires_in === 'number' ? json.expires_in : undefined,
      typeof json.issued_at === 'string' ? json.issued_at : undefined);
    return token;
  }

  // -------------------------------------------------------------------------------------------------------------
  // HTTP

  /** One HTTP exchange; network failures become NoResponseError naming the request. */
  private async http(url: string, o: { method: string; headers: Record<string, string>; body?: Body }, ep: Endpoint | undefined, what: string): Promise<Res> {
    const dispatcher = ep?.skipVerify && new URL(url).host === ep.host ? this.insecureAgent : this.agent;
    try {
      return await request(url, { method: o.method as Dispatcher.HttpMethod, headers: o.headers, body: o.body, dispatcher, maxRedirections: 0 });
    } catch (e) {
      // A plain-http server answering a TLS hello: Go's words, which say what to do (list it as insecure).
      const detail = causeCodes(e).includes('ERR_SSL_WRONG_VERSION_NUMBER') ? 'http: server gave HTTP response to HTTPS client'
        : (e as Error).message || causeCodes(e).join(' ');
      throw new NoResponseError(`${what}: ${o.method} ${url}: ${detail}`, e);
    }
  }

  /** Send `req` with `auth`, following redirects when asked (auth never goes to another origin). */
  private async exchange(ep: Endpoint, req: Req, auth?: string): Promise<Res> {
    let url = /^https?:\/\//.test(req.path) ? req.path : `${ep.base}${req.path}`;
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...req.headers };
    if (auth) headers.authorization = auth;
    const what = `registry ${ep.host}`;
    let res = await this.http(url, { method: req.method, headers, body: await req.body?.() }, ep, what);
    for (let n = 0; req.follow && REDIRECTS.has(res.statusCode); n++) {
      const location = header(res, 'location');
      await res.body.dump();
      if (!location) throw errInvalid(`${what}: ${req.method} ${url}: redirect without a Location`);
      if (n >= MAX_REDIRECTS) throw errInvalid(`${what}: ${req.method} ${url}: more than ${MAX_REDIRECTS} redirects`);
      const next = new URL(location, url);
      // A blob redirect usually goes to a storage host with a signed URL: our registry credentials are not its.
      if (next.origin !== new URL(url).origin) delete headers.authorization;
      url = next.href;
      res = await this.http(url, { method: req.method === 'HEAD' ? 'HEAD' : 'GET', headers }, ep, what);
    }
    return res;
  }

  /** Run `once` with bounded, doubling retries on transient failures. */
  private async retrying(ep: Endpoint, req: Req, once: () => Promise<Res>): Promise<Res> {
    const canRetry = req.retry ?? true;
    for (let attempt = 0; ; attempt++) {
      let res: Res;
      try {
        res = await once();
      } catch (e) {
        if (!canRetry || attempt >= this.retries || !isTransientError(e)) throw e;
        await sleep(this.backoff(attempt));
        continue;
      }
      if (canRetry && attempt < this.retries && TRANSIENT_STATUS.has(res.statusCode)) {
        await res.body.dump();
        await sleep(this.backoff(attempt, header(res, 'retry-after')));
        continue;
      }
      return res;
    }
  }

  private backoff(attempt: number, retryAfter?: string): number {
    const asked = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : 0;
    const base = this.retryDelayMs * 2 ** attempt;
    return Math.min(Math.max(asked, base + Math.random() * base * 0.2), 30000);
  }

  /**
   * Send `req` to `ep` with auth: the cached token or credentials first; on a 401, learn the challenge (and any
   * scope it asks for), fetch a fresh token and try once more. A second 401 is `permission-denied`.
   */
  private async send(ep: Endpoint, req: Req): Promise<Res> {
    await this.ping(ep);
    return this.retrying(ep, req, async () => {
      const sent = await this.authorization(ep, req.scopes);
      let res = await this.exchange(ep, req, sent);
      if (res.statusCode !== 401) return res;
      const ch = parseWwwAuthenticate(res.headers['www-authenticate']);
      const body = await readLimited(res.body, 1 << 20, 'error body').catch(() => Buffer.alloc(0));
      if (ch.length) this.challenges.set(ep.base, ch);
      const asked = ch.find((c) => c.scheme === 'bearer')?.params.scope;
      const scopes = asked ? [...req.scopes, ...asked.split(' ')] : req.scopes;
      const auth = await this.authorization(ep, scopes, true);
      if (!auth || (auth === sent && !ch.some((c) => c.scheme === 'bearer'))) {
        throw this.statusError(ep, req, 401, body, auth ? 'credentials refused' : `no credentials for ${ep.host}`);
      }
      res = await this.exchange(ep, req, auth);
      if (res.statusCode === 401) {
        const b = await readLimited(res.body, 1 << 20, 'error body').catch(() => Buffer.alloc(0));
        throw this.statusError(ep, req, 401, b, 'credentials refused');
      }
      return res;
    });
  }

  private statusError(ep: Endpoint, req: Req, status: number, body: Buffer, note?: string): RegistryError {
    let codes: string[] = [];
    let detail = '';
    try {
      const j = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: string; message?: string }> };
      codes = (j.errors ?? []).map((e) => String(e.code));
      detail = (j.errors ?? []).map((e) => `${e.code}: ${e.message}`).join('; ');
    } catch {
      detail = body.toString('utf8', 0, 200).trim();
    }
    const path = /^https?:/.test(req.path) ? new URL(req.path).pathname : req.path.split('?')[0];
    const msg = `registry ${ep.host}: ${req.method} ${path}: HTTP ${status}${detail ? ` ${detail}` : ''}${note ? ` (${note})` : ''}`;
    return new RegistryError(statusCode(status), msg, status, codes);
  }

  /** Throw a RegistryError unless the status is one of `ok`. */
  private async expect(ep: Endpoint, req: Req, res: Res, ok: number[]): Promise<void> {
    if (ok.includes(res.statusCode)) return;
    const body = await readLimited(res.body, 1 << 20, 'error body').catch(() => Buffer.alloc(0));
    throw this.statusError(ep, req, res.statusCode, body);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Manifests

  /**
   * GET a manifest or index by tag or digest. The bytes are checked against the digest asked for, the registry's
   * Docker-Content-Digest and the expected descriptor's size, and their media type must be one we know.
   */
  async getManifest(repo: RepoRef, reference: string, expected?: Descriptor): Promise<FetchedManifest> {
    return this.withEndpoint(repo.registry, true, (ep) => this.getManifestFrom(ep, repo, reference, expected));
  }

  private async getManifestFrom(ep: Endpoint, repo: RepoRef, reference: string, expected?: Descriptor): Promise<FetchedManifest> {
    const what = `manifest ${repo.repository}${isDigest(reference) ? '@' : ':'}${reference}`;
    const req: Req = { method: 'GET', path: `/v2/${repo.repository}/manifests/${reference}`, headers: { accept: MANIFEST_ACCEPT },
      scopes: [`repository:${repo.repository}:pull`], follow: true };
    const res = await this.send(ep, req);
    await this.expect(ep, req, res, [200]);
    const limit = expected ? expected.size : this.maxManifestBytes;
    const length = header(res, 'content-length');
    if (length !== undefined && Number(length) > limit) {
      discard(res.body);
      throw errInvalid(`${what}: ${length} bytes, more than the ${limit} expected`);
    }
    const bytes = await readLimited(res.body, limit, what);
    if (expected && bytes.length !== expected.size) throw errInvalid(`${what}: ${bytes.length} bytes, descriptor says ${expected.size}`);
    const ours = digestOf(bytes);
    let digest = ours;
    if (isDigest(reference)) {
      const got = digestOf(bytes, algorithmOf(reference));
      if (got !== reference) throw errInvalid(`${what}: content hashes to ${got}`);
      digest = reference;
    }
    const claimed = header(res, 'docker-content-digest');
    if (claimed && isDigest(claimed) && digestOf(bytes, algorithmOf(claimed)) !== claimed) {
      throw errInvalid(`${what}: Docker-Content-Digest says ${claimed}, content hashes to ${digestOf(bytes, algorithmOf(claimed))}`);
    }
    if (expected && expected.digest !== digest) throw errInvalid(`${what}: content hashes to ${digest}, descriptor says ${expected.digest}`);
    const contentType = header(res, 'content-type')?.split(';')[0]?.trim();
    const mediaType = declaredMediaType(bytes) ?? contentType ?? expected?.mediaType ?? '';
    if (DOCKER_SCHEMA1.includes(mediaType)) throw errNotImplemented(`${what}: Docker image manifest schema 1 is not supported`);
    if (!isIndexType(mediaType) && !isManifestType(mediaType)) {
      throw errInvalid(`${what}: unsupported manifest media type ${JSON.stringify(mediaType)}`);
    }
    return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
  }

  /** PUT a manifest under `reference` (tag or digest) with its media type; returns its digest. */
  async putManifest(repo: RepoRef, reference: string, mediaType: string, bytes: Buffer): Promise<string> {
    const digest = digestOf(bytes);
    return this.withEndpoint(repo.registry, false, async (ep) => {
      const req: Req = { method: 'PUT', path: `/v2/${repo.repository}/manifests/${reference}`,
        headers: { 'content-type': mediaType, 'content-length': String(bytes.length) }, body: () => bytes,
        scopes: [`repository:${repo.repository}:pull,push`] };
      const res = await this.send(ep, req);
      await this.expect(ep, req, res, [200, 201, 202]);
      await res.body.dump();
      const claimed = header(res, 'docker-content-digest');
      if (claimed && claimed !== digest) throw errInvalid(`registry ${ep.host}: PUT manifest ${repo.repository}:${reference}: registry says ${claimed}, we sent ${digest}`);
      return digest;
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Blobs (pull)

  /**
   * Fetch blob `desc` into `content` unless it is there already. Bytes stream into an ingest named after the
   * digest, hashed on the way; an ingest left by an interrupted pull continues with a Range request. A digest or
   * size mismatch aborts the ingest (nothing bad is committed); a network failure leaves it for a resume.
   */
  async fetchBlob(repo: RepoRef, desc: Descriptor, content: ContentStore,
    o: { onProgress?: ProgressFn; labels?: Record<string, string> } = {}): Promise<'exists' | 'fetched'> {
    let inflight = this.blobFetches.get(content);
    if (!inflight) this.blobFetches.set(content, (inflight = new Map()));
    const running = inflight.get(desc.digest);
    if (running) return running;
    const p = this.fetchBlobOnce(repo, desc, content, o).finally(() => inflight.delete(desc.digest));
    inflight.set(desc.digest, p);
    return p;
  }

  private async fetchBlobOnce(repo: RepoRef, desc: Descriptor, content: ContentStore,
    o: { onProgress?: ProgressFn; labels?: Record<string, string> }): Promise<'exists' | 'fetched'> {
    if (await content.has(desc.digest)) return 'exists';
    const id = shortId(desc.digest);
    const ref = `pull-${desc.digest.replace(':', '-')}`;
    const expected = { size: desc.size, digest: desc.digest };
    let writer = await content.writer(ref, expected);
    try {
      if (writer.offset > desc.size) {
        await writer.abort();
        writer = await content.writer(ref, expected);
      }
      // Our own check runs only from byte 0; for a resumed ingest the store's commit verifies the whole blob.
      const hash = writer.offset === 0 ? createHash(algorithmOf(desc.digest) === 'sha512' ? 'sha512' : 'sha256') : undefined;
      const state = { written: writer.offset };
      if (state.written < desc.size) {
        const progress = throttled(o.onProgress);
        await this.withEndpoint(repo.registry, true, (ep) => this.download(ep, repo, desc, writer, hash, state, progress));
      }
      o.onProgress?.({ id, status: 'Verifying Checksum' });
      if (hash) {
        const got = `${algorithmOf(desc.digest)}:${hash.digest('hex')}`;
        if (got !== desc.digest) throw errInvalid(`blob ${desc.digest} of ${repo.repository}: content hashes to ${got}`);
      }
      try {
        await writer.commit(expected, o.labels);
      } catch (e) {
        if (errorCode(e) === 'already-exists' || await content.has(desc.digest)) return 'fetched';
        throw errInvalid(`blob ${desc.digest} of ${repo.repository}: commit`, e);
      }
      o.onProgress?.({ id, status: 'Download complete' });
      return 'fetched';
    } catch (e) {
      if (!RESUMABLE.includes(errorCode(e))) await writer.abort().catch(() => {});
      // Keep the bytes for a resume, but let go of the file and the ref lock (a store-specific close, if any).
      else await (writer as ContentWriter & { close?: () => Promise<void> }).close?.().catch(() => {});
      throw e;
    }
  }

  private async download(ep: Endpoint, repo: RepoRef, desc: Descriptor, writer: ContentWriter, hash: Hash | undefined,
    state: { written: number }, progress: ReturnType<typeof throttled>): Promise<void> {
    const id = shortId(desc.digest);
    const what = `blob ${desc.digest} of ${repo.repository}`;
    for (let resumes = 0; ; resumes++) {
      const start = state.written;
      const req: Req = { method: 'GET', path: `/v2/${repo.repository}/blobs/${desc.digest}`, scopes: [`repository:${repo.repository}:pull`],
        follow: true, headers: start > 0 ? { range: `bytes=${start}-` } : {} };
      const res = await this.send(ep, req);
      await this.expect(ep, req, res, [200, 206]);
      let skip = 0;
      if (res.statusCode === 206) {
        const cr = parseContentRange(header(res, 'content-range'));
        if (!cr || cr.start !== start) {
          discard(res.body);
          throw errInvalid(`${what}: asked for bytes from ${start}, got Content-Range ${header(res, 'content-range')}`);
        }
      } else {
        skip = start; // the server ignored the Range: drop what we have already
        const length = header(res, 'content-length');
        if (length !== undefined && Number(length) !== desc.size) {
          discard(res.body);
          throw errInvalid(`${what}: registry sends ${length} bytes, descriptor says ${desc.size}`);
        }
      }
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          let c = chunk;
          if (skip > 0) {
            const drop = Math.min(skip, c.length);
            skip -= drop;
            c = c.subarray(drop);
            if (c.length === 0) continue;
          }
          if (state.written + c.length > desc.size) {
            throw errInvalid(`${what}: more than the ${desc.size} bytes its descriptor says`);
          }
          hash?.update(c);
          await writer.write(c);
          state.written += c.length;
          crashPoint('pull:layer-data');
          progress({ id, status: 'Downloading', progressDetail: { current: state.written, total: desc.size } }, state.written === desc.size);
        }
        if (state.written === desc.size) return;
        // A clean end short of the size (no Content-Length to catch it): resume like a dropped connection.
        throw new NoResponseError(`${what}: body ended at ${state.written} of ${desc.size} bytes`, Object.assign(new Error('short body'), { code: 'ECONNRESET' }));
      } catch (e) {
        discard(res.body);
        const err = e instanceof BerthError ? e : new NoResponseError(`${what}: download broke at ${state.written} of ${desc.size} bytes: ${(e as Error).message}`, e);
        if (!isTransientError(err) || resumes >= this.retries) {
          // Progress made on this endpoint: do not fall through to another one, keep the ingest for a resume.
          throw state.written > 0 && err instanceof NoResponseError ? errUnavailable(err.message, err) : err;
        }
        await sleep(this.backoff(resumes));
      }
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Blobs (push)

  /** HEAD the blob: whether `repo` already has it. */
  async blobExists(repo: RepoRef, digest: string): Promise<boolean> {
    return this.withEndpoint(repo.registry, false, (ep) => this.headBlob(ep, repo, digest));
  }

  private async headBlob(ep: Endpoint, repo: RepoRef, digest: string): Promise<boolean> {
    const req: Req = { method: 'HEAD', path: `/v2/${repo.repository}/blobs/${digest}`, scopes: [`repository:${repo.repository}:pull,push`], follow: true };
    const res = await this.send(ep, req);
    await res.body.dump();
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw this.statusError(ep, req, res.statusCode, Buffer.alloc(0));
  }

  /**
   * Make `repo` hold blob `desc`: nothing if it has it (HEAD); else a cross-repository mount from each of
   * `mountFrom` on the same registry; else an upload, monolithic (POST + PUT) or, with `chunkSize`, chunked
   * (POST, PATCH per chunk with Content-Range, PUT).
   */
  async pushBlob(repo: RepoRef, desc: Descriptor, content: ContentStore,
    o: { mountFrom?: string[]; chunkSize?: number; onProgress?: ProgressFn } = {}): Promise<{ result: PushBlobResult; from?: string }> {
    return this.withEndpoint(repo.registry, false, async (ep) => {
      if (await this.headBlob(ep, repo, desc.digest)) return { result: 'exists' as const };
      let location: string | undefined;
      for (const from of o.mountFrom ?? []) {
        if (from === repo.repository) continue;
        const m = await this.startUpload(ep, repo, { digest: desc.digest, from });
        if (m.mounted) return { result: 'mounted' as const, from };
        location = m.location;
        break; // the registry opened an upload session instead: use it
      }
      location ??= (await this.startUpload(ep, repo)).location!;
      if (o.chunkSize) await this.uploadChunked(ep, repo, desc, content, location, o.chunkSize, o.onProgress);
      else await this.uploadMonolithic(ep, repo, desc, content, location, o.onProgress);
      return { result: 'pushed' as const };
    });
  }

  /** POST an upload (or a mount, with `mount`): 201 means mounted, 202 an upload session at Location. */
  private async startUpload(ep: Endpoint, repo: RepoRef, mount?: { digest: string; from: string }): Promise<{ mounted: boolean; location?: string }> {
    const q = mount ? `?mount=${encodeURIComponent(mount.digest)}&from=${encodeURIComponent(mount.from)}` : '';
    const scopes = [`repository:${repo.repository}:pull,push`];
    if (mount) scopes.push(`repository:${mount.from}:pull`);
    const req: Req = { method: 'POST', path: `/v2/${repo.repository}/blobs/uploads/${q}`, headers: { 'content-length': '0' }, scopes };
    const res = await this.send(ep, req);
    await this.expect(ep, req, res, mount ? [201, 202] : [202]);
    await res.body.dump();
    if (res.statusCode === 201) return { mounted: true };
    const location = header(res, 'location');
    if (!location) throw errInvalid(`registry ${ep.host}: POST upload to ${repo.repository}: no Location`);
    return { mounted: false, location: new URL(location, `${ep.base}/`).href };
  }

  private withDigest(location: string, digest: string): string {
    const u = new URL(location);
    u.searchParams.set('digest', digest);
    return u.href;
  }

  private async finishUpload(ep: Endpoint, req: Req, digest: string): Promise<void> {
    const res = await this.send(ep, req);
    await this.expect(ep, req, res, [201, 204]);
    await res.body.dump();
    const claimed = header(res, 'docker-content-digest');
    if (claimed && claimed !== digest) throw errInvalid(`registry ${ep.host}: upload of ${digest}: registry says ${claimed}`);
  }

  private async uploadMonolithic(ep: Endpoint, repo: RepoRef, desc: Descriptor, content: ContentStore, location: string, onProgress?: ProgressFn): Promise<void> {
    const id = shortId(desc.digest);
    onProgress?.({ id, status: 'Pushing', progressDetail: { current: 0, total: desc.size } });
    const req: Req = { method: 'PUT', path: this.withDigest(location, desc.digest), scopes: [`repository:${repo.repository}:pull,push`],
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
      body: () => content.reader(desc.digest) as Readable };
    await this.finishUpload(ep, req, desc.digest);
    onProgress?.({ id, status: 'Pushing', progressDetail: { current: desc.size, total: desc.size } });
  }

  private async uploadChunked(ep: Endpoint, repo: RepoRef, desc: Descriptor, content: ContentStore, location: string,
    chunkSize: number, onProgress?: ProgressFn): Promise<void> {
    const id = shortId(desc.digest);
    const scopes = [`repository:${repo.repository}:pull,push`];
    let offset = 0;
    let recoveries = 0;
    while (offset < desc.size) {
      const len = Math.min(chunkSize, desc.size - offset);
      const chunk = await readAll(content.reader(desc.digest, offset), len);
      if (chunk.length !== len) throw errInvalid(`blob ${desc.digest}: store gave ${chunk.length} bytes at ${offset}, want ${len}`);
      const req: Req = { method: 'PATCH', path: location, scopes, retry: false, body: () => chunk,
        headers: { 'content-type': 'application/octet-stream', 'content-range': uploadContentRange(offset, len), 'content-length': String(len) } };
      let res: Res;
      try {
        res = await this.send(ep, req);
        if (TRANSIENT_STATUS.has(res.statusCode)) {
          await res.body.dump();
          throw new NoResponseError(`PATCH: HTTP ${res.statusCode}`, Object.assign(new Error('transient'), { code: 'ECONNRESET' }));
        }
      } catch (e) {
        // A PATCH that may or may not have landed: ask the registry where the upload stands, then go on from there.
        if (!isTransientError(e) || recoveries >= this.retries) throw e;
        await sleep(this.backoff(recoveries++));
        offset = await this.uploadOffset(ep, repo, location);
        continue;
      }
      await this.expect(ep, req, res, [202]);
      await res.body.dump();
      const range = parseRange(header(res, 'range'));
      if (range && range.end + 1 !== offset + len) {
        throw errInvalid(`registry ${ep.host}: PATCH ${desc.digest}: registry holds bytes 0-${range.end}, we sent up to ${offset + len - 1}`);
      }
      const next = header(res, 'location');
      if (next) location = new URL(next, location).href;
      offset += len;
      onProgress?.({ id, status: 'Pushing', progressDetail: { current: offset, total: desc.size } });
    }
    await this.finishUpload(ep, { method: 'PUT', path: this.withDigest(location, desc.digest), scopes,
      headers: { 'content-length': '0' } }, desc.digest);
  }

  /** GET an upload's status: the offset the registry expects next (its `Range: 0-<end>`). */
  private async uploadOffset(ep: Endpoint, repo: RepoRef, location: string): Promise<number> {
    const req: Req = { method: 'GET', path: location, scopes: [`repository:${repo.repository}:pull,push`] };
    const res = await this.send(ep, req);
    await this.expect(ep, req, res, [204]);
    await res.body.dump();
    const range = parseRange(header(res, 'range'));
    return range ? range.end + 1 : 0;
  }
}
