// berth-runc spec: write a starter config.json into the bundle, as `runc spec` does.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errAlreadyExists } from '../../common/errors.js';
import { defaultSpec } from '../spec/defaults.js';
import type { Command } from './command.js';

export const command: Command = {
  name: 'spec',
  argsUsage: '',
  flags: [
    { name: 'bundle', alias: 'b', type: 'string', usage: 'path to the root of the bundle directory', default: '.' },
    { name: 'rootless', type: 'bool', usage: 'generate a configuration for a rootless container' },
  ],
  args: 0,
  async run(ctx) {
    const file = join(ctx.flags.bundle as string, 'config.json');
    if (existsSync(file)) throw errAlreadyExists('File config.json exists. Remove it first');
    writeFileSync(file, JSON.stringify(defaultSpec({ rootless: !!ctx.flags.rootless }), null, '\t'), { mode: 0o666 });
  },
};
