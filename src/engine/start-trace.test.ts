// The last start's trace: taken when the request ends, completed by exec, process and exit, persisted and read back from trace.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLogger } from '../common/log.js';
import { inSpan, now, toUnixNano, tracer } from '../common/trace.js';
import { rfc3339ToUnixNano, StartTraces, TRACE_FILE } from './start-trace.js';

test('rfc3339ToUnixNano keeps every digit the shim writes', () => {
  assert.equal(rfc3339ToUnixNano('2024-05-06T07:08:09.123456789Z'), 1714979289123456789n);
  assert.equal(rfc3339ToUnixNano('2024-05-06T07:08:09Z'), 1714979289000000000n);
  assert.equal(rfc3339ToUnixNano('2024-05-06T09:08:09.5+02:00'), 1714979289500000000n);
  assert.equal(rfc3339ToUnixNano('0001-01-01T00:00:00Z') !== undefined, true);
  assert.equal(rfc3339ToUnixNano('yesterday'), undefined);
});

test('a start: recorded when its request ends, completed by exec, process and exit, read back after a restart', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'berth-start-trace-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dirOf = (id: string) => join(root, id);
  mkdirSync(dirOf('c1'));
  const traces = new StartTraces(dirOf, nullLogger);
  assert.equal(traces.get('c1'), undefined, 'never started');

  // The API request's span, the engine's start below it, the lifecycle's steps below that.
  const api = tracer.startRoot('POST /containers/{id}/start', 'api', { kind: 'server' });
  let start!: ReturnType<typeof tracer.startRoot>;
  await tracer.run(api, () => inSpan('container.start', 'engine', async (s) => {
    start = s!;
    traces.begin('c1', s!);
    await inSpan('task.create', 'lifecycle', () => undefined);
    await inSpan('task.start', 'lifecycle', () => undefined);
  }));
  const execNs = Number(now());
  assert.equal(existsSync(join(dirOf('c1'), TRACE_FILE)), false, 'nothing written before the request ended');
  api.finish();
  await traces.flush();
  const saved = JSON.parse(readFileSync(join(dirOf('c1'), TRACE_FILE), 'utf8')) as { traceId: string; spans: Array<{ name: string }> };
  assert.equal(saved.traceId, api.traceId);
  assert.deepEqual(saved.spans.map((s) => s.name), ['POST /containers/{id}/start', 'container.start', 'task.create', 'task.start']);
  assert.equal(traces.needsExec('c1'), true);

  // The exit: berth-init's execve, the process, the engine's exit span.
  traces.exec('c1', execNs);
  traces.exec('c1', execNs + 5);
  assert.equal(traces.needsExec('c1'), false);
  const finished = new Date(Number(toUnixNano(now()) / 1_000_000n) + 5).toISOString();
  traces.process('c1', finished, { 'process.exit_code': 3 });
  const exit = tracer.startRoot('container.exit', 'engine', { parent: traces.anchor('c1') });
  traces.extend('c1', exit);
  await tracer.run(exit, () => inSpan('task.delete', 'lifecycle', () => undefined));
  exit.finish();
  await traces.flush();

  const got = traces.get('c1')!;
  const by = (n: string) => got.spans.filter((s) => s.name === n);
  assert.equal(got.traceId, api.traceId);
  assert.equal(by('exec').length, 1, 'exec once');
  const taskStart = by('task.start')[0]!;
  assert.equal(by('exec')[0]!.parentSpanId, taskStart.spanId);
  assert.equal(by('exec')[0]!.start, taskStart.start);
  assert.equal(BigInt(by('exec')[0]!.end), toUnixNano(BigInt(execNs)));
  assert.equal(by('process')[0]!.parentSpanId, start.spanId);
  assert.equal(by('process')[0]!.start, by('exec')[0]!.end);
  assert.equal(by('process')[0]!.attributes?.['process.exit_code'], 3);
  assert.equal(by('container.exit')[0]!.parentSpanId, start.spanId);
  assert.equal(by('task.delete')[0]!.parentSpanId, exit.spanId);

  // Another engine (berthd restarted) reads the file.
  const again = new StartTraces(dirOf, nullLogger).get('c1')!;
  assert.deepEqual(again.spans.map((s) => s.spanId).sort(), got.spans.map((s) => s.spanId).sort());

  // A newer start replaces it; a removed container has none.
  const api2 = tracer.startRoot('POST /containers/{id}/start', 'api');
  await tracer.run(api2, () => inSpan('container.start', 'engine', (s) => { traces.begin('c1', s!); }));
  api2.finish();
  await traces.flush();
  assert.equal(traces.get('c1')!.traceId, api2.traceId);
  assert.equal(new StartTraces(dirOf, nullLogger).get('c1')!.traceId, api2.traceId, 'the file follows');
  traces.forget('c1');
  rmSync(dirOf('c1'), { recursive: true });
  assert.equal(traces.get('c1'), undefined);
});
