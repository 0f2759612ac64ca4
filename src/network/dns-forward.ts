// Forwarding one DNS query to an upstream resolver: UDP with a timeout, again over TCP when the answer is truncated.
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import { FrameReader, frame, parseHeader } from './dns-message.js';

/** An upstream resolver's address. */
export interface Upstream {
  host: string;
  port: number;
}

/** Parse `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]:5353` (as resolv.conf and dockerd's --dns take them, plus a port). */
export function parseUpstream(s: string): Upstream {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return { host: v6[1]!, port: v6[2] ? Number(v6[2]) : 53 };
  if (isIPv6(s)) return { host: s, port: 53 };
  const i = s.lastIndexOf(':');
  if (i > 0) return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
  return { host: s, port: 53 };
}

/** Send `query` to `up` over UDP; resolves with the first reply carrying the query's id, or undefined on timeout. */
export function forwardUdp(query: Buffer, up: Upstream, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket(isIPv6(up.host) ? 'udp6' : 'udp4');
    const id = query.readUInt16BE(0);
    let done = false;
    const finish = (r: Buffer | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      resolve(r);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    // An unconnected socket, so replies are filtered here: only the upstream's address and port, only our id
    // (a stray or spoofed datagram must not become the answer).
    sock.on('message', (msg, rinfo) => {
      if (rinfo.address !== up.host || rinfo.port !== up.port) return;
      const h = parseHeader(msg);
      if (h && h.qr && h.id === id) finish(msg);
    });
    sock.on('error', () => finish(undefined));
    sock.send(query, up.port, up.host, (err) => { if (err) finish(undefined); });
  });
}

/** Send `query` to `up` over TCP; resolves with the reply, or undefined on timeout or error. */
export function forwardTcp(query: Buffer, up: Upstream, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host: up.host, port: up.port });
    const reader = new FrameReader();
    let done = false;
    const finish = (r: Buffer | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    sock.on('connect', () => sock.write(frame(query)));
    sock.on('data', (chunk: Buffer) => {
      for (const msg of reader.push(chunk)) finish(msg);
    });
    sock.on('error', () => finish(undefined));
    sock.on('close', () => finish(undefined));
  });
}
