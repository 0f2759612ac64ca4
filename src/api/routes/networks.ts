// Network routes of the Engine API: /networks list, inspect, create, remove, prune, connect, disconnect, in dockerd's shapes.
import { errInvalid } from '../../common/errors.js';
import { matchLabels } from '../../common/label-filter.js';
import type { ContainerManager } from '../../engine/containers.js';
import type { EventBus } from '../../engine/events.js';
import type { NetworkCreateRequest, NetworkManager, NetworkRecord, NetworkWire } from '../../network/networks.js';
import type { Router } from '../router.js';
import { filtersRecord } from './containers.js';

export interface NetworkRouteDeps {
  networks: NetworkManager;
  containers: ContainerManager;
  events: EventBus;
}

/** dockerd's network list filters: driver, id (prefix), label, name (substring), scope, type (custom/builtin), dangling. */
function matches(n: NetworkRecord, f: Record<string, string[]>, inUse: (n: NetworkRecord) => boolean): boolean {
  const any = (key: string, pred: (v: string) => boolean) => !f[key]?.length || f[key]!.some(pred);
  for (const k of Object.keys(f)) {
    if (!['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling'].includes(k)) throw errInvalid(`invalid filter '${k}'`);
  }
  if (!any('driver', (v) => v === n.driver)) return false;
  if (!any('id', (v) => n.id.startsWith(v))) return false;
  if (!any('name', (v) => n.name.includes(v))) return false;
  if (!any('scope', (v) => v === 'local')) return false;
  if (!any('type', (v) => {
    if (v !== 'custom' && v !== 'builtin') throw errInvalid(`invalid filter: 'type'='${v}'`);
    return (v === 'builtin') === n.builtin;
  })) return false;
  // Labels match all of the given ones, unlike the other keys.
  if (!matchLabels(f.label, n.labels)) return false;
  if (!any('dangling', (v) => {
    const want = v === 'true' || v === '1';
    if (!['true', 'false', '1', '0'].includes(v)) throw errInvalid(`invalid filter 'dangling=${v}'`);
    return want === (!n.builtin && !inUse(n));
  })) return false;
  return true;
}

export function registerNetworkRoutes(router: Router, d: NetworkRouteDeps): void {
  const wire = (n: NetworkRecord, withContainers: boolean): NetworkWire => d.networks.toWire(n, withContainers ? d.containers.networkEndpoints(n) : {});
  const publish = (n: NetworkRecord, action: string) =>
    d.events.publish({ Type: 'network', Action: action, Actor: { ID: n.id, Attributes: { name: n.name, type: n.driver } } });

  router.get('/networks', (ctx) => {
    const f = filtersRecord(ctx.query.filters());
    return d.networks.store.list().filter((n) => matches(n, f, (x) => d.containers.networkInUse(x))).map((n) => wire(n, false));
  });

  router.get('/networks/{id}', (ctx) => wire(d.networks.resolve(ctx.params['id']!), true));

  router.post('/networks/create', async (ctx) => {
    const body = await ctx.readJson<NetworkCreateRequest>();
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw errInvalid('invalid JSON: the body must be an object');
    if (typeof body.Name !== 'string') throw errInvalid('invalid network name: Name must be a string');
    const n = d.networks.create(body);
    publish(n, 'create');
    ctx.sendJson({ Id: n.id, Warning: '' }, 201);
  });

  router.delete('/networks/{id}', async (ctx) => {
    const n = d.networks.resolve(ctx.params['id']!);
    await d.networks.remove(n.id, (x) => Object.keys(d.containers.networkEndpoints(x)));
    publish(n, 'destroy');
    ctx.sendStatus(204);
  });

  router.post('/networks/prune', async (ctx) => {
    const f = filtersRecord(ctx.query.filters());
    const deleted: string[] = [];
    const until = f.until?.[0] ? (/^\d+$/.test(f.until[0]) ? Number(f.until[0]) * 1000 : Date.parse(f.until[0])) : undefined;
    for (const n of d.networks.store.list()) {
      if (n.builtin || d.containers.networkInUse(n)) continue;
      if (until !== undefined && !(Date.parse(n.created) < until)) continue;
      if (f.label?.length && !matches(n, { label: f.label }, () => false)) continue;
      try {
        await d.networks.remove(n.id, (x) => Object.keys(d.containers.networkEndpoints(x)));
        publish(n, 'destroy');
        deleted.push(n.name);
      } catch { /* in use meanwhile */ }
    }
    return { NetworksDeleted: deleted.length ? deleted : null };
  });

  router.post('/networks/{id}/connect', async (ctx) => {
    const body = await ctx.readJson<{ Container?: string; EndpointConfig?: { Aliases?: string[] | null; IPAMConfig?: { IPv4Address?: string } | null; GwPriority?: number } }>();
    if (!body?.Container) throw errInvalid('container is required');
    await d.containers.connectNetwork(ctx.params['id']!, body.Container, body.EndpointConfig ?? {});
    ctx.sendStatus(200);
  });

  router.post('/networks/{id}/disconnect', async (ctx) => {
    const body = await ctx.readJson<{ Container?: string; Force?: boolean }>();
    if (!body?.Container) throw errInvalid('container is required');
    await d.containers.disconnectNetwork(ctx.params['id']!, body.Container, !!body.Force);
    ctx.sendStatus(200);
  });
}
