// -v / --mount parsing and the container mount plan, against dockerd's linux parser texts; volume names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBind, parseMountSpec, parseVolumesFrom, planContainerMounts, validMountMode } from './mount-parser.js';
import { anonymousVolumeName, checkVolumeName } from './names.js';

const none = () => false;
const all = () => true;

describe('-v / Binds', () => {
  it('a named volume, read-write by default, no propagation', () => {
    const m = parseBind('data:/var/lib/data');
    assert.equal(m.type, 'volume');
    assert.equal(m.name, 'data');
    assert.equal(m.destination, '/var/lib/data');
    assert.equal(m.rw, true);
    assert.equal(m.mode, '');
    assert.equal(m.propagation, '');
    assert.equal(m.copyData, true);
  });
  it('ro, nocopy and the volume driver', () => {
    const m = parseBind('data:/d:ro,nocopy', 'local');
    assert.equal(m.rw, false);
    assert.equal(m.copyData, false);
    assert.equal(m.mode, 'ro,nocopy');
    assert.equal(m.driver, 'local');
  });
  it('an absolute source is a bind (default rprivate), created at start when missing', () => {
    const m = parseBind('/no/such/dir:/x/:ro');
    assert.deepEqual([m.type, m.source, m.destination, m.rw, m.propagation, m.createSource], ['bind', '/no/such/dir', '/x', false, 'rprivate', true]);
    assert.equal(parseBind('/a:/b:rshared').propagation, 'rshared');
  });
  it('a lone path is an anonymous volume', () => {
    const m = parseBind('/data');
    assert.deepEqual([m.type, m.name, m.destination], ['volume', '', '/data']);
  });
  it("dockerd's errors", () => {
    assert.throws(() => parseBind(':/x'), { message: "invalid volume specification: ':/x'" });
    assert.throws(() => parseBind('/foo:rw'), { message: "invalid volume specification: '/foo:rw'" });
    assert.throws(() => parseBind('a:b:c:d'), { message: "invalid volume specification: 'a:b:c:d'" });
    assert.throws(() => parseBind('/a:/b:bogus'), { message: 'invalid mode: bogus' });
    assert.throws(() => parseBind('/a:/b:ro,rw'), { message: 'invalid mode: ro,rw' });
    assert.throws(() => parseBind('data:rel'), {
      message: `invalid volume specification: 'data:rel': invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute`,
    });
    assert.throws(() => parseBind('/a:/'), { message: `invalid volume specification: '/a:/': invalid mount config for type "bind": invalid specification: destination can't be '/'` });
    assert.throws(() => parseBind('data:/x:rshared'), {
      message: `invalid volume specification: 'data:/x:rshared': invalid mount config for type "volume": field BindOptions must not be specified`,
    });
    assert.throws(() => parseBind('/a:/x:nocopy'), {
      message: `invalid volume specification: '/a:/x:nocopy': invalid mount config for type "bind": field VolumeOptions must not be specified`,
    });
  });
  it('mode words: one of each kind', () => {
    assert.equal(validMountMode('ro,z,rslave,nocopy,cached'), true);
    assert.equal(validMountMode('z,Z'), false);
    assert.equal(validMountMode('private,shared'), false);
    assert.equal(validMountMode('rw,'), false);
  });
});

describe('--mount / HostConfig.Mounts', () => {
  it('bind: a missing source is refused with docker\'s text', () => {
    assert.throws(() => parseMountSpec({ Type: 'bind', Source: '/x', Target: '/y' }, none), {
      message: 'invalid mount config for type "bind": bind source path does not exist: /x',
    });
    assert.equal(parseMountSpec({ Type: 'bind', Source: '/x', Target: '/y', BindOptions: { CreateMountpoint: true } }, none).createSource, true);
    const m = parseMountSpec({ Type: 'bind', Source: '/x/', Target: '/y', ReadOnly: true }, all);
    assert.deepEqual([m.source, m.rw, m.propagation, m.createSource], ['/x', false, 'rprivate', false]);
  });
  it('bind: missing fields, relative source, bad propagation', () => {
    assert.throws(() => parseMountSpec({ Type: 'bind', Target: '/y' }, all), { message: 'invalid mount config for type "bind": field Source must not be empty' });
    assert.throws(() => parseMountSpec({ Type: 'bind', Source: 'x', Target: '/y' }, all), { message: `invalid mount config for type "bind": invalid mount path: 'x' mount path must be absolute` });
    assert.throws(() => parseMountSpec({ Type: 'bind', Source: '/x', Target: '' }, all), { message: 'invalid mount config for type "bind": field Target must not be empty' });
    assert.throws(() => parseMountSpec({ Type: 'bind', Source: '/x', Target: '/y', BindOptions: { Propagation: 'up' } }, all), {
      message: 'invalid mount config for type "bind": invalid propagation mode: up',
    });
  });
  it('volume: name, nocopy, driver options and labels; anonymous without a source', () => {
    const m = parseMountSpec({ Type: 'volume', Source: 'v1', Target: '/d', VolumeOptions: { NoCopy: true, Labels: { a: 'b' }, DriverConfig: { Options: { type: 'tmpfs', device: 'tmpfs' } } } });
    assert.deepEqual([m.name, m.copyData, m.driverOpts, m.labels], ['v1', false, { type: 'tmpfs', device: 'tmpfs' }, { a: 'b' }]);
    assert.equal(parseMountSpec({ Type: 'volume', Target: '/d' }).name, '');
    assert.throws(() => parseMountSpec({ Type: 'volume', Target: '/d', TmpfsOptions: {} }), { message: 'invalid mount config for type "volume": field TmpfsOptions must not be specified' });
  });
  it('tmpfs: no source', () => {
    assert.equal(parseMountSpec({ Type: 'tmpfs', Target: '/t' }).type, 'tmpfs');
    assert.throws(() => parseMountSpec({ Type: 'tmpfs', Source: 'x', Target: '/t' }), { message: 'invalid mount config for type "tmpfs": field Source must not be specified' });
  });
  it('unknown type', () => {
    assert.throws(() => parseMountSpec({ Type: 'npipe' as 'bind', Target: '/t' }), { message: 'invalid mount config for type "npipe": mount type unknown' });
  });
});

