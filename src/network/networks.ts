// Networks and container sandboxes: Docker's network model on CNI (bridge + host-local), bridge networks isolated from each other (firewall plugin), one DNS server per user network, one port forwarder for all published ports.
//
//   const nets = new NetworkManager({ dataRoot, execRoot, db });
//   await nets.init();                                    // the predefined bridge, host and none
//   const sb = await nets.attach({ id, name: 'web', hostname: 'web', networks: [{ name: 'app' }], ports: {}, publishAll: false, exposed: [] });
//   ... the container runs in sb.key (a pinned netns) ...
//   await nets.detach(id, sb);                            // ports, CNI DEL, netns: nothing left
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { BerthError, errInvalid, errNotFound, errorCode } from '../common/errors.js';
import { nullLogger, type Logger } from '../common/log.js';
import { crashPoint } from '../common/crash-point.js';
import { cniAdd, cniCheck, cniDel, type CniConfList } from './cni/chain.js';
import { DEFAULT_CNI_PATH, type CniResult } from './cni/invoke.js';
import type { DnsServer } from './dns-server.js';
import { DEFAULT_POOLS, allocateSubnet, contains, firstHost, formatCidr, formatIpv4, hostRoutes, overlaps, parseCidr, parseIpv4, size, type AddressPool, type Ipv4Net } from './ipnet.js';
import { readLeases } from './ipam-leases.js';
import { pinNetns, unpinNetns } from './netns.js';
import { dnsUpstreams } from './resolv-conf.js';
import { NetworkStore, type NetworkRecord } from './network-store.js';
import type { PortBinding, PortForwarder } from './port-forwarder.js';

export type { NetworkRecord } from './network-store.js';

export interface NetworkManagerOptions {
  dataRoot: string;
  execRoot: string;
  db: Database.Database;
  log?: Logger;
  /** The default `bridge` network's Linux bridge. Default `berth0` (dockerd's is docker0). */
  defaultBridge?: string;
  /** dockerd --bip: the default bridge's gateway and prefix (`172.17.0.1/16`). Default: the first free pool subnet. */
  bip?: string;
  /** dockerd --ip-masq: masquerade traffic leaving bridge networks. Default true, as dockerd. */
  ipMasq?: boolean;
  /** dockerd default-address-pools. */
  pools?: AddressPool[];
  /** Upstream resolvers for names outside a network; undefined: the host's nameservers (loopback ones too); []: none (REFUSED). */
  dnsUpstreams?: string[];
  /** DNS port of the embedded servers (tests). Default 53. */
  dnsPort?: number;
  cniPath?: string[];
}

/** One network a container is to be attached to; `links`: legacy link alias -> container name, names only this container resolves. */
export interface AttachNetwork { name: string; aliases?: string[]; ipv4?: string; links?: Record<string, string> }

/** A container's endpoint on one network, as CNI made it. */
export interface EndpointState {
  network: string;
  networkId: string;
  endpointId: string;
  ifName: string;
  ip: string;
  prefixLen: number;
  gateway: string;
  mac: string;
  aliases: string[];
  dnsNames: string[];
  result: CniResult;
}

/** A running container as a network's DNS server knows it. */
interface DnsMember { names: string[]; ip: string; dns?: string[]; links?: Map<string, string> }

/** A published port as bound (hostPort is the real one when 0 was asked). */
export interface PublishedPort { proto: 'tcp' | 'udp'; hostIp: string; hostPort: number; containerPort: number }

/** A running container's network sandbox; kept in the container record so a restarted berthd can undo it. */
export interface SandboxState { key: string; endpoints: EndpointState[]; ports: PublishedPort[] }

export interface AttachRequest {
  id: string;
  /** Container name without the slash. */
  name: string;
  hostname: string;
  networks: AttachNetwork[];
  /** HostConfig.Dns: where the embedded DNS forwards this container's outside names (instead of the daemon's upstreams). */
  dns?: string[];
  /** HostConfig.PortBindings (`"80/tcp": [{HostIp, HostPort}]`). */
  ports: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null>;
  publishAll: boolean;
  /** Config.ExposedPorts keys. */
  exposed: string[];
}

