// Image references as Docker spells them: parse, normalize (busybox -> docker.io/library/busybox:latest), shorten.
//
// Grammar (distribution/reference): [domain[:port]/]path[:tag][@digest]. The first component is a
// domain only when it has a "." or a ":" or is "localhost"; otherwise the name is on Docker Hub,
// and a single-component Hub name lives under "library/".
import { errInvalid } from '../common/errors.js';

export const DEFAULT_DOMAIN = 'docker.io';
export const DEFAULT_TAG = 'latest';
const LEGACY_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';

const COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_RE = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const SHA256_RE = /^sha256:[a-f0-9]{64}$/;
const NAME_MAX = 255;

/** A parsed, normalized reference. `name` is domain/path; at least one of tag or digest is set after normalize. */
export interface Reference {
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
}

/** The repository name (`docker.io/library/busybox`). */
export const repoName = (r: Reference) => `${r.domain}/${r.path}`;

/** The full string form: name[:tag][@digest]. */
export function formatReference(r: Reference): string {
  return `${repoName(r)}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/**
 * Parse `s` into a fully qualified reference, without adding a default tag.
 * Throws invalid-argument with the reason when `s` is not a reference.
 */
export function parseReference(s: string): Reference {
  if (!s) throw errInvalid('reference "": empty');
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw errInvalid(`reference "${s}": invalid digest "${digest}"`);
    if (digest.startsWith('sha256:') && !SHA256_RE.test(digest)) throw errInvalid(`reference "${s}": invalid sha256 digest "${digest}"`);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw errInvalid(`reference "${s}": invalid tag "${tag}"`);
  }
  if (!rest) throw errInvalid(`reference "${s}": missing repository name`);
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const first = rest.indexOf('/');
  if (first >= 0) {
    const head = rest.slice(0, first);
    if (head.includes('.') || head.includes(':') || head === 'localhost' || head !== head.toLowerCase()) {
      domain = head;
      path = rest.slice(first + 1);
    }
  }
  if (!DOMAIN_RE.test(domain)) throw errInvalid(`reference "${s}": invalid domain "${domain}"`);
  if (domain === LEGACY_DOMAIN) domain = DEFAULT_DOMAIN;
  if (path !== path.toLowerCase()) throw errInvalid(`reference "${s}": repository name must be lowercase`);
  for (const c of path.split('/')) {
    if (!COMPONENT_RE.test(c)) throw errInvalid(`reference "${s}": invalid path component "${c}"`);
  }
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_PREFIX + path;
  if (domain.length + 1 + path.length > NAME_MAX) throw errInvalid(`reference "${s}": repository name longer than ${NAME_MAX}`);
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** Parse and add the default tag when the reference has neither tag nor digest (Docker's TagNameOnly). */
export function normalizeReference(s: string): Reference {
  const r = parseReference(s);
  if (r.tag === undefined && r.digest === undefined) r.tag = DEFAULT_TAG;
  return r;
}

/** The normalized string form: `busybox` -> `docker.io/library/busybox:latest`. */
export const normalize = (s: string): string => formatReference(normalizeReference(s));

/** Docker's short form for display: `docker.io/library/busybox:latest` -> `busybox:latest`. */
export function familiarString(s: string): string {
  const r = parseReference(s);
  let name = repoName(r);
  if (r.domain === DEFAULT_DOMAIN) {
    name = r.path.startsWith(OFFICIAL_PREFIX) && r.path.split('/').length === 2 ? r.path.slice(OFFICIAL_PREFIX.length) : r.path;
  }
  return `${name}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** True if `s` looks like an image id or a prefix of one (hex, optionally `sha256:`), as `docker rmi 3f5` accepts. */
export function isIdLike(s: string): boolean {
  return /^(?:sha256:)?[a-f0-9]{1,64}$/.test(s);
}

/** distribution/reference's error for a name that does not parse (ParseNormalizedNamed's texts). */
function dockerFormatError(s: string): string {
  const i = s.indexOf('/');
  const head = i < 0 ? '' : s.slice(0, i);
  const hub = i < 0 || (!/[.:]/.test(head) && head !== 'localhost' && head === head.toLowerCase());
  let rest = hub ? s : s.slice(i + 1);
  if (hub && !rest.includes('/')) rest = OFFICIAL_PREFIX + rest;
  const colon = rest.indexOf(':');
  const remote = colon < 0 ? rest : rest.slice(0, colon);
  return remote !== remote.toLowerCase() ? `invalid reference format: repository name (${remote}) must be lowercase` : 'invalid reference format';
}

/**
 * dockerd's repo + tag query parameters (commit, import) as one full name with a tag, with
 * Docker's error texts; undefined when `repo` is empty.
 */
export function repoTagReference(repo: string | undefined, tag: string | undefined): string | undefined {
  if (!repo) return undefined;
  let r: Reference;
  try {
    r = parseReference(repo);
  } catch (e) {
    throw errInvalid(dockerFormatError(repo), e);
  }
  if (r.digest) throw errInvalid('cannot import digest reference');
  if (tag) {
    if (!TAG_RE.test(tag)) throw errInvalid('invalid tag format');
    r.tag = tag;
  }
  r.tag ??= DEFAULT_TAG;
  return formatReference(r);
}
