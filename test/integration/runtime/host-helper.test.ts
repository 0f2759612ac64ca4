// berth-helper (native/helper) itself: spawn, and its life as the daemon's child (respawn, no hold on the event loop).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { HostHelper, helperBinaryPath, hostHelper } from '../../../src/common/host-helper.js';
import { waitFor } from '../../fixtures/process.js';
import { repoRoot, tempDir } from '../../fixtures/rootfs.js';

const skip = process.getuid?.() !== 0 ? 'needs root (mounts)' : helperBinaryPath() ? undefined : 'berth-helper is not built (make -C native)';

function isMounted(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);
}

test('spawn: exit status, signal, stdout and stderr in order, a new session, only PATH, stdin /dev/null', { skip }, async () => {
  const h = hostHelper()!;
  const r = await h.spawn('/bin/sh', ['-c', 'echo "out 1"; echo "err 2" >&2; echo "sid=$(cut -d" " -f6 /proc/self/stat) pid=$$"; env | sort; read x || echo eof; exit 3']);
  assert.equal(r.code, 3);
  assert.equal(r.signal, null);
  const lines = r.output.trim().split('\n');
  assert.deepEqual(lines.slice(0, 2), ['out 1', 'err 2']);
  const m = /^sid=(\d+) pid=(\d+)$/.exec(lines[2]!);
  assert.ok(m && m[1] === m[2], `its own session: ${lines[2]}`);
  assert.deepEqual(lines.slice(3).filter((l) => !l.startsWith('PWD=') && !l.startsWith('SHLVL=')), ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'eof']);
  const k = await h.spawn('/bin/sh', ['-c', 'kill -TERM $$']);
  assert.deepEqual([k.code, k.signal], [null, 15]);
  const missing = await h.spawn('/nonexistent/berth', []);
  assert.equal(missing.code, 127);
  assert.match(missing.output, /exec failed, errno 2/);
});

test('spawn waits for the output pipe, not only for the first process (a daemonizing child)', { skip }, async () => {
  const r = await hostHelper()!.spawn('/bin/sh', ['-c', '(sleep 0.3; echo late) & echo early']);
  assert.equal(r.code, 0);
  assert.deepEqual(r.output.trim().split('\n'), ['early', 'late']);
});

test('spawn-sealed: fd 3 is a sealed copy of the file, one copy while the file is unchanged', { skip }, async (t) => {
  const tmp = tempDir('berth-helper-');
  t.after(() => tmp.cleanup());
  const file = join(tmp.path, 'payload');
  copyFileSync('/bin/true', file);
  const h = hostHelper()!;
  // What fd 3 is: its link target, its inode, and that writing to it fails (F_SEAL_WRITE).
  const probe = async () => {
    const r = await h.spawn('/bin/sh', ['-c', 'readlink /proc/self/fd/3; stat -L -c %i /proc/self/fd/3; cmp -s /proc/self/fd/3 "$0" && echo same; (echo x >> /proc/self/fd/3) 2>/dev/null || echo sealed', file], { sealedFd3: file });
    assert.equal(r.code, 0, r.output);
    return r.output.trim().split('\n');
  };
  const a = await probe();
  const b = await probe();
  assert.match(a[0]!, /^\/memfd:berth-init \(deleted\)$/);
  assert.deepEqual(a.slice(2), ['same', 'sealed']);
  assert.equal(b[1], a[1], 'the same copy for the second start');
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  const c = await probe();
  assert.notEqual(c[1], a[1], 'a new copy once the file changed');
  await assert.rejects(h.spawn('/bin/true', [], { sealedFd3: join(tmp.path, 'missing') }), /sealed copy of `.*missing`: No such file or directory/);
});

test('the helper comes back after it died, and a process using it still exits on its own', { skip }, async (t) => {
  const tmp = tempDir('berth-helper-');
  t.after(() => {
    if (isMounted(target)) spawnSync('umount', ['-l', target]);
    tmp.cleanup();
  });
  const h = new HostHelper(helperBinaryPath()!);
  const target = join(tmp.path, 't');
  mkdirSync(target);
  await h.mount('tmpfs', target, 'tmpfs', 0, 'size=1m');
  const first = h.pid!;
  process.kill(first, 'SIGKILL');
  // Once Node has seen the helper's exit (it drops the child), the next request starts a new helper.
  await waitFor(() => h.pid !== first, 10_000, 'the killed helper\'s exit');
  await h.umount(target);
  assert.notEqual(h.pid, first);
  assert.ok(!isMounted(target));
  // An idle helper holds no reference on the event loop: this script ends without an explicit exit.
  const script = `import { hostHelper } from ${JSON.stringify(join(repoRoot, 'dist/src/common/host-helper.js'))};
    await hostHelper().mount('tmpfs', ${JSON.stringify(target)}, 'tmpfs', 0, 'size=1m');
    await hostHelper().umount(${JSON.stringify(target)});
    console.log('done');`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.stdout.trim(), 'done', r.stderr);
  assert.equal(r.status, 0);
});
