import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SYSTEMD_RESOLV_CONF, containerResolvConf, dnsUpstreams, hostResolvConf } from './resolv-conf.js';

/** A reader of fake files (undefined: the file does not exist). */
const files = (m: Record<string, string>) => (p: string) => m[p];

const RESOLVED_STUB = '# managed by systemd-resolved\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n';
const RESOLVED_UPSTREAMS = 'nameserver 192.168.1.1\nnameserver 2001:db8::1\nsearch lan\n';

test('resolv.conf: the embedded DNS forwards to every IPv4 nameserver of the host, loopback ones too (it runs in the host netns)', () => {
  assert.deepEqual(dnsUpstreams(files({ '/etc/resolv.conf': RESOLVED_STUB })), ['127.0.0.53']);
  assert.deepEqual(dnsUpstreams(files({ '/etc/resolv.conf': 'nameserver 127.0.0.1\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\n' })), ['127.0.0.1', '10.0.0.2']);
  assert.deepEqual(dnsUpstreams(files({})), []);
});

test('resolv.conf: behind systemd-resolved a container starts from its upstream list, as dockerd; host networking keeps the stub', () => {
  const read = files({ '/etc/resolv.conf': RESOLVED_STUB, [SYSTEMD_RESOLV_CONF]: RESOLVED_UPSTREAMS });
  assert.equal(hostResolvConf(false, read), RESOLVED_UPSTREAMS);
  assert.equal(hostResolvConf(true, read), RESOLVED_STUB);
  // only a sole 127.0.0.53 means systemd-resolved; another loopback resolver is left to the filter
  const dnsmasq = 'nameserver 127.0.0.1\nnameserver 10.0.0.2\n';
  assert.equal(hostResolvConf(false, files({ '/etc/resolv.conf': dnsmasq, [SYSTEMD_RESOLV_CONF]: RESOLVED_UPSTREAMS })), dnsmasq);
  // no upstream list: the stub's text, whose loopback server the container's file then drops
  assert.equal(hostResolvConf(false, files({ '/etc/resolv.conf': RESOLVED_STUB })), RESOLVED_STUB);
});

test('resolv.conf: a container without host networking gets no loopback nameserver, and 8.8.8.8/8.8.4.4 when none is left', () => {
  assert.equal(containerResolvConf('nameserver 127.0.0.1\nnameserver ::1\nnameserver 10.0.0.2\nsearch corp\n', {}, false), 'nameserver 10.0.0.2\nsearch corp\n');
  assert.equal(containerResolvConf(RESOLVED_STUB, {}, false), '# managed by systemd-resolved\noptions edns0 trust-ad\nsearch lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  assert.equal(containerResolvConf('', {}, false), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  assert.equal(containerResolvConf(RESOLVED_STUB, {}, true), RESOLVED_STUB);
});

test('resolv.conf: --dns, --dns-search and --dns-option replace the host\'s lines', () => {
  const out = containerResolvConf('nameserver 10.0.0.2\nsearch corp\noptions ndots:2\n', { dns: ['1.1.1.1'], search: ['a.example', 'b.example'], options: ['ndots:5'] }, false);
  assert.equal(out, 'nameserver 1.1.1.1\nsearch a.example b.example\noptions ndots:5\n');
  assert.equal(containerResolvConf('nameserver 127.0.0.1\n', { dns: ['127.0.0.1'] }, false), 'nameserver 127.0.0.1\n');
});
