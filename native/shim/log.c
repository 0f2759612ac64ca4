/* log.c: the container's log in Docker's json-file format: 16 KiB line cutting, partial
 * lines, rotation by size and count, and counted drops (a failing disk never blocks output). */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int logfd = -1;
static long long logsize;
/* Worst case, every byte escapes to 6; only the pages a long line touches become resident. */
#define EBUF_SIZE (((LOG_LINE_MAX * 6 + 128) + 4095) & ~4095) /* whole pages: see madvise below */
static char ebuf[EBUF_SIZE] __attribute__((aligned(4096)));

int log_open(struct serr *e)
{
  struct stat st;
  if (!S.log_path)
    return 0;
  logfd = open(S.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (logfd < 0)
    return fail_sys(e, "log", S.log_path);
  logsize = fstat(logfd, &st) == 0 ? st.st_size : 0;
  return 0;
}

/* log -> log.1 -> ... -> log.(N-1), the oldest removed; with one file, start it over. */
static void rotate(void)
{
  char from[4200], to[4200];
  int n = S.log_max_files;
  if (n <= 1) {
    if (ftruncate(logfd, 0) == 0)
      logsize = 0;
    return;
  }
  snprintf(to, sizeof to, "%s.%d", S.log_path, n - 1);
  unlink(to);
  for (int i = n - 2; i >= 1; i--) {
    snprintf(from, sizeof from, "%s.%d", S.log_path, i);
    snprintf(to, sizeof to, "%s.%d", S.log_path, i + 1);
    rename(from, to);
  }
  snprintf(to, sizeof to, "%s.1", S.log_path);
  if (rename(S.log_path, to) < 0)
    return; /* keep appending to the file we have rather than lose entries */
  int fd = open(S.log_path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0)
    return;
  close(logfd);
  logfd = fd;
  logsize = 0;
}

static void entry(int kind, const char *p, size_t n)
{
  struct timespec ts;
  char tbuf[48];
  clock_gettime(CLOCK_REALTIME, &ts);
  fmt_time(tbuf, sizeof tbuf, &ts);
  memcpy(ebuf, "{\"log\":\"", 8);
  size_t len = json_str(ebuf, sizeof ebuf - 80, 8, p, n);
  len += (size_t)snprintf(ebuf + len, sizeof ebuf - len, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n",
                          kind == 2 ? "stderr" : "stdout", tbuf);
  if (logfd < 0) {
    S.log_dropped++;
    return;
  }
  if (S.log_max_size > 0 && logsize > 0 && logsize + (long long)len > S.log_max_size)
    rotate();
  ssize_t w;
  do
    w = write(logfd, ebuf, len);
  while (w < 0 && errno == EINTR);
  if (w > 0)
    logsize += w;
  if (w != (ssize_t)len)
    S.log_dropped++;
  /* A rare long, escaped line touched many pages: give them back rather than keep them dirty. */
  if (len > 4 * 4096) {
    size_t end = (len + 4095) & ~(size_t)4095; /* <= EBUF_SIZE: never a page of another variable */
    madvise(ebuf + 4096, end - 4096, MADV_DONTNEED);
  }
}

void log_feed(struct stream *s, const char *p, size_t n)
{
  if (!S.log_path)
    return;
  while (n > 0) {
    if (s->plen > 0) {
      size_t room = LOG_LINE_MAX - s->plen, lim = n < room ? n : room;
      const char *nl = memchr(p, '\n', lim);
      size_t take = nl ? (size_t)(nl - p) + 1 : lim;
      memcpy(s->part + s->plen, p, take);
      s->plen += take;
      p += take;
      n -= take;
      if (nl || s->plen == LOG_LINE_MAX) {
        entry(s->kind, s->part, s->plen);
        s->plen = 0;
      }
      continue;
    }
    const char *nl = memchr(p, '\n', n < LOG_LINE_MAX ? n : LOG_LINE_MAX);
    size_t k = nl ? (size_t)(nl - p) + 1 : n >= LOG_LINE_MAX ? LOG_LINE_MAX : 0;
    if (k) {
      entry(s->kind, p, k);
      p += k;
      n -= k;
      continue;
    }
    /* The start of a line: wait for the rest (or 16 KiB, or the stream's end). */
    if (!s->part && !(s->part = malloc(LOG_LINE_MAX))) {
      entry(s->kind, p, n);
      return;
    }
    memcpy(s->part, p, n);
    s->plen = n;
    return;
  }
}

void log_flush(struct stream *s)
{
  if (s->plen)
    entry(s->kind, s->part, s->plen);
  s->plen = 0;
  free(s->part);
  s->part = NULL;
}
