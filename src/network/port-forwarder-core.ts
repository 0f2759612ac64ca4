// The port forwarder's sockets: listeners, TCP pipes, UDP flows; run in its own thread (see port-forwarder.ts).
//
// TCP: each accepted connection gets its own connection to the container, piped both ways (backpressure through
// pipe(), a half-close passed on as one, an error on either side destroys both). UDP: each client address gets its
// own socket toward the container, so replies find their way back; a flow idle for `udpIdleMs` is dropped (docker-proxy
// keeps 90 s, UDPConnTrackTimeout).
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, isIP, isIPv6, type Server, type Socket } from 'node:net';
import { errConflict, errInvalid, errUnavailable, BerthError } from '../common/errors.js';

export interface PortBinding {
  proto: 'tcp' | 'udp';
  /** '' or '0.0.0.0' = every IPv4 address (list() and add() give back '0.0.0.0'); '::' = every IPv6 address (V6ONLY, so 0.0.0.0 of the same port is another binding, as dockerd's). */
  hostIp: string;
  /** 0 = pick a free one. */
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

/** Where the forwarder's lines go (a berthd Logger fits). */
export interface ForwarderLog {
  warn(msg: string, f?: object): void;
  debug?(msg: string, f?: object): void;
}

export interface ForwarderCoreOptions {
  log?: ForwarderLog;
  /** How long a UDP flow lives without traffic, in ms (default 90000). */
  udpIdleMs?: number;
}

const DEFAULT_UDP_IDLE_MS = 90000;

interface Active {
  binding: PortBinding;
  close(): Promise<void>;
}

/** The identity of a binding: proto, host address ('' read as '0.0.0.0') and port. */
export const keyOf = (b: Pick<PortBinding, 'proto' | 'hostIp' | 'hostPort'>) => `${b.proto}/${b.hostIp || '0.0.0.0'}/${b.hostPort}`;
const hostPortText = (ip: string, port: number) => (isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`);

/** Every published port's sockets, in the thread that runs it. */
export class ForwarderCore {
  private readonly active = new Map<string, Active>();
  private readonly udpIdleMs: number;

  constructor(private readonly o: ForwarderCoreOptions = {}) {
    this.udpIdleMs = o.udpIdleMs ?? DEFAULT_UDP_IDLE_MS;
  }

  /**
   * Bind the host side of `b`; resolves with the binding as bound (hostIp normalised, the port picked for 0).
   * A host port already held (by this forwarder or anyone else) is a `conflict` with dockerd's message.
   */
  async add(b: PortBinding): Promise<PortBinding> {
    const binding = normalise(b);
    if (binding.hostPort !== 0 && this.active.has(keyOf(binding))) {
      throw errConflict(allocated(binding));
    }
    const a = binding.proto === 'tcp' ? await this.listenTcp(binding) : await this.bindUdp(binding);
    this.active.set(keyOf(a.binding), a);
    this.o.log?.debug?.('port forwarder: bound', { ...a.binding });
    return { ...a.binding };
  }

  /** Close the listener of `b` and every live connection or flow through it. Unknown bindings are ignored. */
  async remove(b: PortBinding): Promise<void> {
    const key = keyOf(b);
    const a = this.active.get(key);
    if (!a) return;
    this.active.delete(key);
    await a.close();
  }

  list(): PortBinding[] {
    return [...this.active.values()].map((a) => ({ ...a.binding }));
  }

  async close(): Promise<void> {
    const all = [...this.active.values()];
    this.active.clear();
    await Promise.all(all.map((a) => a.close()));
  }

  private listenTcp(b: PortBinding): Promise<Active> {
    const conns = new Set<Socket>();
    const log = this.o.log;
    // allowHalfOpen: a client's FIN must reach the container as a FIN, not close our write side toward the client.
    const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (client) => {
      const upstream = connect({ host: b.containerIp, port: b.containerPort, allowHalfOpen: true, noDelay: true });
      conns.add(client);
      conns.add(upstream);
      let connected = false;
      const kill = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', kill);
      upstream.on('error', (e: NodeJS.ErrnoException) => {
        // Refused or unreachable before connecting: the client just sees its connection closed, as with docker-proxy.
        if (!connected) log?.debug?.('port forwarder: cannot reach container', { ...b, error: e.code ?? e.message });
        kill();
      });
      // A clean close comes after both directions ended, and pipe() has ended the other side after its last byte;
      // destroying it here could drop what it still has to flush. Only an abort takes the other side down.
      client.on('close', (hadError) => { conns.delete(client); if (hadError || !connected) kill(); });
      upstream.on('close', (hadError) => { conns.delete(upstream); if (hadError) kill(); });
      upstream.once('connect', () => {
        connected = true;
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    });
    return new Promise((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(bindError(b, e)));
      server.listen({ host: b.hostIp, port: b.hostPort, exclusive: true, ipv6Only: b.hostIp === '::' }, () => {
        server.removeAllListeners('error');
        server.on('error', (e) => log?.warn('port forwarder: tcp server error', { ...b, error: e.message }));
        const binding = { ...b, hostPort: (server.address() as { port: number }).port };
        resolve({
          binding,
          close: () => new Promise<void>((r) => {
            server.close(() => r());
            for (const c of conns) c.destroy();
          }),
        });
      });
    });
  }

  private bindUdp(b: PortBinding): Promise<Active> {
    const flows = new Map<string, { sock: UdpSocket; last: number }>();
    const log = this.o.log;
    const idleMs = this.udpIdleMs;
    const host = createSocket({ type: isIPv6(b.hostIp) ? 'udp6' : 'udp4', ipv6Only: b.hostIp === '::' });
    const toContainer = isIPv6(b.containerIp) ? 'udp6' : 'udp4';

    const flowFor = (rinfo: RemoteInfo) => {
      const key = `${rinfo.address}/${rinfo.port}`;
      let f = flows.get(key);
      if (f) return f;
      const sock = createSocket(toContainer);
      f = { sock, last: Date.now() };
      const flow = f;
      flows.set(key, flow);
      // Only what the container's address and port send back belongs to this flow (docker-proxy dials, so the
      // kernel filters the same way).
      sock.on('message', (reply, from) => {
        if (from.port !== b.containerPort || from.address !== b.containerIp) return;
        flow.last = Date.now();
        host.send(reply, rinfo.port, rinfo.address);
      });
      sock.on('error', (e) => {
        log?.debug?.('port forwarder: udp flow error', { ...b, client: key, error: e.message });
        drop(key);
      });
      return flow;
    };
    const drop = (key: string) => {
      const f = flows.get(key);
      if (!f) return;
      flows.delete(key);
      try { f.sock.close(); } catch { /* already closed */ }
    };

    host.on('message', (msg, rinfo) => {
      const f = flowFor(rinfo);
      f.last = Date.now();
      f.sock.send(msg, b.containerPort, b.containerIp);
    });
    // One sweep per binding instead of a timer per datagram.
    const sweep = setInterval(() => {
      const cutoff = Date.now() - idleMs;
      for (const [key, f] of flows) if (f.last < cutoff) drop(key);
    }, Math.max(Math.min(idleMs / 2, 10000), 10));
    sweep.unref();

    return new Promise((resolve, reject) => {
      host.once('error', (e: NodeJS.ErrnoException) => {
        clearInterval(sweep);
        reject(bindError(b, e));
      });
      host.bind({ address: b.hostIp, port: b.hostPort, exclusive: true }, () => {
        host.removeAllListeners('error');
        host.on('error', (e) => log?.warn('port forwarder: udp socket error', { ...b, error: e.message }));
        const binding = { ...b, hostPort: host.address().port };
        resolve({
          binding,
          close: () => new Promise<void>((r) => {
            clearInterval(sweep);
            for (const key of [...flows.keys()]) drop(key);
            host.close(() => r());
          }),
        });
      });
    });
  }
}

/** Check a binding and give it its normal form (hostIp '' -> '0.0.0.0'); throws `invalid-argument`. */
export function normalise(b: PortBinding): PortBinding {
  const hostIp = b.hostIp === '' ? '0.0.0.0' : b.hostIp;
  const port = (p: number) => Number.isInteger(p) && p >= 0 && p <= 65535;
  if (b.proto !== 'tcp' && b.proto !== 'udp') throw errInvalid(`invalid proto "${String(b.proto)}"`);
  if (!isIP(hostIp)) throw errInvalid(`invalid IP address: ${b.hostIp}`);
  if (!port(b.hostPort)) throw errInvalid(`invalid hostPort: ${b.hostPort}`);
  if (!isIP(b.containerIp)) throw errInvalid(`invalid container IP address: ${b.containerIp}`);
  if (!port(b.containerPort) || b.containerPort === 0) throw errInvalid(`invalid containerPort: ${b.containerPort}`);
  return { proto: b.proto, hostIp, hostPort: b.hostPort, containerIp: b.containerIp, containerPort: b.containerPort };
}

/** dockerd's portallocator message (ErrPortAlreadyAllocated). */
export const allocated = (b: PortBinding) => `Bind for ${hostPortText(b.hostIp, b.hostPort)} failed: port is already allocated`;

function bindError(b: PortBinding, e: NodeJS.ErrnoException): BerthError {
  if (e.code === 'EADDRINUSE') return errConflict(allocated(b), e);
  // dockerd's words for a host IP that is not ours: "listen tcp4 1.2.3.4:80: bind: cannot assign requested address".
  const fam = isIPv6(b.hostIp) ? '6' : '4';
  const why = e.code === 'EADDRNOTAVAIL' ? 'cannot assign requested address' : e.code === 'EACCES' ? 'permission denied' : e.message;
  const msg = `listen ${b.proto}${fam} ${hostPortText(b.hostIp, b.hostPort)}: bind: ${why}`;
  return e.code === 'EADDRNOTAVAIL' ? errInvalid(msg, e) : errUnavailable(msg, e);
}
