// Type check of a JSON body against the Go types dockerd decodes it into, with Go's encoding/json error text.
//
// dockerd refuses `"Env":"A=b"` or `"Memory":"lots"` while decoding: "json: cannot unmarshal string into Go
// struct field HostConfig.HostConfig.Resources.Memory of type int64". The checker walks the body with the type
// table of wire-types.ts and says the same for the first mismatch in document order, as Go (1.24, docker 28's)
// does: unknown fields are ignored, field names match case-insensitively, null fits anything, a number must fit
// its Go integer type exactly (so the check reads the number's own text: 9223372036854775807 fits an int64,
// 9223372036854775808 and 1e3 do not, whatever a double makes of them).
import { WIRE_STRUCTS } from './wire-types.js';

/** The bodies with a type table: container create and container update. */
export type WireRoot = 'CreateRequest' | 'UpdateConfig';

class RawNumber {
  constructor(readonly text: string) {}
}
type Raw = null | boolean | string | RawNumber | Raw[] | RawObject;
class RawObject {
  constructor(readonly entries: [string, Raw][]) {}
}

/** Parse JSON already known to be valid, keeping numbers as text and objects as ordered entries (duplicates too). */
function parseRaw(text: string): Raw {
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++; };
  const str = (): string => {
    const start = i;
    for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): Raw => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: [string, Raw][] = [];
      for (ws(); text[i] !== '}'; ws()) {
        if (text[i] === ',') { i++; ws(); }
        const k = str();
        ws();
        i++; // ':'
        entries.push([k, value()]);
      }
      i++;
      return new RawObject(entries);
    }
    if (c === '[') {
      i++;
      const items: Raw[] = [];
      for (ws(); text[i] !== ']'; ws()) {
        if (text[i] === ',') i++;
        items.push(value());
      }
      i++;
      return items;
    }
    if (c === '"') return str();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) { i += word.length; return v; }
    }
    const m = /-?\d+(\.\d+)?([eE][-+]?\d+)?/y;
    m.lastIndex = i;
    const n = m.exec(text)![0];
    i += n.length;
    return new RawNumber(n);
  };
  return value();
}

/** Go's word for a JSON value in "cannot unmarshal <value>". */
function kind(v: Raw): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof RawNumber) return 'number';
  return Array.isArray(v) ? 'array' : 'object';
}

const INT_RANGES: Record<string, [bigint, bigint]> = {
  int: [-(1n << 63n), (1n << 63n) - 1n], int64: [-(1n << 63n), (1n << 63n) - 1n], int32: [-(1n << 31n), (1n << 31n) - 1n],
  uint: [0n, (1n << 64n) - 1n], uint64: [0n, (1n << 64n) - 1n], uint32: [0n, (1n << 32n) - 1n], uint16: [0n, 65535n],
};

/** Go's name of a table type (reflect's Type.String). */
function goName(t: string): string {
  const named = /^([\w.]+)=/.exec(t);
  if (named) return named[1]!;
  if (t === 'strslice') return 'strslice.StrSlice';
  if (t === 'any') return 'interface {}';
  if (t.startsWith('@')) return WIRE_STRUCTS[t.slice(1)]!.go;
  const coll = /^(\[\d*\]|\*|map\[string\])(.*)$/.exec(t);
  if (coll) return coll[1] + goName(coll[2]!);
  return t;
}

interface Where { struct: string; path: string[] }

/** Go's UnmarshalTypeError text for a value inside a struct. */
function mismatch(value: string, t: string, at: Where): string {
  return `json: cannot unmarshal ${value} into Go struct field ${at.struct}.${at.path.join('.')} of type ${goName(t)}`;
}

/** The first mismatch of `v` against type `t`, or undefined. */
function check(v: Raw, t: string, at: Where): string | undefined {
  if (v === null) return undefined;
  // A pointer is decoded through: mismatches name the pointed-to type.
  if (t.startsWith('*')) return check(v, t.slice(1), at);
  const base = t.replace(/^[\w.]+=/, '');
  if (base === 'any') return undefined;
  if (base === 'string') return typeof v === 'string' ? undefined : mismatch(kind(v), t, at);
  if (base === 'bool') return typeof v === 'boolean' ? undefined : mismatch(kind(v), t, at);
  const range = INT_RANGES[base];
  if (range || base === 'float64') {
    if (!(v instanceof RawNumber)) return mismatch(kind(v), t, at);
    if (!range) return Number.isFinite(Number(v.text)) ? undefined : mismatch(`number ${v.text}`, t, at);
    const ok = /^-?\d+$/.test(v.text) && BigInt(v.text) >= range[0] && BigInt(v.text) <= range[1];
    return ok ? undefined : mismatch(`number ${v.text}`, t, at);
  }
  if (base === 'strslice') {
    // strslice.StrSlice takes a list of strings or one string; anything else fails its string decode.
    if (typeof v === 'string') return undefined;
    if (Array.isArray(v) && v.every((e) => e === null || typeof e === 'string')) return undefined;
    return mismatch(kind(v), 'string', at);
  }
  if (base === 'struct {}') return v instanceof RawObject ? undefined : mismatch(kind(v), t, at);
  const list = /^\[\d*\](.*)$/.exec(base);
  if (list) {
    if (!Array.isArray(v)) return mismatch(kind(v), t, at);
    for (const e of v) {
      const m = check(e, list[1]!, at);
      if (m) return m;
    }
    return undefined;
  }
  const map = /^map\[string\](.*)$/.exec(base);
  if (map) {
    if (!(v instanceof RawObject)) return mismatch(kind(v), t, at);
    for (const [, e] of v.entries) {
      const m = check(e, map[1]!, at);
      if (m) return m;
    }
    return undefined;
  }
  if (base.startsWith('@')) {
    if (!(v instanceof RawObject)) return mismatch(kind(v), t, at);
    return checkStruct(v, base.slice(1), at.path);
  }
  throw new Error(`wire type ${t}: unknown`);
}

function checkStruct(v: RawObject, name: string, path: string[]): string | undefined {
  const fields = WIRE_STRUCTS[name]!.fields;
  for (const [key, value] of v.entries) {
    // Go matches a key to a field exactly, else case-insensitively; the error names the field's own name.
    const field = key in fields ? key : Object.keys(fields).find((f) => f.toLowerCase() === key.toLowerCase());
    if (field === undefined) continue;
    const [t, via] = fields[field]!;
    const m = check(value, t, { struct: name, path: [...path, ...(via ? [via] : []), field] });
    if (m) return m;
  }
  return undefined;
}

/**
 * Go's decode error for a valid JSON text whose values do not fit the types of `root`, or undefined when they do
 * ("json: cannot unmarshal string into Go struct field CreateRequest.Config.Env of type []string").
 */
export function wireTypeError(text: string, root: WireRoot): string | undefined {
  const v = parseRaw(text);
  if (v === null) return undefined;
  if (!(v instanceof RawObject)) return `json: cannot unmarshal ${kind(v)} into Go value of type ${WIRE_STRUCTS[root]!.go}`;
  return checkStruct(v, root, []);
}
