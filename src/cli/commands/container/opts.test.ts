// run/create option parsers: sizes, CPUs, ulimits, ports, mounts, devices, env files, restart policies, the body.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlagSet } from '../../flags.js';
import {
  addContainerFlags, buildCreatePlan, dedupEnv, normalizeCap, parseDevice, parseEnvFile, parseMount, parseNanoCpus, parsePortSpec,
  parseRamBytes, parseRestart, parseUlimit, OptionError,
} from './opts.js';

function plan(args: string[], detach = true) {
  const fs = new FlagSet();
  addContainerFlags(fs);
  const { flags, args: rest } = fs.parse(args, { interspersed: false });
  return buildCreatePlan(flags, rest, { env: { HOME: '/root' }, detach });
}

describe('value parsers', () => {
  it('--memory 512m, 1g, 1.5GB, and bad suffixes', () => {
    assert.equal(parseRamBytes('512m'), 536870912);
    assert.equal(parseRamBytes('1g'), 1073741824);
    assert.equal(parseRamBytes('1.5GB'), 1610612736);
    assert.equal(parseRamBytes('100'), 100);
    assert.throws(() => parseRamBytes('5x'), { message: "invalid suffix: 'x'" });
    assert.throws(() => parseRamBytes('abc'), { message: "invalid size: 'abc'" });
  });
  it('--cpus 1.5 → NanoCpus; too precise', () => {
    assert.equal(parseNanoCpus('1.5'), 1_500_000_000);
    assert.equal(parseNanoCpus('0.000000001'), 1);
    assert.equal(parseNanoCpus('2'), 2_000_000_000);
    assert.throws(() => parseNanoCpus('1.23456789999'), { message: 'value is too precise' });
  });
  it('--ulimit nofile=1024:2048 and nproc=10', () => {
    assert.deepEqual(parseUlimit('nofile=1024:2048'), { Name: 'nofile', Hard: 2048, Soft: 1024 });
    assert.deepEqual(parseUlimit('nproc=10'), { Name: 'nproc', Hard: 10, Soft: 10 });
    assert.throws(() => parseUlimit('nofile'), { message: 'invalid ulimit argument: nofile' });
  });
  it('-p forms', () => {
    assert.deepEqual(parsePortSpec('8080:80/tcp'), [{ port: '80/tcp', binding: { HostIp: '', HostPort: '8080' } }]);
    assert.deepEqual(parsePortSpec('80'), [{ port: '80/tcp', binding: { HostIp: '', HostPort: '' } }]);
    assert.deepEqual(parsePortSpec('127.0.0.1::53/udp'), [{ port: '53/udp', binding: { HostIp: '127.0.0.1', HostPort: '' } }]);
    assert.deepEqual(parsePortSpec('[::1]:5000:5000'), [{ port: '5000/tcp', binding: { HostIp: '::1', HostPort: '5000' } }]);
    assert.deepEqual(parsePortSpec('8000-8001:80-81').map((p) => [p.port, p.binding.HostPort]), [['80/tcp', '8000'], ['81/tcp', '8001']]);
    assert.throws(() => parsePortSpec('99999'), OptionError);
  });
  it('-v is passed through; --mount csv', () => {
    const p = plan(['-v', '/a:/b:ro', '-v', '/c', '-v', 'named:/n', '-v', './rel:/r:ro', 'img']);
    assert.deepEqual(p.body.HostConfig?.Binds, ['/a:/b:ro', 'named:/n', `${process.cwd()}/rel:/r:ro`]);
    assert.deepEqual(p.body.Volumes, { '/c': {} });
    assert.deepEqual(parseMount('type=bind,src=/a,dst=/b,readonly'), { Type: 'bind', Source: '/a', Target: '/b', ReadOnly: true });
    assert.throws(() => parseMount('type=bind'), { message: 'target is required' });
  });
  it('--device forms', () => {
    assert.deepEqual(parseDevice('/dev/fuse'), { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' });
    assert.deepEqual(parseDevice('/dev/a:/dev/b:r'), { PathOnHost: '/dev/a', PathInContainer: '/dev/b', CgroupPermissions: 'r' });
    assert.deepEqual(parseDevice('/dev/a:rw'), { PathOnHost: '/dev/a', PathInContainer: '/dev/a', CgroupPermissions: 'rw' });
  });
  it('--env-file: comments, blanks, bare names from the environment', () => {
    assert.deepEqual(parseEnvFile('A=1\n# c\n\n  B= x \nSET\nUNSET\n', { SET: 'v' }, 'f'), ['A=1', 'B= x ', 'SET=v']);
    assert.throws(() => parseEnvFile('=x\n', {}, 'f'), OptionError);
  });
  it('env merge: last value wins, first position kept', () => {
    const l = ['A=1', 'B=2', 'A=3'];
    dedupEnv(l);
    assert.deepEqual(l, ['A=3', 'B=2']);
  });
  it('restart policies and capabilities', () => {
    assert.deepEqual(parseRestart('on-failure:3'), { Name: 'on-failure', MaximumRetryCount: 3 });
    assert.deepEqual(parseRestart('always'), { Name: 'always', MaximumRetryCount: 0 });
    assert.throws(() => parseRestart('always:3'), OptionError);
    assert.equal(normalizeCap('net_admin'), 'CAP_NET_ADMIN');
    assert.equal(normalizeCap('all'), 'ALL');
  });
});

describe('buildCreatePlan', () => {
  it('-it without -d attaches stdin and sets StdinOnce; -d attaches nothing', () => {
    const a = plan(['-it', 'img', 'sh'], false).body;
    assert.deepEqual([a.AttachStdin, a.AttachStdout, a.AttachStderr, a.OpenStdin, a.StdinOnce, a.Tty], [true, true, true, true, true, true]);
    const d = plan(['-dit', 'img'].slice(1), true).body;
    assert.deepEqual([d.AttachStdin, d.AttachStdout, d.AttachStderr, d.OpenStdin, d.StdinOnce], [false, false, false, false, false]);
  });
  it('flags end at the image; name and platform go to the query', () => {
    const p = plan(['--name=web', '--platform', 'linux/amd64', 'img', 'ls', '--name', 'x']);
    assert.equal(p.name, 'web');
    assert.equal(p.platform, 'linux/amd64');
    assert.deepEqual(p.body.Cmd, ['ls', '--name', 'x']);
  });
  it('resources land in HostConfig', () => {
    const h = plan(['--memory', '512m', '--cpus', '1.5', '--pids-limit', '100', '--ulimit', 'nofile=1024:2048', 'img']).body.HostConfig!;
    assert.equal(h.Memory, 536870912);
    assert.equal(h.NanoCpus, 1_500_000_000);
    assert.equal(h.PidsLimit, 100);
    assert.deepEqual(h.Ulimits, [{ Name: 'nofile', Hard: 2048, Soft: 1024 }]);
  });
  it('--rm with --restart conflicts', () => {
    assert.throws(() => plan(['--rm', '--restart', 'always', 'img']), { message: 'conflicting options: cannot specify both --restart and --rm' });
  });
});
