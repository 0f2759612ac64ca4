// berth pull's progress display on a recorded pull stream, byte for byte against the docker CLI on the same stream
// (served by testing/fake-daemon.ts): plain lines when not a terminal, lines redrawn in place on one (under script(1)).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { startFakeDaemon, type FakeDaemon } from '../../testing/fake-daemon.js';
import { DOCKER, dockerVersion, runBerth, runDocker, TEST_CONFIG_DIR } from '../../testing/run-cli.js';
import { displayProgress, progressBar } from './pull.js';

const A = 'a1b2c3d4e5f6';
const B = 'b1b2c3d4e5f6';
const DIGEST = `sha256:${'7'.repeat(64)}`;
/** A two-layer pull as dockerd streams it (progress.Message lines have no progressDetail, progress.Update lines an empty one). */
const PULL = [
  { status: 'Pulling from library/busybox', id: '1.36' },
  { status: 'Pulling fs layer', progressDetail: {}, id: A },
  { status: 'Pulling fs layer', progressDetail: {}, id: B },
  { status: 'Waiting', progressDetail: {}, id: B },
  { status: 'Downloading', progressDetail: { current: 1024, total: 2_200_000 }, progress: '[>    ]  1.024kB/2.2MB', id: A },
  { status: 'Downloading', progressDetail: { current: 1_500_000, total: 2_200_000 }, progress: '[==>  ]  1.5MB/2.2MB', id: A },
  { status: 'Verifying Checksum', progressDetail: {}, id: A },
  { status: 'Download complete', progressDetail: {}, id: A },
  { status: 'Downloading', progressDetail: { current: 300, total: 300 }, progress: '[=====>]  300B/300B', id: B },
  { status: 'Download complete', progressDetail: {}, id: B },
  { status: 'Extracting', progressDetail: { current: 65_536, total: 2_200_000 }, progress: '[>    ]  65.54kB/2.2MB', id: A },
  { status: 'Extracting', progressDetail: { current: 2_200_000, total: 2_200_000 }, progress: '[=====>]  2.2MB/2.2MB', id: A },
  { status: 'Pull complete', progressDetail: {}, id: A },
  { status: 'Extracting', progressDetail: { current: 300, total: 300 }, progress: '[=====>]  300B/300B', id: B },
  { status: 'Pull complete', progressDetail: {}, id: B },
  { status: `Digest: ${DIGEST}` },
  { status: 'Status: Downloaded newer image for busybox:1.36' },
];

async function* stream(msgs: unknown[]): AsyncGenerator<unknown> {
  yield* msgs;
}

/** A terminal-like sink `columns` wide. */
function tty(columns: number): Writable & { isTTY: true; columns: number; text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({ write(c: Buffer, _e, cb) { chunks.push(c.toString()); cb(); } });
  return Object.assign(w, { isTTY: true as const, columns, text: () => chunks.join('') });
}

describe('progressBar: docker\'s JSONProgress.String', () => {
  it('draws the bar on a wide terminal, numbers only on a narrow one', () => {
    assert.equal(progressBar(1_500_000, 2_200_000, 150), `[${'='.repeat(34)}>${' '.repeat(16)}]    1.5MB/2.2MB`);
    assert.equal(progressBar(1_500_000, 2_200_000, 80), '   1.5MB/2.2MB');
    assert.equal(progressBar(0, 2_200_000, 150), `[>${' '.repeat(50)}]       0B/2.2MB`);
    assert.equal(progressBar(300, 300, 150), `[${'='.repeat(50)}>]     300B/300B`);
  });
  it('drops the total when current passes it, and prints nothing without counts', () => {
    assert.equal(progressBar(5000, 300, 150), `[${'='.repeat(50)}>]      5kB`);
    assert.equal(progressBar(0, 0), '');
    assert.equal(progressBar(4096, 0), ' 4.096kB');
  });
});

