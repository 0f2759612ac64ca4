// berth-init's phase times (docs/plan.md "Messages") as spans of the start's trace: one `berth-init` span and a child per phase.
import { now, type Span } from '../common/trace.js';

/**
 * Record berth-init's run under `parent` (the shim's launch): a `berth-init` span from when the
 * shim forked it to its last phase, and one child per phase, each from where the one before ended
 * (the first from the fork) to its own time. The times are CLOCK_MONOTONIC ns, the clock of
 * process.hrtime, so they sit on the same axis as every other span. A time out of order (a time
 * namespace with a monotonic offset shifts the container process's clock) is clamped, so the
 * spans stay inside their parent. Nothing is recorded without phases (a foreign runtime).
 */
export function recordInitPhases(parent: Span, spawnNs: number | undefined, phases: ReadonlyArray<readonly [string, number]> | undefined): void {
  if (!spawnNs || !phases?.length) return;
  const ceiling = parent.end ?? now();
  const clamp = (t: bigint, lo: bigint) => (t < lo ? lo : t > ceiling ? ceiling : t);
  const spawned = clamp(BigInt(Math.round(spawnNs)), parent.start);
  const init = parent.child('berth-init', 'init', { start: spawned });
  let prev = spawned;
  for (const [name, ns] of phases) {
    const end = clamp(BigInt(Math.round(ns)), prev);
    init.child(name, 'init', { start: prev }).finish(end);
    prev = end;
  }
  init.finish(prev);
}
