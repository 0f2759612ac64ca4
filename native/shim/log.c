/* log.c: the container's log in Docker's json-file format: 16 KiB line cutting, partial
 * lines, rotation by size and count (rotated files gzipped on request), a sparse time index
 * beside each file, and counted drops (a failing disk never blocks output). */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

static int logfd = -1;
static long long logsize;
/* The index (docs/shim.md "Log index"): PATH.idx, and PATH.N.idx for rotated file N. */
static int idxfd = -1;
static long long idx_last = -1; /* offset of the last record, -1 = none in this file yet */
static pid_t compressor;        /* the child gzipping PATH.1, or 0 */
/* Worst case, every byte escapes to 6; only the pages a long line touches become resident. */
#define EBUF_SIZE (((LOG_LINE_MAX * 6 + 128) + 4095) & ~4095) /* whole pages: see madvise below */
static char ebuf[EBUF_SIZE] __attribute__((aligned(4096)));

static void put64(unsigned char *p, unsigned long long v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

/* A new or emptied index starts with its header: magic, version, record interval. */
static void idx_header(void)
{
  unsigned char h[LOG_IDX_RECORD];
  memcpy(h, LOG_IDX_MAGIC, 8);
  put64(h + 8, (unsigned long long)LOG_IDX_VERSION | (unsigned long long)LOG_IDX_EVERY << 32);
  if (write_all(idxfd, (const char *)h, sizeof h) < 0) {
    close(idxfd);
    idxfd = -1;
  }
}

static void idx_open(const char *path)
{
  struct stat st;
  idx_last = -1;
  idxfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (idxfd < 0)
    return; /* the index only speeds reading up: the log goes on without it */
  if (fstat(idxfd, &st) == 0 && st.st_size == 0)
    idx_header();
}

static void idx_path(char *out, size_t cap, int n)
{
  if (n == 0)
    snprintf(out, cap, "%s.idx", S.log_path);
  else
    snprintf(out, cap, "%s.%d.idx", S.log_path, n);
}

int log_open(struct serr *e)
{
  struct stat st;
  char ip[4200];
  if (!S.log_path)
    return 0;
  logfd = open(S.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (logfd < 0)
    return fail_sys(e, "log", S.log_path);
  logsize = fstat(logfd, &st) == 0 ? st.st_size : 0;
  /* A log that is not a file (a test's /dev/full, a pipe) has no offsets to index. */
  if (S_ISREG(st.st_mode)) {
    idx_path(ip, sizeof ip, 0);
    idx_open(ip);
  }
  return 0;
}

/* In a forked child: PATH.1 -> PATH.1.gz (via a temp file, so a reader never sees half of
 * it), then PATH.1 goes. Readers prefer PATH.1 while both exist, as dockerd's do. */
static void __attribute__((noreturn)) compress_child(void)
{
  char src[4200], tmp[4200], dst[4200], buf[65536];
  snprintf(src, sizeof src, "%s.1", S.log_path);
  snprintf(tmp, sizeof tmp, "%s.1.gz.tmp", S.log_path);
  snprintf(dst, sizeof dst, "%s.1.gz", S.log_path);
  setpriority(PRIO_PROCESS, 0, 10); /* background work: the containers come first */
  int in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    _exit(1);
  gzFile out = gzopen(tmp, "wb6");
  if (!out)
    _exit(1);
  ssize_t r;
  int ok = 1;
  while (ok && (r = read(in, buf, sizeof buf)) != 0) {
    if (r < 0) {
      ok = errno == EINTR;
      continue;
    }
    ok = gzwrite(out, buf, (unsigned)r) == (int)r;
  }
  if (gzclose(out) != Z_OK || !ok || rename(tmp, dst) < 0) {
    unlink(tmp);
    _exit(1);
  }
  unlink(src);
  _exit(0);
}

int log_child_exited(pid_t pid)
{
  if (!compressor || pid != compressor)
    return 0;
  compressor = 0;
  return 1;
}

/* The previous compression must be done before names shift under it (a tiny max-size only). */
static void wait_compressor(void)
{
  if (!compressor)
    return;
  while (waitpid(compressor, NULL, 0) < 0 && errno == EINTR)
    ;
  compressor = 0;
}

/* PATH.from[.gz] and its index become PATH.to[.gz] and its index; a missing one is fine. */
static void shift(int from, int to)
{
  char a[4200], b[4200];
  snprintf(a, sizeof a, "%s.%d", S.log_path, from);
  snprintf(b, sizeof b, "%s.%d", S.log_path, to);
  rename(a, b);
  snprintf(a, sizeof a, "%s.%d.gz", S.log_path, from);
  snprintf(b, sizeof b, "%s.%d.gz", S.log_path, to);
  rename(a, b);
  idx_path(a, sizeof a, from);
  idx_path(b, sizeof b, to);
  rename(a, b);
}

/* log -> log.1 -> ... -> log.(N-1), the oldest removed; with one file, start it over. */
static void rotate(void)
{
  char p[4200];
  int n = S.log_max_files;
  if (n <= 1) {
    if (ftruncate(logfd, 0) == 0)
      logsize = 0;
    if (idxfd >= 0 && ftruncate(idxfd, 0) == 0) {
      idx_last = -1;
      idx_header();
    }
    return;
  }
  wait_compressor();
  snprintf(p, sizeof p, "%s.%d", S.log_path, n - 1);
  unlink(p);
  snprintf(p, sizeof p, "%s.%d.gz", S.log_path, n - 1);
  unlink(p);
  idx_path(p, sizeof p, n - 1);
  unlink(p);
  for (int i = n - 2; i >= 1; i--)
    shift(i, i + 1);
  snprintf(p, sizeof p, "%s.1", S.log_path);
  if (rename(S.log_path, p) < 0)
    return; /* keep appending to the file we have rather than lose entries */
  int fd = open(S.log_path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0)
    return;
  close(logfd);
  logfd = fd;
  logsize = 0;
  if (idxfd >= 0) {
    char a[4200];
    idx_path(a, sizeof a, 0);
    idx_path(p, sizeof p, 1);
    rename(a, p);
    close(idxfd);
    idx_open(a);
  }
  if (S.log_compress) {
    pid_t c = fork();
    if (c == 0)
      compress_child();
    compressor = c > 0 ? c : 0;
  }
}

/* One record every LOG_IDX_EVERY bytes: the entry about to start at `logsize`, and its time. */
static void idx_note(const struct timespec *ts)
{
  unsigned char r[LOG_IDX_RECORD];
  if (idxfd < 0 || (idx_last >= 0 && logsize - idx_last < LOG_IDX_EVERY))
    return;
  put64(r, (unsigned long long)ts->tv_sec * 1000000000ULL + (unsigned long long)ts->tv_nsec);
  put64(r + 8, (unsigned long long)logsize);
  if (write_all(idxfd, (const char *)r, sizeof r) == 0)
    idx_last = logsize;
}

/* Drops are pushed to the lifecycle's `wait` (with "events":true) as they happen, at most once
 * a second, so a full disk shows in events and stats while it lasts, not only at the exit. */
static unsigned long long drops_sent;
static int64_t drops_sent_ms = -1000000;

static void drops_send(struct client *only)
{
  char b[128];
  int n = snprintf(b, sizeof b, "{\"ok\":true,\"event\":\"log-dropped\",\"log_dropped\":%llu}\n", S.log_dropped);
  for (struct client *c = S.clients; c; c = c->next)
    if ((!only || c == only) && !c->dead && c->mode == C_WAIT && c->t == S.ctr && c->events)
      client_send(c, b, (size_t)n);
}

void log_drops_notify(struct client *only)
{
  if (only) {
    if (S.log_dropped > 0)
      drops_send(only);
    return;
  }
  if (S.log_dropped == drops_sent)
    return;
  drops_send(NULL);
  drops_sent = S.log_dropped;
  drops_sent_ms = mono_ms();
}

int log_drops_tick(int64_t now)
{
  if (S.log_dropped == drops_sent)
    return 0;
  if (now - drops_sent_ms >= 1000)
    log_drops_notify(NULL);
  return S.log_dropped != drops_sent;
}

static void dropped(void)
{
  S.log_dropped++;
  if (mono_ms() - drops_sent_ms >= 1000)
    log_drops_notify(NULL);
  else
    tick_need();
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
    dropped();
    return;
  }
  if (S.log_max_size > 0 && logsize > 0 && logsize + (long long)len > S.log_max_size)
    rotate();
  idx_note(&ts);
  ssize_t w;
  do
    w = write(logfd, ebuf, len);
  while (w < 0 && errno == EINTR);
  if (w > 0)
    logsize += w;
  if (w != (ssize_t)len)
    dropped();
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
