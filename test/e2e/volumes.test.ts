// Volumes and mounts with the real docker CLI against a private berthd: named and anonymous volumes, binds both ways,
// read-only mounts, image VOLUME with copy-up, in-use refusal, prune, bind errors, tmpfs mounts, system df, a killed daemon.
//
// DOCKER_HOST points at the test's socket; every container runs with --network none; host dirs are the test's temp dirs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { berthdSkipReason, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { buildDockerSaveTar } from '../fixtures/image.js';
import { repoRoot } from '../fixtures/rootfs.js';

const skip = berthdSkipReason();
const IMAGE = 'busybox:latest';
const NONE = ['--network', 'none'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let d: Berthd;
let tmp: string;
let imageTar: string;

function ok(args: string[], opts: { input?: string; timeout?: number } = {}): string {
  const r = d.docker(args, opts);
  assert.equal(r.status, 0, `docker ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

interface MountJSON { Type: string; Name?: string; Source: string; Destination: string; Driver?: string; Mode: string; RW: boolean; Propagation: string }
const mountsOf = (c: string) => JSON.parse(ok(['inspect', '-f', '{{json .Mounts}}', c])) as MountJSON[];

describe('volumes with the docker CLI against berthd', { skip }, () => {
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-e2e-vol-'));
    imageTar = buildDockerSaveTar(tmp, IMAGE);
    d = await startBerthd({ prefix: 'berthd-e2e-vol-' });
    ok(['load', '-i', imageTar]);
  });
  after(async () => {
    await d?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('data in a named volume survives container removal; ls, inspect and the in-use refusal', () => {
    assert.equal(ok(['volume', 'create', '--label', 'app=e2e', 'appdata']), 'appdata\n');
    const v = (JSON.parse(ok(['volume', 'inspect', 'appdata'])) as Array<Record<string, unknown>>)[0]!;
    assert.deepEqual(Object.keys(v), ['CreatedAt', 'Driver', 'Labels', 'Mountpoint', 'Name', 'Options', 'Scope']);
    assert.equal(v['Mountpoint'], join(d.dataRoot, 'volumes', 'appdata', '_data'));
    assert.deepEqual([v['Driver'], v['Scope'], v['Labels']], ['local', 'local', { app: 'e2e' }]);
    assert.match(ok(['volume', 'ls']), /^DRIVER {4}VOLUME NAME\nlocal {5}appdata\n/);
    assert.equal(ok(['volume', 'ls', '-q', '--filter', 'label=app=e2e']), 'appdata\n');

    ok(['run', '--name', 'vol-writer', ...NONE, '-v', 'appdata:/data', IMAGE, 'sh', '-c', 'echo survives > /data/f']);
    const cid = ok(['inspect', '-f', '{{.Id}}', 'vol-writer']).trim();
    const m = mountsOf('vol-writer');
    assert.deepEqual(m, [{ Type: 'volume', Name: 'appdata', Source: v['Mountpoint'], Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' }]);
    // in use by a stopped container: 409 with dockerd's text
    const busy = d.docker(['volume', 'rm', 'appdata']);
    assert.equal(busy.status, 1);
    assert.equal(busy.stderr.trim(), `Error response from daemon: remove appdata: volume is in use - [${cid}]`);
    assert.equal(ok(['volume', 'ls', '-q', '--filter', 'dangling=true']).includes('appdata'), false);
    assert.equal(ok(['ps', '-a', '--filter', 'volume=appdata', '--format', '{{.Names}} {{.Mounts}}']), 'vol-writer appdata\n');
    assert.equal(ok(['ps', '-a', '--filter', 'volume=/data', '-q']).trim(), cid.slice(0, 12));
    ok(['rm', 'vol-writer']);
    assert.equal(ok(['run', '--rm', ...NONE, '-v', 'appdata:/again', IMAGE, 'cat', '/again/f']), 'survives\n');
    assert.equal(readFileSync(join(String(v['Mountpoint']), 'f'), 'utf8'), 'survives\n');
    assert.match(ok(['volume', 'ls', '-q', '--filter', 'dangling=true']), /^appdata$/m);
  });

  test('-v ro and --mount readonly refuse writes', () => {
    ok(['volume', 'create', 'rovol']);
    for (const spec of [['-v', 'rovol:/ro:ro'], ['--mount', 'type=volume,src=rovol,dst=/ro,readonly']]) {
      const r = d.docker(['run', '--rm', ...NONE, ...spec, IMAGE, 'sh', '-c', 'grep " /ro " /proc/mounts; echo x > /ro/f']);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stdout, / \/ro \S+ ro[,\s]/);
      assert.match(r.stderr, /can't create \/ro\/f: Read-only file system/);
    }
    const host = mkdtempSync(join(tmp, 'robind-'));
    const r = d.docker(['run', '--rm', ...NONE, '-v', `${host}:/b:ro`, IMAGE, 'touch', '/b/x']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Read-only file system/);
    assert.equal(existsSync(join(host, 'x')), false);
    ok(['volume', 'rm', 'rovol']);
  });

  test('a bind mount is visible both ways, while the container runs', async () => {
    const host = mkdtempSync(join(tmp, 'bind-'));
    writeFileSync(join(host, 'from-host'), 'host wrote this\n');
    const c = ok(['run', '-d', '--name', 'binder', ...NONE, '-v', `${host}:/shared`, IMAGE, 'sh', '-c',
      'cat /shared/from-host > /shared/seen-by-container; while [ ! -f /shared/go ]; do sleep 0.05; done; cat /shared/go > /shared/echo; echo from-container > /shared/from-container']).trim();
    assert.match(c, /^[0-9a-f]{64}$/);
    const until = async (p: string) => {
      for (let i = 0; i < 200 && !existsSync(p); i++) await sleep(50);
      assert.ok(existsSync(p), `${p} never appeared`);
    };
    // The shell's `>` creates the file before cat fills it: wait for the content, not just the name.
    const seen = join(host, 'seen-by-container');
    await until(seen);
    for (let i = 0; i < 200 && readFileSync(seen, 'utf8') === ''; i++) await sleep(50);
    assert.equal(readFileSync(seen, 'utf8'), 'host wrote this\n');
    // Written whole, then renamed into place: the container's `[ -f /shared/go ]` never sees it empty.
    writeFileSync(join(host, 'go.tmp'), 'written while it runs\n');
    renameSync(join(host, 'go.tmp'), join(host, 'go'));
    await until(join(host, 'from-container'));
    assert.equal(readFileSync(join(host, 'echo'), 'utf8'), 'written while it runs\n');
    assert.equal(ok(['wait', 'binder']).trim(), '0');
    const m = mountsOf('binder');
    assert.deepEqual(m, [{ Type: 'bind', Source: host, Destination: '/shared', Mode: '', RW: true, Propagation: 'rprivate' }]);
    ok(['rm', 'binder']);
  });

  test('a bind carries the mounts under its source; bind-recursive=disabled leaves them out', () => {
    const host = mkdtempSync(join(tmp, 'rec-'));
    mkdirSync(join(host, 'sub'));
    writeFileSync(join(host, 'sub', 'under'), 'in the dir\n');
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'berth-e2e-sub', join(host, 'sub')], { encoding: 'utf8' });
    assert.equal(m.status, 0, m.stderr);
    try {
      writeFileSync(join(host, 'sub', 'over'), 'on the tmpfs\n');
      const show = (opt: string) => ok(['run', '--rm', ...NONE, '--mount', `type=bind,source=${host},target=/b${opt}`, IMAGE, 'sh', '-c', 'ls /b/sub; grep -c " /b/sub " /proc/mounts; true']);
      assert.equal(show(''), 'over\n1\n');
      assert.equal(show(',bind-recursive=disabled'), 'under\n0\n');
    } finally {
      spawnSync('umount', [join(host, 'sub')]);
    }
  });

  test("an image VOLUME gets an anonymous volume with the image's content; rm -v removes it", () => {
    // An image with VOLUME /seed and content there: exported from a container, imported with a change.
    ok(['run', '--name', 'seedsrc', ...NONE, IMAGE, 'sh', '-c', 'mkdir -p /seed/sub && echo seeded > /seed/sub/f && chown 1234:5678 /seed/sub/f && chmod 640 /seed/sub/f && chmod 1777 /seed']);
    const tar = join(tmp, 'seed.tar');
    ok(['export', '-o', tar, 'seedsrc']);
    ok(['rm', 'seedsrc']);
    ok(['import', '-c', 'VOLUME /seed', '-c', 'CMD ["sh"]', tar, 'volimg:1']);
    assert.equal(ok(['image', 'inspect', '-f', '{{json .Config.Volumes}}', 'volimg:1']).trim(), '{"/seed":{}}');

    assert.equal(ok(['run', '--name', 'vimg', ...NONE, 'volimg:1', 'sh', '-c', 'cat /seed/sub/f; stat -c "%u:%g %a" /seed/sub/f /seed']), 'seeded\n1234:5678 640\n0:0 1777\n');
    const [m] = mountsOf('vimg');
    assert.equal(m!.Type, 'volume');
    assert.match(m!.Name!, /^[0-9a-f]{64}$/);
    assert.deepEqual([m!.Destination, m!.Driver, m!.Mode, m!.RW, m!.Propagation], ['/seed', 'local', '', true, '']);
    assert.equal(m!.Source, join(d.dataRoot, 'volumes', m!.Name!, '_data'));
    const st = lstatSync(join(m!.Source, 'sub', 'f'));
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [1234, 5678, 0o640], 'copied with owner and mode');
    assert.equal(ok(['volume', 'inspect', '-f', '{{json .Labels}}', m!.Name!]).trim(), '{"com.docker.volume.anonymous":""}');
    // a second container gets its own anonymous volume
    const other = ok(['create', ...NONE, 'volimg:1']).trim();
    assert.notEqual(mountsOf(other)[0]!.Name, m!.Name);
    ok(['rm', '-v', other]);
    ok(['rm', '-v', 'vimg']);
    const gone = d.docker(['volume', 'inspect', m!.Name!]);
    assert.equal(gone.status, 1);
    assert.match(gone.stderr, new RegExp(`get ${m!.Name}: no such volume`));
    assert.equal(existsSync(m!.Source), false);
    // --rm removes its anonymous volumes too
    const before = ok(['volume', 'ls', '-q']);
    assert.equal(ok(['run', '--rm', ...NONE, '-v', '/scratch', 'volimg:1', 'ls', '/seed/sub']), 'f\n');
    assert.equal(ok(['volume', 'ls', '-q']), before);
  });

  test('volume prune removes unused anonymous volumes; --all the named ones too, never one in use', () => {
    ok(['volume', 'create', 'keepme']);
    ok(['volume', 'create', 'inuse']);
    ok(['create', '--name', 'holder', ...NONE, '-v', 'inuse:/x', IMAGE, 'true']);
    const anon = ok(['volume', 'create']).trim();
    assert.match(anon, /^[0-9a-f]{64}$/);
    writeFileSync(join(d.dataRoot, 'volumes', anon, '_data', 'blob'), Buffer.alloc(3000));
    assert.equal(ok(['volume', 'prune', '-f']), `Deleted Volumes:\n${anon}\n\nTotal reclaimed space: 3kB\n`);
    const all = ok(['volume', 'prune', '--all', '--force', '--filter', 'label!=never']);
    assert.match(all, /^Deleted Volumes:\n/);
    assert.match(all, /^keepme$/m);
    assert.doesNotMatch(all, /^inuse$/m);
    assert.equal(ok(['volume', 'ls', '-q']).split('\n').includes('inuse'), true);
    assert.equal(ok(['volume', 'prune', '-f']), 'Total reclaimed space: 0B\n');
    ok(['rm', 'holder']);
    ok(['volume', 'rm', 'inuse']);
  });

  test("bind errors: --mount with a missing source is refused with docker's text; -v creates the host dir", () => {
    const missing = join(tmp, 'no', 'such', 'dir');
    const r = d.docker(['run', '--rm', ...NONE, '--mount', `type=bind,src=${missing},dst=/x`, IMAGE, 'true']);
    assert.equal(r.status, 125);
    assert.match(r.stderr, new RegExp(`^docker: Error response from daemon: invalid mount config for type "bind": bind source path does not exist: ${missing}$`, 'm'));
    assert.equal(existsSync(missing), false);
    assert.equal(ok(['run', '--rm', ...NONE, '-v', `${missing}:/x`, IMAGE, 'sh', '-c', 'echo made > /x/f; cat /x/f']), 'made\n');
    assert.equal(readFileSync(join(missing, 'f'), 'utf8'), 'made\n');
    const bad = d.docker(['run', '--rm', ...NONE, '-v', 'x:/y:bogus', IMAGE, 'true']);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /invalid mode: bogus/);
    const dup = d.docker(['run', '--rm', ...NONE, '-v', 'a1:/d', '-v', 'b1:/d', IMAGE, 'true']);
    assert.notEqual(dup.status, 0);
    assert.match(dup.stderr, /Duplicate mount point: \/d/);
  });

  test('--mount tmpfs with size and mode; a volume backed by tmpfs through volume-opt', () => {
    const out = ok(['run', '--rm', ...NONE, '--mount', 'type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770', IMAGE, 'sh', '-c', 'stat -c %a /t; grep " /t " /proc/mounts']);
    assert.match(out, /^1770\ntmpfs \/t tmpfs \S*size=1024k/);
    const v = ok(['run', '--rm', ...NONE, '--mount', 'type=volume,src=ramvol,dst=/r,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-opt=o=size=2m', IMAGE, 'sh', '-c', 'grep " /r " /proc/mounts']);
    assert.match(v, /^tmpfs \/r tmpfs .*size=2048k/);
    assert.equal(ok(['volume', 'inspect', '-f', '{{json .Options}}', 'ramvol']).trim(), '{"device":"tmpfs","o":"size=2m","type":"tmpfs"}');
    ok(['volume', 'rm', 'ramvol']);
  });

  test('system df counts volumes', () => {
    ok(['volume', 'create', 'dfvol']);
    writeFileSync(join(d.dataRoot, 'volumes', 'dfvol', '_data', 'f'), Buffer.alloc(2000));
    const out = ok(['system', 'df']);
    assert.match(out, /^Local Volumes\s+[1-9]\d*\s+\d+\s+\S+/m);
    assert.match(ok(['system', 'df', '-v']), /^dfvol\s+0\s+2kB$/m);
    const j = JSON.parse(ok(['system', 'df', '--format', '{{json .}}']).split('\n').find((l) => l.includes('Local Volumes'))!) as { TotalCount: string };
    assert.ok(Number(j.TotalCount) >= 1);
    ok(['volume', 'rm', 'dfvol']);
  });

  test('the berth CLI: volume create/ls/inspect/rm/prune, run -v, system df', { skip: existsSync(join(repoRoot, 'dist', 'berth.cjs')) ? false : 'the berth bundle is not built' }, () => {
    const berth = (args: string[], input = '') => spawnSync(process.execPath, [join(repoRoot, 'bin', 'berth.cjs'), '-H', d.host, ...args], {
      encoding: 'utf8', input, timeout: 60000, env: { PATH: process.env['PATH'], HOME: d.dir, DOCKER_CONFIG: String(d.env['DOCKER_CONFIG']), BERTH_NO_AUTOSTART: '1', LANG: 'C' },
    });
    const bok = (args: string[], input = '') => {
      const r = berth(args, input);
      assert.equal(r.status, 0, `berth ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    assert.equal(bok(['volume', 'create', '--label', 'by=berth', 'berthvol']), 'berthvol\n');
    assert.match(bok(['volume', 'ls', '--filter', 'label=by=berth']), /^DRIVER {4}VOLUME NAME\nlocal {5}berthvol\n$/);
    assert.equal(bok(['volume', 'inspect', '-f', '{{.Name}} {{.Driver}} {{json .Labels}}', 'berthvol']), 'berthvol local {"by":"berth"}\n');
    assert.equal(bok(['run', '--name', 'berthuser', ...NONE, '-v', 'berthvol:/v', IMAGE, 'sh', '-c', 'echo via-berth > /v/f; cat /v/f']), 'via-berth\n');
    const id = bok(['inspect', '-f', '{{.Id}}', 'berthuser']).trim();
    const busy = berth(['volume', 'rm', 'berthvol']);
    assert.equal(busy.status, 1);
    assert.equal(busy.stderr, `Error response from daemon: remove berthvol: volume is in use - [${id}]\n`);
    assert.match(bok(['system', 'df']), /^Local Volumes\s+[1-9]/m);
    bok(['rm', 'berthuser']);
    assert.equal(bok(['volume', 'prune', '--all', '--filter', 'label=by=berth'], 'y\n'),
      'WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] Deleted Volumes:\nberthvol\n\nTotal reclaimed space: 10B\n');
    const gone = berth(['volume', 'rm', 'berthvol']);
    assert.equal(gone.stderr, 'Error response from daemon: get berthvol: no such volume\n');
  });

  test('a SIGKILLed berthd comes back with its volumes whole', async () => {
    const d1 = await startBerthd({ prefix: 'berthd-e2e-volkill-' });
    let d2: Berthd | undefined;
    try {
      d1.docker(['volume', 'create', '--label', 'x=1', 'durable']);
      writeFileSync(join(d1.dataRoot, 'volumes', 'durable', '_data', 'f'), 'still here');
      process.kill(d1.pid, 'SIGKILL');
      // Gone and reaped before the next berthd takes over its data root and pidfile.
      assert.equal((await d1.exited).signal, 'SIGKILL');
      d2 = await startBerthd({ reuse: { dir: d1.dir, execRoot: d1.execRoot } });
      const v = (JSON.parse(d2.docker(['volume', 'inspect', 'durable']).stdout) as Array<{ Labels: Record<string, string> }>)[0]!;
      assert.deepEqual(v.Labels, { x: '1' });
      assert.equal(readFileSync(join(d2.dataRoot, 'volumes', 'durable', '_data', 'f'), 'utf8'), 'still here');
    } finally {
      if (d2) await d2.stop();
      await d1.stop();
    }
  });
});
