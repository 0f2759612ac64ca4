// Docker's --format conventions (cli/command/formatter): `table ...`, `json`, or a plain Go template.
import { BerthError } from '../../common/errors.js';
import { DOCKER_TABLE, TabWriter, type TabWriterOptions } from './tabwriter.js';
import { Template, TemplateError, headerFuncs, type FuncMap } from './template.js';

/** `--format table` prefix. */
export const TABLE_FORMAT_KEY = 'table';
/** `--format json`: one JSON object per line. */
export const JSON_FORMAT_KEY = 'json';
/** The template `--format json` stands for. */
export const JSON_FORMAT = '{{json .}}';
/** The template `-q` stands for in most list commands. */
export const DEFAULT_QUIET_FORMAT = '{{.ID}}';

/** True when the format starts with "table" (docker's Format.IsTable). */
export function isTableFormat(format: string): boolean {
  return format.startsWith(TABLE_FORMAT_KEY);
}

/** True only for the bare word "json" (not `{{json .Field}}`). */
export function isJSONFormat(format: string): boolean {
  return format === JSON_FORMAT_KEY;
}

/**
 * The Go template a --format value stands for: "json" → `{{json .}}`, a bare "table" → ""
 * (callers substitute their default table first), "table X" → X; then spaces (not other
 * whitespace) are trimmed and the two-character escapes `\t` and `\n` become a tab and a
 * newline, as docker does for shell users.
 */
export function templateString(format: string): string {
  if (format === TABLE_FORMAT_KEY) return '';
  if (format === JSON_FORMAT_KEY) return JSON_FORMAT;
  let out = format.startsWith(TABLE_FORMAT_KEY) ? format.slice(TABLE_FORMAT_KEY.length) : format;
  out = out.replace(/^ +| +$/g, '');
  return out.replace(/\\t|\\n/g, (m) => (m === '\\t' ? '\t' : '\n'));
}

/**
 * The header title of a `{{.Label "x"}}` column (docker's SubHeaderContext.Label): the part
 * after the last dot, with `-` and `_` as spaces: `com.example.my-label` → `my label`.
 */
export function headerLabel(name: string): string {
  return (name.split('.').pop() ?? '').replace(/[-_]/g, ' ');
}

/** Options for {@link formatRows}. */
export interface FormatOptions {
  /**
   * For `table` formats: column titles by field name (docker's per-command header map,
   * e.g. `{ ID: 'CONTAINER ID', Image: 'IMAGE' }`). The header row is the template run on
   * this map with docker's header functions, so a field missing here prints `<no value>`
   * as in docker.
   */
  header?: Record<string, string>;
  /** Extra template functions. */
  funcs?: FuncMap;
  /** Tabwriter settings for tables; docker's formatter uses minwidth 10, padding 3. */
  tabwriter?: TabWriterOptions;
}

/** Parses a --format value, failing with docker's "template parsing error: ..." message. */
export function parseFormat(format: string, funcs?: FuncMap): Template {
  try {
    return Template.parse(templateString(format), { funcs });
  } catch (e) {
    throw wrap(e);
  }
}

function wrap(e: unknown): unknown {
  if (e instanceof TemplateError) return new BerthError('invalid-argument', `template parsing error: ${e.message}`, { cause: e });
  return e;
}

/**
 * Renders rows the way docker's formatter.Context.Write does: each row through the
 * template plus a newline; for `table` formats, a header row first and everything aligned
 * by a tabwriter. Rows are typically plain objects or class instances whose getters are
 * the columns (`.ID`, `.Names`); `json` marshals a class instance's getters with sorted
 * keys, as docker's MarshalJSON does for its contexts.
 * ```ts
 * formatRows('table {{.ID}}\t{{.Image}}', rows, { header: { ID: 'CONTAINER ID', Image: 'IMAGE' } });
 * ```
 * Throws BerthError (invalid-argument) with "template parsing error: ..." for a bad template
 * or an execution error, as docker reports both.
 */
export function formatRows(format: string, rows: Iterable<unknown>, opts: FormatOptions = {}): string {
  const tmpl = parseFormat(format, opts.funcs);
  let body = '';
  for (const row of rows) {
    try {
      body += tmpl.execute(row) + '\n';
    } catch (e) {
      throw wrap(e);
    }
  }
  if (!isTableFormat(format)) return body;
  const tw = new TabWriter(opts.tabwriter ?? DOCKER_TABLE);
  let header: string;
  try {
    header = tmpl.execute({ Label: headerLabel, ...opts.header }, headerFuncs);
  } catch (e) {
    // Docker ignores header errors and keeps what was written before them.
    header = e instanceof TemplateError ? e.partial : '';
  }
  tw.write(header);
  tw.write('\n');
  tw.write(body);
  return tw.flush();
}
