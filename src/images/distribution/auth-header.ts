// Parsing of the WWW-Authenticate challenges a registry answers a 401 with (RFC 7235 §4.1, distribution token spec).
import { errInvalid } from '../../common/errors.js';

/** One challenge: `Bearer realm="...",service="...",scope="..."` -> { scheme: 'bearer', params }. */
export interface AuthChallenge {
  /** Lower-cased scheme (`bearer`, `basic`). */
  scheme: string;
  /** Parameter names lower-cased; values unquoted. */
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;

/**
 * Parse every challenge in one or more WWW-Authenticate header values. A single value may carry several
 * challenges (`Basic realm="a", Bearer realm="b"`): a token not followed by `=` starts a new one.
 */
export function parseWwwAuthenticate(headers: string | string[] | undefined): AuthChallenge[] {
  const values = headers === undefined ? [] : Array.isArray(headers) ? headers : [headers];
  const out: AuthChallenge[] = [];
  for (const value of values) out.push(...parseOne(value));
  return out;
}

function parseOne(s: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let i = 0;
  let current: AuthChallenge | undefined;
  const skipSpace = () => { while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++; };
  const token = (): string | undefined => {
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(s);
    if (!m) return undefined;
    i += m[0].length;
    return m[0];
  };
  while (i < s.length) {
    skipSpace();
    if (s[i] === ',') { i++; continue; }
    const start = i;
    const name = token();
    if (name === undefined) throw errInvalid(`WWW-Authenticate ${JSON.stringify(s)}: unexpected ${JSON.stringify(s[i])} at ${i}`);
    skipSpace();
    if (s[i] === '=' && current && /^=*\s*(,|$)/.test(s.slice(i))) {
      // A token68 (`Negotiate abc==`) is not a parameter: only `=` padding follows it.
      const pad = /^=*/.exec(s.slice(i))![0];
      i += pad.length;
      current.params.token68 = name + pad;
    } else if (s[i] === '=' && current) {
      i++;
      skipSpace();
      let value: string;
      if (s[i] === '"') {
        i++;
        value = '';
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i++];
        }
        if (s[i] !== '"') throw errInvalid(`WWW-Authenticate ${JSON.stringify(s)}: unterminated quoted string`);
        i++;
      } else {
        const t = token();
        value = t ?? '';
      }
      current.params[name.toLowerCase()] = value;
    } else {
      if (i === start) break;
      current = { scheme: name.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}
