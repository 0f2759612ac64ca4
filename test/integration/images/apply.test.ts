// Integration tests for layer apply and diff on the real kernel: GNU tar parity, overlay whiteouts, hostile layers.
//
// Safety: everything happens in one temp dir; overlays are mounted only below it and unmounted in
// `after` even on failure; "outside" targets of hostile layers are sentinel files in that temp dir.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, chownSync, createReadStream, existsSync, linkSync, lchownSync, lstatSync, lutimesSync, mkdirSync,
  readdirSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeFileSync, type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { haveCommand, tempDir } from '../../fixtures/rootfs.js';
import { BerthError } from '../../../src/common/errors.js';
import { applyLayer, type ApplyOptions } from '../../../src/images/tar/apply.js';
import { writeLayerDiff, writeTreeDiff } from '../../../src/images/tar/diff.js';
import { readTar } from '../../../src/images/tar/reader.js';
import { tarBuffer, type TarWriteEntry } from '../../../src/images/tar/writer.js';
import { readXattrsTree } from '../../../src/images/tar/xattr.js';

const skip = process.getuid?.() !== 0 ? 'needs root (chown, mknod, trusted.* xattrs, overlay mounts)'
  : !haveCommand('setfattr') ? 'needs setfattr/getfattr (apt-get install attr)'
    : !haveCommand('tar') ? 'needs GNU tar' : undefined;

let tmp: { path: string; cleanup: () => void };
const mounts: string[] = [];

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function mountOverlay(target: string, options: string): void {
  mkdirSync(target, { recursive: true });
  sh('mount', ['-t', 'overlay', 'overlay', '-o', options, target]);
  mounts.push(target);
}

function unmountAll(): void {
  while (mounts.length) spawnSync('umount', [mounts.pop()!]);
}

const tarOf = tarBuffer;

async function collect(write: (out: PassThrough) => Promise<void>): Promise<Buffer> {
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on('data', (c: Buffer) => parts.push(c));
  await write(out);
  out.end();
  return Buffer.concat(parts);
}

const apply = (root: string, tar: Buffer, opts?: ApplyOptions) => applyLayer(root, Readable.from([tar]), opts);

interface Node {
  type: string; mode: number; uid: number; gid: number; mtime: number; size: number;
  sha?: string; link?: string; rdev?: number; xattrs: string; hardlinkOf?: string;
}

function typeOf(st: Stats): string {
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'char'
    : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : 'other';
}

/** Everything a layer sets, for each path of a tree; hardlinks as "same inode as <first path>". */
function walk(root: string, opts: { skipXattr?: (k: string) => boolean } = {}): Map<string, Node> {
  const xattrs = readXattrsTree(root);
  const out = new Map<string, Node>();
  const inodes = new Map<number, string>();
  const visit = (rel: string) => {
    const abs = rel ? join(root, rel) : root;
    const st = lstatSync(abs);
    const x = xattrs.get(abs) ?? {};
    const xs = Object.keys(x).filter((k) => k !== 'security.selinux' && !opts.skipXattr?.(k)).sort().map((k) => `${k}=${x[k]!.toString('hex')}`).join(',');
    const n: Node = {
      type: typeOf(st), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000),
      size: st.isFile() ? st.size : 0, xattrs: xs,
    };
    if (st.isSymbolicLink()) n.mode = 0;
    if (st.isFile()) n.sha = createHash('sha256').update(readFileSync(abs)).digest('hex');
    if (st.isSymbolicLink()) n.link = readlinkSync(abs);
    if (st.isCharacterDevice() || st.isBlockDevice()) n.rdev = st.rdev;
    if (!st.isDirectory() && st.nlink > 1) {
      const first = inodes.get(st.ino);
      if (first === undefined) inodes.set(st.ino, rel);
      else n.hardlinkOf = first;
    }
    out.set(rel || '.', n);
    if (st.isDirectory()) for (const name of readdirSync(abs).sort()) visit(rel ? `${rel}/${name}` : name);
  };
  visit('');
  return out;
}

