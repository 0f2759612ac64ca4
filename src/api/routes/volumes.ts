// Volume routes of the Engine API: list, create (201), inspect, remove (204, `force`), prune, in Docker's shapes.
import { errInvalid } from '../../common/errors.js';
import type { VolumeService } from '../../volumes/service.js';
import type { VolumeCreateRequest } from '../../volumes/types.js';
import type { Router } from '../router.js';
import { filtersRecord } from './containers.js';

const isStringMap = (v: unknown) => v === undefined || v === null || (typeof v === 'object' && !Array.isArray(v) && Object.values(v as object).every((x) => typeof x === 'string'));

/** Register the /volumes routes. */
export function registerVolumeRoutes(router: Router, volumes: VolumeService): void {
  router.get('/volumes', (ctx) => volumes.list(filtersRecord(ctx.query.filters())));

  router.post('/volumes/create', async (ctx) => {
    const body = (await ctx.readJson<VolumeCreateRequest>()) ?? {};
    if (typeof body !== 'object' || Array.isArray(body)) throw errInvalid('invalid JSON: the body must be an object');
    if (body.Name !== undefined && typeof body.Name !== 'string') throw errInvalid('invalid JSON: Name must be a string');
    if (body.Driver !== undefined && typeof body.Driver !== 'string') throw errInvalid('invalid JSON: Driver must be a string');
    if (!isStringMap(body.DriverOpts)) throw errInvalid('invalid JSON: DriverOpts must be an object of strings');
    if (!isStringMap(body.Labels)) throw errInvalid('invalid JSON: Labels must be an object of strings');
    if ((body as { ClusterVolumeSpec?: unknown }).ClusterVolumeSpec && ctx.versionAtLeast('1.42')) {
      throw errInvalid('cluster volumes need a swarm manager; Berth is not one');
    }
    ctx.sendJson(await volumes.create(body), 201);
  });

  router.post('/volumes/prune', async (ctx) => {
    const filters = filtersRecord(ctx.query.filters());
    // API 1.42 made prune consider only anonymous volumes; older clients keep pruning all.
    if (!ctx.versionAtLeast('1.42')) filters.all = ['true'];
    return volumes.prune(filters);
  });

  router.get('/volumes/{name}', (ctx) => volumes.inspect(ctx.params['name']!));

  router.delete('/volumes/{name}', async (ctx) => {
    await volumes.remove(ctx.params['name']!, { force: ctx.query.bool('force') });
    ctx.sendStatus(204);
  });
}
