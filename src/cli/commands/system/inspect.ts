// `berth inspect`: low-level JSON of containers or images (tried in that order), indented as docker does, or --format.
import type { Command } from '../../command.js';
import { StatusError } from '../../command.js';
import type { Cli } from '../../context.js';
import { errorText } from '../../errors.js';
import type { FlagSet } from '../../flags.js';
import { parseFormat } from '../../format/formatter.js';
import { dockerFuncs } from '../../format/template.js';
import { inspectTraces } from '../../trace.js';
import { isApiNotFound } from '../util.js';

/** Go's json.Indent with prefix "" and a 4-space indent: re-indents raw JSON text without reordering or re-escaping. */
export function indentJSON(raw: string, indent = '    '): string {
  let out = '';
  let depth = 0;
  let inStr = false;
  let needIndent = false;
  const nl = () => '\n' + indent.repeat(depth);
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (inStr) {
      out += ch;
      if (ch === '\\') out += raw[++i] ?? '';
      else if (ch === '"') inStr = false;
      continue;
    }
    if (ch === ' ' || ch === '\n' || ch === '\t' || ch === '\r') continue;
    if (needIndent && ch !== ']' && ch !== '}') {
      out += nl();
      needIndent = false;
    }
    switch (ch) {
      case '"':
        inStr = true;
        out += ch;
        break;
      case '{': case '[':
        out += ch;
        depth++;
        needIndent = true;
        break;
      case '}': case ']':
        depth--;
        if (needIndent) needIndent = false; // empty: stays {} / []
        else out += nl();
        out += ch;
        break;
      case ',':
        out += ch + nl();
        break;
      case ':':
        out += ': ';
        break;
      default:
        out += ch;
    }
  }
  return out;
}

/** Go's json.Compact: drops the whitespace between tokens, leaves strings as they are. */
export function compactJSON(raw: string): string {
  let out = '';
  let inStr = false;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (inStr) {
      out += ch;
      if (ch === '\\') out += raw[++i] ?? '';
      else if (ch === '"') inStr = false;
    } else if (ch === '"') {
      inStr = true;
      out += ch;
    } else if (ch !== ' ' && ch !== '\n' && ch !== '\t' && ch !== '\r') out += ch;
  }
  return out;
}

/** One inspected object: the daemon's raw JSON text and its parsed value. */
export interface Inspected {
  raw: string;
  value: unknown;
}

/**
 * docker's inspect output: without --format a JSON array of the objects found (printed even
 * when empty); with --format the template per object. Errors follow on stderr, exit 1.
 */
export async function inspectRefs(cli: Cli, refs: string[], get: (ref: string) => Promise<Inspected>, format?: string): Promise<void> {
  const found: Inspected[] = [];
  const errors: string[] = [];
  for (const ref of refs) {
    try {
      found.push(await get(ref));
    } catch (e) {
      errors.push(e instanceof StatusError ? e.message : errorText(e, cli));
    }
  }
  if (format === 'json') {
    // docker's JSON inspector: the raw objects as one compact array.
    cli.out(`[${found.map((f) => compactJSON(f.raw)).join(',')}]\n`);
  } else if (format) {
    const tmpl = parseFormat(format, dockerFuncs);
    let text = '';
    for (const f of found) text += tmpl.execute(f.value) + '\n';
    // With nothing to show, docker's template inspector still ends the output with a newline.
    cli.out(text || '\n');
  } else {
    const body = found.map((f) => f.raw.trim()).join(',');
    cli.out(found.length ? indentJSON(`[${body}]`) + '\n' : '[]\n');
  }
  if (errors.length) throw new StatusError(1, errors.join('\n'));
}

/** GET a JSON document and keep its raw text. */
export async function getRaw(cli: Cli, path: string, query?: Record<string, boolean | undefined>): Promise<Inspected> {
  const client = await cli.client();
  const text = await (await client.request('GET', path, { query })).body.text();
  return { raw: text, value: JSON.parse(text) };
}

export function addInspectFlags(fs: FlagSet, withSize: boolean): void {
  fs.string('format', 'f', "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates");
  if (withSize) fs.bool('size', 's', 'Display total file sizes if the type is container');
}

export const command: Command = {
  name: 'inspect',
  use: '[OPTIONS] NAME|ID [NAME|ID...]',
  short: 'Return low-level information on Docker objects',
  args: { min: 1 },
  flags(fs) {
    addInspectFlags(fs, true);
    fs.string('type', undefined, 'Only inspect objects of the given type');
    fs.bool('trace', undefined, "Print the trace of each container's last start (a waterfall of every layer's steps)");
  },
  async run(cli, flags, args) {
    const type = flags.str('type');
    if (flags.bool('trace')) {
      if (type && type !== 'container') throw new StatusError(1, `Error: --trace is for containers, not --type ${type}`);
      return inspectTraces(cli, args, flags.str('format'));
    }
    const size = flags.bool('size') || undefined;
    // Tried in docker's order; the first kind that knows the name wins.
    const getters: Record<string, (ref: string) => Promise<Inspected>> = {
      container: (ref) => getRaw(cli, `/containers/${encodeURIComponent(ref)}/json`, { size }),
      image: (ref) => getRaw(cli, `/images/${encodeURIComponent(ref)}/json`),
      network: (ref) => getRaw(cli, `/networks/${encodeURIComponent(ref)}`),
    };
    const kinds = type ? [type] : Object.keys(getters);
    for (const k of kinds) if (!getters[k]) throw new Error(`"${k}" is not a valid value for --type`);
    await inspectRefs(
      cli,
      args,
      async (ref) => {
        for (const k of kinds) {
          try {
            return await getters[k]!(ref);
          } catch (e) {
            if (!isApiNotFound(e) || type) throw e;
          }
        }
        throw new StatusError(1, `Error: No such object: ${ref}`);
      },
      flags.str('format'),
    );
  },
};
