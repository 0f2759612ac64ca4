/* json.c: just enough JSON: an escaping string writer, and a reader for one flat object
 * (the control requests and berth-init's messages), decoded in place. */
#include "shim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
  unsigned c = p[0];
  size_t need;
  unsigned min;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf) { need = 2; min = 0x80; }
  else if (c >= 0xe0 && c <= 0xef) { need = 3; min = 0x800; }
  else if (c >= 0xf0 && c <= 0xf4) { need = 4; min = 0x10000; }
  else return 0;
  if (avail < need)
    return 0;
  unsigned cp = c & (0x7f >> need);
  for (size_t i = 1; i < need; i++) {
    if ((p[i] & 0xc0) != 0x80)
      return 0;
    cp = cp << 6 | (p[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return need;
}

/* Escape as Go's encoding/json does (Docker's log lines are read by Go and by browsers):
 * control bytes, quote, backslash, and <>& as \u00XX; invalid UTF-8 becomes U+FFFD.
 * Stops early rather than overflow; callers size `cap` at 6 bytes per input byte. */
size_t json_str(char *out, size_t cap, size_t n, const char *s, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < len && n + 7 < cap;) {
    unsigned char c = p[i];
    size_t k = utf8_len(p + i, len - i);
    if (k == 0) {
      memcpy(out + n, "\\ufffd", 6);
      n += 6;
      i++;
    } else if (k > 1) {
      memcpy(out + n, p + i, k);
      n += k;
      i += k;
    } else {
      if (c == '"' || c == '\\') {
        out[n++] = '\\';
        out[n++] = (char)c;
      } else if (c == '\n') {
        out[n++] = '\\'; out[n++] = 'n';
      } else if (c == '\r') {
        out[n++] = '\\'; out[n++] = 'r';
      } else if (c == '\t') {
        out[n++] = '\\'; out[n++] = 't';
      } else if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f) {
        memcpy(out + n, "\\u00", 4);
        out[n + 4] = hex[c >> 4];
        out[n + 5] = hex[c & 15];
        n += 6;
      } else {
        out[n++] = (char)c;
      }
      i++;
    }
  }
  return n;
}

static char *skip_ws(char *p)
{
  while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
    p++;
  return p;
}

static int hexval(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int hex4(const char *p, unsigned *out)
{
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(p[i]);
    if (h < 0)
      return -1;
    v = v << 4 | (unsigned)h;
  }
  *out = v;
  return 0;
}

/* Decode the string starting after its opening quote; the result is written over the input
 * (never longer than it) and NUL-terminated. Returns the byte after the closing quote. */
static char *parse_string(char *p, const char **out)
{
  char *w = p;
  *out = w;
  for (;;) {
    unsigned char c = (unsigned char)*p++;
    if (c == '"')
      break;
    if (c == 0 || c < 0x20)
      return NULL;
    if (c != '\\') {
      *w++ = (char)c;
      continue;
    }
    c = (unsigned char)*p++;
    unsigned cp;
    switch (c) {
    case '"': case '\\': case '/': *w++ = (char)c; continue;
    case 'b': *w++ = '\b'; continue;
    case 'f': *w++ = '\f'; continue;
    case 'n': *w++ = '\n'; continue;
    case 'r': *w++ = '\r'; continue;
    case 't': *w++ = '\t'; continue;
    case 'u':
      if (hex4(p, &cp) < 0)
        return NULL;
      p += 4;
      if (cp >= 0xd800 && cp <= 0xdbff && p[0] == '\\' && p[1] == 'u') {
        unsigned lo;
        if (hex4(p + 2, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          p += 6;
        }
      }
      if (cp == 0)
        return NULL; /* a NUL would cut the C string short */
      if (cp < 0x80) {
        *w++ = (char)cp;
      } else if (cp < 0x800) {
        *w++ = (char)(0xc0 | cp >> 6);
        *w++ = (char)(0x80 | (cp & 0x3f));
      } else if (cp < 0x10000) {
        *w++ = (char)(0xe0 | cp >> 12);
        *w++ = (char)(0x80 | (cp >> 6 & 0x3f));
        *w++ = (char)(0x80 | (cp & 0x3f));
      } else {
        *w++ = (char)(0xf0 | cp >> 18);
        *w++ = (char)(0x80 | (cp >> 12 & 0x3f));
        *w++ = (char)(0x80 | (cp >> 6 & 0x3f));
        *w++ = (char)(0x80 | (cp & 0x3f));
      }
      continue;
    default:
      return NULL;
    }
  }
  /* The closing quote was at p - 1 >= w, so the terminator fits. */
  *w = 0;
  return p;
}

int json_parse_flat(char *line, struct jval *v, int max)
{
  int n = 0;
  char *p = skip_ws(line);
  if (*p++ != '{')
    return -1;
  p = skip_ws(p);
  if (*p == '}')
    return 0;
  for (;;) {
    struct jval *x = n < max ? &v[n] : NULL;
    const char *key, *s = NULL;
    if (*p++ != '"' || !(p = parse_string(p, &key)))
      return -1;
    p = skip_ws(p);
    if (*p++ != ':')
      return -1;
    p = skip_ws(p);
    char type;
    long long num = 0;
    if (*p == '"') {
      type = 's';
      if (!(p = parse_string(p + 1, &s)))
        return -1;
    } else if (!strncmp(p, "true", 4) || !strncmp(p, "false", 5)) {
      type = 'b';
      num = *p == 't';
      p += num ? 4 : 5;
    } else if (!strncmp(p, "null", 4)) {
      type = 'z';
      p += 4;
    } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
      char *end;
      errno = 0;
      double d = strtod(p, &end);
      if (end == p || errno)
        return -1;
      type = 'n';
      num = (long long)d;
      p = end;
    } else {
      return -1; /* nested values are not part of this protocol */
    }
    if (x) {
      x->key = key;
      x->type = type;
      x->s = s;
      x->num = num;
      n++;
    }
    p = skip_ws(p);
    if (*p == '}')
      break;
    if (*p++ != ',')
      return -1;
    p = skip_ws(p);
  }
  return n;
}

static const struct jval *find(const struct jval *v, int n, const char *key)
{
  for (int i = n - 1; i >= 0; i--)
    if (!strcmp(v[i].key, key))
      return &v[i];
  return NULL;
}

const char *json_get_str(const struct jval *v, int n, const char *key)
{
  const struct jval *x = find(v, n, key);
  return x && x->type == 's' ? x->s : NULL;
}

int json_get_num(const struct jval *v, int n, const char *key, long long *out)
{
  const struct jval *x = find(v, n, key);
  if (!x || x->type != 'n')
    return 0;
  *out = x->num;
  return 1;
}

int json_get_bool(const struct jval *v, int n, const char *key, int dflt)
{
  const struct jval *x = find(v, n, key);
  return x && x->type == 'b' ? (int)x->num : dflt;
}
