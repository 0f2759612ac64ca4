import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { parseNdjson } from './json-stream.js';

async function collect(chunks: string[]): Promise<unknown[]> {
  const out = [];
  for await (const v of parseNdjson(Readable.from(chunks.map((c) => Buffer.from(c))))) out.push(v);
  return out;
}

test('ndjson: values split across chunks, blank lines, missing final newline', async () => {
  assert.deepEqual(await collect(['{"a":', '1}\n\n{"b"', ':2}\n', '{"c":3}']), [{ a: 1 }, { b: 2 }, { c: 3 }]);
  assert.deepEqual(await collect([]), []);
});

test('ndjson: multi-byte characters split between chunks', async () => {
  const buf = Buffer.from('{"s":"é"}\n');
  const out = [];
  for await (const v of parseNdjson(Readable.from([buf.subarray(0, 7), buf.subarray(7)]))) out.push(v);
  assert.deepEqual(out, [{ s: 'é' }]);
});

test('ndjson: malformed line throws', async () => {
  await assert.rejects(collect(['{"a":1}\nnope\n']), SyntaxError);
});