/** Docker's Engine API network object. */
export interface NetworkWire {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: string;
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: Array<{ Subnet: string; Gateway?: string; IPRange?: string }> };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** POST /networks/create body (the fields Berth reads). */
export interface NetworkCreateRequest {
  Name: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Config?: Array<{ Subnet?: string; IPRange?: string; Gateway?: string }> | null; Options?: Record<string, string> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const nowIso = () => new Date().toISOString();
const newId = () => randomBytes(32).toString('hex');
/** Docker's option naming the Linux bridge of a bridge network. */
const OPT_BRIDGE_NAME = 'com.docker.network.bridge.name';

function execIp(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, (err, _o, stderr) => (err ? reject(new BerthError('internal', `ip ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve()));
  });
}

/** The firewall plugin's same-bridge rules for one bridge, as `iptables -D` arguments (see its ingresspolicy.go). */
export function isolationRules(bridge: string): string[][] {
  const comment = ['-m', 'comment', '--comment', 'CNI firewall plugin rules (ingressPolicy: same-bridge)'];
  return [
    ['CNI-ISOLATION-STAGE-1', '-i', bridge, '!', '-o', bridge, ...comment, '-j', 'CNI-ISOLATION-STAGE-2'],
    ['CNI-ISOLATION-STAGE-2', '-o', bridge, ...comment, '-j', 'DROP'],
  ];
}

/** Delete a bridge's isolation rules from iptables and ip6tables (the plugin writes both); absent ones are fine. */
export async function removeIsolationRules(bridge: string): Promise<void> {
  const del = (cmd: string, rule: string[]) => new Promise<void>((resolve) => { execFile(cmd, ['-w', '-D', ...rule], () => resolve()); });
  for (const cmd of ['iptables', 'ip6tables']) for (const rule of isolationRules(bridge)) await del(cmd, rule);
}

export class NetworkManager {
  readonly store: NetworkStore;
  /** Loaded and made with the first published port (idle berthd memory: the thread, the DNS codec). */
  private forwarderP?: Promise<PortForwarder>;
  private readonly log: Logger;
  private readonly cniPath: string[];
  private readonly ipamDir: string;
  private readonly netnsDir: string;
  /** Per user network: its DNS server and the running members' names. */
  private readonly dns = new Map<string, { server?: DnsServer; starting?: Promise<void>; members: Map<string, DnsMember> }>();

  constructor(private readonly o: NetworkManagerOptions) {
    this.store = new NetworkStore(o.db);
    this.log = o.log ?? nullLogger;
    this.cniPath = o.cniPath ?? DEFAULT_CNI_PATH;
    this.ipamDir = join(o.dataRoot, 'network', 'ipam');
    this.netnsDir = join(o.execRoot, 'netns');
  }

  private forwarder(): Promise<PortForwarder> {
    this.forwarderP ??= import('./port-forwarder.js').then(({ PortForwarder }) => new PortForwarder({ log: this.log }));
    return this.forwarderP;
  }

  /** Create the predefined networks once (the default bridge gets its subnet now, then keeps it). */
  init(): this {
    mkdirSync(this.ipamDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.netnsDir, { recursive: true, mode: 0o711 });
    const have = new Set(this.store.list().map((n) => n.name));
    const base = { created: nowIso(), internal: false, attachable: false, labels: {}, builtin: true };
    if (!have.has('bridge')) {
      const bridge = this.o.defaultBridge ?? 'berth0';
      let subnet: Ipv4Net;
      let gateway: string;
      if (this.o.bip) {
        subnet = parseCidr(this.o.bip, { allowHostBits: true });
        gateway = this.o.bip.split('/')[0]!;
      } else {
        const s = allocateSubnet(this.o.pools ?? DEFAULT_POOLS, this.taken());
        if (!s) throw errInvalid('could not find an available, non-overlapping IPv4 address pool for the default bridge network');
        subnet = s;
        gateway = firstHost(s);
      }
      this.store.insert({
        ...base, id: newId(), name: 'bridge', driver: 'bridge', bridge, subnet: formatCidr(subnet), gateway, ipMasq: this.o.ipMasq ?? true,
        options: {
          'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.enable_icc': 'true',
          'com.docker.network.bridge.enable_ip_masquerade': String(this.o.ipMasq ?? true), 'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
          [OPT_BRIDGE_NAME]: bridge, 'com.docker.network.driver.mtu': '1500',
        },
      });
    }
    if (!have.has('host')) this.store.insert({ ...base, id: newId(), name: 'host', driver: 'host', options: {} });
    if (!have.has('none')) this.store.insert({ ...base, id: newId(), name: 'none', driver: 'null', options: {} });
    return this;
  }

  /** Subnets in use: the host's routes and every bridge network. */
  private taken(): Ipv4Net[] {
    return [...hostRoutes(), ...this.store.list().filter((n) => n.subnet).map((n) => parseCidr(n.subnet!, { allowHostBits: true }))];
  }

  resolve(ref: string): NetworkRecord {
    return this.store.resolve(ref);
  }

  // --- networks ------------------------------------------------------------------------------

  create(req: NetworkCreateRequest): NetworkRecord {
    const name = req.Name;
    if (typeof name !== 'string' || !name) throw errInvalid('network name must not be empty');
    if (!NAME_RE.test(name)) throw errInvalid(`invalid network name "${name}": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`);
    const driver = req.Driver || 'bridge';
    if (driver === 'host' || driver === 'null') throw new BerthError('permission-denied', `only one instance of "${driver}" network is allowed`);
    if (driver !== 'bridge') throw errNotFound(`plugin "${driver}" not found`);
    if (req.IPAM?.Driver && req.IPAM.Driver !== 'default') throw errNotFound(`plugin "${req.IPAM.Driver}" not found`);
    if (this.store.list().some((n) => n.name === name)) throw new BerthError('conflict', `network with name ${name} already exists`);
    if (req.EnableIPv6) throw errInvalid('IPv6 networks are not supported by Berth yet');
    const cfgs = (req.IPAM?.Config ?? []).filter((c) => c.Subnet);
    if (cfgs.length > 1) throw errInvalid('Berth bridge networks take one IPv4 subnet');
    const cfg = cfgs[0];
    let subnet: Ipv4Net;
    let gateway: string;
    let ipRange: string | undefined;
    if (cfg?.Subnet) {
      if (cfg.Subnet.includes(':')) throw errInvalid('IPv6 networks are not supported by Berth yet');
      // dockerd's ValidateIPAM texts (the docker CLI checks gateway and range itself; other clients reach these).
      subnet = parseCidr(cfg.Subnet);
      if (subnet.bits > 30) throw errInvalid(`invalid subnet ${cfg.Subnet}: too small for a bridge network`);
      if (cfg.IPRange) {
        const r = parseCidr(cfg.IPRange, { allowHostBits: true });
        if (r.bits < subnet.bits) throw errInvalid(`invalid ip-range ${cfg.IPRange}: CIDR block is bigger than its parent subnet ${cfg.Subnet}`);
        if (formatCidr(r) !== cfg.IPRange) throw errInvalid(`invalid ip-range ${cfg.IPRange}: it should be ${formatCidr(r)}`);
        if (!contains(subnet, r.base)) throw errInvalid(`invalid ip-range ${cfg.IPRange}: parent subnet ${cfg.Subnet} doesn't contain ip-range`);
        ipRange = cfg.IPRange;
      }
      gateway = cfg.Gateway || firstHost(subnet);
      if (!contains(subnet, parseIpv4(gateway))) throw errInvalid(`invalid gateway ${gateway}: parent subnet ${cfg.Subnet} doesn't contain this address`);
      if (this.taken().some((t) => overlaps(t, subnet))) throw new BerthError('permission-denied', 'invalid pool request: Pool overlaps with other one on this address space');
    } else {
      const s = allocateSubnet(this.o.pools ?? DEFAULT_POOLS, this.taken());
      if (!s) throw new BerthError('permission-denied', 'all predefined address pools have been fully subnetted');
      subnet = s;
      gateway = firstHost(s);
    }
    const id = newId();
    const options = { ...(req.Options ?? {}) };
    const bridge = options[OPT_BRIDGE_NAME] || `br-${id.slice(0, 12)}`;
    if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(bridge)) throw errInvalid(`invalid bridge name "${bridge}"`);
    if (this.store.list().some((n) => n.bridge === bridge)) throw new BerthError('conflict', `bridge name ${bridge} is already used by another network`);
    const masq = options['com.docker.network.bridge.enable_ip_masquerade'];
    const rec: NetworkRecord = {
      id, name, driver: 'bridge', created: nowIso(), internal: !!req.Internal, attachable: !!req.Attachable,
      labels: { ...(req.Labels ?? {}) }, options, builtin: false, bridge, subnet: formatCidr(subnet), gateway,
      ...(ipRange ? { ipRange } : {}), ipMasq: masq !== undefined ? masq === 'true' : (this.o.ipMasq ?? true), userSubnet: !!cfg?.Subnet,
      ...(cfg?.Subnet ? { userGateway: !!cfg.Gateway } : {}),
    };
    this.store.insert(rec);
    return rec;
  }

