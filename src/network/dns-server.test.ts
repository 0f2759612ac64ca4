import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { DnsServer, ptrAddress, type DnsServerOptions } from './dns-server.js';
import { FrameReader, RCODE, TYPE, encodeMessage, frame, parseMessage, type DnsMessage } from './dns-message.js';

const NAMES: Record<string, string[]> = {
  web: ['10.88.0.2'],
  db: ['10.88.0.3'],
  'db-alias': ['10.88.0.3'],
  api: ['10.88.0.4', '10.88.0.5'],
};
const lookup = (name: string) => NAMES[name] ?? [];
const reverse = (ip: string) => Object.entries(NAMES).find(([, ips]) => ips.includes(ip))?.[0];

async function withServer<T>(o: Partial<DnsServerOptions>, f: (s: DnsServer) => Promise<T>): Promise<T> {
  const s = new DnsServer({ address: '127.0.0.1', port: 0, lookup, reverse, ...o });
  await s.start();
  try {
    return await f(s);
  } finally {
    await s.close();
  }
}

let nextId = 1;
const query = (name: string, type: number, id = nextId++) =>
  encodeMessage({ header: { id, rd: true }, questions: [{ name, type, class: 1 }] });

/** Send raw bytes over UDP (from `from`, a loopback address); the reply, or undefined after `ms`. */
function udp(port: number, msg: Buffer, ms = 2000, from = '127.0.0.1'): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const timer = setTimeout(() => { sock.close(); resolve(undefined); }, ms);
    sock.on('message', (m) => { clearTimeout(timer); sock.close(); resolve(m); });
    sock.bind(0, from, () => sock.send(msg, port, '127.0.0.1'));
  });
}

async function ask(port: number, name: string, type: number, from?: string): Promise<DnsMessage> {
  const q = query(name, type);
  const r = await udp(port, q, 2000, from);
  assert.ok(r, `no answer for ${name}`);
  const m = parseMessage(r);
  assert.equal(m.header.id, q.readUInt16BE(0));
  return m;
}

/** One question over TCP (length-prefixed, RFC 1035 4.2.2), from `from` if given: the first reply. */
async function askTcp(port: number, name: string, type: number, from?: string): Promise<DnsMessage> {
  const c = connect({ host: '127.0.0.1', port, ...(from ? { localAddress: from } : {}) });
  const reader = new FrameReader();
  try {
    return parseMessage(await new Promise<Buffer>((resolve) => {
      c.on('data', (chunk: Buffer) => { const [r] = reader.push(chunk); if (r) resolve(r); });
      c.write(frame(query(name, type)));
    }));
  } finally {
    c.destroy();
  }
}

test('dns server: A for a known name, TTL 600, case-insensitive, trailing dot or not', { timeout: 20000 }, async () => {
  await withServer({}, async (s) => {
    assert.notEqual(s.port, 0);
    for (const name of ['web', 'WEB', 'web.']) {
      const m = await ask(s.port, name, TYPE.A);
      assert.equal(m.header.qr, true);
      assert.equal(m.header.rcode, RCODE.NOERROR);
      assert.equal(m.header.ra, true);
      assert.equal(m.header.rd, true);
      // The question comes back as asked (0x20 case randomization relies on it).
      assert.equal(m.questions[0]!.name, name.replace(/\.$/, ''));
      assert.deepEqual(m.answers.map((a) => [a.type, a.ttl, a.address]), [[TYPE.A, 600, '10.88.0.2']]);
    }
    const api = await ask(s.port, 'api', TYPE.A);
    assert.deepEqual(api.answers.map((a) => a.address).sort(), ['10.88.0.4', '10.88.0.5']);
  });
});

test('dns server: AAAA for a known name is NOERROR with no answers; PTR names the address', { timeout: 20000 }, async () => {
  await withServer({}, async (s) => {
    const aaaa = await ask(s.port, 'db-alias', TYPE.AAAA);
    assert.equal(aaaa.header.rcode, RCODE.NOERROR);
    assert.equal(aaaa.answers.length, 0);
    const ptr = await ask(s.port, '3.0.88.10.in-addr.arpa', TYPE.PTR);
    assert.equal(ptr.header.rcode, RCODE.NOERROR);
    assert.deepEqual(ptr.answers.map((a) => [a.type, a.ttl, a.target]), [[TYPE.PTR, 600, 'db']]);
  });
});

