// Conformance-style tests of LocalContentStore: ingest, verify, resume, labels, list, abort.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorCode, isNotFound } from '../../common/errors.js';
import { LocalContentStore, sha256Digest } from './local-store.js';

async function withStore(fn: (s: LocalContentStore, root: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'berth-content-'));
  try {
    await fn(await new LocalContentStore(root).init(), root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const data = Buffer.from('hello, content store\n');
const digest = sha256Digest(data);

test('writeBlob then read, info, has, list, path layout', () => withStore(async (s, root) => {
  const d = await s.writeBlob(data, { mediaType: 'text/plain', labels: { a: 'b' } });
  assert.deepEqual(d, { mediaType: 'text/plain', digest, size: data.length });
  assert.equal(await s.has(digest), true);
  assert.deepEqual(await s.read(digest, { verify: true }), data);
  const info = await s.info(digest);
  assert.equal(info.size, data.length);
  assert.deepEqual(info.labels, { a: 'b' });
  assert.equal(s.path(digest), join(root, 'blobs', 'sha256', digest.slice(7)));
  assert.deepEqual((await s.list()).map((i) => i.digest), [digest]);
  assert.deepEqual(await s.listIngests(), []);
}));

test('commit verifies size and digest; a mismatch keeps nothing in blobs/', () => withStore(async (s) => {
  const w = await s.writer('ref-1', { size: data.length });
  await w.write(data);
  await assert.rejects(w.commit({ digest: sha256Digest('other') }), (e: unknown) => errorCode(e) === 'failed-precondition');
  assert.equal(await s.has(digest), false);
  const w2 = await s.writer('ref-2');
  await w2.write(data);
  await assert.rejects(w2.commit({ size: 3 }), (e: unknown) => errorCode(e) === 'failed-precondition');
  const w3 = await s.writer('ref-3', { size: 2 });
  await assert.rejects(w3.write(data), (e: unknown) => errorCode(e) === 'invalid-argument');
  await w3.abort();
}));

test('resumable writer: offset is what was written; the digest covers both sessions', () => withStore(async (s) => {
  const w = await s.writer('pull-x', { digest, size: data.length });
  await w.write(data.subarray(0, 5));
  await (w as unknown as { close(): Promise<void> }).close(); // the process "dies" here
  const ingests = await s.listIngests();
  assert.equal(ingests.length, 1);
  assert.equal(ingests[0].ref, 'pull-x');
  assert.equal(ingests[0].offset, 5);
  const w2 = await s.writer('pull-x');
  assert.equal(w2.offset, 5);
  await w2.write(data.subarray(5));
  assert.equal(await w2.commit(), digest); // the first session's expectation still applies
  assert.deepEqual(await s.read(digest, { verify: true }), data);
  assert.deepEqual(await s.listIngests(), []);
}));

test('one writer per ref; abortIngest removes an ingest', () => withStore(async (s) => {
  const w = await s.writer('busy');
  await assert.rejects(s.writer('busy'), (e: unknown) => errorCode(e) === 'unavailable');
  await assert.rejects(s.abortIngest('busy'), (e: unknown) => errorCode(e) === 'unavailable');
  await w.write(data);
  await (w as unknown as { close(): Promise<void> }).close();
  await s.abortIngest('busy');
  assert.deepEqual(await s.listIngests(), []);
  await assert.rejects(s.abortIngest('busy'), isNotFound);
}));

test('committing content that already exists succeeds and drops the ingest', () => withStore(async (s) => {
  await s.writeBlob(data);
  const w = await s.writer('again');
  await w.write(data);
  assert.equal(await w.commit({ digest }), digest);
  assert.deepEqual(await s.listIngests(), []);
}));

test('read verify catches corruption on disk; delete removes blob and labels', () => withStore(async (s) => {
  await s.writeBlob(data, { labels: { x: 'y' } });
  writeFileSync(s.path(digest), 'tampered');
  await assert.rejects(s.read(digest, { verify: true }), (e: unknown) => errorCode(e) === 'failed-precondition');
  await s.delete(digest);
  assert.equal(await s.has(digest), false);
  await assert.rejects(s.info(digest), isNotFound);
  await assert.rejects(s.delete(digest), isNotFound);
  assert.deepEqual(await s.orphanLabels(), []);
}));

test('setLabels replaces; invalid digests are refused', () => withStore(async (s) => {
  await s.writeBlob(data, { labels: { a: '1' } });
  await s.setLabels(digest, { b: '2' });
  assert.deepEqual((await s.info(digest)).labels, { b: '2' });
  assert.throws(() => s.path('md5:abc'), (e: unknown) => errorCode(e) === 'invalid-argument');
  await assert.rejects(s.setLabels(sha256Digest('nope'), {}), isNotFound);
}));
