// bench/network: TCP host -> container through a published port, Berth's forwarder vs dockerd's docker-proxy, side by side.
//
// One container on a bridge of the bench's own (`bb<pid>`, a private /24 that overlaps no route here), run by a
// private dockerd with that bridge, no iptables and the userland proxy, so `-p 127.0.0.1::PORT` goes through a
// docker-proxy process. Inside the container a small C server (bench/network-peer.c, built static on the spot):
// a sink that reads to EOF, and an acceptor that closes each connection at once. The host-side clients are the same
// C program, so neither end of the measure is Node.
//   - throughput: MiB/s for one connection sending --mib MiB (default 1024) to the sink, until its close comes back
//   - connection rate: connect, wait for the container's close, close; one at a time and --par at once
//   - the proxy's CPU per GiB sent and per 1000 connections (from /proc/PID/stat of each proxy process): steadier
//     than the rates on a busy machine
// Both proxies forward to the same server in the same container; "direct" is the container's address without a
// proxy, the ceiling. Rounds alternate between the proxies and the median is shown, so load from elsewhere on the
// machine falls on both alike.
//
// Berth's side is berthd itself (`berthdPublished`): a berthd of the bench's own runs the same server in a container
// of its own with both ports published (`docker run -p` against berthd). Where berthd does not publish ports (or with
// --forwarder-process), the PortForwarder runs in a node process of its own instead, bound to 127.0.0.1 and
// forwarding to dockerd's container (`berthForwarderProcess`), as docker-proxy does. The output says which.
// Run as root after a build: `npm run bench:network [-- --mib N --conns N --par N --rounds N --forwarder-process]`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { PortForwarder } from '../src/network/port-forwarder.js';
import { startBerthd, berthdSkipReason, type Berthd } from '../test/fixtures/berthd.js';
import { dockerdSkipReason, makeTestCgroup, startDockerd, type Dockerd, type TestCgroup } from '../test/fixtures/daemons.js';
import { buildDockerSaveTar } from '../test/fixtures/image.js';
import { haveCommand, repoRoot, tempDir } from '../test/fixtures/rootfs.js';
import { fmt, median, ratio } from './stats.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) || def : def);
const MIB = opt('--mib', 1024);
const CONNS = opt('--conns', 2000);
const PAR = opt('--par', 16);
const ROUNDS = opt('--rounds', 3);
const FORWARDER_PROCESS = args.includes('--forwarder-process');
const IMAGE = 'busybox:latest';
const SINK = 5001;
const CLOSE = 5002;
const DOCKER_PROXY = ['/usr/sbin/docker-proxy', '/usr/bin/docker-proxy', '/usr/libexec/docker/docker-proxy'].find((p) => existsSync(p));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------------------
// Cleanup: a stack run once, from finally or from a signal.

const cleanups: (() => unknown)[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length) {
      try { await cleanups.pop()!(); } catch (e) { console.error(`bench/network: cleanup: ${String(e)}`); }
    }
  })();
  return cleaning;
}
function onSignals(): void {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      console.error(`bench/network: ${sig}, cleaning up`);
      void cleanup().then(() => process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1)));
    });
  }
}

