// Request bodies: reading with a size limit, dockerd's Content-Type check, and JSON with Docker-style errors.
import type { Readable } from 'node:stream';
import { errInvalid, BerthError } from '../common/errors.js';
import { wireTypeError, type WireRoot } from './wire-check.js';

/** Default limit for a JSON request body (container create bodies are a few KiB). */
export const DEFAULT_JSON_LIMIT = 10 * 1024 * 1024;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The media type of a Content-Type value, lower-cased; invalid-argument when malformed. */
export function parseMediaType(contentType: string): string {
  const [type = ''] = contentType.split(';');
  const mt = type.trim().toLowerCase();
  const parts = mt.split('/');
  if (parts.length !== 2 || !TOKEN.test(parts[0]!) || !TOKEN.test(parts[1]!)) {
    throw errInvalid(`malformed Content-Type header (${contentType}): mime: expected slash after first token`);
  }
  return mt;
}

/**
 * dockerd's rule for JSON bodies: no Content-Type is fine only without a body; otherwise it
 * must be application/json (parameters such as charset allowed).
 */
export function checkJsonContentType(contentType: string | undefined, hasBody: boolean): void {
  if (!contentType) {
    if (!hasBody) return;
    throw errInvalid(`Content-Type specified () must be 'application/json'`);
  }
  if (parseMediaType(contentType) !== 'application/json') {
    throw errInvalid(`Content-Type specified (${contentType}) must be 'application/json'`);
  }
}

/**
 * Read a whole body, refusing more than `limit` bytes. Rejects when the stream errors or ends
 * early (a client that went away mid-body), or when `signal` fires.
 */
export function readBody(stream: Readable, limit: number, signal?: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        stream.pause();
        finish(errInvalid(`request body too large: more than ${limit} bytes`));
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => finish(null);
    const onError = (e: Error) => finish(new BerthError('cancelled', `reading request body: ${e.message}`, { cause: e }));
    const onClose = () => finish(new BerthError('cancelled', 'reading request body: connection closed'));
    const onAbort = () => finish(new BerthError('cancelled', 'reading request body: request aborted'));
    if (signal?.aborted) return onAbort();
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.resume();
  });
}

/** JSON.parse's message in the words of Go's encoding/json, which docker clients have seen for years. */
function goJsonMessage(text: string, err: Error): string {
  const m = err.message;
  if (/Unexpected end of JSON input/.test(m)) return 'unexpected EOF';
  const after = /Unexpected non-whitespace character after JSON at position (\d+)/.exec(m);
  if (after) return `invalid character ${quoteChar(text[Number(after[1])])} after top-level value`;
  const tok = /Unexpected token '?(.)'?,? /.exec(m) ?? /Unexpected token (.) in JSON/.exec(m);
  if (tok) {
    const trimmed = text.trimStart();
    const where = trimmed.startsWith(tok[1]!) ? 'looking for beginning of value' : 'in JSON text';
    return `invalid character ${quoteChar(tok[1])} ${where}`;
  }
  const pos = /position (\d+)/.exec(m);
  if (pos) return `invalid character ${quoteChar(text[Number(pos[1])])} in JSON text`;
  return m;
}

function quoteChar(c: string | undefined): string {
  if (c === undefined) return 'EOF';
  if (c === "'") return `'\\''`;
  return `'${c}'`;
}

/**
 * Parse a JSON body. An empty body is "no body" (undefined), as dockerd treats it; a body of
 * only whitespace, malformed JSON or trailing content is invalid-argument ("invalid JSON: ...").
 * With `types`, a value that does not fit dockerd's Go type for it is too, in Go's words.
 */
export function parseJsonBody<T = unknown>(buf: Buffer, types?: WireRoot): T | undefined {
  if (buf.length === 0) return undefined;
  const text = buf.toString('utf8');
  if (text.trim() === '') throw errInvalid('invalid JSON: got EOF while reading request body');
  let body: T;
  try {
    body = JSON.parse(text) as T;
  } catch (e) {
    throw errInvalid(`invalid JSON: ${goJsonMessage(text, e as Error)}`, e);
  }
  const typeError = types && wireTypeError(text, types);
  if (typeError) throw errInvalid(`invalid JSON: ${typeError}`);
  return body;
}
