// The lifecycle on a long state dir, a long namespace and a 64-hex id: the task sockets live in `<stateDir>/s/` under short names (task-sockets.ts), so a pty task, a pty exec and a reattach work where the task dir alone is longer than a unix socket path.
//
// Safety: temp data root and state dir; every cgroup under `berth-lcl-<random>/` below the test
// process's own cgroup, removed in `after` even on failure; only processes this test started
// (the container, its execs and its shim) are signalled, by pid.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { makeBundle, nativeBuild, rootSkipReason, tempDir } from '../../fixtures/rootfs.js';
import { baseConfig } from '../../conformance/runc-cli.js';
import { Lifecycle } from '../../../src/lifecycle/lifecycle.js';
import { MAX_STATE_DIR, SUN_PATH_MAX, taskSockets } from '../../../src/lifecycle/task-sockets.js';
import { errorCode } from '../../../src/common/errors.js';
import type { Spec } from '../../../src/runtime/spec/types.js';
import { cleanupLifecycle } from '../../fixtures/lifecycle-cleanup.js';

const shimBinary = join(nativeBuild, 'berth-shim');
const skip = rootSkipReason() ?? (existsSync(shimBinary) ? undefined : 'needs native/build/berth-shim (make -C native)');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, f: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Collect a raw (pty) stream's bytes. */
function collect(sock: Socket): { out: () => string; done: Promise<void> } {
  const o: Buffer[] = [];
  const done = new Promise<void>((r) => { sock.on('data', (b: Buffer) => o.push(b)); sock.on('close', () => r()); sock.on('end', () => r()); });
  sock.resume();
  return { out: () => Buffer.concat(o).toString(), done };
}

describe('lifecycle on a long state dir (sockets under <stateDir>/s)', { skip }, () => {
  let tmp: { path: string; cleanup: () => void };
  let rootfs: string;
  let dataRoot: string;
  let stateDir: string;
  const namespace = 'a-namespace-with-a-rather-long-name';
  const id = randomBytes(32).toString('hex');
  const cgParent = `berth-lcl-${randomBytes(4).toString('hex')}`;
  const pidsToKill = new Set<number>();

  before(() => {
    tmp = tempDir('blcl-');
    rootfs = join(makeBundle(join(tmp.path, 'b')), 'rootfs');
    dataRoot = join(tmp.path, 'd');
    // 60 bytes: near the limit (65), and far past what sockets in the task dir allowed (17).
    stateDir = join(tmp.path, 's'.repeat(60 - tmp.path.length - 1));
    assert.equal(Buffer.byteLength(stateDir), 60);
  });

  after(async () => {
    await cleanupLifecycle({ dataRoot, stateDir, namespace, shimBinary, pidsToKill, cgParent, tmp });
  });

  const openLc = () => Lifecycle.open({ dataRoot, stateDir, namespace, shimBinary });

  it('a pty task, a pty exec, then a reattach by a new Lifecycle; the sockets are gone after delete', async () => {
    const dir = join(stateDir, namespace, id);
    const sockets = taskSockets(dir);
    assert.ok(Buffer.byteLength(join(dir, 'shim.sock')) > SUN_PATH_MAX, 'the task dir alone is too long for a socket');

    let lc = await openLc();
    try {
      await lc.createContainer({ id, spec: baseConfig(['sh'], `${cgParent}/${id}`) as unknown as Spec, rootfs });
      const t = await lc.newTask(id, { terminal: true, stdin: true });
      pidsToKill.add(t.pid).add(t.shimPid);
      assert.equal(t.dir, dir);
      assert.deepEqual(readdirSync(join(stateDir, 's')), [sockets.control.split('/').pop()], 'the control socket; the console socket was transient');
      assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.sock')), [], 'no socket in the task dir');

      const sock = await lc.attach(id, { stdin: true, stdout: true });
      const c = collect(sock);
      await lc.start(id);
      await lc.resize(id, 31, 97);
      sock.write('stty size; echo main-$((40+2))\n');
      await until('the container answered on its pty', () => /31 97\r\n/.test(c.out()) && /main-42\r\n/.test(c.out()));

      const proc = { user: { uid: 0, gid: 0 }, cwd: '/', env: ['PATH=/bin'], args: ['sh', '-c', 'tty; stty size; echo exec-pty'] };
      const ex = await lc.exec(id, randomBytes(32).toString('hex'), proc, { terminal: true });
      const ec = collect(ex.stream);
      await ec.done;
      assert.match(ec.out(), /\/dev\/pts\/\d+\r\n/);
      assert.match(ec.out(), /exec-pty\r\n/);
      assert.deepEqual(readdirSync(join(stateDir, 's')), [sockets.control.split('/').pop()], 'the exec console socket was transient');
      sock.destroy();
    } finally {
      lc.close();
    }

    // A new owner derives the socket from the task row's dir: the task is still running.
    lc = await openLc();
    try {
      const t = lc.task(id);
      assert.equal(t.status, 'running');
      assert.equal(t.exitCode, null);
      const sock = await lc.attach(id, { stdin: true, stdout: true });
      const c = collect(sock);
      const ex = await lc.exec(id, 'after-reopen', { user: { uid: 0, gid: 0 }, cwd: '/', env: ['PATH=/bin'], args: ['sh', '-c', 'echo again-pty'] }, { terminal: true });
      const ec = collect(ex.stream);
      assert.equal((await lc.waitExec(id, 'after-reopen')).exitCode, 0);
      await ec.done;
      assert.match(ec.out(), /again-pty\r\n/);
      sock.write('exit 3\n');
      const exit = await lc.wait(id);
      assert.equal(exit.exitCode, 3);
      await c.done;
      await lc.deleteTask(id);
      await lc.deleteContainer(id);
      assert.equal(existsSync(dir), false);
      assert.deepEqual(readdirSync(join(stateDir, 's')), [], 'no socket left');
    } finally {
      lc.close();
    }
  });

  it('a state dir past the limit is refused at open, naming the limit, before anything is made', async () => {
    const tooLong = join(tmp.path, 'x'.repeat(MAX_STATE_DIR + 1 - tmp.path.length - 1));
    const data2 = join(tmp.path, 'd2');
    await assert.rejects(Lifecycle.open({ dataRoot: data2, stateDir: tooLong, shimBinary }), (e: Error) =>
      errorCode(e) === 'invalid-argument' && e.message.includes(`at most ${MAX_STATE_DIR}`));
    assert.equal(existsSync(data2), false);
    assert.equal(existsSync(tooLong), false);
  });
});
