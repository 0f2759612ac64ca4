// Networks end to end with the real docker CLI against a private berthd: user networks and names, published ports, internal networks, connect/disconnect, cleanup, restart, bad input.
//
// Every bridge and subnet is the test's own (fixtures/network.ts); traffic goes only to loopback and to the
// test's containers; the daemon runs with --ip-masq=false and an embedded DNS that never asks the outside (the
// masquerade test's daemon has --ip-masq on, in a network namespace of the test's own without an uplink).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { berthdSkipReason, startBerthd, type Berthd } from '../fixtures/berthd.js';
import { buildDockerSaveTar } from '../fixtures/image.js';
import { daemonInterfaces, existingInterfaces, removeBridge, testBridge } from '../fixtures/network.js';
import { RCODE, TYPE, encodeMessage, parseMessage } from '../../src/network/dns-message.js';
import { freePort } from '../fixtures/registry.js';

const skip = berthdSkipReason() ?? (existsSync('/usr/lib/cni/bridge') ? undefined : 'needs containernetworking-plugins (/usr/lib/cni/bridge)');
const IMAGE = 'busybox:latest';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let d: Berthd;

/** A docker command that must succeed, against the suite's berthd or the one given (`on`): its stdout. */
function ok(args: string[], opts: { timeout?: number; on?: Berthd } = {}): string {
  const { on = d, ...o } = opts;
  const r = on.docker(args, o);
  assert.equal(r.status, 0, `docker ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

function fails(args: string[]): string {
  const r = d.docker(args);
  assert.notEqual(r.status, 0, `docker ${args.join(' ')} should fail\nstdout: ${r.stdout}`);
  return r.stderr;
}

/** Our daemon's bridges and veths seen while containers ran: none may be left at the end. */
const ours = new Set<string>();
const note = () => { for (const n of daemonInterfaces((a) => d.docker(a))) ours.add(n); };

/** GET a path on 127.0.0.1:port (or `host`) with a raw socket (the answer's body). */
function httpGet(port: number, path = '/', host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, host);
    let buf = '';
    c.on('data', (x) => { buf += x.toString(); });
    c.on('error', reject);
    c.on('close', () => resolve(buf.slice(buf.indexOf('\r\n\r\n') + 4)));
    c.on('connect', () => c.write(`GET ${path} HTTP/1.0\r\nHost: x\r\n\r\n`));
    setTimeout(() => c.destroy(), 5000);
  });
}

async function waitHttp(port: number, path = '/', host = '127.0.0.1'): Promise<string> {
  let last: unknown;
  for (let i = 0; i < 50; i++) {
    try {
      const body = await httpGet(port, path, host);
      if (body) return body;
    } catch (e) { last = e; }
    await sleep(100);
  }
  throw new Error(`no answer on ${host}:${port}${path}: ${String(last)}`);
}

/** A raw Engine API request on the daemon's socket (for what the docker CLI checks itself and never sends). */
function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: { message?: string } }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: d.socket, method, path, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let buf = '';
      res.on('data', (x) => { buf += x; });
      res.on('end', () => resolve({ status: res.statusCode!, json: buf ? JSON.parse(buf) as { message?: string } : {} }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Send `text` in one datagram to 127.0.0.1:port from the host; resolves with the first reply, or '' after `ms`. */
function udpExchange(port: number, text: string, ms = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => { s.close(); resolve(''); }, ms);
    s.on('error', (e) => { clearTimeout(t); s.close(); reject(e); });
    s.on('message', (m) => { clearTimeout(t); s.close(); resolve(m.toString()); });
    s.send(text, port, '127.0.0.1');
  });
}

/** The host-side veths on a network's bridge right now. */
const bridgePorts = (bridge: string) => { try { return readdirSync(`/sys/class/net/${bridge}/brif`); } catch { return []; } };

/** A busybox web server serving `text` at /index.html. */
const httpd = (text: string) => ['sh', '-c', `echo ${text} > /tmp/index.html && exec httpd -f -p 80 -h /tmp`];

describe('networks (docker CLI -> berthd -> CNI)', { skip, concurrency: false }, () => {
  before(async () => {
    d = await startBerthd({ prefix: 'berthd-net-' });
    ok(['load', '-i', buildDockerSaveTar(d.dir, `docker.io/library/${IMAGE}`)]);
  });
  after(async () => {
    await d?.stop();
    // Nothing of the test's remains on the host: no veth, no bridge.
    const left = existingInterfaces(ours);
    assert.deepEqual(left, [], `interfaces left behind: ${left.join(' ')}`);
  });

  test('the default bridge: an address, a default route via the gateway, loopback up', () => {
    const out = ok(['run', '--rm', IMAGE, 'sh', '-c', 'ip -4 addr show eth0; ip route; ip link show lo']);
    const gw = JSON.parse(ok(['network', 'inspect', 'bridge', '-f', '{{json .IPAM.Config}}']))[0].Gateway as string;
    assert.match(out, /inet \d+\.\d+\.\d+\.\d+\/24/);
    assert.match(out, new RegExp(`default via ${gw.replace(/\./g, '\\.')} dev eth0`));
    assert.match(out, /lo: <LOOPBACK,UP/);
  });

  test('--network none: only lo, and it is up (a server on 127.0.0.1 answers inside)', () => {
    const out = ok(['run', '--rm', '--network', 'none', IMAGE, 'sh', '-c',
      'ip link; (echo pong | nc -l -p 7000 &) ; sleep 0.3; echo | nc 127.0.0.1 7000']);
    assert.match(out, /lo: <LOOPBACK,UP/);
    assert.doesNotMatch(out, /eth0/);
    assert.match(out, /pong/);
  });

  test('two containers on a user network reach each other by name and by alias', () => {
    ok(['network', 'create', 'app']);
    try {
      ok(['run', '-d', '--name', 'web', '--network', 'app', '--network-alias', 'frontend', IMAGE, ...httpd('hello-from-web')]);
      note();
      const out = ok(['run', '--rm', '--network', 'app', IMAGE, 'sh', '-c',
        'for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://web/index.html && break; sleep 0.2; done; wget -qO- http://frontend/index.html; nslookup web; nslookup $(nslookup web | sed -n "s/^Address: //p" | tail -1); cat /etc/resolv.conf']);
      assert.match(out, /hello-from-web\nhello-from-web\n/);
      const ip = ok(['inspect', '-f', '{{.NetworkSettings.Networks.app.IPAddress}}', 'web']).trim();
      assert.match(out, new RegExp(`Address: ${ip.replace(/\./g, '\\.')}`));
      // the reverse lookup of its address names it
      assert.match(out, new RegExp(`name = web`));
      const gw = ok(['inspect', '-f', '{{.NetworkSettings.Networks.app.Gateway}}', 'web']).trim();
      assert.match(out, new RegExp(`nameserver ${gw.replace(/\./g, '\\.')}`));
      // nc too, and a name outside the network is refused (no recursion to the outside in tests).
      const nc = ok(['run', '--rm', '--network', 'app', IMAGE, 'sh', '-c', 'printf "GET /index.html HTTP/1.0\\r\\n\\r\\n" | nc web 80 | tail -1; nslookup example.com 2>&1; true']);
      assert.match(nc, /hello-from-web/);
      assert.match(nc, /REFUSED|can't find/);
      // inspect and network inspect as Docker shows them
      const eps = JSON.parse(ok(['network', 'inspect', 'app', '-f', '{{json .Containers}}'])) as Record<string, { Name: string; IPv4Address: string }>;
      assert.deepEqual(Object.values(eps).map((e) => e.Name), ['web']);
      assert.equal(Object.values(eps)[0]!.IPv4Address.split('/')[0], ip);
      const dnsNames = JSON.parse(ok(['inspect', '-f', '{{json .NetworkSettings.Networks.app.DNSNames}}', 'web'])) as string[];
      assert.deepEqual(dnsNames.slice(0, 2), ['web', 'frontend']);
      // a network with a running container cannot be removed (Docker's 403 text)
      assert.match(fails(['network', 'rm', 'app']), /has active endpoints/);
    } finally {
      d.docker(['rm', '-f', 'web']);
      ok(['network', 'rm', 'app']);
    }
  });

  test('on a user network /etc/hosts has localhost, the --add-host entry and its own address and hostname; /etc/hostname the hostname', () => {
    ok(['network', 'create', 'files']);
    try {
      const out = ok(['run', '--rm', '--network', 'files', '--hostname', 'box1', '--add-host', 'db.example:10.1.2.3', IMAGE, 'sh', '-c',
        'cat /etc/hosts; echo ---; cat /etc/hostname; echo ---; hostname; ip -4 -o addr show eth0']);
      const [hosts, hostnameFile, rest] = out.split('---\n') as [string, string, string];
      const ip = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(rest)?.[1];
      assert.ok(ip, rest);
      const lines = hosts.split('\n');
      for (const l of ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', '10.1.2.3\tdb.example', `${ip}\tbox1`]) {
        assert.ok(lines.includes(l), `/etc/hosts lacks ${JSON.stringify(l)}:\n${hosts}`);
      }
      assert.equal(hostnameFile, 'box1\n');
      assert.match(rest, /^box1\n/);
    } finally {
      ok(['network', 'rm', 'files']);
    }
  });

  test('--dns, --dns-search, --dns-option on a user network: resolv.conf keeps the network\'s DNS with the search and options; the network\'s names resolve; outside names go to the container\'s --dns server', async () => {
    // The container's --dns server is a fake one on the host, on the default bridge's gateway (which has no
    // embedded DNS of ours), so nothing is asked outside the machine.
    ok(['run', '--rm', IMAGE, 'true']);
    const bgw = JSON.parse(ok(['network', 'inspect', 'bridge', '-f', '{{json .IPAM.Config}}']))[0].Gateway as string;
    // It knows one name; any other is NXDOMAIN, as a real resolver says (so the search list is walked on).
    const upstream = createSocket('udp4');
    upstream.on('message', (msg, from) => {
      const q = parseMessage(msg);
      const known = q.questions[0]?.name.toLowerCase() === 'ext.example.test' && q.questions[0].type === TYPE.A;
      upstream.send(encodeMessage({
        header: { id: q.header.id, qr: true, rd: q.header.rd, ra: true, rcode: known ? RCODE.NOERROR : RCODE.NXDOMAIN }, questions: q.questions,
        answers: known ? [{ name: q.questions[0]!.name, type: TYPE.A, ttl: 60, address: '192.0.2.99' }] : [],
      }), from.port, from.address);
    });
    await new Promise<void>((res, rej) => { upstream.once('error', rej); upstream.bind(53, bgw, () => res()); });
    ok(['network', 'create', 'dnsnet']);
    try {
      ok(['run', '-d', '--name', 'dnspeer', '--network', 'dnsnet', IMAGE, 'sleep', '300']);
      note();
      const peerIp = ok(['inspect', '-f', '{{.NetworkSettings.Networks.dnsnet.IPAddress}}', 'dnspeer']).trim();
      const gw = ok(['inspect', '-f', '{{.NetworkSettings.Networks.dnsnet.Gateway}}', 'dnspeer']).trim();
      // Async: the fake server answers from this process, which a synchronous docker call would block.
      const r = await d.dockerAsync(['run', '--rm', '--network', 'dnsnet', '--dns', bgw, '--dns-search', 'example.test', '--dns-option', 'ndots:2', IMAGE, 'sh', '-c',
        'cat /etc/resolv.conf; echo ===; ping -c1 -W1 dnspeer 2>&1; echo ===; nslookup ext.example.test 2>&1; true']);
      assert.equal(r.status, 0, r.stderr);
      const out = r.stdout;
      const [resolv, peer, ext] = out.split('===\n') as [string, string, string];
      assert.deepEqual(resolv.split('\n').filter((l) => /^(nameserver|search|options)\s/.test(l)), [`nameserver ${gw}`, 'search example.test', 'options ndots:2']);
      // The libc resolver walks the search list (dnspeer.example.test is NXDOMAIN upstream), then the name alone.
      assert.match(peer, new RegExp(`PING dnspeer \\(${peerIp.replace(/\./g, '\\.')}\\)`));
      assert.match(ext, /Address: 192\.0\.2\.99/);
      // Without --dns the daemon's upstreams (none in tests) answer: refused.
      assert.doesNotMatch((await d.dockerAsync(['run', '--rm', '--network', 'dnsnet', IMAGE, 'sh', '-c', 'nslookup ext.example.test 2>&1; true'])).stdout, /192\.0\.2\.99/);
    } finally {
      d.docker(['rm', '-f', 'dnspeer']);
      ok(['network', 'rm', 'dnsnet']);
      upstream.close();
    }
  });

  test('network connect of a running container rewrites its /etc/resolv.conf and /etc/hosts in place: it resolves its new peers by name; disconnect undoes it', () => {
    ok(['network', 'create', 'joinnet']);
    try {
      ok(['run', '-d', '--name', 'solo', '--hostname', 'solo', IMAGE, 'sleep', '300']);
      ok(['run', '-d', '--name', 'peer2', '--network', 'joinnet', IMAGE, 'sleep', '300']);
      note();
      const peerIp = ok(['inspect', '-f', '{{.NetworkSettings.Networks.joinnet.IPAddress}}', 'peer2']).trim();
      const gw = ok(['inspect', '-f', '{{.NetworkSettings.Networks.joinnet.Gateway}}', 'peer2']).trim();
      const bridgeIp = ok(['inspect', '-f', '{{.NetworkSettings.Networks.bridge.IPAddress}}', 'solo']).trim();
      assert.doesNotMatch(ok(['exec', 'solo', 'cat', '/etc/resolv.conf']), new RegExp(`nameserver ${gw}\\n`));
      ok(['network', 'connect', 'joinnet', 'solo']);
      const ip = ok(['inspect', '-f', '{{.NetworkSettings.Networks.joinnet.IPAddress}}', 'solo']).trim();
      const out = ok(['exec', 'solo', 'sh', '-c', 'cat /etc/resolv.conf; echo ---; cat /etc/hosts; echo ---; nslookup peer2']);
      const [resolv, hosts, look] = out.split('---\n') as [string, string, string];
      assert.match(resolv, new RegExp(`^nameserver ${gw.replace(/\./g, '\\.')}$`, 'm'));
      for (const l of [`${bridgeIp}\tsolo`, `${ip}\tsolo`]) assert.ok(hosts.split('\n').includes(l), `/etc/hosts lacks ${JSON.stringify(l)}:\n${hosts}`);
      assert.match(look, new RegExp(`Address: ${peerIp.replace(/\./g, '\\.')}`));
      ok(['network', 'disconnect', 'joinnet', 'solo']);
      const after = ok(['exec', 'solo', 'sh', '-c', 'cat /etc/resolv.conf; echo ---; cat /etc/hosts']);
      assert.doesNotMatch(after, new RegExp(`nameserver ${gw.replace(/\./g, '\\.')}\\n`));
      assert.doesNotMatch(after, new RegExp(`${ip.replace(/\./g, '\\.')}\\t`));
      assert.ok(after.includes(`${bridgeIp}\tsolo\n`), after);
    } finally {
      d.docker(['rm', '-f', 'solo', 'peer2']);
      ok(['network', 'rm', 'joinnet']);
    }
  });

  test('--add-host NAME:host-gateway is the default bridge\'s gateway in /etc/hosts; a bad --add-host address is refused at create with dockerd\'s text', async () => {
    const bgw = JSON.parse(ok(['network', 'inspect', 'bridge', '-f', '{{json .IPAM.Config}}']))[0].Gateway as string;
    const hosts = ok(['run', '--rm', '--add-host', 'hg.internal:host-gateway', IMAGE, 'cat', '/etc/hosts']);
    assert.ok(hosts.split('\n').includes(`${bgw}\thg.internal`), hosts);
    assert.doesNotMatch(hosts, /host-gateway/);
    // The docker CLI checks it too; the daemon is the one other clients meet.
    const r = await api('POST', '/containers/create', { Image: IMAGE, Cmd: ['true'], HostConfig: { ExtraHosts: ['x:not-an-ip'] } });
    assert.equal(r.status, 400);
    assert.equal(r.json.message, 'invalid IP address in add-host: "not-an-ip"');
    const b = await api('POST', '/containers/create', { Image: IMAGE, Cmd: ['true'], HostConfig: { ExtraHosts: ['noaddress'] } });
    assert.equal(b.json.message, 'bad format for add-host: "noaddress"');
  });

  test('/etc/hosts names the container by its FQDN and short name with --domainname or a dotted -h, as Docker', () => {
    const out = ok(['run', '--rm', '-h', 'web', '--domainname', 'example.test', IMAGE, 'sh', '-c', 'cat /etc/hosts; ip -4 -o addr show eth0']);
    const ip = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(out)?.[1];
    assert.ok(out.split('\n').includes(`${ip}\tweb.example.test web`), out);
    const dotted = ok(['run', '--rm', '-h', 'a.b', IMAGE, 'sh', '-c', 'cat /etc/hosts; ip -4 -o addr show eth0']);
    const ip2 = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(dotted)?.[1];
    assert.ok(dotted.split('\n').includes(`${ip2}\ta.b a`), dotted);
  });

  test('legacy links: on the default bridge /etc/hosts gets "IP alias hostname name"; on a user network the alias resolves for the linking container only', () => {
    ok(['network', 'create', 'linknet']);
    try {
      ok(['run', '-d', '--name', 'db', '--hostname', 'dbhost', IMAGE, 'sleep', '300']);
      note();
      const dbIp = ok(['inspect', '-f', '{{.NetworkSettings.Networks.bridge.IPAddress}}', 'db']).trim();
      const hosts = ok(['run', '--rm', '--name', 'linker', '--link', 'db:database', IMAGE, 'cat', '/etc/hosts']);
      assert.ok(hosts.split('\n').includes(`${dbIp}\tdatabase dbhost db`), hosts);
      // A restart of the linked container gives it a new address, which the linking one's /etc/hosts follows.
      ok(['run', '-d', '--name', 'linker3', '--link', 'db:database', IMAGE, 'sleep', '300']);
      ok(['run', '-d', '--name', 'filler', IMAGE, 'sleep', '300']);
      ok(['restart', '-t', '0', 'db']);
      const dbIp2 = ok(['inspect', '-f', '{{.NetworkSettings.Networks.bridge.IPAddress}}', 'db']).trim();
      assert.notEqual(dbIp2, dbIp);
      const hosts3 = ok(['exec', 'linker3', 'cat', '/etc/hosts']);
      assert.ok(hosts3.split('\n').includes(`${dbIp2}\tdatabase dbhost db`), hosts3);
      assert.ok(!hosts3.includes(`${dbIp}\t`), hosts3);
      // A link under the container's own name has it once; inspect shows links as dockerd stores them.
      ok(['create', '--name', 'linker2', '--link', 'db', IMAGE, 'true']);
      assert.deepEqual(JSON.parse(ok(['inspect', '-f', '{{json .HostConfig.Links}}', 'linker2'])), ['/db:/linker2/db']);
      assert.match(fails(['create', '--link', 'nosuch:x', IMAGE, 'true']), /could not get container for nosuch/);
      ok(['stop', '-t', '0', 'db']);
      assert.match(fails(['start', 'linker2']), /Cannot link to a non running container: \/db AS \/linker2\/db/);
      ok(['run', '-d', '--name', 'db2', '--network', 'linknet', IMAGE, 'sleep', '300']);
      const db2Ip = ok(['inspect', '-f', '{{.NetworkSettings.Networks.linknet.IPAddress}}', 'db2']).trim();
      assert.match(fails(['run', '--rm', '--link', 'db2:x', IMAGE, 'true']), /Cannot link to \/db2, as it does not belong to the default network/);
      const look = ok(['run', '--rm', '--network', 'linknet', '--link', 'db2:store', IMAGE, 'nslookup', 'store']);
      assert.match(look, new RegExp(`Address: ${db2Ip.replace(/\./g, '\\.')}`));
      assert.doesNotMatch(ok(['run', '--rm', '--network', 'linknet', IMAGE, 'sh', '-c', 'nslookup store 2>&1; true']), new RegExp(db2Ip.replace(/\./g, '\\.')));
    } finally {
      d.docker(['rm', '-f', 'db', 'db2', 'linker2', 'linker3', 'filler']);
      ok(['network', 'rm', 'linknet']);
    }
  });

  test('a user network whose DNS port on the gateway is taken fails the start with a clear error (no container with a dead resolver)', async () => {
    // The network's bridge is made first by the test, with the gateway address, so the port can be taken before berthd binds it.
    const b = testBridge('bd');
    const gw = b.bip.split('/')[0]!;
    const ip = (args: string[]) => assert.equal(spawnSync('ip', args).status, 0, `ip ${args.join(' ')}`);
    ok(['network', 'create', '--subnet', b.subnet, '-o', `com.docker.network.bridge.name=${b.name}`, 'taken']);
    ours.add(b.name);
    const squatter = createSocket('udp4');
    try {
      ip(['link', 'add', 'name', b.name, 'type', 'bridge']);
      ip(['addr', 'add', b.bip, 'dev', b.name]);
      ip(['link', 'set', b.name, 'up']);
      await new Promise<void>((res, rej) => { squatter.once('error', rej); squatter.bind(53, gw, () => res()); });
      const err = fails(['run', '--rm', '--network', 'taken', IMAGE, 'true']);
      assert.match(err, new RegExp(`network taken: cannot start its embedded DNS server: dns server: listen udp ${gw.replace(/\./g, '\\.')}:53: .*EADDRINUSE`));
      squatter.close();
      ok(['run', '--rm', '--network', 'taken', IMAGE, 'true']);
    } finally {
      try { squatter.close(); } catch { /* closed */ }
      d.docker(['network', 'rm', 'taken']);
      removeBridge(b.name);
    }
  });

  test('--network container:<id> joins that container\'s netns at each start (127.0.0.1, its DNS, its /etc files); a stopped one fails the start', () => {
    ok(['network', 'create', 'pod']);
    try {
      const first = ok(['run', '-d', '--name', 'first', '--network', 'pod', IMAGE, ...httpd('from-first')]).trim();
      ok(['run', '-d', '--name', 'third', '--network', 'pod', IMAGE, 'sleep', '300']);
      note();
      ok(['create', '--name', 'second', '--network', `container:${first}`, IMAGE, 'sleep', '300']);
      const probe = () => {
        ok(['start', 'second']);
        const out = ok(['exec', 'second', 'sh', '-c',
          'for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://127.0.0.1/index.html && break; sleep 0.2; done; nslookup third; echo ---; readlink /proc/self/ns/net; hostname; echo $HOSTNAME; cat /etc/hostname /etc/hosts /etc/resolv.conf']);
        const [web, files] = out.split('---\n') as [string, string];
        assert.match(web, /^from-first\n/);
        const thirdIp = ok(['inspect', '-f', '{{.NetworkSettings.Networks.pod.IPAddress}}', 'third']).trim();
        assert.match(web, new RegExp(`Address: ${thirdIp.replace(/\./g, '\\.')}`));
        // the same netns, hostname and network files as the first container
        const mine = ok(['exec', first, 'sh', '-c', 'readlink /proc/self/ns/net; hostname; echo $HOSTNAME; cat /etc/hostname /etc/hosts /etc/resolv.conf']);
        assert.equal(files, mine);
        ok(['stop', '-t', '0', 'second']);
      };
      probe();
      const inspect = JSON.parse(ok(['inspect', 'second']))[0];
      const firstInspect = JSON.parse(ok(['inspect', 'first']))[0];
      assert.equal(inspect.HostConfig.NetworkMode, `container:${first}`);
      assert.deepEqual(inspect.NetworkSettings.Networks, {});
      assert.equal(inspect.NetworkSettings.IPAddress, '');
      assert.equal(inspect.NetworkSettings.SandboxKey, '');
      assert.equal(inspect.Config.Hostname, firstInspect.Config.Hostname);
      assert.deepEqual([inspect.HostsPath, inspect.ResolvConfPath, inspect.HostnamePath], [firstInspect.HostsPath, firstInspect.ResolvConfPath, firstInspect.HostnamePath]);
      // a restart gives the first container a new netns: the next start of the second joins that one
      ok(['restart', '-t', '0', 'first']);
      probe();
      // the other container stopped: create is fine, start fails with Docker's text (409)
      ok(['stop', '-t', '0', 'first']);
      assert.match(fails(['start', 'second']), /cannot join network namespace of a non running container: container first is exited/);
      ok(['create', '--name', 'fourth', '--network', 'container:first', IMAGE, 'true']);
      assert.match(fails(['start', 'fourth']), /cannot join network namespace of a non running container: container first is exited/);
      // what the other container's network decides cannot be set; an unknown one fails the create
      assert.match(fails(['create', '--network', 'container:first', '-p', '8080:80', IMAGE, 'true']), /conflicting options: port publishing and the container type network mode/);
      assert.match(fails(['create', '--network', 'container:first', '--hostname', 'x', IMAGE, 'true']), /conflicting options: hostname and the network mode/);
      assert.match(fails(['create', '--network', 'container:nope', IMAGE, 'true']), /No such container: nope/);
    } finally {
      d.docker(['rm', '-f', 'second', 'fourth', 'third', 'first']);
      ok(['network', 'rm', 'pod']);
    }
  });

  test('--network host: the host\'s network namespace and interfaces; -p is discarded with Docker\'s warning', async () => {
    const port = await freePort();
    const names = (text: string) => new Set(text.split('\n').map((l) => /^\s*([^:\s]+):/.exec(l)?.[1]).filter((n): n is string => !!n));
    const before = names(readFileSync('/proc/net/dev', 'utf8'));
    const r = d.docker(['run', '--rm', '--network', 'host', '-p', `127.0.0.1:${port}:80`, IMAGE, 'sh', '-c', 'readlink /proc/self/ns/net; cat /proc/net/dev']);
    const after = names(readFileSync('/proc/net/dev', 'utf8'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /WARNING: Published ports are discarded when using host network mode/);
    const [ns, ...dev] = r.stdout.split('\n');
    assert.equal(ns, readlinkSync(`/proc/${process.pid}/ns/net`));
    // the host's interfaces (other tests on this machine may add or remove some meanwhile)
    const seen = names(dev.join('\n'));
    for (const n of before) if (after.has(n)) assert.ok(seen.has(n), `the container does not see the host's ${n}`);
    for (const n of seen) assert.ok(before.has(n) || after.has(n), `the container sees ${n}, the host does not`);
    // nothing was bound on the host port
    ok(['run', '-d', '--name', 'hostnet', '--network', 'host', '-p', `127.0.0.1:${port}:80`, IMAGE, 'sleep', '300']);
    try {
      await new Promise<void>((resolve, reject) => {
        const s = net.createServer().once('error', reject).listen(port, '127.0.0.1', () => s.close(() => resolve()));
      });
    } finally {
      d.docker(['rm', '-f', 'hostnet']);
    }
  });

  test('a published port answers on 127.0.0.1; docker port and ps show it; -P picks a port for EXPOSE', async () => {
    const port = await freePort();
    ok(['run', '-d', '--name', 'pub', '-p', `127.0.0.1:${port}:80`, '--expose', '81', '-P', IMAGE, ...httpd('published')]);
    note();
    try {
      assert.equal((await waitHttp(port, '/index.html')).trim(), 'published');
      assert.match(ok(['port', 'pub', '80']), new RegExp(`^127\\.0\\.0\\.1:${port}$`, 'm'));
      const ports = JSON.parse(ok(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'pub'])) as Record<string, Array<{ HostIp: string; HostPort: string }>>;
      assert.deepEqual(ports['80/tcp'], [{ HostIp: '127.0.0.1', HostPort: String(port) }]);
      const eph = Number(ports['81/tcp']![0]!.HostPort);
      assert.ok(eph > 0 && eph !== port, `ephemeral port for 81: ${eph}`);
      assert.match(ok(['ps', '--format', '{{.Ports}}', '-f', 'name=pub']), new RegExp(`127\\.0\\.0\\.1:${port}->80/tcp`));
      // ps filters on the public side (publish) or the container's (expose), a range or one port, tcp unless named.
      const ps = (...f: string[]) => ok(['ps', '--format', '{{.Names}}', ...f.flatMap((x) => ['--filter', x])]);
      assert.equal(ps(`publish=${port}`), 'pub\n');
      assert.equal(ps(`publish=${eph}/tcp`), 'pub\n');
      assert.equal(ps('expose=80'), 'pub\n');
      assert.equal(ps('expose=79-81/tcp'), 'pub\n');
      assert.equal(ps('publish=80'), '');
      assert.equal(ps('expose=80/udp'), '');
      // the traffic shows in docker stats' NET I/O (eth0's counters in the container's netns)
      const netio = ok(['stats', '--no-stream', '--format', '{{.NetIO}}', 'pub']).trim();
      assert.match(netio, /^[\d.]+[kMG]?B \/ [\d.]+[kMG]?B$/);
      assert.notEqual(netio, '0B / 0B');
      // the port is taken: a second container cannot publish it, and leaves nothing running
      note();
      const onBridges = daemonInterfaces((a) => d.docker(a)).length;
      const err = fails(['run', '-d', '--name', 'pub2', '-p', `127.0.0.1:${port}:80`, IMAGE, 'sleep', '30']);
      assert.match(err, new RegExp(`Bind for 127\\.0\\.0\\.1:${port} failed: port is already allocated`));
      assert.match(ok(['ps', '-a', '--format', '{{.Names}} {{.State}}', '-f', 'name=pub2']), /pub2 created/);
      assert.equal(daemonInterfaces((a) => d.docker(a)).length, onBridges, 'the failed start left a veth');
      ok(['rm', 'pub2']);
    } finally {
      d.docker(['rm', '-f', 'pub']);
    }
    // the host port is free again
    await new Promise<void>((resolve, reject) => {
      const s = net.createServer().once('error', reject).listen(port, '127.0.0.1', () => s.close(() => resolve()));
    });
  });

  test('IPv6 as Docker 28: -p [::1]:P:80 answers on ::1 only; -p Q:80 binds 0.0.0.0 and [::], shown by docker port, inspect and ps', async (t) => {
    if (!/\blo$/m.test(existsSync('/proc/net/if_inet6') ? readFileSync('/proc/net/if_inet6', 'utf8') : '')) return t.skip('the host has no IPv6 loopback');
    const [p, q] = [await freePort(), await freePort()];
    ok(['run', '-d', '--name', 'six', '-p', `[::1]:${p}:80`, '-p', `${q}:80`, IMAGE, ...httpd('six')]);
    note();
    try {
      assert.equal((await waitHttp(p, '/index.html', '::1')).trim(), 'six');
      await assert.rejects(httpGet(p, '/index.html'), /ECONNREFUSED/, '-p [::1]:P:80 bound 127.0.0.1 too');
      assert.equal((await waitHttp(q, '/index.html', '::1')).trim(), 'six');
      assert.equal((await waitHttp(q, '/index.html')).trim(), 'six');
      assert.deepEqual(ok(['port', 'six']).split('\n').filter(Boolean).sort(), [`80/tcp -> 0.0.0.0:${q}`, `80/tcp -> [::1]:${p}`, `80/tcp -> [::]:${q}`]);
      const ports = JSON.parse(ok(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'six'])) as Record<string, unknown>;
      assert.deepEqual(ports['80/tcp'], [{ HostIp: '::1', HostPort: String(p) }, { HostIp: '0.0.0.0', HostPort: String(q) }, { HostIp: '::', HostPort: String(q) }]);
      assert.match(ok(['ps', '--format', '{{.Ports}}', '-f', 'name=six']), new RegExp(`0\\.0\\.0\\.0:${q}->80/tcp, \\[::\\]:${q}->80/tcp`));
    } finally {
      d.docker(['rm', '-f', 'six']);
    }
  });

  test('a host port range takes its first free port: the first taken, the next is used; all taken, Docker\'s error and nothing runs', async () => {
    const listen = (port: number) => new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer().once('error', reject).listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(s));
    });
    // Two free ports in a row, the first held by the test.
    let held: net.Server[] = [];
    for (let i = 0; i < 20 && held.length < 2; i++) {
      const a = await listen(0);
      const b = await listen((a.address() as net.AddressInfo).port + 1).catch(() => undefined);
      if (b) { b.close(); held = [a, b]; } else a.close();
    }
    assert.equal(held.length, 2, 'no two free ports in a row');
    const p = (held[0]!.address() as net.AddressInfo).port;
    try {
      ok(['run', '-d', '--name', 'ranged', '-p', `127.0.0.1:${p}-${p + 1}:80`, IMAGE, ...httpd('ranged')]);
      note();
      assert.equal(ok(['port', 'ranged', '80']).trim(), `127.0.0.1:${p + 1}`);
      assert.equal((await waitHttp(p + 1, '/index.html')).trim(), 'ranged');
      ok(['rm', '-f', 'ranged']);
      held[1] = await listen(p + 1);
      const err = fails(['run', '-d', '--name', 'ranged2', '-p', `127.0.0.1:${p}-${p + 1}:80`, IMAGE, 'sleep', '30']);
      assert.match(err, new RegExp(`driver failed programming external connectivity on endpoint ranged2 \\([0-9a-f]{64}\\): Bind for 127\\.0\\.0\\.1:${p + 1} failed: port is already allocated`));
      assert.match(ok(['ps', '-a', '--format', '{{.Names}} {{.State}}', '-f', 'name=ranged2']), /ranged2 created/);
    } finally {
      d.docker(['rm', '-f', 'ranged', 'ranged2']);
      for (const s of held) s.close();
    }
  });

  test('one forwarder for every published port: 5 more containers with -p add no thread or process to berthd, and berthd holds every listener', () => {
    const threads = () => readdirSync(`/proc/${d.pid}/task`).length;
    const children = () => readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((e) => {
      try { return /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${e}/status`, 'utf8'))?.[1] === String(d.pid); } catch { return false; }
    }).sort();
    const names = ['fw0', 'fw1', 'fw2', 'fw3', 'fw4', 'fw5'];
    try {
      ok(['run', '-d', '--name', 'fw0', '-p', '127.0.0.1::80', IMAGE, 'sleep', '300']);
      const [t0, c0] = [threads(), children()];
      for (const n of names.slice(1)) ok(['run', '-d', '--name', n, '-p', '127.0.0.1::80', IMAGE, 'sleep', '300']);
      note();
      assert.equal(threads(), t0, 'threads of berthd');
      assert.deepEqual(children(), c0, 'child processes of berthd');
      for (const n of names) {
        const port = /^127\.0\.0\.1:(\d+)$/.exec(ok(['port', n, '80']).trim())?.[1];
        assert.ok(port, `${n} has no port`);
        const ss = spawnSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' }).stdout;
        assert.match(ss, new RegExp(`pid=${d.pid},`), `the listener of ${n} (${port}) is not berthd's: ${ss}`);
      }
    } finally {
      d.docker(['rm', '-f', ...names]);
    }
  });

  test('a published UDP port: a datagram from the host reaches the container and its reply comes back', async () => {
    const port = await freePort();
    // the probe's UDP echo: prints each datagram and sends it back after "echo:" (busybox's nc has no -u)
    ok(['run', '-d', '--name', 'udp', '-p', `127.0.0.1:${port}:5000/udp`, IMAGE, '/probe', 'udp-echo', '5000']);
    note();
    try {
      assert.match(ok(['port', 'udp']), new RegExp(`^5000/udp -> 127\\.0\\.0\\.1:${port}$`, 'm'));
      assert.match(ok(['ps', '--format', '{{.Ports}}', '-f', 'name=udp']), new RegExp(`127\\.0\\.0\\.1:${port}->5000/udp`));
      let reply = '';
      let i = 0;
      for (; i < 20 && !reply; i++) reply = await udpExchange(port, `hello-udp-${i}`, 500);
      assert.equal(reply, `echo:hello-udp-${i - 1}`);
      assert.match(ok(['logs', 'udp']), new RegExp(`^hello-udp-${i - 1}$`, 'm'));
    } finally {
      d.docker(['rm', '-f', 'udp']);
    }
  });

  test('-P publishes the ports the image EXPOSEs (tcp and udp), each on an ephemeral port', () => {
    ok(['create', '--name', 'exp-src', IMAGE, 'true']);
    const tar = join(d.dir, 'exp.tar');
    ok(['export', '-o', tar, 'exp-src']);
    ok(['rm', 'exp-src']);
    ok(['import', '--change', 'EXPOSE 8000', '--change', 'EXPOSE 7000/udp', tar, 'berth-test/exposed:1']);
    try {
      assert.deepEqual(Object.keys(JSON.parse(ok(['image', 'inspect', '-f', '{{json .Config.ExposedPorts}}', 'berth-test/exposed:1'])) as object).sort(), ['7000/udp', '8000/tcp']);
      ok(['run', '-d', '--name', 'exp', '-P', 'berth-test/exposed:1', 'sleep', '300']);
      note();
      const out = ok(['port', 'exp']);
      assert.match(out, /^7000\/udp -> 0\.0\.0\.0:\d+$/m);
      assert.match(out, /^8000\/tcp -> 0\.0\.0\.0:\d+$/m);
      // without -P nothing is published
      ok(['run', '-d', '--name', 'exp2', 'berth-test/exposed:1', 'sleep', '300']);
      assert.equal(ok(['port', 'exp2']), '');
    } finally {
      d.docker(['rm', '-f', 'exp', 'exp2']);
      d.docker(['rmi', 'berth-test/exposed:1']);
    }
  });

  test('a bad port spec is refused at create with dockerd\'s text', async () => {
    const r = await api('POST', '/containers/create?name=badport', { Image: IMAGE, Cmd: ['true'], HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '90-80' }] } } });
    assert.equal(r.status, 400);
    assert.equal(r.json.message, 'invalid port specification: "90-80"');
    assert.equal(d.docker(['inspect', 'badport']).status, 1, 'no container was made');
  });

  test('--gateway: shown by inspect and the containers\' default route; one outside the subnet refused', async () => {
    const b = testBridge();
    const gw = b.subnet.replace(/0\/24$/, '254');
    ok(['network', 'create', '--subnet', b.subnet, '--gateway', gw, 'gwnet']);
    try {
      assert.deepEqual(JSON.parse(ok(['network', 'inspect', 'gwnet', '-f', '{{json .IPAM.Config}}'])), [{ Subnet: b.subnet, Gateway: gw }]);
      const out = ok(['run', '--rm', '--network', 'gwnet', IMAGE, 'ip', 'route']);
      assert.match(out, new RegExp(`^default via ${gw.replace(/\./g, '\\.')} dev eth0`, 'm'));
    } finally {
      ok(['network', 'rm', 'gwnet']);
    }
    // the docker CLI checks this itself; berthd answers other clients with dockerd's text
    assert.match(fails(['network', 'create', '--subnet', b.subnet, '--gateway', '10.199.0.1', 'gwbad']), /no matching subnet for gateway 10\.199\.0\.1/);
    const r = await api('POST', '/networks/create', { Name: 'gwbad', IPAM: { Config: [{ Subnet: b.subnet, Gateway: '10.199.0.1' }] } });
    assert.equal(r.status, 400);
    assert.equal(r.json.message, `invalid gateway 10.199.0.1: parent subnet ${b.subnet} doesn't contain this address`);
    assert.equal(d.docker(['network', 'inspect', 'gwbad']).status, 1);
  });

  test('--ip-range: addresses come from the range only; --ip may be outside it; a taken --ip is refused', () => {
    const b = testBridge();
    const at = (n: number) => b.subnet.replace(/0\/24$/, String(n));
    ok(['network', 'create', '--subnet', b.subnet, '--ip-range', `${at(8)}/31`, 'ranged']);
    try {
      ok(['run', '-d', '--name', 'r1', '--network', 'ranged', IMAGE, 'sleep', '300']);
      ok(['run', '-d', '--name', 'r2', '--network', 'ranged', IMAGE, 'sleep', '300']);
      note();
      const ips = ['r1', 'r2'].map((c) => ok(['inspect', '-f', '{{.NetworkSettings.Networks.ranged.IPAddress}}', c]).trim()).sort();
      assert.deepEqual(ips, [at(8), at(9)]);
      // the range is used up: no address past it
      assert.match(fails(['run', '-d', '--name', 'r3', '--network', 'ranged', IMAGE, 'sleep', '300']), /no available IPv4 addresses on this network's address pools: ranged/);
      // a static address outside the range is still the user's to take, once
      ok(['run', '-d', '--name', 'r4', '--network', 'ranged', '--ip', at(200), IMAGE, 'sleep', '300']);
      assert.equal(ok(['inspect', '-f', '{{.NetworkSettings.Networks.ranged.IPAddress}}', 'r4']).trim(), at(200));
      assert.match(fails(['run', '-d', '--name', 'r5', '--network', 'ranged', '--ip', at(200), IMAGE, 'sleep', '300']), new RegExp(`Address already in use: ${at(200).replace(/\./g, '\\.')}`));
    } finally {
      d.docker(['rm', '-f', 'r1', 'r2', 'r3', 'r4', 'r5']);
      ok(['network', 'rm', 'ranged']);
    }
  });

  test('network prune removes unused user networks only, and prints them as docker does', () => {
    ok(['network', 'create', 'idle1']);
    ok(['network', 'create', 'idle2']);
    ok(['network', 'create', 'busy']);
    ok(['run', '-d', '--name', 'busyc', '--network', 'busy', IMAGE, 'sleep', '300']);
    note();
    try {
      const out = ok(['network', 'prune', '-f']);
      assert.equal(out, 'Deleted Networks:\nidle1\nidle2\n\n');
      assert.deepEqual(ok(['network', 'ls', '--format', '{{.Name}}']).split('\n').filter(Boolean).sort(), ['bridge', 'busy', 'host', 'none']);
      // nothing more to prune: docker prints nothing
      assert.equal(ok(['network', 'prune', '-f']), '');
    } finally {
      d.docker(['rm', '-f', 'busyc']);
      d.docker(['network', 'rm', 'busy', 'idle1', 'idle2']);
    }
  });

  test('--internal: no default route; connect and disconnect a running container', () => {
    ok(['network', 'create', '--internal', 'inner']);
    ok(['network', 'create', 'side']);
    try {
      assert.doesNotMatch(ok(['run', '--rm', '--network', 'inner', IMAGE, 'ip', 'route']), /default/);
      ok(['run', '-d', '--name', 'multi', '--network', 'inner', IMAGE, 'sleep', '300']);
      note();
      ok(['network', 'connect', '--alias', 'm2', '--gw-priority', '3', 'side', 'multi']);
      assert.match(ok(['exec', 'multi', 'ip', '-4', 'addr']), /eth1/);
      const eps = JSON.parse(ok(['inspect', '-f', '{{json .NetworkSettings.Networks}}', 'multi'])) as Record<string, { GwPriority: number }>;
      assert.deepEqual(Object.keys(eps).sort(), ['inner', 'side']);
      // the endpoints' gateway priorities as configured (API 1.48's GwPriority)
      assert.deepEqual([eps.inner!.GwPriority, eps.side!.GwPriority], [0, 3]);
      // reachable by the alias on the second network
      assert.match(ok(['run', '--rm', '--network', 'side', IMAGE, 'nslookup', 'm2']), /Name:\s+m2/);
      ok(['network', 'disconnect', 'side', 'multi']);
      assert.doesNotMatch(ok(['exec', 'multi', 'ip', '-4', 'addr']), /eth1/);
    } finally {
      d.docker(['rm', '-f', 'multi']);
      ok(['network', 'rm', 'inner', 'side']);
    }
  });

  test('bad input: overlapping subnet, unknown network, host/none mixing, duplicate name', () => {
    const b = testBridge();
    ok(['network', 'create', '--subnet', b.subnet, 'one']);
    try {
      // IPAM.Config is the pool as given: no gateway when none was given (dockerd's buildIPAMResources)
      assert.deepEqual(JSON.parse(ok(['network', 'inspect', '-f', '{{json .IPAM.Config}}', 'one'])), [{ Subnet: b.subnet }]);
      assert.match(fails(['network', 'create', '--subnet', b.subnet, 'two']), /Pool overlaps with other one on this address space/);
      assert.match(fails(['network', 'create', 'one']), /network with name one already exists/);
      assert.match(fails(['network', 'create', '--subnet', '10.0.0.1/33', 'bad']), /invalid CIDR address/);
      assert.match(fails(['run', '--rm', '--network', 'nope', IMAGE, 'true']), /network nope not found/);
      assert.match(fails(['network', 'rm', 'bridge']), /bridge is a pre-defined network and cannot be removed/);
      // host and none containers cannot join other networks, nor others the host network (Docker's texts)
      ok(['run', '-d', '--name', 'onhost', '--network', 'host', IMAGE, 'sleep', '300']);
      ok(['run', '-d', '--name', 'onnone', '--network', 'none', IMAGE, 'sleep', '300']);
      ok(['run', '-d', '--name', 'onone', '--network', 'one', IMAGE, 'sleep', '300']);
      note();
      assert.match(fails(['network', 'connect', 'one', 'onhost']), /container sharing network namespace with another container or host cannot be connected to any other network/);
      assert.match(fails(['network', 'connect', 'one', 'onnone']), /container cannot be connected to multiple networks with one of the networks in private \(none\) mode/);
      assert.match(fails(['network', 'connect', 'host', 'onone']), /cannot connect container to host network - container must be created in host network mode/);
      assert.match(fails(['network', 'connect', 'none', 'onone']), /container cannot be connected to multiple networks with one of the networks in private \(none\) mode/);
      // --ip on a user subnet is honoured
      const ip = b.subnet.replace(/0\/24$/, '77');
      assert.match(ok(['run', '--rm', '--network', 'one', '--ip', ip, IMAGE, 'ip', '-4', 'addr', 'show', 'eth0']), new RegExp(`inet ${ip.replace(/\./g, '\\.')}/24`));
    } finally {
      d.docker(['rm', '-f', 'onhost', 'onnone', 'onone']);
      ok(['network', 'rm', 'one']);
    }
    assert.equal(d.docker(['network', 'ls', '-q', '-f', 'name=two']).stdout.trim(), '');
  });

  test('removing containers and networks leaves no netns file, IPAM lease or bridge', () => {
    ok(['network', 'create', 'tmpnet']);
    const br = `br-${ok(['network', 'inspect', '-f', '{{.Id}}', 'tmpnet']).trim().slice(0, 12)}`;
    const id = ok(['run', '-d', '--network', 'tmpnet', IMAGE, 'sleep', '300']).trim();
    note();
    assert.ok(existsSync(join(d.execRoot, 'netns', id)));
    assert.ok(existsSync(`/sys/class/net/${br}`));
    ok(['rm', '-f', id]);
    assert.equal(existsSync(join(d.execRoot, 'netns', id)), false, 'netns file left');
    const ipam = join(d.dataRoot, 'network', 'ipam');
    const leases = readdirSync(ipam, { recursive: true }).map(String).filter((f) => /\d+\.\d+\.\d+\.\d+$/.test(f));
    assert.deepEqual(leases, [], 'IPAM leases left');
    ok(['network', 'rm', 'tmpnet']);
    assert.equal(existsSync(`/sys/class/net/${br}`), false, 'bridge left');
    assert.equal(readFileSync('/proc/mounts', 'utf8').includes(join(d.execRoot, 'netns')), false);
  });

  test('networks are isolated from each other as Docker\'s: a container on A or on the default bridge cannot reach one on B, B\'s own can; rm leaves no iptables rule', () => {
    const rules = () => spawnSync('iptables', ['-w', '-S'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    const before = new Set(rules());
    ok(['network', 'create', 'isoa']);
    ok(['network', 'create', 'isob']);
    const bridges = ['isoa', 'isob'].map((n) => `br-${ok(['network', 'inspect', '-f', '{{.Id}}', n]).trim().slice(0, 12)}`);
    const names: string[] = [];
    try {
      ok(['run', '-d', '--name', 'srvb', '--network', 'isob', IMAGE, ...httpd('on-b')]);
      ok(['run', '-d', '--name', 'srvd', IMAGE, ...httpd('on-default')]);
      note();
      const ipOf = (c: string) => ok(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', c]).trim();
      const [ipB, ipD] = [ipOf('srvb'), ipOf('srvd')];
      names.push(...bridges, ipB, ipD);
      // timeout, not wget -T (Debian's busybox-static wget segfaults with -T), under sh: as PID 1 wget would not die of its TERM
      const get = (net: string, ip: string) => {
        const out = ok(['run', '--rm', '--network', net, IMAGE, 'sh', '-c', `timeout 3 wget -qO- http://${ip}/index.html; echo rc=$?`], { timeout: 30000 });
        return { body: out.replace(/rc=\d+\n$/, '').trim(), rc: Number(/rc=(\d+)\n$/.exec(out)?.[1]) };
      };
      // wget retries until httpd listens; the same network answers
      let r = get('isob', ipB);
      for (let i = 0; i < 10 && r.rc !== 0; i++) r = get('isob', ipB);
      assert.deepEqual(r, { body: 'on-b', rc: 0 }, 'B from B');
      assert.deepEqual(get('bridge', ipD), { body: 'on-default', rc: 0 }, 'the default bridge reaches itself');
      for (const [from, ip] of [['isoa', ipB], ['bridge', ipB], ['isoa', ipD]] as const) {
        const x = get(from, ip);
        assert.notEqual(x.rc, 0, `${from} reached ${ip}: ${x.body}`);
        assert.equal(x.body, '');
      }
      assert.ok(rules().some((l) => l.includes(`-o ${bridges[1]} `) && l.endsWith("-j DROP")), 'B\'s isolation rule');
    } finally {
      d.docker(['rm', '-f', 'srvb', 'srvd']);
      d.docker(['network', 'rm', 'isoa', 'isob']);
    }
    const word = (l: string, n: string) => new RegExp(`(^|[\\s/])${n.replace(/\./g, '\\.')}([\\s/]|$)`).test(l);
    const left = rules().filter((l) => !before.has(l) && names.some((n) => word(l, n)));
    assert.deepEqual(left, [], 'iptables rules left behind');
  });

  test('an endpoint broken while berthd was down: a warning naming it at restart and a berthd check finding; a container restart mends it', async () => {
    ok(['network', 'create', 'mend']);
    const br = `br-${ok(['network', 'inspect', '-f', '{{.Id}}', 'mend']).trim().slice(0, 12)}`;
    const id = ok(['run', '-d', '--name', 'cut', '--network', 'mend', IMAGE, ...httpd('mended')]).trim();
    note();
    try {
      const [veth, ...more] = bridgePorts(br);
      assert.ok(veth && !more.length, `one veth on ${br}: ${bridgePorts(br).join(' ')}`);
      await d.stop({ keepContainers: true });
      // The kernel takes the container's eth0 with it: the container is cut off its network.
      const del = spawnSync('ip', ['link', 'delete', veth], { encoding: 'utf8' });
      assert.equal(del.status, 0, del.stderr);
      const logStart = readFileSync(d.log, 'utf8').length;
      d = await startBerthd({ reuse: { dir: d.dir, execRoot: d.execRoot } });
      const warned = () => readFileSync(d.log, 'utf8').slice(logStart).split('\n').filter((l) => l.includes('CNI CHECK failed'))
        .map((l) => JSON.parse(l) as { container?: string; network?: string });
      for (let i = 0; i < 50 && !warned().length; i++) await sleep(100);
      assert.deepEqual(warned().map((w) => [w.container, w.network]), [['cut', 'mend']]);
      const broken = d.check().report.findings.filter((f) => f.kind === 'broken-endpoint');
      assert.deepEqual(broken.map((f) => f.object), [`${id}/mend`]);
      assert.match(broken[0]!.message, new RegExp(`container cut .* on network mend: its host interface ${veth} is gone`));
      ok(['restart', '-t', '1', 'cut']);
      note();
      assert.match(ok(['run', '--rm', '--network', 'mend', IMAGE, 'wget', '-qO-', 'http://cut/index.html']), /mended/);
      assert.deepEqual(d.check().report.findings.filter((f) => f.kind === 'broken-endpoint'), []);
    } finally {
      d.docker(['rm', '-f', 'cut']);
      d.docker(['network', 'rm', 'mend']);
    }
  });

  test('a berthd restart keeps running containers reachable: published port and DNS', async () => {
    const port = await freePort();
    ok(['network', 'create', 'keep']);
    ok(['run', '-d', '--name', 'kept', '--network', 'keep', '-p', `127.0.0.1:${port}:80`, IMAGE, ...httpd('still-here')]);
    note();
    assert.equal((await waitHttp(port, '/index.html')).trim(), 'still-here');
    await d.stop({ keepContainers: true });
    d = await startBerthd({ reuse: { dir: d.dir, execRoot: d.execRoot } });
    assert.equal((await waitHttp(port, '/index.html')).trim(), 'still-here');
    assert.match(ok(['run', '--rm', '--network', 'keep', IMAGE, 'wget', '-qO-', 'http://kept/index.html']), /still-here/);
    ok(['rm', '-f', 'kept']);
    ok(['network', 'rm', 'keep']);
  });
});

describe('default-address-pools (daemon.json)', { skip, concurrency: false }, () => {
  test('a network created without --subnet gets the first free subnet of the configured pool', async () => {
    // A free /24 of the test range, carved in /26s.
    const base = testBridge().subnet;
    const at = (n: number) => base.replace(/0\/24$/, String(n));
    const p = await startBerthd({ prefix: 'berthd-pools-', config: { 'default-address-pools': [{ base, size: 26 }] } });
    try {
      const run = (args: string[]) => ok(args, { on: p });
      run(['load', '-i', buildDockerSaveTar(p.dir, `docker.io/library/${IMAGE}`)]);
      run(['network', 'create', 'pool1']);
      run(['network', 'create', 'pool2']);
      assert.deepEqual(JSON.parse(run(['network', 'inspect', 'pool1', '-f', '{{json .IPAM.Config}}'])), [{ Subnet: `${at(0)}/26`, Gateway: at(1) }]);
      assert.deepEqual(JSON.parse(run(['network', 'inspect', 'pool2', '-f', '{{json .IPAM.Config}}'])), [{ Subnet: `${at(64)}/26`, Gateway: at(65) }]);
      assert.match(run(['run', '--rm', '--network', 'pool2', IMAGE, 'ip', '-4', 'addr', 'show', 'eth0']), new RegExp(`inet ${at(66).replace(/\./g, '\\.')}/26`));
    } finally {
      await p.stop();
    }
  });
});

describe('host-gateway-ip (daemon.json)', { skip, concurrency: false }, () => {
  test('--add-host NAME:host-gateway is the configured address', async () => {
    const p = await startBerthd({ prefix: 'berthd-hgw-', config: { 'host-gateway-ip': '192.0.2.1' } });
    try {
      const run = (args: string[]) => ok(args, { on: p });
      run(['load', '-i', buildDockerSaveTar(p.dir, `docker.io/library/${IMAGE}`)]);
      const hosts = run(['run', '--rm', '--network', 'none', '--add-host', 'hg.internal:host-gateway', IMAGE, 'cat', '/etc/hosts']);
      assert.ok(hosts.split('\n').includes('192.0.2.1\thg.internal'), hosts);
    } finally {
      await p.stop();
    }
  });
});

describe('ip masquerade (dockerd\'s default --ip-masq): berthd in a network namespace of the test\'s own, with no way out', { skip, concurrency: false }, () => {
  test('the bridge plugin\'s NAT rules for a container on a user network and on the default bridge go with rm and network rm', async () => {
    // No uplink in this netns, so whatever masquerade there is reaches nothing outside.
    const ns = `bm${randomBytes(4).toString('hex')}`;
    const made = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    let m: Berthd | undefined;
    try {
      m = await startBerthd({ prefix: 'berthd-masq-', netns: `/run/netns/${ns}`, args: ['--ip-masq=true'] });
      const run = (args: string[]) => ok(args, { on: m! });
      const nat = () => {
        const r = spawnSync('nsenter', [`--net=/run/netns/${ns}`, '--', 'iptables', '-w', '-t', 'nat', '-S'], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        return r.stdout.split('\n').filter(Boolean).sort();
      };
      run(['load', '-i', buildDockerSaveTar(m.dir, `docker.io/library/${IMAGE}`)]);
      run(['network', 'create', 'masq']);
      const before = nat();
      run(['run', '-d', '--name', 'onuser', '--network', 'masq', IMAGE, 'sleep', '300']);
      run(['run', '-d', '--name', 'ondefault', IMAGE, 'sleep', '300']);
      const during = nat();
      for (const c of ['onuser', 'ondefault']) {
        const ip = run(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', c]).trim();
        assert.ok(during.some((l) => l.includes(`-s ${ip}/32`) && l.includes('-j CNI-')), `no masquerade rule for ${c} (${ip}):\n${during.join('\n')}`);
      }
      run(['rm', '-f', 'onuser', 'ondefault']);
      run(['network', 'rm', 'masq']);
      assert.deepEqual(nat(), before, 'NAT rules left behind');
    } finally {
      await m?.stop();
      spawnSync('ip', ['netns', 'del', ns]);
    }
    assert.equal(existsSync(`/run/netns/${ns}`), false);
  });
});