test('dns server: with no upstreams, unknown names, unknown addresses and other types are REFUSED', { timeout: 20000 }, async () => {
  await withServer({}, async (s) => {
    for (const [name, type] of [['example.com', TYPE.A], ['nope', TYPE.AAAA], ['9.9.9.9.in-addr.arpa', TYPE.PTR], ['web', TYPE.MX]] as const) {
      const m = await ask(s.port, name, type);
      assert.equal(m.header.rcode, RCODE.REFUSED, `${name} type ${type}`);
      assert.equal(m.answers.length, 0);
      assert.equal(m.questions[0]!.name, name);
    }
  });
});

test('dns server: over TCP, two queries in one write and one split across writes', { timeout: 20000 }, async () => {
  await withServer({}, async (s) => {
    const c = connect({ host: '127.0.0.1', port: s.port });
    await new Promise((r) => c.once('connect', r));
    const reader = new FrameReader();
    const got: DnsMessage[] = [];
    const two = new Promise<void>((resolve) => {
      c.on('data', (chunk: Buffer) => {
        for (const m of reader.push(chunk)) got.push(parseMessage(m));
        if (got.length === 3) resolve();
      });
    });
    c.write(Buffer.concat([frame(query('web', TYPE.A, 100)), frame(query('db', TYPE.A, 101))]));
    const third = frame(query('3.0.88.10.in-addr.arpa', TYPE.PTR, 102));
    c.write(third.subarray(0, 5));
    await new Promise((r) => setTimeout(r, 50));
    c.write(third.subarray(5));
    await two;
    c.destroy();
    const byId = new Map(got.map((m) => [m.header.id, m]));
    assert.equal(byId.get(100)!.answers[0]!.address, '10.88.0.2');
    assert.equal(byId.get(101)!.answers[0]!.address, '10.88.0.3');
    assert.equal(byId.get(102)!.answers[0]!.target, 'db');
  });
});

test('dns server: a big answer is truncated on UDP (TC) and whole on TCP', { timeout: 20000 }, async () => {
  const many = Array.from({ length: 100 }, (_, i) => `10.88.1.${i}`);
  await withServer({ lookup: (n) => (n === 'many' ? many : []) }, async (s) => {
    const m = await ask(s.port, 'many', TYPE.A);
    assert.equal(m.header.tc, true);
    assert.ok(m.answers.length < 100);
    const whole = await askTcp(s.port, 'many', TYPE.A);
    assert.equal(whole.header.tc, false);
    assert.equal(whole.answers.length, 100);
  });
});

test('dns server: malformed packets get FORMERR or nothing, and the server keeps answering', { timeout: 20000 }, async () => {
  await withServer({}, async (s) => {
    // Too short for a header: dropped.
    assert.equal(await udp(s.port, Buffer.from([1, 2, 3]), 300), undefined);
    // A header promising a question that is not there: FORMERR with the id.
    const bad = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0]);
    const r = await udp(s.port, bad);
    assert.ok(r);
    const m = parseMessage(r);
    assert.equal(m.header.id, 0x1234);
    assert.equal(m.header.rcode, RCODE.FORMERR);
    // Two questions: FORMERR (dockerd answers only the first; a resolver never sends two).
    const two = encodeMessage({ header: { id: 5 }, questions: [{ name: 'web', type: TYPE.A, class: 1 }, { name: 'db', type: TYPE.A, class: 1 }] });
    assert.equal(parseMessage((await udp(s.port, two))!).header.rcode, RCODE.FORMERR);
    // A response (QR set) is never answered: that is how two servers would loop.
    const resp = encodeMessage({ header: { id: 6, qr: true }, questions: [{ name: 'web', type: TYPE.A, class: 1 }] });
    assert.equal(await udp(s.port, resp, 300), undefined);
    // An opcode other than QUERY: NOTIMP.
    const notify = encodeMessage({ header: { id: 8, opcode: 4 }, questions: [{ name: 'web', type: TYPE.SOA, class: 1 }] });
    assert.equal(parseMessage((await udp(s.port, notify))!).header.rcode, RCODE.NOTIMP);
    // Garbage on TCP: a frame of junk gets FORMERR or nothing; the server is still there.
    const c = connect({ host: '127.0.0.1', port: s.port });
    c.on('error', () => {});
    c.write(frame(Buffer.from('0123456789abcdef', 'latin1')));
    c.write(Buffer.from([0xff, 0xff, 1, 2, 3]));
    await new Promise((res) => setTimeout(res, 100));
    c.destroy();
    assert.equal((await ask(s.port, 'web', TYPE.A)).answers[0]!.address, '10.88.0.2');
  });
});

