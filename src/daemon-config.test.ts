import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mergeConfig, overriddenKeys, parseArgs, parseConfigFile, DEFAULT_SHM_SIZE } from './daemon-config.js';

const file = (obj: unknown) => parseConfigFile(typeof obj === 'string' ? obj : JSON.stringify(obj), '/etc/berth/daemon.json');
const load = (argv: string[], obj?: unknown) => mergeConfig(parseArgs(argv), obj === undefined ? undefined : file(obj));

describe('daemon config', () => {
  test('an empty file, or one with only {} or whitespace, gives the defaults', () => {
    for (const text of ['', '  \n', '{}', '\uFEFF{}']) {
      const c = mergeConfig(parseArgs([]), file(text));
      assert.equal(c.dataRoot, '/var/lib/berth');
      assert.equal(c.execRoot, '/run/berth');
      assert.deepEqual(c.hosts, ['unix:///run/berth/berth.sock']);
      assert.equal(c.logDriver, 'json-file');
      assert.deepEqual(c.logOpts, {});
      assert.equal(c.defaultShmSize, DEFAULT_SHM_SIZE);
      assert.equal(c.maxConcurrentDownloads, 3);
      assert.equal(c.defaultRuntime, 'berth');
      assert.deepEqual(c.runtimes, {});
      assert.equal(c.shutdownContainers, false);
      assert.equal(c.metricsAddr, '');
    }
  });

  test('every Docker key Berth takes, from the file', () => {
    const c = load([], {
      'data-root': '/srv/berth', 'exec-root': '/run/b2', hosts: ['unix:///run/b2/b.sock', 'tcp://127.0.0.1:2376'], tlsverify: true, debug: true, 'log-level': 'warn',
      'log-driver': 'json-file', 'log-opts': { 'max-size': '10m', 'max-file': '3', compress: 'true' },
      'default-ulimits': { nofile: { Name: 'nofile', Soft: 1024, Hard: 2048 } }, 'default-shm-size': '128M',
      'max-concurrent-downloads': 5, 'registry-mirrors': ['https://mirror.example'], 'insecure-registries': ['reg.test:5000'],
      'default-address-pools': [{ base: '10.10.0.0/16', size: 24 }], 'metrics-addr': '127.0.0.1:9323',
      'default-runtime': 'runc', runtimes: { runc: { path: '/usr/sbin/runc' }, crun: { path: '/usr/bin/crun', runtimeArgs: ['--debug'] } },
      'shutdown-containers': true, 'live-restore': true, 'cgroup-parent': 'ops',
    });
    assert.equal(c.dataRoot, '/srv/berth');
    assert.equal(c.pidfile, '/run/b2/berthd.pid');
    assert.equal(c.logLevel, 'warn');
    assert.deepEqual(c.logOpts, { 'max-size': '10m', 'max-file': '3', compress: 'true' });
    assert.deepEqual(c.defaultUlimits, [{ Name: 'nofile', Soft: 1024, Hard: 2048 }]);
    assert.equal(c.defaultShmSize, 128 * 1024 * 1024);
    assert.equal(c.maxConcurrentDownloads, 5);
    assert.deepEqual(c.defaultAddressPools, [{ base: '10.10.0.0/16', size: 24 }]);
    assert.equal(c.metricsAddr, '127.0.0.1:9323');
    assert.equal(c.defaultRuntime, 'runc');
    assert.deepEqual(c.runtimes, { runc: { path: '/usr/sbin/runc' }, crun: { path: '/usr/bin/crun', runtimeArgs: ['--debug'] } });
    assert.equal(c.shutdownContainers, true);
    assert.equal(c.cgroupParent, 'ops');
  });

  test('the same settings as flags', () => {
    const c = load(['--log-opt', 'max-size=1m', '--log-opt=max-file=2', '--default-ulimit', 'nproc=100:200', '--default-shm-size=1g',
      '--max-concurrent-downloads', '1', '--default-address-pool', 'base=172.80.0.0/16,size=24', '--metrics-addr', '[::1]:9323',
      '--add-runtime', 'runc=/usr/sbin/runc', '--default-runtime', 'runc', '--shutdown-containers', '-Hunix:///tmp/x.sock', '-D', '--validate']);
    assert.deepEqual(c.logOpts, { 'max-size': '1m', 'max-file': '2' });
    assert.deepEqual(c.defaultUlimits, [{ Name: 'nproc', Soft: 100, Hard: 200 }]);
    assert.equal(c.defaultShmSize, 2 ** 30);
    assert.deepEqual(c.defaultAddressPools, [{ base: '172.80.0.0/16', size: 24 }]);
    assert.equal(c.metricsAddr, '[::1]:9323');
    assert.deepEqual(c.runtimes, { runc: { path: '/usr/sbin/runc' } });
    assert.equal(c.shutdownContainers, true);
    assert.deepEqual(c.hosts, ['unix:///tmp/x.sock']);
    assert.equal(c.logLevel, 'debug');
    assert.equal(parseArgs(['--validate']).validate, true);
  });

  test('a flag overrides the file\'s key (lists and maps replaced whole); each override is listed with both values', () => {
    const both = parseArgs(['--data-root', '/a', '--debug', '--insecure-registry', 'a:1', '--log-opt', 'max-size=1m']);
    const f = file({ 'data-root': '/b', debug: false, 'insecure-registries': ['b:1'], 'log-opts': { 'max-file': '2' }, 'log-level': 'warn' });
    const c = mergeConfig(both, f);
    assert.equal(c.dataRoot, '/a');
    assert.equal(c.debug, true);
    assert.deepEqual(c.insecureRegistries, ['a:1']);
    assert.deepEqual(c.logOpts, { 'max-size': '1m' });
    assert.equal(c.logLevel, 'warn', 'a key no flag gives stays the file\'s');
    assert.deepEqual(overriddenKeys(both, f), [
      { key: 'data-root', flag: '/a', file: '/b' },
      { key: 'debug', flag: 'true', file: 'false' },
      { key: 'insecure-registries', flag: '[a:1]', file: '[b:1]' },
      { key: 'log-opts', flag: 'map[max-size:1m]', file: 'map[max-file:2]' },
    ]);
    assert.deepEqual(overriddenKeys(parseArgs(['--data-root', '/a']), file({ debug: true })), []);
    // The merged whole is still checked, with the flag's value in it.
    assert.throws(() => load(['--log-opt', 'max-file=0'], { 'log-opts': { 'max-file': '3' } }), /log-opts: max-file cannot be less than 1/);
    // runtimes are merged by name; a name in both takes the flag's path
    const rt = parseArgs(['--add-runtime', 'crun=/usr/bin/crun', '--add-runtime', 'runc=/x']);
    const rf = file({ runtimes: { runc: { path: 'runc' }, youki: { path: 'youki' } } });
    assert.deepEqual(mergeConfig(rt, rf).runtimes, { runc: { path: '/x' }, youki: { path: 'youki' }, crun: { path: '/usr/bin/crun' } });
    assert.deepEqual(overriddenKeys(rt, rf), [{ key: 'runtimes.runc', flag: '/x', file: 'runc' }]);
  });

  test('unknown keys and bad values refuse to start, naming the key', () => {
    assert.throws(() => file({ 'bogus-key': 1, 'data-root': '/x', other: 2 }), /unable to configure the Berth daemon with file \/etc\/berth\/daemon.json: the following directives don't match any configuration option: bogus-key, other/);
    assert.throws(() => file('{"debug": tru'), /unable to configure the Berth daemon with file .*: invalid JSON/);
    assert.throws(() => file('[1]'), /invalid JSON: not a JSON object/);
    const cases: Array<[unknown, RegExp]> = [
      [{ debug: 'yes' }, /debug: invalid value "yes": true or false/],
      [{ hosts: 'unix:///x' }, /hosts: invalid value "unix:\/\/\/x": a list of strings/],
      [{ 'max-concurrent-downloads': '3' }, /max-concurrent-downloads: invalid value "3": an integer/],
      [{ 'log-level': 'loud' }, /log-level: invalid value "loud": unable to parse logging level: loud/],
      [{ 'log-opts': { 'max-file': 3 } }, /log-opts: .*max-file: a string is expected/],
      [{ 'default-shm-size': 'lots' }, /default-shm-size: invalid value "lots": invalid size: 'lots'/],
      [{ 'default-ulimits': { nofile: { Soft: 'x' } } }, /default-ulimits: .*Soft and Hard must be integers/],
      [{ 'default-address-pools': [{ base: '10.0.0.0', size: 24 }] }, /default-address-pools: .*invalid base pool "10.0.0.0"/],
      [{ 'default-address-pools': [{ base: '10.0.0.0/16', size: 8 }] }, /default-address-pools: .*invalid pool size 8/],
      [{ 'metrics-addr': 'localhost' }, /metrics-addr: invalid value "localhost": .*host:port/],
      [{ runtimes: { crun: {} } }, /runtimes: .*runtime crun: either a runtimeType or a path must be configured/],
      [{ runtimes: { kata: { runtimeType: 'io.containerd.kata.v2' } } }, /runtimes: .*runtimeType \(a containerd shim\) is not supported/],
      [{ 'data-root': '' }, /data-root: invalid value "": must not be empty/],
      [{ 'live-restore': false }, /live-restore: .*always keeps containers running/],
    ];
    for (const [obj, re] of cases) assert.throws(() => file(obj), re, JSON.stringify(obj));
  });

  test('the whole is checked after merging: log options, runtimes, ulimits, hosts, mirrors, exec root', () => {
    const cases: Array<[string[], unknown, RegExp]> = [
      [[], { 'log-opts': { 'max-size': '0' } }, /log-opts: max-size must be a positive number$/],
      [[], { 'log-opts': { compress: 'true', 'max-file': '1' } }, /log-opts: compress cannot be true when max-file is less than 2 or max-size is not set$/],
      [[], { 'log-opts': { colour: 'red' } }, /log-opts: unknown log opt 'colour' for json-file log driver$/],
      [[], { 'log-driver': 'syslog' }, /log-driver: logger: no log driver named 'syslog' is registered/],
      [[], { runtimes: { berth: { path: '/x' } } }, /runtimes: runtime name 'berth' is reserved$/],
      [[], { 'default-runtime': 'crun' }, /default-runtime: specified default runtime 'crun' does not exist$/],
      [['--default-ulimit', 'nofiles=1'], undefined, /default-ulimits: invalid ulimit type: nofiles$/],
      [[], { 'default-ulimits': { nofile: { Soft: 10, Hard: 5 } } }, /default-ulimits: ulimit soft limit must be less than or equal to hard limit: 10 > 5$/],
      [[], { hosts: ['udp://127.0.0.1:1'] }, /hosts: invalid host "udp:\/\/127.0.0.1:1": only unix:\/\/, tcp:\/\/ and fd:\/\/ are supported/],
      [['--tls', '-H', 'tcp://127.0.0.1:2376'], undefined, /hosts: tcp:\/\/127\.0\.0\.1:2376: tcp is served only with --tlsverify \(client certificates checked against --tlscacert\); --tls alone would let in any client$/],
      [[], { hosts: ['tcp://0.0.0.0:2375'] }, /hosts: tcp:\/\/0\.0\.0\.0:2375: tcp is served only with --tlsverify/],
      [[], { 'registry-mirrors': ['mirror.example'] }, /registry-mirrors: invalid mirror/],
      [[], { 'max-concurrent-downloads': -1 }, /max-concurrent-downloads: invalid max concurrent downloads: -1$/],
      [[], { 'exec-root': `/tmp/${'x'.repeat(80)}` }, /exec-root: exec root .* is too long/],
    ];
    for (const [argv, obj, re] of cases) assert.throws(() => load(argv, obj), re, JSON.stringify(obj ?? argv));
  });

  test('insecure-registries: http:// and https:// dropped with a warning, CIDRs masked once, names and IPs kept', () => {
    const warnings: string[] = [];
    const c = mergeConfig(parseArgs(['--insecure-registry', 'HTTPS://10.1.2.3/8']), file({
      'insecure-registries': ['http://reg:5000', 'reg.test', '10.0.0.0/8', '[::1]:5000', '::2', '192.168.1.7:443', 'fd00::/8'],
    }), (w) => warnings.push(w));
    assert.deepEqual(c.insecureRegistries, ['10.0.0.0/8'], 'a flag replaces the file\'s list');
    assert.deepEqual(warnings, ["insecure registry HTTPS://10.1.2.3/8 should not contain 'https://' and 'https://' has been removed from the insecure registry config"]);
    warnings.length = 0;
    const f = mergeConfig(parseArgs([]), file({ 'insecure-registries': ['http://reg:5000', 'reg.test', '10.0.0.0/8', '10.9.9.9/8', '[::1]:5000', '::2', '192.168.1.7:443', 'fd00::/8'] }), (w) => warnings.push(w));
    assert.deepEqual(f.insecureRegistries, ['reg:5000', 'reg.test', '10.0.0.0/8', '[::1]:5000', '::2', '192.168.1.7:443', 'fd00::/8']);
    assert.deepEqual(warnings, ["insecure registry http://reg:5000 should not contain 'http://' and 'http://' has been removed from the insecure registry config"]);
  });

  test('insecure-registries: another scheme, a bad host or port, a leading hyphen are refused, naming the key', () => {
    const cases: Array<[string, RegExp]> = [
      ['ftp://reg:5000', /insecure-registries: insecure registry ftp:\/\/reg:5000 should not contain ':\/\/'$/],
      ['reg_x:5000', /insecure-registries: insecure registry reg_x:5000 is not valid: invalid host "reg_x"$/],
      ['10.0.0.0/33', /insecure-registries: insecure registry 10.0.0.0\/33 is not valid: invalid host "10.0.0.0\/33"$/],
      ['http://reg/path', /insecure-registries: insecure registry reg\/path is not valid: invalid host "reg\/path"$/],
      ['10.1.1.1:99999', /insecure-registries: insecure registry 10.1.1.1:99999 is not valid: invalid port "99999"$/],
      ['-reg:5000', /insecure-registries: invalid index name \(-reg:5000\). Cannot begin or end with a hyphen$/],
    ];
    for (const [entry, re] of cases) assert.throws(() => load([], { 'insecure-registries': [entry] }), re, entry);
    assert.throws(() => load(['--insecure-registry', 'ssh://x']), /insecure-registries: insecure registry ssh:\/\/x should not contain/);
  });

  test('bad flags say which flag and why, as pflag does', () => {
    assert.throws(() => parseArgs(['--max-concurrent-downloads', 'x']), /invalid argument "x" for "--max-concurrent-downloads" flag: strconv.ParseInt/);
    assert.throws(() => parseArgs(['--debug=maybe']), /invalid argument "maybe" for "--debug" flag/);
    assert.throws(() => parseArgs(['--log-opt', 'novalue']), /invalid argument "novalue" for "--log-opt" flag/);
    assert.throws(() => parseArgs(['--frobnicate']), /unknown flag: --frobnicate/);
    assert.throws(() => parseArgs(['--data-root']), /flag needs an argument: --data-root/);
  });

  test('host-gateway-ip: from the file or --host-gateway-ip (the flag wins); not an IP is refused, naming the key or the flag', () => {
    assert.equal(load([], {}).hostGatewayIp, undefined);
    assert.equal(load([], { 'host-gateway-ip': '192.0.2.1' }).hostGatewayIp, '192.0.2.1');
    assert.equal(load(['--host-gateway-ip', '198.51.100.1'], { 'host-gateway-ip': '192.0.2.1' }).hostGatewayIp, '198.51.100.1');
    assert.throws(() => file({ 'host-gateway-ip': 'gateway' }), /host-gateway-ip: invalid value "gateway": invalid string being converted to IP address: gateway/);
    assert.throws(() => parseArgs(['--host-gateway-ip', 'gateway']), /invalid argument "gateway" for "--host-gateway-ip" flag: invalid string being converted to IP address: gateway/);
  });
});
