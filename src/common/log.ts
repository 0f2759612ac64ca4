// A tiny structured logger: one JSON object per line, pino-compatible field names, child loggers carry fields.

/** Log levels, lowest first; `silent` turns a logger off. Numbers match pino's, so a later swap keeps the lines. */
export const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;
export type Level = keyof typeof LEVELS;

/** Extra fields for one line or for every line of a child logger. */
export type Fields = Record<string, unknown>;

/** Where lines go: anything with `write(string)` (a stream, or an array-backed fake in tests). */
export interface LogDestination {
  write(line: string): unknown;
}

/** A structured logger. `child` returns a logger whose lines all carry `fields` (e.g. `reqId`). */
export interface Logger {
  readonly level: Level;
  isLevelEnabled(level: Level): boolean;
  trace(msg: string, fields?: Fields): void;
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  fatal(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

export interface LoggerOptions {
  /** Lowest level written; default `info`, or `$BERTH_LOG_LEVEL` when it names a level. */
  level?: Level;
  /** Default: process.stderr (stdout is the CLI's, never the log's). */
  dest?: LogDestination;
  /** Fields on every line. */
  fields?: Fields;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * Fields of the work in progress, added to every line written inside it: berthd sets this to the
 * API request's id and trace id (kept in the async context), so a line the engine, the image
 * service or the lifecycle writes while serving a request names that request.
 */
let contextFields: (() => Fields | undefined) | undefined;

/** Set (or clear) the provider of context fields for every logger of the process. */
export function setLogContext(fn: (() => Fields | undefined) | undefined): void {
  contextFields = fn;
}

/** Create a logger. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const envLevel = process.env['BERTH_LOG_LEVEL'];
  const level: Level = opts.level ?? (envLevel && envLevel in LEVELS ? (envLevel as Level) : 'info');
  return new JsonLogger(level, opts.dest ?? process.stderr, opts.fields ?? {}, opts.now ?? Date.now);
}

class JsonLogger implements Logger {
  constructor(
    readonly level: Level,
    private readonly dest: LogDestination,
    private readonly fields: Fields,
    private readonly now: () => number,
  ) {}

  isLevelEnabled(level: Level): boolean {
    return level !== 'silent' && LEVELS[level] >= LEVELS[this.level];
  }

  trace(msg: string, fields?: Fields): void { this.write('trace', msg, fields); }
  debug(msg: string, fields?: Fields): void { this.write('debug', msg, fields); }
  info(msg: string, fields?: Fields): void { this.write('info', msg, fields); }
  warn(msg: string, fields?: Fields): void { this.write('warn', msg, fields); }
  error(msg: string, fields?: Fields): void { this.write('error', msg, fields); }
  fatal(msg: string, fields?: Fields): void { this.write('fatal', msg, fields); }

  child(fields: Fields): Logger {
    return new JsonLogger(this.level, this.dest, { ...this.fields, ...fields }, this.now);
  }

  private write(level: Level, msg: string, fields?: Fields): void {
    if (!this.isLevelEnabled(level)) return;
    const rec: Fields = { level: LEVELS[level], time: this.now(), ...contextFields?.(), ...this.fields, ...fields, msg };
    let line: string;
    try {
      line = JSON.stringify(rec, replacer);
    } catch {
      // A cyclic or otherwise unserialisable field must not take the caller down with it.
      line = JSON.stringify({ level: LEVELS[level], time: rec['time'], msg, logError: 'unserialisable fields' });
    }
    this.dest.write(line + '\n');
  }
}

/** A logger that writes nothing; the default wherever a logger is optional. */
export const nullLogger: Logger = createLogger({ level: 'silent', dest: { write: () => undefined } });

/** Errors become `{type, message, code, stack, cause}` (JSON.stringify would drop them to `{}`). */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const out: Fields = { type: value.name, message: value.message };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out['code'] = code;
    if (value.stack) out['stack'] = value.stack;
    if (value.cause !== undefined) out['cause'] = value.cause;
    return out;
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}