test('dns server: unknown names go to the upstream, whose answer is relayed; a silent upstream gives SERVFAIL', { timeout: 20000 }, async () => {
  // The upstream is a second DnsServer that knows other names.
  await withServer({ lookup: (n) => (n === 'outside.example' ? ['192.0.2.7'] : []) }, async (up) => {
    await withServer({ upstreams: [`127.0.0.1:${up.port}`] }, async (s) => {
      const own = await ask(s.port, 'web', TYPE.A);
      assert.equal(own.answers[0]!.address, '10.88.0.2');
      const fwd = await ask(s.port, 'outside.example', TYPE.A);
      assert.equal(fwd.header.rcode, RCODE.NOERROR);
      assert.deepEqual(fwd.answers.map((a) => [a.address, a.ttl]), [['192.0.2.7', 600]]);
      // The upstream has no upstream: its REFUSED comes back as it was.
      assert.equal((await ask(s.port, 'neither.example', TYPE.A)).header.rcode, RCODE.REFUSED);
      // Over TCP too (forwarded over UDP).
      assert.equal((await askTcp(s.port, 'outside.example', TYPE.A)).answers[0]!.address, '192.0.2.7');
      // A TCP client that half-closes right after its query still gets the (forwarded, so later) answer, then EOF.
      const h = connect({ host: '127.0.0.1', port: s.port, allowHalfOpen: true });
      const hr = new FrameReader();
      const answers: Buffer[] = [];
      await new Promise<void>((resolve) => {
        h.on('data', (chunk: Buffer) => answers.push(...hr.push(chunk)));
        h.on('end', () => { h.end(); resolve(); });
        h.end(Buffer.concat([frame(query('outside.example', TYPE.A)), frame(query('web', TYPE.A))]));
      });
      assert.deepEqual(answers.map((a) => parseMessage(a).answers[0]!.address).sort(), ['10.88.0.2', '192.0.2.7']);
    });
  });
  // A TCP client's forwarded question whose UDP answer is truncated is asked again over TCP, and comes back whole.
  const many = Array.from({ length: 100 }, (_, i) => `192.0.2.${i}`);
  await withServer({ lookup: (n) => (n === 'many.example' ? many : []) }, async (up) => {
    await withServer({ upstreams: [`127.0.0.1:${up.port}`] }, async (s) => {
      assert.equal((await ask(s.port, 'many.example', TYPE.A)).header.tc, true);
      const m = await askTcp(s.port, 'many.example', TYPE.A);
      assert.equal(m.header.tc, false);
      assert.equal(m.answers.length, 100);
    });
  });
  // An upstream that never answers (a bound UDP socket that reads nothing).
  const hole = createSocket('udp4');
  await new Promise<void>((r) => hole.bind(0, '127.0.0.1', () => r()));
  try {
    await withServer({ upstreams: [`127.0.0.1:${hole.address().port}`], upstreamTimeoutMs: 200 }, async (s) => {
      assert.equal((await ask(s.port, 'outside.example', TYPE.A)).header.rcode, RCODE.SERVFAIL);
    });
  } finally {
    hole.close();
  }
});

