// A container's side of networking: the mode chosen at create, the sandbox made at start and undone at exit, and Docker's NetworkSettings/Ports views.
import { writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { BerthError, errInvalid, isNotFound } from '../common/errors.js';
import type { AttachRequest, NetworkManager, NetworkRecord, SandboxState } from '../network/networks.js';
import { containerResolvConf, hostResolvConf } from '../network/resolv-conf.js';
import type { ContainerRecord, NetworkAttachment } from './store.js';
import type { ContainerConfig, ContainerCreateRequest, EndpointSettings, HostConfig, NetworkSettings, PortMap } from './types.js';

/** The --add-host address dockerd replaces with its host gateway IP. */
export const HOST_GATEWAY = 'host-gateway';

/** Names Docker accepts for the default bridge in NetworkMode. */
const isDefaultBridge = (m: string) => m === 'bridge' || m === 'default';

/** A container's network mode as the engine acts on it. */
export type NetworkPlan =
  | { kind: 'host' }
  | { kind: 'none' }
  | { kind: 'container'; ref: string }
  | { kind: 'bridge'; attachments: Record<string, NetworkAttachment> };

/** Docker's EndpointsConfig entry (the fields Berth reads). */
interface EndpointConfig { Aliases?: string[] | null; IPAMConfig?: { IPv4Address?: string } | null; Links?: string[] | null; GwPriority?: number }

/** Decide the mode at create: the networks must exist; the endpoint configs (aliases, --ip) are kept for each start. */
export function planNetwork(nets: NetworkManager, req: ContainerCreateRequest, hc: HostConfig): NetworkPlan {
  const mode = hc.NetworkMode || 'bridge';
  const eps = (req.NetworkingConfig?.EndpointsConfig ?? {}) as Record<string, EndpointConfig | null>;
  if (mode === 'host' || mode === 'none') {
    if (Object.keys(eps).some((k) => k !== mode)) throw errInvalid(`container cannot be connected to multiple networks with one of the networks in private (none) mode`);
    return { kind: mode };
  }
  if (mode.startsWith('container:')) {
    const ref = mode.slice('container:'.length);
    // dockerd's validateNetContainerMode: what the other container's network decides cannot be set here.
    if (!ref) throw errInvalid('Invalid network mode: invalid container format container:<name|id>');
    if (req.Hostname) throw errInvalid('conflicting options: hostname and the network mode');
    if (hc.Links?.length) throw errInvalid('conflicting options: container type network can\'t be used with links. This would result in undefined behavior');
    if (hc.Dns?.length) throw errInvalid('conflicting options: dns and the network mode');
    if (hc.ExtraHosts?.length) throw errInvalid('conflicting options: custom host-to-IP mapping and the network mode');
    if (Object.keys(hc.PortBindings ?? {}).length || hc.PublishAllPorts) throw errInvalid('conflicting options: port publishing and the container type network mode');
    if (Object.keys(req.ExposedPorts ?? {}).length) throw errInvalid('conflicting options: port exposing and the container type network mode');
    return { kind: 'container', ref };
  }
  const attachments: Record<string, NetworkAttachment> = {};
  const add = (ref: string, ep: EndpointConfig | null | undefined) => {
    let n;
    try {
      n = nets.resolve(ref);
    } catch (e) {
      // As dockerd: an unknown network fails the start (404), not the create (which the CLI would take for a missing image).
      if (!isNotFound(e)) throw e;
      attachments[ref] = { networkId: '', ...(ep?.Aliases?.length ? { aliases: [...ep.Aliases] } : {}) };
      return;
    }
    if (n.driver === 'host' || n.driver === 'null') throw errInvalid(`container cannot be connected to multiple networks with one of the networks in private (none) mode`);
    if (ep?.Aliases?.length && n.builtin) throw errInvalid('network-scoped alias is supported only for containers in user defined networks');
    const ipv4 = ep?.IPAMConfig?.IPv4Address || undefined;
    attachments[n.name] = {
      networkId: n.id, ...(ep?.Aliases?.length ? { aliases: [...ep.Aliases] } : {}), ...(ipv4 ? { ipv4 } : {}), ...(ep?.GwPriority ? { gwPriority: ep.GwPriority } : {}),
      // On the default bridge a link is HostConfig.Links' (dockerd takes no endpoint links there).
      ...(ep?.Links?.length && !n.builtin ? { links: ep.Links.map((l) => (parseLink(l), l)) } : {}),
    };
  };
  add(isDefaultBridge(mode) ? 'bridge' : mode, eps[mode] ?? (isDefaultBridge(mode) ? eps.bridge ?? eps.default : undefined));
  for (const [k, ep] of Object.entries(eps)) {
    if (k === mode || (isDefaultBridge(mode) && isDefaultBridge(k))) continue;
    add(k, ep);
  }
  return { kind: 'bridge', attachments };
}

/** dockerd's ParseLink: `name:alias`, `name` (its own alias) or the stored `/name:/parent/alias`; [name, alias]. */
export function parseLink(s: string): [string, string] {
  if (!s) throw errInvalid('empty string specified for links');
  const parts = s.split(':');
  if (parts.length > 2) throw errInvalid(`bad format for links: ${s}`);
  if (parts.length === 1) return [s, s];
  if (parts[0]!.startsWith('/')) return [parts[0]!.slice(1), parts[1]!.slice(parts[1]!.lastIndexOf('/') + 1)];
  return [parts[0]!, parts[1]!];
}

/** What attach needs to know about a container. */
export function attachRequest(c: ContainerRecord): AttachRequest {
  return {
    id: c.id, name: c.name.slice(1), hostname: c.config.Hostname ?? c.id.slice(0, 12),
    networks: Object.entries(c.networks ?? {}).map(([name, a]) => ({
      name: a.networkId || name, ...(a.aliases ? { aliases: a.aliases } : {}), ...(a.ipv4 ? { ipv4: a.ipv4 } : {}),
      ...(a.links?.length ? { links: Object.fromEntries(a.links.map((l) => parseLink(l).reverse())) } : {}),
    })),
    ...(c.hostConfig.Dns?.length ? { dns: c.hostConfig.Dns } : {}),
    ports: c.hostConfig.PortBindings ?? {},
    publishAll: !!c.hostConfig.PublishAllPorts,
    exposed: Object.keys(c.config.ExposedPorts ?? {}),
  };
}

/** dockerd's ValidateExtraHost, at create: `name:ip` (split at the first colon, so IPv6 works) or `name:host-gateway`. */
export function validateExtraHosts(hc: HostConfig): void {
  for (const eh of hc.ExtraHosts ?? []) {
    const i = eh.indexOf(':');
    if (i <= 0) throw errInvalid(`bad format for add-host: ${JSON.stringify(eh)}`);
    const ip = eh.slice(i + 1);
    if (ip !== HOST_GATEWAY && !isIP(ip)) throw errInvalid(`invalid IP address in add-host: ${JSON.stringify(ip)}`);
  }
}

/** The /etc/hosts lines of --add-host; `host-gateway` is the daemon's host gateway address, as dockerd's buildSandboxOptions. */
export function extraHostLines(hc: HostConfig, hostGateway: string | undefined): string {
  let out = '';
  for (const eh of hc.ExtraHosts ?? []) {
    const i = eh.indexOf(':');
    if (i <= 0) continue;
    let ip = eh.slice(i + 1);
    if (ip === HOST_GATEWAY) {
      if (!hostGateway) throw errInvalid('unable to derive the IP value for host-gateway');
      ip = hostGateway;
    }
    out += `${ip}\t${eh.slice(0, i)}\n`;
  }
  return out;
}

/** The names on the container's own /etc/hosts lines: `fqdn short` when it has a domain (-h a.b or --domainname), as moby's etc-hosts record. */
export function ownHostNames(config: ContainerConfig): string {
  const fqdn = config.Domainname ? `${config.Hostname}.${config.Domainname}` : config.Hostname ?? '';
  const dot = fqdn.indexOf('.');
  return dot > 0 ? `${fqdn} ${fqdn.slice(0, dot)}` : fqdn;
}

/** What the network files need besides the container: the hosts header, the host gateway IP, the legacy links' lines (`ip`, `names`). */
export interface NetworkFilesContext { hostsHeader: string; hostGateway?: string; links?: Array<{ ip: string; names: string }> }

/**
 * /etc/hosts and /etc/resolv.conf of a container on bridge networks, from its endpoints now: written before each
 * start (the IPs change) and again on network connect and disconnect, as dockerd rebuilds them. They are bind
 * mounted into the running container, so they are rewritten in place (same inode), never replaced.
 */
export function writeNetworkFiles(c: ContainerRecord, sb: SandboxState, o: NetworkFilesContext): void {
  let hosts = o.hostsHeader + extraHostLines(c.hostConfig, o.hostGateway);
  for (const l of o.links ?? []) hosts += `${l.ip}\t${l.names}\n`;
  for (const ep of sb.endpoints) hosts += `${ep.ip}\t${ownHostNames(c.config)}\n`;
  writeFileSync(c.hostsPath, hosts);
  const h = c.hostConfig;
  // On a user network the embedded DNS (on the gateway) answers, and forwards the rest to the container's --dns
  // servers if it has any (dockerd keeps its resolver too); the default bridge has none, as Docker's.
  const dnsEp = sb.endpoints.find((e) => e.dnsNames.length);
  if (!dnsEp) {
    writeFileSync(c.resolvConfPath, containerResolvConf(hostResolvConf(false), { dns: h.Dns, search: h.DnsSearch, options: h.DnsOptions }, false));
    return;
  }
  const keep = hostResolvConf(false).split('\n').filter((l) => /^\s*(search|domain|options)\s/.test(l));
  const search = h.DnsSearch?.length ? [`search ${h.DnsSearch.join(' ')}`] : keep.filter((l) => /^\s*(search|domain)\s/.test(l));
  const options = h.DnsOptions?.length ? [`options ${h.DnsOptions.join(' ')}`] : keep.filter((l) => /^\s*options\s/.test(l));
  writeFileSync(c.resolvConfPath, [`nameserver ${dnsEp.gateway}`, ...search, ...options].join('\n') + '\n');
}

const emptyEndpoint = (): EndpointSettings => ({
  IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '',
  IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DriverOpts: null, GwPriority: 0, DNSNames: null,
});

/** NetworkSettings.Networks as Docker shows it: every configured network, filled in while running. */
export function endpointSettings(c: ContainerRecord, nets: NetworkManager): Record<string, EndpointSettings> {
  const mode = c.hostConfig.NetworkMode ?? 'bridge';
  if (mode === 'host' || mode === 'none') {
    let id = '';
    try { id = nets.resolve(mode).id; } catch { /* predefined */ }
    return { [mode]: { ...emptyEndpoint(), NetworkID: id } };
  }
  const out: Record<string, EndpointSettings> = {};
  for (const [name, a] of Object.entries(c.networks ?? {})) {
    const ep = c.sandbox?.endpoints.find((e) => e.networkId === a.networkId);
    out[name] = {
      ...emptyEndpoint(),
      IPAMConfig: a.ipv4 ? { IPv4Address: a.ipv4 } : null,
      Aliases: a.aliases?.length ? a.aliases : null,
      // Shown as configured (API 1.48); Berth's default route is still that of the first network.
      GwPriority: a.gwPriority ?? 0,
      NetworkID: a.networkId,
      ...(ep ? {
        MacAddress: ep.mac, EndpointID: ep.endpointId, Gateway: ep.gateway, IPAddress: ep.ip, IPPrefixLen: ep.prefixLen,
        DNSNames: ep.dnsNames.length ? ep.dnsNames : null,
      } : {}),
    };
  }
  return out;
}

/**
 * `"80/tcp": [{HostIp, HostPort}]` of the bound ports and null for the exposed ones, while the sandbox is up; empty
 * before the first start and after exit, as dockerd (it fills Ports from the sandbox and clears them at release).
 */
export function portMap(c: ContainerRecord): PortMap {
  const out: PortMap = {};
  if (!c.sandbox) return out;
  for (const k of Object.keys(c.config.ExposedPorts ?? {})) out[k.includes('/') ? k : `${k}/tcp`] = null;
  for (const p of c.sandbox.ports) {
    const k = `${p.containerPort}/${p.proto}`;
    (out[k] ??= []);
    out[k]!.push({ HostIp: p.hostIp || '0.0.0.0', HostPort: String(p.hostPort) });
  }
  return out;
}

/** The inspect NetworkSettings; the top-level fields describe the default bridge endpoint, as Docker's. */
export function networkSettings(c: ContainerRecord, nets: NetworkManager): NetworkSettings {
  const networks = endpointSettings(c, nets);
  const def = networks.bridge && c.sandbox?.endpoints.some((e) => e.network === 'bridge') ? networks.bridge : undefined;
  return {
    Bridge: '', SandboxID: c.sandbox ? c.id : '', SandboxKey: c.sandbox?.key ?? '', Ports: portMap(c), HairpinMode: false,
    LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0, SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
    EndpointID: def?.EndpointID ?? '', Gateway: def?.Gateway ?? '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
    IPAddress: def?.IPAddress ?? '', IPPrefixLen: def?.IPPrefixLen ?? 0, IPv6Gateway: '', MacAddress: def?.MacAddress ?? '',
    Networks: networks,
  };
}

/** GET /containers/json Ports: bound ports, then exposed ones without a binding. */
export function summaryPorts(c: ContainerRecord): Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }> {
  const out: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }> = [];
  const bound = new Set<string>();
  for (const p of c.sandbox?.ports ?? []) {
    out.push({ IP: p.hostIp || '0.0.0.0', PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.proto });
    bound.add(`${p.containerPort}/${p.proto}`);
  }
  for (const k of Object.keys(c.config.ExposedPorts ?? {})) {
    const [port, proto = 'tcp'] = k.split('/');
    if (!bound.has(`${port}/${proto}`)) out.push({ PrivatePort: Number(port), Type: proto });
  }
  return out;
}

/** docker network connect's refusals for the shared and private modes, with dockerd's texts (its connectToNetwork and updateNetworkSettings). */
export function checkConnectable(c: ContainerRecord, n: NetworkRecord): void {
  const mode = c.hostConfig.NetworkMode ?? 'bridge';
  if (mode === 'host' || mode.startsWith('container:')) throw errInvalid('container sharing network namespace with another container or host cannot be connected to any other network');
  if (n.driver === 'host') throw errInvalid('cannot connect container to host network - container must be created in host network mode');
  if (mode === 'none' || n.driver === 'null') throw errInvalid('container cannot be connected to multiple networks with one of the networks in private (none) mode');
}

/** docker network disconnect is refused for these modes. */
export function checkDisconnectable(c: ContainerRecord): void {
  const mode = c.hostConfig.NetworkMode ?? 'bridge';
  if (mode === 'host') throw new BerthError('permission-denied', 'container cannot be disconnected from host network or connected to host network');
  if (mode === 'none') throw new BerthError('permission-denied', 'container cannot be connected to multiple networks with one of the networks in private (none) mode');
  if (mode.startsWith('container:')) throw new BerthError('permission-denied', 'conflicting options: container type network can\'t be used with other networks');
}
