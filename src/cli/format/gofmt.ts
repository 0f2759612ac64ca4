// Go's fmt package as templates see it: %v printing of JS values, Sprint/Sprintln/Sprintf and Go's float formatting.

/**
 * How a JS value maps onto Go's kinds. Template data is decoded JSON, so an integral number
 * is treated as Go's `int` and any other number as `float64`; `undefined` is Go's invalid
 * value (a missing map key), `null` is a nil interface, a `Map` or plain object is a map,
 * and a class instance is a struct (its getters are its fields).
 */
export type GoKind = 'invalid' | 'nil' | 'bool' | 'int' | 'float' | 'string' | 'slice' | 'map' | 'struct' | 'func' | 'time';

/** The Go kind a JS value stands for (see {@link GoKind}). */
export function goKind(v: unknown): GoKind {
  if (v === undefined) return 'invalid';
  if (v === null) return 'nil';
  switch (typeof v) {
    case 'boolean': return 'bool';
    case 'bigint': return 'int';
    case 'number': return Number.isInteger(v) && !Object.is(v, -0) ? 'int' : 'float';
    case 'string': return 'string';
    case 'function': return 'func';
    case 'object':
      if (Array.isArray(v) || ArrayBuffer.isView(v)) return 'slice';
      if (v instanceof Date) return 'time';
      if (v instanceof Map || isPlainObject(v)) return 'map';
      return 'struct';
    default: return 'invalid';
  }
}

/** True for `{}` literals and JSON.parse results (prototype Object.prototype or null). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** The Go type name used in fmt and template error messages (`int`, `[]interface {}`, ...). */
export function goTypeName(v: unknown): string {
  switch (goKind(v)) {
    case 'invalid': return 'invalid';
    case 'nil': return '<nil>';
    case 'bool': return 'bool';
    case 'int': return 'int';
    case 'float': return 'float64';
    case 'string': return 'string';
    case 'slice': return '[]interface {}';
    case 'map': return 'map[string]interface {}';
    case 'func': return 'func()';
    case 'time': return 'time.Time';
    case 'struct': return (v as object).constructor?.name || 'struct';
  }
}

/** Map entries in Go's fmtsort order: numbers numerically, strings bytewise. */
export function sortedEntries(v: object): [unknown, unknown][] {
  const entries: [unknown, unknown][] = v instanceof Map ? [...v.entries()] : Object.entries(v);
  return entries.sort(([a], [b]) => compareKeys(a, b));
}

