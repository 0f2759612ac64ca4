// Restart policies as dockerd applies them (moby restartmanager + daemon/monitor.go): the decision, the backoff, the cancellable wait.
//
//   exit -> decide() -> undefined: stopped | delay: State "restarting", RestartCount+1, wait(delay) -> start
//   stop/kill during the wait -> cancel(): the wait resolves false and the container is stopped
//   user start -> reset(): backoff and the cancel mark are forgotten (dockerd's ResetRestartManager)
import { errInvalid } from '../common/errors.js';
import type { RestartPolicy } from './types.js';

/** dockerd's backoff: the first delay, its growth factor, its cap, and the run time that resets it. */
export const BACKOFF_START_MS = 100;
export const BACKOFF_FACTOR = 2;
export const BACKOFF_MAX_MS = 60_000;
export const BACKOFF_RESET_AFTER_MS = 10_000;

/** Docker's validateRestartPolicy (create and update). */
export function validateRestartPolicy(p: RestartPolicy | undefined): void {
  if (!p) return;
  const n = p.MaximumRetryCount ?? 0;
  switch (p.Name) {
    case 'always': case 'unless-stopped': case 'no':
      if (n !== 0) throw errInvalid(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
      return;
    case 'on-failure':
      if (n < 0) throw errInvalid('invalid restart policy: maximum retry count cannot be negative');
      return;
    case '':
      return; // dockerd before v25 stored an empty name as the default
    default:
      throw errInvalid(`invalid restart policy: unknown policy '${String(p.Name)}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
}

/**
 * moby's RestartManager.ShouldRestart without the backoff: `always` after any exit,
 * `unless-stopped` unless the user stopped it, `on-failure` on a non-zero exit while
 * RestartCount is below MaximumRetryCount (0 = no bound).
 */
export function policyWantsRestart(p: RestartPolicy | undefined, exitCode: number, manuallyStopped: boolean, restartCount: number): boolean {
  switch (p?.Name) {
    case 'always': return true;
    case 'unless-stopped': return !manuallyStopped;
    case 'on-failure': {
      const max = p.MaximumRetryCount ?? 0;
      return (max === 0 || restartCount < max) && exitCode !== 0;
    }
    default: return false;
  }
}

/** The next backoff delay after `prev` (0 = none yet): reset after a run of 10 s or more, doubled up to a minute. */
export function nextBackoff(prevMs: number, ranMs: number): number {
  let t = ranMs >= BACKOFF_RESET_AFTER_MS ? 0 : prevMs;
  if (t === 0) t = BACKOFF_START_MS;
  else if (t < BACKOFF_MAX_MS) t *= BACKOFF_FACTOR;
  return Math.min(t, BACKOFF_MAX_MS);
}

interface Entry {
  /** The last delay (dockerd's rm.timeout). */
  backoffMs: number;
  /** dockerd's ExitOnNext: a stop or kill by the user; the next exit is not restarted. */
  cancelled: boolean;
  pending?: { timer: NodeJS.Timeout; done: (go: boolean) => void };
}

/** In-memory restart state per container (as dockerd keeps it: lost with the daemon). */
export class RestartManager {
  private readonly entries = new Map<string, Entry>();

  private entry(id: string): Entry {
    let e = this.entries.get(id);
    if (!e) this.entries.set(id, (e = { backoffMs: 0, cancelled: false }));
    return e;
  }

  /**
   * dockerd's ShouldRestart at an exit: advances the backoff (always, as dockerd does) and
   * returns the delay before the restart, or undefined when the container stays stopped.
   */
  decide(id: string, p: RestartPolicy | undefined, exitCode: number, manuallyStopped: boolean, restartCount: number, ranMs: number): number | undefined {
    if (!p || p.Name === 'no' || p.Name === '') return undefined;
    const e = this.entry(id);
    if (e.cancelled || e.pending) return undefined;
    e.backoffMs = nextBackoff(e.backoffMs, ranMs);
    return policyWantsRestart(p, exitCode, manuallyStopped, restartCount) ? e.backoffMs : undefined;
  }

  /** Wait `ms`; resolves true when it is time to start, false when cancelled meanwhile. */
  wait(id: string, ms: number): Promise<boolean> {
    const e = this.entry(id);
    return new Promise<boolean>((resolve) => {
      const done = (go: boolean) => {
        if (e.pending?.done !== done) return;
        clearTimeout(e.pending.timer);
        e.pending = undefined;
        resolve(go);
      };
      e.pending = { timer: setTimeout(() => done(true), ms), done };
    });
  }

  /** A restart is being waited for. */
  isPending(id: string): boolean {
    return !!this.entries.get(id)?.pending;
  }

  /** dockerd's ExitOnNext: no restart after the next exit, and a pending one is called off. Returns whether one was pending. */
  cancel(id: string): boolean {
    const e = this.entry(id);
    e.cancelled = true;
    const p = e.pending;
    p?.done(false);
    return !!p;
  }

  /** A start by the user: a fresh restart manager (backoff from the start, not cancelled). */
  reset(id: string): void {
    const e = this.entries.get(id);
    e?.pending?.done(false);
    this.entries.delete(id);
  }

  /** Stop every pending wait (daemon shutdown); the containers stay "restarting" for the next open. */
  close(): void {
    for (const e of this.entries.values()) e.pending?.done(false);
    this.entries.clear();
  }
}
