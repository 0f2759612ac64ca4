// `berth load`: POST /images/load with a tar from -i or stdin; prints "Loaded image: ..." lines.
import { createReadStream, existsSync } from 'node:fs';
import type { Command } from '../../command.js';
import { displayProgress } from './pull.js';

export const command: Command = {
  name: 'load',
  use: '[OPTIONS]',
  short: 'Load an image from a tar archive or STDIN',
  args: { max: 0 },
  flags(fs) {
    fs.string('input', 'i', 'Read from tar archive file, instead of STDIN');
    fs.string('platform', undefined, 'Load only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")');
    fs.bool('quiet', 'q', 'Suppress the load output');
  },
  async run(cli, flags) {
    const input = flags.str('input');
    if (!input && cli.io.stdin.isTTY) throw new Error('requested load from stdin, but stdin is empty');
    if (input && !existsSync(input)) throw new Error(`open ${input}: no such file or directory`);
    const client = await cli.client();
    const quiet = flags.bool('quiet') || !cli.io.stdout.isTTY;
    const stream = client.ndjson('POST', '/images/load', {
      query: { quiet: quiet || undefined, platform: flags.str('platform') || undefined },
      raw: input ? createReadStream(input) : cli.io.stdin,
      contentType: 'application/x-tar',
    });
    await displayProgress(stream, cli.io.stdout);
  },
};
