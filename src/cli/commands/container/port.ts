// `berth port` / `berth container port`: the published ports of a container, from NetworkSettings.Ports of its inspect.
import type { Command } from '../../command.js';
import { naturalCompare } from '../../format/natural-order.js';
import { joinHostPort } from '../../ip.js';

type PortMap = Record<string, Array<{ HostIp?: string; HostPort?: string }> | null>;

export const command: Command = {
  name: 'port',
  use: 'CONTAINER [PRIVATE_PORT[/PROTO]]',
  short: 'List port mappings or a specific mapping for the container',
  args: { min: 1, max: 2 },
  async run(cli, _flags, args) {
    const [container, want] = args as [string, string | undefined];
    const client = await cli.client();
    const c = await client.json<{ NetworkSettings?: { Ports?: PortMap | null } }>('GET', `/containers/${encodeURIComponent(container)}/json`);
    const ports = c.NetworkSettings?.Ports ?? {};
    const out: string[] = [];
    if (want !== undefined) {
      const slash = want.indexOf('/');
      const port = slash < 0 ? want : want.slice(0, slash);
      const proto = (slash < 0 ? '' : want.slice(slash + 1)) || 'tcp';
      if (!/^\d+$/.test(port) || Number(port) > 65535) {
        const why = /^\d+$/.test(port) ? 'value out of range' : 'invalid syntax';
        throw new Error(`Error: invalid port (${port}): strconv.ParseUint: parsing ${JSON.stringify(port)}: ${why}`);
      }
      const frontends = ports[`${port}/${proto}`];
      // docker quotes the argument as typed: `81` stays `81`, not `81/tcp`.
      if (!frontends?.length) throw new Error(`Error: No public port '${want}' published for ${container}`);
      for (const f of frontends) out.push(joinHostPort(f.HostIp ?? '', f.HostPort ?? ''));
    } else {
      for (const [from, frontends] of Object.entries(ports)) {
        for (const f of frontends ?? []) out.push(`${from} -> ${joinHostPort(f.HostIp ?? '', f.HostPort ?? '')}`);
      }
    }
    if (out.length) cli.out(`${out.sort(naturalCompare).join('\n')}\n`);
  },
};
