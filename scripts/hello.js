#!/usr/bin/env node
// The quick start's main job: build a tiny bundle from busybox-static and run it with berth-runc.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultSpec } from '../dist/src/runtime/spec/defaults.js';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const work = mkdtempSync(join(tmpdir(), 'berth-hello-'));
try {
  const rootfs = join(work, 'bundle', 'rootfs');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp', 'etc']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  symlinkSync('busybox', join(rootfs, 'bin', 'sh'));
  const spec = defaultSpec();
  spec.process.terminal = false;
  spec.process.args = ['/bin/sh', '-c', 'echo "Hello from Berth! I am $(busybox id -u) in $(busybox hostname), pid $$ of my own namespace."'];
  writeFileSync(join(work, 'bundle', 'config.json'), JSON.stringify(spec, null, 2));
  execFileSync(process.execPath, [join(repo, 'bin', 'berth-runc.cjs'), '--root', join(work, 'state'), 'run', '-b', join(work, 'bundle'), 'hello'], { stdio: 'inherit' });
} finally {
  rmSync(work, { recursive: true, force: true });
}