function compareKeys(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a), sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** A struct's fields: own enumerable properties, then getters up the prototype chain. */
export function structFields(v: object): [string, unknown][] {
  const out: [string, unknown][] = [];
  const seen = new Set<string>();
  for (const k of Object.keys(v)) {
    seen.add(k);
    const val = (v as Record<string, unknown>)[k];
    if (typeof val !== 'function') out.push([k, val]);
  }
  for (let p = Object.getPrototypeOf(v); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(p))) {
      if (seen.has(k) || k === 'constructor' || !d.get) continue;
      seen.add(k);
      out.push([k, (v as Record<string, unknown>)[k]]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Floats

interface Digits { neg: boolean; d: string; dp: number } // value = 0.d × 10^dp

/** The shortest digits that round-trip, as Go's strconv uses for precision -1. */
function shortestDigits(x: number): Digits {
  const neg = x < 0 || Object.is(x, -0);
  if (x === 0) return { neg, d: '', dp: 0 };
  const [m, e] = Math.abs(x).toExponential().split('e');
  return { neg, d: m!.replace('.', ''), dp: Number(e) + 1 };
}

/** The exact decimal expansion of a double (every double is a finite decimal). */
function exactDigits(x: number): Digits {
  const neg = x < 0 || Object.is(x, -0);
  x = Math.abs(x);
  if (x === 0) return { neg, d: '', dp: 0 };
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const hi = buf.getUint32(0), lo = buf.getUint32(4);
  const bexp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (bexp === 0) e2 = -1074;
  else { mant |= 1n << 52n; e2 = bexp - 1075; }
  let s: string, dp: number;
  if (e2 >= 0) { s = (mant << BigInt(e2)).toString(); dp = s.length; }
  else { s = (mant * 5n ** BigInt(-e2)).toString(); dp = s.length + e2; }
  const lead = s.length - s.replace(/^0+/, '').length;
  s = s.slice(lead).replace(/0+$/, '');
  return { neg, d: s, dp };
}

/** Rounds to nd digits the way Go's strconv decimal does: half-way cases go to even. */
function roundDigits(g: Digits, nd: number): Digits {
  if (nd < 0) return { neg: g.neg, d: '', dp: g.dp };
  if (nd >= g.d.length) return g;
  const c = g.d.charCodeAt(nd) - 48;
  let up = c > 5 || (c === 5 && (nd + 1 < g.d.length || (nd > 0 && (g.d.charCodeAt(nd - 1) - 48) % 2 === 1)));
  let d = g.d.slice(0, nd);
  let dp = g.dp;
  if (up) {
    let i = d.length - 1;
    while (i >= 0 && d[i] === '9') i--;
    if (i < 0) { d = '1'; dp++; }
    else d = d.slice(0, i) + String.fromCharCode(d.charCodeAt(i) + 1);
  }
  d = d.replace(/0+$/, '');
  return { neg: g.neg, d, dp };
}

function fmtE(g: Digits, prec: number, upper: boolean): string {
  let s = g.d[0] ?? '0';
  if (prec > 0) s += '.' + (g.d.slice(1) + '0'.repeat(prec)).slice(0, prec);
  const exp = g.d.length === 0 ? 0 : g.dp - 1;
  const ae = Math.abs(exp);
  return s + (upper ? 'E' : 'e') + (exp < 0 ? '-' : '+') + (ae < 10 ? '0' : '') + ae;
}

function fmtF(g: Digits, prec: number): string {
  let s = g.dp > 0 ? (g.d.slice(0, g.dp) + '0'.repeat(Math.max(0, g.dp - g.d.length))) : '0';
  if (prec > 0) {
    let frac = '';
    for (let i = 0; i < prec; i++) {
      const j = g.dp + i;
      frac += j < 0 || j >= g.d.length ? '0' : g.d[j];
    }
    s += '.' + frac;
  }
  return s;
}

/**
 * Go's strconv.FormatFloat(x, fmt, prec, 64) for fmt 'e', 'E', 'f', 'g', 'G'; prec -1 means
 * the shortest representation that round-trips.
 */
export function formatFloat(x: number, fmt: 'e' | 'E' | 'f' | 'g' | 'G', prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  const shortest = prec < 0;
  let g: Digits;
  if (shortest) g = shortestDigits(x);
  else {
    const ex = exactDigits(x);
    if (fmt === 'e' || fmt === 'E') g = roundDigits(ex, prec + 1);
    else if (fmt === 'f') g = roundDigits(ex, ex.dp + prec);
    else g = roundDigits(ex, prec === 0 ? 1 : prec);
  }
  const sign = g.neg ? '-' : '';
  switch (fmt) {
    case 'e': case 'E':
      return sign + fmtE(g, shortest ? Math.max(g.d.length - 1, 0) : prec, fmt === 'E');
    case 'f':
      return sign + fmtF(g, shortest ? Math.max(g.d.length - g.dp, 0) : prec);
    default: {
      let p = shortest ? g.d.length : prec === 0 ? 1 : prec;
      let eprec = p;
      if (eprec > g.d.length && g.d.length >= g.dp) eprec = g.d.length;
      if (shortest) eprec = 6;
      const exp = g.dp - 1;
      if (g.d.length > 0 && (exp < -4 || exp >= eprec)) {
        if (p > g.d.length) p = g.d.length;
        return sign + fmtE(g, p - 1, fmt === 'G');
      }
      if (p > g.dp) p = g.d.length;
      return sign + fmtF(g, Math.max(p - g.dp, 0));
    }
  }
}

// ---------------------------------------------------------------------------
// Strings

const enc = new TextEncoder();

/** Go's len() of a string: its UTF-8 byte count. */
export function byteLength(s: string): number {
  return enc.encode(s).length;
}

function isPrintRune(cp: number): boolean {
  if (cp < 0x20 || cp === 0x7f) return false;
  if (cp < 0x7f) return true;
  if (cp >= 0x80 && cp < 0xa0) return false;
  if (cp === 0xad) return false;
  return /[\p{L}\p{M}\p{N}\p{P}\p{S}\u0020]/u.test(String.fromCodePoint(cp));
}

/** Go's strconv.Quote (asciiOnly: QuoteToASCII, used by %+q). */
export function quote(s: string, asciiOnly = false): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"': out += '\\"'; continue;
      case '\\': out += '\\\\'; continue;
      case '\x07': out += '\\a'; continue;
      case '\b': out += '\\b'; continue;
      case '\f': out += '\\f'; continue;
      case '\n': out += '\\n'; continue;
      case '\r': out += '\\r'; continue;
      case '\t': out += '\\t'; continue;
      case '\v': out += '\\v'; continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) { out += '\\ufffd'; continue; }
    if (isPrintRune(cp) && (!asciiOnly || cp < 0x80)) { out += ch; continue; }
    if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + '"';
}

