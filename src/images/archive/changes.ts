// Dockerfile-style `--change` instructions for import (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD,
// STOPSIGNAL, USER, VOLUME, WORKDIR), applied to an image config's `config` object.
import { errInvalid } from '../../common/errors.js';
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

/** Apply `changes` to a copy of `config` and return it; invalid-argument names the bad instruction. */
export function applyChanges(config: ContainerConfig, changes: string[]): ContainerConfig {
  const c: ContainerConfig = structuredClone(config);
  for (const change of changes) {
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
        throw errInvalid(`change "${change}": ${instr} is not supported (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)`);
    }
  }
  return c;
}
