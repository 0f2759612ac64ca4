// Volume list and prune filters: dockerd's matching and errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boolFilter, checkFilterKeys, LIST_FILTERS, matchLabels, matchListFilters, pruneAll } from './filters.js';

const v = (name: string, labels: Record<string, string> | null, inUse = false) => ({ name, driver: 'local', labels, inUse });

describe('volume filters', () => {
  it('labels: key, key=value, all of them; a volume without labels matches no label filter', () => {
    assert.equal(matchLabels(['a'], { a: '1', b: '2' }), true);
    assert.equal(matchLabels(['a=1', 'b'], { a: '1', b: '2' }), true);
    assert.equal(matchLabels(['a=2'], { a: '1' }), false);
    assert.equal(matchLabels(['a'], null), false);
    assert.equal(matchLabels([], null), true);
  });
  it('name (exact or regexp), driver, dangling', () => {
    assert.equal(matchListFilters({ name: ['db'] }, v('mydb1', null)), true);
    assert.equal(matchListFilters({ name: ['^db$'] }, v('mydb1', null)), false);
    assert.equal(matchListFilters({ driver: ['local'] }, v('x1', null)), true);
    assert.equal(matchListFilters({ driver: ['nfs'] }, v('x1', null)), false);
    assert.equal(matchListFilters({ dangling: ['true'] }, v('x1', null, true)), false);
    assert.equal(matchListFilters({ dangling: ['1'] }, v('x1', null, false)), true);
    assert.equal(matchListFilters({ dangling: ['false'] }, v('x1', null, true)), true);
  });
  it("dockerd's errors", () => {
    assert.throws(() => checkFilterKeys({ until: ['1h'] }, LIST_FILTERS), { message: "invalid filter 'until'" });
    assert.throws(() => boolFilter({ dangling: ['maybe'] }, 'dangling'), { message: "invalid filter 'dangling=[maybe]'" });
    assert.throws(() => boolFilter({ dangling: ['true', '0'] }, 'dangling'), { message: "invalid filter 'dangling=[true 0]'" });
  });
  it('prune all=', () => {
    assert.equal(pruneAll({}), false);
    assert.equal(pruneAll({ all: ['true'] }), true);
    assert.equal(pruneAll({ all: ['0'] }), false);
    assert.throws(() => pruneAll({ all: ['1', '0'] }), /only one value is expected/);
    assert.throws(() => pruneAll({ all: ['yes'] }), /invalid filter 'all'/);
  });
});
