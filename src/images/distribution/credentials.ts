// Registry credentials from a Docker CLI config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`).
//
// Left out: credential helpers (`credsStore`, `credHelpers`) and OAuth refresh via `identitytoken`; an entry
// that only names a helper yields no credentials, so the registry answers 401 and the error says so.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { errInvalid } from '../../common/errors.js';

/** What we can authenticate with. */
export interface Credentials {
  username: string;
  password: string;
}

/** The hosts Docker files docker.io credentials under (the v1 index URL is the CLI's own key). */
const DOCKER_HUB_KEYS = ['index.docker.io', 'docker.io', 'registry-1.docker.io'];

/** The directory holding config.json: `DOCKER_CONFIG` when set, else `~/.docker` (what the docker CLI uses). */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
}

/** `https://index.docker.io/v1/`, `http://host:5000/v2`, `host:5000` -> the host[:port] they name. */
export function normalizeAuthKey(key: string): string {
  let k = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = k.indexOf('/');
  if (slash >= 0) k = k.slice(0, slash);
  return k.toLowerCase();
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
}

/** Decode one `auths` entry: base64 `user:password` in `auth`, or plain `username`/`password`. */
export function decodeAuthEntry(entry: AuthEntry, where: string): Credentials | undefined {
  if (entry.auth) {
    const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = plain.indexOf(':');
    if (colon < 0) throw errInvalid(`${where}: "auth" is not base64 of user:password`);
    return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
  }
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  return undefined;
}

/**
 * The credentials for `registry` (`docker.io` or `host[:port]`) in `<dir>/config.json`, or undefined when the
 * file or the entry is missing. A malformed file is an error: silently pulling anonymously would hide it.
 */
export async function loadDockerCredentials(registry: string, dir = dockerConfigDir()): Promise<Credentials | undefined> {
  const file = join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let config: { auths?: Record<string, AuthEntry> };
  try {
    config = JSON.parse(text) as typeof config;
  } catch (e) {
    throw errInvalid(`docker config ${file}: not JSON`, e);
  }
  const wanted = registry.toLowerCase();
  const keys = DOCKER_HUB_KEYS.includes(wanted) ? DOCKER_HUB_KEYS : [wanted];
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (!keys.includes(normalizeAuthKey(key)) || !entry || typeof entry !== 'object') continue;
    const c = decodeAuthEntry(entry, `docker config ${file}: auths[${JSON.stringify(key)}]`);
    if (c) return c;
  }
  return undefined;
}