  /** Remove a network no running container uses: its bridge device, IPAM leases and DNS server go too. */
  async remove(ref: string, activeContainers: (n: NetworkRecord) => string[]): Promise<void> {
    const n = this.resolve(ref);
    if (n.builtin) throw new BerthError('permission-denied', `${n.name} is a pre-defined network and cannot be removed`);
    if (activeContainers(n).length) throw new BerthError('permission-denied', `error while removing network: network ${n.name} id ${n.id} has active endpoints`);
    this.store.deleteForRemoval(n);
    crashPoint('network-rm:after-record');
    await this.cleanupNetwork(n);
    this.store.removed(n.id);
  }

  /** Finish removals a crash interrupted (the record is gone, its bridge and leases may not be). */
  async finishRemovals(): Promise<void> {
    for (const n of this.store.pendingRemovals()) {
      await this.cleanupNetwork(n);
      this.store.removed(n.id);
    }
  }

  private async cleanupNetwork(n: NetworkRecord): Promise<void> {
    const d = this.dns.get(n.id);
    this.dns.delete(n.id);
    await d?.starting?.catch(() => undefined);
    await d?.server?.close().catch(() => undefined);
    rmSync(join(this.ipamDir, n.id), { recursive: true, force: true });
    // No CNI operation removes a bridge (the plugin only makes it on ADD), nor the firewall plugin's
    // isolation rules naming it (its DEL cannot know the bridge's last container went), so these are ours to do.
    if (!n.bridge) return;
    if (existsSync(`/sys/class/net/${n.bridge}`)) await execIp(['link', 'delete', n.bridge, 'type', 'bridge']).catch((e) => this.log.warn('network: remove bridge', { bridge: n.bridge, err: (e as Error).message }));
    await removeIsolationRules(n.bridge);
  }

