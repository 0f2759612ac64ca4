import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wireTypeError } from './wire-check.js';
import { parseJsonBody } from './body.js';
import { isInvalid } from '../common/errors.js';

const create = (body: unknown) => wireTypeError(typeof body === 'string' ? body : JSON.stringify(body), 'CreateRequest');
const update = (body: unknown) => wireTypeError(typeof body === 'string' ? body : JSON.stringify(body), 'UpdateConfig');
const at = (value: string, field: string, type: string) => `json: cannot unmarshal ${value} into Go struct field ${field} of type ${type}`;

test('wire types: a well-typed create body, nulls and unknown fields pass', () => {
  assert.equal(create({
    Image: 'busybox', Cmd: ['sh', '-c', 'true'], Entrypoint: 'sh', Env: ['A=b'], Labels: { a: 'b' }, Tty: true, StopTimeout: 3,
    ExposedPorts: { '80/tcp': {} }, Volumes: { '/data': {} }, Healthcheck: { Test: ['CMD', 'true'], Interval: 1000000000 },
    HostConfig: {
      Memory: 1 << 30, MemorySwap: -1, Binds: ['/a:/b'], PortBindings: { '80/tcp': [{ HostPort: '8080' }] },
      RestartPolicy: { Name: 'always' }, Ulimits: [{ Name: 'nofile', Soft: 1, Hard: 2 }], LogConfig: { Type: 'json-file', Config: {} },
      Mounts: [{ Type: 'bind', Source: '/a', Target: '/b', BindOptions: { Propagation: 'rprivate' } }], Init: true, ConsoleSize: [24, 80],
    },
    NetworkingConfig: { EndpointsConfig: { bridge: { Aliases: ['x'], IPAMConfig: { IPv4Address: '10.0.0.2' } } } },
    NoSuchField: { anything: [1, 'x'] },
  }), undefined);
  assert.equal(create({ Env: null, Cmd: null, HostConfig: null, Labels: { a: null } }), undefined);
  assert.equal(create('{"HostConfig":{"Memory":9223372036854775807,"MemorySwap":-9223372036854775808}}'), undefined);
  assert.equal(create('null'), undefined);
});

test('wire types: mismatches in Go 1.24 words, with the embedded struct in the path', () => {
  assert.equal(create({ Env: 'A=b' }), at('string', 'CreateRequest.Config.Env', '[]string'));
  assert.equal(create({ Env: ['A=b', 1] }), at('number', 'CreateRequest.Config.Env', 'string'));
  assert.equal(create({ Tty: 'yes' }), at('string', 'CreateRequest.Config.Tty', 'bool'));
  assert.equal(create({ Labels: { a: 1 } }), at('number', 'CreateRequest.Config.Labels', 'string'));
  assert.equal(create({ Labels: ['a'] }), at('array', 'CreateRequest.Config.Labels', 'map[string]string'));
  assert.equal(create({ Cmd: 5 }), at('number', 'CreateRequest.Config.Cmd', 'string'));
  assert.equal(create({ Cmd: ['ls', 5] }), at('array', 'CreateRequest.Config.Cmd', 'string'));
  assert.equal(create({ ExposedPorts: { '80/tcp': 'yes' } }), at('string', 'CreateRequest.Config.ExposedPorts', 'struct {}'));
  assert.equal(create({ Healthcheck: { Interval: '1s' } }), at('string', 'HealthConfig.Config.Healthcheck.Interval', 'time.Duration'));
  assert.equal(create({ HostConfig: { Memory: 'lots' } }), at('string', 'HostConfig.HostConfig.Resources.Memory', 'int64'));
  assert.equal(create({ HostConfig: { Memory: 1.5 } }), at('number 1.5', 'HostConfig.HostConfig.Resources.Memory', 'int64'));
  assert.equal(create({ HostConfig: { Memory: 1e30 } }), at('number 1e+30', 'HostConfig.HostConfig.Resources.Memory', 'int64'));
  assert.equal(create('{"HostConfig":{"Memory":9223372036854775808}}'), at('number 9223372036854775808', 'HostConfig.HostConfig.Resources.Memory', 'int64'));
  assert.equal(create({ HostConfig: { BlkioWeight: -1 } }), at('number -1', 'HostConfig.HostConfig.Resources.BlkioWeight', 'uint16'));
  assert.equal(create({ HostConfig: { Init: 'yes' } }), at('string', 'HostConfig.HostConfig.Init', 'bool'));
  assert.equal(create({ HostConfig: { NetworkMode: 1 } }), at('number', 'HostConfig.HostConfig.NetworkMode', 'container.NetworkMode'));
  assert.equal(create({ HostConfig: { RestartPolicy: 'always' } }), at('string', 'HostConfig.HostConfig.RestartPolicy', 'container.RestartPolicy'));
  assert.equal(create({ HostConfig: { RestartPolicy: { MaximumRetryCount: '3' } } }),
    at('string', 'RestartPolicy.HostConfig.RestartPolicy.MaximumRetryCount', 'int'));
  assert.equal(create({ HostConfig: { BlkioDeviceReadBps: {} } }),
    at('object', 'HostConfig.HostConfig.Resources.BlkioDeviceReadBps', '[]*blkiodev.ThrottleDevice'));
  assert.equal(create({ HostConfig: { BlkioDeviceReadBps: ['x'] } }),
    at('string', 'HostConfig.HostConfig.Resources.BlkioDeviceReadBps', 'blkiodev.ThrottleDevice'));
  assert.equal(create({ HostConfig: { PortBindings: { '80/tcp': [{ HostPort: 8080 }] } } }),
    at('number', 'PortBinding.HostConfig.PortBindings.HostPort', 'string'));
  assert.equal(create({ NetworkingConfig: { EndpointsConfig: { bridge: { Aliases: 'x' } } } }),
    at('string', 'EndpointSettings.NetworkingConfig.EndpointsConfig.Aliases', '[]string'));
  assert.equal(create([]), 'json: cannot unmarshal array into Go value of type container.CreateRequest');
});

test('wire types: case-insensitive field names, the first mismatch in document order', () => {
  assert.equal(create({ hostconfig: { memory: 'x' } }), at('string', 'HostConfig.HostConfig.Resources.Memory', 'int64'));
  assert.equal(create({ Tty: 1, Env: 'x' }), at('number', 'CreateRequest.Config.Tty', 'bool'));
});

test('wire types: the update body', () => {
  assert.equal(update({ Memory: 1 << 30, RestartPolicy: { Name: 'no' } }), undefined);
  assert.equal(update({ Memory: 'lots' }), at('string', 'UpdateConfig.Resources.Memory', 'int64'));
  assert.equal(update({ RestartPolicy: { Name: 5 } }), at('number', 'RestartPolicy.RestartPolicy.Name', 'container.RestartPolicyMode'));
});

test('wire types: parseJsonBody refuses with "invalid JSON: " as dockerd', () => {
  assert.throws(() => parseJsonBody(Buffer.from('{"Env":"A=b"}'), 'CreateRequest'),
    (e: Error) => isInvalid(e) && e.message === `invalid JSON: ${at('string', 'CreateRequest.Config.Env', '[]string')}`);
  assert.deepEqual(parseJsonBody(Buffer.from('{"Env":"A=b"}')), { Env: 'A=b' });
});
