import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DnsFormatError, FrameReader, RCODE, TYPE, encodeMessage, frame, parseHeader, parseMessage, readName, splitName,
} from './dns-message.js';

/** A query for `name`/`type` written byte by byte, as a resolver sends it (RD set). */
function rawQuery(id: number, name: string, type: number): Buffer {
  const labels = name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]);
  return Buffer.concat([
    Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
    ...labels, Buffer.from([0, type >> 8, type & 0xff, 0, 1]),
  ]);
}

test('dns message: a hand-written query parses', () => {
  const m = parseMessage(rawQuery(0xbeef, 'Web.example', TYPE.A));
  assert.deepEqual(m.header, { id: 0xbeef, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, z: 0, rcode: 0 });
  assert.deepEqual(m.questions, [{ name: 'Web.example', type: TYPE.A, class: 1 }]);
  assert.equal(m.answers.length, 0);
});

test('dns message: an answer round-trips, names compressed against the question', () => {
  const buf = encodeMessage({
    header: { id: 7, qr: true, rd: true, ra: true },
    questions: [{ name: 'db.net', type: TYPE.A, class: 1 }],
    answers: [
      { name: 'db.net', type: TYPE.A, ttl: 600, address: '10.88.0.2' },
      { name: 'DB.net', type: TYPE.AAAA, ttl: 5, address: 'fd00::1:0:0:2' },
      { name: '2.0.88.10.in-addr.arpa', type: TYPE.PTR, ttl: 600, target: 'db.net' },
    ],
  });
  // Header 12 + question 12 ("db.net" 8 + 4); the first answer's name is a 2-byte pointer to offset 12.
  assert.equal(buf.readUInt16BE(24), 0xc00c);
  const m = parseMessage(buf);
  assert.equal(m.header.qr, true);
  assert.equal(m.header.ra, true);
  assert.deepEqual(m.answers.map((a) => [a.name, a.type, a.ttl, a.address ?? a.target]), [
    ['db.net', TYPE.A, 600, '10.88.0.2'],
    ['db.net', TYPE.AAAA, 5, 'fd00::1:0:0:2'],
    ['2.0.88.10.in-addr.arpa', TYPE.PTR, 600, 'db.net'],
  ]);
});

test('dns message: IPv6 text uses the longest zero run', () => {
  const enc = (address: string) => parseMessage(encodeMessage({ header: { id: 1 }, answers: [{ name: 'x', type: TYPE.AAAA, ttl: 1, address }] })).answers[0]!.address;
  assert.equal(enc('::'), '::');
  assert.equal(enc('::1'), '::1');
  assert.equal(enc('1:0:0:2:0:0:0:3'), '1:0:0:2::3');
  assert.equal(enc('1:2:3:4:5:6:7:8'), '1:2:3:4:5:6:7:8');
});

test('dns message: labels with dots and backslashes survive a round trip', () => {
  assert.deepEqual(splitName('a\\.b.c.'), ['a.b', 'c']);
  const buf = encodeMessage({ header: { id: 1 }, questions: [{ name: 'a\\.b.c\\\\d', type: TYPE.A, class: 1 }] });
  assert.equal(parseMessage(buf).questions[0]!.name, 'a\\.b.c\\\\d');
  assert.throws(() => splitName('a..b'), DnsFormatError);
  assert.throws(() => splitName('x'.repeat(64)), DnsFormatError);
});

test('dns message: truncation to a size keeps the question and sets TC', () => {
  const answers = Array.from({ length: 40 }, (_, i) => ({ name: 'many', type: TYPE.A, ttl: 600, address: `10.0.0.${i}` }));
  const buf = encodeMessage({ header: { id: 3, qr: true }, questions: [{ name: 'many', type: TYPE.A, class: 1 }], answers }, 512);
  assert.ok(buf.length <= 512);
  const m = parseMessage(buf);
  assert.equal(m.header.tc, true);
  assert.equal(m.questions.length, 1);
  // 12 header + 10 question, then 16 bytes per compressed A record.
  assert.equal(m.answers.length, Math.floor((512 - 22) / 16));
});

test('dns message: malformed input is a DnsFormatError, never something else', () => {
  const q = rawQuery(1, 'a.b', TYPE.A);
  assert.equal(parseHeader(Buffer.alloc(5)), undefined);
  assert.throws(() => parseMessage(Buffer.alloc(5)), DnsFormatError);
  // Every truncation of a valid query.
  for (let n = 12; n < q.length; n++) assert.throws(() => parseMessage(q.subarray(0, n)), DnsFormatError, `cut at ${n}`);
  // A pointer to itself, a pointer forwards, a pointer loop between two names.
  const self = Buffer.concat([q.subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
  assert.throws(() => parseMessage(self), /does not point backwards/);
  assert.throws(() => readName(Buffer.from([0xc0, 2, 1, 0x61, 0]), 0), /does not point backwards/);
  const loop = Buffer.from([1, 0x61, 0xc0, 3]);
  assert.throws(() => readName(loop, 0), DnsFormatError);
  // The reserved 0x40/0x80 label types.
  assert.throws(() => parseMessage(Buffer.concat([q.subarray(0, 12), Buffer.from([0x41, 0, 0, 1, 0, 1])])), /label type/);
  // A record count that promises more than is there.
  const lying = Buffer.from(q);
  lying.writeUInt16BE(3, 6);
  assert.throws(() => parseMessage(lying), DnsFormatError);
  // A name longer than 255 bytes made of legal labels.
  const long = rawQuery(1, Array.from({ length: 5 }, () => 'x'.repeat(60)).join('.'), TYPE.A);
  assert.throws(() => parseMessage(long), /longer than 255/);
  // Random garbage: only DnsFormatError may come out.
  for (let i = 0; i < 2000; i++) {
    const g = Buffer.from(Array.from({ length: 12 + (i % 60) }, () => Math.floor(Math.random() * 256)));
    try { parseMessage(g); } catch (e) { assert.ok(e instanceof DnsFormatError, String(e)); }
  }
});

test('dns message: TCP frames split anywhere come out whole', () => {
  const a = rawQuery(1, 'a', TYPE.A);
  const b = rawQuery(2, 'bb.cc', TYPE.AAAA);
  const stream = Buffer.concat([frame(a), frame(b)]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const r = new FrameReader();
    const out = [...r.push(stream.subarray(0, cut)), ...r.push(stream.subarray(cut))];
    assert.deepEqual(out, [a, b]);
    assert.equal(r.buffered, 0);
  }
});

test('dns message: rcode and flags in the header', () => {
  const buf = encodeMessage({ header: { id: 9, qr: true, opcode: 2, aa: true, rcode: RCODE.REFUSED } });
  assert.deepEqual(parseHeader(buf), { id: 9, qr: true, opcode: 2, aa: true, tc: false, rd: false, ra: false, z: 0, rcode: 5 });
});
