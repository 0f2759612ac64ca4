import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createLogger, LEVELS, setLogContext } from './log.js';
import { BerthError } from './errors.js';

function sink() {
  const lines: Record<string, unknown>[] = [];
  return { lines, dest: { write: (s: string) => { assert.ok(s.endsWith('\n')); lines.push(JSON.parse(s)); } } };
}

test('log: one JSON line per call with level number, time, fields and msg', () => {
  const { lines, dest } = sink();
  const log = createLogger({ level: 'debug', dest, now: () => 42, fields: { svc: 'berthd' } });
  log.info('hello', { a: 1 });
  assert.deepEqual(lines, [{ level: LEVELS.info, time: 42, svc: 'berthd', a: 1, msg: 'hello' }]);
});

test('log: levels below the threshold are dropped; silent drops all', () => {
  const { lines, dest } = sink();
  const log = createLogger({ level: 'warn', dest });
  log.debug('no');
  log.info('no');
  log.warn('yes');
  log.error('yes');
  assert.equal(lines.length, 2);
  assert.equal(log.isLevelEnabled('info'), false);
  const off = createLogger({ level: 'silent', dest });
  off.fatal('no');
  assert.equal(lines.length, 2);
});

test('log: child loggers add fields and keep the parent unchanged', () => {
  const { lines, dest } = sink();
  const log = createLogger({ level: 'info', dest, now: () => 1 });
  const child = log.child({ reqId: 'r1' }).child({ route: '/x' });
  child.info('done', { status: 200 });
  log.info('plain');
  assert.deepEqual(lines[0], { level: 30, time: 1, reqId: 'r1', route: '/x', status: 200, msg: 'done' });
  assert.equal(lines[1]!['reqId'], undefined);
});

test('log: errors are serialised with type, message, code and cause', () => {
  const { lines, dest } = sink();
  const log = createLogger({ dest });
  log.error('failed', { err: new BerthError('not-found', 'container "x"', { cause: new Error('inner') }) });
  const err = lines[0]!['err'] as Record<string, unknown>;
  assert.equal(err['type'], 'BerthError');
  assert.equal(err['code'], 'not-found');
  assert.equal((err['cause'] as Record<string, unknown>)['message'], 'inner');
});

test('log: a cyclic field does not throw', () => {
  const { lines, dest } = sink();
  const cyc: Record<string, unknown> = {};
  cyc['self'] = cyc;
  createLogger({ dest }).info('x', { cyc });
  assert.equal(lines[0]!['logError'], 'unserialisable fields');
});

test('log: the context provider\'s fields go on every line written inside the context; the line\'s own win', async () => {
  const { lines, dest } = sink();
  const als = new AsyncLocalStorage<string>();
  setLogContext(() => { const id = als.getStore(); return id ? { reqId: id } : undefined; });
  try {
    const log = createLogger({ level: 'info', dest, now: () => 1 }).child({ component: 'engine' });
    log.info('outside');
    await als.run('r1', async () => {
      await Promise.resolve();
      log.info('inside');
      log.info('own', { reqId: 'mine' });
    });
    assert.deepEqual(lines.map((l) => [l['msg'], l['reqId']]), [['outside', undefined], ['inside', 'r1'], ['own', 'mine']]);
  } finally {
    setLogContext(undefined);
  }
});
