// Spawns berth-init with a plan and speaks the sync-fd protocol of docs/plan.md.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duplex } from 'node:stream';
import { BerthError, errInternal } from '../../common/errors.js';

/** One message berth-init writes on the sync fd. */
export type InitMessage =
  | { type: 'pid'; pid: number }
  | { type: 'phase'; name: string; ns: number }
  | { type: 'hook'; name: string }
  | { type: 'created' }
  | { type: 'error'; step: string; path?: string; errno?: number; message: string };

/** A failure berth-init reported: which step, which path, which errno. */
export class InitError extends BerthError {
  constructor(readonly report: { step: string; path?: string; errno?: number; message: string }) {
    super(report.errno === 2 && report.step === 'exec' ? 'not-found' : report.errno === 1 || report.errno === 13 ? 'permission-denied' : 'failed-precondition', report.message);
    this.name = 'InitError';
  }
}

/** Where berth-init lives: BERTH_INIT, else native/build next to this package. */
export function initBinaryPath(): string {
  if (process.env.BERTH_INIT) return process.env.BERTH_INIT;
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++, d = dirname(d)) {
    const p = join(d, 'native', 'build', 'berth-init');
    if (existsSync(p)) return p;
  }
  throw errInternal('berth-init not found (run `npm install` to build native/, or set BERTH_INIT)');
}

export interface SpawnInitOptions {
  planFile: string;
  /** --detach: the container becomes a child of our caller's tree and berth-init exits after `created`. */
  detach: boolean;
  /** stdio for the container: fds or 'inherit'/'pipe'/'ignore' for 0, 1, 2. */
  stdio: StdioOptions;
  /** How many fds after stdio (3..) to pass through, taken from this process. */
  preserveFds?: number;
  /** Runs a hook stop (`{"type":"hook"}`): resolves when the caller may continue. */
  onHook?: (name: string, pid: number) => Promise<void>;
  /** Called for every phase message, for tracing. */
  onPhase?: (name: string, ns: number) => void;
}

export interface InitHandle {
  child: ChildProcess;
  /** The container process as the host sees it. */
  pid: number;
}

/**
 * Start berth-init and resolve once it reports `created` (the container process is set up and,
 * with an exec fifo, blocked until start). Rejects with InitError on a reported failure.
 */
export function spawnInit(opts: SpawnInitOptions): Promise<InitHandle> {
  const base = Array.isArray(opts.stdio) ? opts.stdio.slice(0, 3) : [opts.stdio, opts.stdio, opts.stdio];
  const stdio: StdioOptions = [...base];
  for (let i = 0; i < (opts.preserveFds ?? 0); i++) stdio.push(3 + i);
  const syncIndex = stdio.length;
  stdio.push('pipe');
  const args = opts.detach ? ['--detach', opts.planFile] : [opts.planFile];
  const child = spawn(initBinaryPath(), args, {
    stdio,
    env: { _BERTH_SYNC_FD: String(syncIndex), PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  const sync = child.stdio[syncIndex] as Duplex;
  return new Promise<InitHandle>((resolve, reject) => {
    let pid = 0;
    let buf = '';
    let settled = false;
    let lastError: InitError | undefined;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      sync.removeAllListeners('data');
      if (err) {
        sync.destroy();
        reject(err);
      } else {
        // The container process still holds the other end until execve (close-on-exec); stop reading.
        sync.destroy();
        resolve({ child, pid });
      }
    };
    const handle = (msg: InitMessage) => {
      switch (msg.type) {
        case 'pid':
          pid = msg.pid;
          break;
        case 'phase':
          opts.onPhase?.(msg.name, msg.ns);
          break;
        case 'hook':
          (opts.onHook ? opts.onHook(msg.name, pid) : Promise.resolve()).then(
            () => sync.write('ok\n'),
            (e) => {
              lastError = new InitError({ step: `hook ${msg.name}`, message: String((e as Error).message ?? e) });
              child.kill('SIGKILL');
              if (pid > 0) try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
              finish(lastError);
            },
          );
          break;
        case 'created':
          finish();
          break;
        case 'error':
          lastError = new InitError(msg);
          finish(lastError);
          break;
      }
    };
    sync.setEncoding('utf8');
    sync.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        try {
          handle(JSON.parse(line) as InitMessage);
        } catch {
          finish(errInternal(`berth-init: bad sync message: ${line.slice(0, 200)}`));
        }
      }
    });
    sync.on('error', () => {});
    child.on('error', (e) => finish(errInternal(`exec berth-init: ${e.message}`, e)));
    child.on('exit', (code, signal) => {
      if (!settled) finish(lastError ?? errInternal(`berth-init exited (${signal ?? code}) before the container was created`));
    });
  });
}
