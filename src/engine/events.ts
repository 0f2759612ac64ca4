// The engine's event bus: Docker's /events messages, a ring buffer of recent ones for `since`, and live subscribers.
import { familiarString, parseReference, repoName } from '../images/reference.js';
import { TASK_EVENT_TYPE } from './task-events.js';
import type { EventMessage, EventService } from './types.js';

/** How many past events `since` can reach back to (dockerd keeps 256; a little more costs nothing). */
export const EVENT_RING_SIZE = 1024;

/** Event types Docker clients do not know: sent only to a client whose `type` filter names them. */
const OPT_IN_TYPES: ReadonlySet<string> = new Set([TASK_EVENT_TYPE]);

/** Docker's event filters: type, container/image/volume/network (id or name), event (action), label. */
export function matchEvent(e: EventMessage, filters: Record<string, string[]> = {}): boolean {
  const any = (key: string, pred: (v: string) => boolean) => {
    const vs = filters[key];
    return !vs || vs.length === 0 || vs.some(pred);
  };
  const attrs = e.Actor.Attributes;
  const actorMatch = (v: string) => e.Actor.ID === v || e.Actor.ID.startsWith(v) || attrs.name === v || attrs.name === v.replace(/^\//, '');
  if (OPT_IN_TYPES.has(e.Type) && !filters.type?.includes(e.Type)) return false;
  if (!any('type', (v) => v === e.Type)) return false;
  // docker events --filter event=... matches the action, and for "exec_start: sh" style actions its prefix;
  // a task event's topic (`/tasks/exit`) also by its last part (`exit`).
  if (!any('event', (v) => e.Action === v || e.Action.startsWith(`${v}:`) || (e.Type === TASK_EVENT_TYPE && e.Action === `/tasks/${v}`))) return false;
  for (const t of ['container', 'volume', 'network', 'plugin', 'daemon'] as const) {
    // A task event's actor is its container.
    const isT = e.Type === t || (t === 'container' && e.Type === TASK_EVENT_TYPE);
    if (filters[t]?.length && !(isT && filters[t]!.some(actorMatch))) return false;
  }
  // dockerd's matchImage: an image event by its id or name, and a container event by the image it
  // was made from, each also without its tag (`busybox` matches busybox:latest).
  if (filters.image?.length) {
    const name = e.Type === 'image' ? attrs.name : attrs.image;
    const keys = [e.Actor.ID, name].filter((x): x is string => !!x);
    if (!filters.image.some((v) => keys.includes(v) || keys.map(stripTag).includes(v))) return false;
  }
  if (!any('label', (v) => {
    const i = v.indexOf('=');
    return i < 0 ? v in attrs : attrs[v.slice(0, i)] === v.slice(i + 1);
  })) return false;
  if (!any('scope', (v) => v === e.scope)) return false;
  return true;
}

/** distribution's FamiliarName of a reference (its tag and digest dropped); an id or what does not parse stays as it is. */
function stripTag(s: string): string {
  if (s.startsWith('sha256:')) return s;
  try {
    return familiarString(repoName(parseReference(s)));
  } catch {
    return s;
  }
}

/** Seconds (fractional) since the epoch of an event. */
const eventSeconds = (e: EventMessage) => e.timeNano / 1e9;

/**
 * An in-memory EventService. `publish` fills in time and scope and, for container and image
 * events, the pre-1.22 `status`/`id`/`from` fields the docker CLI still reads.
 */
export class EventBus implements EventService {
  private readonly ring: EventMessage[] = [];
  /** Opt-in types keep a ring of their own: a busy task stream must not push Docker's events out of `since`'s reach. */
  private readonly optInRing: EventMessage[] = [];
  private readonly subs = new Set<(e: EventMessage) => void>();
  private lastNano = 0n;
  // Wall-clock nanoseconds from one Date.now() reading advanced by the monotonic clock: exact
  // ordering, sub-millisecond resolution, and never a time that is not yet "now" to the ms.
  private readonly baseWall = BigInt(Date.now()) * 1_000_000n;
  private readonly baseMono = process.hrtime.bigint();

  publish(partial: Omit<EventMessage, 'time' | 'timeNano' | 'scope'>): void {
    // Strictly increasing nanoseconds: since/until comparisons and ordering stay exact.
    let nano = this.baseWall + (process.hrtime.bigint() - this.baseMono);
    if (nano <= this.lastNano) nano = this.lastNano + 1n;
    this.lastNano = nano;
    const e: EventMessage = { ...partial, scope: 'local', time: Number(nano / 1_000_000_000n), timeNano: Number(nano) };
    if (e.Type === 'container' || e.Type === 'image') {
      e.status = e.Action;
      e.id = e.Actor.ID;
      if (e.Type === 'container' && e.Actor.Attributes.image) e.from = e.Actor.Attributes.image;
    }
    const ring = OPT_IN_TYPES.has(e.Type) ? this.optInRing : this.ring;
    ring.push(e);
    if (ring.length > EVENT_RING_SIZE) ring.shift();
    for (const s of this.subs) s(e);
  }

  /** Past events within [since, until], then live ones (unless `until` is set) until `signal` fires or `until` passes. */
  subscribe(opts: { since?: number; until?: number; filters?: Record<string, string[]> }, signal: AbortSignal): AsyncIterable<EventMessage> {
    const { since, until, filters } = opts;
    const inRange = (e: EventMessage) => (since === undefined || eventSeconds(e) >= since) && (until === undefined || eventSeconds(e) <= until);
    const past = (ring: EventMessage[]) => ring.filter((e) => inRange(e) && matchEvent(e, filters));
    const queue: EventMessage[] = since === undefined ? []
      : filters?.type?.some((t) => OPT_IN_TYPES.has(t)) ? [...past(this.ring), ...past(this.optInRing)].sort((a, b) => a.timeNano - b.timeNano) : past(this.ring);
    // With `until` in the past, only history; with it in the future, live events until then.
    const live = !(until !== undefined && until * 1000 <= Date.now());
    let wake: (() => void) | undefined;
    let done = !live;
    const on = (e: EventMessage) => {
      if (!inRange(e) || !matchEvent(e, filters)) return;
      queue.push(e);
      wake?.();
    };
    const stop = () => {
      done = true;
      wake?.();
    };
    let timer: NodeJS.Timeout | undefined;
    if (live) {
      this.subs.add(on);
      signal.addEventListener('abort', stop, { once: true });
      if (until !== undefined) timer = setTimeout(stop, Math.max(0, until * 1000 - Date.now()));
    }
    const subs = this.subs;
    return {
      async *[Symbol.asyncIterator]() {
        try {
          for (;;) {
            while (queue.length) yield queue.shift()!;
            if (done || signal.aborted) return;
            await new Promise<void>((r) => { wake = r; });
            wake = undefined;
          }
        } finally {
          subs.delete(on);
          signal.removeEventListener('abort', stop);
          if (timer) clearTimeout(timer);
        }
      },
    };
  }

  /** Live subscribers now (an open /events stream each). */
  get subscribers(): number {
    return this.subs.size;
  }

  /** Events currently held (oldest first; opt-in types too), for tests and `info`. */
  recent(): EventMessage[] {
    return [...this.ring, ...this.optInRing].sort((a, b) => a.timeNano - b.timeNano);
  }
}
