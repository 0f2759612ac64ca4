// berth-init's phases as spans: consecutive, nested under one berth-init span, clamped into their parent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tracer, toUnixNano } from '../common/trace.js';
import { recordInitPhases } from './init-phases.js';

test('phases become consecutive child spans of a berth-init span, from the fork to the last phase', () => {
  const t = new Tracer();
  const base = 1_000_000_000n;
  const shim = t.startRoot('shim', 'shim', { start: base });
  const at = (ms: number) => Number(base) + ms * 1e6;
  recordInitPhases(shim, at(1), [['bootstrap', at(2)], ['clone', at(2.5)], ['mounts', at(4)], ['ready', at(5)]]);
  shim.finish(base + 6_000_000n);
  const spans = t.spans(shim.traceId);
  const init = spans.find((s) => s.name === 'berth-init')!;
  assert.equal(init.parentSpanId, shim.spanId);
  assert.equal(init.layer, 'init');
  assert.equal(BigInt(init.start), toUnixNano(base + 1_000_000n));
  assert.equal(BigInt(init.end), toUnixNano(base + 5_000_000n));
  const phases = spans.filter((s) => s.parentSpanId === init.spanId);
  assert.deepEqual(phases.map((s) => s.name), ['bootstrap', 'clone', 'mounts', 'ready']);
  assert.deepEqual(phases.map((s) => Number(BigInt(s.end) - BigInt(s.start)) / 1e6), [1, 0.5, 1.5, 1]);
  for (let i = 1; i < phases.length; i++) assert.equal(phases[i]!.start, phases[i - 1]!.end, 'each starts where the one before ended');
});

test('times out of order are clamped; no phases, no spans', () => {
  const t = new Tracer();
  const shim = t.startRoot('shim', 'shim', { start: 1_000_000n });
  shim.finish(9_000_000n);
  // A clock shifted by a time namespace: before the fork, then far beyond the shim's end.
  recordInitPhases(shim, 2_000_000, [['bootstrap', 3_000_000], ['namespaces', 500], ['mounts', 99_000_000_000]]);
  const spans = t.spans(shim.traceId).filter((s) => s.name !== 'shim');
  for (const s of spans) {
    assert.ok(BigInt(s.start) >= toUnixNano(1_000_000n) && BigInt(s.end) <= toUnixNano(9_000_000n), s.name);
    assert.ok(BigInt(s.end) >= BigInt(s.start), s.name);
  }
  const before = t.spans(shim.traceId).length;
  recordInitPhases(shim, undefined, [['bootstrap', 1]]);
  recordInitPhases(shim, 5, []);
  assert.equal(t.spans(shim.traceId).length, before);
});
