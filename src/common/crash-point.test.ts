import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CRASH_ENV, crashPoint, parseCrashTarget } from './crash-point.js';

const mod = fileURLToPath(new URL('./crash-point.js', import.meta.url));

test('crash-point: parse `point` and `point#N`', () => {
  assert.equal(parseCrashTarget(undefined), undefined);
  assert.equal(parseCrashTarget(''), undefined);
  assert.deepEqual(parseCrashTarget('create:after-snapshot'), { point: 'create:after-snapshot', hit: 1 });
  assert.deepEqual(parseCrashTarget('pull:layer-data#3'), { point: 'pull:layer-data', hit: 3 });
  assert.deepEqual(parseCrashTarget('x#0'), { point: 'x', hit: 1 });
});

test('crash-point: unset, a point does nothing', () => {
  assert.equal(process.env[CRASH_ENV], undefined);
  crashPoint('create:after-snapshot');
});

test('crash-point: set, the process is SIGKILLed at the Nth hit of that point only', () => {
  const script = `import { crashPoint } from ${JSON.stringify(mod)};
for (let i = 1; i <= 5; i++) { crashPoint('other'); crashPoint('p'); console.log('passed', i); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, [CRASH_ENV]: 'p#3' }, encoding: 'utf8' });
  assert.equal(r.signal, 'SIGKILL');
  assert.equal(r.stdout, 'passed 1\npassed 2\n');
  assert.match(r.stderr, /BERTH_TEST_CRASH_AT: killing myself at p#3/);
});
