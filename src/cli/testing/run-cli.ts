// Test helpers: run berth in-process with captured streams, and the real docker CLI against the same fake daemon.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { main } from '../cli.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function sink(): Writable & { text: () => string } {
  const chunks: Buffer[] = [];
  const w = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(Buffer.from(c));
      cb();
    },
  }) as Writable & { text: () => string };
  w.text = () => Buffer.concat(chunks).toString();
  return w;
}

/** A DOCKER_CONFIG dir of its own, so neither CLI reads the real ~/.docker. */
export const TEST_CONFIG_DIR = mkdtempSync(join(tmpdir(), 'berth-cli-config-'));
// One per test process; gone with it.
process.once('exit', () => rmSync(TEST_CONFIG_DIR, { recursive: true, force: true }));

/** Run berth's main() in this process with stdin `input` (not a tty) and BERTH_NO_AUTOSTART=1. */
export async function runBerth(args: string[], opts: { env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  const stdin = new PassThrough();
  stdin.end(opts.input ?? '');
  const stdout = sink();
  const stderr = sink();
  const env = { PATH: process.env['PATH'], HOME: TEST_CONFIG_DIR, DOCKER_CONFIG: TEST_CONFIG_DIR, BERTH_NO_AUTOSTART: '1', TZ: 'UTC', ...opts.env };
  const code = await main(args, { stdin, stdout, stderr, env });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/**
 * The reference docker CLI: $BERTH_TEST_DOCKER, else the first installed of /usr/local/bin/docker (docker 28 here)
 * and /usr/bin/docker (Debian's may be an older 20.10, whose create bodies differ).
 */
export const DOCKER = [process.env['BERTH_TEST_DOCKER'], '/usr/local/bin/docker', '/usr/bin/docker'].find((p): p is string => !!p && existsSync(p));

/** Run the docker CLI (asynchronously: the fake daemon lives in this process) with a temp config dir; `input` becomes its stdin. */
export async function runDocker(args: string[], opts: { env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(DOCKER!, args, {
      env: { PATH: process.env['PATH'], HOME: TEST_CONFIG_DIR, DOCKER_CONFIG: TEST_CONFIG_DIR, TZ: 'UTC', ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, stdout: out, stderr: err }));
  });
}

/** The docker CLI's version, or undefined without one (for skip reasons). */
export function dockerVersion(): string | undefined {
  if (!DOCKER) return undefined;
  const r = spawnSync(DOCKER, ['--version'], { encoding: 'utf8', env: { DOCKER_CONFIG: TEST_CONFIG_DIR, PATH: process.env['PATH'] } });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