/** Go's time.Time.String() for a Date, in UTC: `2006-01-02 15:04:05.999999999 +0000 UTC`. */
export function formatTime(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const ms = d.getUTCMilliseconds();
  const frac = ms ? '.' + p(ms, 3).replace(/0+$/, '') : '';
  return `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}${frac} +0000 UTC`;
}

// ---------------------------------------------------------------------------
// Printing

/** Go's %v of a value, as fmt.Sprint prints it (`plus` is %+v, which names struct fields). */
export function formatValue(v: unknown, plus = false): string {
  switch (goKind(v)) {
    case 'invalid': return '<invalid reflect.Value>';
    case 'nil': return '<nil>';
    case 'bool': return v ? 'true' : 'false';
    case 'int': return String(v);
    case 'float': return formatFloat(v as number, 'g', -1);
    case 'string': return v as string;
    case 'slice': return '[' + Array.from(v as ArrayLike<unknown>, (e) => formatValue(e, plus)).join(' ') + ']';
    case 'map': return 'map[' + sortedEntries(v as object).map(([k, e]) => formatValue(k, plus) + ':' + formatValue(e, plus)).join(' ') + ']';
    case 'time': return formatTime(v as Date);
    case 'func': return '0x' + '0'.repeat(6);
    case 'struct': {
      const s = v as { toString?: () => string };
      if (typeof s.toString === 'function' && s.toString !== Object.prototype.toString) return s.toString();
      return '{' + structFields(v as object).map(([k, e]) => (plus ? k + ':' : '') + formatValue(e, plus)).join(' ') + '}';
    }
  }
}

/** Go's fmt.Sprint: operands are joined with a space when neither side is a string. */
export function sprint(args: unknown[]): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    const isStr = typeof args[i] === 'string';
    if (i > 0 && !isStr && typeof args[i - 1] !== 'string') out += ' ';
    out += args[i] === undefined ? '<nil>' : formatValue(args[i]);
  }
  return out;
}

/** Go's fmt.Sprintln: operands always space-separated, newline appended. */
export function sprintln(args: unknown[]): string {
  return args.map((a) => (a === undefined ? '<nil>' : formatValue(a))).join(' ') + '\n';
}

interface Spec { minus: boolean; plus: boolean; sharp: boolean; space: boolean; zero: boolean; width?: number; prec?: number }

function pad(s: string, sp: Spec, zeroOk = true): string {
  if (sp.width === undefined) return s;
  const n = sp.width - [...s].length;
  if (n <= 0) return s;
  if (sp.minus) return s + ' '.repeat(n);
  if (sp.zero && zeroOk) {
    const m = /^[+\- ]/.exec(s);
    return m ? m[0] + '0'.repeat(n) + s.slice(1) : '0'.repeat(n) + s;
  }
  return ' '.repeat(n) + s;
}

function badVerb(verb: string, v: unknown): string {
  if (v === null || v === undefined) return `%!${verb}(<nil>)`;
  return `%!${verb}(${goTypeName(v)}=${formatValue(v)})`;
}

function fmtInt(n: bigint, verb: string, sp: Spec): string {
  const neg = n < 0n;
  const a = neg ? -n : n;
  let digits: string;
  let prefix = '';
  switch (verb) {
    case 'd': case 'v': digits = a.toString(10); break;
    case 'b': digits = a.toString(2); if (sp.sharp) prefix = '0b'; break;
    case 'o': digits = a.toString(8); if (sp.sharp) prefix = '0'; break;
    case 'O': digits = a.toString(8); prefix = '0o'; break;
    case 'x': digits = a.toString(16); if (sp.sharp) prefix = '0x'; break;
    case 'X': digits = a.toString(16).toUpperCase(); if (sp.sharp) prefix = '0X'; break;
    default: digits = a.toString(10);
  }
  if (sp.prec !== undefined) {
    if (sp.prec === 0 && a === 0n) digits = '';
    digits = digits.padStart(sp.prec, '0');
  }
  const sign = neg ? '-' : sp.plus ? '+' : sp.space ? ' ' : '';
  const body = prefix + digits;
  if (sp.width !== undefined && sp.zero && !sp.minus && sp.prec === undefined) {
    const n = sp.width - sign.length - body.length;
    if (n > 0) return sign + prefix + '0'.repeat(n) + digits;
  }
  return pad(sign + body, sp, false);
}

