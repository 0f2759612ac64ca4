// dockerd's checks of GET /containers/json and POST /containers/prune filters (daemon/list.go foldFilter, daemon/prune.go), with its texts.
import { errInvalid } from '../common/errors.js';
import { boolFilter, checkFilterKeys } from '../volumes/filters.js';

export const LIST_FILTERS = ['ancestor', 'before', 'expose', 'exited', 'health', 'id', 'isolation', 'is-task', 'label', 'name', 'network', 'publish', 'since', 'status', 'volume'];
export const PRUNE_FILTERS = ['label', 'label!', 'until'];

const STATES = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];
const HEALTHS = ['none', 'starting', 'healthy', 'unhealthy'];

/** The list filters' values as dockerd parses them before matching. */
export interface ListFilters {
  exited: number[];
  /** `port/proto` keys: a summary port matches on PublicPort (publish) or PrivatePort (expose). */
  publish: Set<string>;
  expose: Set<string>;
  /** is-task given: Berth has no swarm, so no container is a task. */
  isTask?: boolean;
}

// Go's strconv errors, which dockerd passes through.
const goInt = (fn: string, v: string, max: number): number => {
  if (!/^[+-]?\d+$/.test(v) || (fn === 'strconv.ParseUint' && /^[+-]/.test(v))) throw new Error(`${fn}: parsing ${JSON.stringify(v)}: invalid syntax`);
  const n = Number(v);
  if (Math.abs(n) > max) throw new Error(`${fn}: parsing ${JSON.stringify(v)}: value out of range`);
  return n;
};

/** dockerd's portOp: `80`, `80/udp` or `8000-8080/tcp`, each port of a range a key. */
function ports(key: string, values: string[]): Set<string> {
  const out = new Set<string>();
  for (const v of values) {
    if (v.includes(':')) throw errInvalid(`filter for '${key}' should not contain ':': ${v}`);
    // nat.SplitProtoPort: tcp unless a non-empty protocol follows the slash.
    const parts = v.split('/');
    const port = parts[0] ?? '';
    const proto = parts.length > 1 && parts[1] !== '' ? parts[1]! : 'tcp';
    try {
      if (port === '') throw new Error('empty string specified for ports');
      const [a, b = a] = port.split('-') as [string, string?];
      const start = goInt('strconv.ParseUint', a, 65535);
      const end = goInt('strconv.ParseUint', b, 65535);
      if (end < start) throw new Error(`invalid range specified for port: ${port}`);
      for (let p = start; p <= end; p++) out.add(`${p}/${proto}`);
    } catch (e) {
      throw errInvalid(`error while looking up for ${key} ${v}: ${(e as Error).message}`);
    }
  }
  return out;
}

/** Validate GET /containers/json filters: the keys, then the values dockerd parses. */
export function parseListFilters(f: Record<string, string[]>): ListFilters {
  checkFilterKeys(f, LIST_FILTERS);
  const exited = (f.exited ?? []).map((v) => {
    try {
      return goInt('strconv.Atoi', v, Number.MAX_SAFE_INTEGER);
    } catch (e) {
      throw errInvalid(`invalid filter 'exited=${v}': ${(e as Error).message}`);
    }
  });
  for (const v of f.status ?? []) {
    if (!STATES.includes(v)) throw errInvalid(`invalid filter 'status=${v}': invalid value for state (${v}): must be one of ${STATES.join(', ')}`);
  }
  const isTask = boolFilter(f, 'is-task');
  for (const v of f.health ?? []) {
    if (!HEALTHS.includes(v)) throw errInvalid(`invalid filter 'health=${v}': invalid value for health (${v}): must be one of ${HEALTHS.join(', ')}`);
  }
  const out: ListFilters = { exited, publish: ports('publish', f.publish ?? []), expose: ports('expose', f.expose ?? []) };
  if (isTask !== undefined) out.isTask = isTask;
  return out;
}

/** Validate POST /containers/prune filters (the keys; `until` is parsed where it is used). */
export function checkPruneFilters(f: Record<string, string[]>): void {
  checkFilterKeys(f, PRUNE_FILTERS);
}