  /**
   * The CNI configuration list of a bridge network. `staticIp`: the ADD of a `--ip` address, which
   * Docker takes from anywhere in the subnet, not only the --ip-range (the leases are the same files).
   */
  conflist(n: NetworkRecord, staticIp = false): CniConfList {
    const range: Record<string, string> = { subnet: n.subnet!, gateway: n.gateway! };
    if (n.ipRange && !staticIp) {
      // The range's own network and broadcast addresses are hosts of the subnet (Docker hands them out);
      // only the subnet's are not. Without rangeEnd host-local would go on to the end of the subnet.
      const s = parseCidr(n.subnet!, { allowHostBits: true });
      const r = parseCidr(n.ipRange);
      range.rangeStart = formatIpv4(Math.max(r.base, s.base + 1));
      range.rangeEnd = formatIpv4(Math.min(r.base + size(r) - 1, s.base + size(s) - 2));
    }
    return {
      cniVersion: '1.0.0',
      name: n.id,
      plugins: [{
        type: 'bridge', bridge: n.bridge!, isGateway: true, ipMasq: !n.internal && !!n.ipMasq, hairpinMode: true,
        ipam: {
          type: 'host-local', dataDir: this.ipamDir, ranges: [[range]],
          // --internal: no default route, so nothing leaves the bridge (Docker's "internal" isolation).
          routes: n.internal ? [] : [{ dst: '0.0.0.0/0' }],
        },
      }, {
        // Docker drops traffic between two bridge networks (DOCKER-ISOLATION-STAGE-1/2); same-bridge is
        // that rule pair per bridge (CNI-ISOLATION-STAGE-1/2). Its DEL keeps them: network rm drops them.
        type: 'firewall', backend: 'iptables', ingressPolicy: 'same-bridge',
      }],
    };
  }

  toWire(n: NetworkRecord, containers: NetworkWire['Containers'] = {}): NetworkWire {
    return {
      Name: n.name, Id: n.id, Created: n.created, Scope: 'local', Driver: n.driver, EnableIPv4: true, EnableIPv6: false,
      // As dockerd's buildIPAMResources: the user's IPAM config as given, else the allocated subnet and gateway.
      IPAM: { Driver: 'default', Options: n.builtin ? null : {}, Config: n.subnet ? [{ Subnet: n.subnet, ...(n.userGateway !== false ? { Gateway: n.gateway! } : {}), ...(n.ipRange ? { IPRange: n.ipRange } : {}) }] : [] },
      Internal: n.internal, Attachable: n.attachable, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
      Containers: containers, Options: n.options, Labels: n.labels,
    };
  }

  // --- sandboxes -----------------------------------------------------------------------------

  /** Where a container's pinned netns lives (known at create, made at start). */
  sandboxPath(id: string): string {
    return join(this.netnsDir, id);
  }