function fmtFloatVerb(x: number, verb: string, sp: Spec): string {
  let s: string;
  const prec = sp.prec ?? (verb === 'v' || verb === 'g' || verb === 'G' ? -1 : 6);
  switch (verb) {
    case 'e': case 'E': s = formatFloat(x, verb, prec); break;
    case 'f': case 'F': s = formatFloat(x, 'f', prec); break;
    case 'G': s = formatFloat(x, 'G', prec); break;
    case 'x': case 'X': s = hexFloat(x, sp.prec ?? -1, verb === 'X'); break;
    default: s = formatFloat(x, 'g', prec);
  }
  if (Number.isFinite(x)) {
    if (sp.plus && !s.startsWith('-')) s = '+' + s;
    else if (sp.space && !s.startsWith('-')) s = ' ' + s;
  } else if (sp.space && s === '+Inf' && !sp.plus) s = ' Inf';
  else if (!sp.plus && s === '+Inf') s = sp.space ? ' Inf' : '+Inf';
  return pad(s, sp, Number.isFinite(x));
}

function hexFloat(x: number, prec: number, upper: boolean): string {
  if (!Number.isFinite(x)) return formatFloat(x, 'g', -1);
  const neg = x < 0 || Object.is(x, -0);
  x = Math.abs(x);
  let out: string;
  if (x === 0) out = '0x0' + (prec > 0 ? '.' + '0'.repeat(prec) : '') + 'p+00';
  else {
    let e = Math.floor(Math.log2(x));
    let m = x / 2 ** e;
    if (m >= 2) { m /= 2; e++; } else if (m < 1) { m *= 2; e--; }
    let frac = Math.round((m - 1) * 2 ** 52).toString(16).padStart(13, '0').replace(/0+$/, '');
    if (prec >= 0) frac = frac.slice(0, prec).padEnd(prec, '0');
    out = '0x1' + (frac ? '.' + frac : '') + 'p' + (e < 0 ? '-' : '+') + String(Math.abs(e)).padStart(2, '0');
  }
  if (upper) out = out.toUpperCase();
  return (neg ? '-' : '') + out;
}

function hexString(s: string, sp: Spec, upper: boolean): string {
  const bytes = enc.encode(s);
  const parts = Array.from(bytes, (b) => {
    const h = b.toString(16).padStart(2, '0');
    return upper ? h.toUpperCase() : h;
  });
  const pre = sp.sharp ? (upper ? '0X' : '0x') : '';
  if (sp.space) return parts.map((p) => pre + p).join(' ');
  return pre + parts.join('');
}

