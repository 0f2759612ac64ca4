// pflag-style command-line flags as the docker CLI parses them: `-it`, `--name=x`, `-e A=b`, `--`, help layout.

/** A flag's shape: a switch, a single value (last one wins) or a repeatable list. */
export type FlagKind = 'bool' | 'value' | 'list';

/** One flag of a command (docker's name, shorthand, type word and usage text). */
export interface FlagSpec {
  name: string;
  short?: string;
  kind: FlagKind;
  /** The type word shown in help (`string`, `int`, `list`, `bytes`...); none for bools. */
  typeName?: string;
  usage: string;
  /** The default as help shows it after "(default ...)"; omitted when the default is the zero value. */
  defText?: string;
  /** The value when the flag is absent (undefined, false or [] otherwise). */
  default?: unknown;
  /** Converts one occurrence; throws an Error whose message pflag puts after `invalid argument "x" for "--f" flag: `. */
  parse?: (raw: string) => unknown;
  hidden?: boolean;
  /** Store into another flag's value (docker's hidden `--net` fills `--network`). */
  dest?: string;
}

/** A command-line mistake: docker prints it with the usage line and exits 125 (or 1 for argument counts). */
export class UsageError extends Error {
  constructor(
    message: string,
    /**
     * 'flag' errors end with "Run '... --help'" (exit 125); 'args' errors are prefixed `berth: ` and
     * end with "See '... --help'" (exit 1), 'args-run' the same but with "Run" (docker's exact-count check).
     */
    readonly kind: 'flag' | 'args' | 'args-run' = 'flag',
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parsed flags: values by long name, and which ones were given. */
export class FlagValues {
  readonly values = new Map<string, unknown>();
  readonly changed = new Set<string>();

  bool(name: string): boolean {
    return this.values.get(name) === true;
  }
  str(name: string): string | undefined {
    const v = this.values.get(name);
    return v === undefined ? undefined : String(v);
  }
  num(name: string): number | undefined {
    const v = this.values.get(name);
    return typeof v === 'number' ? v : undefined;
  }
  list<T = string>(name: string): T[] {
    return (this.values.get(name) as T[] | undefined) ?? [];
  }
  get<T>(name: string): T | undefined {
    return this.values.get(name) as T | undefined;
  }
  has(name: string): boolean {
    return this.changed.has(name);
  }
}

/** Go's strconv.ParseBool. */
export function parseGoBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new Error(`strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`);
}

/** Go's strconv.ParseInt(s, 0, 64) as pflag's int flags use it. */
export function parseGoInt(s: string): number {
  if (!/^[+-]?(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|0[bB][01_]+|\d+)$/.test(s)) {
    throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`);
  }
  const neg = s.startsWith('-');
  const body = s.replace(/^[+-]/, '').replace(/_/g, '');
  let n: number;
  if (/^0[xX]/.test(body)) n = parseInt(body.slice(2), 16);
  else if (/^0[bB]/.test(body)) n = parseInt(body.slice(2), 2);
  else if (/^0[oO]/.test(body)) n = parseInt(body.slice(2), 8);
  else if (/^0\d/.test(body)) n = parseInt(body.slice(1), 8);
  else n = parseInt(body, 10);
  return neg ? -n : n;
}

/** Go's strconv.ParseUint. */
export function parseGoUint(s: string): number {
  if (!/^\d+$/.test(s)) throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(s)}: invalid syntax`);
  return Number(s);
}

/** A set of flags for one command; `parse` splits flags from positional arguments. */
export class FlagSet {
  readonly specs: FlagSpec[] = [];
  private readonly byName = new Map<string, FlagSpec>();
  private readonly byShort = new Map<string, FlagSpec>();

  add(spec: FlagSpec): this {
    this.specs.push(spec);
    this.byName.set(spec.name, spec);
    if (spec.short) this.byShort.set(spec.short, spec);
    return this;
  }
  bool(name: string, short: string | undefined, usage: string, def = false): this {
    return this.add({ name, short, kind: 'bool', usage, default: def, defText: def ? 'true' : undefined });
  }
  string(name: string, short: string | undefined, usage: string, def?: string): this {
    return this.add({ name, short, kind: 'value', typeName: 'string', usage, default: def, defText: def ? JSON.stringify(def) : undefined });
  }
  int(name: string, short: string | undefined, usage: string, def?: number): this {
    return this.add({ name, short, kind: 'value', typeName: 'int', usage, default: def, defText: def ? String(def) : undefined, parse: parseGoInt });
  }
  list(name: string, short: string | undefined, usage: string, typeName = 'list', parse?: (s: string) => unknown): this {
    return this.add({ name, short, kind: 'list', typeName, usage, parse });
  }
  lookup(name: string): FlagSpec | undefined {
    return this.byName.get(name);
  }
  hasShort(c: string): boolean {
    return this.byShort.has(c);
  }

