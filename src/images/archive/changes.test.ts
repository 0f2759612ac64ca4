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

test('HEALTHCHECK: options before CMD, shell and exec form, NONE; the builder\'s refusals', () => {
  assert.deepEqual(applyChanges({}, ['HEALTHCHECK --interval=100ms --timeout=2s --start-period=1m --start-interval=1.5s --retries=4 CMD wget -q -O- x']).Healthcheck, {
    Interval: 100e6, Timeout: 2e9, StartPeriod: 60e9, StartInterval: 1.5e9, Retries: 4, Test: ['CMD-SHELL', 'wget -q -O- x'],
  });
  assert.deepEqual(applyChanges({}, ['healthcheck cmd ["true", "x"]']).Healthcheck, { Test: ['CMD', 'true', 'x'] });
  assert.deepEqual(applyChanges({ Healthcheck: { Test: ['CMD', 'true'], Retries: 2 } }, ['HEALTHCHECK NONE']).Healthcheck, { Test: ['NONE'] });
  for (const bad of ['HEALTHCHECK', 'HEALTHCHECK CMD', 'HEALTHCHECK NONE x', 'HEALTHCHECK --interval=1s NONE', 'HEALTHCHECK RUN true', 'HEALTHCHECK --interval=5 CMD true',
    'HEALTHCHECK --interval=1us CMD true', 'HEALTHCHECK --retries=-1 CMD true', 'HEALTHCHECK --bogus=1 CMD true']) {
    assert.throws(() => applyChanges({}, [bad]), (e: unknown) => isInvalid(e), bad);
  }
});

test('unknown instructions and bad arguments are refused', () => {
  for (const bad of ['RUN echo', 'EXPOSE http', 'ENV =x', 'FROM busybox']) {
    assert.throws(() => applyChanges({}, [bad]), (e: unknown) => isInvalid(e), bad);
  }
});

test('one value may hold several lines, as dockerd parses the joined changes as a Dockerfile', () => {
  const c = applyChanges({}, ['LABEL a=1\nENV X=1 \\\n  Y=2', '# a comment\n\nCMD ["cat", "/f"]']);
  assert.deepEqual(c.Labels, { a: '1' });
  assert.deepEqual(c.Env, ['X=1', 'Y=2']);
  assert.deepEqual(c.Cmd, ['cat', '/f']);
});
