// The embedded DNS server of a user-defined network: answers the network's names on the gateway, as dockerd's resolver.
//
// One per network, on the bridge's gateway address, UDP and TCP port 53. What it answers follows libnetwork's
// resolver (moby/libnetwork/resolver.go): A records of the network's names with TTL 600 (shuffled, as dockerd does, so
// clients spread over the aliases' containers), an empty NOERROR for AAAA of a known name (the network has no IPv6),
// PTR for the network's addresses; every other question goes to the upstream resolvers, or gets REFUSED when there
// are none (what the tests use: no recursion to the outside). A container with its own --dns servers has its
// questions forwarded to those, told apart by the query's source address.
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv4, isIPv6, type Server, type Socket } from 'node:net';
import { errInvalid, errUnavailable } from '../common/errors.js';
import { forwardTcp, forwardUdp, parseUpstream, type Upstream } from './dns-forward.js';
import {
  CLASS_IN, FrameReader, OPCODE_QUERY, RCODE, TYPE, UDP_MAX, encodeMessage, frame, parseHeader, parseMessage,
  type DnsMessage, type DnsQuestion, type RecordInput,
} from './dns-message.js';

export interface DnsServerOptions {
  /** The address to listen on, e.g. the gateway IP "10.88.0.1". */
  address: string;
  /** Default 53; 0 picks a free port (the same one for UDP and TCP). */
  port?: number;
  /**
   * Names of this network -> IPv4 addresses (container names, aliases, short ids). Called per query with the
   * asking client's address (a legacy link is a name only its container sees); names lower-case, without trailing dot.
   */
  lookup(name: string, client: string): string[];
  /** An address of this network -> the name it answers for PTR (without trailing dot), or undefined. */
  reverse?(ip: string): string | undefined;
  /** Upstream resolvers (`ip` or `ip:port`) for names not in the network; none (default) = answer REFUSED. */
  upstreams?: string[];
  /**
   * A client's own upstreams (a container's --dns), used for its queries instead of `upstreams`, as dockerd's
   * per-container resolver forwards to the container's --dns servers; undefined or empty: `upstreams`.
   */
  clientUpstreams?(client: string): string[] | undefined;
  /** How long to wait for each upstream, in ms (default 4000, dockerd's extIOTimeout). */
  upstreamTimeoutMs?: number;
  log?: { warn(msg: string, f?: object): void; debug?(msg: string, f?: object): void };
}

/** The TTL dockerd gives its own answers (libnetwork respTTL). */
export const ANSWER_TTL = 600;
/** Queries being forwarded at once; more get SERVFAIL (dockerd's maxConcurrent). */
const MAX_FORWARDS = 100;
/** A TCP client that sends nothing for this long is closed. */
const TCP_IDLE_MS = 10000;
/** The EDNS payload size we honour at most for our own UDP answers. */
const EDNS_MAX = 4096;

type Proto = 'udp' | 'tcp';

/** A DNS server for one network. `start()` binds UDP and TCP; `close()` stops both and drops open TCP clients. */
export class DnsServer {
  readonly address: string;
  private boundPort: number;
  private udp?: UdpSocket;
  private tcp?: Server;
  private readonly clients = new Set<Socket>();
  private readonly upstreams: Upstream[];
  private forwards = 0;
  private closed = false;

  constructor(private readonly o: DnsServerOptions) {
    if (!isIPv4(o.address) && !isIPv6(o.address)) throw errInvalid(`dns server: invalid listen address "${o.address}"`);
    this.address = o.address;
    this.boundPort = o.port ?? 53;
    this.upstreams = (o.upstreams ?? []).map(parseUpstream);
  }

  /** The port it listens on (the one picked, after `start()` with port 0). */
  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    // With port 0, UDP picks the port and TCP must get the same one; another process may hold it on TCP, so retry.
    for (let attempt = 0; ; attempt++) {
      const udp = await this.bindUdp(this.o.port ?? 53);
      try {
        this.tcp = await this.listenTcp(udp.address().port);
        this.udp = udp;
        this.boundPort = udp.address().port;
        return;
      } catch (e) {
        udp.close();
        if ((this.o.port ?? 53) !== 0 || attempt >= 5) throw e;
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.clients) c.destroy();
    await Promise.all([
      this.udp && new Promise<void>((r) => this.udp!.close(() => r())),
      this.tcp && new Promise<void>((r) => this.tcp!.close(() => r())),
    ]);
  }

