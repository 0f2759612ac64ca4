// berth's process entry: run the CLI on process.argv with the real streams and exit with its status.
import { main } from './cli.js';

export { main };

/** Entry for bin/berth.cjs. */
export async function runMain(argv: string[]): Promise<number> {
  // A reader that went away (`berth export c | tar t | head`): end quietly as docker does (SIGPIPE), no stack.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(141);
    throw e;
  });
  try {
    return await main(argv, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });
  } catch (e) {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}
