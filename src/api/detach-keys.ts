// Detach keys (`--detach-keys`, default ctrl-p,ctrl-q): parsing docker's notation into the byte sequence the engine watches for.
import { errInvalid } from '../common/errors.js';

/** Docker's default detach sequence. */
export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** `ctrl-<c>` targets beyond letters: the ASCII control codes 0 and 27..31. */
const CTRL_SPECIAL: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

/**
 * Parse a detach-keys spec: comma-separated keys, each a single character (`a`) or
 * `ctrl-<x>` with x one of a-z, @, [, \, ], ^, _ (docker's format). Empty or undefined means the
 * default. Errors use dockerd's wording ("Invalid detach keys (...) provided").
 */
export function parseDetachKeys(spec: string | undefined): Buffer {
  const s = spec === undefined || spec === '' ? DEFAULT_DETACH_KEYS : spec;
  const out: number[] = [];
  for (const key of s.split(',')) {
    const norm = key.trim().toLowerCase();
    if (norm.length > 1 && norm.startsWith('ctrl-')) {
      const c = norm.slice(5);
      if (c.length === 1 && c >= 'a' && c <= 'z') out.push(c.charCodeAt(0) - 96);
      else if (c.length === 1 && c in CTRL_SPECIAL) out.push(CTRL_SPECIAL[c]!);
      else throw errInvalid(`Invalid detach keys (${s}) provided: Unknown character: '${c}'`);
    } else if (key.length === 1 && key.charCodeAt(0) < 0x80) {
      out.push(key.charCodeAt(0));
    } else {
      throw errInvalid(`Invalid detach keys (${s}) provided: Unknown character: '${key}'`);
    }
  }
  return Buffer.from(out);
}
