// The shape of a berth command (one file per verb under commands/), the CLI's I/O, and its error types.
import type { Readable, Writable } from 'node:stream';
import type { FlagSet, FlagValues } from './flags.js';
import type { Cli } from './context.js';

/** Standard streams and environment; tests pass their own. */
export interface Io {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown; fd?: number };
  stdout: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: Writable & { isTTY?: boolean };
  env: Record<string, string | undefined>;
}

/** Positional argument rules (cobra's ExactArgs, MinimumNArgs, ...). */
export interface ArgsRule {
  min?: number;
  max?: number;
}

/** One command. `run` resolves to the exit code (0 when it resolves to nothing). */
export interface Command {
  name: string;
  aliases?: string[];
  /** Usage after the command path: `[OPTIONS] CONTAINER [CONTAINER...]`. */
  use: string;
  short: string;
  flags?(fs: FlagSet): void;
  args?: ArgsRule;
  /** False for run/exec/create: the first positional argument ends the flags. */
  interspersed?: boolean;
  run(cli: Cli, flags: FlagValues, args: string[]): Promise<number | void>;
}

/** A management command (`container`, `image`, `system`) with its subcommands. */
export interface Group {
  name: string;
  short: string;
  commands: Command[];
}

/**
 * Ends a command with an exit status; the message (if any) is printed on stderr as is. Used for
 * the container's own exit code (`run`), and for docker's aggregate failures (`rm a b` → 1).
 */
export class StatusError extends Error {
  constructor(
    readonly status: number,
    message = '',
  ) {
    super(message);
    this.name = 'StatusError';
  }
}
