// Tests for go-units sizes and durations and the container status strings docker ps shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesSize, containerStateString, containerStatus, customSize, fromHumanSize, healthString, humanAgo, humanDuration, humanSize, humanSizeWithPrecision, isZeroTime, ramInBytes } from './units.js';

test('HumanSize: decimal, 4 significant digits (go-units size_test)', () => {
  assert.equal(humanSize(1000), '1kB');
  assert.equal(humanSize(1024), '1.024kB');
  assert.equal(humanSize(1000000), '1MB');
  assert.equal(humanSize(1048576), '1.049MB');
  assert.equal(humanSize(2 * 1000 * 1000), '2MB');
  assert.equal(humanSize(3.42 * 1e9), '3.42GB');
  assert.equal(humanSize(5.372 * 1e12), '5.372TB');
  assert.equal(humanSize(2.22 * 1e15), '2.22PB');
  assert.equal(humanSize(1e18), '1EB');
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(796), '796B');
});

test('docker images SIZE: precision 3', () => {
  assert.equal(humanSizeWithPrecision(1234567, 3), '1.23MB');
  assert.equal(humanSizeWithPrecision(4100, 3), '4.1kB');
  assert.equal(humanSizeWithPrecision(0, 3), '0B');
  assert.equal(humanSizeWithPrecision(4261196, 3), '4.26MB');
  assert.equal(humanSizeWithPrecision(187_654_321, 3), '188MB');
  // Go's %g goes exponential at the precision: a go-units quirk docker shows too.
  assert.equal(humanSizeWithPrecision(999_999, 3), '1e+03kB');
});

test('BytesSize: binary units', () => {
  assert.equal(bytesSize(1024), '1KiB');
  assert.equal(bytesSize(1024 * 1024), '1MiB');
  assert.equal(bytesSize(1.5 * 1024 * 1024), '1.5MiB');
  assert.equal(bytesSize(1048576 * 1024), '1GiB');
  assert.equal(bytesSize(3.42 * 1024 ** 3), '3.42GiB');
  assert.equal(bytesSize(0), '0B');
  assert.equal(customSize('%.2f %s', 1536, 1024, ['B', 'KiB']), '1.50 KiB');
});

test('FromHumanSize and RAMInBytes', () => {
  assert.equal(fromHumanSize('32'), 32);
  assert.equal(fromHumanSize('32b'), 32);
  assert.equal(fromHumanSize('32 kb'), 32000);
  assert.equal(fromHumanSize('32Kb'), 32000);
  assert.equal(fromHumanSize('1.5GB'), 1_500_000_000);
  assert.equal(fromHumanSize('32.5Mi'), 32_500_000);
  // int64(32.3 * 1e6) truncates the float product, in Go as here.
  assert.equal(fromHumanSize('32.3Mi'), 32_299_999);
  assert.equal(ramInBytes('512m'), 512 * 1024 * 1024);
  assert.equal(ramInBytes('1g'), 1024 ** 3);
  assert.equal(ramInBytes('1.5GB'), 1.5 * 1024 ** 3);
  assert.equal(ramInBytes('32kib'), 32768);
  assert.equal(ramInBytes('0.3MB'), 314572);
  assert.throws(() => ramInBytes(''), { message: "invalid size: ''" });
  assert.throws(() => ramInBytes('hello'), { message: "invalid size: 'hello'" });
  assert.throws(() => ramInBytes('-32'), { message: "invalid size: '-32'" });
  assert.throws(() => ramInBytes('1.2.3m'), /invalid syntax/);
  assert.throws(() => fromHumanSize('32.3.4'), /ParseFloat/);
});

