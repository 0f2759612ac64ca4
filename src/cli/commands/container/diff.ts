// `berth diff` / `berth container diff`: GET /containers/{id}/changes as docker's `C /path` lines.
import type { Command } from '../../command.js';

/** The API's Kind numbers (archive.ChangeType) as docker prints them. */
const KIND = ['C', 'A', 'D'];

export const command: Command = {
  name: 'diff',
  use: 'CONTAINER',
  short: "Inspect changes to files or directories on a container's filesystem",
  args: { min: 1, max: 1 },
  async run(cli, _flags, args) {
    const client = await cli.client();
    const changes = await client.json<Array<{ Path: string; Kind: number }> | null>('GET', `/containers/${encodeURIComponent(args[0]!)}/changes`);
    cli.out((changes ?? []).map((c) => `${KIND[c.Kind] ?? ''} ${c.Path}\n`).join(''));
  },
};
