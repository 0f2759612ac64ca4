// docker's `--filter key=value` flag (opts.FilterOpt): checked when parsed, so a bad value is a usage error (exit 125).
import { readFileSync } from 'node:fs';
import type { FlagSet } from '../flags.js';

/** Add a repeatable `--filter` of type `filter`; an empty value is skipped, one without `=` rejected as docker does. */
export function addFilterFlag(fs: FlagSet, short: string | undefined, usage: string): void {
  fs.list('filter', short, usage, 'filter', (v) => {
    if (v !== '' && !v.includes('=')) throw new Error('bad format of filter (expected name=value)');
    return v;
  });
}

/** The filter values given, without the empty ones docker ignores. */
export function filterValues(values: string[]): string[] {
  return values.filter((v) => v !== '');
}

/** A `key=value` filter's key, as docker compares it (trimmed, lower case). */
export function filterKey(f: string): string {
  return f.slice(0, f.indexOf('=')).trim().toLowerCase();
}

/** A prune's report of what went: docker's `Deleted <what>:` then one id per line; empty when nothing went. */
export function deletedReport(heading: string, ids: string[] | null | undefined): string {
  return ids?.length ? `${heading}:\n${ids.map((id) => `${id}\n`).join('')}` : '';
}

/**
 * docker's PruneFilters: the command's filters plus the `pruneFilters` of the client config
 * (config.json), where a config `label=x` gives way to a given `label!=x` and the other way round.
 */
export function withConfigPruneFilters(configDir: string, given: string[]): string[] {
  let extra: unknown;
  try {
    extra = (JSON.parse(readFileSync(`${configDir}/config.json`, 'utf8')) as { pruneFilters?: unknown }).pruneFilters;
  } catch {
    return given;
  }
  if (!Array.isArray(extra)) return given;
  const out = [...given];
  const has = (k: string, v: string) => out.some((f) => filterKey(f) === k && f.slice(f.indexOf('=') + 1).trim() === v);
  for (const f of extra) {
    if (typeof f !== 'string' || !f.includes('=')) continue;
    const k = f.slice(0, f.indexOf('='));
    const v = f.slice(f.indexOf('=') + 1);
    if (k === 'label' && has('label!', v)) continue;
    if (k === 'label!' && has('label', v)) continue;
    out.push(`${k}=${v}`);
  }
  return out;
}