function fmtArg(v: unknown, verb: string, sp: Spec, plusV = false): string {
  const kind = goKind(v);
  if (kind === 'nil' || kind === 'invalid') return verb === 'v' ? pad('<nil>', sp, false) : badVerb(verb, null);
  if (verb === 'T') return pad(goTypeName(v), sp, false);
  // Go applies the verb to each element of a slice or map.
  if (kind === 'slice') return '[' + Array.from(v as ArrayLike<unknown>, (e) => fmtArg(e, verb, sp, plusV)).join(' ') + ']';
  if (kind === 'map') {
    return 'map[' + sortedEntries(v as object).map(([k, e]) => fmtArg(k, verb, sp, plusV) + ':' + fmtArg(e, verb, sp, plusV)).join(' ') + ']';
  }
  switch (kind) {
    case 'bool':
      return verb === 't' || verb === 'v' ? pad(v ? 'true' : 'false', sp, false) : badVerb(verb, v);
    case 'int': {
      const n = BigInt(v as number | bigint);
      switch (verb) {
        case 'v': case 'd': case 'b': case 'o': case 'O': case 'x': case 'X': return fmtInt(n, verb, sp);
        case 'c': return pad(String.fromCodePoint(Number(n)), sp, false);
        case 'q': return pad("'" + quote(String.fromCodePoint(Number(n))).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'") + "'", sp, false);
        case 'U': {
          const h = Number(n).toString(16).toUpperCase().padStart(4, '0');
          return pad('U+' + h + (sp.sharp ? " '" + String.fromCodePoint(Number(n)) + "'" : ''), sp, false);
        }
        // Decoded JSON cannot tell 5.0 from 5, so float verbs accept integral numbers.
        case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': return fmtFloatVerb(Number(n), verb, sp);
        default: return badVerb(verb, v);
      }
    }
    case 'float':
      switch (verb) {
        case 'v': case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': case 'x': case 'X':
          return fmtFloatVerb(v as number, verb, sp);
        default: return badVerb(verb, v);
      }
    case 'string': {
      let s = v as string;
      switch (verb) {
        case 'v': case 's':
          if (sp.prec !== undefined) s = [...s].slice(0, sp.prec).join('');
          return pad(s, sp);
        case 'q':
          if (sp.prec !== undefined) s = [...s].slice(0, sp.prec).join('');
          if (sp.sharp && !/[`\x00-\x08\x0a-\x1f\x7f]/.test(s)) return pad('`' + s + '`', sp);
          return pad(quote(s, sp.plus), sp);
        case 'x': case 'X':
          if (sp.prec !== undefined) s = new TextDecoder().decode(enc.encode(s).slice(0, sp.prec));
          return pad(hexString(s, sp, verb === 'X'), sp);
        default: return badVerb(verb, v);
      }
    }
    case 'time': case 'struct': case 'func':
      if (verb === 'v' || verb === 's') return pad(formatValue(v, plusV), sp, false);
      return badVerb(verb, v);
  }
  return badVerb(verb, v);
}

/**
 * Go's fmt.Sprintf over JS values: verbs v s q d b o O x X c U e E f F g G t T and %%,
 * flags `+-# 0`, width and precision (also `*`), and Go's in-band error forms such as
 * `%!d(string=x)`, `%!s(MISSING)` and `%!(EXTRA int=2)`.
 */
export function sprintf(format: string, args: unknown[]): string {
  let out = '';
  let argi = 0;
  const n = format.length;
  for (let i = 0; i < n;) {
    const pc = format.indexOf('%', i);
    if (pc < 0) { out += format.slice(i); break; }
    out += format.slice(i, pc);
    i = pc + 1;
    const sp: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false };
    flags: for (; i < n; i++) {
      switch (format[i]) {
        case '-': sp.minus = true; sp.zero = false; break;
        case '+': sp.plus = true; break;
        case '#': sp.sharp = true; break;
        case ' ': sp.space = true; break;
        case '0': sp.zero = !sp.minus; break;
        default: break flags;
      }
    }
    // Width.
    if (format[i] === '*') {
      i++;
      const w = args[argi++];
      if (typeof w === 'number' && Number.isInteger(w)) {
        sp.width = w;
        if (w < 0) { sp.minus = true; sp.width = -w; sp.zero = false; }
      } else out += '%!(BADWIDTH)';
    } else {
      const m = /^\d+/.exec(format.slice(i));
      if (m) { sp.width = Number(m[0]); i += m[0].length; }
    }
    // Precision.
    if (format[i] === '.') {
      i++;
      if (format[i] === '*') {
        i++;
        const p = args[argi++];
        if (typeof p === 'number' && Number.isInteger(p) && p >= 0) sp.prec = p;
        else out += '%!(BADPREC)';
      } else {
        const m = /^\d+/.exec(format.slice(i));
        sp.prec = m ? Number(m[0]) : 0;
        if (m) i += m[0].length;
      }
    }
    if (i >= n) { out += '%!(NOVERB)'; break; }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') { out += '%'; continue; }
    // For %v the plus flag means %+v (field names), not a sign.
    let plusV = false;
    if (verb === 'v' && sp.plus) { sp.plus = false; plusV = true; }
    if (argi >= args.length) { out += `%!${verb}(MISSING)`; continue; }
    out += fmtArg(args[argi++], verb, sp, plusV);
  }
  if (argi < args.length) {
    out += '%!(EXTRA ' + args.slice(argi).map((a) => (a === null || a === undefined ? '<nil>' : goTypeName(a) + '=' + formatValue(a))).join(', ') + ')';
  }
  return out;
}
