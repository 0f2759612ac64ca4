// Tracing end to end: `berth run --trace` (the waterfall on stderr), `berth inspect --trace` (the last start), and OTLP
// export from berthd (and the CLI) to a small receiver in this test on 127.0.0.1, one trace id across both.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { berthdSkipReason, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { buildDockerSaveTar } from '../fixtures/image.js';
import { registrySkipReason, startRegistry } from '../fixtures/registry.js';
import { repoRoot } from '../fixtures/rootfs.js';

const BERTH = join(repoRoot, 'bin', 'berth.cjs');
const skip =
  berthdSkipReason() ??
  (existsSync(join(repoRoot, 'dist', 'berth.cjs')) ? undefined : 'the berth bundle is not built (node scripts/bundle.mjs)') ??
  (existsSync(join(repoRoot, 'dist', 'src', 'engine', 'engine.js')) ? undefined : 'the engine is not built');

interface Result { code: number | null; stdout: string; stderr: string }
interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; startTimeUnixNano: string; endTimeUnixNano: string; attributes: Array<{ key: string; value: Record<string, unknown> }> }
interface Received { service: string; span: OtlpSpan }

let d: Berthd;
let tmp: string;
let receiver: http.Server;
let endpoint: string;
const received: Received[] = [];
const requests: Array<{ path: string; type: string }> = [];

function berth(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BERTH, '-H', d.host, ...args], {
      env: { PATH: process.env['PATH'], HOME: tmp, DOCKER_CONFIG: join(tmp, 'config'), LANG: 'C', BERTH_NO_AUTOSTART: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end();
  });
}

/** One waterfall line: offset and duration (ms), layer, depth (indentation), name. */
interface Row { start: number; dur: number; end: number; layer: string; depth: number; name: string; line: string }

function parseWaterfall(text: string): Row[] {
  const lines = text.split('\n');
  const h = lines.findIndex((l) => /^\s*START\(ms\)\s+TIME\(ms\)\s+LAYER\s+SPAN/.test(l));
  if (h < 0) return [];
  // Columns from the header: the layer is padded, the name indented by depth (two spaces a level).
  const layerCol = lines[h]!.indexOf('LAYER');
  const nameCol = lines[h]!.indexOf('SPAN');
  const rows: Row[] = [];
  for (const line of lines.slice(h + 1)) {
    const m = /^\s*(\d+\.\d\d)\s+(\d+\.\d\d)\s/.exec(line);
    if (!m) break;
    const rest = line.slice(nameCol);
    const indent = /^ */.exec(rest)![0].length;
    const start = Number(m[1]);
    const dur = Number(m[2]);
    const name = rest.slice(indent).replace(/\s{2,}[ █▏▎▍▌▋▊▉]+(?:\s{2}error: .*)?$/, '');
    rows.push({ start, dur, end: start + dur, layer: line.slice(layerCol, nameCol).trim(), depth: indent / 2, name, line });
  }
  return rows;
}

/** The row named `name` of `layer` (the only one), failing with the waterfall when missing. */
function row(rows: Row[], layer: string, name: string, text: string): Row {
  const found = rows.filter((r) => r.layer === layer && r.name === name);
  assert.equal(found.length, 1, `one ${layer} span "${name}" in:\n${text}`);
  return found[0]!;
}

/** The nearest row above `r` one level up: its parent in the waterfall. */
function parentOf(rows: Row[], r: Row): Row | undefined {
  for (let i = rows.indexOf(r) - 1; i >= 0; i--) if (rows[i]!.depth === r.depth - 1) return rows[i];
  return undefined;
}

/** `inner` lies within `outer` (offsets are printed to 0.01 ms). */
function within(inner: Row, outer: Row, slack = 0.02): void {
  assert.ok(inner.start >= outer.start - slack && inner.end <= outer.end + slack, `${inner.line}\n  is not within\n${outer.line}`);
}

