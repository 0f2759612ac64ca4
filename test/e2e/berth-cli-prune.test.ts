// berth's prune commands (container, image, system, with volume and network prune inside system) and `berth diff`,
// next to the docker CLI against the same private berthd: the same prompts, reports and exit statuses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { berthdSkipReason, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { runBerth, type Result } from '../fixtures/berth-cli.js';
import { buildDockerSaveTar } from '../fixtures/image.js';
import { repoRoot } from '../fixtures/rootfs.js';

const skip = berthdSkipReason() ?? (existsSync(join(repoRoot, 'dist', 'berth.cjs')) ? undefined : 'the berth bundle is not built (npm run build)');
const NONE = ['--network', 'none'];

let d: Berthd;
let tmp: string;
let busyboxTar: string;

const b = (args: string[], input?: string) =>
  runBerth(['-H', d.host, ...args], { input: input ?? '', env: { HOME: tmp, DOCKER_CONFIG: join(tmp, 'config'), BERTH_NO_AUTOSTART: '1' } });

function docker(args: string[], input?: string): Result {
  const r = d.docker(args, { input: input ?? '' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, raw: Buffer.from(r.stdout) };
}

function dok(args: string[]): string {
  const r = docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A one-file image imported under `ref`; importing twice under one tag leaves the first dangling. */
function importLayer(n: string, ref: string, change: string[] = []): string {
  const dir = join(tmp, `layer-${n}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'f'), n);
  const tar = join(tmp, `layer-${n}.tar`);
  spawnSync('tar', ['-cf', tar, '-C', dir, 'f']);
  return dok(['import', ...change, tar, ref]).trim();
}

/**
 * Something for every kind of system prune to remove: a stopped container with an anonymous volume, an unused
 * network, a dangling image. Returns the ids and names as the report prints them.
 */
function litter(tag: string): { container: string; network: string; volume: string; image: string } {
  dok(['run', '--name', `stopped-${tag}`, ...NONE, '-v', '/data', 'busybox', 'true']);
  const volume = dok(['inspect', '--format', '{{range .Mounts}}{{.Name}}{{end}}', `stopped-${tag}`]).trim();
  dok(['network', 'create', `net-${tag}`]);
  const image = importLayer(`${tag}-1`, `dangle:${tag}`);
  importLayer(`${tag}-2`, `dangle:${tag}`);
  dok(['rmi', `dangle:${tag}`]);
  return { container: dok(['inspect', '--format', '{{.Id}}', `stopped-${tag}`]).trim(), network: `net-${tag}`, volume, image };
}

const SIZE = /Total reclaimed space: \d+(\.\d+)?[kMG]?B\n$/;

describe('berth prune and diff against berthd, next to docker', { skip }, () => {
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-cli-prune-'));
    d = await startBerthd({ prefix: 'berth-cli-prune-' });
    busyboxTar = buildDockerSaveTar(tmp, 'busybox:latest');
    dok(['load', '-i', busyboxTar]);
  });
  after(async () => {
    await d?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('prune prompts: docker\'s words, and a "no" ends with status 0 and nothing removed', async () => {
    dok(['create', '--name', 'keep', ...NONE, 'busybox', 'true']);
    for (const args of [
      ['container', 'prune'],
      ['image', 'prune'],
      ['image', 'prune', '-a'],
      ['system', 'prune'],
      ['system', 'prune', '-a', '--volumes', '--filter', 'label=a=b', '--filter', 'label!=c'],
      ['system', 'prune', '--filter', 'until=1h'],
      ['volume', 'prune'],
      ['network', 'prune'],
    ]) {
      const ours = await b(args, 'n\n');
      const theirs = docker(args, 'n\n');
      assert.deepEqual({ code: ours.code, stdout: ours.stdout, stderr: ours.stderr }, { code: theirs.code, stdout: theirs.stdout, stderr: theirs.stderr }, args.join(' '));
    }
    assert.equal((await b(['container', 'prune'], 'n\n')).stdout, 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ');
    assert.equal(
      (await b(['system', 'prune', '-a', '--volumes', '--filter', 'label=a=b'], 'n\n')).stdout,
      'WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all anonymous volumes not used by at least one container\n' +
        '  - all images without at least one container associated to them\n  - all build cache\n\n  Items to be pruned will be filtered with:\n  - label=a=b\n\nAre you sure you want to continue? [y/N] ',
    );
    // until with --volumes: refused before the prompt, as docker does.
    const until = await b(['system', 'prune', '--volumes', '--filter', 'until=1h'], 'y\n');
    assert.deepEqual([until.code, until.stdout, until.stderr], [1, '', 'ERROR: The "until" filter is not supported with "--volumes"\n']);
    assert.deepEqual([until.code, until.stderr], [docker(['system', 'prune', '--volumes', '--filter', 'until=1h'], 'y\n').code, docker(['system', 'prune', '--volumes', '--filter', 'until=1h'], 'y\n').stderr]);
    assert.equal(dok(['inspect', '--format', '{{.State.Status}}', 'keep']).trim(), 'created');
    dok(['rm', 'keep']);
  });

  test('container prune: a "y" at the prompt, --filter, and docker\'s report', async () => {
    const a = dok(['create', '--name', 'pa', '--label', 'prune=yes', ...NONE, 'busybox', 'true']).trim();
    const bb = dok(['create', '--name', 'pb', '--label', 'prune=yes', ...NONE, 'busybox', 'true']).trim();
    const kept = dok(['create', '--name', 'pkeep', ...NONE, 'busybox', 'true']).trim();
    dok(['run', '-d', '--name', 'prun', '--label', 'prune=yes', ...NONE, 'busybox', 'sleep', '300']);

    const ours = await b(['container', 'prune', '--filter', 'label=prune=yes'], 'y\n');
    assert.equal(ours.code, 0, ours.stderr);
    const deleted = ours.stdout.match(/^[0-9a-f]{64}$/gm) ?? [];
    assert.deepEqual(deleted.sort(), [a, bb].sort());
    assert.match(ours.stdout, new RegExp(`^WARNING! This will remove all stopped containers\\.\nAre you sure you want to continue\\? \\[y/N\\] Deleted Containers:\n[0-9a-f]{64}\n[0-9a-f]{64}\n\n${SIZE.source}`));
    assert.equal((await b(['container', 'prune', '-f', '--filter', 'label=prune=yes'])).stdout, 'Total reclaimed space: 0B\n');
    assert.equal(docker(['container', 'prune', '-f', '--filter', 'label=prune=yes']).stdout, 'Total reclaimed space: 0B\n');
    // The running one and the unlabelled one stay; then a plain prune takes the latter, printed as docker does.
    assert.match(dok(['ps', '-a', '--format', '{{.Names}}']), /^pkeep$/m);
    assert.match(dok(['ps', '-a', '--format', '{{.Names}}']), /^prun$/m);
    const plain = await b(['container', 'prune', '-f']);
    assert.match(plain.stdout, new RegExp(`^Deleted Containers:\n${kept}\n\n${SIZE.source}`));
    const again = dok(['create', '--name', 'pkeep2', ...NONE, 'busybox', 'true']).trim();
    assert.match(dok(['container', 'prune', '-f']), new RegExp(`^Deleted Containers:\n${again}\n\n${SIZE.source}`));
    dok(['rm', '-f', 'prun']);
  });

  test('image prune: dangling only, -a with a label filter; the same report as docker\'s', async () => {
    const dangling = importLayer('i1', 'img:d');
    importLayer('i2', 'img:d');
    const ours = await b(['image', 'prune', '-f']);
    assert.equal(ours.code, 0, ours.stderr);
    assert.match(ours.stdout, new RegExp(`^Deleted Images:\ndeleted: ${dangling}\n\n${SIZE.source}`));
    assert.equal((await b(['image', 'prune', '-f'])).stdout, 'Total reclaimed space: 0B\n');
    assert.match(dok(['images', '--format', '{{.Repository}}:{{.Tag}}']), /^img:d$/m);

    const labelled = importLayer('i3', 'img:labelled', ['-c', 'LABEL prune=yes']);
    const all = await b(['image', 'prune', '-a', '-f', '--filter', 'label=prune=yes']);
    assert.match(all.stdout, new RegExp(`^Deleted Images:\nuntagged: img:labelled\ndeleted: ${labelled}\n\n${SIZE.source}`));
    const labelled2 = importLayer('i4', 'img:labelled2', ['-c', 'LABEL prune=yes']);
    assert.equal(dok(['image', 'prune', '-a', '-f', '--filter', 'label=prune=yes']).replace(labelled2, 'ID').replace('img:labelled2', 'REF').replace(SIZE, ''),
      all.stdout.replace(labelled, 'ID').replace('img:labelled', 'REF').replace(SIZE, ''));
    assert.match(dok(['images', '--format', '{{.Repository}}:{{.Tag}}']), /^img:d$/m);
    assert.match(dok(['images', '--format', '{{.Repository}}:{{.Tag}}']), /^busybox:latest$/m);
    dok(['rmi', 'img:d']);
  });

  test('system prune -f --volumes: containers, networks, volumes, images in docker\'s order and words', async () => {
    // Start from nothing to prune, so the reports below hold only what each side made.
    dok(['system', 'prune', '-f', '--volumes']);
    const norm = (out: string, l: ReturnType<typeof litter>) =>
      out.replace(l.container, 'CONTAINER').replace(l.network, 'NETWORK').replace(l.volume, 'VOLUME').replace(l.image, 'IMAGE').replace(SIZE, 'Total reclaimed space: SIZE\n');

    const mine = litter('berth');
    const ours = await b(['system', 'prune', '-f', '--volumes']);
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(norm(ours.stdout, mine),
      'Deleted Containers:\nCONTAINER\n\nDeleted Networks:\nNETWORK\n\nDeleted Volumes:\nVOLUME\n\nDeleted Images:\ndeleted: IMAGE\n\nTotal reclaimed space: SIZE\n');
    assert.equal(docker(['volume', 'ls', '-q']).stdout, '');
    assert.doesNotMatch(dok(['network', 'ls', '--format', '{{.Name}}']), /net-berth/);

    const theirs = litter('docker');
    assert.equal(norm(dok(['system', 'prune', '-f', '--volumes']), theirs), norm(ours.stdout, mine));
    // Nothing left: only the total, from both; -a then takes every image, none in use now.
    assert.equal((await b(['system', 'prune', '-f'])).stdout, 'Total reclaimed space: 0B\n');
    assert.equal(dok(['system', 'prune', '-f']), 'Total reclaimed space: 0B\n');
    const a = await b(['system', 'prune', '-a', '-f']);
    assert.match(a.stdout, new RegExp(`^Deleted Images:\n(untagged: \\S+\ndeleted: sha256:[0-9a-f]{64}\n)+\n${SIZE.source}`));
    assert.match(a.stdout, /^untagged: busybox:latest$/m);
    dok(['load', '-i', busyboxTar]);
    assert.equal(dok(['images', '--format', '{{.Repository}}:{{.Tag}}']), 'busybox:latest\n');
  });

  test('diff: A, C and D lines as docker prints them, for both `diff` and `container diff`', async () => {
    dok(['run', '--name', 'df', ...NONE, 'busybox', 'sh', '-c', 'mkdir /newdir && echo x > /newdir/f && echo y >> /etc/passwd && rm /bin/ls']);
    const want = dok(['diff', 'df']);
    assert.match(want, /^A \/newdir$/m);
    assert.match(want, /^A \/newdir\/f$/m);
    assert.match(want, /^C \/etc\/passwd$/m);
    assert.match(want, /^D \/bin\/ls$/m);
    for (const args of [['diff', 'df'], ['container', 'diff', 'df']]) {
      const r = await b(args);
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, want, ''], args.join(' '));
    }
    dok(['create', '--name', 'clean', ...NONE, 'busybox', 'true']);
    assert.equal((await b(['diff', 'clean'])).stdout, '');
    const missing = await b(['diff', 'nosuch']);
    const dmissing = docker(['diff', 'nosuch']);
    assert.deepEqual([missing.code, missing.stderr], [dmissing.code, dmissing.stderr]);
    const usage = await b(['diff']);
    const dusage = docker(['diff']);
    assert.deepEqual([usage.code, usage.stderr], [dusage.code, dusage.stderr.replaceAll('docker', 'berth')]);
  });
});
