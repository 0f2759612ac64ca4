// Helpers the command files share: per-container loops with docker's error reporting, id truncation, stream output.
import type { Readable, Writable } from 'node:stream';
import { ApiError } from '../../client/client.js';
import { StatusError } from '../command.js';
import type { Cli } from '../context.js';
import { parseGoDuration } from '../../common/units.js';
import { errorText } from '../errors.js';

/**
 * Run `fn` for each reference, printing the reference on success (as docker's stop/kill/rm do)
 * and each failure on stderr; ends with exit 1 if any failed. `ignore` skips errors silently
 * (rm -f of a missing container).
 */
export async function forEachRef(
  cli: Cli,
  refs: string[],
  fn: (ref: string) => Promise<void>,
  opts: { print?: boolean; ignore?: (e: unknown) => boolean; summary?: (failed: string[]) => string } = {},
): Promise<void> {
  const failed: string[] = [];
  for (const ref of refs) {
    try {
      await fn(ref);
      if (opts.print !== false) cli.out(`${ref}\n`);
    } catch (e) {
      if (opts.ignore?.(e)) continue;
      failed.push(ref);
      cli.err(`${errorText(e, cli)}\n`);
    }
  }
  if (failed.length) throw new StatusError(1, opts.summary?.(failed) ?? '');
}

/** True for a daemon 404. */
export function isApiNotFound(e: unknown): boolean {
  return e instanceof ApiError && e.status === 404;
}

/** docker's TruncateID: drop `sha256:`, keep 12 characters. */
export function shortId(id: string): string {
  const i = id.indexOf(':');
  return (i >= 0 ? id.slice(i + 1) : id).slice(0, 12);
}

/** Copy a readable to a writable without ending it; resolves at the source's end. */
export function pipeTo(src: Readable, dst: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    src.on('data', (c: Buffer) => {
      if (!dst.write(c)) {
        src.pause();
        dst.once('drain', () => src.resume());
      }
    });
    src.once('end', () => resolve());
    src.once('close', () => resolve());
    src.once('error', reject);
  });
}

/** Read a whole stream into a buffer. */
export async function readAll(src: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of src) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

/** Go's time layout docker prints for CreatedAt: `2006-01-02 15:04:05 -0700 MST` (UTC here, as Go's Local without TZ data). */
export function goTimeString(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000 UTC`;
}

/**
 * docker's filter flag values (`-f key=value`) as the API's filters JSON: `{"key":{"value":true}}`.
 */
export function filtersJSON(filters: string[]): Record<string, Record<string, boolean>> | undefined {
  if (!filters.length) return undefined;
  const out: Record<string, Record<string, boolean>> = {};
  for (const f of filters) {
    const eq = f.indexOf('=');
    if (eq < 0) throw new Error(`bad format of filter (expected name=value)`);
    const k = f.slice(0, eq).trim().toLowerCase();
    const v = f.slice(eq + 1).trim();
    (out[k] ??= {})[v] = true;
  }
  // docker marshals Go maps: keys (and each key's values) sorted.
  const sorted = <T>(o: Record<string, T>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return Object.fromEntries(Object.entries(sorted(out)).map(([k, v]) => [k, sorted(v)]));
}

/** docker's --since/--until: RFC 3339, a unix timestamp, or a duration (`10m`) before now; as the API's seconds string. */
export function parseTimestamp(value: string, now = Date.now()): string {
  if (/^\d+(\.\d+)?$/.test(value)) return value;
  const d = parseGoDuration(value);
  if (d !== undefined) {
    const t = (now - d) / 1000;
    return `${Math.floor(t)}.${String(Math.round((t % 1) * 1e9)).padStart(9, '0')}`;
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new Error(`failed to parse value as time or duration: "${value}"`);
  return `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1e6).padStart(9, '0')}`;
}
