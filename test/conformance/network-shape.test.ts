// Docker's network views on berthd and on a private dockerd 20.10 (Debian's docker.io), compared by shape: the same
// docker CLI commands on both, then the set of keys (recursively) and value types of `network inspect`, `network ls
// --format json`, the NetworkSettings of `inspect` and `docker port`'s output, ids, addresses and times aside.
//
// dockerd answers API 1.41, berthd 1.50 (the CLI negotiates each): the fields those versions differ in are listed in
// VERSION_DIFFS, each checked to be there on the side that must have it. Both daemons get bridges and subnets of
// the test's own; dockerd runs with --iptables=false --ip-masq=false, so it makes no NAT or firewall rule.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { berthdSkipReason, DOCKER, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { daemonEnv, dockerdSkipReason, makeTestCgroup, startDockerd, tail, type Dockerd, type TestCgroup } from '../fixtures/daemons.js';
import { buildDockerSaveTar } from '../fixtures/image.js';
import { daemonInterfaces, existingInterfaces, removeBridge, testBridge } from '../fixtures/network.js';
import { haveCommand } from '../fixtures/rootfs.js';

const cg = makeTestCgroup('netshape');
const skip = dockerdSkipReason() ?? berthdSkipReason()
  ?? (existsSync('/usr/lib/cni/bridge') ? undefined : 'needs containernetworking-plugins (/usr/lib/cni/bridge)')
  ?? (haveCommand('ip') ? undefined : 'missing ip (iproute2)')
  ?? (typeof cg === 'string' ? cg : undefined);

const IMAGE = 'busybox';
const NET = 'shape-net';

interface Side {
  name: 'dockerd' | 'berthd';
  docker(args: string[]): SpawnSyncReturns<string>;
  diag(): string;
}

/** One place where API 1.41 and 1.50 differ: under each object whose path matches `parent`, `key` has these types. */
interface VersionDiff { parent: RegExp; key: string; dockerd: string; berthd: string; why: string }

const ROOT = /^$/;
const ENDPOINT = /^Networks\.[^.]+$/;
const BUILTIN_ENDPOINT = /^Networks\.(bridge|none|host)$/;
const USER_ENDPOINT = new RegExp(`^Networks\\.${NET}$`);

const NETWORK_DIFFS: VersionDiff[] = [
  { parent: ROOT, key: 'EnableIPv4', dockerd: 'absent', berthd: 'boolean', why: 'added to networks in API 1.47' },
];
const ENDPOINT_DIFFS: VersionDiff[] = [
  { parent: ENDPOINT, key: 'GwPriority', dockerd: 'absent', berthd: 'number', why: 'added to EndpointSettings in API 1.48' },
  { parent: BUILTIN_ENDPOINT, key: 'DNSNames', dockerd: 'absent', berthd: 'null', why: 'added in API 1.44; no DNS names off user networks' },
  { parent: USER_ENDPOINT, key: 'DNSNames', dockerd: 'absent', berthd: 'array', why: 'added in API 1.44' },
  {
    parent: USER_ENDPOINT, key: 'Aliases', dockerd: 'array', berthd: 'null',
    why: 'below API 1.45 inspect adds the short id and hostname to Aliases on user networks; 1.45 shows only the given ones (the names are in DNSNames)',
  },
];

const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Every path (`a.b`, `a[]` for array items, '' for the root) and the type of its value. */
function flatten(v: unknown, path = '', out = new Map<string, string>()): Map<string, string> {
  out.set(path, typeOf(v));
  if (Array.isArray(v)) for (const x of v) flatten(x, `${path}[]`, out);
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) flatten(x, path ? `${path}.${k}` : k, out);
  return out;
}

const lines = (m: Map<string, string>) => [...m].map(([p, t]) => `${p || '.'}: ${t}`).sort();

/** The diffs that met an object: each must, somewhere, or the list has gone stale. */
const applied = new Set<VersionDiff>();

/** Check each diff on both sides, then drop its paths so the rest compares equal. */
function applyDiffs(dockerd: Map<string, string>, berthd: Map<string, string>, diffs: VersionDiff[]): void {
  for (const d of diffs) {
    const parents = [...dockerd.keys()].filter((p) => d.parent.test(p) && dockerd.get(p) === 'object' && berthd.get(p) === 'object');
    if (parents.length) applied.add(d);
    for (const p of parents) {
      const at = p ? `${p}.${d.key}` : d.key;
      assert.equal(dockerd.get(at) ?? 'absent', d.dockerd, `dockerd ${at} (${d.why})`);
      assert.equal(berthd.get(at) ?? 'absent', d.berthd, `berthd ${at} (${d.why})`);
      for (const m of [dockerd, berthd]) for (const k of [...m.keys()]) if (k === at || k.startsWith(`${at}.`) || k.startsWith(`${at}[]`)) m.delete(k);
    }
  }
}

