// `docker commit` and `docker import <url>` with the real docker CLI against a private berthd.
//
// The base image is imported from a busybox rootfs with files to modify, delete and replace; a container changes
// them and is committed; the new image must run, show its history and config, and carry the changes as an OCI
// layer (whiteouts, an opaque directory). Errors must leave nothing stored (berthd check).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../fixtures/process.js';
import { berthdSkipReason, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { registrySkipReason, startRegistry } from '../fixtures/registry.js';
import { makeBusyboxRootfs } from '../fixtures/rootfs.js';

const skip = berthdSkipReason();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let d: Berthd;
let tmp: string;
let baseTar: string;

function ok(args: string[], opts: { input?: string; timeout?: number } = {}): string {
  const r = d.docker(args, opts);
  assert.equal(r.status, 0, `docker ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/** `berthd check` finds the roots consistent and the image list is what it was. */
function assertClean(images: string, what: string): void {
  assert.equal(ok(['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}']), images, `${what}: the image list changed`);
  const r = d.check();
  assert.equal(r.status, 0, `${what}: berthd check found:\n${r.report.findings.map((f) => `  ${f.kind}: ${f.message}`).join('\n')}${r.stderr}`);
}

const imageList = () => ok(['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}']);

/** Wait until `path` exists in the container (its command made its changes). */
const untilExists = (c: string, path: string) => waitFor(() => d.docker(['exec', c, 'test', '-e', path]).status === 0, 10000, `${path} in ${c}`);

/** The entries of the top layer of `ref`, from `docker save`. */
function topLayerEntries(ref: string): string[] {
  const dir = mkdtempSync(join(tmp, 'save-'));
  ok(['save', '-o', join(dir, 'img.tar'), ref]);
  execFileSync('tar', ['-xf', join(dir, 'img.tar'), '-C', dir]);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Array<{ Layers: string[] }>;
  const top = manifest[0]!.Layers.at(-1)!;
  return execFileSync('tar', ['-tf', join(dir, top)], { encoding: 'utf8' }).split('\n').filter(Boolean).map((e) => e.replace(/\/$/, ''));
}

describe('docker commit and import from a URL against berthd', { skip }, () => {
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-e2e-commit-'));
    const root = join(tmp, 'rootfs');
    makeBusyboxRootfs(root);
    mkdirSync(join(root, 'data'));
    writeFileSync(join(root, 'data', 'keep'), 'original\n');
    writeFileSync(join(root, 'data', 'gone'), 'to be deleted\n');
    mkdirSync(join(root, 'opq'));
    writeFileSync(join(root, 'opq', 'old1'), '1\n');
    writeFileSync(join(root, 'opq', 'old2'), '2\n');
    baseTar = join(tmp, 'base.tar');
    execFileSync('tar', ['--numeric-owner', '-C', root, '-cf', baseTar, '.']);
    d = await startBerthd();
    ok(['import', '-c', 'ENV PATH=/bin:/sbin', '-c', 'CMD ["sh"]', baseTar, 'base:1']);
  });
  after(async () => {
    await d?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('commit a running container: -c/-m, the new image runs with the changes, history, inspect, layers, save; the container keeps running', async () => {
    const c = 'commit-src';
    ok(['run', '-d', '--name', c, '--network', 'none', 'base:1', 'sh', '-c',
      'echo new > /new; echo changed > /data/keep; rm /data/gone; rm -rf /opq; mkdir /opq; echo fresh > /opq/fresh; touch /ready; exec sleep 1000']);
    await untilExists(c, '/ready');
    const since = Math.floor(Date.now() / 1000) - 1;
    const id = ok(['commit', '-c', 'ENV A=b', '-c', 'CMD ["cat","/new"]', '-m', 'msg', '-a', 'someone', c, 'img:1']).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    // Paused for the diff (the default), running again after it.
    assert.equal(ok(['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', c]).trim(), 'running false');

    assert.equal(ok(['run', '--rm', '--network', 'none', 'img:1']), 'new\n');
    const check = ok(['run', '--rm', '--network', 'none', 'img:1', 'sh', '-c', 'cat /data/keep; test -e /data/gone || echo gone; ls /opq']);
    assert.equal(check, 'changed\ngone\nfresh\n');

    const history = ok(['history', '--no-trunc', '--format', '{{.Comment}}|{{.CreatedBy}}', 'img:1']).split('\n');
    assert.match(history[0]!, /^msg\|sh -c echo new > \/new;/);

    const inspect = JSON.parse(ok(['image', 'inspect', 'img:1']))[0] as { Id: string; Author: string; Config: { Env: string[]; Cmd: string[] }; RootFS: { Layers: string[] } };
    const base = JSON.parse(ok(['image', 'inspect', 'base:1']))[0] as { RootFS: { Layers: string[] } };
    assert.equal(inspect.Id, id);
    assert.equal(inspect.Author, 'someone');
    assert.ok(inspect.Config.Env.includes('A=b'), JSON.stringify(inspect.Config.Env));
    assert.ok(inspect.Config.Env.includes('PATH=/bin:/sbin'), JSON.stringify(inspect.Config.Env));
    assert.deepEqual(inspect.Config.Cmd, ['cat', '/new']);
    assert.deepEqual(inspect.RootFS.Layers.slice(0, -1), base.RootFS.Layers);
    assert.equal(inspect.RootFS.Layers.length, base.RootFS.Layers.length + 1);

    // The layer as an OCI layer: a whiteout for the deleted file, an opaque marker for the replaced directory.
    const entries = topLayerEntries('img:1');
    for (const e of ['new', 'data/keep', 'data/.wh.gone', 'opq/.wh..wh..opq', 'opq/fresh']) assert.ok(entries.includes(e), `${e} not in ${entries.join(' ')}`);
    assert.ok(!entries.some((e) => e.startsWith('opq/old')), entries.join(' '));
    // The mount targets berthd made for /etc/hosts and co. belong to no layer (dockerd's init layer).
    assert.ok(!entries.some((e) => e === 'etc' || e.startsWith('etc/')), entries.join(' '));

    const until = Math.floor(Date.now() / 1000) + 1;
    const ev = ok(['events', '--since', String(since), '--until', String(until), '--filter', `container=${c}`, '--filter', 'event=pause', '--filter', 'event=unpause', '--filter', 'event=commit', '--format', '{{.Action}} {{json .Actor.Attributes}}'], { timeout: 20000 }).trim().split('\n');
    // Frozen for the diff (pause=true by default), thawed after.
    assert.deepEqual(ev.map((l) => l.split(' ')[0]), ['pause', 'unpause', 'commit']);
    const attrs = JSON.parse(ev.at(-1)!.slice('commit '.length)) as Record<string, string>;
    assert.equal(attrs['imageID'], id);
    assert.equal(attrs['imageRef'], 'img:1');
    assert.equal(attrs['comment'], 'msg');
    assert.equal(attrs['name'], c);
    ok(['rm', '-f', c]);
    ok(['rmi', 'img:1']);
  });

  test('commit --pause=false, of a stopped container, with no name: a dangling image by id; --pause=false freezes no running one', () => {
    const c = 'commit-stopped';
    ok(['run', '--name', c, '--network', 'none', 'base:1', 'sh', '-c', 'echo x > /x']);
    const id = ok(['commit', '--pause=false', c]).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(ok(['run', '--rm', '--network', 'none', id, 'cat', '/x']), 'x\n');
    // The container's own command is the image's Cmd.
    assert.equal(ok(['image', 'inspect', '-f', '{{json .Config.Cmd}}', id]).trim(), '["sh","-c","echo x > /x"]');
    ok(['rm', c]);
    ok(['rmi', id]);
    // A running one with --pause=false is never frozen.
    const running = 'commit-nopause';
    ok(['run', '-d', '--name', running, '--network', 'none', 'base:1', 'sleep', '1000']);
    const since = Math.floor(Date.now() / 1000) - 1;
    const id2 = ok(['commit', '--pause=false', running]).trim();
    const ev = ok(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', `container=${running}`, '--filter', 'event=pause', '--filter', 'event=commit', '--format', '{{.Action}}'], { timeout: 20000 });
    assert.equal(ev, 'commit\n');
    ok(['rm', '-f', running]);
    ok(['rmi', id2]);
  });

  test('a container with no changes: docker diff is empty; commit adds no layer, only an empty_layer history entry', () => {
    const c = 'commit-nochange';
    ok(['run', '--name', c, '--network', 'none', 'base:1', 'true']);
    assert.equal(ok(['diff', c]), '');
    const id = ok(['commit', '-m', 'nothing', c, 'img:same']).trim();
    const layers = (ref: string) => ok(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', ref]).trim();
    assert.equal(layers('img:same'), layers('base:1'));
    assert.equal(ok(['history', '--format', '{{.Size}} {{.Comment}}', id]).split('\n')[0], '0B nothing');
    assert.equal(ok(['run', '--rm', '--network', 'none', 'img:same', 'cat', '/data/keep']), 'original\n');
    ok(['rm', c]);
    ok(['rmi', 'img:same']);
  });

  test('the request body is a Config: its fields win, the container fills the rest (dockerd merge)', async () => {
    const c = 'commit-body';
    ok(['run', '--name', c, '--network', 'none', '-e', 'FROM_RUN=1', '-w', '/data', 'base:1', 'sh', '-c', 'echo b > /b']);
    const r = await apiPost(`/v1.50/commit?container=${c}&repo=img&tag=body&changes=${encodeURIComponent('LABEL via=change')}`, { Env: ['FROM_BODY=2'], Cmd: ['cat', '/b'], Labels: { via: 'body', body: '1' } });
    assert.equal(r.status, 201, r.message);
    const cfg = JSON.parse(ok(['image', 'inspect', '-f', '{{json .Config}}', 'img:body'])) as { Env: string[]; Cmd: string[]; WorkingDir: string; Labels: Record<string, string> };
    assert.deepEqual(cfg.Env, ['FROM_BODY=2', 'PATH=/bin:/sbin', 'FROM_RUN=1']);
    assert.deepEqual(cfg.Cmd, ['cat', '/b']);
    assert.equal(cfg.WorkingDir, '/data');
    assert.deepEqual(cfg.Labels, { via: 'change', body: '1' });
    assert.equal(ok(['run', '--rm', '--network', 'none', 'img:body']), 'b\n');
    ok(['rm', c]);
    ok(['rmi', 'img:body']);
  });

  test('a committed image pushes to a registry and pulls back', { skip: registrySkipReason() }, async () => {
    const reg = await startRegistry();
    try {
      const c = 'commit-push';
      ok(['run', '--name', c, '--network', 'none', 'base:1', 'sh', '-c', 'echo pushed > /p']);
      const ref = `${reg.host}/test/committed:1`;
      const id = ok(['commit', '-c', 'CMD ["cat", "/p"]', c, ref]).trim();
      assert.match(ok(['push', ref], { timeout: 120_000 }), /1: digest: sha256:[0-9a-f]{64}/);
      ok(['rm', c]);
      ok(['rmi', ref]);
      ok(['pull', ref], { timeout: 120_000 });
      assert.equal(ok(['image', 'inspect', '-f', '{{.Id}}', ref]).trim(), id);
      assert.equal(ok(['run', '--rm', '--network', 'none', ref]), 'pushed\n');
      ok(['rmi', ref]);
    } finally {
      await reg.stop();
    }
  });

  test("errors: a missing container, a bad reference, a bad --change; Docker's texts, nothing stored", async () => {
    const c = 'commit-err';
    ok(['run', '-d', '--name', c, '--network', 'none', 'base:1', 'sh', '-c', 'echo y > /y; exec sleep 1000']);
    const images = imageList();
    let r = d.docker(['commit', 'no-such-container', 'x:1']);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim(), 'Error response from daemon: No such container: no-such-container');
    // The CLI checks the reference itself; dockerd's own check answers the API with the same text.
    r = d.docker(['commit', c, 'BAD:1']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /invalid reference format: repository name \(library\/BAD\) must be lowercase/);
    const api = await apiPost(`/v1.50/commit?container=${c}&repo=BAD&tag=1`);
    assert.equal(api.status, 400);
    assert.equal(api.message, 'invalid reference format: repository name (library/BAD) must be lowercase');
    const badTag = await apiPost(`/v1.50/commit?container=${c}&repo=ok&tag=${encodeURIComponent('a b')}`);
    assert.deepEqual(badTag, { status: 400, message: 'invalid tag format' });
    r = d.docker(['commit', '-c', 'FROB x', c, 'x:1']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /FROB is not supported/);
    assert.equal(ok(['inspect', '-f', '{{.State.Status}}', c]).trim(), 'running');
    ok(['rm', '-f', c]);
    assertClean(images, 'after the failed commits');
  });

  test('import from a URL: progress, run it; a 404 is an error and stores nothing', async () => {
    const server = http.createServer((req, res) => {
      if (req.url === '/x.tar') {
        res.writeHead(200, { 'Content-Type': 'application/x-tar' });
        createReadStream(baseTar).pipe(res);
        return;
      }
      res.writeHead(404).end('not here');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const out = await d.dockerAsync(['import', '-c', 'CMD ["cat","/data/keep"]', `http://127.0.0.1:${port}/x.tar`, 'img:url']);
      assert.equal(out.status, 0, out.stderr);
      // dockerd's JSON stream: where it downloads from, then the id (progress bars only on a terminal).
      assert.match(out.stdout, new RegExp(`^Downloading from http://127\\.0\\.0\\.1:${port}/x\\.tar$`, 'm'));
      assert.match(out.stdout.trim().split('\n').at(-1)!, /^sha256:[0-9a-f]{64}$/);
      assert.equal(ok(['run', '--rm', '--network', 'none', 'img:url']), 'original\n');
      ok(['rmi', 'img:url']);

      const images = imageList();
      const bad = await d.dockerAsync(['import', `http://127.0.0.1:${port}/missing.tar`, 'img:missing']);
      assert.notEqual(bad.status, 0);
      assert.equal(bad.stderr.trim(), `Error response from daemon: failed to GET http://127.0.0.1:${port}/missing.tar with status 404 Not Found: not here`);
      assertClean(images, 'after the failed import');
    } finally {
      server.close();
    }
  });
});

/** POST on the daemon's socket (a JSON body, if given): the status and the error message. */
function apiPost(path: string, body?: unknown): Promise<{ status: number; message: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, path, method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, message: body.startsWith('{') ? (JSON.parse(body) as { message: string }).message : body }));
    });
    req.once('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
