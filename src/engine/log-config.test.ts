import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LOG_MAX_FILES, DEFAULT_LOG_MAX_SIZE, logSettings, mergeLogConfig } from './log-config.js';

test('json-file settings: rotation on by default, dockerd\'s units and messages', () => {
  assert.deepEqual(logSettings('json-file'), { maxSize: DEFAULT_LOG_MAX_SIZE, maxFiles: DEFAULT_LOG_MAX_FILES, compress: false });
  assert.deepEqual(logSettings('json-file', { 'max-size': '10m', 'max-file': '3', compress: 'true' }), { maxSize: 10_000_000, maxFiles: 3, compress: true });
  assert.deepEqual(logSettings('json-file', { 'max-size': '-1' }), { maxSize: 0, maxFiles: DEFAULT_LOG_MAX_FILES, compress: false });
  assert.deepEqual(logSettings('json-file', { 'max-size': '1.5k', compress: 'False', mode: 'non-blocking', 'max-buffer-size': '1m' }), { maxSize: 1500, maxFiles: 5, compress: false });
  assert.equal(logSettings('none', { anything: 'x' }), undefined);
  const bad: Array<[string, Record<string, string>, RegExp]> = [
    ['json-file', { 'max-size': '0' }, /max-size must be a positive number/],
    ['json-file', { 'max-size': 'big' }, /invalid size: 'big'/],
    ['json-file', { 'max-file': '0' }, /max-file cannot be less than 1/],
    ['json-file', { 'max-file': 'two' }, /strconv.Atoi: parsing "two": invalid syntax/],
    ['json-file', { compress: 'yes' }, /strconv.ParseBool: parsing "yes": invalid syntax/],
    ['json-file', { compress: 'true', 'max-file': '1' }, /compress cannot be true when max-file is less than 2 or max-size is not set/],
    ['json-file', { compress: 'true', 'max-size': '-1' }, /compress cannot be true/],
    ['json-file', { colour: 'x' }, /unknown log opt 'colour' for json-file log driver/],
    ['json-file', { tag: '{{.Name}}' }, /log opt 'tag' for json-file log driver is not supported by Berth yet/],
    ['json-file', { mode: 'sometimes' }, /logger: logging mode not supported: sometimes/],
    ['json-file', { 'max-buffer-size': '1m' }, /max-buffer-size option is only supported with 'mode=non-blocking'/],
    ['syslog', {}, /logger: no log driver named 'syslog' is registered/],
  ];
  for (const [d, o, re] of bad) assert.throws(() => logSettings(d, o), re, JSON.stringify(o));
});

test('the daemon\'s log config merged into a container\'s, as dockerd', () => {
  const daemon = { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '2' } };
  assert.deepEqual(mergeLogConfig(undefined, daemon), daemon);
  assert.deepEqual(mergeLogConfig({ Type: '', Config: { 'max-file': '9' } }, daemon), { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '9' } });
  // Another driver than the daemon's gets none of the daemon's options.
  assert.deepEqual(mergeLogConfig({ Type: 'none' }, daemon), { Type: 'none', Config: {} });
  assert.deepEqual(mergeLogConfig({ Type: 'json-file' }, { Type: 'none', Config: {} }), { Type: 'json-file', Config: {} });
});
