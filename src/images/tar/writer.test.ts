// Tests for the tar writer: round trips through our reader and through GNU tar, determinism.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { readTar, type TarEntry } from './reader.js';
import { tarBuffer, TarWriter, type TarWriteEntry } from './writer.js';

const build = tarBuffer;

async function parse(buf: Buffer): Promise<Array<{ entry: TarEntry; data: Buffer }>> {
  const out: Array<{ entry: TarEntry; data: Buffer }> = [];
  for await (const { entry, body } of readTar(Readable.from([buf]))) {
    const parts: Buffer[] = [];
    for await (const c of body) parts.push(c as Buffer);
    out.push({ entry, data: Buffer.concat(parts) });
  }
  return out;
}

const mtime = new Date(1_700_000_000_000);
const longName = `${'dir-'.repeat(30)}/${'sub/'.repeat(10)}${'name'.repeat(20)}.txt`; // > 255: needs PAX path
const splitName = `${'p'.repeat(120)}/${'n'.repeat(90)}`; // fits ustar prefix + name
const bin = Buffer.from([0, 1, 2, 0xff, 0x3d, 0x0a]);

const sample = (): Array<[TarWriteEntry, (Buffer | Readable)?]> => [
  [{ name: 'etc', type: 'dir', mode: 0o755, mtime }],
  [{ name: 'etc/hostname', type: 'file', mode: 0o644, uid: 1000, gid: 1000, uname: 'u', gname: 'g', mtime }, Buffer.from('box\n')],
  [{ name: 'etc/empty', type: 'file', mode: 0o600, mtime }],
  [{ name: 'bin/su', type: 'file', mode: 0o4755, mtime, xattrs: { 'security.capability': bin, 'user.text': Buffer.from('v') } }, Buffer.alloc(1500, 0x41)],
  [{ name: 'streamed', type: 'file', size: 100_000, mtime }, Readable.from([Buffer.alloc(60_000, 1), Buffer.alloc(40_000, 2)])],
  [{ name: longName, type: 'file', mtime }, Buffer.from('long')],
  [{ name: splitName, type: 'file', mtime }, Buffer.from('split')],
  [{ name: 'caf\u00e9/\u65e5\u672c', type: 'file', mtime }, Buffer.from('utf8')],
  [{ name: 'link', type: 'symlink', linkname: `/${'target/'.repeat(20)}x`, mtime }],
  [{ name: 'hard', type: 'hardlink', linkname: 'etc/hostname', mtime }],
  [{ name: 'dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3, mtime }],
  [{ name: 'dev/loop0', type: 'block', mode: 0o660, devmajor: 7, devminor: 0, mtime }],
  [{ name: 'dev/huge', type: 'char', devmajor: 1 << 22, devminor: 5, mtime }],
  [{ name: 'fifo', type: 'fifo', mode: 0o644, mtime }],
  [{ name: 'ids', type: 'file', uid: 3_000_000, gid: 70_000_000, uname: 'x'.repeat(40), mtime }],
  [{ name: 'old', type: 'file', mtime: new Date(-86_400_000) }],
];

test('writer -> reader round trip keeps every field', async () => {
  const got = await parse(await build(sample()));
  const byName = new Map(got.map((g) => [g.entry.name, g]));
  assert.equal(got.length, sample().length);
  assert.equal(byName.get('etc/')?.entry.type, 'dir', 'directories get a trailing slash');
  const h = byName.get('etc/hostname')!;
  assert.equal(h.data.toString(), 'box\n');
  assert.deepEqual([h.entry.uid, h.entry.gid, h.entry.uname, h.entry.gname, h.entry.mode], [1000, 1000, 'u', 'g', 0o644]);
  assert.equal(h.entry.mtime.getTime(), mtime.getTime());
  const su = byName.get('bin/su')!;
  assert.equal(su.entry.mode, 0o4755);
  assert.deepEqual(su.entry.xattrs['security.capability'], bin);
  assert.deepEqual(su.entry.xattrs['user.text'], Buffer.from('v'));
  assert.equal(su.data.length, 1500);
  const s = byName.get('streamed')!.data;
  assert.equal(s.length, 100_000);
  assert.equal(s[59_999], 1);
  assert.equal(s[60_000], 2);
  assert.equal(byName.get(longName)?.data.toString(), 'long');
  assert.equal(byName.get(splitName)?.data.toString(), 'split');
  assert.equal(byName.get('caf\u00e9/\u65e5\u672c')?.data.toString(), 'utf8');
  assert.equal(byName.get('link')?.entry.linkname, `/${'target/'.repeat(20)}x`);
  assert.equal(byName.get('hard')?.entry.linkname, 'etc/hostname');
  assert.deepEqual([byName.get('dev/null')?.entry.devmajor, byName.get('dev/null')?.entry.devminor], [1, 3]);
  assert.equal(byName.get('dev/loop0')?.entry.type, 'block');
  assert.equal(byName.get('dev/huge')?.entry.devmajor, 1 << 22);
  assert.equal(byName.get('fifo')?.entry.type, 'fifo');
  const ids = byName.get('ids')!.entry;
  assert.deepEqual([ids.uid, ids.gid, ids.uname], [3_000_000, 70_000_000, 'x'.repeat(40)]);
  assert.equal(byName.get('old')?.entry.mtime.getTime(), -86_400_000);
});

test('output is deterministic and block aligned', async () => {
  const a = await build(sample());
  const b = await build(sample());
  assert.ok(a.equals(b));
  assert.equal(a.length % 512, 0);
  assert.ok(a.subarray(-1024).equals(Buffer.alloc(1024)));
});

test('bad bodies are refused', async () => {
  await assert.rejects(build([[{ name: 'f', type: 'file', size: 10 }, Readable.from([Buffer.alloc(5)])]]), /body has 5 bytes, size says 10/);
  await assert.rejects(build([[{ name: 'f', type: 'file', size: 3 }, Readable.from([Buffer.alloc(5)])]]), /body longer than size 3/);
  await assert.rejects(build([[{ name: 'f', type: 'file', size: 3 }, Buffer.alloc(5)]]), /size 3 but body has 5/);
  await assert.rejects(build([[{ name: 'l', type: 'symlink' }]]), /without a target/);
});

const haveTar = spawnSync('tar', ['--version']).status === 0;

test('GNU tar lists and extracts our output', { skip: !haveTar && 'GNU tar missing' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-tar-write-'));
  try {
    const file = join(dir, 'x.tar');
    // Devices need root to extract; keep them out of this unprivileged check.
    writeFileSync(file, await build(sample().filter(([e]) => e.type !== 'char' && e.type !== 'block' && e.type !== 'fifo')));
    const list = spawnSync('tar', ['-tvf', file], { encoding: 'utf8' });
    assert.equal(list.status, 0, list.stderr);
    assert.equal(list.stderr, '', 'GNU tar warns about nothing');
    assert.match(list.stdout, new RegExp(longName.replace(/\./g, '\\.')));
    const out = join(dir, 'out');
    const x = spawnSync('sh', ['-c', `mkdir ${out} && tar --xattrs --xattrs-include='user.*' --no-same-owner -xf ${file} -C ${out}`], { encoding: 'utf8' });
    assert.equal(x.status, 0, x.stderr);
    assert.equal(readFileSync(join(out, longName), 'utf8'), 'long');
    assert.equal(readFileSync(join(out, splitName), 'utf8'), 'split');
    assert.equal(readFileSync(join(out, 'streamed')).length, 100_000);
    assert.equal(readlinkSync(join(out, 'link')), `/${'target/'.repeat(20)}x`);
    assert.equal(lstatSync(join(out, 'hard')).ino, lstatSync(join(out, 'etc/hostname')).ino);
    assert.equal(lstatSync(join(out, 'etc/hostname')).mtimeMs, mtime.getTime());
    const attr = spawnSync('getfattr', ['-n', 'user.text', '--only-values', join(out, 'bin/su')], { encoding: 'utf8' });
    if (attr.status === 0) assert.equal(attr.stdout, 'v');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('waiting for drain leaves no listeners behind on the output', async () => {
  // A slow consumer with a tiny buffer: every entry waits for 'drain'.
  const out = new Writable({ highWaterMark: 16, write(_c, _e, cb) { setImmediate(cb); } });
  const w = new TarWriter(out);
  for (let i = 0; i < 40; i++) await w.add({ name: `f${i}`, type: 'file', mode: 0o644, size: 1024 }, Buffer.alloc(1024, 1));
  await w.finish();
  assert.ok(out.listenerCount('close') <= 1, `close listeners: ${out.listenerCount('close')}`);
  assert.ok(out.listenerCount('error') <= 1, `error listeners: ${out.listenerCount('error')}`);
  assert.ok(out.listenerCount('drain') <= 1, `drain listeners: ${out.listenerCount('drain')}`);
});
