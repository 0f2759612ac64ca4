// run/create networking flags (--network with docker's csv syntax, --ip, --network-alias...) as the create body's EndpointsConfig.
import { isIP } from 'node:net';
import { csvFields } from '../../csv-fields.js';
import type { FlagValues } from '../../flags.js';
import type { EndpointSettings } from '../../../engine/types.js';

/** One `--network` value (docker's NetworkAttachmentOpts). */
export interface NetworkAttachment {
  target: string;
  aliases: string[];
  driverOpts?: Record<string, string>;
  links: string[];
  ipv4: string;
  ipv6: string;
  linkLocalIPs: string[];
  mac: string;
  gwPriority: number;
}

/** An endpoint as the docker CLI marshals network.EndpointSettings (every field, zero values included). */
export type EndpointSettingsWire = Required<EndpointSettings>;

/** Thrown for option conflicts docker reports after parsing (`docker: ...`, exit 125). */
export class NetworkOptionError extends Error {
  override name = 'NetworkOptionError';
}

/** The zero EndpointSettings, as docker sends it for the "default" network. */
export function emptyEndpoint(): EndpointSettingsWire {
  return {
    IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', DriverOpts: null, GwPriority: 0, NetworkID: '', EndpointID: '',
    Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
  };
}

/**
 * A `--network` value: a plain name/mode, or docker's long syntax
 * `name=x,alias=a,ip=...,ip6=...,mac-address=...,link-local-ip=...,driver-opt=k=v,gw-priority=n`.
 * Docker lower-cases each whole field (values included) and trims keys and values. Throws with
 * docker's flag error texts.
 */
export function parseNetworkFlag(value: string): NetworkAttachment {
  const att: NetworkAttachment = { target: '', aliases: [], links: [], ipv4: '', ipv6: '', linkLocalIPs: [], mac: '', gwPriority: 0 };
  // docker's test is an unanchored `\w+=\w+`: any key=value pair anywhere selects the long syntax.
  if (!/\w+=\w+/.test(value)) {
    att.target = value;
    return att;
  }
  for (const field of csvFields(value)) {
    const lower = field.toLowerCase();
    const eq = lower.indexOf('=');
    if (eq <= 0) throw new Error(`invalid field ${field}`);
    const key = lower.slice(0, eq).trim();
    const val = lower.slice(eq + 1).trim();
    switch (key) {
      case 'name':
        att.target = val;
        break;
      case 'alias':
        att.aliases.push(val);
        break;
      case 'ip':
        att.ipv4 = val;
        break;
      case 'ip6':
        att.ipv6 = val;
        break;
      case 'mac-address':
        att.mac = val;
        break;
      case 'link-local-ip':
        att.linkLocalIPs.push(val);
        break;
      case 'driver-opt': {
        const i = val.indexOf('=');
        if (i <= 0) throw new Error('invalid key value pair format in driver options');
        (att.driverOpts ??= {})[val.slice(0, i).trim()] = val.slice(i + 1).trim();
        break;
      }
      case 'gw-priority':
        if (!/^[+-]?\d+$/.test(val)) throw new Error(`invalid gw-priority (${val}): invalid syntax`);
        att.gwPriority = Number(val);
        break;
      default:
        throw new Error(`invalid field key ${key}`);
    }
  }
  if (!att.target) throw new Error('network name/id is not specified');
  return att;
}

/** docker's ValidateLink: `name` or `name:alias`. */
export function validateLink(s: string): string {
  if (s === '') throw new Error('empty string specified for links');
  if (s.split(':').length > 2) throw new Error(`bad format for links: ${s}`);
  return s;
}

/**
 * The docker CLI's ValidateExtraHost: `name:ip` or `name=ip`, the address optionally in brackets, or `host-gateway`;
 * sent as `name:ip`, the one form the daemon takes.
 */
