// The berth CLI's container and image operations against a private berthd (cp, attach, info, history, save/load,
// tag/rmi, restart, rename, export, kill, update, pause), next to what the docker CLI prints against the same daemon.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { berthdSkipReason, DOCKER, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { runBerth, spawnBerth, type Result } from '../fixtures/berth-cli.js';
import { buildDockerSaveTar } from '../fixtures/image.js';
import { registrySkipReason, startRegistry, type Registry } from '../fixtures/registry.js';
import { waitFor } from '../fixtures/process.js';
import { haveCommand, repoRoot } from '../fixtures/rootfs.js';

const skip = berthdSkipReason() ?? (existsSync(join(repoRoot, 'dist', 'berth.cjs')) ? undefined : 'the berth bundle is not built (npm run build)');
const NONE = ['--network', 'none'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let d: Berthd;
let tmp: string;
let reg: Registry | undefined;

/** berth with -H and no autostart. */
const b = (args: string[], opts: { input?: string | Buffer; timeout?: number } = {}) =>
  runBerth(['-H', d.host, ...args], { ...opts, env: { HOME: tmp, DOCKER_CONFIG: join(tmp, 'config'), BERTH_NO_AUTOSTART: '1' } });

async function ok(args: string[], opts: { input?: string | Buffer } = {}): Promise<string> {
  const r = await b(args, opts);
  assert.equal(r.code, 0, `berth ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/** The docker CLI against the same berthd. */
function docker(args: string[], input?: string): Result {
  const r = d.docker(args, input === undefined ? {} : { input });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, raw: Buffer.from(r.stdout) };
}

/** Names in a tar stream, as `tar t` lists them. */
function tarList(tar: Buffer): string[] {
  const r = spawnSync('tar', ['t'], { input: tar, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

const inspect = async (name: string, format: string) => (await ok(['inspect', '--format', format, name])).trim();

describe('berth CLI operations against berthd', { skip }, () => {
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-cli-ops-'));
    d = await startBerthd({ prefix: 'berth-cli-ops-' });
    await ok(['load', '-i', buildDockerSaveTar(tmp, 'busybox:latest')]);
  });
  after(async () => {
    await d?.stop();
    await reg?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('cp: both directions, tar streams on - and paths that try to leave the container', async () => {
    await ok(['run', '-d', '--name', 'cp1', ...NONE, 'busybox', 'sleep', '300']);
    const src = join(tmp, 'cp-src.txt');
    writeFileSync(src, 'from the host\n');
    assert.equal(await ok(['cp', src, 'cp1:/tmp/in.txt']), '');
    assert.equal(await ok(['exec', 'cp1', 'cat', '/tmp/in.txt']), 'from the host\n');
    await ok(['exec', 'cp1', 'sh', '-c', 'mkdir -p /data/sub && echo out > /data/sub/f']);
    const dest = join(tmp, 'cp-out');
    await ok(['cp', 'cp1:/data', dest]);
    assert.equal(readFileSync(join(dest, 'sub', 'f'), 'utf8'), 'out\n');

    // `-` as the source: a tar on stdin extracted into the directory.
    const tarDir = join(tmp, 'tar-src');
    mkdirSync(join(tarDir, 'd'), { recursive: true });
    writeFileSync(join(tarDir, 'd', 'a'), 'in a tar\n');
    const tarIn = spawnSync('tar', ['-C', tarDir, '-c', 'd']).stdout;
    assert.equal(await ok(['cp', '-', 'cp1:/tmp'], { input: tarIn }), '');
    assert.equal(await ok(['exec', 'cp1', 'cat', '/tmp/d/a']), 'in a tar\n');
    // `-` as the destination: the path as a tar on stdout, as docker writes it.
    const out = await b(['cp', 'cp1:/data', '-']);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(tarList(out.raw), tarList(spawnSync(DOCKER, ['cp', 'cp1:/data', '-'], { env: d.env }).stdout));
    assert.deepEqual(tarList(out.raw).sort(), ['data/', 'data/sub/', 'data/sub/f']);

    // `..` past the root stays at the container's root: its passwd, not the host's.
    const passwd = await ok(['exec', 'cp1', 'cat', '/etc/passwd']);
    await ok(['cp', 'cp1:/../../../../etc/passwd', join(tmp, 'passwd')]);
    assert.equal(readFileSync(join(tmp, 'passwd'), 'utf8'), passwd);
    // So does a symlink pointing out of it, in both directions.
    await ok(['exec', 'cp1', 'ln', '-s', '/../../../../../etc', '/tmp/esc']);
    await ok(['cp', 'cp1:/tmp/esc/passwd', join(tmp, 'passwd2')]);
    assert.equal(readFileSync(join(tmp, 'passwd2'), 'utf8'), passwd);
    const marker = `berth-cp-escape-${process.pid}`;
    await ok(['cp', src, `cp1:/tmp/esc/${marker}`]);
    assert.equal(existsSync(join('/etc', marker)), false, 'cp wrote to the host /etc');
    assert.equal(await ok(['exec', 'cp1', 'cat', `/etc/${marker}`]), 'from the host\n');

    // A missing path: docker's message and status.
    const missing = await b(['cp', 'cp1:/no/such', join(tmp, 'x')]);
    assert.equal(missing.code, 1);
    const dmissing = docker(['cp', 'cp1:/no/such', join(tmp, 'x')]);
    assert.equal(missing.stderr, dmissing.stderr);
    assert.equal(missing.stderr, 'Error response from daemon: Could not find the file /no/such in container cp1\n');
  });

  test('cp: a running container\'s mounts (a volume, a bind, /etc/hostname) as the container sees them', async () => {
    const bind = join(tmp, 'bind-src');
    mkdirSync(bind);
    writeFileSync(join(bind, 'on-host'), 'bound\n');
    await ok(['run', '-d', '--name', 'cpm', ...NONE, '-v', 'cpvol:/vol', '-v', `${bind}:/bind`, 'busybox', 'sleep', '300']);
    const src = join(tmp, 'cp-src.txt');
    writeFileSync(src, 'into the volume\n');
    await ok(['cp', src, 'cpm:/vol/in.txt']);
    assert.equal(await ok(['exec', 'cpm', 'cat', '/vol/in.txt']), 'into the volume\n');
    await ok(['exec', 'cpm', 'sh', '-c', 'echo from-volume > /vol/out.txt']);
    await ok(['cp', 'cpm:/vol/out.txt', join(tmp, 'vol-out.txt')]);
    assert.equal(readFileSync(join(tmp, 'vol-out.txt'), 'utf8'), 'from-volume\n');
    await ok(['cp', 'cpm:/bind/on-host', join(tmp, 'bind-out')]);
    assert.equal(readFileSync(join(tmp, 'bind-out'), 'utf8'), 'bound\n');
    await ok(['cp', src, 'cpm:/bind/from-cp']);
    assert.equal(readFileSync(join(bind, 'from-cp'), 'utf8'), 'into the volume\n');
    const hostname = await ok(['exec', 'cpm', 'cat', '/etc/hostname']);
    await ok(['cp', 'cpm:/etc/hostname', join(tmp, 'hostname')]);
    assert.equal(readFileSync(join(tmp, 'hostname'), 'utf8'), hostname);
    // A link out of the container still ends inside it.
    await ok(['exec', 'cpm', 'ln', '-s', '/../../../../..', '/tmp/up']);
    await ok(['cp', 'cpm:/tmp/up/etc/passwd', join(tmp, 'passwd-up')]);
    assert.equal(readFileSync(join(tmp, 'passwd-up'), 'utf8'), await ok(['exec', 'cpm', 'cat', '/etc/passwd']));
  });

  test('attach: stdin reaches a cat container, its echo comes back; ctrl-p ctrl-q detaches and leaves it running', async () => {
    await ok(['run', '-d', '-i', '--name', 'att1', ...NONE, 'busybox', 'cat']);
    const child = spawnBerth(['-H', d.host, 'attach', 'att1'], { HOME: tmp, DOCKER_CONFIG: join(tmp, 'config'), BERTH_NO_AUTOSTART: '1' });
    try {
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      const closed = new Promise<number | null>((r) => child.once('close', r));
      // Lines until one comes back: the attach may still be setting up when the first is written.
      for (let i = 0; i < 50 && !out.includes('ping'); i++) {
        child.stdin.write('ping\n');
        await sleep(200);
      }
      assert.match(out, /^(ping\n)+$/);
      // The detach keys with stdin still open: berth ends by itself, the container stays.
      child.stdin.write(Buffer.from([0x10, 0x11]));
      const code = await Promise.race([closed, sleep(10000).then(() => 'still attached')]);
      assert.equal(code, 0);
      assert.equal(await inspect('att1', '{{.State.Status}}'), 'running');
      // The keys were not passed to cat.
      assert.doesNotMatch(await ok(['logs', 'att1']), /[\x10\x11]/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  /** `cmd` in a pty (script(1)) with `typed` (a shell snippet of sleeps and printf) as its keyboard; stdout (ending `exit=N took=Ns`) and stderr. */
  function inPty(cmd: string, typed: string): { out: string; err: string } {
    const errFile = join(tmp, 'pty-stderr');
    const r = spawnSync('sh', ['-c', `(${typed}) | script -qfec 's=$(date +%s); ${cmd} 2>${errFile}; echo "exit=$? took=$(($(date +%s)-s))s"' /dev/null`], {
      encoding: 'utf8', timeout: 30000, env: { PATH: process.env['PATH'], HOME: tmp, DOCKER_CONFIG: join(tmp, 'config'), BERTH_NO_AUTOSTART: '1' },
    });
    return { out: r.stdout, err: readFileSync(errFile, 'utf8') };
  }
  const berthCmd = () => `node ${join(repoRoot, 'bin', 'berth.cjs')} -H ${d.host}`;

  test('attach from a terminal: ctrl-p ctrl-q leaves the shell running, "read escape sequence" and 1 as docker', { skip: haveCommand('script') ? undefined : 'needs script(1) for a pty' }, async () => {
    await ok(['run', '-d', '-i', '-t', '--name', 'att2', ...NONE, 'busybox', 'sh']);
    const keys = `sleep 1.5; printf 'echo a""b\\r'; sleep 1; printf '\\020\\021'; sleep 5`;
    for (const bin of [berthCmd(), `${DOCKER} -H ${d.host}`]) {
      const r = inPty(`${bin} attach att2`, keys);
      assert.match(r.out, /\nab\r/, r.out);
      assert.match(r.out, /exit=1/, r.out);
      assert.equal(r.err, 'read escape sequence\n', bin);
      assert.equal(await inspect('att2', '{{.State.Status}}'), 'running');
    }
  });

  test('run -it: ctrl-p ctrl-q returns 0 at once and the container runs on', { skip: haveCommand('script') ? undefined : 'needs script(1) for a pty' }, async () => {
    // Typed after 2.5 s; the keyboard stays open 20 s more: run must return on the keys, not on EOF.
    const r = inPty(`${berthCmd()} run -it --name rit1 --network none busybox sh`, `sleep 2.5; printf '\\020\\021'; sleep 20`);
    const m = /exit=(\d+) took=(\d+)s/.exec(r.out);
    assert.ok(m, r.out);
    assert.equal(m[1], '0');
    assert.ok(Number(m[2]) < 15, `run -it returned after ${m[2]} s: at the end of input, not on the keys`);
    assert.equal(r.err, '');
    assert.equal(await inspect('rit1', '{{.State.Status}}'), 'running');
  });

  test('info: the same facts as docker info', async () => {
    const fmt = '{{.ID}} {{.Containers}} {{.Images}} {{.Driver}} {{.CgroupVersion}} {{.CgroupDriver}} {{.NCPU}} {{.MemTotal}} {{.OSType}} {{.ServerVersion}}';
    assert.equal(await ok(['info', '--format', fmt]), docker(['info', '--format', fmt]).stdout);
    const table = await ok(['info']);
    assert.match(table, /^Client:\n/);
    assert.match(table, /\nServer:\n Containers: \d+\n  Running: \d+\n  Paused: \d+\n  Stopped: \d+\n Images: \d+\n/);
    assert.match(table, /\n Storage Driver: \S+\n/);
  });

  test('history: docker history\'s table', async () => {
    for (const args of [['history', 'busybox'], ['history', '--no-trunc', 'busybox'], ['history', '--format', '{{.ID}}|{{.CreatedSince}}|{{.CreatedAt}}|{{.Size}}', 'busybox']]) {
      assert.equal(await ok(args), docker(args).stdout, args.join(' '));
    }
  });

  test('tag and rmi: the tag lists with the same ID, rmi untags as docker does', async () => {
    await ok(['tag', 'busybox', 'mybox:v1']);
    const ids = (await ok(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).split('\n');
    const id = ids.find((l) => l.startsWith('busybox:latest '))!.split(' ')[1];
    assert.ok(ids.includes(`mybox:v1 ${id}`), ids.join('\n'));
    assert.equal(await ok(['rmi', 'mybox:v1']), 'Untagged: mybox:v1\n');
    assert.equal(docker(['tag', 'busybox', 'mybox:v2']).code, 0);
    assert.equal(docker(['rmi', 'mybox:v2']).stdout, 'Untagged: mybox:v2\n');
    const gone = await b(['rmi', 'mybox:v1']);
    assert.equal(gone.code, 1);
    assert.equal(gone.stderr, docker(['rmi', 'mybox:v1']).stderr);
  });

  test('save and load: a round trip through a file and through a pipe', async () => {
    await ok(['tag', 'busybox', 'roundtrip:1']);
    const file = join(tmp, 'saved.tar');
    assert.equal(await ok(['save', '-o', file, 'roundtrip:1']), '');
    assert.ok(tarList(readFileSync(file)).includes('manifest.json'));
    assert.equal(await ok(['rmi', 'roundtrip:1']), 'Untagged: roundtrip:1\n');
    assert.equal((await b(['image', 'inspect', 'roundtrip:1'])).code, 1);
    assert.equal(await ok(['load', '-i', file]), 'Loaded image: roundtrip:1\n');
    assert.equal(await ok(['run', '--rm', ...NONE, 'roundtrip:1', 'echo', 'loaded']), 'loaded\n');
    // save to stdout, load from stdin.
    const saved = await b(['save', 'roundtrip:1']);
    assert.equal(saved.code, 0, saved.stderr);
    await ok(['rmi', 'roundtrip:1']);
    assert.equal(await ok(['load'], { input: saved.raw }), 'Loaded image: roundtrip:1\n');
  });

  test('restart and rename', async () => {
    await ok(['run', '-d', '--name', 'rs1', ...NONE, 'busybox', 'sleep', '300']);
    const started = await inspect('rs1', '{{.State.StartedAt}}');
    const pid = await inspect('rs1', '{{.State.Pid}}');
    assert.equal(await ok(['restart', '-t', '1', 'rs1']), 'rs1\n');
    assert.equal(await inspect('rs1', '{{.State.Status}}'), 'running');
    assert.notEqual(await inspect('rs1', '{{.State.StartedAt}}'), started);
    assert.notEqual(await inspect('rs1', '{{.State.Pid}}'), pid);
    assert.equal(await ok(['rename', 'rs1', 'rs2']), '');
    assert.match(await ok(['ps', '--format', '{{.Names}}']), /^rs2$/m);
    const old = await b(['inspect', 'rs1']);
    assert.equal(old.code, 1);
    assert.equal(await inspect('rs2', '{{.Name}}'), '/rs2');
    const taken = await b(['rename', 'rs2', 'cp1']);
    assert.equal(taken.code, 1);
    assert.equal(taken.stderr, docker(['rename', 'rs2', 'cp1']).stderr);
  });

  test('export: the container\'s filesystem with its changes, to stdout and to a file', async () => {
    await ok(['run', '--name', 'ex1', ...NONE, 'busybox', 'sh', '-c', 'echo changed > /exported']);
    const out = await b(['export', 'ex1']);
    assert.equal(out.code, 0, out.stderr);
    const names = tarList(out.raw);
    assert.ok(names.includes('exported') && names.includes('bin/busybox'), names.join(' '));
    const file = join(tmp, 'export.tar');
    assert.equal(await ok(['export', '-o', file, 'ex1']), '');
    const content = spawnSync('tar', ['-xOf', file, 'exported'], { encoding: 'utf8' }).stdout;
    assert.equal(content, 'changed\n');
    // A reader that stops early: the end docker's SIGPIPE gives (141), no stack trace.
    const pipe = spawnSync('bash', ['-c', `node ${join(repoRoot, 'bin', 'berth.cjs')} -H ${d.host} export ex1 | head -c 10 >/dev/null; echo "\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
    assert.equal(pipe.stdout, '141\n');
    assert.equal(pipe.stderr, '');
  });

  test('kill: -s delivers the signal (the exit code of its trap in inspect); the default is SIGKILL (137)', async () => {
    await ok(['run', '-d', '--name', 'k1', ...NONE, 'busybox', 'sh', '-c', 'trap "exit 42" USR1; echo ready; while :; do sleep 0.1; done']);
    // The trap is set before `ready`: a signal sooner would be ignored (PID 1 without a handler).
    await waitFor(async () => (await ok(['logs', 'k1'])).includes('ready'), 15_000, 'k1 ready');
    assert.equal(await ok(['kill', '-s', 'USR1', 'k1']), 'k1\n');
    await ok(['wait', 'k1']);
    assert.equal(await inspect('k1', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 42');
    await ok(['run', '-d', '--name', 'k2', ...NONE, 'busybox', 'sleep', '300']);
    assert.equal(await ok(['kill', 'k2']), 'k2\n');
    assert.equal(await ok(['wait', 'k2']), '137\n');
    const notRunning = await b(['kill', 'k2']);
    assert.equal(notRunning.code, 1);
    assert.equal(notRunning.stderr, docker(['kill', 'k2']).stderr);
  });

  test('update --memory: the new limit in the container\'s cgroup and in inspect', async () => {
    await ok(['run', '-d', '--name', 'up1', ...NONE, 'busybox', 'sleep', '300']);
    assert.equal(await ok(['update', '--memory', '64m', 'up1']), 'up1\n');
    assert.equal(await inspect('up1', '{{.HostConfig.Memory}}'), String(64 * 1024 * 1024));
    const limit = await ok(['exec', 'up1', 'sh', '-c', 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes']);
    assert.equal(limit, `${64 * 1024 * 1024}\n`);
  });

  test('pause and unpause: the state in ps and inspect, the process frozen meanwhile', async () => {
    await ok(['run', '-d', '--name', 'pz1', ...NONE, 'busybox', 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done']);
    await sleep(300);
    assert.equal(await ok(['pause', 'pz1']), 'pz1\n');
    assert.match(await ok(['ps', '--filter', 'name=pz1', '--format', '{{.Status}}']), /^Up .* \(Paused\)\n$/);
    assert.equal(await inspect('pz1', '{{.State.Status}} {{.State.Paused}}'), 'paused true');
    const lines = async () => (await ok(['logs', 'pz1'])).split('\n').filter(Boolean).length;
    const frozen = await lines();
    await sleep(500);
    assert.equal(await lines(), frozen, 'the loop ran while paused');
    const exec = await b(['exec', 'pz1', 'true']);
    assert.equal(exec.code, 1);
    assert.equal(exec.stderr, docker(['exec', 'pz1', 'true']).stderr);
    assert.equal(await ok(['unpause', 'pz1']), 'pz1\n');
    assert.equal(await inspect('pz1', '{{.State.Status}} {{.State.Paused}}'), 'running false');
    await sleep(500);
    assert.ok((await lines()) > frozen, 'the loop did not resume');
  });

  test('pull from a registry: docker\'s lines, the same as docker pull prints', { skip: registrySkipReason() }, async () => {
    reg = await startRegistry();
    const ref = `${reg.host}/test/bb:1`;
    // An image of its own (no container uses it), so that removing it makes the pull download its layer.
    const dir = join(tmp, 'pull-src');
    mkdirSync(dir);
    writeFileSync(join(dir, 'hello'), 'pulled\n');
    await ok(['import', '-', ref], { input: spawnSync('tar', ['-C', dir, '-c', '.']).stdout });
    assert.match(await ok(['push', ref]), /^1: digest: sha256:[0-9a-f]{64} size: \d+$/m);
    await ok(['rmi', ref]);
    const pulled = await ok(['pull', ref]);
    const layer = '[0-9a-f]{12}';
    assert.match(pulled, new RegExp([
      '^1: Pulling from test/bb', `${layer}: Pulling fs layer`, `(${layer}: .*\\n)*${layer}: Pull complete`,
      'Digest: sha256:[0-9a-f]{64}', `Status: Downloaded newer image for ${reg.host}/test/bb:1`, `${reg.host}/test/bb:1\\n$`,
    ].join('\\n')), pulled);
    const again = await ok(['pull', ref]);
    assert.ok(again.startsWith('1: Pulling from test/bb\n'), again);
    assert.ok(again.endsWith(`Digest: ${/Digest: (\S+)/.exec(pulled)![1]}\nStatus: Image is up to date for ${reg.host}/test/bb:1\n${reg.host}/test/bb:1\n`), again);
    // The docker CLI on the same daemon prints the same lines.
    await ok(['rmi', ref]);
    assert.equal(docker(['pull', ref]).stdout.replace(/^.*: (Waiting|Verifying Checksum|Download complete)\n/gm, ''), pulled.replace(/^.*: (Waiting|Verifying Checksum|Download complete)\n/gm, ''));
  });

  test('a command that cannot run: 126 (not executable, a directory) and 127 (missing), as docker run says', async () => {
    const cases: Array<[string, number, RegExp]> = [
      ['/etc/passwd', 126, /exec: "\/etc\/passwd": permission denied/],
      ['/etc', 126, /exec: "\/etc": is a directory/],
      ['/no/such', 127, /exec: "\/no\/such": stat \/no\/such: no such file or directory/],
      ['nosuch', 127, /exec: "nosuch": executable file not found in \$PATH/],
    ];
    // The task id differs from run to run.
    const same = (s: string) => s.replace(/[0-9a-f]{64}/g, 'ID');
    for (const [cmd, code, message] of cases) {
      const r = await b(['run', '--rm', ...NONE, 'busybox', cmd]);
      assert.equal(r.code, code, `${cmd}: ${r.stderr}`);
      assert.match(r.stderr, /^berth: Error response from daemon: /);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /\n\nRun 'berth run --help' for more information\n$/);
      const dr = docker(['run', '--rm', ...NONE, 'busybox', cmd]);
      assert.equal(dr.code, code, `docker run ${cmd}: ${dr.stderr}`);
      assert.equal(same(r.stderr), same(dr.stderr).replace(/^docker: /, 'berth: ').replace("'docker run --help'", "'berth run --help'"));
    }
  });
});
