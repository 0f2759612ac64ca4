// `berth export`: GET /containers/{id}/export to a file (-o) or stdout (refused on a terminal, as docker does).
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Command } from '../../command.js';
import { pipeTo } from '../util.js';

export const command: Command = {
  name: 'export',
  use: '[OPTIONS] CONTAINER',
  short: "Export a container's filesystem as a tar archive",
  args: { min: 1, max: 1 },
  flags(fs) {
    fs.string('output', 'o', 'Write to a file, instead of STDOUT');
  },
  async run(cli, flags, args) {
    const out = flags.str('output');
    if (!out && cli.io.stdout.isTTY) throw new Error('cowardly refusing to save to a terminal. Use the -o flag or redirect');
    const client = await cli.client();
    const res = await client.request('GET', `/containers/${encodeURIComponent(args[0]!)}/export`);
    if (out) await pipeline(res.body, createWriteStream(out));
    else await pipeTo(res.body, cli.io.stdout);
  },
};
