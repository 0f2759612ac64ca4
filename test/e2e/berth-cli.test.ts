// The berth CLI (bin/berth.cjs, a real process) against a private berthd: run, ps, images, exit codes, autostart.
//
// Every call passes -H and BERTH_NO_AUTOSTART=1 with a temp DOCKER_CONFIG, except the autostart tests, which use
// their own temp exec/data roots and daemon.json (BERTH_EXEC_ROOT, BERTH_DATA_ROOT, BERTH_CONFIG_FILE: a test bridge,
// no masquerade, a cgroup parent of their own) and stop the berthd they caused by its pidfile.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { berthdSkipReason, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { removeCgroupTree } from '../fixtures/cgroup.js';
import { unmountUnder } from '../fixtures/daemons.js';
import { removeBridge, testBridge } from '../fixtures/network.js';
import { buildDockerSaveTar } from '../fixtures/image.js';
import { runBerth, type Result } from '../fixtures/berth-cli.js';
import { repoRoot } from '../fixtures/rootfs.js';

const skip =
  berthdSkipReason() ??
  (existsSync(join(repoRoot, 'dist', 'berth.cjs')) ? undefined : 'the berth bundle is not built (node scripts/bundle.mjs)') ??
  (existsSync(join(repoRoot, 'dist', 'src', 'engine', 'engine.js')) ? undefined : 'the engine is not built');
const NONE = ['--network', 'none'];

function berth(args: string[], opts: { env?: Record<string, string>; input?: string; timeout?: number } = {}): Promise<Result> {
  return runBerth(args, { ...opts, env: { HOME: cfg, DOCKER_CONFIG: cfg, ...opts.env } });
}

let d: Berthd;
let cfg: string;
let tmp: string;

/** berth with -H and no autostart. */
const b = (args: string[], opts: { input?: string; timeout?: number } = {}) => berth(['-H', d.host, ...args], { ...opts, env: { BERTH_NO_AUTOSTART: '1' } });

