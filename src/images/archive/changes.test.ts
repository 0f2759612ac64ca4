// Unit tests for import's --change instructions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges } from './changes.js';
import { isInvalid } from '../../common/errors.js';

test('CMD and ENTRYPOINT: exec form and shell form', () => {
  assert.deepEqual(applyChanges({}, ['CMD ["sh", "-c", "echo hi"]']).Cmd, ['sh', '-c', 'echo hi']);
  assert.deepEqual(applyChanges({}, ['CMD echo hi']).Cmd, ['/bin/sh', '-c', 'echo hi']);
  assert.deepEqual(applyChanges({}, ['entrypoint ["/probe"]']).Entrypoint, ['/probe']);
});

test('ENV replaces by key and keeps order; both syntaxes', () => {
  const c = applyChanges({ Env: ['PATH=/bin', 'A=1'] }, ['ENV A=2 B="x y"', 'ENV C some value']);
  assert.deepEqual(c.Env, ['PATH=/bin', 'A=2', 'B=x y', 'C=some value']);
});

test('EXPOSE, LABEL, VOLUME, USER, WORKDIR, STOPSIGNAL', () => {
  const c = applyChanges({}, ['EXPOSE 80 53/udp', 'LABEL a=b "c d"=e', 'VOLUME /data', 'USER 1000:1000', 'WORKDIR app', 'STOPSIGNAL SIGINT']);
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.deepEqual(c.Labels, { a: 'b', 'c d': 'e' });
  assert.deepEqual(c.Volumes, { '/data': {} });
  assert.equal(c.User, '1000:1000');
  assert.equal(c.WorkingDir, '/app');
  assert.equal(c.StopSignal, 'SIGINT');
});

test('unknown instructions and bad arguments are refused', () => {
  for (const bad of ['RUN echo', 'EXPOSE http', 'ENV =x', 'FROM busybox']) {
    assert.throws(() => applyChanges({}, [bad]), (e: unknown) => isInvalid(e), bad);
  }
});
