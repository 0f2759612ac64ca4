// The route table: `GET /containers/{id}/json`-style patterns, matched against the version-stripped path.
import type { Context } from './context.js';

/**
 * A route handler. It may answer through `ctx` (sendJson, jsonStream, hijack...), or return a
 * value, which is sent as JSON with status 200; returning nothing without answering sends 204.
 * Thrown errors are mapped by their BerthError code (see errors.ts).
 */
export type Handler = (ctx: Context) => unknown;

/** One registered route. */
export interface Route {
  readonly method: string;
  readonly pattern: string;
  readonly handler: Handler;
  readonly keys: readonly string[];
  readonly regex: RegExp;
}

/** The result of matching a request. */
export type RouteMatch =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  /** The path exists under other methods (405). */
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'not-found' };

/**
 * Compile a pattern: `{name}` matches one path segment; `{name:.*}` matches the rest greedily,
 * slashes included (image references such as `/images/{name:.*}/json`, as dockerd's routes).
 */
export function compilePattern(pattern: string): { regex: RegExp; keys: string[] } {
  if (!pattern.startsWith('/')) throw new Error(`route pattern must start with '/': ${pattern}`);
  const keys: string[] = [];
  let src = '';
  let i = 0;
  while (i < pattern.length) {
    const open = pattern.indexOf('{', i);
    if (open < 0) {
      src += escapeRe(pattern.slice(i));
      break;
    }
    src += escapeRe(pattern.slice(i, open));
    const close = pattern.indexOf('}', open);
    if (close < 0) throw new Error(`unclosed '{' in route pattern: ${pattern}`);
    const spec = pattern.slice(open + 1, close);
    const [name = '', re] = spec.split(':', 2) as [string, string | undefined];
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`bad parameter name ${JSON.stringify(name)} in ${pattern}`);
    if (keys.includes(name)) throw new Error(`duplicate parameter ${name} in ${pattern}`);
    keys.push(name);
    if (re === undefined) src += '([^/]+)';
    else if (re === '.*' || re === '.+') src += '(.+)';
    else throw new Error(`unsupported parameter pattern ${JSON.stringify(re)} in ${pattern} (only {name} and {name:.*})`);
    i = close + 1;
  }
  return { regex: new RegExp(`^${src}$`), keys };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Routes keyed by method and pattern; first registered wins. */
export class Router {
  private readonly table: Route[] = [];

  /** Register `handler` for `method` (or several) on `pattern`. */
  on(method: string | readonly string[], pattern: string, handler: Handler): this {
    const { regex, keys } = compilePattern(pattern);
    for (const m of typeof method === 'string' ? [method] : method) {
      this.table.push({ method: m.toUpperCase(), pattern, handler, keys, regex });
    }
    return this;
  }

  get(pattern: string, handler: Handler): this { return this.on('GET', pattern, handler); }
  head(pattern: string, handler: Handler): this { return this.on('HEAD', pattern, handler); }
  post(pattern: string, handler: Handler): this { return this.on('POST', pattern, handler); }
  put(pattern: string, handler: Handler): this { return this.on('PUT', pattern, handler); }
  delete(pattern: string, handler: Handler): this { return this.on('DELETE', pattern, handler); }

  /** Every route, in registration order. */
  routes(): readonly Route[] {
    return this.table;
  }

  /**
   * Match a version-stripped, still percent-encoded path. Parameters are decoded; a bad
   * escape is thrown as URIError (the server answers 400).
   */
  match(method: string, path: string): RouteMatch {
    const allowed = new Set<string>();
    for (const route of this.table) {
      const m = route.regex.exec(path);
      if (!m) continue;
      if (route.method !== method.toUpperCase()) {
        allowed.add(route.method);
        continue;
      }
      const params: Record<string, string> = {};
      route.keys.forEach((k, idx) => {
        params[k] = decodeURIComponent(m[idx + 1]!);
      });
      return { kind: 'found', route, params };
    }
    return allowed.size ? { kind: 'method-not-allowed', allowed: [...allowed] } : { kind: 'not-found' };
  }
}