  /**
   * Parse `args`. With `interspersed` false (docker run/exec), the first positional argument
   * ends the flags, so `run img ls -l` passes `-l` to the container.
   */
  parse(args: readonly string[], opts: { interspersed?: boolean } = {}): { flags: FlagValues; args: string[] } {
    const interspersed = opts.interspersed ?? true;
    const fv = new FlagValues();
    for (const s of this.specs) {
      if (s.dest) continue;
      if (s.kind === 'list') fv.values.set(s.name, []);
      else if (s.default !== undefined) fv.values.set(s.name, s.default);
      else if (s.kind === 'bool') fv.values.set(s.name, false);
    }
    const positional: string[] = [];
    const set = (spec: FlagSpec, raw: string, shown: string) => {
      let v: unknown;
      try {
        if (spec.kind === 'bool') v = parseGoBool(raw);
        else v = spec.parse ? spec.parse(raw) : raw;
      } catch (e) {
        throw new UsageError(`invalid argument ${JSON.stringify(raw)} for "${flagDisplay(spec)}" flag: ${(e as Error).message}`);
      }
      void shown;
      const name = spec.dest ?? spec.name;
      if (spec.kind === 'list') (fv.values.get(name) as unknown[]).push(v);
      else fv.values.set(name, v);
      fv.changed.add(name);
    };
    let i = 0;
    for (; i < args.length; i++) {
      const a = args[i]!;
      if (a === '--') {
        i++;
        break;
      }
      if (!a.startsWith('-') || a === '-') {
        if (!interspersed) break;
        positional.push(a);
        continue;
      }
      if (a.startsWith('--')) {
        const eq = a.indexOf('=');
        const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
        const spec = this.byName.get(name);
        if (!spec) {
          if (name === 'help') throw new HelpRequested();
          throw new UsageError(`unknown flag: --${name}`);
        }
        if (eq >= 0) set(spec, a.slice(eq + 1), a);
        else if (spec.kind === 'bool') set(spec, 'true', a);
        else if (i + 1 < args.length) set(spec, args[++i]!, a);
        else throw new UsageError(`flag needs an argument: --${name}`);
        continue;
      }
      // Shorthands: -abc, -e VALUE, -eVALUE, -e=VALUE.
      let rest = a.slice(1);
      while (rest.length > 0) {
        const c = rest[0]!;
        const spec = this.byShort.get(c);
        if (!spec) {
          if (c === 'h') throw new HelpRequested();
          throw new UsageError(`unknown shorthand flag: '${c}' in -${rest}`);
        }
        if (rest.length > 2 && rest[1] === '=') {
          set(spec, rest.slice(2), a);
          rest = '';
        } else if (spec.kind === 'bool') {
          set(spec, 'true', a);
          rest = rest.slice(1);
        } else if (rest.length > 1) {
          set(spec, rest.slice(1), a);
          rest = '';
        } else if (i + 1 < args.length) {
          set(spec, args[++i]!, a);
          rest = '';
        } else {
          throw new UsageError(`flag needs an argument: '${c}' in -${c}`);
        }
      }
    }
    for (; i < args.length; i++) positional.push(args[i]!);
    return { flags: fv, args: positional };
  }

  /** The Options block of `--help`, laid out as pflag's FlagUsagesWrapped does for `cols` columns. */
  usages(cols = 80, withHelp = false): string {
    const specs = this.specs.filter((s) => !s.hidden);
    if (withHelp && !this.byName.has('help')) specs.push({ name: 'help', kind: 'bool', usage: 'Print usage' });
    specs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const lines: string[] = [];
    let maxlen = 0;
    for (const f of specs) {
      let line = f.short ? `  -${f.short}, --${f.name}` : `      --${f.name}`;
      if (f.typeName) line += ' ' + f.typeName;
      line += '\x00';
      if (line.length > maxlen) maxlen = line.length;
      line += f.usage;
      if (f.defText !== undefined) line += ` (default ${f.defText})`;
      lines.push(line);
    }
    let out = '';
    for (const line of lines) {
      const sidx = line.indexOf('\x00');
      out += `${line.slice(0, sidx)} ${' '.repeat(maxlen - sidx)} ${wrap(maxlen + 2, cols, line.slice(sidx + 1))}\n`;
    }
    return out;
  }
}

/** Thrown for `--help`/`-h` on a command without its own -h. */
export class HelpRequested extends Error {
  constructor() {
    super('help requested');
  }
}

/** `-n, --last` or `--name`, as pflag names a flag in errors. */
export function flagDisplay(spec: FlagSpec): string {
  return spec.short ? `-${spec.short}, --${spec.name}` : `--${spec.name}`;
}

function wrapN(i: number, slop: number, s: string): [string, string] {
  if (i + slop > s.length) return [s, ''];
  const head = s.slice(0, i);
  const w = Math.max(head.lastIndexOf(' '), head.lastIndexOf('\t'), head.lastIndexOf('\n'));
  if (w <= 0) return [s, ''];
  const nl = head.lastIndexOf('\n');
  if (nl > 0 && nl < w) return [s.slice(0, nl), s.slice(nl + 1)];
  return [s.slice(0, w), s.slice(w + 1)];
}

/** pflag's wrap: `s` wrapped to `w` columns with continuation lines indented by `i`. */
export function wrap(i: number, w: number, s: string): string {
  if (w === 0) return s.replace(/\n/g, '\n' + ' '.repeat(i));
  let width = w - i;
  let r = '';
  if (width < 24) {
    i = 16;
    width = w - i;
    r += '\n' + ' '.repeat(i);
  }
  if (width < 24) return s.replace(/\n/g, r);
  const slop = 5;
  width -= slop;
  let [l, rest] = wrapN(width, slop, s);
  const ind = '\n' + ' '.repeat(i);
  r += l.replace(/\n/g, ind);
  while (rest !== '') {
    [l, rest] = wrapN(width, slop, rest);
    r += ind + l.replace(/\n/g, ind);
  }
  return r;
}
