// Dockerfile-style `--change` instructions for import (CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD,
// STOPSIGNAL, USER, VOLUME, WORKDIR), applied to an image config's `config` object.
import { errInvalid } from '../../common/errors.js';
import { parseGoDuration } from '../../common/units.js';
import type { ContainerConfig } from '../manifest.js';

/** JSON (exec) form if the argument is a JSON array of strings, else undefined. */
function execForm(arg: string): string[] | undefined {
  if (!arg.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(arg) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    // not JSON: shell form, as Docker treats it
  }
  return undefined;
}

/** Split `a=1 b="x y"` into pairs; quotes group, a backslash escapes. */
function splitWords(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let any = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      any = true;
    } else if (quote) {
      if (c === quote) quote = null;
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      any = true;
    } else if (/\s/.test(c)) {
      if (any) out.push(cur);
      cur = '';
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (quote) throw errInvalid(`unterminated quote in "${s}"`);
  if (any) out.push(cur);
  return out;
}

function pairs(instr: string, arg: string): Array<[string, string]> {
  const words = splitWords(arg);
  if (words.length > 0 && !words[0].includes('=')) {
    // Legacy `ENV key value with spaces`.
    const m = /^\s*(\S+)\s+(.*)$/s.exec(arg);
    if (!m) throw errInvalid(`${instr} "${arg}": needs key=value or "key value"`);
    return [[m[1], m[2]]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw errInvalid(`${instr} "${arg}": "${w}" is not key=value`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

const HEALTH_FLAGS = { interval: 'Interval', timeout: 'Timeout', 'start-period': 'StartPeriod', 'start-interval': 'StartInterval' } as const;

/** The Dockerfile's `HEALTHCHECK [--interval=d ...] CMD command` or `HEALTHCHECK NONE`, with the builder's checks. */
function healthcheck(arg: string): NonNullable<ContainerConfig['Healthcheck']> {
  const h: NonNullable<ContainerConfig['Healthcheck']> = {};
  let rest = arg;
  for (let m; (m = /^--([a-z-]+)=(\S*)\s*/.exec(rest)); rest = rest.slice(m[0].length)) {
    const [, name, value] = m as unknown as [string, string, string];
    if (name === 'retries') {
      if (!/^[-+]?\d+$/.test(value)) throw errInvalid(`HEALTHCHECK --retries: invalid number "${value}"`);
      if (Number(value) < 0) throw errInvalid(`--retries cannot be negative (${Number(value)})`);
      h.Retries = Number(value);
      continue;
    }
    const field = HEALTH_FLAGS[name as keyof typeof HEALTH_FLAGS];
    if (!field) throw errInvalid(`Unknown flag: ${name}`);
    const ms = value === '' ? 0 : parseGoDuration(value);
    if (ms === undefined) throw errInvalid(`HEALTHCHECK --${name}: time: invalid duration "${value}"`);
    if (ms < 0) throw errInvalid(`Interval "${name}" cannot be negative`);
    if (ms > 0 && ms < 1) throw errInvalid(`Interval "${name}" cannot be less than 1ms`);
    if (ms) h[field] = Math.round(ms * 1e6);
  }
  const m = /^(\S+)\s*(.*)$/s.exec(rest);
  const typ = m?.[1]!.toUpperCase();
  if (!typ) throw errInvalid('HEALTHCHECK requires at least one argument');
  if (typ === 'NONE') {
    if (m![2] || rest !== arg) throw errInvalid('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (typ !== 'CMD') throw errInvalid(`Unknown type "${m![1]}" in HEALTHCHECK (try CMD)`);
  if (!m![2]) throw errInvalid('Missing command after HEALTHCHECK CMD');
  const exec = execForm(m![2]);
  h.Test = exec ? ['CMD', ...exec] : ['CMD-SHELL', m![2]];
  return h;
}

/**
 * The instructions in `changes`: dockerd joins them with newlines and parses the text as a
 * Dockerfile, so one value may hold several lines (testcontainers sends them so), a trailing
 * backslash continues a line, and blank and `#` comment lines are skipped.
 */
function instructions(changes: string[]): string[] {
  const out: string[] = [];
  let cur = '';
  for (const line of changes.join('\n').split('\n')) {
    if (cur === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      cur += line.slice(0, -1);
      continue;
    }
    out.push(cur + line);
    cur = '';
  }
  if (cur.trim()) out.push(cur);
  return out;
}

/** Apply `changes` to a copy of `config` and return it; invalid-argument names the bad instruction. */
export function applyChanges(config: ContainerConfig, changes: string[]): ContainerConfig {
  const c: ContainerConfig = structuredClone(config);
  for (const change of instructions(changes)) {
    const m = /^\s*([A-Za-z]+)\s*(.*?)\s*$/s.exec(change);
    if (!m) throw errInvalid(`change "${change}": empty`);
    const instr = m[1].toUpperCase();
    const arg = m[2];
    const shellOrExec = () => execForm(arg) ?? ['/bin/sh', '-c', arg];
    switch (instr) {
      case 'CMD':
        c.Cmd = shellOrExec();
        break;
      case 'ENTRYPOINT':
        c.Entrypoint = shellOrExec();
        break;
      case 'ENV': {
        const env = [...(c.Env ?? [])];
        for (const [k, v] of pairs(instr, arg)) {
          const i = env.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        c.Env = env;
        break;
      }
      case 'HEALTHCHECK':
        c.Healthcheck = healthcheck(arg);
        break;
      case 'LABEL':
        c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(pairs(instr, arg)) };
        break;
      case 'EXPOSE':
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const p of splitWords(arg)) {
          if (!/^\d+(?:-\d+)?(?:\/(?:tcp|udp|sctp))?$/.test(p)) throw errInvalid(`EXPOSE "${p}": not a port`);
          c.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
        }
        break;
      case 'VOLUME': {
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const v of execForm(arg) ?? splitWords(arg)) c.Volumes[v] = {};
        break;
      }
      case 'USER':
        c.User = arg;
        break;
      case 'WORKDIR':
        if (!arg) throw errInvalid('WORKDIR: needs a path');
        c.WorkingDir = arg.startsWith('/') ? arg : `/${arg}`;
        break;
      case 'STOPSIGNAL':
        c.StopSignal = arg;
        break;
      case 'ONBUILD':
        c.OnBuild = [...(c.OnBuild ?? []), arg];
        break;
      default:
        throw errInvalid(`change "${change}": ${instr} is not supported (CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)`);
    }
  }
  return c;
}
