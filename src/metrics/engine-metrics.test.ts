import { test } from 'node:test';
import assert from 'node:assert/strict';
import { totalmem } from 'node:os';
import { UNLIMITED, type CgroupStats } from '../runtime/cgroups/cgroups.js';
import { blkioBytes, EngineMetrics, memoryLimit } from './engine-metrics.js';
import { splitHostPort } from './metrics-server.js';

const stats = (over: Partial<CgroupStats> = {}): CgroupStats => ({
  cpu: { usage: { total: 0, kernel: 0, user: 0 }, throttling: {} },
  memory: { usage: { limit: UNLIMITED, usage: 0, max: 0, failcnt: 0 } },
  pids: { current: 0, limit: 0 },
  blkio: {},
  ...over,
});

test('metrics: block io sums each direction over devices, whatever the op case', () => {
  const s = stats({ blkio: { ioServiceBytesRecursive: [
    { major: 8, minor: 0, op: 'Read', value: 100 }, { major: 8, minor: 16, op: 'Read', value: 20 },
    { major: 8, minor: 0, op: 'Write', value: 7 }, { major: 8, minor: 0, op: 'Total', value: 127 }, { major: 8, minor: 0, op: 'write', value: 1 },
  ] } });
  assert.equal(blkioBytes(s, 'read'), 120);
  assert.equal(blkioBytes(s, 'write'), 8);
  assert.equal(blkioBytes(stats(), 'read'), 0);
});

test('metrics: an unlimited memory cgroup reports the host memory, as docker stats', () => {
  assert.equal(memoryLimit(stats()), totalmem());
  assert.equal(memoryLimit(stats({ memory: { usage: { limit: 64 << 20, usage: 1, max: 0, failcnt: 0 } } })), 64 << 20);
});

test('metrics: host:port as dockerd takes it, IPv6 in brackets', () => {
  assert.deepEqual(splitHostPort('127.0.0.1:9323'), { host: '127.0.0.1', port: 9323 });
  assert.deepEqual(splitHostPort('[::1]:9323'), { host: '::1', port: 9323 });
  assert.deepEqual(splitHostPort(':9323'), { host: '', port: 9323 });
});

test('metrics: request labels stay bounded (unknown methods and unmatched paths are lumped)', async () => {
  const m = new EngineMetrics({ containers: { list: async () => [] }, lifecycle: { list: () => [], stats: async () => stats() } }, { processMetrics: false });
  m.observeRequest({ method: 'BREW', route: '', status: 404, seconds: 0.002 });
  m.observeRequest({ method: 'GET', route: '/containers/{id}/json', status: 200, seconds: 0.5 });
  const { body, contentType } = await m.expose();
  assert.match(contentType, /^text\/plain/);
  assert.match(body, /^berth_api_request_duration_seconds_count\{method="other",route="unmatched",status="404"\} 1$/m);
  assert.match(body, /^berth_api_request_duration_seconds_bucket\{le="0.5",method="GET",route="\/containers\/\{id\}\/json",status="200"\} 1$/m);
  assert.match(body, /^berth_containers\{state="running"\} 0$/m);
  assert.match(body, /^berth_image_pulls_total\{result="failure"\} 0$/m);
});
