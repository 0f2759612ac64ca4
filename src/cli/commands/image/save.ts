// `berth save`: GET /images/get?names=... to a file (-o) or stdout (refused on a terminal).
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Command } from '../../command.js';
import { pipeTo } from '../util.js';

export const command: Command = {
  name: 'save',
  use: '[OPTIONS] IMAGE [IMAGE...]',
  short: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  args: { min: 1 },
  flags(fs) {
    fs.string('output', 'o', 'Write to a file, instead of STDOUT');
    fs.string('platform', undefined, 'Save only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")');
  },
  async run(cli, flags, args) {
    const out = flags.str('output');
    if (!out && cli.io.stdout.isTTY) throw new Error('cowardly refusing to save to a terminal. Use the -o flag or redirect');
    const client = await cli.client();
    const res = await client.request('GET', '/images/get', { query: { names: args, platform: flags.str('platform') || undefined } });
    if (out) await pipeline(res.body, createWriteStream(out));
    else await pipeTo(res.body, cli.io.stdout);
  },
};
