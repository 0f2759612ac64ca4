// Unit tests of the tracing core: traceparent parsing, span trees through async code, the in-memory store, the clocks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTraceparent, fromUnixNano, inSpan, now, parseTraceparent, toUnixNano, tracer, Tracer, type SpanData } from './trace.js';

const TID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SID = '00f067aa0ba902b7';

test('traceparent: the W3C format is parsed, anything malformed is refused', () => {
  assert.deepEqual(parseTraceparent(`00-${TID}-${SID}-01`), { traceId: TID, spanId: SID, flags: 1 });
  assert.deepEqual(parseTraceparent([`00-${TID}-${SID}-00`]), { traceId: TID, spanId: SID, flags: 0 });
  // A later version may carry more fields; version 00 may not.
  assert.deepEqual(parseTraceparent(`01-${TID}-${SID}-03-extra`), { traceId: TID, spanId: SID, flags: 3 });
  for (const bad of [
    undefined, '', 'garbage', `00-${TID}-${SID}-01-extra`, `ff-${TID}-${SID}-01`, `00-${TID.toUpperCase()}-${SID}-01`,
    `00-${'0'.repeat(32)}-${SID}-01`, `00-${TID}-${'0'.repeat(16)}-01`, `00-${TID.slice(1)}-${SID}-01`, `00-${TID}-${SID}-1`,
  ]) assert.equal(parseTraceparent(bad), undefined, String(bad));
  assert.equal(formatTraceparent(TID, SID), `00-${TID}-${SID}-01`);
  assert.equal(formatTraceparent(TID, SID, false), `00-${TID}-${SID}-00`);
});

test('a root span starts a trace, or continues the caller\'s', () => {
  const t = new Tracer();
  const fresh = t.startRoot('a', 'cli');
  assert.match(fresh.traceId, /^[0-9a-f]{32}$/);
  assert.match(fresh.spanId, /^[0-9a-f]{16}$/);
  assert.equal(fresh.parentSpanId, undefined);
  assert.notEqual(t.startRoot('b', 'cli').traceId, fresh.traceId);
  const cont = t.startRoot('POST /x', 'api', { parent: parseTraceparent(`00-${TID}-${SID}-01`), kind: 'server' });
  assert.equal(cont.traceId, TID);
  assert.equal(cont.parentSpanId, SID);
  assert.equal(cont.sampled, true);
  assert.match(cont.traceparent(), new RegExp(`^00-${TID}-[0-9a-f]{16}-01$`));
  assert.equal(t.startRoot('x', 'api', { parent: parseTraceparent(`00-${TID}-${SID}-00`) }).sampled, false);
});

test('inSpan: spans nest through awaits, concurrent branches keep their own parents, failures are recorded', async () => {
  const root = tracer.startRoot('berth run', 'cli');
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await tracer.run(root, async () => {
    await inSpan('create', 'engine', async () => {
      await sleep(5);
      await inSpan('snapshot', 'image', (s) => { s?.set('key', 'k1').set('skipped', undefined); });
    });
    await Promise.all([
      inSpan('left', 'network', async () => { await sleep(3); await inSpan('left.child', 'network', () => sleep(1)); }),
      inSpan('right', 'lifecycle', async () => { await sleep(1); await inSpan('right.child', 'lifecycle', () => sleep(3)); }),
    ]);
    await assert.rejects(inSpan('broken', 'shim', () => { throw new Error('no shim'); }), /no shim/);
  });
  root.finish();
  const spans = tracer.spans(root.traceId);
  const by = (n: string) => spans.find((s) => s.name === n)!;
  assert.equal(spans.length, 8);
  assert.equal(by('create').parentSpanId, root.spanId);
  assert.equal(by('snapshot').parentSpanId, by('create').spanId);
  assert.deepEqual(by('snapshot').attributes, { key: 'k1' });
  assert.equal(by('snapshot').layer, 'image');
  assert.equal(by('left.child').parentSpanId, by('left').spanId);
  assert.equal(by('right.child').parentSpanId, by('right').spanId);
  assert.equal(by('broken').error, 'no shim');
  assert.equal(by('berth run').parentSpanId, undefined);
  for (const s of spans) {
    assert.ok(BigInt(s.end) >= BigInt(s.start), s.name);
    if (s.parentSpanId) {
      const p = spans.find((x) => x.spanId === s.parentSpanId)!;
      assert.ok(BigInt(s.start) >= BigInt(p.start) && BigInt(s.end) <= BigInt(p.end), `${s.name} within ${p.name}`);
    }
  }
  // Node's timers run on the event loop's cached millisecond clock, so a 5 ms sleep can end ~1 ms early on hrtime's.
  assert.ok(BigInt(by('create').end) - BigInt(by('create').start) >= 3_000_000n, 'create lasted while it slept (5 ms)');
  // The subtree of one span: itself and what ran below it.
  assert.deepEqual(tracer.subtree(by('create')).map((s) => s.name).sort(), ['create', 'snapshot']);
  assert.equal(tracer.subtree(root).length, 8);
});

