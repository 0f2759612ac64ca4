// Docker's container log drivers as Berth has them (json-file, none): option checks with dockerd's messages, the daemon's defaults merged in, and what the shim is told.
import { errInvalid } from '../common/errors.js';
import { fromHumanSize } from '../common/units.js';
import type { LogConfig } from './types.js';

/** The drivers Berth has: json-file (written by the shim) and none. */
export const LOG_DRIVERS: readonly string[] = ['json-file', 'none'];

/**
 * Rotation is on by default, with the defaults of Docker's `local` driver (20 MiB, 5 files):
 * a container that runs for months must not fill the disk with its log. Docker's json-file has
 * no such default; an explicit `max-size=-1` turns rotation off.
 */
export const DEFAULT_LOG_MAX_SIZE = 20 * 1024 * 1024;
export const DEFAULT_LOG_MAX_FILES = 5;

/** What the shim does with a json-file log: rotate above `maxSize` bytes (0: never), keep `maxFiles`, gzip the rotated ones. */
export interface LogSettings {
  maxSize: number;
  maxFiles: number;
  compress: boolean;
}

/** Go's strconv.ParseBool. */
function parseGoBool(key: string, s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw errInvalid(`invalid value for ${key}: strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`);
}

/** Keys dockerd handles for every driver (the delivery mode), checked here and then ignored: the shim never blocks on its log. */
function checkBuiltIn(opts: Record<string, string>): void {
  const mode = opts['mode'] ?? '';
  if (!['', 'blocking', 'non-blocking'].includes(mode)) throw errInvalid(`logger: logging mode not supported: ${mode}`);
  if (opts['max-buffer-size'] !== undefined && mode !== 'non-blocking') throw errInvalid(`logger: max-buffer-size option is only supported with 'mode=non-blocking'`);
}

/**
 * Check a driver and its options as dockerd does (its messages), and return the json-file
 * settings with Berth's defaults filled in (undefined for `none`).
 */
export function logSettings(driver: string, opts: Record<string, string> = {}): LogSettings | undefined {
  if (!LOG_DRIVERS.includes(driver)) throw errInvalid(`logger: no log driver named '${driver}' is registered`);
  if (driver === 'none') return undefined;
  checkBuiltIn(opts);
  for (const k of Object.keys(opts)) {
    if (['max-size', 'max-file', 'compress', 'mode', 'max-buffer-size'].includes(k)) continue;
    if (['labels', 'labels-regex', 'env', 'env-regex', 'tag'].includes(k)) {
      throw errInvalid(`log opt '${k}' for json-file log driver is not supported by Berth yet (max-size, max-file, compress are)`);
    }
    throw errInvalid(`unknown log opt '${k}' for json-file log driver`);
  }
  let maxSize = DEFAULT_LOG_MAX_SIZE;
  const size = opts['max-size'];
  if (size !== undefined) {
    if (size.trim() === '-1') maxSize = 0;
    else {
      maxSize = fromHumanSize(size.trim());
      if (maxSize <= 0) throw errInvalid('max-size must be a positive number');
    }
  }
  let maxFiles = DEFAULT_LOG_MAX_FILES;
  const files = opts['max-file'];
  if (files !== undefined) {
    if (!/^[+-]?\d+$/.test(files)) throw errInvalid(`strconv.Atoi: parsing ${JSON.stringify(files)}: invalid syntax`);
    maxFiles = Number(files);
    if (maxFiles < 1) throw errInvalid('max-file cannot be less than 1');
    if (maxFiles > 1000) throw errInvalid('max-file cannot be more than 1000');
  }
  const compress = opts['compress'] !== undefined ? parseGoBool('compress', opts['compress']) : false;
  if (compress && (maxFiles === 1 || maxSize === 0)) throw errInvalid('compress cannot be true when max-file is less than 2 or max-size is not set');
  return { maxSize, maxFiles, compress };
}

/**
 * dockerd's mergeAndVerifyLogConfig: an empty type takes the daemon's; a container of the
 * daemon's type gets the daemon's options it does not set itself. Returns a new LogConfig.
 */
export function mergeLogConfig(c: LogConfig | undefined, daemon: LogConfig): LogConfig {
  const type = c?.Type || daemon.Type;
  const config = { ...(c?.Config ?? {}) };
  if (type === daemon.Type) for (const [k, v] of Object.entries(daemon.Config ?? {})) if (!(k in config)) config[k] = v;
  return { Type: type, Config: config };
}
