// Tests for the tar reader: hand-made edge cases, and archives written by GNU tar.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, linkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BerthError } from '../../common/errors.js';
import { parseNumeric, parsePaxRecords, readTar, type TarEntry } from './reader.js';

/** A raw header block, checksummed; fields not given are zero/empty like a minimal writer's. */
export function rawHeader(o: {
  name: string; type?: string; size?: number; sizeField?: Buffer; mode?: number; linkname?: string;
  gnu?: boolean; prefix?: string; uid?: number; mtime?: number; signedSum?: boolean; badSum?: boolean;
}): Buffer {
  const h = Buffer.alloc(512);
  h.write(o.name, 0, 100);
  h.write(`${(o.mode ?? 0o644).toString(8).padStart(7, '0')}\0`, 100);
  h.write(`${(o.uid ?? 0).toString(8).padStart(7, '0')}\0`, 108);
  h.write('0000000\0', 116);
  if (o.sizeField) o.sizeField.copy(h, 124);
  else h.write(`${(o.size ?? 0).toString(8).padStart(11, '0')}\0`, 124);
  h.write(`${(o.mtime ?? 0).toString(8).padStart(11, '0')}\0`, 136);
  h.write(o.type ?? '0', 156, 1, 'latin1');
  if (o.linkname) h.write(o.linkname, 157, 100);
  h.write(o.gnu ? 'ustar  \0' : 'ustar\x0000', 257, 8, 'latin1');
  if (o.prefix) h.write(o.prefix, 345, 155);
  h.fill(0x20, 148, 156);
  let u = 0;
  let s = 0;
  for (const b of h) {
    u += b;
    s += b > 127 ? b - 256 : b;
  }
  const sum = (o.signedSum ? s : u) + (o.badSum ? 1 : 0);
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

/** Body bytes padded to whole blocks. */
export function padded(b: Buffer): Buffer {
  return Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
}

export function paxRec(key: string, value: Buffer | string): Buffer {
  const v = Buffer.isBuffer(value) ? value : Buffer.from(value);
  const rest = Buffer.byteLength(key) + v.length + 3;
  let len = rest + String(rest).length;
  if (String(len).length !== String(rest).length) len = rest + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`), v, Buffer.from('\n')]);
}

const END = Buffer.alloc(1024);

/** Feed `buf` in chunks of `chunk` bytes, to exercise headers and bodies split across chunks. */
function chunked(buf: Buffer, chunk = 7): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  return Readable.from(parts);
}

async function readAll(input: Readable): Promise<Array<{ entry: TarEntry; data: Buffer }>> {
  const out: Array<{ entry: TarEntry; data: Buffer }> = [];
  for await (const { entry, body } of readTar(input)) {
    const parts: Buffer[] = [];
    for await (const c of body) parts.push(c as Buffer);
    out.push({ entry, data: Buffer.concat(parts) });
  }
  return out;
}

test('numeric fields: octal with padding, base-256 positive and negative', () => {
  assert.equal(parseNumeric(Buffer.from('0000644\0')), 0o644);
  assert.equal(parseNumeric(Buffer.from('  644 \0')), 0o644);
  assert.equal(parseNumeric(Buffer.from('\0\0\0\0')), 0);
  const big = Buffer.alloc(12);
  big[0] = 0x80;
  big.writeUIntBE(10 * 2 ** 33, 6, 6); // 80 GiB
  assert.equal(parseNumeric(big), 10 * 2 ** 33);
  assert.equal(parseNumeric(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe])), -2);
  assert.throws(() => parseNumeric(Buffer.from('12x\0')), /octal/);
});

test('PAX records are length-delimited bytes: binary values, "=" and newlines inside', () => {
  const bin = Buffer.from([0, 1, 0x0a, 0x3d, 0xff, 0xfe]);
  const recs = parsePaxRecords(Buffer.concat([paxRec('path', 'a=b'), paxRec('SCHILY.xattr.user.bin', bin)]));
  assert.equal(recs[0]![0], 'path');
  assert.equal(recs[0]![1].toString(), 'a=b');
  assert.deepEqual(recs[1]![1], bin);
  assert.throws(() => parsePaxRecords(Buffer.from('99 path=x\n')), /bad PAX record/);
});

test('hand-made archive: binary xattr, base-256 size, GNU long link and name, global PAX, fractional mtime', async () => {
  const bin = Buffer.from([0x01, 0x00, 0x00, 0x02, 0xff, 0x00, 0x80, 0x0a]);
  const big = Buffer.alloc(12);
  big[0] = 0x80;
  big.writeUInt32BE(5, 8);
  const longLink = `${'t/'.repeat(80)}target`;
  const longName = `${'n/'.repeat(90)}file`;
  const g = Buffer.concat([paxRec('uname', 'globaluser'), paxRec('gid', '4242')]);
  const x = Buffer.concat([paxRec('SCHILY.xattr.security.capability', bin), paxRec('mtime', '1700000000.25'), paxRec('gid', '')]);
  const tar = Buffer.concat([
    rawHeader({ name: 'pax_global_header', type: 'g', size: g.length }), padded(g),
    rawHeader({ name: 'PaxHeaders/bin', type: 'x', size: x.length }), padded(x),
    rawHeader({ name: 'bin', sizeField: big, mtime: 5 }), padded(Buffer.from('hello')),
    rawHeader({ name: '././@LongLink', type: 'K', size: longLink.length + 1, gnu: true }), padded(Buffer.from(`${longLink}\0`)),
    rawHeader({ name: '././@LongLink', type: 'L', size: longName.length + 1, gnu: true }), padded(Buffer.from(`${longName}\0`)),
    rawHeader({ name: 'short', type: '2', linkname: 'truncated', gnu: true }),
    rawHeader({ name: 'file', prefix: 'some/prefix' }),
    END,
  ]);
  for (const chunk of [1, 7, 512, 100000]) {
    const got = await readAll(chunked(tar, chunk));
    assert.equal(got.length, 3);
    const [a, b, c] = got as [typeof got[0], typeof got[0], typeof got[0]];
    assert.equal(a.entry.name, 'bin');
    assert.equal(a.entry.size, 5);
    assert.equal(a.data.toString(), 'hello');
    assert.deepEqual(a.entry.xattrs['security.capability'], bin);
    assert.equal(a.entry.mtime.getTime(), 1700000000250);
    assert.equal(a.entry.uname, 'globaluser');
    assert.equal(a.entry.gid, 0, 'an empty local record undoes the global one');
    assert.equal(a.entry.pax['SCHILY.xattr.security.capability'], undefined);
    assert.equal(b.entry.type, 'symlink');
    assert.equal(b.entry.name, longName);
    assert.equal(b.entry.linkname, longLink);
    assert.equal(b.entry.gid, 4242, 'global PAX applies to later entries');
    assert.equal(c.entry.name, 'some/prefix/file');
  }
});

test('signed checksums are accepted, bad ones name the entry and offset', async () => {
  const nameHi = 'caf\u00e9-\u00ff';
  const ok = Buffer.concat([rawHeader({ name: nameHi, signedSum: true }), END]);
  assert.equal((await readAll(chunked(ok, 512)))[0]!.entry.name, nameHi);
  const bad = Buffer.concat([rawHeader({ name: 'first', size: 3 }), padded(Buffer.from('abc')), rawHeader({ name: 'broken', badSum: true }), END]);
  await assert.rejects(readAll(chunked(bad, 512)), (e: unknown) => {
    assert.ok(e instanceof BerthError);
    assert.equal(e.code, 'invalid-argument');
    assert.match(e.message, /"broken" at offset 1024: bad header checksum/);
    return true;
  });
});

test('truncated archives fail: inside a header, inside a body, after an extended header', async () => {
  const full = Buffer.concat([rawHeader({ name: 'f', size: 1000 }), padded(Buffer.alloc(1000, 1)), END]);
  await assert.rejects(readAll(chunked(full.subarray(0, 700), 100)), /entry "f" at offset 0: archive truncated inside the body \(input ends at byte 700\)/);
  await assert.rejects(readAll(chunked(full.subarray(0, 300), 100)), /archive truncated inside a header/);
  const x = paxRec('path', 'p');
  const dangling = Buffer.concat([rawHeader({ name: 'h', type: 'x', size: x.length }), padded(x)]);
  await assert.rejects(readAll(chunked(dangling)), /ends after an extended header/);
  // Ending on a block boundary with no end marker is accepted, as GNU tar and Go's archive/tar do.
  assert.equal((await readAll(chunked(full.subarray(0, 1536)))).length, 1);
});

test('GNU sparse and unknown types are rejected with the entry name', async () => {
  await assert.rejects(readAll(chunked(Buffer.concat([rawHeader({ name: 'sp', type: 'S', gnu: true }), END]))), /"sp".*GNU sparse/);
  const x = paxRec('GNU.sparse.major', '1');
  await assert.rejects(readAll(chunked(Buffer.concat([rawHeader({ name: 'h', type: 'x', size: x.length }), padded(x), rawHeader({ name: 's2' }), END]))), /"s2".*sparse/);
  await assert.rejects(readAll(chunked(Buffer.concat([rawHeader({ name: 'q', type: 'Q' }), END]))), /unsupported entry type "Q"/);
});

test('a body the consumer leaves unread is skipped', async () => {
  const tar = Buffer.concat([
    rawHeader({ name: 'a', size: 2000 }), padded(Buffer.alloc(2000, 7)),
    rawHeader({ name: 'b', size: 3 }), padded(Buffer.from('xyz')), END, Buffer.alloc(8192),
  ]);
  const names: string[] = [];
  let last = '';
  for await (const { entry, body } of readTar(chunked(tar, 300))) {
    names.push(entry.name);
    if (entry.name === 'b') for await (const c of body) last += String(c);
  }
  assert.deepEqual(names, ['a', 'b']);
  assert.equal(last, 'xyz');
});

const haveTar = spawnSync('tar', ['--version']).status === 0;

test('reads GNU tar output: pax with long names and xattrs, gnu with long names and links, hardlinks', { skip: !haveTar && 'GNU tar missing' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-tar-read-'));
  try {
    const src = join(dir, 'src');
    const deep = join(src, 'd'.repeat(60), 'e'.repeat(60), 'f'.repeat(60));
    mkdirSync(deep, { recursive: true });
    const long = join(deep, `${'x'.repeat(120)}.txt`);
    writeFileSync(long, 'long\n');
    writeFileSync(join(src, 'small'), 'small\n');
    writeFileSync(join(src, 'big'), Buffer.alloc(300_000, 0x61));
    linkSync(join(src, 'small'), join(src, 'hard'));
    symlinkSync(`../${'l'.repeat(150)}`, join(src, 'longlink'));
    const setf = spawnSync('setfattr', ['-n', 'user.berth', '-v', '0x00ff10', join(src, 'small')]);
    const xattrOk = setf.status === 0;
    for (const format of ['pax', 'gnu']) {
      const tarFile = join(dir, `${format}.tar`);
      const r = spawnSync('tar', [`--format=${format}`, ...(format === 'pax' ? ['--xattrs', '--xattrs-include=*'] : []), '-cf', tarFile, '-C', src, '.']);
      assert.equal(r.status, 0, String(r.stderr));
      const { createReadStream } = await import('node:fs');
      const got = new Map((await readAll(createReadStream(tarFile))).map((x) => [x.entry.name.replace(/^\.\//, ''), x]));
      const rel = long.slice(src.length + 1);
      assert.equal(got.get(rel)?.data.toString(), 'long\n', `${format}: long name`);
      assert.equal(got.get('big')?.data.length, 300_000);
      assert.equal(got.get('longlink')?.entry.linkname, `../${'l'.repeat(150)}`);
      const hard = got.get('hard') ?? got.get('small');
      assert.ok(hard);
      const linked = [got.get('hard')!, got.get('small')!].find((x) => x.entry.type === 'hardlink');
      assert.ok(linked, `${format}: one of the two names is a hardlink entry`);
      if (format === 'pax' && xattrOk) assert.deepEqual(got.get('small')!.entry.xattrs['user.berth'] ?? got.get('hard')!.entry.xattrs['user.berth'], Buffer.from([0, 0xff, 0x10]));
      assert.equal(got.get('d'.repeat(60) + '/')?.entry.type ?? got.get('d'.repeat(60))?.entry.type, 'dir');
    }
    assert.equal(readFileSync(long, 'utf8'), 'long\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
