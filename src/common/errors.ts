// One error type for all of Berth: a stable code from a small fixed set, context via `cause`.

/** The fixed set of error codes; mapped to wire codes (HTTP, exit codes) only at the edges. */
export type ErrorCode =
  | 'not-found'
  | 'already-exists'
  | 'invalid-argument'
  | 'conflict'
  | 'failed-precondition'
  | 'unavailable'
  | 'permission-denied'
  | 'not-implemented'
  | 'cancelled'
  | 'deadline-exceeded'
  | 'internal';

/** A Berth error: `code` says what kind, `message` names the object and the step. */
export class BerthError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BerthError';
    this.code = code;
  }
}

/** Shorthand constructors, so call sites read as the condition they report. */
export const errNotFound = (msg: string, cause?: unknown) => new BerthError('not-found', msg, { cause });
export const errAlreadyExists = (msg: string, cause?: unknown) => new BerthError('already-exists', msg, { cause });
export const errInvalid = (msg: string, cause?: unknown) => new BerthError('invalid-argument', msg, { cause });
export const errConflict = (msg: string, cause?: unknown) => new BerthError('conflict', msg, { cause });
export const errPrecondition = (msg: string, cause?: unknown) => new BerthError('failed-precondition', msg, { cause });
export const errUnavailable = (msg: string, cause?: unknown) => new BerthError('unavailable', msg, { cause });
export const errNotImplemented = (msg: string, cause?: unknown) => new BerthError('not-implemented', msg, { cause });
export const errInternal = (msg: string, cause?: unknown) => new BerthError('internal', msg, { cause });

/** The code of the first BerthError found walking the cause chain, if any. */
export function errorCode(err: unknown): ErrorCode | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 32; depth++) {
    if (e instanceof BerthError) return e.code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export const isNotFound = (err: unknown) => errorCode(err) === 'not-found';
export const isAlreadyExists = (err: unknown) => errorCode(err) === 'already-exists';
export const isInvalid = (err: unknown) => errorCode(err) === 'invalid-argument';
export const isConflict = (err: unknown) => errorCode(err) === 'conflict';

/** The errno name (`ENOENT`) of a Node system error anywhere in the cause chain. */
export function errnoOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 32; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
