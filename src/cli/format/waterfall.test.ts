// The waterfall printer: tree order, indentation, offsets and durations in ms, the bar, roots whose parent is elsewhere, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SpanData } from '../../common/trace.js';
import { bar, waterfall } from './waterfall.js';

const T0 = 1_700_000_000_000_000_000n;
const sp = (spanId: string, parent: string | undefined, name: string, layer: string, fromMs: number, toMs: number, o: Partial<SpanData> = {}): SpanData => ({
  traceId: 't'.repeat(32), spanId, ...(parent ? { parentSpanId: parent } : {}), name, layer,
  start: String(T0 + BigInt(Math.round(fromMs * 1e6))), end: String(T0 + BigInt(Math.round(toMs * 1e6))), ...o,
});

test('bar: cells on a shared axis, eighths at the end, at least one eighth', () => {
  assert.equal(bar(0n, 100n, 100n, 10), '██████████');
  assert.equal(bar(50n, 100n, 100n, 10), '     █████');
  assert.equal(bar(0n, 25n, 100n, 10), '██▌');
  assert.equal(bar(30n, 30n, 100n, 10), '   ▏', 'an instant is still visible');
  assert.equal(bar(0n, 0n, 0n, 10), '▏');
});

test('waterfall: parents before children, siblings by start, depth as indentation, ms columns, bars', () => {
  // Given out of order, as spans arrive from two processes.
  const spans = [
    sp('c', 'b', 'container.start', 'engine', 1, 9),
    sp('a', undefined, 'berth run', 'cli', 0, 10),
    sp('e', 'c', 'exec', 'init', 8, 8.5),
    sp('d', 'c', 'shim', 'shim', 2, 7.25),
    sp('b', 'a', 'POST /containers/{id}/start', 'api', 0.5, 9.5),
  ];
  const out = waterfall(spans, { barWidth: 20 });
  assert.equal(out, [
    'START(ms)  TIME(ms)  LAYER   SPAN                         ',
    '     0.00     10.00  cli     berth run                      ████████████████████',
    '     0.50      9.00  api       POST /containers/{id}/start   ██████████████████',
    '     1.00      8.00  engine      container.start              ████████████████',
    '     2.00      5.25  shim          shim                         ██████████▌',
    '     8.00      0.50  init          exec                                     █',
    '',
  ].join('\n'));
});

test('waterfall: a span whose parent is not given is a root; errors are shown; long names are clipped', () => {
  const spans = [
    sp('x', 'remote0000000000', 'POST /containers/create', 'api', 0, 4),
    sp('y', 'x', 'a'.repeat(80), 'image', 1, 2, { error: 'pull access denied\nfor busybox' }),
  ];
  const lines = waterfall(spans, { barWidth: 8, nameWidth: 20 }).split('\n');
  assert.match(lines[1]!, /^ {5}0\.00 {6}4\.00  api {4}POST \/containers\/cr… {2}████████$/);
  assert.match(lines[2]!, /^ {5}1\.00 {6}1\.00  image {4}a{17}… {2} {2}██  error: pull access denied for busybox$/);
  assert.equal(waterfall([]), '');
});