async function ok(args: string[], opts: { input?: string } = {}): Promise<string> {
  const r = await b(args, opts);
  assert.equal(r.code, 0, `berth ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

describe('berth CLI against berthd', { skip }, () => {
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-cli-e2e-'));
    cfg = join(tmp, 'config');
    d = await startBerthd({ prefix: 'berth-cli-e2e-' });
    const tar = buildDockerSaveTar(tmp, 'busybox:latest');
    await ok(['load', '-i', tar]);
  });
  after(async () => {
    await d?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('run --rm hello', async () => {
    const out = await ok(['run', '--rm', ...NONE, 'hello']);
    assert.ok(out.length > 0, 'hello printed nothing');
  });

  test('run --rm busybox sh -c "exit 3" exits 3', async () => {
    const r = await b(['run', '--rm', ...NONE, 'busybox', 'sh', '-c', 'exit 3']);
    assert.equal(r.code, 3, r.stderr);
  });

  test('run: stdout and stderr are separated', async () => {
    const r = await b(['run', '--rm', ...NONE, 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
  });

  test('run -i passes stdin through', async () => {
    const r = await b(['run', '--rm', '-i', ...NONE, 'busybox', 'cat'], { input: 'hello stdin\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello stdin\n');
  });

  test('a missing command exits 127', async () => {
    const r = await b(['run', '--rm', ...NONE, 'busybox', '/no/such/binary']);
    assert.equal(r.code, 127, `${r.stdout}${r.stderr}`);
  });

  test('ps -a, images, and the detached lifecycle', async () => {
    const id = (await ok(['run', '-d', '--name', 'cli-e2e', ...NONE, 'busybox', 'sh', '-c', 'echo started; sleep 60'])).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const ps = await ok(['ps', '-a']);
    assert.match(ps.split('\n')[0]!, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    assert.match(ps, /cli-e2e/);
    assert.match(await ok(['ps', '--format', '{{.Names}} {{.State}}']), /cli-e2e running/);
    const images = await ok(['images']);
    assert.match(images.split('\n')[0]!, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    assert.match(images, /^busybox\s+latest\s/m);
    assert.equal(await ok(['exec', 'cli-e2e', 'sh', '-c', 'echo $((6*7))']), '42\n');
    const execFail = await b(['exec', 'cli-e2e', 'sh', '-c', 'exit 5']);
    assert.equal(execFail.code, 5);
    assert.equal(await ok(['logs', 'cli-e2e']), 'started\n');
    assert.equal(await ok(['inspect', '--format', '{{.State.Running}}', 'cli-e2e']), 'true\n');
    assert.equal(await ok(['stop', '-t', '1', 'cli-e2e']), 'cli-e2e\n');
    assert.match(await ok(['wait', 'cli-e2e']), /^\d+\n$/);
    assert.equal(await ok(['rm', 'cli-e2e']), 'cli-e2e\n');
    const gone = await b(['inspect', 'cli-e2e']);
    assert.equal(gone.code, 1);
  });

  test('commit -c -m -a --pause: the full image id; the image runs the change; a bad reference is refused before the daemon', async () => {
    await ok(['run', '-d', '--name', 'cli-commit', ...NONE, 'busybox', 'sh', '-c', 'echo committed > /f; exec sleep 60']);
    for (let i = 0; i < 50 && (await b(['exec', 'cli-commit', 'test', '-e', '/f'])).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    const id = (await ok(['commit', '-c', 'CMD ["cat","/f"]', '-m', 'via berth', '-a', 'me', '--pause=true', 'cli-commit', 'cli-img:1'])).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(await ok(['run', '--rm', ...NONE, 'cli-img:1']), 'committed\n');
    assert.equal(await ok(['inspect', '--format', '{{.Id}} {{.Author}} {{.Comment}}', 'cli-img:1']), `${id} me via berth\n`);
    assert.equal(await ok(['inspect', '--format', '{{.State.Status}}', 'cli-commit']), 'running\n');
    const bad = await b(['commit', 'cli-commit', 'Bad:1']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'invalid reference format: repository name (library/Bad) must be lowercase\n');
    await ok(['rm', '-f', 'cli-commit']);
    await ok(['rmi', 'cli-img:1']);
  });

  test('errors from the daemon: message and status', async () => {
    const r = await b(['stop', 'no-such-container']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error response from daemon: .*no-such-container/);
    const run = await b(['run', '--pull', 'never', ...NONE, 'no-such-image:x']);
    assert.equal(run.code, 125);
    assert.match(run.stderr, /^berth: Error response from daemon: /);
  });
});

/** Stop the berthd an autostart caused, by the pid in its pidfile under `execRoot`. */
async function stopByPidfile(execRoot: string): Promise<void> {
  const pidfile = join(execRoot, 'berthd.pid');
  if (!existsSync(pidfile)) return;
  const pid = Number(readFileSync(pidfile, 'utf8').trim());
  if (!(pid > 1)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
}

/**
 * Roots for an autostarted berthd: a short exec root (shim sockets under it must fit sun_path), a data root, a
 * DOCKER_CONFIG, and a daemon.json with a default bridge, subnet and cgroup parent of the test's own and no
 * masquerade, so nothing of the host's (/run/berth, /var/lib/berth, a berth0 with NAT) is used or made.
 */
function autostartRoots() {
  const execRoot = mkdtempSync('/tmp/bq');
  const dataRoot = mkdtempSync(join(tmpdir(), 'berth-autostart-data-'));
  const conf = mkdtempSync(join(tmpdir(), 'berth-autostart-cfg-'));
  const bridge = { ...testBridge(), name: `bt${execRoot.slice(-6)}` };
  const cgroupParent = `berth-e2e-${execRoot.slice(-6)}`;
  const configFile = join(conf, 'daemon.json');
  writeFileSync(configFile, JSON.stringify({ bridge: bridge.name, bip: bridge.bip, 'ip-masq': false, 'dns-forward': false, 'cgroup-parent': cgroupParent }));
  return {
    execRoot, dataRoot, bridge,
    env: { BERTH_EXEC_ROOT: execRoot, BERTH_DATA_ROOT: dataRoot, BERTH_CONFIG_FILE: configFile, DOCKER_CONFIG: conf },
    async cleanup() {
      await stopByPidfile(execRoot);
      unmountUnder(execRoot);
      unmountUnder(dataRoot);
      removeCgroupTree(cgroupParent);
      removeBridge(bridge.name);
      for (const d of [execRoot, dataRoot, conf]) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** What the built-in hello image prints (native/hello/hello.c). */
const GREETING = `
Hello from Berth!
This message shows that your installation appears to be working correctly.

To generate this message, Berth took the following steps:
 1. The berth CLI contacted berthd, the Berth daemon, over its unix socket.
 2. berthd found the built-in "hello" image (no network needed) and prepared
    its root filesystem as an overlay snapshot.
 3. berthd started berth-shim, which stays as the container's parent, holds its
    output and records how it exits.
 4. berth-init set up the namespaces, mounts and privileges from berthd's plan,
    then executed this program, whose output the shim streamed back to your
    terminal through berthd and the CLI.

To try something more ambitious, run a shell in a container:
 $ berth run -it busybox sh

`;

describe('autostart', { skip }, () => {
  for (const [how, args, env] of [
    ['BERTH_NO_AUTOSTART=1', [], { BERTH_NO_AUTOSTART: '1' }],
    ['--no-autostart', ['--no-autostart'], {}],
  ] as const) {
    test(`${how}: no daemon started, docker's "Cannot connect" and status 1`, async () => {
      const execRoot = mkdtempSync('/tmp/bq');
      const conf = mkdtempSync(join(tmpdir(), 'berth-noauto-cfg-'));
      try {
        const r = await berth([...args, 'ps'], { env: { ...env, BERTH_EXEC_ROOT: execRoot, BERTH_DATA_ROOT: join(execRoot, 'data'), DOCKER_CONFIG: conf } });
        assert.equal(r.code, 1);
        assert.equal(r.stdout, '');
        assert.equal(r.stderr, `Cannot connect to the Berth daemon at unix://${execRoot}/berth.sock. Is the berth daemon running?\n`);
        // Nothing was started: no socket, pidfile or log in the exec root.
        assert.deepEqual(readdirSync(execRoot), []);
      } finally {
        // Should the opt-out fail, the berthd it started goes too.
        await stopByPidfile(execRoot);
        rmSync(execRoot, { recursive: true, force: true });
        rmSync(conf, { recursive: true, force: true });
      }
    });
  }

  test('starts berthd when nothing answers on the default socket', async () => {
    const roots = autostartRoots();
    const { execRoot, env } = roots;
    try {
      const r = await berth(['version', '--format', '{{.Server.Version}}'], { env, timeout: 30000 });
      assert.match(r.stderr, new RegExp(`^Starting berthd \\(log: ${execRoot}/berthd.log\\)`), r.stderr);
      assert.equal(r.code, 0, `${r.stderr}\n${existsSync(join(execRoot, 'berthd.log')) ? readFileSync(join(execRoot, 'berthd.log'), 'utf8').slice(-2000) : ''}`);
      assert.ok(existsSync(join(execRoot, 'berth.sock')));
      // A second call finds it running: no notice.
      const again = await berth(['version', '--format', '{{.Server.Version}}'], { env });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stderr, '');
    } finally {
      await roots.cleanup();
    }
  });

  test('the quick start: `berth run --rm hello` autostarts berthd on its own roots and greets on the default bridge', async () => {
    const roots = autostartRoots();
    const { execRoot, dataRoot, bridge, env } = roots;
    try {
      const r = await berth(['run', '--rm', 'hello'], { env, timeout: 60000 });
      const log = () => (existsSync(join(execRoot, 'berthd.log')) ? readFileSync(join(execRoot, 'berthd.log'), 'utf8').slice(-3000) : '');
      assert.equal(r.code, 0, `${r.stderr}\n${log()}`);
      assert.equal(r.stderr, `Starting berthd (log: ${execRoot}/berthd.log)\n`);
      assert.equal(r.stdout, GREETING);
      // The daemon it started runs on the test's roots and daemon.json: its pidfile, its data root, the test's
      // bridge (made for the container on the default network), and the container is gone (--rm).
      const pid = Number(readFileSync(join(execRoot, 'berthd.pid'), 'utf8').trim());
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      assert.ok(cmdline.includes(execRoot) && cmdline.includes(dataRoot) && cmdline.includes(env.BERTH_CONFIG_FILE), cmdline.join(' '));
      const info = await berth(['info', '--format', '{{.DockerRootDir}}'], { env });
      assert.equal(info.stdout.trim(), dataRoot);
      const net = await berth(['network', 'inspect', '--format', '{{index .Options "com.docker.network.bridge.name"}} {{(index .IPAM.Config 0).Subnet}} {{index .Options "com.docker.network.bridge.enable_ip_masquerade"}}', 'bridge'], { env });
      assert.equal(net.stdout.trim(), `${bridge.name} ${bridge.subnet} false`);
      assert.ok(existsSync(`/sys/class/net/${bridge.name}`), 'the default bridge was set up for the container');
      assert.equal((await berth(['ps', '-aq'], { env })).stdout, '');
    } finally {
      await roots.cleanup();
    }
    assert.equal(existsSync(`/sys/class/net/${bridge.name}`), false);
  });
});
