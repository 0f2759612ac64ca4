// berthd check: pinned netns files, IPAM leases (host-local's files), the veths on the networks' bridges and the firewall plugin's rules that no running container explains, and running containers' veths that are gone.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { readLeases } from '../network/ipam-leases.js';
import { contains, parseCidr, parseIpv4 } from '../network/ipnet.js';
import { hasTask, type CheckContext } from './context.js';
import type { Finding } from './findings.js';

const ls = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

/** The bridge an interface is enslaved to: '' for none, undefined when the interface does not exist. */
function masterOf(ifName: string): string | undefined {
  try {
    return readlinkSync(`/sys/class/net/${ifName}/master`).split('/').at(-1);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(`/sys/class/net/${ifName}`) ? '' : undefined;
  }
}

export function checkNetwork(ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  const { state } = ctx;
  // What the containers with a task hold: netns paths, leases (network id + IP), host-side veths.
  const netns = new Set<string>();
  const leases = new Set<string>();
  const veths = new Set<string>();
  const bridges = new Map(state.networks.map((n) => [n.id, n.bridge]));
  for (const c of state.records.values()) {
    if (!c.sandbox || !hasTask(ctx, c.id)) continue;
    netns.add(c.sandbox.key);
    for (const ep of c.sandbox.endpoints) {
      leases.add(`${ep.networkId}/${ep.ip}`);
      for (const i of ep.result.interfaces ?? []) {
        // The bridge plugin's result lists the bridge too.
        if (i.sandbox || i.name === bridges.get(ep.networkId)) continue;
        veths.add(i.name);
        // The kernel deletes both ends of a veth together: no host end, no eth in the container either.
        // berthd only reports this (CNI CHECK at its start); a restart of the container makes a new one.
        const master = masterOf(i.name);
        if (master === bridges.get(ep.networkId)) continue;
        const why = master === undefined ? 'is gone' : `is not on bridge ${bridges.get(ep.networkId) ?? '?'}`;
        out.push({
          kind: 'broken-endpoint', object: `${c.id}/${ep.network}`,
          message: `container ${c.name.slice(1)} (${c.id.slice(0, 12)}) on network ${ep.network}: its host interface ${i.name} ${why} (a restart of the container remakes it)`,
        });
      }
    }
  }

  const nsDir = join(ctx.execRoot, 'netns');
  for (const n of ls(nsDir)) {
    const p = join(nsDir, n);
    if (!netns.has(p)) out.push({ kind: 'orphan-netns', object: p, message: `network namespace ${p}: ${state.records.has(n) ? 'container has no running sandbox' : 'no such container'}` });
  }

  const ipamDir = join(ctx.dataRoot, 'network', 'ipam');
  const networks = new Map(state.networks.map((n) => [n.id, n]));
  for (const nid of ls(ipamDir)) {
    const dir = join(ipamDir, nid);
    if (!networks.has(nid)) {
      out.push({ kind: 'orphan-ipam-dir', object: dir, message: `IPAM dir ${dir}: network ${nid.slice(0, 12)} no longer exists` });
      continue;
    }
    for (const l of readLeases(dir)) {
      if (leases.has(`${nid}/${l.ip}`)) continue;
      out.push({ kind: 'orphan-lease', object: l.path, message: `lease of ${l.ip} on network ${networks.get(nid)!.name}: held for ${l.containerId ? l.containerId.slice(0, 12) : 'nobody'}, which has no running sandbox` });
    }
  }

  for (const n of state.networks) {
    if (n.driver !== 'bridge' || !n.bridge) continue;
    for (const port of ls(`/sys/class/net/${n.bridge}/brif`)) {
      if (!veths.has(port)) out.push({ kind: 'orphan-veth', object: port, message: `interface ${port} on bridge ${n.bridge} (network ${n.name}): no running container's` });
    }
  }
  // The firewall plugin's per-container rules (CNI-FORWARD, by the container's address) for an
  // address of one of our networks that no running container holds: a DEL that never ran.
  const held = new Set([...leases].map((l) => l.slice(l.indexOf('/') + 1)));
  const subnets = state.networks.filter((n) => n.driver === 'bridge' && n.subnet).map((n) => ({ n, net: parseCidr(n.subnet!, { allowHostBits: true }) }));
  for (const ip of firewallRuleAddresses()) {
    if (held.has(ip)) continue;
    const on = subnets.find((s) => contains(s.net, parseIpv4(ip)));
    if (on) out.push({ kind: 'orphan-firewall-rule', object: ip, message: `firewall rules for ${ip} (network ${on.n.name}) in iptables' CNI-FORWARD chain: no running container has that address` });
  }
  for (const n of state.pendingNetworkRemovals) {
    out.push({ kind: 'interrupted-network-removal', object: n.id, message: `network ${n.name} was removed, but its bridge ${n.bridge ?? ''} and leases may remain (berthd finishes it when it starts)` });
  }
  return out;
}

/** The addresses CNI-FORWARD has rules for (`-s A/32`, `-d A/32`); none without iptables or the chain. */
function firewallRuleAddresses(): Set<string> {
  const r = spawnSync('iptables', ['-w', '-S', 'CNI-FORWARD'], { encoding: 'utf8' });
  const out = new Set<string>();
  if (r.status !== 0) return out;
  for (const m of r.stdout.matchAll(/ -[sd] (\d+\.\d+\.\d+\.\d+)\/32 /g)) out.add(m[1]!);
  return out;
}