function sh(cmd: string, a: string[]): string {
  const r = spawnSync(cmd, a, { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) throw new Error(`${cmd} ${a.join(' ')}: exit ${r.status}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

// ---------------------------------------------------------------------------------------------------------------
// The bench's bridge

const ipNum = (ip: string) => ip.split('.').reduce((n, x) => n * 256 + Number(x), 0);

/** Every IPv4 prefix in use here (addresses and routes of all tables), as [first, last] numbers. */
function usedRanges(): [number, number][] {
  const text = sh('ip', ['-4', '-o', 'addr', 'show']) + sh('ip', ['-4', 'route', 'show', 'table', 'all']);
  const out: [number, number][] = [];
  for (const m of text.matchAll(/(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?/g)) {
    const bits = m[2] === undefined ? 32 : Number(m[2]);
    const size = 2 ** (32 - bits);
    const first = Math.floor(ipNum(m[1]!) / size) * size;
    out.push([first, first + size - 1]);
  }
  return out;
}

/** A /24 in 10.0.0.0/8 that overlaps nothing in use. */
function pickSubnet(): string {
  const used = usedRanges().filter(([a, b]) => b - a < 2 ** 24); // a default route (0.0.0.0/0) overlaps all; ignore it
  for (let i = 0; i < 256 * 200; i++) {
    const x = 200 + (Math.floor(i / 256) % 50);
    const y = (process.pid + i) % 256;
    const first = ipNum(`10.${x}.${y}.0`);
    if (!used.some(([a, b]) => a <= first + 255 && first <= b)) return `10.${x}.${y}`;
  }
  throw new Error('no free /24 in 10.200.0.0-10.249.255.255');
}

function makeBridge(name: string, prefix: string): void {
  sh('ip', ['link', 'add', 'name', name, 'type', 'bridge']);
  cleanups.push(() => {
    // Veths of our containers go with their namespaces; any still on the bridge are ours to delete.
    const left = spawnSync('ip', ['-o', 'link', 'show', 'master', name], { encoding: 'utf8' }).stdout;
    for (const m of left.matchAll(/^\d+: ([^:@]+)/gm)) spawnSync('ip', ['link', 'del', m[1]!]);
    sh('ip', ['link', 'del', name]);
  });
  sh('ip', ['addr', 'add', `${prefix}.1/24`, 'dev', name]);
  sh('ip', ['link', 'set', name, 'up']);
}

// ---------------------------------------------------------------------------------------------------------------
// The C peer

function buildPeer(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'network-peer');
  sh('cc', ['-O2', '-Wall', '-static', '-o', out, join(repoRoot, 'bench', 'network-peer.c')]);
  return out;
}

/** Run the host-side client; resolves with its "<count> <seconds> <failures>" line. */
function client(peer: string, a: string[]): Promise<{ count: number; seconds: number; failures: number }> {
  return new Promise((resolve, reject) => {
    const c = spawn(peer, a, { stdio: ['ignore', 'pipe', 'pipe'] });
    const kill = () => { try { process.kill(c.pid!, 'SIGKILL'); } catch { /* gone */ } };
    cleanups.push(kill);
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    c.on('close', (code) => {
      const i = cleanups.indexOf(kill);
      if (i >= 0) cleanups.splice(i, 1);
      const m = /^(\d+) ([\d.]+) (\d+)$/m.exec(out);
      if (code !== 0 || !m) reject(new Error(`network-peer ${a.join(' ')}: exit ${code}: ${err}${out}`));
      else resolve({ count: Number(m[1]), seconds: Number(m[2]), failures: Number(m[3]) });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// What is measured: a host address and port per server, and the CPU the proxy spent.

interface Path {
  name: string;
  host: string;
  sinkPort: number;
  closePort: number;
  /** CPU seconds the proxy has used so far (NaN when there is no proxy). */
  cpu(): number;
}

function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime in clock ticks (USER_HZ is 100 on Linux)
  } catch {
    return NaN;
  }
}

/** The docker-proxy process dockerd started for `containerIp:port`. */
function dockerProxyPid(containerIp: string, port: number): number {
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let cmd: string[];
    try { cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0'); } catch { continue; }
    if (!cmd[0]?.endsWith('docker-proxy')) continue;
    const at = (flag: string) => cmd[cmd.indexOf(flag) + 1];
    if (at('-container-ip') === containerIp && at('-container-port') === String(port) && at('-proto') === 'tcp') return Number(e);
  }
  throw new Error(`no docker-proxy process for ${containerIp}:${port}`);
}

function hostPortOf(dd: Dockerd, container: string, port: number): number {
  const r = dd.docker(['port', container, `${port}/tcp`]);
  const m = /^127\.0\.0\.1:(\d+)$/m.exec(r.stdout);
  if (r.status !== 0 || !m) throw new Error(`docker port ${container} ${port}: ${r.stderr}${r.stdout}`);
  return Number(m[1]);
}

/** dockerd's docker-proxy, one process per published port. */
function dockerProxyPath(dd: Dockerd, container: string, containerIp: string): Path {
  const pids = [dockerProxyPid(containerIp, SINK), dockerProxyPid(containerIp, CLOSE)];
  return {
    name: 'docker-proxy',
    host: '127.0.0.1',
    sinkPort: hostPortOf(dd, container, SINK),
    closePort: hostPortOf(dd, container, CLOSE),
    cpu: () => pids.reduce((n, p) => n + procCpuSeconds(p), 0),
  };
}

/**
 * Berth's PortForwarder in a Node process of its own (this file with --forwarder, so the bench's own work is not
 * counted), forwarding 127.0.0.1 ports to the container's address.
 */
async function berthForwarderProcess(containerIp: string): Promise<Path & { note: string }> {
  const child = spawn(process.execPath, [process.argv[1]!, '--forwarder-child', containerIp], { stdio: ['pipe', 'pipe', 'inherit'] });
  cleanups.push(() => new Promise<void>((r) => {
    if (child.exitCode !== null || child.signalCode !== null) return r();
    // Closing its stdin asks it to stop; a kill by PID if it has not after a second.
    const t = setTimeout(() => { try { process.kill(child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 1000);
    child.once('exit', () => { clearTimeout(t); r(); });
    child.stdin!.end();
  }));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`forwarder process exited (${code}) before binding: ${out}`)));
  });
  const ports = JSON.parse(line) as { sink: number; close: number };
  return {
    name: 'berth', host: '127.0.0.1', sinkPort: ports.sink, closePort: ports.close, cpu: () => procCpuSeconds(child.pid!),
    note: 'berth = src/network/port-forwarder.ts in a node process of its own (berthd does not publish ports here), to the same container',
  };
}

/** The --forwarder-child process: bind both ports, print them as JSON, forward until stdin closes. */
async function forwarderMain(containerIp: string): Promise<void> {
  const pf = new PortForwarder();
  const bind = (containerPort: number) => pf.add({ proto: 'tcp', hostIp: '127.0.0.1', hostPort: 0, containerIp, containerPort });
  const [sink, close] = await Promise.all([bind(SINK), bind(CLOSE)]);
  process.stdout.write(`${JSON.stringify({ sink: sink.hostPort, close: close.hostPort })}\n`);
  // The parent going away, however it goes, closes our stdin.
  process.stdin.resume();
  process.stdin.once('close', () => void pf.close().then(() => process.exit(0)));
}

/**
 * Berth through berthd: a container of berthd's with both ports published (`docker run -p` against berthd). Throws,
 * leaving nothing running, when berthd cannot run containers or publish ports.
 */
async function berthdPublished(peerDir: string, imageTar: string): Promise<Path & { note: string }> {
  const skip = berthdSkipReason();
  if (skip) throw new Error(skip);
  const b: Berthd = await startBerthd({ prefix: 'berthd-bench-net-' });
  const stop = () => b.stop();
  cleanups.push(stop);
  try {
    const must = (a: string[]) => {
      const r = b.docker(a);
      if (r.status !== 0) throw new Error(`docker ${a.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
      return r.stdout.trim();
    };
    must(['load', '-i', imageTar]);
    const id = must(['run', '-d', '-v', `${peerDir}:/peer:ro`, '-p', `127.0.0.1::${SINK}`, '-p', `127.0.0.1::${CLOSE}`, IMAGE,
      '/peer/network-peer', 'serve', String(SINK), String(CLOSE)]);
    const port = (p: number) => {
      const m = /^127\.0\.0\.1:(\d+)$/m.exec(b.docker(['port', id, `${p}/tcp`]).stdout);
      if (!m) throw new Error(`port ${p} of its container is not published`);
      return Number(m[1]);
    };
    const sinkPort = port(SINK);
    const closePort = port(CLOSE);
    // berthd's forwarder runs in a thread of berthd: the process's CPU is what it costs.
    return {
      name: 'berth', host: '127.0.0.1', sinkPort, closePort, cpu: () => procCpuSeconds(b.pid),
      note: 'berth = berthd publishing the ports of a container of its own (same server program), CPU of the whole berthd',
    };
  } catch (e) {
    cleanups.splice(cleanups.indexOf(stop), 1);
    await b.stop();
    throw e;
  }
}

/** Wait until a connection to the acceptor at host:port closes cleanly (the server is up, the path works). */
async function answers(peer: string, host: string, port: number): Promise<void> {
  for (let i = 0; ; i++) {
    const r = await client(peer, ['conns', host, String(port), '1', '1']).catch(() => undefined);
    if (r && r.failures === 0) return;
    if (i > 100) throw new Error(`nothing answers at ${host}:${port}`);
    await sleep(100);
  }
}

interface Figures { mibPerSec: number[]; cpuPerGib: number[]; seqPerSec: number[]; parPerSec: number[]; cpuPer1kConns: number[]; failures: number }

async function measure(peer: string, p: Path, f: Figures): Promise<void> {
  const c0 = p.cpu();
  const t = await client(peer, ['send', p.host, String(p.sinkPort), String(MIB)]);
  const c1 = p.cpu();
  f.mibPerSec.push(t.count / 2 ** 20 / t.seconds);
  f.cpuPerGib.push((c1 - c0) / (t.count / 2 ** 30));
  const seq = await client(peer, ['conns', p.host, String(p.closePort), String(Math.ceil(CONNS / 4)), '1']);
  f.seqPerSec.push(seq.count / seq.seconds);
  const c2 = p.cpu();
  const par = await client(peer, ['conns', p.host, String(p.closePort), String(CONNS), String(PAR)]);
  f.parPerSec.push(par.count / par.seconds);
  f.cpuPer1kConns.push((p.cpu() - c2) / (par.count / 1000) * 1000);
  f.failures += t.failures + seq.failures + par.failures;
}


async function main(): Promise<number> {
  const gone = ['ip', 'cc'].filter((c) => !haveCommand(c));
  const skip = dockerdSkipReason() ?? (gone.length ? `missing ${gone.join(', ')}` : undefined) ?? (DOCKER_PROXY ? undefined : 'missing docker-proxy');
  if (skip) {
    console.error(`bench/network: ${skip}`);
    return 2;
  }
  const tmp = tempDir('berth-bench-network-');
  cleanups.push(() => tmp.cleanup());
  try {
    const peerDir = join(tmp.path, 'peer');
    const peer = buildPeer(peerDir);
    const tar = buildDockerSaveTar(tmp.path, IMAGE);

    const bridge = `bb${process.pid}`.slice(0, 15);
    const prefix = pickSubnet();
    makeBridge(bridge, prefix);

    const cg = makeTestCgroup('bench-network');
    if (typeof cg === 'string') throw new Error(cg);
    cleanups.push(() => (cg as TestCgroup).cleanup());
    // Only our bridge: no iptables rules, no masquerade, no ip_forward change; published ports by docker-proxy.
    const dd = await startDockerd(join(tmp.path, 'dockerd'), {
      cgroupParent: cg.path,
      network: ['--bridge', bridge, '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--ip-forward=false',
        '--userland-proxy=true', `--userland-proxy-path=${DOCKER_PROXY}`],
    });
    cleanups.push(() => dd.stop());
    const must = (a: string[]) => {
      const r = dd.docker(a);
      if (r.status !== 0) throw new Error(`dockerd: docker ${a.join(' ')}: exit ${r.status}: ${r.stderr}`);
      return r.stdout.trim();
    };
    must(['load', '-i', tar]);
    const name = `bench-net-${process.pid}`;
    must(['run', '-d', '--name', name, '-v', `${peerDir}:/peer:ro`, '-p', `127.0.0.1::${SINK}`, '-p', `127.0.0.1::${CLOSE}`,
      IMAGE, '/peer/network-peer', 'serve', String(SINK), String(CLOSE)]);
    cleanups.push(() => dd.docker(['rm', '-f', name]));
    const ip = must(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', name]);
    if (!ip.startsWith(`${prefix}.`)) throw new Error(`container address ${ip} is not on ${bridge} (${prefix}.0/24)`);

    const direct: Path = { name: 'direct', host: ip, sinkPort: SINK, closePort: CLOSE, cpu: () => NaN };
    await answers(peer, ip, CLOSE);
    const dproxy = dockerProxyPath(dd, name, ip);
    let berth: (Path & { note: string }) | undefined;
    if (!FORWARDER_PROCESS) {
      berth = await berthdPublished(peerDir, tar).catch((e: unknown) => {
        console.error(`bench/network: berthd does not publish ports here (${(e as Error).message}); measuring the forwarder in a process of its own`);
        return undefined;
      });
    }
    berth ??= await berthForwarderProcess(ip);
    await answers(peer, berth.host, berth.closePort);

    const paths = [direct, dproxy, berth];
    const figs = new Map<Path, Figures>(paths.map((p) => [p, { mibPerSec: [], cpuPerGib: [], seqPerSec: [], parPerSec: [], cpuPer1kConns: [], failures: 0 }]));
    const load0 = loadavg()[0]!;
    // Warm-up (JIT, page cache, ARP), not counted.
    for (const p of paths) {
      await client(peer, ['send', p.host, String(p.sinkPort), '128']);
      await client(peer, ['conns', p.host, String(p.closePort), '500', '4']);
    }
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the order, so a round's slow patch falls on each in turn.
      const order = r % 2 ? [...paths].reverse() : paths;
      for (const p of order) await measure(peer, p, figs.get(p)!);
    }

    const D = figs.get(direct)!;
    const P = figs.get(dproxy)!;
    const B = figs.get(berth)!;
    console.log(`bench/network: TCP host -> container on bridge ${bridge} (${prefix}.0/24), ${ROUNDS} rounds, median; ` +
      `${MIB} MiB per send, ${Math.ceil(CONNS / 4)} connections one at a time, ${CONNS} with ${PAR} at once; ` +
      `load average ${load0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs`);
    console.log(`  ${berth.note}; docker-proxy = ${DOCKER_PROXY} started by dockerd ${must(['version', '-f', '{{.Server.Version}}'])}`);
    console.log(['metric', 'direct', 'berth', 'docker-proxy', 'berth/docker-proxy'].join('\t'));
    const row = (label: string, k: keyof Omit<Figures, 'failures'>, d = 0) =>
      console.log([label, fmt(median(D[k]), d), fmt(median(B[k]), d), fmt(median(P[k]), d), ratio(median(B[k]), median(P[k]))].join('\t'));
    row('throughput (MiB/s)', 'mibPerSec');
    row('proxy CPU (s per GiB)', 'cpuPerGib', 2);
    row('connections/s, 1 at a time', 'seqPerSec');
    row(`connections/s, ${PAR} at once`, 'parPerSec');
    row('proxy CPU (ms per 1000 connections)', 'cpuPer1kConns');
    const failed = [...figs].filter(([, f]) => f.failures > 0).map(([p, f]) => `${p.name}: ${f.failures}`);
    if (failed.length) console.log(`failed connections: ${failed.join(', ')}`);
    return failed.length ? 1 : 0;
  } finally {
    await cleanup();
  }
}

if (args[0] === '--forwarder-child') {
  forwarderMain(args[1]!).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
} else {
  onSignals();
  main().then((code) => { process.exitCode = code; }, async (e: unknown) => {
    console.error(e);
    await cleanup();
    process.exitCode = 1;
  });
}