/** A network as `network inspect` prints it, its Containers keyed by container name (the keys are ids). */
function networkView(out: string): unknown {
  const all = JSON.parse(out) as Array<{ Containers?: Record<string, { Name: string }> }>;
  assert.equal(all.length, 1);
  const n = all[0]!;
  for (const id of Object.keys(n.Containers ?? {})) assert.match(id, /^[0-9a-f]{64}$/, 'Containers is keyed by full container id');
  return { ...n, Containers: Object.fromEntries(Object.values(n.Containers ?? {}).map((c) => [`<${c.Name}>`, c])) };
}

describe('network views: berthd against dockerd 20.10, by shape', { skip, concurrency: false }, () => {
  const cgroup = cg as TestCgroup;
  let tmp: string;
  let dockerd: Dockerd | undefined;
  let berthd: Berthd | undefined;
  let sides: [Side, Side];
  /** dockerd's default bridge, made by the test. */
  const dBridge = testBridge('bs');
  /** Both daemons' bridges and veths seen while containers ran: none may be left at the end. */
  const seen = new Set<string>([dBridge.name]);

  const ok = (s: Side, args: string[]) => {
    const r = s.docker(args);
    assert.equal(r.status, 0, `${s.name}: docker ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}\n${s.diag()}`);
    return r.stdout;
  };

  /** Run `args` on both, make each output a value with `view`, and compare the shapes. */
  const compare = (args: string[], view: (out: string) => unknown, diffs: VersionDiff[] = []) => {
    const [d, b] = sides.map((s) => flatten(view(ok(s, args))));
    applyDiffs(d!, b!, diffs);
    assert.deepEqual(lines(b!), lines(d!), `docker ${args.join(' ')}: berthd's shape (actual) differs from dockerd's (expected)`);
  };

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-netshape-'));
    const cli = join(tmp, 'cli');
    mkdirSync(cli);
    // dockerd takes --bridge or --bip, not both: the bridge comes with its address.
    for (const a of [['link', 'add', dBridge.name, 'type', 'bridge'], ['addr', 'add', dBridge.bip, 'dev', dBridge.name], ['link', 'set', dBridge.name, 'up']]) {
      const r = spawnSync('ip', a, { encoding: 'utf8' });
      assert.equal(r.status, 0, `ip ${a.join(' ')}: ${r.stderr}`);
    }
    dockerd = await startDockerd(join(tmp, 'docker'), {
      cgroupParent: cgroup.path,
      network: ['--bridge', dBridge.name, '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--ip-forward=false'],
    });
    berthd = await startBerthd({ prefix: 'berthd-netshape-' });
    const dd = dockerd;
    const bd = berthd;
    // The same CLI binary on both sides.
    const dEnv = daemonEnv({ DOCKER_CONFIG: cli });
    sides = [
      {
        name: 'dockerd',
        docker: (a) => spawnSync(DOCKER, ['-H', dd.host, ...a], { encoding: 'utf8', env: dEnv, timeout: 60000, killSignal: 'SIGKILL' }),
        diag: () => `--- dockerd log:\n${tail(dd.log, 12, true)}`,
      },
      { name: 'berthd', docker: (a) => bd.docker(a), diag: () => `--- berthd log:\n${tail(bd.log, 12)}` },
    ];
    const tar = buildDockerSaveTar(tmp, `docker.io/library/${IMAGE}:latest`);
    // A subnet per daemon for the user network, none the other's or a default bridge's.
    const used = new Set([dBridge.subnet, (JSON.parse(ok(sides[1], ['network', 'inspect', 'bridge', '-f', '{{json .IPAM.Config}}'])) as Array<{ Subnet: string }>)[0]!.Subnet]);
    for (const s of sides) {
      ok(s, ['load', '-i', tar]);
      let subnet: string;
      do subnet = testBridge().subnet; while (used.has(subnet));
      used.add(subnet);
      ok(s, ['network', 'create', '--subnet', subnet, NET]);
      ok(s, ['run', '-d', '--name', 'on-bridge', IMAGE, 'sleep', '600']);
      ok(s, ['run', '-d', '--name', 'on-user', '--network', NET, IMAGE, 'sleep', '600']);
      ok(s, ['run', '-d', '--name', 'on-none', '--network', 'none', IMAGE, 'sleep', '600']);
      ok(s, ['run', '-d', '--name', 'on-host', '--network', 'host', IMAGE, 'sleep', '600']);
      ok(s, ['run', '-d', '--name', 'published', '-p', '127.0.0.1::80', IMAGE, 'sleep', '600']);
      // No host IP: 0.0.0.0 and, the host having IPv6, [::] on the same port (dockerd 20.10+).
      ok(s, ['run', '-d', '--name', 'dual', '-p', '80', IMAGE, 'sleep', '600']);
      ok(s, ['create', '--name', 'created', '-p', '127.0.0.1::80', IMAGE, 'sleep', '600']);
      ok(s, ['run', '--name', 'exited', '-p', '127.0.0.1::80', IMAGE, 'true']);
      for (const n of daemonInterfaces((a) => s.docker(a))) seen.add(n);
    }
  });

  after(async () => {
    // Each step runs whatever the one before did; the first failure is reported at the end.
    const errors: unknown[] = [];
    const step = async (f: () => unknown) => { try { await f(); } catch (e) { errors.push(e); } };
    await step(() => berthd?.stop());
    await step(() => {
      if (!dockerd) return;
      dockerd.docker(['rm', '-f', 'on-bridge', 'on-user', 'on-none', 'on-host', 'published', 'dual', 'created', 'exited'], { timeout: 60000 });
      dockerd.docker(['network', 'rm', NET]);
    });
    // Containers left go by their cgroup, so that dockerd's shutdown does not wait on them.
    await step(() => cgroup.cleanup());
    await step(() => dockerd?.stop());
    for (const n of seen) await step(() => removeBridge(n));
    await step(() => tmp && rmSync(tmp, { recursive: true, force: true }));
    await step(() => assert.deepEqual(existingInterfaces(seen), [], 'interfaces left behind'));
    if (errors.length) throw errors[0];
  });

  test('docker network inspect bridge', () => compare(['network', 'inspect', 'bridge'], networkView, NETWORK_DIFFS));

  test('docker network inspect of a user network made with --subnet', () => compare(['network', 'inspect', NET], networkView, NETWORK_DIFFS));

  test('docker network inspect none and host', () => {
    compare(['network', 'inspect', 'none'], networkView, NETWORK_DIFFS);
    compare(['network', 'inspect', 'host'], networkView, NETWORK_DIFFS);
  });

  test('docker network ls --format json: the same networks, each line the same keys', () => {
    compare(['network', 'ls', '--format', 'json'], (out) => Object.fromEntries(out.split('\n').filter(Boolean).map((l) => {
      const n = JSON.parse(l) as { Name: string };
      return [n.Name, n];
    })));
  });

  const settings = (out: string) => (JSON.parse(out) as Array<{ NetworkSettings: unknown }>)[0]!.NetworkSettings;
  for (const [name, what] of [
    ['on-bridge', 'on the default bridge'], ['on-user', 'on a user network'], ['on-none', 'with --network none'],
    ['on-host', 'with --network host'], ['published', 'with -p 127.0.0.1::80 (the Ports map)'], ['dual', 'with -p 80 (0.0.0.0 and [::] in the Ports map)'],
    ['created', 'created, not started, with -p'], ['exited', 'exited, with -p'],
  ] as const) {
    test(`docker inspect: NetworkSettings of a container ${what}`, () => compare(['inspect', name], settings, ENDPOINT_DIFFS));
  }

  test('docker port: the same lines, host ports aside; the same error for a port not published', () => {
    const run = (s: Side, args: string[]) => {
      const r = s.docker(args);
      return { status: r.status, stdout: r.stdout.replace(/:\d+$/gm, ':<port>'), stderr: r.stderr };
    };
    for (const args of [['port', 'published'], ['port', 'published', '80'], ['port', 'published', '80/tcp'], ['port', 'published', '81'],
      ['port', 'published', '80/udp'], ['port', 'on-bridge'], ['port', 'created'], ['port', 'created', '80'], ['port', 'dual']]) {
      const [d, b] = sides.map((s) => run(s, args));
      assert.deepEqual(b, d, `docker ${args.join(' ')}: berthd (actual), dockerd (expected)`);
    }
    assert.match(run(sides[1], ['port', 'published']).stdout, /^80\/tcp -> 127\.0\.0\.1:<port>\n$/);
    if (/\blo$/m.test(readFileSync('/proc/net/if_inet6', 'utf8'))) assert.equal(run(sides[0], ['port', 'dual']).stdout, '80/tcp -> 0.0.0.0:<port>\n80/tcp -> [::]:<port>\n');
  });

  test('every listed version difference was met', () => {
    assert.deepEqual([...NETWORK_DIFFS, ...ENDPOINT_DIFFS].filter((d) => !applied.has(d)).map((d) => `${d.parent.source} ${d.key}`), []);
  });
});