  private bindUdp(port: number): Promise<UdpSocket> {
    return new Promise((resolve, reject) => {
      const sock = createSocket({ type: isIPv6(this.address) ? 'udp6' : 'udp4' });
      sock.once('error', (e) => reject(errUnavailable(`dns server: listen udp ${this.hostPort(port)}: ${e.message}`, e)));
      sock.bind(port, this.address, () => {
        sock.removeAllListeners('error');
        sock.on('error', (e) => this.o.log?.warn('dns server: udp socket error', { error: e.message }));
        sock.on('message', (msg, rinfo) => this.onDatagram(sock, msg, rinfo));
        resolve(sock);
      });
    });
  }

  private listenTcp(port: number): Promise<Server> {
    return new Promise((resolve, reject) => {
      const srv = createServer({ allowHalfOpen: true }, (c) => this.onTcpClient(c));
      srv.once('error', (e) => reject(errUnavailable(`dns server: listen tcp ${this.hostPort(port)}: ${e.message}`, e)));
      srv.listen({ host: this.address, port, exclusive: true }, () => {
        srv.removeAllListeners('error');
        srv.on('error', (e) => this.o.log?.warn('dns server: tcp server error', { error: e.message }));
        resolve(srv);
      });
    });
  }

  private hostPort(port: number): string {
    return isIPv6(this.address) ? `[${this.address}]:${port}` : `${this.address}:${port}`;
  }

  private onDatagram(sock: UdpSocket, msg: Buffer, rinfo: RemoteInfo): void {
    this.answer(msg, 'udp', rinfo.address).then((reply) => {
      if (reply && !this.closed) sock.send(reply, rinfo.port, rinfo.address);
    }, (e: unknown) => this.o.log?.warn('dns server: query failed', { error: String(e) }));
  }

  private onTcpClient(c: Socket): void {
    this.clients.add(c);
    c.setNoDelay(true);
    c.setTimeout(TCP_IDLE_MS, () => c.destroy());
    const reader = new FrameReader();
    // A client may send its queries and half-close at once; the answers still go out, then our side closes.
    let pending = 0;
    let ended = false;
    const maybeEnd = () => { if (ended && pending === 0 && !c.destroyed) c.end(); };
    c.on('data', (chunk: Buffer) => {
      for (const msg of reader.push(chunk)) {
        pending++;
        this.answer(msg, 'tcp', c.remoteAddress ?? '').then((reply) => {
          if (reply && !c.destroyed && !c.writableEnded) c.write(frame(reply));
        }, (e: unknown) => this.o.log?.warn('dns server: query failed', { error: String(e) })).finally(() => {
          pending--;
          maybeEnd();
        });
      }
    });
    c.on('end', () => { ended = true; maybeEnd(); });
    c.on('error', () => c.destroy());
    c.on('close', () => this.clients.delete(c));
  }

  /** The reply to one query, or undefined to drop it (not a query, or too mangled to reply to). */
  async answer(query: Buffer, proto: Proto, client = ''): Promise<Buffer | undefined> {
    const h = parseHeader(query);
    if (!h || h.qr) return undefined; // no id to answer to, or a response: never answer those (loops)
    let m: DnsMessage;
    try {
      m = parseMessage(query);
    } catch (e) {
      this.o.log?.debug?.('dns server: malformed query', { error: (e as Error).message });
      return this.error(h.id, h.opcode, h.rd, RCODE.FORMERR);
    }
    if (h.opcode !== OPCODE_QUERY) return this.error(h.id, h.opcode, h.rd, RCODE.NOTIMP, m.questions);
    const q = m.questions[0];
    if (m.questions.length !== 1 || !q) return this.error(h.id, h.opcode, h.rd, RCODE.FORMERR, m.questions);
    const local = q.class === CLASS_IN ? this.local(q, client) : undefined;
    if (local) {
      const max = proto === 'tcp' ? 65535 : udpLimit(m);
      try {
        // CD is echoed, as miekg/dns SetReply does for dockerd.
        return encodeMessage({ header: { id: h.id, qr: true, rd: h.rd, ra: true, z: h.z & 0x1 }, questions: [q], answers: local }, max);
      } catch (e) {
        // A name from reverse() that is no DNS name: the network's data is at fault, not the client.
        this.o.log?.warn('dns server: cannot encode answer', { name: q.name, error: (e as Error).message });
        return this.error(h.id, h.opcode, h.rd, RCODE.SERVFAIL, m.questions);
      }
    }
    return this.forward(query, m, proto, client);
  }

