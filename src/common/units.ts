// docker/go-units size parsing and Go's duration syntax, shared by the daemon (daemon.json, log options) and the CLI.
import { errInvalid } from './errors.js';

const SIZE_RE = /^(\d+(\.\d+)*) ?([kmgtp])?i?b?$/i;
const DECIMAL: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };
const BINARY: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

function parseSize(s: string, units: Record<string, number>): number {
  const m = SIZE_RE.exec(s);
  if (!m) throw errInvalid(`invalid size: '${s}'`);
  // "1.2.3" passes the pattern but not Go's strconv.ParseFloat.
  if (!/^\d+(\.\d+)?$/.test(m[1]!)) throw errInvalid(`strconv.ParseFloat: parsing "${m[1]}": invalid syntax`);
  let size = Number(m[1]);
  const mul = m[3] ? units[m[3].toLowerCase()] : undefined;
  if (mul) size *= mul;
  return Math.trunc(size);
}

/** go-units FromHumanSize: `"44kB"` → 44000 (SI units; `i` and `b` suffixes optional). */
export function fromHumanSize(s: string): number {
  return parseSize(s, DECIMAL);
}

/** go-units RAMInBytes: `"512m"` → 536870912, `"1.5GB"` → 1610612736 (binary units). */
export function ramInBytes(s: string): number {
  return parseSize(s, BINARY);
}

/** Go's time.ParseDuration, in milliseconds (undefined if not a duration). */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  let body = s;
  let sign = 1;
  if (body.startsWith('-') || body.startsWith('+')) {
    sign = body.startsWith('-') ? -1 : 1;
    body = body.slice(1);
  }
  if (!body) return undefined;
  let total = 0;
  let pos = 0;
  re.lastIndex = 0;
  while (pos < body.length) {
    re.lastIndex = pos;
    const m = re.exec(body);
    if (!m) return undefined;
    total += Number(m[1]) * units[m[2]!]!;
    pos = re.lastIndex;
  }
  return sign * total;
}
