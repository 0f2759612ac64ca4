import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EVENT_RING_SIZE, EventBus, matchEvent } from './events.js';
import { taskEvent } from './task-events.js';
import type { EventMessage } from './types.js';

const ID = 'a'.repeat(64);

function collect(bus: EventBus, filters: Record<string, string[]>, since = 0): Promise<EventMessage[]> {
  return (async () => {
    const out: EventMessage[] = [];
    for await (const e of bus.subscribe({ since, until: Date.now() / 1000 + 1, filters }, new AbortController().signal)) out.push(e);
    return out;
  })();
}

test('task events: containerd topic as the action, payload under containerd names, the container as actor', () => {
  const e = taskEvent({ topic: '/tasks/exit', namespace: 'moby', id: ID, timestamp: '2025-01-01T00:00:00Z', pid: 42, exitStatus: 137, exitedAt: '2025-01-01T00:00:01Z', reason: '' },
    { name: '/web', labels: { tier: 'front' } });
  assert.deepEqual(e, { Type: 'task', Action: '/tasks/exit', Actor: { ID, Attributes: { tier: 'front', namespace: 'moby', pid: '42', exit_status: '137', exited_at: '2025-01-01T00:00:01Z', name: 'web' } } });
  assert.deepEqual(taskEvent({ topic: '/containers/create', namespace: 'moby', id: ID, timestamp: '', image: 'busybox', runtime: 'io.berth.shim.v1' }, { name: '/web' }),
    { Type: 'task', Action: '/containers/create', Actor: { ID, Attributes: { namespace: 'moby', image: 'busybox', runtime: 'io.berth.shim.v1', name: 'web' } } });
  assert.equal(taskEvent({ topic: '/containers/delete', namespace: 'moby', id: ID, timestamp: '' })?.Action, '/containers/delete');
  assert.deepEqual(taskEvent({ topic: '/tasks/exec-added', namespace: 'moby', id: ID, timestamp: '', execId: 'x1' })?.Actor.Attributes, { namespace: 'moby', exec_id: 'x1' });
});

test('task events reach only clients that filter on type=task', () => {
  const t = { ...taskEvent({ topic: '/tasks/start', namespace: 'moby', id: ID, timestamp: '', pid: 7 }, { name: '/web' })!, scope: 'local' as const, time: 1, timeNano: 1e9 };
  assert.equal(matchEvent(t, {}), false, 'docker events without filters');
  assert.equal(matchEvent(t, { container: ['web'] }), false);
  assert.equal(matchEvent(t, { type: ['container'] }), false);
  assert.equal(matchEvent(t, { type: ['task'] }), true);
  assert.equal(matchEvent(t, { type: ['container', 'task'] }), true);
  assert.equal(matchEvent(t, { type: ['task'], container: ['web'] }), true);
  assert.equal(matchEvent(t, { type: ['task'], container: [ID.slice(0, 12)] }), true);
  assert.equal(matchEvent(t, { type: ['task'], container: ['db'] }), false);
  assert.equal(matchEvent(t, { type: ['task'], event: ['/tasks/start'] }), true);
  assert.equal(matchEvent(t, { type: ['task'], event: ['start'] }), true);
  assert.equal(matchEvent(t, { type: ['task'], event: ['exit'] }), false);
  // A container event is not matched by a task's topic.
  const c: EventMessage = { Type: 'container', Action: 'start', Actor: { ID, Attributes: { name: 'web' } }, scope: 'local', time: 1, timeNano: 1e9 };
  assert.equal(matchEvent(c, { event: ['/tasks/start'] }), false);
  assert.equal(matchEvent(c, { type: ['container', 'task'], container: ['web'] }), true);
});

test('task events keep a ring of their own: a busy task stream leaves docker events within reach of since', async () => {
  const bus = new EventBus();
  bus.publish({ Type: 'container', Action: 'create', Actor: { ID, Attributes: { name: 'web' } } });
  for (let i = 0; i < EVENT_RING_SIZE + 10; i++) bus.publish(taskEvent({ topic: '/tasks/exec-added', namespace: 'moby', id: ID, timestamp: '', execId: `e${i}` })!);
  bus.publish({ Type: 'container', Action: 'start', Actor: { ID, Attributes: { name: 'web' } } });
  const docker = await collect(bus, {});
  assert.deepEqual(docker.map((e) => e.Action), ['create', 'start']);
  const both = await collect(bus, { type: ['container', 'task'] });
  assert.equal(both.length, EVENT_RING_SIZE + 2, 'the oldest task events went; both container events are there');
  assert.equal(both[0]!.Action, 'create');
  assert.equal(both[1]!.Actor.Attributes.exec_id, 'e10');
  assert.equal(both.at(-1)!.Action, 'start');
  for (let i = 1; i < both.length; i++) assert.ok(both[i]!.timeNano > both[i - 1]!.timeNano, 'in time order');
});

test('image=: image events by id or name, container events by their image, each with or without the tag (dockerd\'s matchImage)', () => {
  const ev = (Type: EventMessage['Type'], Actor: EventMessage['Actor']): EventMessage => ({ Type, Action: 'x', Actor, scope: 'local', time: 1, timeNano: 1e9 });
  const img = ev('image', { ID: 'sha256:' + 'b'.repeat(64), Attributes: { name: 'busybox:latest' } });
  const ctr = ev('container', { ID, Attributes: { name: 'web', image: 'docker.io/library/busybox:1.36' } });
  const other = ev('container', { ID, Attributes: { name: 'db', image: 'localhost:5000/db:2' } });
  const net = ev('network', { ID: 'n'.repeat(64), Attributes: { name: 'busybox' } });
  for (const v of ['busybox', 'busybox:latest', 'sha256:' + 'b'.repeat(64)]) assert.equal(matchEvent(img, { image: [v] }), true, v);
  for (const v of ['busybox', 'docker.io/library/busybox:1.36']) assert.equal(matchEvent(ctr, { image: [v] }), true, v);
  assert.equal(matchEvent(ctr, { image: ['busybox:latest'] }), false);
  assert.equal(matchEvent(other, { image: ['localhost:5000/db'] }), true);
  assert.equal(matchEvent(other, { image: ['busybox'] }), false);
  assert.equal(matchEvent(net, { image: ['busybox'] }), false, 'a network is no image');
  assert.equal(matchEvent(ctr, { image: ['busybox'], type: ['image'] }), false);
});