  /**
   * Make a container's network: pin a netns, CNI ADD on each network (eth0, eth1, ...), register
   * its names with each network's DNS, publish its ports. On any failure everything done is undone.
   */
  async attach(req: AttachRequest): Promise<SandboxState> {
    const nets = req.networks.map((a) => ({ a, n: this.resolve(a.name) }));
    for (const { n } of nets) if (n.driver !== 'bridge') throw errInvalid(`network ${n.name} cannot be attached to (driver ${n.driver})`);
    const sb: SandboxState = { key: this.sandboxPath(req.id), endpoints: [], ports: [] };
    // A pinned netns left by a crash between pin and record: remove it first.
    if (existsSync(sb.key)) await unpinNetns(sb.key);
    await pinNetns(sb.key);
    crashPoint('network:after-pin');
    try {
      for (const { a, n } of nets) sb.endpoints.push(await this.addEndpoint(req, sb, n, a));
      crashPoint('network:after-cni-add');
      if (sb.endpoints.length) sb.ports = await this.publish(req, sb.endpoints[0]!.ip);
      for (const [i, ep] of sb.endpoints.entries()) await this.joinDns(req, ep, nets[i]!.a);
      return sb;
    } catch (e) {
      await this.detach(req.id, sb).catch((de) => this.log.warn('network: undo attach', { id: req.id, err: (de as Error).message }));
      throw e;
    }
  }

  private async addEndpoint(req: AttachRequest, sb: SandboxState, n: NetworkRecord, a: AttachNetwork): Promise<EndpointState> {
    const ifName = `eth${this.nextIfIndex(sb)}`;
    if (a.ipv4) {
      if (!n.userSubnet) throw errInvalid('user specified IP address is supported only when connecting to networks with user configured subnets');
      if (!contains(parseCidr(n.subnet!, { allowHostBits: true }), parseIpv4(a.ipv4))) throw errInvalid(`no available IPv4 addresses on this network's address pools: ${n.name} (${n.subnet}) for ${a.ipv4}`);
    }
    const args = a.ipv4 ? { IgnoreUnknown: '1', IP: a.ipv4 } : undefined;
    let result: CniResult;
    try {
      result = await cniAdd(this.conflist(n, !!a.ipv4), { containerId: req.id, netns: sb.key, ifName, ...(args ? { args } : {}) }, this.cniPath);
    } catch (e) {
      const msg = (e as Error).message;
      // host-local: "requested IP address X is not available in range set ..." when another holds it.
      if (a.ipv4 && /already|reserved|allocated|not available/i.test(msg)) throw new BerthError('conflict', `Address already in use: ${a.ipv4}`, { cause: e });
      if (/no IP addresses available/.test(msg)) throw new BerthError('permission-denied', `no available IPv4 addresses on this network's address pools: ${n.name} (${n.id})`, { cause: e });
      throw new BerthError(errorCode(e) ?? 'internal', `failed to set up container networking on ${n.name}: ${msg}`, { cause: e });
    }
    const ifIdx = result.interfaces?.findIndex((i) => i.name === ifName && i.sandbox) ?? -1;
    const ipc = result.ips?.find((i) => i.interface === ifIdx) ?? result.ips?.[0];
    if (!ipc) {
      await cniDel(this.conflist(n), { containerId: req.id, netns: sb.key, ifName }, result, this.cniPath).catch(() => undefined);
      throw new BerthError('internal', `network ${n.name}: CNI ADD returned no address`);
    }
    const [ip, prefix] = ipc.address.split('/');
    const aliases = [...new Set(a.aliases ?? [])];
    const dnsNames = n.builtin ? [] : [...new Set([req.name, ...aliases, req.id.slice(0, 12)])];
    return {
      network: n.name, networkId: n.id, endpointId: newId(), ifName, ip: ip!, prefixLen: Number(prefix), gateway: ipc.gateway ?? n.gateway ?? '',
      mac: result.interfaces?.[ifIdx]?.mac ?? '', aliases, dnsNames, result,
    };
  }

  private nextIfIndex(sb: SandboxState): number {
    const used = new Set(sb.endpoints.map((e) => e.ifName));
    let i = 0;
    while (used.has(`eth${i}`)) i++;
    return i;
  }

