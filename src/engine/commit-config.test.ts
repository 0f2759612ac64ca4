// Unit tests for the committed image's config: --change on the request's or the container's Config, then dockerd's merge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commitConfig } from './commit-config.js';

const container = {
  Hostname: 'abc', Tty: true, Image: 'busybox',
  Env: ['PATH=/bin', 'A=container'], Cmd: ['sh', '-c', 'echo hi'], WorkingDir: '/w', User: 'nobody',
  Labels: { keep: '1', both: 'container' }, ExposedPorts: { '80/tcp': {} }, Volumes: { '/v': {} }, StopSignal: 'SIGINT',
  Healthcheck: { Test: ['CMD', 'true'], Interval: 5e9, Retries: 2 },
};

test('no body: the container Config with the changes, image fields only', () => {
  const c = commitConfig(container, undefined, ['ENV A=b', 'CMD ["cat","/new"]']);
  assert.deepEqual(c.Env, ['PATH=/bin', 'A=b']);
  assert.deepEqual(c.Cmd, ['cat', '/new']);
  assert.equal(c.WorkingDir, '/w');
  assert.equal(c.User, 'nobody');
  assert.equal(c['Hostname'], undefined);
  assert.equal(c['Tty'], undefined);
  assert.equal(c['Image'], undefined);
});

test("a body: its fields win; empty ones come from the container; Env, Labels, ports are unions; Cmd only without Entrypoint or Cmd", () => {
  const c = commitConfig(container, { Env: ['A=body', 'B=1'], Labels: { both: 'body' }, ExposedPorts: { '443/tcp': {} }, User: 'root' }, []);
  assert.deepEqual(c.Env, ['A=body', 'B=1', 'PATH=/bin']);
  assert.deepEqual(c.Labels, { keep: '1', both: 'body' });
  assert.deepEqual(Object.keys(c.ExposedPorts!).sort(), ['443/tcp', '80/tcp']);
  assert.equal(c.User, 'root');
  assert.deepEqual(c.Cmd, ['sh', '-c', 'echo hi']);
  assert.equal(c.StopSignal, 'SIGINT');
  assert.deepEqual(c.Volumes, { '/v': {} });
  const withEntrypoint = commitConfig(container, { Entrypoint: ['/init'] }, []);
  assert.deepEqual(withEntrypoint.Entrypoint, ['/init']);
  assert.equal(withEntrypoint.Cmd, undefined);
});

test("Healthcheck: the request's fields, the container's for those it leaves at zero", () => {
  const c = commitConfig(container, {}, ['HEALTHCHECK --timeout=3s CMD test -e /ok']);
  assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'test -e /ok'], Timeout: 3e9, Interval: 5e9, Retries: 2 });
});

test('a bad change is invalid-argument', () => {
  assert.throws(() => commitConfig(container, undefined, ['FROB x']), /FROB is not supported/);
});
