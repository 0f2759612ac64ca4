// berthd --metrics-addr: Prometheus scrapes of a private berthd while the real docker CLI runs containers and pulls.
//
// Each assertion is a figure an operator would check on a dashboard: a container's memory against its
// --memory, its pids, containers by state, API latency by route, pulls by result, shims.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countingLimit, diskOf } from '../fixtures/block-device.js';
import { waitFor } from '../fixtures/process.js';
import { berthdSkipReason, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { buildDockerSaveTar } from '../fixtures/image.js';
import { freePort, registrySkipReason, startRegistry, type Registry } from '../fixtures/registry.js';

const skip = berthdSkipReason();
const IMAGE = 'busybox:latest';
const NONE = ['--network', 'none'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One sample of the text exposition format. */
interface Sample { name: string; labels: Record<string, string>; value: number }

/** Parse Prometheus' text format (what a scraper reads): `name{k="v",...} value`, comments skipped. */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!.replace(/\\(.)/g, '$1');
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The TCP ports `pid` listens on (its socket inodes matched against /proc/net/tcp{,6} in state LISTEN). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch { /* closed meanwhile */ }
  }
  const ports: number[] = [];
  for (const f of ['tcp', 'tcp6']) {
    let text = '';
    try { text = readFileSync(`/proc/${pid}/net/${f}`, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c[3] === '0A' && inodes.has(c[9]!)) ports.push(parseInt(c[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

describe('berthd --metrics-addr', { skip }, () => {
  let d: Berthd;
  let port: number;
  let tmp: string;
  let reg: Registry | undefined;

  function ok(args: string[], opts: { timeout?: number } = {}): string {
    const r = d.docker(args, opts);
    assert.equal(r.status, 0, `docker ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  }

  async function scrape(): Promise<Sample[]> {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parseExposition(await res.text());
  }

  /** The one sample of `name` whose labels include `labels` (fails when there is none or several). */
  function one(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
    const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    assert.equal(hits.length, 1, `${name}${JSON.stringify(labels)}: ${hits.length} samples\n${samples.filter((s) => s.name === name).map((s) => JSON.stringify(s)).join('\n')}`);
    return hits[0]!.value;
  }

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-e2e-metrics-'));
    const tar = buildDockerSaveTar(tmp, IMAGE);
    // Bound by the daemon a moment later; another process taking it meanwhile fails the start loudly.
    port = await freePort();
    d = await startBerthd({ args: ['--metrics-addr', `127.0.0.1:${port}`] });
    ok(['load', '-i', tar]);
  });
  after(async () => {
    await d?.stop();
    await reg?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('berthd listens on the metrics address, and serves only /metrics there', async () => {
    assert.deepEqual(listeningPorts(d.pid), [port]);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(res.status, 404);
    await res.body?.cancel();
    const post = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' });
    assert.equal(post.status, 405);
    await post.body?.cancel();
  });

  test('a running container: memory against --memory, pids, cpu, containers by state, shims, API latency by route', async () => {
    // 20MB written with O_DIRECT, on the data root's disk with a write limit so that cgroup v1 counts it (block-device.ts).
    const disk = diskOf(d.dataRoot);
    assert.ok(disk, `a block device under ${d.dataRoot}`);
    ok(['run', '-d', ...NONE, '--name', 'met-run', '--memory', '64m', '--pids-limit', '50', ...countingLimit(disk), IMAGE, 'sh', '-c', 'dd if=/dev/zero of=/x bs=1M count=20 oflag=direct; sleep 1 & sleep 300']);
    ok(['create', ...NONE, '--name', 'met-created', IMAGE, 'true']);
    assert.equal(d.docker(['run', ...NONE, '--name', 'met-exited', IMAGE, 'sh', '-c', 'exit 3']).status, 3);
    const id = ok(['inspect', '-f', '{{.Id}}', 'met-run']).trim();
    const c = { id, name: 'met-run' };
    let s = await scrape();
    for (let i = 0; i < 100 && one(s, 'berth_container_block_write_bytes_total', c) < 20 << 20; i++) {
      await sleep(200);
      s = await scrape();
    }
    assert.ok(one(s, 'berth_container_memory_usage_bytes', c) > 0);
    assert.equal(one(s, 'berth_container_memory_limit_bytes', c), 64 * 1024 * 1024);
    assert.ok(one(s, 'berth_container_pids', c) >= 2, 'sh and its sleeps');
    assert.equal(one(s, 'berth_container_pids_limit', c), 50);
    assert.ok(one(s, 'berth_container_cpu_usage_seconds_total', c) > 0);
    assert.ok(one(s, 'berth_container_block_write_bytes_total', c) >= 20 << 20);
    assert.ok(one(s, 'berth_container_block_read_bytes_total', c) >= 0, 'a read series too');
    // --network none: no interface but lo, so no network series for it.
    assert.equal(s.filter((x) => x.name === 'berth_container_network_receive_bytes_total' && x.labels.id === id).length, 0);
    // Figures exist only for live containers.
    assert.equal(s.filter((x) => x.name === 'berth_container_memory_usage_bytes' && x.labels.name !== 'met-run').length, 0);
    assert.equal(one(s, 'berth_containers', { state: 'running' }), 1);
    assert.equal(one(s, 'berth_containers', { state: 'created' }), 1);
    assert.equal(one(s, 'berth_containers', { state: 'exited' }), 1);
    assert.equal(one(s, 'berth_containers', { state: 'paused' }), 0);
    assert.equal(one(s, 'berth_shims'), 1);
    // Three creates answered 201 on the route pattern (the raw path carries a version and a query).
    assert.equal(one(s, 'berth_api_request_duration_seconds_count', { method: 'POST', route: '/containers/create', status: '201' }), 3);
    assert.ok(one(s, 'berth_api_request_duration_seconds_count', { method: 'POST', route: '/containers/{id}/start', status: '204' }) >= 2);
    assert.equal(s.filter((x) => x.name.startsWith('berth_api_request_duration_seconds') && x.labels.route?.includes(id)).length, 0, 'no raw ids in route labels');
    // The daemon's own process figures come along.
    assert.ok(one(s, 'process_resident_memory_bytes') > 0);

    ok(['pause', 'met-run']);
    const p = await scrape();
    assert.equal(one(p, 'berth_containers', { state: 'paused' }), 1);
    assert.equal(one(p, 'berth_containers', { state: 'running' }), 0);
    assert.equal(one(p, 'berth_shims'), 1);
    ok(['rm', '-f', 'met-run', 'met-created', 'met-exited']);
    const gone = await scrape();
    assert.equal(one(gone, 'berth_shims'), 0);
    for (const state of ['running', 'paused', 'created', 'exited']) assert.equal(one(gone, 'berth_containers', { state }), 0);
    assert.equal(gone.filter((x) => x.labels.name === 'met-run').length, 0);
  });

  test('log entries the shim could not write: berth_container_log_lines_dropped_total per container, counting on across runs', async () => {
    ok(['create', ...NONE, '--name', 'met-full', IMAGE, 'sh', '-c', 'seq 1 10; sleep 1; seq 1 5']);
    ok(['create', ...NONE, '--name', 'met-fine', IMAGE, 'seq', '1', '3']);
    const id = ok(['inspect', '-f', '{{.Id}}', 'met-full']).trim();
    // Every write to /dev/full fails with ENOSPC: a full disk under the log, without filling a disk.
    symlinkSync('/dev/full', ok(['inspect', '-f', '{{.LogPath}}', 'met-full']).trim());
    const dropped = async () => one(await scrape(), 'berth_container_log_lines_dropped_total', { id, name: 'met-full' });
    assert.equal(await dropped(), 0);
    for (const c of ['met-full', 'met-fine']) assert.equal(d.docker(['start', '-a', c]).status, 0);
    const until = async (n: number) => {
      for (const end = Date.now() + 5000; (await dropped()) !== n; await sleep(100)) assert.ok(Date.now() < end, `dropped ${await dropped()}, want ${n}`);
    };
    await until(15);
    assert.equal(one(await scrape(), 'berth_container_log_lines_dropped_total', { name: 'met-fine' }), 0);
    ok(['start', 'met-full']);
    ok(['wait', 'met-full']);
    await until(30);
    ok(['rm', 'met-full', 'met-fine']);
    assert.equal((await scrape()).filter((x) => x.name === 'berth_container_log_lines_dropped_total').length, 0, 'the series goes with the container');
  });

  test('a bridged container: network bytes per interface of its namespace', { skip: existsSync('/usr/lib/cni/bridge') ? undefined : 'needs containernetworking-plugins' }, async () => {
    const gw = JSON.parse(ok(['network', 'inspect', 'bridge', '-f', '{{json .IPAM.Config}}']))[0].Gateway as string;
    ok(['run', '-d', '--name', 'met-net', IMAGE, 'sh', '-c', `ping -c 3 -i 0.2 ${gw}; sleep 300`]);
    const id = ok(['inspect', '-f', '{{.Id}}', 'met-net']).trim();
    let rx = 0;
    let tx = 0;
    for (let i = 0; i < 50 && (rx < 3 * 84 || tx < 3 * 84); i++) {
      const s = await scrape();
      rx = one(s, 'berth_container_network_receive_bytes_total', { id, interface: 'eth0' });
      tx = one(s, 'berth_container_network_transmit_bytes_total', { id, interface: 'eth0' });
      await sleep(100);
    }
    // Three echo requests and replies of 84 bytes (IP) each, at least.
    assert.ok(rx >= 3 * 84 && tx >= 3 * 84, `rx ${rx} tx ${tx}`);
    ok(['rm', '-f', 'met-net']);
  });

  test('pulls by result: one from a local registry, one of an image it does not have', { skip: registrySkipReason() }, async () => {
    reg ??= await startRegistry();
    const before = await scrape();
    assert.equal(one(before, 'berth_image_pulls_total', { result: 'success' }), 0);
    assert.equal(one(before, 'berth_image_pulls_total', { result: 'failure' }), 0);
    const ref = `${reg.host}/met/bb:1`;
    ok(['tag', IMAGE, ref]);
    ok(['push', ref]);
    ok(['rmi', ref]);
    ok(['pull', ref]);
    const miss = d.docker(['pull', `${reg.host}/met/nothere:1`]);
    assert.equal(miss.status, 1);
    const s = await scrape();
    assert.equal(one(s, 'berth_image_pulls_total', { result: 'success' }), 1);
    assert.equal(one(s, 'berth_image_pulls_total', { result: 'failure' }), 1);
    ok(['rmi', ref]);
  });

  test('clients that leave mid-stream (events, stats, logs -f, attach) take their requests and subscribers with them', async () => {
    ok(['run', '-d', '-i', ...NONE, '--name', 'met-streams', IMAGE, 'sh', '-c', 'while :; do echo tick; sleep 0.1; done']);
    const fds = () => readdirSync(`/proc/${d.pid}/fd`).length;
    const settled = (what: string, f: () => Promise<boolean> | boolean) => waitFor(f, 15000, what);
    // Quiet first: no request of ours open, and the fd count steady.
    await settled('no request in flight', async () => one(await scrape(), 'berth_api_requests_in_flight') === 0);
    const before = fds();

    /** Open a stream on the daemon's socket; resolves once its body has started flowing. */
    const open = (head: string) => new Promise<net.Socket>((resolve, reject) => {
      const c = net.connect(d.socket);
      let got = '';
      c.on('data', (b) => {
        got += b.toString('latin1');
        if (got.includes('\r\n\r\n') && got.length > got.indexOf('\r\n\r\n') + 4) resolve(c);
      });
      c.once('error', reject);
      c.write(head);
    });
    const get = (path: string) => `GET /v1.50${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
    // /events speaks once something happens: the attach is an `attach` event (each open waits for body bytes).
    const streams = await Promise.all([
      open(get('/events')),
      open(get('/containers/met-streams/stats?stream=1')),
      open(get('/containers/met-streams/logs?follow=1&stdout=1')),
      open('POST /v1.50/containers/met-streams/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n'),
    ]);
    let s = await scrape();
    assert.equal(one(s, 'berth_api_requests_in_flight'), 4);
    assert.equal(one(s, 'berth_event_subscribers'), 1);
    assert.ok(fds() > before, 'the streams hold fds');

    for (const c of streams) c.destroy();
    await settled('requests and subscribers gone', async () => {
      s = await scrape();
      return one(s, 'berth_api_requests_in_flight') === 0 && one(s, 'berth_event_subscribers') === 0;
    });
    await settled(`berthd's fds back to ${before} (now ${fds()})`, () => fds() <= before);
    const ping = await new Promise<string>((resolve) => {
      const c = net.connect(d.socket, () => c.end('GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let got = '';
      c.on('data', (b) => { got += b.toString(); });
      c.once('close', () => resolve(got));
    });
    assert.match(ping, /^HTTP\/1\.1 200 [^]*\r\n\r\nOK$/);
    // The container is unharmed by its attach going away, and still logs.
    assert.equal(ok(['inspect', '-f', '{{.State.Status}}', 'met-streams']).trim(), 'running');
    ok(['rm', '-f', 'met-streams']);
  });

  test('without --metrics-addr berthd listens on no TCP port', async () => {
    const plain = await startBerthd();
    try {
      assert.deepEqual(listeningPorts(plain.pid), []);
    } finally {
      await plain.stop();
    }
  });

  test('a metrics address already in use refuses to start, naming the key', async () => {
    await assert.rejects(startBerthd({ args: ['--metrics-addr', `127.0.0.1:${port}`] }), /metrics-addr 127\.0\.0\.1:\d+: listen EADDRINUSE/);
  });
});
