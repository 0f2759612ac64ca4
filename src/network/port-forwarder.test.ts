import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { Worker } from 'node:worker_threads';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { errnoOf, errorCode } from '../common/errors.js';
import { PortForwarder, type PortBinding } from './port-forwarder.js';

/** A TCP server on a random loopback port standing in for the container; `f` handles each connection. */
async function tcpServer(f: (s: Socket) => void): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    f(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

const echo = (s: Socket) => s.pipe(s);

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const c = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

/** Everything `c` reads until its peer ends, and how it ended. */
function readAll(c: Socket): Promise<{ data: Buffer; how: 'end' | 'close' | 'error' }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    c.on('data', (d: Buffer) => chunks.push(d));
    c.once('end', () => resolve({ data: Buffer.concat(chunks), how: 'end' }));
    c.once('error', () => resolve({ data: Buffer.concat(chunks), how: 'error' }));
    c.once('close', () => resolve({ data: Buffer.concat(chunks), how: 'close' }));
  });
}

const tcp = (containerPort: number, hostPort = 0, hostIp = '127.0.0.1'): PortBinding =>
  ({ proto: 'tcp', hostIp, hostPort, containerIp: '127.0.0.1', containerPort });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// ---------------------------------------------------------------------------------------------------------------
// UDP

/** A UDP "container" on loopback that answers `<text> from <client port>`. */
async function udpEcho(): Promise<{ port: number; sock: UdpSocket }> {
  const sock = createSocket('udp4');
  sock.on('message', (m, r) => sock.send(Buffer.from(`${m.toString()} via ${r.port}`), r.port, r.address));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return { port: sock.address().port, sock };
}

/** Whether some socket holds UDP `port` (a bind to it on loopback fails): how a test sees a flow's socket go away. */
function udpPortInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => { s.close(); resolve(true); });
    s.bind({ port, address: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(false)));
  });
}

function udpClient(): Promise<UdpSocket> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

function udpAsk(c: UdpSocket, port: number, text: string, ms = 2000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => { c.off('message', on); resolve(undefined); }, ms);
    const on = (m: Buffer) => { clearTimeout(timer); c.off('message', on); resolve(m.toString()); };
    c.on('message', on);
    c.send(text, port, '127.0.0.1');
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The same cases with the sockets in the forwarder's thread (berthd's way) and in the caller's.