export function validateExtraHost(s: string): string {
  let i = s.indexOf('=');
  if (i < 0) i = s.indexOf(':');
  const name = i < 0 ? '' : s.slice(0, i);
  if (!name || name.includes(':')) throw new Error(`bad format for add-host: ${JSON.stringify(s)}`);
  let ip = s.slice(i + 1);
  if (ip !== 'host-gateway') {
    if (ip.length > 2 && ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
    if (!isIP(ip)) throw new Error(`invalid IP address in add-host: ${JSON.stringify(ip)}`);
  }
  return `${name}:${ip}`;
}

/** moby's NetworkMode.IsUserDefined on Linux: anything but default, bridge, host, none and container:<id>. */
export function isUserDefined(mode: string): boolean {
  return !['default', 'bridge', 'host', 'none'].includes(mode) && !mode.startsWith('container:');
}

/** Go's net.ParseMAC forms: 6, 8 or 20 bytes as xx:xx.., xx-xx.. or xxxx.xxxx... */
export function isValidMac(s: string): boolean {
  const t = s.trim();
  const sizes = (n: number) => n === 6 || n === 8 || n === 20;
  for (const sep of [':', '-']) {
    const parts = t.split(sep);
    if (parts.length > 1 && sizes(parts.length) && parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) return true;
  }
  const dots = t.split('.');
  return dots.length > 1 && sizes(dots.length * 2) && dots.every((p) => /^[0-9a-fA-F]{4}$/.test(p));
}

/**
 * The create body's HostConfig.NetworkMode and NetworkingConfig.EndpointsConfig for the parsed
 * run/create flags, as docker 28's parseNetworkOpts builds them: the first network takes the
 * old-style flags (--ip, --ip6, --network-alias, --link, --mac-address, --link-local-ip); with
 * no --network the "default" endpoint is always sent; a lone network with nothing to say is
 * left out.
 */
export function buildEndpoints(flags: FlagValues): { networkMode: string; endpoints: Record<string, EndpointSettingsWire> } {
  const nets = flags.list<NetworkAttachment>('network');
  const endpoints: Record<string, EndpointSettingsWire> = {};
  const old = {
    aliases: flags.list('network-alias'),
    links: flags.list('link'),
    ipv4: flags.str('ip') ?? '',
    ipv6: flags.str('ip6') ?? '',
    mac: flags.str('mac-address') ?? '',
    linkLocalIPs: flags.list('link-local-ip'),
  };
  let hasUser = false;
  let hasOther = false;
  const list = nets.length ? nets.map((n) => ({ ...n })) : [{ target: 'default', aliases: [], links: [], ipv4: '', ipv6: '', linkLocalIPs: [], mac: '', gwPriority: 0 } as NetworkAttachment];
  list.forEach((n, i) => {
    if (nets.length) {
      if (isUserDefined(n.target)) hasUser = true;
      else hasOther = true;
    }
    if (i === 0) applyOldFlags(n, old);
    const ep = endpointFor(n);
    if (nets.length && n.target in endpoints) throw new NetworkOptionError(`network ${JSON.stringify(n.target)} is specified multiple times`);
    if (nets.length && i === 0 && nets.length === 1 && isZero(ep)) return;
    endpoints[n.target] = ep;
  });
  if (hasUser && hasOther) throw new NetworkOptionError('conflicting options: cannot attach both user-defined and non-user-defined network-modes');
  return { networkMode: nets[0]?.target ?? 'default', endpoints };
}

function applyOldFlags(n: NetworkAttachment, old: { aliases: string[]; links: string[]; ipv4: string; ipv6: string; mac: string; linkLocalIPs: string[] }): void {
  const conflict = (what: string) => new NetworkOptionError(`conflicting options: cannot specify both ${what}`);
  if (n.aliases.length && old.aliases.length) throw conflict('--network-alias and per-network alias');
  if (n.links.length && old.links.length) throw conflict('--link and per-network links');
  if (n.ipv4 && old.ipv4) throw conflict('--ip and per-network IPv4 address');
  if (n.ipv6 && old.ipv6) throw conflict('--ip6 and per-network IPv6 address');
  if (n.mac && old.mac) throw conflict('--mac-address and per-network MAC address');
  if (n.linkLocalIPs.length && old.linkLocalIPs.length) throw conflict('--link-local-ip and per-network link-local IP addresses');
  if (old.aliases.length) n.aliases = [...old.aliases];
  // On a user-defined network --link is an endpoint alias; on the default bridge it stays a legacy link only.
  if (isUserDefined(n.target) && old.links.length) n.links = [...old.links];
  if (old.ipv4) n.ipv4 = old.ipv4;
  if (old.ipv6) n.ipv6 = old.ipv6;
  if (old.mac) n.mac = old.mac;
  if (old.linkLocalIPs.length) n.linkLocalIPs = [...old.linkLocalIPs];
}

function endpointFor(n: NetworkAttachment): EndpointSettingsWire {
  if (n.target.trim() === '') throw new NetworkOptionError('no name set for network');
  if (!isUserDefined(n.target)) {
    if (n.aliases.length) throw new NetworkOptionError('network-scoped aliases are only supported for user-defined networks');
    if (n.links.length) throw new NetworkOptionError('links are only supported for user-defined networks');
  }
  const ep = emptyEndpoint();
  ep.GwPriority = n.gwPriority;
  if (n.aliases.length) ep.Aliases = [...n.aliases];
  if (n.driverOpts && Object.keys(n.driverOpts).length) ep.DriverOpts = n.driverOpts;
  if (n.links.length) ep.Links = n.links;
  if (n.ipv4 || n.ipv6 || n.linkLocalIPs.length) {
    ep.IPAMConfig = {};
    if (n.ipv4) ep.IPAMConfig.IPv4Address = n.ipv4;
    if (n.ipv6) ep.IPAMConfig.IPv6Address = n.ipv6;
    if (n.linkLocalIPs.length) ep.IPAMConfig.LinkLocalIPs = n.linkLocalIPs;
  }
  if (n.mac) {
    if (!isValidMac(n.mac)) throw new NetworkOptionError(`${n.mac} is not a valid mac address`);
    ep.MacAddress = n.mac;
  }
  return ep;
}

function isZero(ep: EndpointSettingsWire): boolean {
  return ep.IPAMConfig === null && ep.Links === null && ep.Aliases === null && ep.MacAddress === '' && ep.DriverOpts === null && ep.GwPriority === 0;
}
