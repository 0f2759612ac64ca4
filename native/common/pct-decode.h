/* pct-decode.h: the percent-decoding of Berth's line formats (the plan, berth-helper's requests),
 * shared by berth-init and berth-helper. */
#ifndef BERTH_PCT_DECODE_H
#define BERTH_PCT_DECODE_H

static inline int pct_hexval(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Decode a token in place; a lone `%` is the empty string. A NUL byte cannot be passed to any
 * syscall, so %00 is refused (-1). */
static inline int pct_decode(char *t)
{
  char *o = t;
  if (t[0] == '%' && t[1] == 0) {
    t[0] = 0;
    return 0;
  }
  for (char *s = t; *s; s++) {
    if (*s != '%') {
      *o++ = *s;
      continue;
    }
    int h = pct_hexval(s[1]), l = h < 0 ? -1 : pct_hexval(s[2]);
    if (h < 0 || l < 0 || (h == 0 && l == 0))
      return -1;
    *o++ = (char)(h * 16 + l);
    s += 2;
  }
  *o = 0;
  return 0;
}
#endif
