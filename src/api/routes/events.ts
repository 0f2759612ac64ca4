// `GET /events`: the engine's event bus as newline-delimited JSON, past events within since/until, then live ones until the client leaves.
import { errInvalid } from '../../common/errors.js';
import type { EventService } from '../../engine/types.js';
import type { Router } from '../router.js';

/** Docker's since/until value: unix seconds with an optional fraction (`1700000000.123456789`), or RFC 3339. */
export function parseEventTime(name: string, v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw errInvalid(`invalid value for ${name}: ${JSON.stringify(v)}: not a timestamp`);
  return t / 1000;
}

/** The filter keys dockerd accepts on /events. */
const EVENT_FILTERS = ['container', 'daemon', 'event', 'image', 'label', 'network', 'node', 'plugin', 'scope', 'secret', 'service', 'type', 'volume', 'config'];

/** Register `GET /events`. */
export function registerEventRoutes(router: Router, events: EventService): void {
  router.get('/events', async (ctx) => {
    const since = parseEventTime('since', ctx.query.string('since'));
    const until = parseEventTime('until', ctx.query.string('until'));
    const f = ctx.query.filters();
    f.validate(EVENT_FILTERS);
    const filters: Record<string, string[]> = {};
    for (const k of f.keys()) filters[k] = f.get(k);
    // Headers out at once: `docker events` waits for them before it prints anything.
    const s = ctx.jsonStream();
    s.start();
    await s.pipeFrom(events.subscribe({ since, until, filters }, ctx.signal));
  });
}
