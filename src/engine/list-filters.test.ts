import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPruneFilters, parseListFilters } from './list-filters.js';

test('list filters: unknown keys and bad values are refused with dockerd\'s texts', () => {
  const bad = (f: Record<string, string[]>, message: string) => assert.throws(() => parseListFilters(f), { code: 'invalid-argument', message });
  bad({ lable: ['x'] }, "invalid filter 'lable'");
  bad({ status: ['up'] }, "invalid filter 'status=up': invalid value for state (up): must be one of created, running, paused, restarting, removing, exited, dead");
  bad({ health: ['ok'] }, "invalid filter 'health=ok': invalid value for health (ok): must be one of none, starting, healthy, unhealthy");
  bad({ exited: ['zero'] }, "invalid filter 'exited=zero': strconv.Atoi: parsing \"zero\": invalid syntax");
  bad({ 'is-task': ['maybe'] }, "invalid filter 'is-task=[maybe]'");
  bad({ publish: ['8080:80'] }, "filter for 'publish' should not contain ':': 8080:80");
  bad({ expose: ['http'] }, 'error while looking up for expose http: strconv.ParseUint: parsing "http": invalid syntax');
  bad({ expose: ['70000'] }, 'error while looking up for expose 70000: strconv.ParseUint: parsing "70000": value out of range');
  bad({ publish: ['90-80'] }, 'error while looking up for publish 90-80: invalid range specified for port: 90-80');
});

test('list filters: the values dockerd matches on', () => {
  const f = parseListFilters({ exited: ['0', '137'], publish: ['8080'], expose: ['53/udp', '80-82/'], 'is-task': ['false'], status: ['exited'], health: ['none'] });
  assert.deepEqual(f.exited, [0, 137]);
  assert.deepEqual([...f.publish], ['8080/tcp']);
  assert.deepEqual([...f.expose], ['53/udp', '80/tcp', '81/tcp', '82/tcp']);
  assert.equal(f.isTask, false);
  assert.equal(parseListFilters({}).isTask, undefined);
});

test('prune filters: label, label! and until only', () => {
  checkPruneFilters({ label: ['a'], 'label!': ['b'], until: ['1h'] });
  assert.throws(() => checkPruneFilters({ lable: ['keep'] }), { code: 'invalid-argument', message: "invalid filter 'lable'" });
  assert.throws(() => checkPruneFilters({ status: ['exited'] }), { message: "invalid filter 'status'" });
});
