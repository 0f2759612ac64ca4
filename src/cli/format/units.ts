// docker/go-units sizes and durations, and the daemon's container status strings (`Up 5 minutes`).
import { sprintf } from './gofmt.js';

const DECIMAL_ABBRS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY_ABBRS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

function sizeAndUnit(size: number, base: number, abbrs: string[]): [number, string] {
  let i = 0;
  while (size >= base && i < abbrs.length - 1) {
    size /= base;
    i++;
  }
  return [size, abbrs[i]!];
}

/** go-units CustomSize: `format` is a Go printf format taking (size float64, unit string). */
export function customSize(format: string, size: number, base: number, abbrs: string[]): string {
  const [s, unit] = sizeAndUnit(size, base, abbrs);
  // A whole number is still a Go float64 here; %g/%f accept it either way.
  return sprintf(format, [s, unit]);
}

/**
 * go-units HumanSizeWithPrecision: decimal units with `precision` significant digits
 * (`%.*g`). Docker's `images`/`ps --size` SIZE columns use precision 3 (`"1.23MB"`),
 * and Go's %g switches to exponent form at the precision (`999999` → `"1e+03kB"`).
 */
export function humanSizeWithPrecision(size: number, precision: number): string {
  return customSize(`%.${precision}g%s`, size, 1000, DECIMAL_ABBRS);
}

/** go-units HumanSize: decimal units, 4 significant digits (`"2.746MB"`, `"796kB"`, `"0B"`). */
export function humanSize(size: number): string {
  return humanSizeWithPrecision(size, 4);
}

/** go-units BytesSize: binary units, 4 significant digits (`"1.5MiB"`, `"44KiB"`). */
export function bytesSize(size: number): string {
  return customSize('%.4g%s', size, 1024, BINARY_ABBRS);
}

export { fromHumanSize, ramInBytes } from '../../common/units.js';

/**
 * go-units HumanDuration of a duration in milliseconds: "Less than a second", "1 second",
 * "N seconds", "About a minute", "N minutes", "About an hour", "N hours" (below 48h),
 * "N days" (below 2 weeks), "N weeks" (below 60 days), "N months" (below 2 years), "N years".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  // Hours round to nearest (1h29m is "About an hour", 1h31m is "2 hours").
  const hours = Math.trunc(ms / 3600000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3600000) / 24 / 365)} years`;
}

/** Docker's "N units ago" (ps CREATED, images CREATED): HumanDuration(now - t) + " ago". */
export function humanAgo(t: Date | string | number, now: number = Date.now()): string {
  return humanDuration(now - toMillis(t)) + ' ago';
}

function toMillis(t: Date | string | number): number {
  return t instanceof Date ? t.getTime() : typeof t === 'number' ? t : Date.parse(t);
}

/** Go's time.Time.IsZero for API timestamps: `0001-01-01T00:00:00Z`, empty or missing. */
export function isZeroTime(t: Date | string | number | undefined | null): boolean {
  if (t === undefined || t === null || t === '') return true;
  if (typeof t === 'string' && t.startsWith('0001-01-01T00:00:00')) return true;
  const ms = toMillis(t);
  return Number.isNaN(ms) || ms <= -62135596800000;
}

/** The fields of a container's State that its status line depends on (Engine API names). */
export interface StatusState {
  Running?: boolean;
  Paused?: boolean;
  Restarting?: boolean;
  RemovalInProgress?: boolean;
  Dead?: boolean;
  ExitCode?: number;
  StartedAt?: Date | string | number;
  FinishedAt?: Date | string | number;
  Health?: { Status?: string } | null;
}

/**
 * The daemon's container status string (moby container/state.go State.String), as
 * `docker ps` shows in STATUS: "Up 3 seconds", "Up 3 seconds (Paused)",
 * "Up 2 minutes (healthy)", "Up 1 second (health: starting)",
 * "Restarting (1) 2 seconds ago", "Exited (0) 5 seconds ago", "Created",
 * "Removal In Progress", "Dead", or "" (started but never finished).
 */
export function containerStatus(s: StatusState, now: number = Date.now()): string {
  const since = (t: StatusState['StartedAt']) => humanDuration(now - (isZeroTime(t) ? now : toMillis(t!)));
  if (s.Running) {
    if (s.Paused) return `Up ${since(s.StartedAt)} (Paused)`;
    if (s.Restarting) return `Restarting (${s.ExitCode ?? 0}) ${since(s.FinishedAt)} ago`;
    if (s.Health) return `Up ${since(s.StartedAt)} (${healthString(s.Health.Status ?? '')})`;
    return `Up ${since(s.StartedAt)}`;
  }
  if (s.RemovalInProgress) return 'Removal In Progress';
  if (s.Dead) return 'Dead';
  if (isZeroTime(s.StartedAt)) return 'Created';
  if (isZeroTime(s.FinishedAt)) return '';
  return `Exited (${s.ExitCode ?? 0}) ${since(s.FinishedAt)} ago`;
}

/** moby's Health.String: "starting" reads "health: starting"; healthy/unhealthy stand alone. */
export function healthString(status: string): string {
  return status === 'starting' ? 'health: starting' : status;
}

/** The daemon's one-word container state (State.StateString): running, paused, exited, ... */
export function containerStateString(s: StatusState): string {
  if (s.Running) return s.Paused ? 'paused' : s.Restarting ? 'restarting' : 'running';
  if (s.RemovalInProgress) return 'removing';
  if (s.Dead) return 'dead';
  if (isZeroTime(s.StartedAt)) return 'created';
  return 'exited';
}