describe('the container mount plan', () => {
  it('Binds, Mounts, then Config.Volumes not covered by them (nor by --tmpfs)', () => {
    const plan = planContainerMounts(
      { Binds: ['data:/data', '/host:/etc/x'], Mounts: [{ Type: 'tmpfs', Target: '/run/t' }], Tmpfs: { '/cache': '' } },
      { '/data': {}, '/cache': {}, '/var/log/': {}, '/run/t': {} },
      all,
    );
    assert.deepEqual(plan.map((m) => [m.type, m.destination, m.name, !!m.fromConfig]), [
      ['volume', '/data', 'data', false], ['bind', '/etc/x', '', false], ['tmpfs', '/run/t', '', false], ['volume', '/var/log', '', true],
    ]);
  });
  it('duplicate destinations', () => {
    assert.throws(() => planContainerMounts({ Binds: ['a:/d', 'b:/d/'] }, null), { message: 'Duplicate mount point: /d' });
    assert.throws(() => planContainerMounts({ Binds: ['a:/d'], Tmpfs: { '/d': '' } }, null), { message: 'Duplicate mount point: /d' });
    assert.throws(() => planContainerMounts({ Binds: ['a:/d'], Mounts: [{ Type: 'volume', Target: '/d/' }] }, null), { message: 'Duplicate mount point: /d/' });
  });
  it('--volumes-from: the other container\'s volumes and binds (read-only with :ro), replaced by own Binds', () => {
    const other = [
      { type: 'volume' as const, destination: '/v', source: '/x/_data', name: 'v1', driver: 'local', mode: 'z', rw: true, propagation: '', anonymous: true, copyData: true },
      { type: 'bind' as const, destination: '/b', source: '/host', mode: '', rw: true, propagation: 'rprivate' },
      { type: 'bind' as const, destination: '/mine', source: '/host2', mode: '', rw: true, propagation: 'rprivate' },
    ];
    const plan = planContainerMounts({ Binds: ['own:/mine'] }, { '/v': {} }, all, [{ mode: 'ro', mounts: other }]);
    assert.deepEqual(plan.map((m) => [m.type, m.destination, m.name || m.source, m.rw, m.copyData, !!m.inherited]), [
      ['volume', '/v', 'v1', false, false, true], ['bind', '/b', '/host', false, false, true], ['volume', '/mine', 'own', true, true, false],
    ]);
    assert.deepEqual(parseVolumesFrom('web'), { container: 'web', mode: 'rw' });
    assert.deepEqual(parseVolumesFrom('web:ro'), { container: 'web', mode: 'ro' });
    assert.throws(() => parseVolumesFrom(''), { message: 'volumes-from specification cannot be an empty string' });
    assert.throws(() => parseVolumesFrom('web:rshared'), { message: 'invalid mode: rshared' });
    assert.throws(() => parseVolumesFrom('web:nocopy'), { message: 'invalid mode: nocopy' });
  });
  it('a relative Config.Volumes path is refused', () => {
    assert.throws(() => planContainerMounts({}, { data: {} }), { message: "invalid mount path: 'data' mount path must be absolute" });
  });
});

describe('volume names', () => {
  it("Docker's local driver rule and texts", () => {
    checkVolumeName('db-data_1.x');
    checkVolumeName('0a');
    assert.throws(() => checkVolumeName('a'), { message: 'volume name is too short, names should be at least two alphanumeric characters' });
    assert.throws(() => checkVolumeName('-ab'), /includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed/);
    assert.throws(() => checkVolumeName('a/b'), { message: `"a/b" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path` });
    assert.throws(() => checkVolumeName('..'), /invalid characters/);
  });
  it('anonymous names are 64 hex characters', () => {
    assert.match(anonymousVolumeName(), /^[0-9a-f]{64}$/);
    assert.notEqual(anonymousVolumeName(), anonymousVolumeName());
  });
});
