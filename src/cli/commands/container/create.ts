// `berth create`: POST /containers/create with the body docker builds from the same flags; pulls a missing image first.
import { writeFileSync, existsSync } from 'node:fs';
import { ApiError } from '../../../client/client.js';
import type { Command } from '../../command.js';
import type { Cli } from '../../context.js';
import { pullImage, withDefaultTag } from '../image/pull.js';
import { addContainerFlags, buildCreatePlan, OptionError, type CreatePlan } from './opts.js';

function isNoSuchImage(e: unknown): boolean {
  return e instanceof ApiError && e.status === 404 && /no such image|not found/i.test(e.message) && !/no such container/i.test(e.message);
}

/**
 * Create the container of `plan` as docker's run/create do: pull first with --pull=always; on
 * "No such image" with --pull=missing, say "Unable to find image ... locally", pull (progress on
 * stderr) and retry. Writes --cidfile. Resolves to the new id; warnings go to stderr.
 */
export async function createContainer(cli: Cli, plan: CreatePlan, opts: { quiet?: boolean } = {}): Promise<string> {
  const cidfile = plan.body.HostConfig?.ContainerIDFile;
  if (cidfile && existsSync(cidfile)) throw new OptionError(`container ID file found, make sure the other container isn't running or delete ${cidfile}`);
  const client = await cli.client();
  const pull = () => pullImage(cli, plan.image, { platform: plan.platform, quiet: opts.quiet, out: cli.io.stderr });
  if (plan.pull === 'always') await pull();
  const create = () =>
    client.json<{ Id: string; Warnings?: string[] | null }>('POST', '/containers/create', {
      query: { name: plan.name, platform: plan.platform },
      body: plan.body,
    });
  let res;
  try {
    res = await create();
  } catch (e) {
    if (!isNoSuchImage(e) || plan.pull !== 'missing') throw e;
    cli.err(`Unable to find image '${withDefaultTag(plan.image)}' locally\n`);
    await pull();
    res = await create();
  }
  for (const w of res.Warnings ?? []) cli.err(`WARNING: ${w}\n`);
  if (cidfile) writeFileSync(cidfile, res.Id);
  return res.Id;
}

export const command: Command = {
  name: 'create',
  use: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  short: 'Create a new container',
  args: { min: 1 },
  interspersed: false,
  flags: addContainerFlags,
  async run(cli, flags, args) {
    const plan = buildCreatePlan(flags, args, { env: cli.env, detach: false });
    const id = await createContainer(cli, plan, { quiet: flags.bool('quiet') });
    cli.out(`${id}\n`);
  },
};
