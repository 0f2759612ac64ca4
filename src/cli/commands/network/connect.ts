// `berth network connect`: POST /networks/{id}/connect with the endpoint settings docker 28 sends.
import type { Command } from '../../command.js';
import { stringSlice } from '../../csv-fields.js';
import { emptyEndpoint, validateLink } from '../container/network-opts.js';

/** docker's convertDriverOpt: `k=v` pairs, trimmed, the key required. */
function driverOpts(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of values) {
    const i = o.indexOf('=');
    const k = (i < 0 ? o : o.slice(0, i)).trim();
    if (i < 0 || k === '') throw new Error('invalid key/value pair format in driver options');
    out[k] = o.slice(i + 1).trim();
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export const command: Command = {
  name: 'connect',
  use: '[OPTIONS] NETWORK CONTAINER',
  short: 'Connect a container to a network',
  args: { min: 2, max: 2 },
  flags(fs) {
    fs.add({ name: 'alias', kind: 'list', typeName: 'strings', usage: 'Add network-scoped alias for the container', parse: stringSlice });
    fs.add({ name: 'driver-opt', kind: 'list', typeName: 'strings', usage: 'driver options for the network', parse: stringSlice });
    fs.int('gw-priority', undefined, 'Highest gw-priority provides the default gateway. Accepts positive and negative values.');
    fs.string('ip', undefined, 'IPv4 address (e.g., "172.30.100.104")');
    fs.string('ip6', undefined, 'IPv6 address (e.g., "2001:db8::33")');
    fs.list('link', undefined, 'Add link to another container', 'list', validateLink);
    fs.add({ name: 'link-local-ip', kind: 'list', typeName: 'strings', usage: 'Add a link-local address for the container', parse: stringSlice });
  },
  async run(cli, flags, args) {
    const [network, container] = args as [string, string];
    const ep = emptyEndpoint();
    // Unlike run's --ip, connect always sends an IPAMConfig object, and the alias list and driver options even when empty.
    const ipam: NonNullable<typeof ep.IPAMConfig> = {};
    if (flags.str('ip')) ipam.IPv4Address = flags.str('ip');
    if (flags.str('ip6')) ipam.IPv6Address = flags.str('ip6');
    const linkLocal = flags.list<string[]>('link-local-ip').flat();
    if (linkLocal.length) ipam.LinkLocalIPs = linkLocal;
    ep.IPAMConfig = ipam;
    ep.Links = flags.list('link').length ? flags.list('link') : null;
    ep.Aliases = flags.list<string[]>('alias').flat();
    ep.DriverOpts = driverOpts(flags.list<string[]>('driver-opt').flat());
    ep.GwPriority = flags.num('gw-priority') ?? 0;
    const client = await cli.client();
    await client.json('POST', `/networks/${encodeURIComponent(network)}/connect`, { body: { Container: container, EndpointConfig: ep } });
  },
};
