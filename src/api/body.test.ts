import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, PassThrough } from 'node:stream';
import { checkJsonContentType, parseJsonBody, parseMediaType, readBody } from './body.js';
import { errorCode, isInvalid } from '../common/errors.js';

test('body: content type check as dockerd', () => {
  checkJsonContentType(undefined, false);
  checkJsonContentType('application/json', true);
  checkJsonContentType('application/json; charset=utf-8', true);
  checkJsonContentType('Application/JSON', true);
  assert.throws(() => checkJsonContentType('text/plain', true), { message: "Content-Type specified (text/plain) must be 'application/json'" });
  assert.throws(() => checkJsonContentType(undefined, true), (e) => isInvalid(e));
  assert.throws(() => checkJsonContentType('garbage', true), /malformed Content-Type header \(garbage\)/);
  assert.equal(parseMediaType('text/plain; charset=x'), 'text/plain');
});

test('body: JSON parse with Go-like messages', () => {
  assert.deepEqual(parseJsonBody(Buffer.from('{"a":1}')), { a: 1 });
  assert.equal(parseJsonBody(Buffer.alloc(0)), undefined);
  assert.throws(() => parseJsonBody(Buffer.from('xyz')), { message: "invalid JSON: invalid character 'x' looking for beginning of value" });
  assert.throws(() => parseJsonBody(Buffer.from('{"a":')), { message: 'invalid JSON: unexpected EOF' });
  assert.throws(() => parseJsonBody(Buffer.from('{} x')), { message: "invalid JSON: invalid character 'x' after top-level value" });
  assert.throws(() => parseJsonBody(Buffer.from('  \n')), { message: 'invalid JSON: got EOF while reading request body' });
  assert.throws(() => parseJsonBody(Buffer.from('{"a" 1}')), (e) => isInvalid(e) && /^invalid JSON: /.test((e as Error).message));
});

test('body: readBody joins chunks and enforces the limit', async () => {
  assert.equal((await readBody(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 10)).toString(), 'abcd');
  await assert.rejects(readBody(Readable.from([Buffer.alloc(6), Buffer.alloc(6)]), 10), /too large/);
});

test('body: readBody rejects when the stream closes early or the signal fires', async () => {
  const p = new PassThrough();
  const r = readBody(p, 100);
  p.write('abc');
  p.destroy();
  await assert.rejects(r, (e) => errorCode(e) === 'cancelled');
  const ac = new AbortController();
  const q = new PassThrough();
  const r2 = readBody(q, 100, ac.signal);
  ac.abort();
  await assert.rejects(r2, (e) => errorCode(e) === 'cancelled');
});