test('without a current span nothing is recorded and the work still runs; detached work leaves the trace', async () => {
  const t = new Tracer();
  const seen: unknown[] = [];
  t.addSink((s) => seen.push(s));
  assert.equal(tracer.current(), undefined);
  assert.equal(await inSpan('nothing', 'engine', (s) => (s === undefined ? 42 : 0)), 42);
  const root = tracer.startRoot('r', 'api');
  await tracer.run(root, async () => {
    assert.equal(tracer.current(), root);
    await tracer.detached(async () => {
      assert.equal(tracer.current(), undefined);
      await inSpan('monitor', 'lifecycle', () => undefined);
    });
  });
  root.finish();
  assert.deepEqual(tracer.spans(root.traceId).map((s) => s.name), ['r']);
  assert.equal(seen.length, 0);
});

test('the store keeps a bounded number of traces and spans; sinks get sampled spans only; end hooks run once', () => {
  const t = new Tracer({ maxTraces: 2, maxSpans: 3 });
  const sunk: SpanData[] = [];
  const undo = t.addSink((s) => sunk.push(s));
  const a = t.startRoot('a', 'api');
  for (let i = 0; i < 5; i++) a.child(`c${i}`, 'engine').finish();
  assert.equal(t.spans(a.traceId).length, 3);
  assert.equal(t.dropped, 2);
  let ended = 0;
  a.onEnd(() => ended++);
  a.finish();
  a.finish();
  assert.equal(ended, 1);
  a.onEnd(() => ended++);
  assert.equal(ended, 2, 'a hook on an ended span runs at once');
  const b = t.startRoot('b', 'api');
  b.finish();
  const c = t.startRoot('c', 'api', { parent: { traceId: TID, spanId: SID, flags: 0 } });
  c.finish();
  assert.deepEqual(t.spans(a.traceId), [], 'the oldest trace went');
  assert.equal(t.spans(c.traceId).length, 1);
  assert.ok(!sunk.some((s) => s.traceId === TID), 'an unsampled trace is kept but not exported');
  assert.equal(sunk.length, 5 + 1 + 1);
  undo();
  t.startRoot('d', 'api').finish();
  assert.equal(sunk.length, 7);
});

test('span times: hrtime maps onto unix time both ways; an end before the start is clamped', () => {
  const t = now();
  const unixMs = Number(toUnixNano(t) / 1_000_000n);
  assert.ok(Math.abs(unixMs - Date.now()) < 50, `${unixMs} vs ${Date.now()}`);
  assert.equal(fromUnixNano(toUnixNano(t)), t);
  const tr = new Tracer();
  const s = tr.startRoot('x', 'init', { start: t });
  s.finish(t - 5n);
  const [d] = tr.spans(s.traceId);
  assert.equal(d!.start, d!.end);
});
