// `run` without -d and the help texts, compared with the docker CLI on the same fake daemon (testing/fake-daemon.ts
// is a TEST FAKE: canned attach frames, wait status and start errors; not an engine).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeFrame } from '../common/stdcopy.js';
import { startFakeDaemon, type FakeDaemon } from './testing/fake-daemon.js';
import { dockerVersion, runBerth, runDocker } from './testing/run-cli.js';

const skip = dockerVersion() ? false : 'the docker CLI is not installed';
const ID = 'e'.repeat(64);

describe('run (attached) and help, like the docker CLI', { skip }, () => {
  let fake: FakeDaemon;
  let startError: string | undefined;
  before(async () => {
    fake = await startFakeDaemon((r) => {
      if (r.path === '/containers/create') return { status: 201, json: { Id: ID, Warnings: [] } };
      if (r.path.endsWith('/attach')) return { hijack: { data: startError ? Buffer.alloc(0) : Buffer.concat([encodeFrame(1, 'hello\n'), encodeFrame(2, 'warn\n'), encodeFrame(1, 'bye\n')]) } };
      if (r.path.endsWith('/wait')) return { json: { StatusCode: 3, Error: null } };
      if (r.path.endsWith('/start')) return startError ? { status: 400, json: { message: startError } } : { status: 204, text: '' };
      return undefined;
    });
  });
  after(() => fake?.close());

  it('output demultiplexed and the container status as exit code', async () => {
    startError = undefined;
    const d = await runDocker(['-H', fake.host, 'run', 'busybox']);
    const b = await runBerth(['-H', fake.host, 'run', 'busybox']);
    assert.equal(d.code, 3);
    assert.deepEqual([b.code, b.stdout, b.stderr], [d.code, d.stdout, d.stderr]);
  });

  for (const [msg, code] of [
    ['failed to create task: exec: "nope": executable file not found in $PATH', 127],
    ['exec /bin/x: permission denied', 126],
    ['cgroup setup failed', 125],
  ] as const) {
    it(`start failure → ${code}`, async () => {
      startError = msg;
      const d = await runDocker(['-H', fake.host, 'run', 'busybox', 'nope']);
      const b = await runBerth(['-H', fake.host, 'run', 'busybox', 'nope']);
      assert.equal(d.code, code);
      assert.equal(b.code, code, b.stderr);
      assert.equal(b.stderr, d.stderr.replace(/^time=.*\n/gm, '').replace(/docker/g, 'berth'));
    });
  }

  for (const cmd of [['ps'], ['stop'], ['kill'], ['rm'], ['logs'], ['exec'], ['images'], ['image', 'ls'], ['container', 'ls'], ['wait'], ['pull'], ['stats'], ['top'], ['export']]) {
    it(`${cmd.join(' ')} --help`, async () => {
      const d = await runDocker([...cmd, '--help']);
      const b = await runBerth([...cmd, '--help']);
      assert.equal(b.code, 0);
      const norm = (s: string) => s.replace(/(?<!docs\.)docker/g, 'berth').replace(/Docker/g, 'Berth');
      assert.equal(b.stdout, norm(d.stdout));
    });
  }
});