  /** The network's own answer, or undefined when the name is not the network's. */
  private local(q: DnsQuestion, client: string): RecordInput[] | undefined {
    const name = q.name.toLowerCase();
    if (q.type === TYPE.A || q.type === TYPE.AAAA) {
      const ips = this.o.lookup(name, client);
      if (ips.length === 0) return undefined;
      // The network has no IPv6: a known name has no AAAA, which is an empty NOERROR, not NXDOMAIN.
      if (q.type === TYPE.AAAA) return [];
      return shuffle(ips.filter((ip) => isIPv4(ip))).map((address) => ({ name: q.name, type: TYPE.A, ttl: ANSWER_TTL, address }));
    }
    if (q.type === TYPE.PTR && this.o.reverse) {
      const ip = ptrAddress(name);
      const target = ip === undefined ? undefined : this.o.reverse(ip);
      if (target) return [{ name: q.name, type: TYPE.PTR, ttl: ANSWER_TTL, target }];
    }
    return undefined;
  }

  private async forward(query: Buffer, m: DnsMessage, proto: Proto, client: string): Promise<Buffer | undefined> {
    const { id, opcode, rd } = m.header;
    const own = client ? this.o.clientUpstreams?.(client) : undefined;
    const upstreams = own?.length ? own.map(parseUpstream) : this.upstreams;
    if (upstreams.length === 0) return this.error(id, opcode, rd, RCODE.REFUSED, m.questions);
    if (this.forwards >= MAX_FORWARDS) {
      this.o.log?.warn('dns server: too many queries being forwarded', { max: MAX_FORWARDS });
      return this.error(id, opcode, rd, RCODE.SERVFAIL, m.questions);
    }
    this.forwards++;
    try {
      const timeout = this.o.upstreamTimeoutMs ?? 4000;
      for (const up of upstreams) {
        if (up.port === this.boundPort && up.host === this.address) continue; // never ourselves
        let reply = await forwardUdp(query, up, timeout);
        // A truncated answer is what a UDP client gets anyway; a TCP client asked for the whole of it.
        if (reply && proto === 'tcp' && parseHeader(reply)?.tc) reply = (await forwardTcp(query, up, timeout)) ?? reply;
        if (reply) return reply;
        this.o.log?.debug?.('dns server: upstream did not answer', { upstream: `${up.host}:${up.port}` });
      }
      return this.error(id, opcode, rd, RCODE.SERVFAIL, m.questions);
    } finally {
      this.forwards--;
    }
  }

  private error(id: number, opcode: number, rd: boolean, rcode: number, questions: DnsQuestion[] = []): Buffer {
    const header = { id, qr: true, opcode, rd, ra: true, rcode };
    try {
      return encodeMessage({ header, questions });
    } catch {
      // A question we read but cannot write back: the rcode alone still tells the client.
      return encodeMessage({ header });
    }
  }
}

/** The UDP payload the client accepts: 512, or its EDNS OPT size (RFC 6891 6.2.3) up to EDNS_MAX. */
function udpLimit(m: DnsMessage): number {
  const opt = m.additionals.find((r) => r.type === TYPE.OPT);
  return opt ? Math.min(Math.max(opt.class, UDP_MAX), EDNS_MAX) : UDP_MAX;
}

/** `4.3.2.1.in-addr.arpa` -> `1.2.3.4`; undefined for anything else (ip6.arpa included: no IPv6 on our networks). */
export function ptrAddress(name: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(name);
  if (!m) return undefined;
  const ip = [m[4], m[3], m[2], m[1]].map(Number);
  return ip.every((x) => x <= 255) ? ip.join('.') : undefined;
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