  /**
   * Bind the host side of every published port toward `ip`; Docker's error when a port is taken. A port
   * without a host IP is 0.0.0.0 and, when the host has IPv6, [::] on the same port number (dockerd 20.10+).
   */
  private async publish(req: AttachRequest, ip: string): Promise<PublishedPort[]> {
    const out: PublishedPort[] = [];
    const wanted = parsePortBindings(req.ports, req.publishAll ? req.exposed : []);
    // Read only when some port has no host IP (and not for a container that publishes nothing).
    const both = wanted.some((w) => !w.hostIp) && hostHasIpv6() ? ['0.0.0.0', '::'] : ['0.0.0.0'];
    try {
      for (const w of wanted) {
        const ips = w.hostIp ? [w.hostIp] : both;
        let bound: PublishedPort[] | undefined;
        let lastErr: unknown;
        // An ephemeral port the kernel picked for IPv4 may be taken on IPv6: a few more picks.
        const tries = w.hostPortLow ? Array.from({ length: w.hostPortHigh - w.hostPortLow + 1 }, (_, i) => w.hostPortLow + i) : [0, 0, 0];
        for (const p of tries) {
          try {
            bound = await this.bindEach(w, ips, p, ip);
            break;
          } catch (e) {
            lastErr = e;
          }
        }
        if (!bound) throw new BerthError(errorCode(lastErr) ?? 'internal', `driver failed programming external connectivity on endpoint ${req.name} (${req.id}): ${(lastErr as Error).message}`, { cause: lastErr });
        out.push(...bound);
      }
      return out;
    } catch (e) {
      for (const p of out) await (await this.forwarder()).remove({ ...p, containerIp: ip }).catch(() => undefined);
      throw e;
    }
  }

  /** One host port on each of `hostIps` (the first picks it when 0): all bound, or none. */
  private async bindEach(w: WantedPort, hostIps: string[], port: number, ip: string): Promise<PublishedPort[]> {
    const fw = await this.forwarder();
    const got: PublishedPort[] = [];
    try {
      for (const hostIp of hostIps) {
        const b = await fw.add({ proto: w.proto, hostIp, hostPort: got[0]?.hostPort ?? port, containerIp: ip, containerPort: w.containerPort });
        got.push({ proto: w.proto, hostIp: b.hostIp, hostPort: b.hostPort, containerPort: w.containerPort });
      }
      return got;
    } catch (e) {
      for (const p of got) await fw.remove({ ...p, containerIp: ip }).catch(() => undefined);
      throw e;
    }
  }

  /** Register the endpoint's names with its network's DNS server, started with the first member; a server that cannot bind fails the join. */
  private async joinDns(req: AttachRequest, ep: EndpointState, a?: AttachNetwork): Promise<void> {
    const n = this.store.find(ep.networkId);
    if (!n || n.builtin) return; // Docker's default bridge has no embedded DNS
    let d = this.dns.get(n.id);
    if (!d) {
      d = { members: new Map() };
      this.dns.set(n.id, d);
    }
    const links = Object.entries(a?.links ?? {}).map(([k, v]) => [k.toLowerCase(), v.toLowerCase()] as const);
    d.members.set(req.id, {
      names: ep.dnsNames.map((s) => s.toLowerCase()), ip: ep.ip,
      ...(req.dns?.length ? { dns: req.dns } : {}), ...(links.length ? { links: new Map(links) } : {}),
    });
    if (d.server || d.starting) return d.starting;
    const members = d.members;
    const entry = d;
    const member = (ip: string) => [...members.values()].find((m) => m.ip === ip);
    d.starting = import('./dns-server.js').then(({ DnsServer }) => new DnsServer({
      address: n.gateway!, ...(this.o.dnsPort ? { port: this.o.dnsPort } : {}),
      // A legacy link's alias stands for the linked container's name, for the linking container only (libnetwork's endpoint aliases).
      lookup: (name, client) => {
        const want = member(client)?.links?.get(name) ?? name;
        return [...members.values()].filter((m) => m.names.includes(want)).map((m) => m.ip);
      },
      // PTR: the container's name on this network (dockerd answers `name.network`; the name alone is what /etc/hosts-style tools print).
      reverse: (ip) => member(ip)?.names[0],
      upstreams: this.o.dnsUpstreams ?? dnsUpstreams(),
      clientUpstreams: (ip) => member(ip)?.dns,
      log: this.log,
    })).then(async (server) => {
      await server.start();
      entry.server = server;
    }).catch((e: unknown) => {
      throw new BerthError(errorCode(e) ?? 'unavailable', `network ${n.name}: cannot start its embedded DNS server: ${(e as Error).message}`, { cause: e });
    }).finally(() => { entry.starting = undefined; });
    return d.starting;
  }

  private leaveDns(id: string, ep: EndpointState): void {
    this.dns.get(ep.networkId)?.members.delete(id);
  }

