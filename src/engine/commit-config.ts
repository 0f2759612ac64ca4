// The config of a committed image: the request's Config (or the container's) with --change applied, merged with the container's as dockerd does.
import { applyChanges } from '../images/archive/changes.js';
import type { ContainerConfig as ImageRunConfig } from '../images/manifest.js';
import type { ContainerConfig } from './types.js';

/** The fields an image config's `config` carries (image-spec config.md); the rest of a container Config is not an image's. */
const IMAGE_FIELDS = ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'ArgsEscaped', 'Healthcheck', 'OnBuild', 'Shell'] as const;

const empty = (v: unknown) => v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);

/**
 * dockerd's commit config (daemon/commit.go): `body` (else the container's Config) with
 * `changes` applied; then every field it leaves empty is taken from the container's Config,
 * except that Env, ExposedPorts, Labels and Volumes are unions (the request's value wins on a
 * key) and Cmd comes along only when neither Entrypoint nor Cmd was given.
 */
export function commitConfig(container: ContainerConfig, body: ContainerConfig | undefined, changes: string[]): ImageRunConfig {
  const u = applyChanges(pick(body ?? container), changes);
  const c = pick(container);
  if (!u.User) u.User = c.User;
  u.ExposedPorts = { ...(c.ExposedPorts ?? {}), ...(u.ExposedPorts ?? {}) };
  const keys = new Set((u.Env ?? []).map((e) => e.split('=')[0]));
  u.Env = [...(u.Env ?? []), ...(c.Env ?? []).filter((e) => !keys.has(e.split('=')[0]))];
  u.Labels = { ...(c.Labels ?? {}), ...(u.Labels ?? {}) };
  if (empty(u.Entrypoint)) {
    if (empty(u.Cmd)) {
      u.Cmd = c.Cmd;
      u.ArgsEscaped = c.ArgsEscaped;
    }
    if (u.Entrypoint === undefined || u.Entrypoint === null) u.Entrypoint = c.Entrypoint;
  }
  if (c.Healthcheck) {
    const h = u.Healthcheck;
    if (!h) u.Healthcheck = c.Healthcheck;
    else {
      if (empty(h.Test)) h.Test = c.Healthcheck.Test;
      for (const k of ['Interval', 'Timeout', 'StartPeriod', 'Retries'] as const) if (!h[k] && c.Healthcheck[k]) h[k] = c.Healthcheck[k];
    }
  }
  if (!u.WorkingDir) u.WorkingDir = c.WorkingDir;
  // Unlike the others, the container's volumes win here (dockerd copies them over the request's).
  u.Volumes = { ...(u.Volumes ?? {}), ...(c.Volumes ?? {}) };
  if (!u.StopSignal) u.StopSignal = c.StopSignal;
  return pick(u);
}

/** The image fields of a config, without the empty ones (dockerd's image config omits them). */
function pick(c: ContainerConfig | ImageRunConfig): ImageRunConfig {
  const out: ImageRunConfig = {};
  for (const k of IMAGE_FIELDS) {
    const v = (c as Record<string, unknown>)[k];
    if (!empty(v) && v !== false) (out as Record<string, unknown>)[k] = structuredClone(v);
  }
  return out;
}