function assertSameTree(a: Map<string, Node>, b: Map<string, Node>, what: string): void {
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort(), `${what}: same paths`);
  for (const [k, v] of a) assert.deepEqual(b.get(k), v, `${what}: ${k}`);
}

// A v2 file capability (cap_net_bind_service, effective): a binary value the kernel checks.
const CAP = '0x0100000200040000000000000000000000000000';

function makeSource(src: string): void {
  mkdirSync(join(src, 'd/sub'), { recursive: true });
  mkdirSync(join(src, 'tmp'));
  mkdirSync(join(src, 'dev'));
  writeFileSync(join(src, 'd/f'), 'setuid binary\n');
  writeFileSync(join(src, 'd/empty'), '');
  writeFileSync(join(src, 'big'), Buffer.alloc(3 << 20, 0x5a));
  const long = join(src, 'd/sub', `${'long-name-'.repeat(12)}.txt`);
  writeFileSync(long, 'long\n');
  linkSync(join(src, 'd/f'), join(src, 'd/hard'));
  symlinkSync('f', join(src, 'd/link'));
  symlinkSync('/etc/passwd', join(src, 'abs-link'));
  sh('mknod', ['-m', '0666', join(src, 'dev/null'), 'c', '1', '3']);
  sh('mknod', ['-m', '0660', join(src, 'dev/loop9'), 'b', '7', '9']);
  sh('mknod', ['-m', '0640', join(src, 'fifo'), 'p']);
  chownSync(join(src, 'd/f'), 1, 2);
  chmodSync(join(src, 'd/f'), 0o4755);
  chownSync(join(src, 'd'), 1000, 2000);
  chmodSync(join(src, 'd'), 0o2775);
  chmodSync(join(src, 'tmp'), 0o1777);
  chownSync(join(src, 'dev/loop9'), 0, 6);
  lchownSync(join(src, 'd/link'), 3, 4);
  sh('setfattr', ['-n', 'user.bin', '-v', '0x00ff000a3d', join(src, 'd/f')]);
  sh('setfattr', ['-n', 'security.capability', '-v', CAP, join(src, 'd/f')]);
  sh('setfattr', ['-n', 'trusted.berth', '-v', 'dir-attr', join(src, 'd/sub')]);
  const t = new Date('2001-02-03T04:05:06Z');
  for (const p of ['d/f', 'd/empty', 'big', long.slice(src.length + 1), 'dev/null', 'dev/loop9', 'fifo', 'd/sub', 'd', 'tmp', 'dev', '']) {
    utimesSync(join(src, p), t, t);
  }
  lutimesSync(join(src, 'd/link'), t, t);
  lutimesSync(join(src, 'abs-link'), t, t);
}