  /** Connect a running container's sandbox to one more network (docker network connect). */
  async connect(req: AttachRequest, sb: SandboxState, a: AttachNetwork): Promise<EndpointState> {
    const n = this.resolve(a.name);
    if (sb.endpoints.some((e) => e.networkId === n.id)) throw new BerthError('permission-denied', `endpoint with name ${req.name} already exists in network ${n.name}`);
    const ep = await this.addEndpoint(req, sb, n, a);
    try {
      await this.joinDns(req, ep, a);
    } catch (e) {
      this.leaveDns(req.id, ep);
      await this.delEndpoint(req.id, sb, ep).catch((de) => this.log.warn('network: undo connect', { id: req.id, err: (de as Error).message }));
      throw e;
    }
    sb.endpoints.push(ep);
    return ep;
  }

  /** Remove one network's endpoint from a running container's sandbox. */
  async disconnect(id: string, sb: SandboxState, networkId: string): Promise<void> {
    const i = sb.endpoints.findIndex((e) => e.networkId === networkId);
    if (i < 0) return;
    const ep = sb.endpoints[i]!;
    this.leaveDns(id, ep);
    await this.delEndpoint(id, sb, ep);
    sb.endpoints.splice(i, 1);
  }

  private async delEndpoint(id: string, sb: SandboxState, ep: EndpointState): Promise<void> {
    const n = this.store.find(ep.networkId);
    if (!n) {
      // The network is gone (removed while down): its IPAM dir and bridge went with it.
      return;
    }
    await cniDel(this.conflist(n), { containerId: id, netns: existsSync(sb.key) ? sb.key : '', ifName: ep.ifName }, ep.result, this.cniPath);
  }

  /** Undo a sandbox: published ports, DNS names, CNI DEL per endpoint, the pinned netns. Safe to repeat. */
  async detach(id: string, sb: SandboxState): Promise<void> {
    const ip = sb.endpoints[0]?.ip ?? '';
    if (sb.ports.length) {
      const fw = await this.forwarder();
      for (const p of sb.ports) await fw.remove({ ...p, containerIp: ip }).catch(() => undefined);
    }
    let first: unknown;
    for (const ep of [...sb.endpoints].reverse()) {
      this.leaveDns(id, ep);
      try {
        await this.delEndpoint(id, sb, ep);
      } catch (e) {
        first ??= e;
        this.log.warn('network: CNI DEL failed', { id, network: ep.network, err: (e as Error).message });
      }
    }
    await unpinNetns(sb.key);
    if (first) throw first;
  }

  /**
   * A sandbox a crash left before it was recorded (between the pin and the record): CNI DEL for
   * each network the container was to join (eth0, eth1, ... in order; DEL needs no result to
   * release the lease and the veth), then the pinned netns. Nothing to do when no netns is pinned.
   */
  async recover(id: string, networkIds: string[]): Promise<boolean> {
    const key = this.sandboxPath(id);
    if (!existsSync(key)) return false;
    for (const [i, nid] of networkIds.entries()) {
      const n = this.store.find(nid);
      if (!n || n.driver !== 'bridge') continue;
      const list = this.conflist(n);
      await cniDel(list, { containerId: id, netns: key, ifName: `eth${i}` }, this.leaseResult(n, list, id, `eth${i}`), this.cniPath)
        .catch((e) => this.log.warn('network: recover CNI DEL', { id, network: n.name, err: (e as Error).message }));
    }
    await unpinNetns(key);
    return true;
  }

  /**
   * The part of a lost ADD result that DEL needs, from host-local's lease of `id`'s `ifName` (a file
   * named by the address, holding the container id and the interface): the address, for the firewall
   * plugin to find its rules by (without a prevResult its DEL removes nothing). Undefined when there
   * is no lease (the crash came before the address was given).
   */
  private leaseResult(n: NetworkRecord, list: CniConfList, id: string, ifName: string): CniResult | undefined {
    const lease = readLeases(join(this.ipamDir, n.id)).find((l) => l.containerId === id && (l.ifName === '' || l.ifName === ifName));
    if (!lease || !n.subnet) return undefined;
    return { cniVersion: list.cniVersion, ips: [{ address: `${lease.ip}/${parseCidr(n.subnet, { allowHostBits: true }).bits}` }] };
  }

  /** CNI CHECK of every endpoint with its cached ADD result: the plugins say whether the interface, address and routes are still as made. */
  async check(id: string, sb: SandboxState): Promise<void> {
    for (const ep of sb.endpoints) await this.checkEndpoint(id, sb, ep);
  }

