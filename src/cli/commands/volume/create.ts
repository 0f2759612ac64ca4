// `berth volume create`: POST /volumes/create; prints the volume's name.
import type { Command } from '../../command.js';

/** `k=v` or `k` (docker's MapOpts and ConvertKVStringsToMap). */
export function kvMap(items: readonly string[], what: string): Record<string, string> | undefined {
  if (!items.length) return undefined;
  const out: Record<string, string> = {};
  for (const it of items) {
    const i = it.indexOf('=');
    const k = (i < 0 ? it : it.slice(0, i)).trim();
    if (what === 'label' && !k) throw new Error(`invalid label '${it}': empty name`);
    out[k] = i < 0 ? '' : it.slice(i + 1);
  }
  return out;
}

export const command: Command = {
  name: 'create',
  use: '[OPTIONS] [VOLUME]',
  short: 'Create a volume',
  args: { max: 1 },
  flags(fs) {
    fs.string('driver', 'd', 'Specify volume driver name', 'local');
    fs.list('label', undefined, 'Set metadata for a volume');
    fs.add({ name: 'name', kind: 'value', usage: 'Specify volume name', hidden: true });
    fs.list('opt', 'o', 'Set driver specific options', 'map');
  },
  async run(cli, flags, args) {
    let name = flags.str('name') ?? '';
    if (args[0]) {
      if (name) throw new Error('conflicting options: cannot specify a volume-name through both --name and as a positional arg');
      name = args[0];
    }
    const client = await cli.client();
    const labels = kvMap(flags.list('label'), 'label');
    const opts = kvMap(flags.list('opt'), 'opt');
    const v = await client.json<{ Name: string }>('POST', '/volumes/create', {
      body: { Driver: flags.str('driver') || 'local', ...(opts ? { DriverOpts: opts } : {}), ...(labels ? { Labels: labels } : {}), ...(name ? { Name: name } : {}) },
    });
    cli.out(`${v.Name}\n`);
  },
};