test('dns server: a client with its own upstreams (--dns) has its outside names forwarded there; others get REFUSED; names may depend on the client', { timeout: 20000 }, async () => {
  // Two clients told apart by source address: 127.0.0.2 has its own upstream (a fake one on loopback) and a
  // link alias `database`; 127.0.0.1 has neither, and the server has no upstreams of its own.
  await withServer({ lookup: (n) => (n === 'outside.example' ? ['192.0.2.7'] : []) }, async (up) => {
    const clientUpstreams = (c: string) => (c === '127.0.0.2' ? [`127.0.0.1:${up.port}`] : undefined);
    const byClient = (n: string, c: string) => (n === 'database' && c === '127.0.0.2' ? ['10.88.0.3'] : lookup(n));
    await withServer({ clientUpstreams, lookup: byClient }, async (s) => {
      const fwd = await ask(s.port, 'outside.example', TYPE.A, '127.0.0.2');
      assert.equal(fwd.header.rcode, RCODE.NOERROR);
      assert.deepEqual(fwd.answers.map((a) => a.address), ['192.0.2.7']);
      assert.equal((await ask(s.port, 'web', TYPE.A, '127.0.0.2')).answers[0]!.address, '10.88.0.2');
      assert.equal((await ask(s.port, 'database', TYPE.A, '127.0.0.2')).answers[0]!.address, '10.88.0.3');
      assert.equal((await ask(s.port, 'outside.example', TYPE.A, '127.0.0.1')).header.rcode, RCODE.REFUSED);
      assert.equal((await ask(s.port, 'database', TYPE.A, '127.0.0.1')).header.rcode, RCODE.REFUSED);
      // Over TCP the client is told apart the same way.
      assert.equal((await askTcp(s.port, 'outside.example', TYPE.A, '127.0.0.2')).answers[0]!.address, '192.0.2.7');
    });
  });
});

test('dns server: a port in use is an error naming the address; close() frees the port', { timeout: 20000 }, async () => {
  await withServer({}, async (s) => {
    const other = new DnsServer({ address: '127.0.0.1', port: s.port, lookup });
    await assert.rejects(other.start(), new RegExp(`listen (udp|tcp) 127\\.0\\.0\\.1:${s.port}: .*EADDRINUSE`));
  });
  const s = new DnsServer({ address: '127.0.0.1', port: 0, lookup });
  await s.start();
  const port = s.port;
  await s.close();
  const again = new DnsServer({ address: '127.0.0.1', port, lookup });
  await again.start();
  await again.close();
  assert.throws(() => new DnsServer({ address: 'gateway', lookup }), /invalid listen address "gateway"/);
});

test('dns server: ptrAddress reads only well-formed in-addr.arpa names', () => {
  assert.equal(ptrAddress('4.3.2.1.in-addr.arpa'), '1.2.3.4');
  assert.equal(ptrAddress('4.3.2.in-addr.arpa'), undefined);
  assert.equal(ptrAddress('256.3.2.1.in-addr.arpa'), undefined);
  assert.equal(ptrAddress('1.0.0.0.ip6.arpa'), undefined);
});

// busybox's nslookup as a real resolver client (it asks A and AAAA, over UDP, to server:port).
const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
test('dns server: busybox nslookup resolves a name and its address', { skip: busybox ? false : 'no busybox' }, async () => {
  await withServer({}, async (s) => {
    // Asynchronously: the server runs on this thread.
    const run = (args: string[]) => new Promise<{ status: number; out: string }>((resolve) => {
      execFile(busybox!, ['nslookup', ...args, `127.0.0.1:${s.port}`], { timeout: 10000 }, (err, stdout, stderr) => {
        resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
      });
    });
    const a = await run(['web']);
    assert.equal(a.status, 0, a.out);
    assert.match(a.out, /Name:\s+web\s+Address:\s+10\.88\.0\.2/);
    const ptr = await run(['10.88.0.3']);
    assert.equal(ptr.status, 0, ptr.out);
    assert.match(ptr.out, /3\.0\.88\.10\.in-addr\.arpa\s+name = db/);
    const nx = await run(['nowhere.example']);
    assert.notEqual(nx.status, 0);
    assert.match(nx.out, /REFUSED/);
  });
});
