// `berthd check` against a real daemon's roots: clean with containers running (berthd up, and down under live-restore), and each
// kind of leak made by hand is named (exit 1), then gone once removed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { berthdSkipReason, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { buildDockerSaveTar } from '../fixtures/image.js';
import { repoRoot } from '../fixtures/rootfs.js';

const skip = berthdSkipReason();
const IMAGE = 'busybox:latest';

let d: Berthd;
let tmp: string;

function ok(args: string[]): string {
  const r = d.docker(args);
  assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const kinds = (r: ReturnType<Berthd['check']>) => r.report.findings.map((f) => `${f.kind} ${f.object}`);

describe('berthd check', { skip }, () => {
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-e2e-check-'));
    d = await startBerthd({ prefix: 'berthd-check-' });
    ok(['load', '-i', buildDockerSaveTar(tmp, IMAGE)]);
  });
  after(async () => {
    await d?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('--help, and bad flags exit 2', () => {
    const help = spawnSync(process.execPath, [join(repoRoot, 'bin', 'berthd.js'), 'check', '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage: berthd check \[OPTIONS\]/);
    const r = d.check(['--grace', 'soon']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /invalid argument "soon" for "--grace" flag/);
    const u = d.check(['--no-such-flag']);
    assert.equal(u.status, 2);
    assert.match(u.stderr, /unknown flag: --no-such-flag/);
  });

  test('clean with containers running, with berthd up and down (live-restore); each hand-made leak is named, then gone', async () => {
    const a = ok(['run', '-d', '--network', 'none', IMAGE, 'sleep', '300']).trim();
    const b = ok(['run', '-d', IMAGE, 'sleep', '300']).trim();
    ok(['run', '--rm', '--network', 'none', IMAGE, 'true']);
    let r = d.check();
    assert.equal(r.status, 0, kinds(r).join('\n'));
    assert.equal(r.report.daemonPid, d.pid);

    const bridge = ok(['network', 'inspect', '--format', '{{index .Options "com.docker.network.bridge.name"}}', 'bridge']).trim();
    await d.stop({ keepContainers: true });
    r = d.check();
    assert.equal(r.status, 0, kinds(r).join('\n'));
    assert.equal(r.report.daemonPid, null);

    // Leaks, one of each kind, made behind berthd's back.
    const fake = randomBytes(32).toString('hex');
    const rootfs = join(d.execRoot, 'containers', fake, 'rootfs');
    mkdirSync(rootfs, { recursive: true });
    assert.equal(spawnSync('mount', ['-t', 'tmpfs', 'leak', rootfs]).status, 0);
    const parents = (JSON.parse(readFileSync(join(d.execRoot, 'cgroup-parent.json'), 'utf8')) as { dirs: string[] }).dirs;
    assert.ok(parents.length > 0);
    for (const p of parents) mkdirSync(join(p, fake));
    writeFileSync(join(d.execRoot, 'netns', fake), '');
    const bridgeNet = readdirSync(join(d.dataRoot, 'network', 'ipam'))[0]!;
    const lease = join(d.dataRoot, 'network', 'ipam', bridgeNet, '10.255.255.250');
    writeFileSync(lease, `${fake}\r\neth0`);
    const ingest = join(d.dataRoot, 'content', 'ingest', 'f'.repeat(64));
    mkdirSync(ingest);
    writeFileSync(join(ingest, 'ref'), 'leak');
    writeFileSync(join(ingest, 'data'), 'half a blo');
    const blobData = randomBytes(100);
    const blob = join(d.dataRoot, 'content', 'blobs', 'sha256', createHash('sha256').update(blobData).digest('hex'));
    writeFileSync(blob, blobData);
    // A removal's tree whose deletion a crash cut short.
    const trashed = join(d.dataRoot, 'trash', `${fake}.1234.1`);
    mkdirSync(join(trashed, 'fs', 'etc'), { recursive: true });
    writeFileSync(join(trashed, 'fs', 'etc', 'x'), 'x');
    const veth = `lk${randomBytes(3).toString('hex')}`;
    assert.equal(spawnSync('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth}p`]).status, 0);
    spawnSync('ip', ['link', 'set', veth, 'master', bridge]);
    // Container a's task forgotten: its shim, task dir, socket, cgroup and rootfs mount are now nobody's.
    const db = new Database(join(d.dataRoot, 'metadata.db'));
    const task = db.prepare('SELECT dir, shim_pid FROM tasks WHERE container_id = ?').get(a) as { dir: string; shim_pid: number };
    db.prepare('DELETE FROM tasks WHERE container_id = ?').run(a);
    db.close();

    try {
      r = d.check();
      assert.equal(r.status, 1);
      const got = kinds(r);
      const want = [
        `orphan-mount ${rootfs}`, `orphan-container-dir ${join(d.execRoot, 'containers', fake)}`,
        `orphan-cgroup ${join(parents[0]!, fake)}`,
        `orphan-netns ${join(d.execRoot, 'netns', fake)}`, `orphan-lease ${lease}`, `partial-blob leak`,
        `orphan-blob sha256:${createHash('sha256').update(blobData).digest('hex')}`, `orphan-veth ${veth}`,
        `orphan-shim ${task.shim_pid}`, `orphan-task-dir ${task.dir}`,
        `orphan-cgroup ${join(parents[0]!, a)}`,
        `orphan-mount ${join(d.execRoot, 'containers', a, 'rootfs')}`,
        `trash ${trashed}`,
      ];
      for (const w of want) assert.ok(got.includes(w), `missing "${w}" in:\n${got.join('\n')}`);
      assert.ok(got.some((g) => g.startsWith('orphan-socket ')), got.join('\n'));
      assert.ok(!got.some((g) => g.includes(b)), `container b is fine: ${got.join('\n')}`);
    } finally {
      // Undo by hand what berthd would not (its shim and cgroups were made invisible to it).
      spawnSync('umount', [rootfs]);
      rmSync(join(d.execRoot, 'containers', fake), { recursive: true, force: true });
      for (const p of parents) {
        try { rmdirSync(join(p, fake)); } catch { /* gone */ }
        try { for (const pid of readFileSync(join(p, a, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL'); } catch { /* none */ }
      }
      rmSync(join(d.execRoot, 'netns', fake), { force: true });
      rmSync(lease, { force: true });
      rmSync(ingest, { recursive: true, force: true });
      rmSync(blob, { force: true });
      spawnSync('ip', ['link', 'delete', veth]);
    }
    // berthd up again: a's task is lost (marked exited); its leftovers (shim gone with its container) are removed by rm.
    d = await startBerthd({ reuse: { dir: d.dir, execRoot: d.execRoot } });
    for (let i = 0; i < 100 && existsSync(trashed); i++) await new Promise((res) => setTimeout(res, 50));
    assert.ok(!existsSync(trashed), 'the trash is emptied at start');
    ok(['rm', '-f', a, b]);
    for (const p of parents) { try { rmdirSync(join(p, a)); } catch { /* removed */ } }
    rmSync(task.dir, { recursive: true, force: true });
    for (const n of readdirSync(join(d.execRoot, 's'))) rmSync(join(d.execRoot, 's', n), { force: true });
    r = d.check();
    assert.equal(r.status, 0, kinds(r).join('\n'));
  });
});
