// OTLP export: the environment's config, the JSON encoding, and batches against a real HTTP receiver on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeOtlpJson, OtlpExporter, otlpConfigFromEnv } from './otlp.js';
import type { SpanData } from './trace.js';

const span = (i: number, o: Partial<SpanData> = {}): SpanData => ({
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: (0x1000 + i).toString(16).padStart(16, '0'), name: `s${i}`, layer: 'engine',
  start: '1700000000000000000', end: '1700000000001500000', ...o,
});

test('config from the environment: the base endpoint gets /v1/traces, the signal endpoint is used as is; off switches', () => {
  assert.deepEqual(otlpConfigFromEnv({}, 'berthd'), {});
  const base = otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' }, 'berthd').config!;
  assert.equal(base.url.href, 'http://127.0.0.1:4318/v1/traces');
  assert.equal(base.serviceName, 'berthd');
  const sig = otlpConfigFromEnv({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:1', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b:2/custom', OTEL_SERVICE_NAME: 'mine',
    OTEL_EXPORTER_OTLP_HEADERS: 'api-key=s%20ecret,bad,x=1', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x=2',
  }, 'berth').config!;
  assert.equal(sig.url.href, 'https://b:2/custom');
  assert.equal(sig.serviceName, 'mine');
  assert.deepEqual(sig.headers, { 'api-key': 's ecret', x: '2' });
  assert.deepEqual(otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:1', OTEL_SDK_DISABLED: 'true' }, 'b'), {});
  assert.deepEqual(otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:1', OTEL_TRACES_EXPORTER: 'none' }, 'b'), {});
  assert.match(otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }, 'b').problem!, /not a URL/);
  assert.match(otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x' }, 'b').problem!, /only http/);
});

test('the OTLP/JSON encoding: hex ids, times as strings, integer enums, typed attributes, error status', () => {
  const body = JSON.parse(encodeOtlpJson([
    span(1, { parentSpanId: 'aaaaaaaaaaaaaaaa', kind: 'server', attributes: { 'http.status_code': 204, ok: true, ratio: 0.5, path: '/x' } }),
    span(2, { error: 'boom' }),
  ], { 'service.name': 'berthd' }, { name: 'berth', version: '0.1.0' }));
  const rs = body.resourceSpans[0];
  assert.deepEqual(rs.resource.attributes, [{ key: 'service.name', value: { stringValue: 'berthd' } }]);
  assert.deepEqual(rs.scopeSpans[0].scope, { name: 'berth', version: '0.1.0' });
  const [a, b] = rs.scopeSpans[0].spans;
  assert.equal(a.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(a.spanId, '0000000000001001');
  assert.equal(a.parentSpanId, 'aaaaaaaaaaaaaaaa');
  assert.equal(a.kind, 2);
  assert.equal(a.startTimeUnixNano, '1700000000000000000');
  assert.equal(a.endTimeUnixNano, '1700000000001500000');
  assert.deepEqual(a.attributes, [
    { key: 'berth.layer', value: { stringValue: 'engine' } },
    { key: 'http.status_code', value: { intValue: '204' } },
    { key: 'ok', value: { boolValue: true } },
    { key: 'ratio', value: { doubleValue: 0.5 } },
    { key: 'path', value: { stringValue: '/x' } },
  ]);
  assert.equal(a.status, undefined);
  assert.equal(b.kind, 1);
  assert.equal(b.parentSpanId, undefined);
  assert.deepEqual(b.status, { code: 2, message: 'boom' });
});

/** A receiver on loopback that answers with `status` and keeps what it got. */
async function receiver(status = 200): Promise<{ url: string; got: Array<{ path: string; type: string; body: any; headers: http.IncomingHttpHeaders }>; close: () => Promise<void> }> {
  const got: Array<{ path: string; type: string; body: any; headers: http.IncomingHttpHeaders }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', type: String(req.headers['content-type']), body: JSON.parse(Buffer.concat(chunks).toString()), headers: req.headers });
      res.writeHead(status, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, got, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

test('batches reach the receiver as POST /v1/traces with JSON; flush sends what waits', async () => {
  const rcv = await receiver();
  try {
    const { config } = otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: rcv.url, OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20t' }, 'berthd');
    const ex = new OtlpExporter(config!, { maxBatch: 4, delayMs: 10_000, resource: { 'service.version': '0.1.0' } });
    for (let i = 0; i < 10; i++) ex.add(span(i));
    await ex.flush(5000);
    assert.equal(ex.exported, 10);
    assert.equal(ex.dropped, 0);
    assert.deepEqual(rcv.got.map((g) => g.body.resourceSpans[0].scopeSpans[0].spans.length), [4, 4, 2]);
    for (const g of rcv.got) {
      assert.equal(g.path, '/v1/traces');
      assert.equal(g.type, 'application/json');
      assert.equal(g.headers.authorization, 'Bearer t');
      assert.deepEqual(g.body.resourceSpans[0].resource.attributes.map((a: { key: string }) => a.key), ['service.name', 'service.version']);
    }
    const names = rcv.got.flatMap((g) => g.body.resourceSpans[0].scopeSpans[0].spans.map((s: { name: string }) => s.name));
    assert.deepEqual(names, Array.from({ length: 10 }, (_, i) => `s${i}`));
    // Without a flush the timer sends what waits.
    const quick = new OtlpExporter(config!, { delayMs: 20 });
    quick.add(span(99));
    for (let i = 0; i < 100 && quick.exported === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(quick.exported, 1);
    await ex.shutdown();
    await quick.shutdown();
  } finally {
    await rcv.close();
  }
});

test('failures drop the batch and count it: an error status, a receiver that is not there, a full queue', async () => {
  const rcv = await receiver(500);
  const errors: string[] = [];
  try {
    const { config } = otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: rcv.url }, 'b');
    const ex = new OtlpExporter(config!, { onError: (m) => errors.push(m) });
    ex.add(span(1));
    ex.add(span(2));
    await ex.flush();
    assert.equal(ex.dropped, 2);
    assert.equal(ex.exported, 0);
    assert.match(errors[0]!, /HTTP 500/);
    await ex.shutdown();
  } finally {
    await rcv.close();
  }
  // The port just closed: nobody listens there.
  const gone = new OtlpExporter(otlpConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: rcv.url }, 'b').config!, { maxQueue: 3, onError: (m) => errors.push(m) });
  for (let i = 0; i < 5; i++) gone.add(span(i));
  assert.equal(gone.dropped, 2, 'beyond maxQueue');
  await gone.flush();
  assert.equal(gone.dropped, 5);
  assert.match(errors.at(-1)!, /ECONNREFUSED/);
  await gone.shutdown();
});
