// Runs OCI hooks (runtime-spec config.md#posix-platform-hooks): the state JSON on stdin, with timeouts.
import { spawn } from 'node:child_process';
import { BerthError } from '../../common/errors.js';
import type { Hook, State } from '../spec/types.js';

/** Run `hooks` in order; the first failure (non-zero exit, timeout, exec error) rejects naming the hook. */
export async function runHooks(kind: string, hooks: Hook[] | undefined, state: State, wrap?: (argv: string[]) => string[]): Promise<void> {
  for (const [i, hook] of (hooks ?? []).entries()) {
    await runHook(kind, i, hook, state, wrap);
  }
}

function runHook(kind: string, index: number, hook: Hook, state: State, wrap?: (argv: string[]) => string[]): Promise<void> {
  // The spec: args[0] is argv[0]; path is what is executed. A wrapper (nsenter) may go in front.
  const argv = hook.args && hook.args.length > 0 ? hook.args : [hook.path];
  const full = wrap ? wrap([hook.path, ...argv.slice(1)]) : [hook.path, ...argv.slice(1)];
  const what = `${kind} hook #${index} (${hook.path})`;
  return new Promise((resolve, reject) => {
    const child = spawn(full[0]!, full.slice(1), {
      argv0: wrap ? undefined : argv[0],
      env: Object.fromEntries((hook.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 4096) stderr += d; });
    const timer = hook.timeout && hook.timeout > 0 ? setTimeout(() => child.kill('SIGKILL'), hook.timeout * 1000) : undefined;
    let timedOut = false;
    if (timer) timer.unref?.();
    child.on('error', (e) => { clearTimeout(timer); reject(new BerthError('failed-precondition', `${what}: ${e.message}`, { cause: e })); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL' && hook.timeout) timedOut = true;
      if (code === 0) return resolve();
      const why = timedOut ? `timed out after ${hook.timeout}s` : signal ? `killed by ${signal}` : `exit status ${code}`;
      reject(new BerthError('failed-precondition', `${what}: ${why}${stderr ? `, stderr: ${stderr.trim()}` : ''}`));
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(JSON.stringify(state));
  });
}
