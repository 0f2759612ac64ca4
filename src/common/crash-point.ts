// Test-only fault injection: `BERTH_TEST_CRASH_AT=<point>[#N]` makes berthd SIGKILL itself the Nth time it reaches a named point.
//
// Crash-safety tests (test/e2e/faults.test.ts) use it to stop berthd at an exact step of `run`, `rm`
// or a pull, then restart it on the same roots and check that nothing leaked. The variable is read
// once, when this module loads: unset, `crashPoint` is an empty function.
import { writeSync } from 'node:fs';

/** The variable that names the point (and, after `#`, which hit of it; default the first). */
export const CRASH_ENV = 'BERTH_TEST_CRASH_AT';

/** Parse `point` or `point#N`; undefined for an empty value. */
export function parseCrashTarget(value: string | undefined): { point: string; hit: number } | undefined {
  if (!value) return undefined;
  const m = /^(.+?)(?:#(\d+))?$/.exec(value.trim());
  if (!m) return undefined;
  return { point: m[1]!, hit: Math.max(1, Number(m[2] ?? 1)) };
}

function armed(target: { point: string; hit: number }): (name: string) => void {
  let hits = 0;
  return (name) => {
    if (name !== target.point || ++hits !== target.hit) return;
    // Said on stderr first (berthd's log), so a test can tell the point was reached.
    try { writeSync(2, `berthd: ${CRASH_ENV}: killing myself at ${name}#${hits}\n`); } catch { /* no stderr */ }
    process.kill(process.pid, 'SIGKILL');
    // SIGKILL is delivered before kill(2) returns to a single target; block in case it is not yet.
    for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  };
}

const target = parseCrashTarget(process.env[CRASH_ENV]);

/** A named point inside an operation where a test may have berthd killed (see the file header). */
export const crashPoint: (name: string) => void = target ? armed(target) : () => {};
