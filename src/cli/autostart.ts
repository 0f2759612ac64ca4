// Starts berthd in the background when nothing answers on the default socket (BERTH_NO_AUTOSTART=1 turns it off).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BERTHD_NODE_FLAGS, berthdEnv } from '../common/daemon-flags.js';
import { BerthError } from '../common/errors.js';
import type { Io } from './command.js';

/** True when an HTTP server answers GET /_ping on the unix socket within `ms`. */
export function pingSocket(path: string, ms = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath: path, path: '/_ping', method: 'GET', timeout: ms }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 500);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** The package's bin/berthd (or $BERTH_DAEMON), found from this module's location. */
export function findBerthd(env: Record<string, string | undefined>): string | undefined {
  if (env['BERTH_DAEMON']) return env['BERTH_DAEMON'];
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'berth') {
          for (const name of ['berthd', 'berthd.cjs', 'berthd.js']) {
            const p = join(dir, 'bin', name);
            if (existsSync(p)) return p;
          }
          return undefined;
        }
      } catch {
        // not ours; keep looking up
      }
    }
    dir = dirname(dir);
  }
  return undefined;
}

/**
 * berthd's command line: the exec/data roots from BERTH_EXEC_ROOT/BERTH_DATA_ROOT, its daemon.json from
 * BERTH_CONFIG_FILE (the rest of its settings: bridge, cgroup parent...), and always -H (berthd's own
 * default socket is /run/berth/berth.sock whatever its exec root).
 */
export function berthdArgs(host: string, env: Record<string, string | undefined>): string[] {
  const args: string[] = [];
  if (env['BERTH_EXEC_ROOT']) args.push('--exec-root', env['BERTH_EXEC_ROOT']);
  if (env['BERTH_DATA_ROOT']) args.push('--data-root', env['BERTH_DATA_ROOT']);
  if (env['BERTH_CONFIG_FILE']) args.push('--config-file', env['BERTH_CONFIG_FILE']);
  args.push('-H', host);
  return args;
}

function logPath(env: Record<string, string | undefined>): string {
  const execRoot = env['BERTH_EXEC_ROOT'];
  if (!execRoot) {
    try {
      mkdirSync('/var/log/berth', { recursive: true });
      return '/var/log/berth/berthd.log';
    } catch {
      // not root: fall back to the exec root
    }
  }
  const dir = execRoot || '/run/berth';
  mkdirSync(dir, { recursive: true });
  return join(dir, 'berthd.log');
}

/**
 * Make sure a daemon answers on `host` (a unix socket): if not, start berthd detached with its
 * output in a log file, say so on stderr, and wait up to `timeoutMs` for the socket. When no
 * berthd is installed, return and let the request fail with the usual "Cannot connect".
 */
export async function ensureDaemon(host: string, io: Io, timeoutMs = 10_000): Promise<void> {
  if (!host.startsWith('unix://')) return;
  const socket = host.slice('unix://'.length);
  if (existsSync(socket) && (await pingSocket(socket))) return;
  const bin = findBerthd(io.env);
  if (!bin) return;
  const log = logPath(io.env);
  const fd = openSync(log, 'a');
  let exited: number | null | undefined;
  try {
    // A script runs under this node (PATH may not have one when started from a service).
    const [cmd, args] = /\.(c|m)?js$/.test(bin) ? [process.execPath, [...BERTHD_NODE_FLAGS, bin, ...berthdArgs(host, io.env)]] : [bin, berthdArgs(host, io.env)];
    const child = spawn(cmd, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...berthdEnv(), ...io.env } as NodeJS.ProcessEnv,
    });
    child.once('exit', (code, sig) => {
      exited = code ?? (sig ? 128 : 1);
    });
    child.once('error', () => {
      exited = 127;
    });
    child.unref();
  } finally {
    closeSync(fd);
  }
  io.stderr.write(`Starting berthd (log: ${log})\n`);
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (exited !== undefined) throw new BerthError('unavailable', `berthd exited with status ${exited} before serving ${host} (see ${log})`);
    if (existsSync(socket) && (await pingSocket(socket, 500))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new BerthError('unavailable', `berthd did not answer on ${host} within ${timeoutMs / 1000}s (see ${log})`);
}
