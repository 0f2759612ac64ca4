// Health checks as dockerd runs them (moby daemon/health.go): a probe exec per interval, State.Health, health_status events.
//
//   start -> onStart(record) (Status "starting", FailingStreak 0) -> arm(): one timer, nothing else on the start path
//   timer -> probe exec (killed at Timeout) -> result -> Log (last 5), FailingStreak, Status -> health_status event on change
//   exit / remove / engine close -> stop(): the timer goes, a probe in flight is ignored
import { errInvalid } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { ContainerRecord, ContainerStore } from './store.js';
import type { HealthConfig, HealthState } from './types.js';

/** dockerd's defaults and bounds (durations in ms; the API's are ns). */
export const DEFAULT_INTERVAL_MS = 30_000;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_START_PERIOD_MS = 0;
export const DEFAULT_START_INTERVAL_MS = 5_000;
export const DEFAULT_RETRIES = 3;
export const MAX_LOG_ENTRIES = 5;
export const MAX_OUTPUT = 4096;

const NS_PER_MS = 1e6;

/** Docker's validateHealthCheck at create: durations 0 (default) or at least 1 ms, Retries not negative. */
export function validateHealthcheck(h: HealthConfig | undefined): void {
  if (!h) return;
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval'] as const) {
    const v = h[k] ?? 0;
    if (v !== 0 && v < NS_PER_MS) throw errInvalid(`${k} in Healthcheck cannot be less than 1ms`);
  }
  if ((h.Retries ?? 0) < 0) throw errInvalid('Retries in Healthcheck cannot be negative');
}

/** Docker's merge of the image's HEALTHCHECK under the request's (field by field, zero = inherit). */
export function mergeHealthcheck(req: HealthConfig | undefined, img: HealthConfig | undefined): HealthConfig | undefined {
  if (!req) return img ? structuredClone(img) : undefined;
  if (!img) return req;
  const out = { ...req };
  if (!out.Test?.length) out.Test = img.Test;
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) if (!out[k] && img[k]) out[k] = img[k];
  return out;
}

/** The probe command, or undefined when there is no check (none configured, NONE, or an unknown type, as dockerd's getProbe). */
export function probeCommand(c: ContainerRecord): string[] | undefined {
  const t = c.config.Healthcheck?.Test;
  if (!t?.length) return undefined;
  if (t[0] === 'CMD') return t.length > 1 ? t.slice(1) : undefined;
  if (t[0] === 'CMD-SHELL') return [...(c.config.Shell?.length ? c.config.Shell : ['/bin/sh', '-c']), ...t.slice(1)];
  return undefined;
}

/** dockerd's initHealthMonitor on the record at a start: Status starting, streak 0, the Log kept. In the start's own store update. */
export function healthOnStart(c: ContainerRecord): void {
  if (!probeCommand(c)) return;
  c.state.health = { Status: 'starting', FailingStreak: 0, Log: c.state.health?.Log ?? [] };
}

/** Go's time.Duration.String for the timeout message ("200ms", "1s", "1m30s"). */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}

/** What the monitor needs from the container side. */
export interface HealthHost {
  store: ContainerStore;
  log: Logger;
  /** Run one probe exec (ExecManager.probe). */
  probe(containerId: string, cmd: string[], timeoutMs: number, maxOutput: number): Promise<{ exitCode: number; output: string; timedOut: boolean }>;
  publish(c: ContainerRecord, action: string): void;
}

interface Monitor {
  timer?: NodeJS.Timeout;
  stopped: boolean;
}

const ms = (ns: number | undefined, dflt: number) => (ns ? Math.max(1, Math.floor(ns / NS_PER_MS)) : dflt);

/** One monitor per running container with a check; never two at once. */
export class HealthMonitor {
  private readonly monitors = new Map<string, Monitor>();

  constructor(private readonly host: HealthHost) {}

  /** Start monitoring a container that just started (or was adopted running): one timer. */
  arm(c: ContainerRecord): void {
    this.stop(c.id);
    if (!probeCommand(c)) return;
    const m: Monitor = { stopped: false };
    this.monitors.set(c.id, m);
    this.schedule(c.id, m, c);
  }

