// Berth's trace routes (not in Docker's API): a container's last start, and any recent trace by id (docs/engine.md "Traces").
import { errInvalid, errNotFound } from '../../common/errors.js';
import type { Tracer } from '../../common/trace.js';
import type { ContainerService } from '../../engine/types.js';
import type { Router } from '../router.js';
import { toWireSpan, type WireTrace } from '../trace-wire.js';

/** Register GET /containers/{id}/trace and GET /traces/{traceId}. */
export function registerTraceRoutes(router: Router, o: { containers: Pick<ContainerService, 'startTrace'>; tracer: Tracer }): void {
  router.get('/containers/{id}/trace', async (ctx): Promise<WireTrace> => {
    const t = await o.containers.startTrace(ctx.params['id']!);
    return { ID: t.id, TraceID: t.traceId, Spans: t.spans.map(toWireSpan) };
  });

  router.get('/traces/{traceId}', (ctx): WireTrace => {
    const id = ctx.params['traceId']!;
    if (!/^[0-9a-f]{32}$/.test(id)) throw errInvalid(`invalid trace id ${JSON.stringify(id)}: 32 lower-case hex digits expected`);
    const spans = o.tracer.spans(id);
    if (!spans.length) throw errNotFound(`trace ${id} not found: berthd keeps only recent traces, in memory`);
    return { TraceID: id, Spans: spans.map(toWireSpan) };
  });
}