async function until<T>(what: string, fn: () => T | undefined, ms = 10000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('tracing', { skip }, () => {
  let runTraceId = '';
  let runStderr = '';
  let containerId = '';

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-trace-e2e-'));
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        requests.push({ path: req.url ?? '', type: String(req.headers['content-type']) });
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as { resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }; scopeSpans: Array<{ spans: OtlpSpan[] }> }> };
          for (const rs of body.resourceSpans) {
            const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
            for (const ss of rs.scopeSpans) for (const span of ss.spans) received.push({ service, span });
          }
          res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    d = await startBerthd({ prefix: 'berth-trace-e2e-', env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } });
    const load = await berth(['load', '-i', buildDockerSaveTar(tmp, 'busybox:latest')]);
    assert.equal(load.code, 0, load.stderr);
  });

  after(async () => {
    await d?.stop();
    await new Promise<void>((r) => { receiver?.closeAllConnections(); receiver ? receiver.close(() => r()) : r(); });
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('run --trace: the container runs as without it, then the waterfall of every layer on stderr', async () => {
    const r = await berth(['run', '--trace', '--name', 'traced', '--network', 'none', 'busybox', 'echo', 'hi']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hi\n', 'stdout is the container\'s alone');
    runStderr = r.stderr;
    const m = /^trace ([0-9a-f]{32})\n/.exec(r.stderr);
    assert.ok(m, r.stderr);
    runTraceId = m[1]!;
    assert.match(r.stderr.split('\n')[1]!, /^START\(ms\)\s+TIME\(ms\)\s+LAYER\s+SPAN\s*$/);
    const rows = parseWaterfall(r.stderr);
    const w = (layer: string, name: string) => row(rows, layer, name, r.stderr);

    // The command, its requests (cli), and berthd's spans below each request (api, engine...).
    const root = w('cli', 'berth run');
    assert.equal(root.depth, 0);
    assert.equal(rows[0], root, 'the root comes first');
    const cliStart = w('cli', 'POST /containers/{id}/start');
    const apiStart = w('api', 'POST /containers/{id}/start');
    assert.equal(parentOf(rows, apiStart), cliStart, 'berthd continues the CLI\'s trace below its request');
    const apiCreate = w('api', 'POST /containers/create');
    const cliCreate = w('cli', 'POST /containers/create');
    assert.equal(parentOf(rows, apiCreate), cliCreate);
    // Across the two processes only causality holds: berthd gets a request after the CLI sent it (the
    // clocks agree to microseconds); a server span may end after its client saw the answer.
    for (const [api, cli] of [[apiStart, cliStart], [apiCreate, cliCreate]] as const) assert.ok(api.start >= cli.start - 0.05, `${api.line}\n  before\n${cli.line}`);
    assert.equal(parentOf(rows, w('engine', 'container.create')), apiCreate);
    assert.equal(parentOf(rows, w('image', 'image.resolve')), w('engine', 'container.create'));
    assert.equal(parentOf(rows, w('image', 'snapshot.prepare')), w('engine', 'container.create'));

    // The start: engine -> lifecycle -> shim -> berth-init and its phases, each inside its parent.
    const start = w('engine', 'container.start');
    assert.equal(parentOf(rows, start), apiStart);
    within(start, apiStart);
    const mount = w('image', 'rootfs.mount');
    const taskCreate = w('lifecycle', 'task.create');
    const taskStart = w('lifecycle', 'task.start');
    for (const x of [mount, taskCreate, taskStart]) {
      assert.equal(parentOf(rows, x), start);
      within(x, start);
    }
    assert.ok(mount.end <= taskCreate.start + 0.01 && taskCreate.end <= taskStart.start + 0.01, 'mount, create the task, start it: in that order');
    const plan = w('runtime', 'plan');
    const shim = w('shim', 'shim');
    assert.equal(parentOf(rows, plan), taskCreate);
    assert.equal(parentOf(rows, shim), taskCreate);
    within(shim, taskCreate);
    const init = w('init', 'berth-init');
    assert.equal(parentOf(rows, init), shim);
    within(init, shim);
    const phases = rows.filter((x) => parentOf(rows, x) === init);
    const names = phases.map((x) => x.name);
    for (const n of ['bootstrap', 'cgroup', 'clone', 'namespaces', 'mounts', 'pivot', 'paths', 'seccomp', 'security', 'ready']) assert.ok(names.includes(n), `phase ${n} in ${names.join(' ')}`);
    assert.deepEqual(names.filter((n) => ['clone', 'namespaces', 'mounts', 'pivot', 'ready'].includes(n)), ['clone', 'namespaces', 'mounts', 'pivot', 'ready'], 'the phases in the order berth-init runs them');
    for (let i = 1; i < phases.length; i++) assert.ok(phases[i]!.start >= phases[i - 1]!.end - 0.02, `${phases[i]!.line} starts after\n${phases[i - 1]!.line}`);
    for (const p of phases) within(p, init);

    // The execve, timed by berth-init after the start was released; then the process, the output, the exit.
    const exec = w('init', 'exec');
    assert.equal(parentOf(rows, exec), taskStart);
    assert.ok(exec.start >= taskStart.start - 0.01 && exec.end >= init.end, exec.line);
    const proc = w('container', 'process');
    assert.equal(parentOf(rows, proc), start);
    assert.ok(proc.start >= exec.end - 0.02, proc.line);
    const first = w('cli', 'first output');
    assert.equal(parentOf(rows, first), root);
    // Across two processes the clocks agree to well under a millisecond (same host, same CLOCK_MONOTONIC).
    assert.ok(first.start <= cliStart.start + 0.01 && first.end >= exec.end - 1, `${first.line}\n${exec.line}`);
    const exit = w('engine', 'container.exit');
    assert.equal(parentOf(rows, exit), start);
    assert.ok(exit.start >= proc.end - 1, exit.line);
    assert.ok(rows.some((x) => x.layer === 'lifecycle' && x.name === 'task.delete' && parentOf(rows, x) === exit), 'the exit deletes the task');
    const wait = w('cli', 'POST /containers/{id}/wait');
    assert.ok(wait.end >= exit.end - 1, 'the wait ends after the exit was applied');
    const inspect = await berth(['inspect', '--format', '{{.Id}}', 'traced']);
    containerId = inspect.stdout.trim();
  });

  test('inspect --trace: the waterfall of the last start, the same trace; --format json; none before a start', async () => {
    assert.ok(runTraceId, 'the run test ran');
    const r = await berth(['inspect', '--trace', 'traced']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^traced \\(${containerId.slice(0, 12)}\\): trace ${runTraceId}\\n`));
    const rows = parseWaterfall(r.stdout);
    const w = (layer: string, name: string) => row(rows, layer, name, r.stdout);
    const apiStart = w('api', 'POST /containers/{id}/start');
    assert.equal(apiStart.depth, 0, 'the start request is the root');
    assert.equal(apiStart.start, 0);
    for (const [layer, name] of [['engine', 'container.start'], ['lifecycle', 'task.create'], ['shim', 'shim'], ['init', 'clone'], ['init', 'pivot'], ['init', 'exec'], ['container', 'process'], ['engine', 'container.exit']] as const) w(layer, name);
    assert.ok(!rows.some((x) => x.name === 'POST /containers/create'), 'only the start, not the whole run');
    // The same spans as in the run's waterfall (the durations match).
    const inRun = parseWaterfall(runStderr);
    assert.equal(w('init', 'clone').dur, row(inRun, 'init', 'clone', runStderr).dur);

    const json = await berth(['container', 'inspect', '--trace', '--format', 'json', 'traced']);
    assert.equal(json.code, 0, json.stderr);
    const docs = JSON.parse(json.stdout) as Array<{ ID: string; TraceID: string; Spans: Array<{ TraceID: string; SpanID: string; Name: string; Layer: string; StartUnixNano: string; EndUnixNano: string }> }>;
    assert.equal(docs.length, 1);
    assert.equal(docs[0]!.ID, containerId);
    assert.equal(docs[0]!.TraceID, runTraceId);
    assert.ok(docs[0]!.Spans.every((s) => s.TraceID === runTraceId && /^[0-9a-f]{16}$/.test(s.SpanID) && BigInt(s.EndUnixNano) >= BigInt(s.StartUnixNano)));

    // Started again (by `berth start`): the last start is the new one, in a trace of its own.
    assert.equal((await berth(['start', '-a', 'traced'])).stdout, 'hi\n');
    const again = await berth(['inspect', '--trace', 'traced']);
    assert.equal(again.code, 0, again.stderr);
    const m = /trace ([0-9a-f]{32})\n/.exec(again.stdout);
    assert.ok(m && m[1] !== runTraceId, again.stdout);
    assert.ok(parseWaterfall(again.stdout).some((x) => x.layer === 'init' && x.name === 'exec'));

    const created = await berth(['create', '--name', 'never-started', '--network', 'none', 'busybox', 'true']);
    assert.equal(created.code, 0, created.stderr);
    const none = await berth(['inspect', '--trace', 'never-started']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^Error response from daemon: no start trace recorded for container [0-9a-f]{64}: it has not been started/);
    const missing = await berth(['inspect', '--trace', 'no-such-container']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No such container: no-such-container/);
  });

  test('OTLP: berthd exported the run\'s spans as one trace, below the CLI\'s; with the endpoint set the CLI exports its own', async () => {
    assert.ok(runTraceId, 'the run test ran');
    const ofRun = await until('berthd\'s spans of the run', () => {
      const got = received.filter((x) => x.span.traceId === runTraceId);
      return got.some((x) => x.span.name === 'container.exit') ? got : undefined;
    });
    assert.ok(requests.every((q) => q.path === '/v1/traces' && q.type === 'application/json'), JSON.stringify(requests.slice(0, 3)));
    assert.ok(ofRun.every((x) => x.service === 'berthd'), 'only berthd exports (the CLI had no endpoint)');
    const names = new Set(ofRun.map((x) => x.span.name));
    for (const n of ['POST /containers/create', 'POST /containers/{id}/start', 'container.create', 'container.start', 'task.create', 'shim', 'berth-init', 'clone', 'namespaces', 'mounts', 'pivot', 'exec', 'process', 'container.exit']) {
      assert.ok(names.has(n), `${n} exported (got ${[...names].join(', ')})`);
    }
    const ids = new Set(ofRun.map((x) => x.span.spanId));
    assert.equal(ids.size, ofRun.length, 'each span once');
    // The API spans hang below spans berthd does not have: the CLI's requests.
    const api = ofRun.filter((x) => x.span.kind === 2);
    assert.ok(api.length >= 3 && api.every((x) => x.span.parentSpanId && !ids.has(x.span.parentSpanId)), 'server spans continue the CLI\'s');
    for (const x of ofRun) {
      assert.ok(x.span.parentSpanId === undefined || ids.has(x.span.parentSpanId) || x.span.kind === 2, `${x.span.name}: its parent is in the trace`);
      assert.ok(BigInt(x.span.endTimeUnixNano) >= BigInt(x.span.startTimeUnixNano));
      assert.equal(x.span.attributes.find((a) => a.key === 'berth.layer') !== undefined, true);
    }
    const start = ofRun.find((x) => x.span.name === 'container.start')!;
    assert.equal(start.span.attributes.find((a) => a.key === 'container.id')?.value.stringValue, containerId);

    // The CLI with the endpoint: its own spans (service berth) and berthd's share the trace id.
    const r = await berth(['run', '--rm', '--network', 'none', 'busybox', 'true'], { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'no waterfall without --trace');
    const cliRoot = await until('the CLI\'s root span', () => received.find((x) => x.service === 'berth' && x.span.name === 'berth run'));
    assert.equal(cliRoot.span.parentSpanId, undefined);
    const both = await until('berthd\'s spans of the second run', () => {
      const got = received.filter((x) => x.span.traceId === cliRoot.span.traceId);
      return got.some((x) => x.service === 'berthd' && x.span.name === 'container.remove') ? got : undefined;
    });
    const cliIds = new Set(both.filter((x) => x.service === 'berth').map((x) => x.span.spanId));
    const apiStart = both.find((x) => x.service === 'berthd' && x.span.name === 'POST /containers/{id}/start')!;
    assert.ok(cliIds.has(apiStart.span.parentSpanId!), 'berthd\'s start request is a child of the CLI\'s');
    assert.ok(both.some((x) => x.service === 'berth' && x.span.kind === 3 && x.span.name === 'POST /containers/{id}/start'));
  });

  test('the daemon log: lines the engine writes while serving a request carry its request id and trace id', async () => {
    const run = d.docker(['run', '-d', '--name', 'reqid', '--network', 'none', 'busybox', 'sleep', '600']);
    assert.equal(run.status, 0, run.stderr);
    const id = run.stdout.trim();
    // sleep as PID 1 ignores SIGTERM, so the engine kills it at the timeout and says so.
    const stop = d.docker(['stop', '-t', '1', 'reqid']);
    assert.equal(stop.status, 0, stop.stderr);
    assert.equal(d.docker(['rm', 'reqid']).status, 0);
    // berthd logs "request done" once the response has gone out, which can be just after the CLI
    // returned: read the log until the last request's line is there (a torn last line is skipped).
    const read = () => readFileSync(d.log, 'utf8').split('\n').flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
    const lines = await until('the rm request\'s line', () => {
      const all = read();
      return all.some((l) => l['msg'] === 'request done' && l['method'] === 'DELETE' && /\/containers\/reqid$/.test(String(l['path']))) ? all : undefined;
    });
    const byEngine = (msg: string) => lines.find((l) => l['component'] === 'engine' && l['msg'] === msg && l['id'] === id);
    for (const [msg, method, path] of [
      ['stop: timeout reached, killing', 'POST', /\/containers\/reqid\/stop$/],
      ['container create', 'POST', /\/containers\/create$/],
      ['container destroy', 'DELETE', /\/containers\/reqid$/],
    ] as const) {
      const line = byEngine(msg);
      assert.ok(line, `${msg}: the engine's line is logged`);
      assert.match(String(line['reqId']), /^[0-9a-f]{16}$/);
      assert.match(String(line['traceId']), /^[0-9a-f]{32}$/);
      // The API's own line for the request with that id is the request that caused it.
      const request = lines.find((l) => l['msg'] === 'request done' && l['reqId'] === line['reqId']);
      assert.ok(request, `${msg}: a request with its id was served`);
      assert.equal(request['method'], method);
      assert.match(String(request['path']), path);
    }
    // Work no request caused (the exit monitor) names none.
    const die = byEngine('container die');
    assert.ok(die && die['reqId'] === undefined, 'the exit is not the stop request\'s line');
  });

  test('on a bridge network: network.setup in the start before the task, network.teardown in the exit after it', { skip: existsSync('/usr/lib/cni/bridge') ? undefined : 'needs containernetworking-plugins' }, async () => {
    const r = await berth(['run', '--trace', '--name', 'traced-bridge', 'busybox', 'sh', '-c', 'ip -4 -o addr show eth0']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /eth0\s+inet \d+\.\d+\.\d+\.\d+\//, 'the container was on the bridge');
    const rows = parseWaterfall(r.stderr);
    const w = (layer: string, name: string) => row(rows, layer, name, r.stderr);
    const start = w('engine', 'container.start');
    const setup = w('network', 'network.setup');
    assert.equal(parentOf(rows, setup), start);
    within(setup, start);
    assert.ok(setup.start >= w('image', 'rootfs.mount').end - 0.02 && setup.end <= w('lifecycle', 'task.create').start + 0.02, 'mount, network, then the task');
    const exit = w('engine', 'container.exit');
    const teardown = w('network', 'network.teardown');
    assert.equal(parentOf(rows, teardown), exit);
    within(teardown, exit);
    const del = rows.find((x) => x.layer === 'lifecycle' && x.name === 'task.delete' && parentOf(rows, x) === exit)!;
    assert.ok(teardown.start >= del.end - 0.02, 'the netns goes after the task');
    // Without a network (the first test's --network none) there are neither.
    assert.equal(parseWaterfall(runStderr).filter((x) => x.layer === 'network').length, 0);
    assert.equal((await berth(['rm', 'traced-bridge'])).code, 0);
  });

  test('run --trace of an image only the registry has: the pull below its request, fetch and unpack below the pull', { skip: registrySkipReason() }, async () => {
    const reg = await startRegistry();
    try {
      const ref = `${reg.host}/test/traced:1`;
      for (const args of [['tag', 'busybox', ref], ['push', ref], ['rmi', ref]]) {
        const r = await berth(args);
        assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
      }
      const r = await berth(['run', '--trace', '--rm', '--network', 'none', ref, 'echo', 'pulled']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'pulled\n');
      const rows = parseWaterfall(r.stderr);
      const w = (layer: string, name: string) => row(rows, layer, name, r.stderr);
      const apiPull = w('api', 'POST /images/create');
      assert.equal(parentOf(rows, apiPull), w('cli', 'POST /images/create'));
      const pull = w('image', 'image.pull');
      assert.equal(parentOf(rows, pull), apiPull);
      within(pull, apiPull);
      const fetch = w('image', 'image.fetch');
      const unpack = w('image', 'image.unpack');
      for (const x of [fetch, unpack]) {
        assert.equal(parentOf(rows, x), pull);
        within(x, pull);
      }
      assert.ok(fetch.end <= unpack.start + 0.02, 'the layers are fetched, then unpacked');
      // The create after the pull finds the image unpacked: no second unpack under it.
      assert.equal(rows.filter((x) => x.name === 'image.unpack').length, 1, r.stderr);
    } finally {
      await berth(['rmi', '-f', `${reg.host}/test/traced:1`]);
      await reg.stop();
    }
  });
});

