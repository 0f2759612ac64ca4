import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError, errNotFound, type ErrorCode } from '../common/errors.js';
import { STATUS_BY_CODE, codeFromStatus, errorResponse, httpStatusOf } from './errors.js';

test('errors: docker errdefs statuses per code', () => {
  const want: Record<ErrorCode, number> = {
    'not-found': 404, 'already-exists': 409, conflict: 409, 'failed-precondition': 409,
    'invalid-argument': 400, 'permission-denied': 403, unavailable: 503, 'not-implemented': 501,
    cancelled: 500, 'deadline-exceeded': 500, internal: 500,
  };
  assert.deepEqual(STATUS_BY_CODE, want);
});

test('errors: the code is found through the cause chain; plain errors are 500', () => {
  const wrapped = new Error('outer', { cause: errNotFound('no such container: x') });
  assert.equal(httpStatusOf(wrapped), 404);
  assert.equal(httpStatusOf(new Error('boom')), 500);
  assert.equal(httpStatusOf('string'), 500);
});

test('errors: body is {"message"} JSON with content type and code header', () => {
  const r = errorResponse(new BerthError('conflict', 'container "web" is not running'));
  assert.equal(r.status, 409);
  assert.equal(r.headers['Content-Type'], 'application/json');
  assert.equal(r.headers['X-Berth-Error-Code'], 'conflict');
  assert.deepEqual(JSON.parse(r.body), { message: 'container "web" is not running' });
  assert.equal(Number(r.headers['Content-Length']), Buffer.byteLength(r.body));
});

test('errors: status back to code', () => {
  assert.equal(codeFromStatus(404), 'not-found');
  assert.equal(codeFromStatus(409), 'conflict');
  assert.equal(codeFromStatus(418), 'invalid-argument');
  assert.equal(codeFromStatus(502), 'internal');
});