test('HumanDuration thresholds (go-units duration_test)', () => {
  const s = 1000, m = 60 * s, h = 60 * m, day = 24 * h, week = 7 * day, month = 30 * day, year = 365 * day;
  const cases: [number, string][] = [
    [450, 'Less than a second'], [1 * s, '1 second'], [45 * s, '45 seconds'], [59 * s, '59 seconds'],
    [60 * s, 'About a minute'], [3 * m, '3 minutes'], [35 * m + 40 * s, '35 minutes'], [59 * m, '59 minutes'],
    [1 * h, 'About an hour'], [h + 29 * m, 'About an hour'], [h + 31 * m, '2 hours'], [h + 59 * m, '2 hours'],
    [3 * h + 29 * m, '3 hours'], [3 * h + 31 * m, '4 hours'], [24 * h, '24 hours'], [day + 12 * h, '36 hours'],
    [2 * day, '2 days'], [7 * day, '7 days'], [13 * day + 5 * h, '13 days'], [2 * week, '2 weeks'],
    [2 * week + 4 * day, '2 weeks'], [3 * week, '3 weeks'], [4 * week + 3 * day, '4 weeks'], [month, '4 weeks'],
    [month + 2 * week, '6 weeks'], [2 * month, '2 months'], [3 * month + week, '3 months'], [5 * month + 2 * week, '5 months'],
    [13 * month, '13 months'], [23 * month, '23 months'], [24 * month, '24 months'], [24 * month + 2 * week, '2 years'],
    [3 * year + 2 * month, '3 years'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, String(ms));
  assert.equal(humanAgo(new Date(1_000_000 - 5000), 1_000_000), '5 seconds ago');
  assert.equal(humanAgo('2024-01-01T00:00:00Z', Date.parse('2024-01-01T01:00:00Z')), 'About an hour ago');
});

test('container status strings (moby State.String)', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  const ago = (ms: number) => new Date(now - ms).toISOString();
  const zero = '0001-01-01T00:00:00Z';
  assert.equal(containerStatus({ Running: true, StartedAt: ago(3000), FinishedAt: zero }, now), 'Up 3 seconds');
  assert.equal(containerStatus({ Running: true, Paused: true, StartedAt: ago(3000) }, now), 'Up 3 seconds (Paused)');
  assert.equal(containerStatus({ Running: true, StartedAt: ago(120_000), Health: { Status: 'healthy' } }, now), 'Up 2 minutes (healthy)');
  assert.equal(containerStatus({ Running: true, StartedAt: ago(1000), Health: { Status: 'starting' } }, now), 'Up 1 second (health: starting)');
  assert.equal(containerStatus({ Running: true, Restarting: true, ExitCode: 1, StartedAt: ago(9000), FinishedAt: ago(2000) }, now), 'Restarting (1) 2 seconds ago');
  assert.equal(containerStatus({ Running: false, ExitCode: 0, StartedAt: ago(60_000), FinishedAt: ago(5000) }, now), 'Exited (0) 5 seconds ago');
  assert.equal(containerStatus({ Running: false, ExitCode: 137, StartedAt: ago(7_200_000), FinishedAt: ago(3_600_000) }, now), 'Exited (137) About an hour ago');
  assert.equal(containerStatus({ StartedAt: zero, FinishedAt: zero }, now), 'Created');
  assert.equal(containerStatus({}, now), 'Created');
  assert.equal(containerStatus({ StartedAt: ago(1000), FinishedAt: zero }, now), '');
  assert.equal(containerStatus({ Dead: true, StartedAt: ago(1000) }, now), 'Dead');
  assert.equal(containerStatus({ RemovalInProgress: true }, now), 'Removal In Progress');
  assert.equal(healthString('unhealthy'), 'unhealthy');
  assert.equal(containerStateString({ Running: true, Paused: true }), 'paused');
  assert.equal(containerStateString({ StartedAt: zero }), 'created');
  assert.equal(containerStateString({ StartedAt: ago(5) }), 'exited');
  assert.ok(isZeroTime(zero) && isZeroTime('') && isZeroTime(undefined) && !isZeroTime(ago(1)));
});
