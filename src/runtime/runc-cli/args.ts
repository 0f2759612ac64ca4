// A small urfave/cli-compatible flag parser: `--flag value`, `--flag=value`, `-f value`, booleans.

export type FlagType = 'bool' | 'string' | 'int' | 'list';

export interface FlagDef {
  name: string;
  alias?: string;
  type: FlagType;
  usage: string;
  default?: string | number | boolean;
}

export interface Parsed {
  flags: Record<string, string | number | boolean | string[] | undefined>;
  args: string[];
}

/** Parse `argv` against `defs`; stops at the first non-flag when `stopAtArg` (global flags before the verb). */
export function parseFlags(argv: string[], defs: FlagDef[], stopAtArg = false): Parsed {
  const byName = new Map<string, FlagDef>();
  for (const d of defs) {
    byName.set(d.name, d);
    if (d.alias) byName.set(d.alias, d);
  }
  const flags: Parsed['flags'] = {};
  for (const d of defs) if (d.default !== undefined) flags[d.name] = d.default;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      if (stopAtArg) {
        args.push(...argv.slice(i));
        break;
      }
      args.push(a);
      continue;
    }
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const def = byName.get(name);
    if (!def) throw new UsageError(`flag provided but not defined: -${name}`);
    let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (def.type === 'bool') {
      flags[def.name] = value === undefined ? true : value !== 'false';
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: -${name}`);
      value = argv[++i]!;
    }
    if (def.type === 'int') {
      if (!/^-?\d+$/.test(value)) throw new UsageError(`invalid value "${value}" for flag -${name}: parse error`);
      flags[def.name] = Number(value);
    } else if (def.type === 'list') {
      ((flags[def.name] ??= []) as string[]).push(value);
    } else {
      flags[def.name] = value;
    }
  }
  return { flags, args };
}

/** A command-line mistake: printed with the command's usage, exit status 1 (as runc/urfave). */
export class UsageError extends Error {}

/** The OPTIONS block of a help text, formatted as urfave/cli does. */
export function formatFlags(defs: FlagDef[]): string {
  const rows = defs.map((d) => {
    const names = [`--${d.name}${d.type === 'bool' ? '' : ' value'}`, ...(d.alias ? [`-${d.alias}${d.type === 'bool' ? '' : ' value'}`] : [])].join(', ');
    const def = d.default !== undefined && d.type !== 'bool' ? ` (default: ${JSON.stringify(d.default)})` : '';
    return [names, d.usage + def] as const;
  });
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  return rows.map(([n, u]) => `   ${n.padEnd(w)}${u}`).join('\n');
}
