// docker's yes/no prompt (internal/prompt.Confirm) for prune and similar commands: `... [y/N] `, one line from stdin.
import type { Cli } from './context.js';

/**
 * Print `message [y/N] ` on stdout and read one line from stdin; true only for `y` or `Y`
 * (spaces trimmed). End of input without an answer is a no, as in docker.
 */
export function confirm(cli: Cli, message = 'Are you sure you want to proceed?'): Promise<boolean> {
  cli.out(`${message} [y/N] `);
  const stdin = cli.io.stdin;
  return new Promise((resolve) => {
    let line = '';
    const finish = (answer: boolean) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onEnd);
      stdin.pause();
      // A paused pipe or tty still holds the event loop open; let the CLI exit once it is done.
      (stdin as { unref?: () => void }).unref?.();
      resolve(answer);
    };
    const onData = (c: Buffer | string) => {
      line += c.toString();
      const nl = line.indexOf('\n');
      if (nl >= 0) finish(isYes(line.slice(0, nl)));
    };
    const onEnd = () => finish(line !== '' && isYes(line));
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', onEnd);
    stdin.resume();
  });
}

function isYes(s: string): boolean {
  return s.replace(/\r$/, '').trim().toLowerCase() === 'y';
}
