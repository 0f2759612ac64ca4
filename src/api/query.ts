// Query-string access with Docker's conventions: loose booleans, integers, and the JSON `filters` parameter.
import { errInvalid } from '../common/errors.js';

/**
 * Docker's boolean: absent, empty, `0`, `no`, `false` or `none` (any case, trimmed) is false;
 * anything else (`1`, `true`, `True`, `yes`) is true.
 */
export function parseDockerBool(value: string): boolean {
  const s = value.trim().toLowerCase();
  return !(s === '' || s === '0' || s === 'no' || s === 'false' || s === 'none');
}

/** The query parameters of one request. */
export class Query {
  constructor(readonly params: URLSearchParams) {}

  static parse(search: string): Query {
    return new Query(new URLSearchParams(search));
  }

  has(name: string): boolean {
    return this.params.has(name);
  }

  /** The first value, or `undefined` when absent. */
  string(name: string): string | undefined {
    return this.params.get(name) ?? undefined;
  }

  /** Every value of a repeated parameter (`?t=a&t=b`). */
  all(name: string): string[] {
    return this.params.getAll(name);
  }

  /** Docker's boolean; `def` when the parameter is absent (an empty value is false, as in dockerd). */
  bool(name: string, def = false): boolean {
    const v = this.params.get(name);
    return v === null ? def : parseDockerBool(v);
  }

  /** A base-10 integer; `def` when absent or empty; invalid-argument when malformed. */
  int(name: string, def?: number): number | undefined {
    const v = this.params.get(name);
    if (v === null || v.trim() === '') return def;
    if (!/^[+-]?\d+$/.test(v.trim())) throw errInvalid(`invalid value for ${name}: ${JSON.stringify(v)}: invalid syntax`);
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw errInvalid(`invalid value for ${name}: ${JSON.stringify(v)}: value out of range`);
    return n;
  }

  /** The `filters` parameter (or another JSON filter argument), parsed. */
  filters(name = 'filters'): Filters {
    return Filters.fromJSON(this.params.get(name) ?? '');
  }
}

/**
 * Docker filter arguments: a key to a set of values. On the wire it is either
 * `{"label":{"a=b":true}}` (current form) or the legacy `{"label":["a=b"]}`.
 */
export class Filters {
  private readonly map: Map<string, Set<string>>;

  constructor(entries?: Iterable<[string, Iterable<string>]>) {
    this.map = new Map();
    for (const [k, vs] of entries ?? []) this.map.set(k, new Set(vs));
  }

  /** Parse the JSON text of a filters parameter; an empty string is "no filters". */
  static fromJSON(text: string): Filters {
    if (text.trim() === '') return new Filters();
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw errInvalid(`invalid filter: ${(e as Error).message}`, e);
    }
    if (raw === null) return new Filters();
    if (typeof raw !== 'object' || Array.isArray(raw)) throw errInvalid('invalid filter: filters must be a JSON object');
    const f = new Filters();
    for (const [key, val] of Object.entries(raw as Record<string, unknown>)) {
      const set = new Set<string>();
      if (Array.isArray(val)) {
        // The legacy form, still sent by old clients (API < 1.22 style).
        for (const v of val) {
          if (typeof v !== 'string') throw errInvalid(`invalid filter: value of ${JSON.stringify(key)} must be strings`);
          set.add(v);
        }
      } else if (val !== null && typeof val === 'object') {
        for (const [v, on] of Object.entries(val as Record<string, unknown>)) {
          if (typeof on !== 'boolean') throw errInvalid(`invalid filter: value of ${JSON.stringify(key)}.${JSON.stringify(v)} must be a boolean`);
          if (on) set.add(v);
        }
      } else if (val !== null) {
        throw errInvalid(`invalid filter: value of ${JSON.stringify(key)} must be an object or an array`);
      }
      f.map.set(key, set);
    }
    return f;
  }

  get size(): number {
    return this.map.size;
  }

  keys(): string[] {
    return [...this.map.keys()];
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  /** The values for `key` (empty when absent). */
  get(key: string): string[] {
    return [...(this.map.get(key) ?? [])];
  }

  /** True when `key` is not filtered or `value` is one of its values. */
  match(key: string, value: string): boolean {
    const set = this.map.get(key);
    return !set || set.size === 0 || set.has(value);
  }

  add(key: string, value: string): this {
    let set = this.map.get(key);
    if (!set) this.map.set(key, (set = new Set()));
    set.add(value);
    return this;
  }

  /** Reject keys outside `accepted` with Docker's message (`invalid filter 'x'`). */
  validate(accepted: Iterable<string>): void {
    const ok = new Set(accepted);
    for (const k of this.map.keys()) if (!ok.has(k)) throw errInvalid(`invalid filter '${k}'`);
  }

  /**
   * A boolean filter such as `dangling`: undefined when absent; invalid-argument on values other
   * than true/false/1/0 (as dockerd's GetBoolOrDefault).
   */
  bool(key: string): boolean | undefined {
    const vs = this.get(key);
    if (vs.length === 0) return undefined;
    const out = new Set<boolean>();
    for (const v of vs) {
      const s = v.toLowerCase();
      if (s === 'true' || s === '1') out.add(true);
      else if (s === 'false' || s === '0') out.add(false);
      else throw errInvalid(`invalid filter '${key}=${v}'`);
    }
    if (out.size > 1) throw errInvalid(`invalid filter '${key}': conflicting values`);
    return [...out][0];
  }

  /** The current wire form. */
  toJSON(): Record<string, Record<string, boolean>> {
    const out: Record<string, Record<string, boolean>> = {};
    for (const [k, vs] of this.map) out[k] = Object.fromEntries([...vs].map((v) => [v, true]));
    return out;
  }
}
