// Run one CNI plugin binary as the CNI 1.0 spec says: CNI_* in the environment, the config on stdin, the result or an error on stdout.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, errInvalid, errNotFound } from '../../common/errors.js';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

export interface CniRuntimeConf {
  containerId: string;
  /** The network namespace path; may be empty for DEL when it is already gone (CNI 1.0 §"DEL"). */
  netns: string;
  ifName: string;
  /** CNI_ARGS key=value pairs. */
  args?: Record<string, string>;
}

/** A CNI 1.0 result (the fields Berth reads). */
export interface CniResult {
  cniVersion: string;
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ address: string; gateway?: string; interface?: number }>;
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: Record<string, unknown>;
}

/** A plugin's error result: CNI's well-known codes (1 incompatible version ... 11 try again later) and its message. */
export class CniError extends BerthError {
  constructor(readonly plugin: string, readonly cniCode: number, msg: string, details?: string) {
    super(cniCode === 11 ? 'unavailable' : 'failed-precondition', `CNI plugin ${plugin}: ${msg}${details ? `: ${details}` : ''}`);
  }
}

/** Where the Debian package (containernetworking-plugins) puts the plugins. */
export const DEFAULT_CNI_PATH = ['/usr/lib/cni', '/opt/cni/bin'];

export function findPlugin(type: string, path: string[]): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(type)) throw errInvalid(`CNI plugin type "${type}" is not a plain name`);
  for (const d of path) {
    const p = join(d, type);
    if (existsSync(p)) return p;
  }
  throw errNotFound(`CNI plugin "${type}" not found in ${path.join(':')} (install containernetworking-plugins)`);
}

/** Exec the plugin; resolves with its parsed stdout (empty for DEL/CHECK), rejects with CniError on an error result. */
export function invokePlugin(type: string, cmd: CniCommand, conf: object, rt: CniRuntimeConf, path: string[]): Promise<CniResult | undefined> {
  const bin = findPlugin(type, path);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: cmd, CNI_CONTAINERID: rt.containerId, CNI_NETNS: rt.netns, CNI_IFNAME: rt.ifName,
    CNI_ARGS: Object.entries(rt.args ?? {}).map(([k, v]) => `${k}=${v}`).join(';'),
    CNI_PATH: path.join(':'),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new BerthError('internal', `CNI plugin ${type}: exec ${bin}`, { cause: e })));
    child.on('close', (code) => {
      const text = Buffer.concat(out).toString('utf8').trim();
      let parsed: Record<string, unknown> | undefined;
      try { parsed = text ? JSON.parse(text) as Record<string, unknown> : undefined; } catch { /* not JSON */ }
      if (code !== 0) {
        if (parsed && typeof parsed.code === 'number') {
          reject(new CniError(type, parsed.code, String(parsed.msg ?? 'failed'), parsed.details ? String(parsed.details) : undefined));
        } else {
          reject(new CniError(type, 999, `${cmd} exited with ${code}`, (text || Buffer.concat(err).toString('utf8')).trim().slice(0, 500)));
        }
        return;
      }
      resolve(parsed as CniResult | undefined);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(conf));
  });
}
