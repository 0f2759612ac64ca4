// Seccomp on real containers through the docker CLI (and berth's): a profile file given with --security-opt, the
// default profile refusing what Docker's refuses, and seccomp=unconfined lifting it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { berthdSkipReason, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { runBerth } from '../fixtures/berth-cli.js';
import { buildDockerSaveTar } from '../fixtures/image.js';
import { repoRoot } from '../fixtures/rootfs.js';

const skip = berthdSkipReason() ?? (existsSync(join(repoRoot, 'dist', 'berth.cjs')) ? undefined : 'the berth bundle is not built (npm run build)');
const RUN = ['run', '--rm', '--network', 'none'];

let d: Berthd;
let tmp: string;
let profile: string;

const run = (args: string[]) => {
  const r = d.docker([...RUN, ...args]);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('seccomp on real containers', { skip }, () => {
  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'berth-seccomp-'));
    d = await startBerthd({ prefix: 'berth-seccomp-' });
    assert.equal(d.docker(['load', '-i', buildDockerSaveTar(tmp, 'busybox:latest')]).status, 0);
    // Everything allowed but mkdir (SCMP_ACT_ERRNO without errnoRet: EPERM, as runc) and rmdir (its own errno, ENOSPC).
    profile = join(tmp, 'no-mkdir.json');
    writeFileSync(profile, JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' },
        { names: ['rmdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 28 },
      ],
    }, null, 2));
  });
  after(async () => {
    await d?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('--security-opt seccomp=<file>: mkdir fails with EPERM inside, rmdir with the profile\'s errno, the rest runs', async () => {
    const script = 'touch /made && echo touched; mkdir /x; rmdir /etc; ls -d /x';
    const r = run(['--security-opt', `seccomp=${profile}`, 'busybox', 'sh', '-c', script]);
    assert.deepEqual(r, {
      code: 1,
      stdout: 'touched\n',
      stderr: "mkdir: can't create directory '/x': Operation not permitted\nrmdir: '/etc': No space left on device\nls: /x: No such file or directory\n",
    });
    // Without the profile the same calls reach the kernel: mkdir works, rmdir of a full /etc says so.
    const plain = run(['busybox', 'sh', '-c', script]);
    assert.deepEqual(plain, { code: 0, stdout: 'touched\n/x\n', stderr: "rmdir: '/etc': Directory not empty\n" });
    // berth's CLI inlines the file the same way.
    const b = await runBerth(['-H', d.host, ...RUN, '--security-opt', `seccomp=${profile}`, 'busybox', 'mkdir', '/x'], { env: { HOME: tmp, DOCKER_CONFIG: join(tmp, 'config'), BERTH_NO_AUTOSTART: '1' } });
    assert.deepEqual([b.code, b.stderr], [1, "mkdir: can't create directory '/x': Operation not permitted\n"]);
  });

  test('the default profile refuses unshare(CLONE_NEWUSER) as Docker\'s does; seccomp=unconfined allows it', () => {
    const confined = run(['busybox', 'busybox', 'unshare', '-U', '-r', 'id', '-u']);
    assert.deepEqual(confined, { code: 1, stdout: '', stderr: 'unshare: unshare(0x10000000): Operation not permitted\n' });
    const unconfined = run(['--security-opt', 'seccomp=unconfined', 'busybox', 'busybox', 'unshare', '-U', '-r', 'id', '-u']);
    assert.deepEqual(unconfined, { code: 0, stdout: '0\n', stderr: '' });
    assert.equal(d.docker(['run', '--rm', '--network', 'none', 'busybox', 'grep', '^Seccomp:', '/proc/self/status']).stdout, 'Seccomp:\t2\n');
    assert.equal(d.docker([...RUN, '--security-opt', 'seccomp=unconfined', 'busybox', 'grep', '^Seccomp:', '/proc/self/status']).stdout, 'Seccomp:\t0\n');
  });
});