describe('layer apply (root)', { skip }, () => {
  before(() => {
    tmp = tempDir('berth-apply-');
  });
  after(() => {
    unmountAll();
    tmp?.cleanup();
  });

  it('gives the same tree as GNU tar for every entry type (plain, gzip and zstd layers)', async () => {
    const src = join(tmp.path, 'src');
    mkdirSync(src);
    makeSource(src);
    const layer = join(tmp.path, 'layer.tar');
    sh('tar', ['--format=pax', '--xattrs', '--xattrs-include=*', '-cf', layer, '-C', src, '.']);
    const gnu = join(tmp.path, 'gnu');
    mkdirSync(gnu);
    sh('tar', ['--xattrs', '--xattrs-include=*', '--same-owner', '-xpf', layer, '-C', gnu]);
    const expected = walk(gnu);
    // Sanity: GNU tar did carry what we compare.
    assert.match(expected.get('d/f')!.xattrs, /security\.capability=01000002/);
    assert.equal(expected.get('d/f')!.mode, 0o4755);
    assert.equal(expected.get('dev/loop9')!.type, 'block');

    const ours = join(tmp.path, 'ours');
    mkdirSync(ours);
    const r = await applyLayer(ours, createReadStream(layer), { whiteouts: 'native' });
    assert.equal(r.bytes, lstatSync(layer).size, 'bytes: the whole tar was read, record padding included');
    assert.ok(r.entries >= 14);
    assertSameTree(expected, walk(ours), 'plain');

    for (const [kind, args] of [['gzip', ['-z']], ['zstd', ['--zstd']]] as const) {
      if (kind === 'zstd' && !haveCommand('zstd')) continue;
      const z = join(tmp.path, `layer.${kind}`);
      sh('tar', ['--format=pax', '--xattrs', '--xattrs-include=*', ...args, '-cf', z, '-C', src, '.']);
      const dir = join(tmp.path, `ours-${kind}`);
      mkdirSync(dir);
      await applyLayer(dir, createReadStream(z));
      assertSameTree(expected, walk(dir), kind);
    }
  });

  it('overlay mode: whiteouts and opaque dirs are what overlayfs hides with; native mode deletes', async () => {
    const t = new Date('2020-01-01T00:00:00Z');
    const l1Tar = await tarOf([
      [{ name: 'a', type: 'dir', mtime: t }], [{ name: 'a/keep', type: 'file', mtime: t }, Buffer.from('keep')],
      [{ name: 'a/gone', type: 'file', mtime: t }, Buffer.from('gone')],
      [{ name: 'd', type: 'dir', mtime: t }], [{ name: 'd/old', type: 'file', mtime: t }, Buffer.from('old')],
      [{ name: 'd/olddir', type: 'dir', mtime: t }], [{ name: 'd/olddir/x', type: 'file', mtime: t }, Buffer.from('x')],
      [{ name: 'e', type: 'dir', mtime: t }], [{ name: 'e/x', type: 'file', mtime: t }, Buffer.from('x')],
    ]);
    const l2Tar = await tarOf([
      [{ name: 'a/', type: 'dir', mtime: t }], [{ name: 'a/.wh.gone', type: 'file', mtime: t }],
      [{ name: 'a/keep2', type: 'hardlink', linkname: 'a/keep' }],
      [{ name: 'd/', type: 'dir', mtime: t }], [{ name: 'd/.wh..wh..opq', type: 'file', mtime: t }],
      [{ name: 'd/new', type: 'file', mtime: t }, Buffer.from('new')],
      [{ name: '.wh.e', type: 'file', mtime: t }],
      [{ name: 'f/.wh.nothing-below', type: 'file', mtime: t }],
    ]);
    const l1 = join(tmp.path, 'ov/l1');
    const l2 = join(tmp.path, 'ov/l2');
    mkdirSync(l1, { recursive: true });
    mkdirSync(l2);
    await apply(l1, l1Tar);
    await apply(l2, l2Tar, { whiteouts: 'overlay', lowers: [l1] });
    const wh = lstatSync(join(l2, 'a/gone'));
    assert.ok(wh.isCharacterDevice() && wh.rdev === 0, 'a whiteout is a 0/0 char device');
    assert.ok(lstatSync(join(l2, 'e')).isCharacterDevice());
    assert.equal(readXattrsTree(l2).get(join(l2, 'd'))?.['trusted.overlay.opaque']?.toString(), 'y');
    assert.ok(!existsSync(join(l2, 'd/old')));
    assert.equal(lstatSync(join(l2, 'a/keep')).ino, lstatSync(join(l2, 'a/keep2')).ino, 'hardlink to a lower file: copied up, then linked');

    const merged = join(tmp.path, 'ov/merged');
    mountOverlay(merged, `lowerdir=${l2}:${l1}`);
    try {
      assert.deepEqual(readdirSync(merged).sort(), ['a', 'd', 'f']);
      assert.deepEqual(readdirSync(join(merged, 'a')).sort(), ['keep', 'keep2']);
      assert.deepEqual(readdirSync(join(merged, 'd')), ['new']);
      assert.equal(readFileSync(join(merged, 'a/keep2'), 'utf8'), 'keep');
    } finally {
      unmountAll();
    }

    // Native: the same two layers applied into one plain directory.
    const nat = join(tmp.path, 'native');
    mkdirSync(nat);
    await apply(nat, l1Tar, { whiteouts: 'native' });
    await apply(nat, l2Tar, { whiteouts: 'native' });
    assert.deepEqual(readdirSync(nat).sort(), ['a', 'd']);
    assert.deepEqual(readdirSync(join(nat, 'a')).sort(), ['keep', 'keep2']);
    assert.deepEqual(readdirSync(join(nat, 'd')), ['new']);
  });

  it('diffs an overlay upper dir and a pair of trees into layers that rebuild the same tree', async () => {
    const t = new Date('2020-01-01T00:00:00Z');
    const base = join(tmp.path, 'diff/base');
    mkdirSync(base, { recursive: true });
    await apply(base, await tarOf([
      [{ name: 'a', type: 'dir', mtime: t }], [{ name: 'a/keep', type: 'file', mtime: t }, Buffer.from('keep')],
      [{ name: 'a/gone', type: 'file', mtime: t }, Buffer.from('gone')],
      [{ name: 'd', type: 'dir', mtime: t }], [{ name: 'd/old', type: 'file', mtime: t }, Buffer.from('old')],
      [{ name: 'e', type: 'dir', mtime: t }], [{ name: 'e/x', type: 'file', mtime: t }, Buffer.from('x')],
      [{ name: 'same', type: 'file', mtime: t }, Buffer.from('same')],
    ]));
    const upper = join(tmp.path, 'diff/upper');
    const work = join(tmp.path, 'diff/work');
    mkdirSync(upper);
    mkdirSync(work);
    const merged = join(tmp.path, 'diff/merged');
    mountOverlay(merged, `lowerdir=${base},upperdir=${upper},workdir=${work}`);
    let expected: Map<string, Node>;
    try {
      sh('sh', ['-ec', `cd ${merged}; rm a/gone; rm -r e; rm -r d; mkdir d; echo new > d/new; echo hi > h1; ln h1 h2; ln -s h1 s; setfattr -n user.k -v 0x00ff h1`]);
      expected = walk(merged);
    } finally {
      unmountAll();
    }
    const layer = await collect((out) => writeLayerDiff(upper, [base], out));
    const names: string[] = [];
    for await (const { entry, body } of readTar(Readable.from([layer]))) {
      names.push(`${entry.type}:${entry.name}${entry.type === 'hardlink' ? `->${entry.linkname}` : ''}`);
      body.resume();
    }
    assert.deepEqual(names, [
      // In tree order of the upper dir's own names: the whiteout for "e" sorts as "e".
      'dir:a/', 'file:a/.wh.gone', 'dir:d/', 'file:d/.wh..wh..opq', 'file:d/new', 'file:.wh.e', 'file:h1', 'hardlink:h2->h1', 'symlink:s',
    ]);
    assert.ok(layer.equals(await collect((out) => writeLayerDiff(upper, [base], out))), 'deterministic');

    // The diff on top of the base gives the merged view back (native apply on a copy of the base).
    const rebuilt = join(tmp.path, 'diff/rebuilt');
    sh('cp', ['-a', base, rebuilt]);
    await apply(rebuilt, layer, { whiteouts: 'native' });
    const skipXattr = (k: string) => k.startsWith('trusted.overlay.');
    const strip = (m: Map<string, Node>) => {
      // Directory mtimes are set by the kernel in the merged view, and by the layer in the rebuild.
      for (const [k, v] of m) if (v.type === 'dir') m.set(k, { ...v, mtime: 0 });
      return m;
    };
    assertSameTree(strip(expected!), strip(walk(rebuilt, { skipXattr })), 'overlay diff rebuild');

    // Tree diff between the base and the rebuilt tree gives an equivalent layer.
    const tree = await collect((out) => writeTreeDiff(base, rebuilt, out));
    const again = join(tmp.path, 'diff/again');
    sh('cp', ['-a', base, again]);
    await apply(again, tree, { whiteouts: 'native' });
    assertSameTree(walk(rebuilt), walk(again), 'tree diff rebuild');
    const treeNames: string[] = [];
    for await (const { entry, body } of readTar(Readable.from([tree]))) {
      treeNames.push(entry.name);
      body.resume();
    }
    assert.ok(!treeNames.includes('same'), 'unchanged files are not in a tree diff');
    assert.ok(treeNames.includes('.wh.e') && treeNames.includes('a/.wh.gone'));
  });

  it("no-whiteout mode (docker cp's untar): .wh. names are files, the root entry is left alone; dir/non-dir swaps refused; one owner", async () => {
    const root = join(tmp.path, 'cp-untar');
    mkdirSync(join(root, 'dir', 'keep'), { recursive: true });
    writeFileSync(join(root, 'x'), 'x\n');
    writeFileSync(join(root, 'dir', 'keep', 'f'), 'kept\n');
    chmodSync(root, 0o711);
    await apply(root, await tarOf([
      [{ name: './', type: 'dir', mode: 0o700, uid: 7, gid: 7 }],
      [{ name: '.wh.x', type: 'file', uid: 1000, gid: 1001 }, Buffer.from('plain\n')],
      [{ name: 'dir/.wh..wh..opq', type: 'file' }, Buffer.from('')],
      [{ name: '.wh..wh.plnk', type: 'file' }, Buffer.from('')],
    ]), { whiteouts: 'none' });
    assert.equal(readFileSync(join(root, 'x'), 'utf8'), 'x\n');
    assert.equal(readFileSync(join(root, '.wh.x'), 'utf8'), 'plain\n');
    assert.equal(readFileSync(join(root, 'dir', 'keep', 'f'), 'utf8'), 'kept\n');
    assert.ok(existsSync(join(root, 'dir', '.wh..wh..opq')) && existsSync(join(root, '.wh..wh.plnk')));
    const st = lstatSync(root);
    assert.deepEqual([st.mode & 0o7777, st.uid], [0o711, 0], 'the root entry changed the destination');
    assert.deepEqual([lstatSync(join(root, '.wh.x')).uid, lstatSync(join(root, '.wh.x')).gid], [1000, 1001]);

    const refuse = { whiteouts: 'none' as const, noOverwriteDirNonDir: { dest: '/data' } };
    await assert.rejects(apply(root, await tarOf([[{ name: 'dir', type: 'file' }, Buffer.from('f')]]), refuse),
      { message: 'cannot overwrite directory "/data/dir" with non-directory "/data"' });
    await assert.rejects(apply(root, await tarOf([[{ name: 'x', type: 'dir' }]]), refuse),
      { message: 'cannot overwrite non-directory "/data/x" with directory "/data"' });
    assert.ok(lstatSync(join(root, 'dir')).isDirectory() && lstatSync(join(root, 'x')).isFile());
    // A dir over a dir merges, a file over a file replaces.
    await apply(root, await tarOf([[{ name: 'dir', type: 'dir' }], [{ name: 'x', type: 'file', uid: 5, gid: 6 }, Buffer.from('new\n')]]), { ...refuse, owner: { uid: 33, gid: 34 } });
    assert.equal(readFileSync(join(root, 'x'), 'utf8'), 'new\n');
    assert.deepEqual([lstatSync(join(root, 'x')).uid, lstatSync(join(root, 'x')).gid], [33, 34]);
    assert.deepEqual([lstatSync(join(root, 'dir')).uid, lstatSync(join(root, 'dir')).gid], [33, 34]);
    assert.ok(existsSync(join(root, 'dir', 'keep', 'f')));
  });

  describe('hostile layers fail with a clear error and write nothing outside the root', () => {
    let n = 0;
    const host = () => join(tmp.path, 'host');
    const sentinel = () => join(host(), 'passwd');
    before(() => {
      mkdirSync(host(), { recursive: true });
      writeFileSync(sentinel(), 'root:x:0:0\n');
    });
    const cases: Array<[string, () => Array<[TarWriteEntry, Buffer?]>, RegExp, ApplyOptions?]> = [
      ['a ../ name', () => [[{ name: '../host/x', type: 'file' }, Buffer.from('evil')]], /entry "\.\.\/host\/x": name has a "\.\." component/],
      ['an absolute name', () => [[{ name: `${host()}/x`, type: 'file' }, Buffer.from('evil')]], /name is absolute/],
      ['a symlink to the host dir, then a file through it', () => [
        [{ name: 'a', type: 'symlink', linkname: host() }], [{ name: 'a/passwd', type: 'file' }, Buffer.from('evil')],
      ], /entry "a\/passwd": parent "a" is a symlink/],
      ['a relative symlink escaping, then a new file through it', () => [
        [{ name: 'l', type: 'symlink', linkname: '../../host' }], [{ name: 'l/x', type: 'file' }, Buffer.from('evil')],
      ], /entry "l\/x": parent "l" is a symlink/],
      ['a hardlink to an absolute host file', () => [[{ name: 'h', type: 'hardlink', linkname: '/etc/passwd' }]], /entry "h": hardlink target is absolute/],
      ['a hardlink to ../', () => [[{ name: 'h', type: 'hardlink', linkname: '../host/passwd' }]], /hardlink target has a "\.\." component/],
      ['a hardlink through a symlink', () => [
        [{ name: 's', type: 'symlink', linkname: host() }], [{ name: 'h', type: 'hardlink', linkname: 's/passwd' }],
      ], /entry "h": parent "s" is a symlink/],
      ['a whiteout through a symlink (native)', () => [
        [{ name: 's', type: 'symlink', linkname: host() }], [{ name: 's/.wh.passwd', type: 'file' }],
      ], /entry "s\/.wh.passwd": parent "s" is a symlink/, { whiteouts: 'native' }],
      ['a directory through a symlink', () => [
        [{ name: 's', type: 'symlink', linkname: host() }], [{ name: 's/newdir/', type: 'dir' }],
      ], /parent "s" is a symlink/],
    ];
    for (const [what, entries, message, opts] of cases) {
      it(what, async () => {
        const root = join(tmp.path, `evil${n++}`);
        mkdirSync(root);
        const before = readdirSync(host()).sort();
        await assert.rejects(apply(root, await tarOf(entries()), opts), (e: unknown) => {
          assert.ok(e instanceof BerthError, String(e));
          assert.equal(e.code, 'invalid-argument');
          assert.match(e.message, message);
          return true;
        });
        assert.deepEqual(readdirSync(host()).sort(), before, 'nothing new in the host dir');
        assert.equal(readFileSync(sentinel(), 'utf8'), 'root:x:0:0\n');
        assert.ok(!existsSync(join(tmp.path, 'x')));
      });
    }
    it('a symlink already in the root (a lower layer) is not followed either', async () => {
      const root = join(tmp.path, `evil${n++}`);
      mkdirSync(root);
      symlinkSync(host(), join(root, 'etc'));
      await assert.rejects(apply(root, await tarOf([[{ name: 'etc/passwd', type: 'file' }, Buffer.from('evil')]]), { whiteouts: 'native' }), /parent "etc" is a symlink/);
      assert.equal(readFileSync(sentinel(), 'utf8'), 'root:x:0:0\n');
      // Replacing the symlink itself is fine: it is unlinked, not written through.
      await apply(root, await tarOf([[{ name: 'etc', type: 'file' }, Buffer.from('plain')]]), { whiteouts: 'native' });
      assert.ok(lstatSync(join(root, 'etc')).isFile());
      assert.equal(readFileSync(sentinel(), 'utf8'), 'root:x:0:0\n');
    });
  });
});
