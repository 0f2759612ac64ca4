// Go's encoding/json output for JS values, as docker's `{{json}}` template function prints it.
import { goKind, sortedEntries, structFields } from './gofmt.js';

/** Options for {@link goJSON}. */
export interface GoJSONOptions {
  /**
   * Escape `<`, `>` and `&` as `\u003c`... like json.Marshal does. Docker's `json` template
   * function turns this off (`SetEscapeHTML(false)`), so it defaults to false.
   */
  escapeHTML?: boolean;
}

/** Thrown for values Go's encoder rejects (NaN, Inf, functions), with Go's message. */
export class GoJSONError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoJSONError';
  }
}

/** A JSON string literal escaped as Go escapes it (U+2028/2029 too; lone surrogates become U+FFFD). */
export function goJSONString(s: string, escapeHTML = false): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c < 0x7f && !(escapeHTML && (c === 0x3c || c === 0x3e || c === 0x26))) {
      out += s[i];
      continue;
    }
    switch (c) {
      case 0x22: out += '\\"'; continue;
      case 0x5c: out += '\\\\'; continue;
      case 0x0a: out += '\\n'; continue;
      case 0x0d: out += '\\r'; continue;
      case 0x09: out += '\\t'; continue;
      case 0x08: out += '\\b'; continue;
      case 0x0c: out += '\\f'; continue;
    }
    if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
      out += '\\u' + c.toString(16).padStart(4, '0');
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) {
      out += s[i]! + s[i + 1]!;
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += '\\ufffd';
    } else {
      out += s[i];
    }
  }
  return out + '"';
}

/** Go's time.Time JSON form (RFC 3339 with nanoseconds, trailing zeros dropped). */
function goJSONTime(d: Date): string {
  return '"' + d.toISOString().replace(/\.?0+Z$/, 'Z').replace(/\.Z$/, 'Z') + '"';
}

/**
 * Encodes a value as Go's encoding/json does, compact. Key order: a JS `Map` and a class
 * instance (docker's formatter contexts, marshalled from their getters) are Go maps, so
 * their keys are sorted; a plain object keeps its key order, because it is decoded API
 * JSON whose order is already Go's (struct field order, or sorted map keys).
 * `undefined` (a missing map key) encodes as `null`; own `undefined` properties are omitted.
 */
export function goJSON(v: unknown, opts: GoJSONOptions = {}): string {
  const enc = (x: unknown, html: boolean = opts.escapeHTML ?? false): string => {
    switch (goKind(x)) {
      case 'invalid': case 'nil': return 'null';
      case 'bool': return x ? 'true' : 'false';
      case 'int': return String(x);
      case 'float': {
        const n = x as number;
        if (!Number.isFinite(n)) throw new GoJSONError(`json: unsupported value: ${Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf'}`);
        // JS number-to-string matches Go's float encoder: 'f' form, or 'e' below 1e-6 / from 1e21.
        return Object.is(n, -0) ? '-0' : String(n);
      }
      case 'string': return goJSONString(x as string, html);
      case 'time': return goJSONTime(x as Date);
      case 'slice': return '[' + Array.from(x as ArrayLike<unknown>, (e) => enc(e, html)).join(',') + ']';
      case 'func': throw new GoJSONError('json: unsupported type: func()');
      case 'map': {
        const entries = x instanceof Map ? sortedEntries(x) : Object.entries(x as object).filter(([, e]) => e !== undefined);
        return '{' + entries.map(([k, e]) => goJSONString(String(k), html) + ':' + enc(e, html)).join(',') + '}';
      }
      case 'struct': {
        const o = x as { toJSON?: () => unknown };
        if (typeof o.toJSON === 'function') return enc(o.toJSON(), html);
        // docker's contexts marshal themselves with json.Marshal, which escapes <, > and & whatever
        // the outer encoder says (`{{json .}}` on a ps row prints `\u003cnone\u003e`).
        html = true;
        // Only Go-exported (capitalised) names, as docker's marshalMap takes exported methods.
        const fields = structFields(x as object).filter(([k, e]) => /^\p{Lu}/u.test(k) && e !== undefined && typeof e !== 'function');
        fields.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return '{' + fields.map(([k, e]) => goJSONString(k, html) + ':' + enc(e, html)).join(',') + '}';
      }
    }
  };
  return enc(v);
}
