// The API edge's one error mapping: BerthError code -> HTTP status, and Docker's `{"message": ...}` body.
import type { ServerResponse } from 'node:http';
import { errorCode, type ErrorCode } from '../common/errors.js';

/**
 * HTTP status per error code, following dockerd's errdefs mapping (api/server/httpstatus):
 * invalid parameter 400, not found 404, conflict 409, forbidden 403, unavailable 503,
 * not implemented 501, and everything "system"-like (including cancelled and deadline
 * exceeded, which dockerd also reports as 500) 500. Docker has no already-exists or
 * failed-precondition class: it reports both as conflicts ("is already in use",
 * "is not running", "is paused"), so both are 409 here.
 */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  'invalid-argument': 400,
  'not-found': 404,
  'already-exists': 409,
  conflict: 409,
  'failed-precondition': 409,
  'permission-denied': 403,
  unavailable: 503,
  'not-implemented': 501,
  cancelled: 500,
  'deadline-exceeded': 500,
  internal: 500,
};

/**
 * Header carrying the exact code, so Berth's own client can rebuild the BerthError even where
 * several codes share a status (409, 500). Docker clients ignore it.
 */
export const ERROR_CODE_HEADER = 'X-Berth-Error-Code';

/** The HTTP status for any thrown value: its BerthError code (walking `cause`), else 500. */
export function httpStatusOf(err: unknown): number {
  const code = errorCode(err);
  return code ? STATUS_BY_CODE[code] : 500;
}

/** The error code reported on the wire; unknown errors are `internal`. */
export function wireCodeOf(err: unknown): ErrorCode {
  return errorCode(err) ?? 'internal';
}

/** The client-facing message. Non-Berth errors keep their message too, as dockerd does. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** The status back to a code, for clients: the inverse of STATUS_BY_CODE where it is unique. */
export function codeFromStatus(status: number): ErrorCode {
  switch (status) {
    case 400: return 'invalid-argument';
    case 401: case 403: return 'permission-denied';
    case 404: return 'not-found';
    case 409: return 'conflict';
    case 501: return 'not-implemented';
    case 503: return 'unavailable';
    case 504: return 'deadline-exceeded';
    default: return status >= 400 && status < 500 ? 'invalid-argument' : 'internal';
  }
}

/** The status, headers and body that report `err`. */
export function errorResponse(err: unknown): { status: number; headers: Record<string, string>; body: string } {
  const body = JSON.stringify({ message: messageOf(err) }) + '\n';
  return {
    status: httpStatusOf(err),
    headers: {
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(body)),
      [ERROR_CODE_HEADER]: wireCodeOf(err),
    },
    body,
  };
}

/**
 * Write `err` as the response. Returns false when that is no longer possible (headers already
 * sent or connection gone): the caller then just ends or destroys the stream.
 */
export function sendError(res: ServerResponse, err: unknown, extraHeaders: Record<string, string> = {}): boolean {
  if (res.headersSent || res.destroyed || res.writableEnded) return false;
  const r = errorResponse(err);
  res.writeHead(r.status, { ...extraHeaders, ...r.headers });
  res.end(res.req?.method === 'HEAD' ? undefined : r.body);
  return true;
}