describe('displayProgress', () => {
  it('not a terminal: one line per status, byte counts skipped', async () => {
    const out = new Writable({ write(_c, _e, cb) { cb(); } }) as Writable & { isTTY?: boolean };
    const lines: string[] = [];
    out.write = ((c: string) => { lines.push(c); return true; }) as typeof out.write;
    await displayProgress(stream(PULL), out);
    assert.equal(lines.join(''), [
      '1.36: Pulling from library/busybox', `${A}: Pulling fs layer`, `${B}: Pulling fs layer`, `${B}: Waiting`,
      `${A}: Verifying Checksum`, `${A}: Download complete`, `${B}: Download complete`, `${A}: Pull complete`, `${B}: Pull complete`,
      `Digest: ${DIGEST}`, 'Status: Downloaded newer image for busybox:1.36', '',
    ].join('\n'));
  });
  it('a terminal: each layer keeps its line, redrawn with ESC[nA, ESC[2K and ESC[nB', async () => {
    const out = tty(150);
    await displayProgress(stream(PULL.slice(0, 6)), out);
    assert.equal(out.text(), [
      '1.36: Pulling from library/busybox\n',
      `\n\x1b[1A\x1b[2K\r${A}: Pulling fs layer \r\x1b[1B`,
      `\n\x1b[1A\x1b[2K\r${B}: Pulling fs layer \r\x1b[1B`,
      `\x1b[1A\x1b[2K\r${B}: Waiting \r\x1b[1B`,
      `\x1b[2A\x1b[2K\r${A}: Downloading [>${' '.repeat(50)}]  1.024kB/2.2MB\r\x1b[2B`,
      `\x1b[2A\x1b[2K\r${A}: Downloading [${'='.repeat(34)}>${' '.repeat(16)}]    1.5MB/2.2MB\r\x1b[2B`,
    ].join(''));
  });
  it('an error in the stream is thrown with its message', async () => {
    await assert.rejects(displayProgress(stream([{ status: 'Pulling fs layer', progressDetail: {}, id: A }, { errorDetail: { message: 'unexpected EOF' }, error: 'unexpected EOF' }]), tty(150)), /^Error: unexpected EOF$/);
  });
});

const skip = dockerVersion() ? (spawnSync('sh', ['-c', 'command -v script']).status === 0 ? false : 'needs script(1)') : 'the docker CLI is not installed';

describe('berth pull prints what docker pull prints for the same stream', { skip }, () => {
  let fake: FakeDaemon;
  before(async () => {
    fake = await startFakeDaemon((r) => (r.method === 'POST' && r.path === '/images/create' ? { lines: PULL, headers: { 'Content-Type': 'application/json' } } : undefined));
  });
  after(async () => fake?.close());

  it('not a terminal', async () => {
    const d = await runDocker(['-H', fake.host, 'pull', 'busybox:1.36']);
    const b = await runBerth(['-H', fake.host, 'pull', 'busybox:1.36']);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stdout, d.stdout);
    assert.match(b.stdout, /\nStatus: Downloaded newer image for busybox:1\.36\ndocker\.io\/library\/busybox:1\.36\n$/);
  });

  it('a terminal 150 columns wide', async () => {
    // docker in a pty (script), whose line discipline turns each \n into \r\n: undone before comparing.
    const env = { PATH: process.env['PATH'], HOME: TEST_CONFIG_DIR, DOCKER_CONFIG: TEST_CONFIG_DIR, TZ: 'UTC' };
    // Asynchronously: the fake daemon answers from this process.
    const child = spawn('script', ['-qfec', `stty cols 150 rows 50; ${DOCKER} -H ${fake.host} pull busybox:1.36`, '/dev/null'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const status = await new Promise((r) => child.once('close', r));
    const r = { status, stdout };
    assert.equal(r.status, 0, r.stdout);
    const want = r.stdout.replace(/\r\n/g, '\n');
    const out = tty(150);
    await displayProgress(stream(PULL), out);
    assert.equal(`${out.text()}docker.io/library/busybox:1.36\n`, want);
  });
});
