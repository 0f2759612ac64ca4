// `berth network create`: POST /networks/create with the body docker 28 sends (IPAM pools from --subnet/--gateway/--ip-range).
import type { Command } from '../../command.js';
import { stringSlice } from '../../csv-fields.js';
import type { FlagSet } from '../../flags.js';
import { netContains, parseCIDR, parseIP } from '../../ip.js';

/** One IPAM pool as the API takes it (`IPAMConfig`); empty fields are left out as Go's omitempty does. */
export interface IpamPool {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

/** docker's MapOpts value: `k=v`, or `k` for an empty value. */
export function keyValue(s: string): [string, string] {
  const i = s.indexOf('=');
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
}

/** A Go map[string]string from key=value flags, keys sorted as encoding/json writes them (the last value wins). */
export function sortedMap(values: string[]): Record<string, string> {
  const m = new Map(values.map(keyValue));
  return Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** docker's ValidateLabel. */
export function validateLabel(value: string): string {
  const key = value.split('=')[0]!.replace(/^[ \t]+/, '');
  if (key === '') throw new Error(`invalid label '${value}': empty name`);
  if (/[ \t]/.test(key)) throw new Error(`label '${key}' contains whitespaces`);
  return value;
}

/** docker's subnetMatches: is `data` (an address or a CIDR) inside `subnet`? */
function subnetMatches(subnet: string, data: string): boolean {
  let net;
  try {
    net = parseCIDR(subnet).net;
  } catch (e) {
    throw new Error(`invalid subnet: ${(e as Error).message}`);
  }
  const ip = data.includes('/') ? parseCIDR(data).ip : parseIP(data);
  return netContains(net, ip);
}

/**
 * docker's createIPAMConfig: one pool per --subnet, each --ip-range, --gateway and --aux-address
 * placed in the subnet that holds it, with docker's error texts for what does not fit.
 */
export function ipamPools(opts: { subnets: string[]; ipRanges: string[]; gateways: string[]; auxAddresses: Record<string, string> }): IpamPool[] {
  const { subnets, ipRanges, gateways } = opts;
  if (subnets.length < ipRanges.length || subnets.length < gateways.length) throw new Error('every ip-range or gateway must have a corresponding subnet');
  const pools = new Map<string, IpamPool & { aux: Record<string, string> }>();
  for (const s of subnets) {
    for (const k of pools.keys()) {
      if (subnetMatches(s, k) || subnetMatches(k, s)) throw new Error('multiple overlapping subnet configuration is not supported');
    }
    pools.set(s, { Subnet: s, aux: {} });
  }
  for (const r of ipRanges) {
    let match = false;
    for (const s of subnets) {
      parseCIDR(r);
      if (!subnetMatches(s, r)) continue;
      const p = pools.get(s)!;
      if (p.IPRange) throw new Error(`cannot configure multiple ranges (${r}, ${p.IPRange}) on the same subnet (${s})`);
      p.IPRange = r;
      match = true;
    }
    if (!match) throw new Error(`no matching subnet for range ${r}`);
  }
  for (const g of gateways) {
    let match = false;
    for (const s of subnets) {
      if (!subnetMatches(s, g)) continue;
      const p = pools.get(s)!;
      if (p.Gateway) throw new Error(`cannot configure multiple gateways (${g}, ${p.Gateway}) for the same subnet (${s})`);
      p.Gateway = g;
      match = true;
    }
    if (!match) throw new Error(`no matching subnet for gateway ${g}`);
  }
  for (const [key, aa] of Object.entries(opts.auxAddresses)) {
    let match = false;
    for (const s of subnets) {
      if (!subnetMatches(s, aa)) continue;
      pools.get(s)!.aux[key] = aa;
      match = true;
    }
    if (!match) throw new Error(`no matching subnet for aux-address ${aa}`);
  }
  // docker collects the pools from a Go map, so its order varies from run to run; ours is the flags' order.
  return [...pools.values()].map(({ aux, ...p }) => (Object.keys(aux).length ? { ...p, AuxiliaryAddresses: aux } : p));
}

function addMapFlag(fs: FlagSet, name: string, short: string | undefined, usage: string): void {
  fs.add({ name, short, kind: 'list', typeName: 'map', usage, defText: 'map[]' });
}

function addSliceFlag(fs: FlagSet, name: string, usage: string): void {
  fs.add({ name, kind: 'list', typeName: 'strings', usage, parse: stringSlice });
}

export const command: Command = {
  name: 'create',
  use: '[OPTIONS] NETWORK',
  short: 'Create a network',
  args: { min: 1, max: 1 },
  flags(fs) {
    fs.bool('attachable', undefined, 'Enable manual container attachment');
    addMapFlag(fs, 'aux-address', undefined, 'Auxiliary IPv4 or IPv6 addresses used by Network driver');
    fs.string('config-from', undefined, 'The network from which to copy the configuration');
    fs.bool('config-only', undefined, 'Create a configuration only network');
    fs.string('driver', 'd', 'Driver to manage the Network', 'bridge');
    addSliceFlag(fs, 'gateway', 'IPv4 or IPv6 Gateway for the master subnet');
    fs.bool('ingress', undefined, 'Create swarm routing-mesh network');
    fs.bool('internal', undefined, 'Restrict external access to the network');
    addSliceFlag(fs, 'ip-range', 'Allocate container ip from a sub-range');
    fs.string('ipam-driver', undefined, 'IP Address Management Driver', 'default');
    addMapFlag(fs, 'ipam-opt', undefined, 'Set IPAM driver specific options');
    fs.bool('ipv4', undefined, 'Enable or disable IPv4 address assignment', true);
    fs.bool('ipv6', undefined, 'Enable or disable IPv6 address assignment');
    fs.list('label', undefined, 'Set metadata on a network', 'list', validateLabel);
    addMapFlag(fs, 'opt', 'o', 'Set driver specific options');
    fs.string('scope', undefined, "Control the network's scope");
    addSliceFlag(fs, 'subnet', 'Subnet in CIDR format that represents a network segment');
  },
  async run(cli, flags, args) {
    const config = ipamPools({
      subnets: flags.list<string[]>('subnet').flat(),
      ipRanges: flags.list<string[]>('ip-range').flat(),
      gateways: flags.list<string[]>('gateway').flat(),
      auxAddresses: sortedMap(flags.list('aux-address')),
    });
    const body: Record<string, unknown> = { Driver: flags.str('driver') ?? 'bridge', Scope: flags.str('scope') ?? '' };
    // Only a given --ipv4/--ipv6 is sent, so the daemon's defaults apply otherwise.
    if (flags.has('ipv4')) body['EnableIPv4'] = flags.bool('ipv4');
    if (flags.has('ipv6')) body['EnableIPv6'] = flags.bool('ipv6');
    const configFrom = flags.str('config-from');
    Object.assign(body, {
      IPAM: { Driver: flags.str('ipam-driver') ?? 'default', Options: sortedMap(flags.list('ipam-opt')), Config: config },
      Internal: flags.bool('internal'),
      Attachable: flags.bool('attachable'),
      Ingress: flags.bool('ingress'),
      ConfigOnly: flags.bool('config-only'),
      ConfigFrom: configFrom ? { Network: configFrom } : null,
      Options: sortedMap(flags.list('opt')),
      Labels: sortedMap(flags.list('label')),
      Name: args[0],
    });
    const client = await cli.client();
    const res = await client.json<{ Id: string }>('POST', '/networks/create', { body });
    cli.out(`${res.Id}\n`);
  },
};