  private async checkEndpoint(id: string, sb: SandboxState, ep: EndpointState): Promise<void> {
    const n = this.store.find(ep.networkId);
    if (!n) throw errNotFound(`network ${ep.network} not found`);
    await cniCheck(this.conflist(n), { containerId: id, netns: sb.key, ifName: ep.ifName }, ep.result, this.cniPath);
  }

  /**
   * After a berthd restart: a running container's ports and DNS names come back (the kernel kept the
   * rest; CHECK says if it did). A broken endpoint is reported, not remade: a DEL and ADD under the
   * running processes would change their interface, and fails anyway while a half of it is left.
   */
  async restore(req: AttachRequest, sb: SandboxState): Promise<void> {
    for (const ep of sb.endpoints) {
      await this.checkEndpoint(req.id, sb, ep).catch((e) => this.log.warn('network: endpoint broken after restart (CNI CHECK failed)', {
        container: req.name, id: req.id, network: ep.network, ifName: ep.ifName, err: (e as Error).message,
      }));
    }
    const ip = sb.endpoints[0]?.ip;
    if (ip) {
      for (const p of sb.ports) {
        await (await this.forwarder()).add({ proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, containerIp: ip, containerPort: p.containerPort })
          .catch((e) => this.log.warn('network: restore port', { id: req.id, port: p.hostPort, err: (e as Error).message }));
      }
    }
    for (const ep of sb.endpoints) {
      // The container runs on: a DNS server that cannot come back is reported, as a broken endpoint is.
      await this.joinDns(req, ep, req.networks.find((a) => a.name === ep.networkId || a.name === ep.network))
        .catch((e) => this.log.warn('network: DNS after restart', { container: req.name, network: ep.network, err: (e as Error).message }));
    }
  }

  async close(): Promise<void> {
    if (this.forwarderP) await (await this.forwarderP).close();
    for (const d of this.dns.values()) {
      await d.starting?.catch(() => undefined);
      await d.server?.close().catch(() => undefined);
    }
    this.dns.clear();
  }
}

/** Whether this network namespace has IPv6 (an address on lo): dockerd binds [::] beside 0.0.0.0 then. */
function hostHasIpv6(): boolean {
  try {
    return /\blo$/m.test(readFileSync('/proc/net/if_inet6', 'utf8'));
  } catch {
    return false; // ipv6.disable=1: no such file
  }
}

/** A port to publish: the host side may be a range to pick from (Docker's `8000-8010:80`); hostIp '' is every address of both families. */
export interface WantedPort { proto: 'tcp' | 'udp'; hostIp: string; hostPortLow: number; hostPortHigh: number; containerPort: number }

/**
 * PortBindings plus, for -P, every exposed port not bound explicitly (on an ephemeral host port).
 * Bad specs get dockerd's validatePortBindings text (it checks at create, so this runs at create too).
 */
export function parsePortBindings(bindings: AttachRequest['ports'], publishAll: string[]): WantedPort[] {
  const out: WantedPort[] = [];
  const bad = (spec: string) => errInvalid(`invalid port specification: "${spec}"`);
  const portKey = (k: string) => {
    const [num = '', proto = 'tcp'] = k.split('/', 2);
    const port = /^\d+$/.test(num) ? Number(num) : 0;
    if (port < 1 || port > 65535) throw bad(num);
    if (proto === 'sctp') throw errInvalid('sctp ports are not supported by Berth');
    if (proto !== 'tcp' && proto !== 'udp') throw bad(k);
    return { containerPort: port, proto: proto as 'tcp' | 'udp' };
  };
  for (const [k, list] of Object.entries(bindings ?? {})) {
    const { containerPort, proto } = portKey(k);
    for (const b of list?.length ? list : [{}]) {
      const hostIp = b.HostIp ?? '';
      if (hostIp && !isIP(hostIp)) throw errInvalid(`invalid host IP address: ${hostIp}`);
      const hp = b.HostPort ?? '';
      let low = 0;
      let high = 0;
      if (hp) {
        const m = /^(\d+)(?:-(\d+))?$/.exec(hp);
        if (!m) throw bad(hp);
        low = Number(m[1]);
        high = m[2] ? Number(m[2]) : low;
        if (low > 65535 || high > 65535 || high < low) throw bad(hp);
      }
      out.push({ proto, hostIp, hostPortLow: low, hostPortHigh: high, containerPort });
    }
  }
  for (const k of publishAll) {
    const { containerPort, proto } = portKey(k);
    if (out.some((w) => w.containerPort === containerPort && w.proto === proto)) continue;
    out.push({ proto, hostIp: '', hostPortLow: 0, hostPortHigh: 0, containerPort });
  }
  return out;
}
