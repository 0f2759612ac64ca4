// `GET/HEAD /_ping`: the liveness probe every docker client sends first, to learn the API version.
import type { Context } from './context.js';
import type { Router } from './router.js';
import { API_MAX_VERSION } from './version.js';

/** The headers of a ping answer (the Engine API's `/_ping`). */
export function pingHeaders(opts: { experimental?: boolean; builderVersion?: string } = {}): Record<string, string> {
  return {
    'Api-Version': API_MAX_VERSION,
    'Builder-Version': opts.builderVersion ?? '1',
    'Docker-Experimental': String(opts.experimental ?? false),
    Ostype: 'linux',
    Swarm: 'inactive',
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
  };
}

/**
 * Register `GET /_ping` (body `OK`) and `HEAD /_ping` (no body). Builder-Version is 1: the
 * classic builder, since Berth has no BuildKit.
 */
export function registerPingRoutes(router: Router, opts: { experimental?: boolean; builderVersion?: string } = {}): void {
  const headers = pingHeaders(opts);
  const ping = (ctx: Context) => ctx.sendText('OK', 200, headers);
  router.get('/_ping', ping);
  router.head('/_ping', ping);
}