for (const thread of [true, false]) {
  const mode = thread ? 'thread' : 'inline';

  test(`port forwarder (${mode}): 1 MB echoed through a published TCP port arrives intact`, { timeout: 30000 }, async () => {
    const srv = await tcpServer(echo);
    const pf = new PortForwarder({ thread });
    try {
      const b = await pf.add(tcp(srv.port));
      assert.notEqual(b.hostPort, 0);
      assert.deepEqual(pf.list(), [b]);
      const data = randomBytes(1 << 20);
      const c = await dial(b.hostPort);
      const got = readAll(c);
      c.end(data);
      const r = await got;
      assert.equal(r.how, 'end');
      assert.equal(r.data.length, data.length);
      assert.equal(sha(r.data), sha(data));
    } finally {
      await pf.close();
      await srv.close();
    }
  });

  test(`port forwarder (${mode}): a half-close passes through, and the answer after it still arrives`, { timeout: 30000 }, async () => {
    // The container reads to EOF, then answers with the byte count and a large body: it only can if it saw our FIN and
    // our side stays open to read.
    const body = randomBytes(3 << 20);
    const srv = await tcpServer((s) => {
      let n = 0;
      s.on('data', (d: Buffer) => { n += d.length; });
      s.on('end', () => { s.write(`${n}\n`); s.end(body); });
    });
    const pf = new PortForwarder({ thread });
    try {
      const b = await pf.add(tcp(srv.port));
      const c = await dial(b.hostPort);
      const got = readAll(c);
      c.write('hello ');
      c.end('world');
      const r = await got;
      assert.equal(r.how, 'end');
      const nl = r.data.indexOf(10);
      assert.equal(r.data.subarray(0, nl).toString(), '11');
      assert.equal(sha(r.data.subarray(nl + 1)), sha(body));
    } finally {
      await pf.close();
      await srv.close();
    }
  });

  test(`port forwarder (${mode}): the container closing first ends the client after the last byte`, { timeout: 30000 }, async () => {
    const srv = await tcpServer((s) => { s.end('bye'); s.resume(); });
    const pf = new PortForwarder({ thread });
    try {
      const b = await pf.add(tcp(srv.port));
      const c = await dial(b.hostPort);
      const r = await readAll(c);
      assert.equal(r.how, 'end');
      assert.equal(r.data.toString(), 'bye');
      c.destroy();
    } finally {
      await pf.close();
      await srv.close();
    }
  });

  test(`port forwarder (${mode}): a refused container port closes the client connection`, { timeout: 30000 }, async () => {
    // A port that was just free: nothing listens there.
    const tmp = await tcpServer(() => {});
    const deadPort = tmp.port;
    await tmp.close();
    const pf = new PortForwarder({ thread });
    try {
      const b = await pf.add(tcp(deadPort));
      const c = await dial(b.hostPort);
      const r = await readAll(c);
      assert.equal(r.data.length, 0);
      assert.ok(r.how === 'end' || r.how === 'close' || r.how === 'error');
      c.destroy();
    } finally {
      await pf.close();
    }
  });

  test(`port forwarder (${mode}): a host port in use is a conflict with dockerd's message; bad input is invalid`, { timeout: 30000 }, async () => {
    const srv = await tcpServer(echo);
    const other = await tcpServer(() => {});
    const pf = new PortForwarder({ thread });
    try {
      const b = await pf.add(tcp(srv.port));
      // Held by the forwarder itself.
      await assert.rejects(pf.add(tcp(srv.port, b.hostPort)), (e: Error) => {
        assert.equal(errorCode(e), 'conflict');
        assert.equal(e.message, `Bind for 127.0.0.1:${b.hostPort} failed: port is already allocated`);
        return true;
      });
      // Held by another process (here another server); every address includes 127.0.0.1.
      await assert.rejects(pf.add(tcp(srv.port, other.port, '')), (e: Error) => {
        assert.equal(errorCode(e), 'conflict');
        assert.equal(e.message, `Bind for 0.0.0.0:${other.port} failed: port is already allocated`);
        return true;
      });
      // The same port number on UDP is a different port.
      const u = await pf.add({ ...tcp(srv.port, b.hostPort), proto: 'udp' });
      assert.equal(u.hostPort, b.hostPort);
      assert.equal(pf.list().length, 2);
      // Bad input.
      await assert.rejects(pf.add({ ...tcp(srv.port), hostIp: 'localhost' }), (e: Error) => errorCode(e) === 'invalid-argument');
      await assert.rejects(pf.add(tcp(srv.port, 70000)), /invalid hostPort: 70000/);
      await assert.rejects(pf.add({ ...tcp(srv.port), containerIp: '10.0.0' }), /invalid container IP address/);
      await assert.rejects(pf.add({ ...tcp(srv.port), hostIp: '192.0.2.250' }), (e: Error) => {
        assert.equal(errorCode(e), 'invalid-argument');
        assert.match(e.message, /^listen tcp4 192\.0\.2\.250:0: bind: cannot assign requested address$/);
        return true;
      });
      assert.equal(pf.list().length, 2, 'failed adds leave nothing behind');
    } finally {
      await pf.close();
      await srv.close();
      await other.close();
    }
  });

  test(`port forwarder (${mode}): hostIp "" binds every address and lists as 0.0.0.0; a given hostPort is used`, { timeout: 30000 }, async () => {
    const srv = await tcpServer(echo);
    const pf = new PortForwarder({ thread });
    try {
      const probe = await tcpServer(() => {});
      const port = probe.port;
      await probe.close();
      const b = await pf.add(tcp(srv.port, port, ''));
      assert.deepEqual(b, { proto: 'tcp', hostIp: '0.0.0.0', hostPort: port, containerIp: '127.0.0.1', containerPort: srv.port });
      const c = await dial(port);
      const got = readAll(c);
      c.end('x');
      assert.equal((await got).data.toString(), 'x');
      // remove() takes the binding as given ('' as well as '0.0.0.0').
      await pf.remove({ ...b, hostIp: '' });
      assert.deepEqual(pf.list(), []);
    } finally {
      await pf.close();
      await srv.close();
    }
  });

  test(`port forwarder (${mode}): remove() closes the listener and live connections; close() closes everything`, { timeout: 30000 }, async () => {
    const srv = await tcpServer(echo);
    const pf = new PortForwarder({ thread });
    try {
      const b1 = await pf.add(tcp(srv.port));
      const b2 = await pf.add(tcp(srv.port));
      const c1 = await dial(b1.hostPort);
      const c2 = await dial(b2.hostPort);
      // Both connections are through to the echo server.
      for (const c of [c1, c2]) {
        const once = new Promise((r) => c.once('data', r));
        c.write('ping');
        await once;
      }
      const closed1 = readAll(c1);
      await pf.remove(b1);
      await closed1;
      assert.equal(c1.readableEnded || c1.destroyed, true);
      await assert.rejects(dial(b1.hostPort), /ECONNREFUSED/);
      // The other binding is untouched.
      const again = new Promise<Buffer>((r) => c2.once('data', r));
      c2.write('pong');
      assert.equal((await again).toString(), 'pong');
      const closed2 = readAll(c2);
      await pf.close();
      await closed2;
      assert.deepEqual(pf.list(), []);
      await assert.rejects(dial(b2.hostPort), /ECONNREFUSED/);
      // A closed forwarder takes no more; the ports are free for another.
      await assert.rejects(pf.add(tcp(srv.port)), /port forwarder: closed/);
      const pf2 = new PortForwarder({ thread });
      const re = await pf2.add(tcp(srv.port, b2.hostPort));
      assert.equal(re.hostPort, b2.hostPort);
      await pf2.close();
    } finally {
      await pf.close();
      await srv.close();
    }
  });

  test(`port forwarder (${mode}): UDP echo for two clients, each with its own flow; idle flows expire; remove() stops it`, { timeout: 30000 }, async () => {
    const ctr = await udpEcho();
    // 1 s of idle time: long enough that a stall of a slow machine between two asks does not end a live flow.
    const pf = new PortForwarder({ udpIdleMs: 1000, thread });
    const a = await udpClient();
    const b = await udpClient();
    const stranger = await udpClient();
    try {
      const bind = await pf.add({ proto: 'udp', hostIp: '127.0.0.1', hostPort: 0, containerIp: '127.0.0.1', containerPort: ctr.port });
      const ra = await udpAsk(a, bind.hostPort, 'from a');
      const rb = await udpAsk(b, bind.hostPort, 'from b');
      assert.match(ra ?? '', /^from a via \d+$/);
      assert.match(rb ?? '', /^from b via \d+$/);
      // Each client reaches the container from a port of its own, and keeps it while the flow lives.
      const pa = ra!.split(' via ')[1];
      const pb = rb!.split(' via ')[1];
      assert.notEqual(pa, pb);
      assert.equal((await udpAsk(a, bind.hostPort, 'again'))!.split(' via ')[1], pa);
      // After the idle time the flow is gone (its socket closed, so its port is free), and the next datagram opens a
      // new one (a new source port). Polling the port sends nothing through the flow, so it does not keep it alive.
      const end = Date.now() + 15000;
      while (await udpPortInUse(Number(pa))) {
        assert.ok(Date.now() < end, 'the idle flow was never dropped');
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.notEqual((await udpAsk(a, bind.hostPort, 'later'))!.split(' via ')[1], pa);
      // A datagram from a stranger to the flow's socket (its port is the one the container saw) is not relayed to the
      // client: only what comes from the container's address and port belongs to the flow.
      const flowPort = Number((await udpAsk(a, bind.hostPort, 'port?'))!.split(' via ')[1]);
      const seen = new Promise<string | undefined>((resolve) => {
        const t = setTimeout(() => resolve(undefined), 300);
        a.once('message', (m) => { clearTimeout(t); resolve(m.toString()); });
      });
      stranger.send('spoof', flowPort, '127.0.0.1');
      assert.equal(await seen, undefined);
      await pf.remove(bind);
      assert.equal(await udpAsk(a, bind.hostPort, 'gone', 300), undefined);
    } finally {
      for (const s of [a, b, stranger, ctr.sock]) s.close();
      await pf.close();
    }
  });
}

test('port forwarder (thread): a dead thread is replaced and binds the ports again; errno crosses the thread', { timeout: 30000 }, async () => {
  const srv = await tcpServer(echo);
  const pf = new PortForwarder();
  try {
    const b = await pf.add(tcp(srv.port));
    await assert.rejects(pf.add(tcp(srv.port, srv.port)), (e: Error) => {
      assert.equal(errorCode(e), 'conflict');
      assert.equal(errnoOf(e), 'EADDRINUSE');
      return true;
    });
    // Kill the thread as a crash would.
    await (pf as unknown as { worker: Worker }).worker.terminate();
    // The new thread binds the same port again; the binding list never changed.
    assert.deepEqual(pf.list(), [b]);
    let c: Socket | undefined;
    for (let i = 0; i < 100 && !c; i++) {
      c = await dial(b.hostPort).catch(() => undefined);
      if (!c) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(c, 'the port is bound again');
    const got = readAll(c);
    c.end('again');
    assert.equal((await got).data.toString(), 'again');
  } finally {
    await pf.close();
    await srv.close();
  }
});
