// What a running berth command sees: its streams, the global options, and a connected Engine API client.
import { join } from 'node:path';
import { homedir } from 'node:os';
import { Client } from '../client/client.js';
import { ensureDaemon } from './autostart.js';
import type { Io } from './command.js';

/** Global options (`berth [OPTIONS] COMMAND`). */
export interface GlobalOptions {
  host: string;
  /** True when -H, DOCKER_HOST or BERTH_HOST chose the host: no autostart then. */
  hostExplicit: boolean;
  configDir: string;
  debug: boolean;
  logLevel: string;
  noAutostart: boolean;
}

/** The default exec root and socket: $BERTH_EXEC_ROOT/berth.sock, else /run/berth/berth.sock. */
export function defaultHost(env: Record<string, string | undefined>): string {
  return `unix://${join(env['BERTH_EXEC_ROOT'] || '/run/berth', 'berth.sock')}`;
}

/** The client config dir: --config, $DOCKER_CONFIG, else ~/.docker. */
export function defaultConfigDir(env: Record<string, string | undefined>): string {
  return env['DOCKER_CONFIG'] || join(env['HOME'] || homedir(), '.docker');
}

/** The running command's context. */
export class Cli {
  /** `berth run`, `berth container ls`: for help and error texts. */
  commandPath = 'berth';
  /** The command's usage line (after the path). */
  commandUse = '';
  private clientP: Promise<Client> | undefined;
  private made: Client | undefined;

  constructor(
    readonly io: Io,
    readonly globals: GlobalOptions,
  ) {}

  get env(): Record<string, string | undefined> {
    return this.io.env;
  }

  out(s: string): void {
    this.io.stdout.write(s);
  }

  err(s: string): void {
    this.io.stderr.write(s);
  }

  /** The API client, negotiated; starts berthd first when allowed and nothing answers. */
  client(): Promise<Client> {
    this.clientP ??= (async () => {
      const g = this.globals;
      if (!g.hostExplicit && !g.noAutostart) await ensureDaemon(g.host, this.io);
      const c = new Client({ host: g.host, userAgent: 'Berth-Client/0.1.0 (linux)', version: this.env['DOCKER_API_VERSION'] || undefined });
      this.made = c;
      await c.negotiate();
      return c;
    })();
    return this.clientP;
  }

  async close(): Promise<void> {
    await this.made?.close().catch(() => undefined);
  }
}
