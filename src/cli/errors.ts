// How the CLI words an error: daemon answers prefixed as docker does, connection failures reworded.
import { ApiError } from '../client/client.js';
import { BerthError } from '../common/errors.js';
import type { Cli } from './context.js';

/** The text docker prints for an error (`Error response from daemon: ...`, `Cannot connect ...`). */
export function errorText(e: unknown, cli: Cli): string {
  if (e instanceof ApiError) return `Error response from daemon: ${e.message}`;
  if (e instanceof BerthError && e.code === 'unavailable' && /^cannot connect/.test(e.message)) {
    return `Cannot connect to the Berth daemon at ${cli.globals.host}. Is the berth daemon running?`;
  }
  return e instanceof Error ? e.message : String(e);
}
