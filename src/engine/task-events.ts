// The lifecycle layer's task events (containerd's /tasks/* and /containers/* topics) as Engine API events of Berth's own type `task`.
//
// Docker has no such type, so the event bus sends these only to a client that asks for them
// with the filter `type=task` (events.ts): `docker events` without it prints what dockerd would.
import type { LifecycleEvent } from '../lifecycle/lifecycle.js';
import type { EventMessage } from './types.js';

/** Berth's event type for lifecycle task events. */
export const TASK_EVENT_TYPE = 'task';

/** containerd's JSON field names for the payload keys the lifecycle layer uses (as `ctr events` shows them). */
const FIELD: Record<string, string> = { execId: 'exec_id', exitStatus: 'exit_status', exitedAt: 'exited_at', logDropped: 'log_dropped' };

/** Payload keys for Berth's own layers, not containerd's (the exec's monotonic time, for traces). */
const INTERNAL = new Set(['execNs']);

/**
 * One task event for the bus: Action is the topic (`/tasks/exit`), Actor the container (its id,
 * and as attributes its name and labels, as container events carry them, so the `container` and
 * `label` filters apply), plus the namespace and the topic's payload under containerd's names.
 * Besides /tasks/*, /containers/create and /containers/delete (a task's container record as
 * dockerd's containerd has it, engine.ts); undefined for other topics.
 */
export function taskEvent(e: LifecycleEvent, container?: { name: string; labels?: Record<string, string> }): Omit<EventMessage, 'time' | 'timeNano' | 'scope'> | undefined {
  if (!e.topic.startsWith('/tasks/') && e.topic !== '/containers/create' && e.topic !== '/containers/delete') return undefined;
  const attrs: Record<string, string> = { ...(container?.labels ?? {}) };
  for (const [k, v] of Object.entries(e)) {
    if (k === 'topic' || k === 'id' || k === 'timestamp' || INTERNAL.has(k) || v === undefined || v === '') continue;
    attrs[FIELD[k] ?? k] = String(v);
  }
  if (container) attrs.name = container.name.replace(/^\//, '');
  return { Type: TASK_EVENT_TYPE, Action: e.topic, Actor: { ID: e.id, Attributes: attrs } };
}