  /** Stop monitoring (exit, remove, close); a probe in flight is left to end and its result ignored. */
  stop(id: string): void {
    const m = this.monitors.get(id);
    if (!m) return;
    m.stopped = true;
    clearTimeout(m.timer);
    this.monitors.delete(id);
  }

  close(): void {
    for (const id of [...this.monitors.keys()]) this.stop(id);
  }

  /**
   * dockerd's getInterval: StartInterval while starting inside StartPeriod, else Interval. A StartInterval is cut
   * at the period's end, so the first counted probe comes then, not a StartInterval later (moby#46747).
   */
  private interval(c: ContainerRecord): number {
    const hc = c.config.Healthcheck ?? {};
    const interval = ms(hc.Interval, DEFAULT_INTERVAL_MS);
    const startPeriod = ms(hc.StartPeriod, DEFAULT_START_PERIOD_MS);
    const elapsed = Date.now() - Date.parse(c.state.startedAt);
    if (!(elapsed < startPeriod) || c.state.health?.Status !== 'starting') return interval;
    return Math.min(ms(hc.StartInterval, DEFAULT_START_INTERVAL_MS), startPeriod - elapsed);
  }

  private schedule(id: string, m: Monitor, c: ContainerRecord): void {
    m.timer = setTimeout(() => { void this.tick(id, m); }, this.interval(c));
    m.timer.unref?.();
  }

  private async tick(id: string, m: Monitor): Promise<void> {
    if (m.stopped) return;
    const c = this.host.store.find(id);
    const cmd = c && probeCommand(c);
    if (!c || !cmd) { this.stop(id); return; }
    // dockerd stops the monitor while paused; here a paused container just skips its turn.
    if (c.state.status !== 'running') { this.schedule(id, m, c); return; }
    const hc = c.config.Healthcheck ?? {};
    const timeoutMs = ms(hc.Timeout, DEFAULT_TIMEOUT_MS);
    const start = new Date();
    let result: { ExitCode: number; Output: string };
    try {
      const r = await this.host.probe(id, cmd, timeoutMs, MAX_OUTPUT);
      result = r.timedOut
        ? { ExitCode: -1, Output: r.output ? `Health check exceeded timeout (${goDuration(timeoutMs)}): ${r.output}` : `Health check exceeded timeout (${goDuration(timeoutMs)})` }
        : { ExitCode: r.exitCode, Output: r.output };
    } catch (e) {
      this.host.log.warn('health check error', { id, err: (e as Error).message });
      result = { ExitCode: -1, Output: (e as Error).message };
    }
    if (m.stopped) return;
    const end = new Date();
    let changed: HealthState['Status'] | undefined;
    let rec: ContainerRecord;
    try {
      rec = this.host.store.update(id, (r) => {
        const h: HealthState = r.state.health ?? { Status: 'starting', FailingStreak: 0, Log: [] };
        const old = h.Status;
        h.Log = [...h.Log, { Start: start.toISOString(), End: end.toISOString(), ExitCode: result.ExitCode, Output: result.Output }].slice(-MAX_LOG_ENTRIES);
        if (result.ExitCode === 0) {
          h.FailingStreak = 0;
          h.Status = 'healthy';
        } else {
          // Failures inside StartPeriod do not count while the container has never been healthy.
          const startPeriod = ms(hc.StartPeriod, DEFAULT_START_PERIOD_MS);
          const inStartPeriod = h.Status === 'starting' && start.getTime() - Date.parse(r.state.startedAt) < startPeriod;
          if (!inStartPeriod) {
            h.FailingStreak++;
            if (h.FailingStreak >= (hc.Retries && hc.Retries > 0 ? hc.Retries : DEFAULT_RETRIES)) h.Status = 'unhealthy';
          }
        }
        r.state.health = h;
        if (h.Status !== old) changed = h.Status;
      });
    } catch {
      this.stop(id); // removed meanwhile
      return;
    }
    if (changed) this.host.publish(rec, `health_status: ${changed}`);
    if (!m.stopped) this.schedule(id, m, rec);
  }
}
