// Docker's volume filters for GET /volumes (dangling, name, driver, label) and POST /volumes/prune (label, label!, all).
import { matchLabels } from '../common/label-filter.js';
import { errInvalid } from '../common/errors.js';

export const LIST_FILTERS = ['dangling', 'name', 'driver', 'label'];
export const PRUNE_FILTERS = ['label', 'label!', 'all'];

/** What a filter sees of a volume. */
export interface FilterSubject {
  name: string;
  driver: string;
  labels: Record<string, string> | null;
  inUse: boolean;
}

/** dockerd's Args.Validate: unknown keys are refused. */
export function checkFilterKeys(filters: Record<string, string[]>, accepted: readonly string[]): void {
  for (const k of Object.keys(filters)) if (!accepted.includes(k)) throw errInvalid(`invalid filter '${k}'`);
}

/** dockerd's GetBoolOrDefault for `dangling`: true/1 or false/0, not both. */
export function boolFilter(filters: Record<string, string[]>, key: string): boolean | undefined {
  const vs = filters[key];
  if (!vs) return undefined;
  const t = vs.includes('1') || vs.includes('true');
  const f = vs.includes('0') || vs.includes('false');
  if (t === f) throw errInvalid(`invalid filter '${key}=[${vs.join(' ')}]'`);
  return t;
}

export { matchLabels };

/** dockerd's Args.Match: an exact value or a regular expression that matches. */
function matchName(values: string[], name: string): boolean {
  return values.some((v) => {
    if (v === name) return true;
    try {
      return new RegExp(v).test(name);
    } catch {
      return false;
    }
  });
}

/** The list filters of GET /volumes, all ANDed. */
export function matchListFilters(filters: Record<string, string[]>, v: FilterSubject): boolean {
  if (filters.driver?.length && !filters.driver.includes(v.driver)) return false;
  if (filters.name?.length && !matchName(filters.name, v.name)) return false;
  if (!matchLabels(filters.label, v.labels)) return false;
  if (filters['label!']?.length && matchLabels(filters['label!'], v.labels)) return false;
  const dangling = boolFilter(filters, 'dangling');
  if (dangling !== undefined && v.inUse === dangling) return false;
  return true;
}

/**
 * The `all` prune filter: without `all=true`, only anonymous volumes are candidates (API 1.42+;
 * the route adds `all=true` for older clients). Returns the label filter to apply.
 */
export function pruneAll(filters: Record<string, string[]>): boolean {
  const all = filters.all ?? [];
  if (all.length > 1) throw errInvalid(`invalid filter 'all=[${all.join(' ')}]': only one value is expected`);
  if (all.length === 0) return false;
  const v = all[0]!;
  // Go's strconv.ParseBool
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw errInvalid(`invalid filter 'all': strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}
