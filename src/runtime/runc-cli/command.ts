// What every berth-runc verb module exports, and the context it runs with.
import type { Runtime } from '../container/runtime.js';
import type { FlagDef, Parsed } from './args.js';

export interface Context {
  /** Opened lazily: `spec` and `features` need no state root. */
  runtime(): Runtime;
  global: Parsed['flags'];
  flags: Parsed['flags'];
  args: string[];
  /** Print a debug line when --debug. */
  debug(msg: string): void;
}

export interface Command {
  name: string;
  /** `<container-id>` etc. */
  argsUsage: string;
  description?: string;
  flags: FlagDef[];
  /** Exact argument count, or [min, max] (max -1 = any). */
  args: number | [number, number];
  /** Stop parsing flags at the first argument (runc exec: flags after the command are the command's). */
  stopAtFirstArg?: boolean;
  /** Returns the exit status (default 0). */
  run(ctx: Context): Promise<number | void>;
}
