/* berth-helper: berthd's hands for the few syscalls Node has no binding for (mount(2),
 * umount2(2), a cgroup.procs write that must not block a JS thread) and for starting shims, so
 * that a container start costs no fork of the daemon (whose page tables make a fork cost
 * milliseconds) and no util-linux mount(8) per call.
 *
 * One helper per daemon, its child, in its mount namespace. Requests on stdin, one line each;
 * every request runs on its own thread, so a slow one (an unmount waiting for an RCU grace
 * period) holds up no other, and the replies come on stdout in the order they finish:
 *
 *   ID mount SOURCE TARGET FSTYPE FLAGS DATA CWD   mount(2); FLAGS hex; CWD: run it from there
 *                                                  (overlayfs resolves relative layer paths
 *                                                  against the caller's cwd)
 *   ID umount TARGET FLAGS                         umount2(2); FLAGS hex
 *   ID prime PROCS-FILE                            write our own pid to a cgroup.procs file
 *   ID spawn PATH ARG...                           run PATH (argv[0] = PATH) in a new session, stdin
 *                                                  /dev/null, stdout and stderr one pipe; wait for it
 *                                                  and for the pipe's end (a daemonizing shim keeps it
 *                                                  until its report is written)
 *   ID spawn-sealed FILE PATH ARG...               the same, with fd 3 a sealed memfd copy of FILE,
 *                                                  made once and kept while FILE is unchanged (berth-
 *                                                  init: it would copy itself into one at every start)
 *
 *   reply: ID 0 [RESULT]   or   ID ERRNO MESSAGE
 *   (spawn's RESULT: `WAIT-STATUS OUTPUT`, the raw waitpid status and what the pipe carried, at most 64 KiB)
 *
 * Tokens are percent-encoded as in the init plan (docs/plan.md): bytes <= 0x20, >= 0x7f and `%`
 * as %XX, the empty string as a lone `%` (NULL for mount's SOURCE, FSTYPE and DATA). The helper
 * exits when stdin closes, that is when the daemon is gone. */
#include "../common/pct-decode.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TOKENS 96
#define OUTPUT_MAX (64 * 1024)
#define LINE_MAX_LEN (64 * 1024)

struct req {
  int ntok;
  char *tok[MAX_TOKENS + 1]; /* NULL after the last, so spawn can pass tok + 2 as argv */
  char line[];
};

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;


static void write_all(const char *b, size_t n)
{
  while (n > 0) {
    ssize_t w = write(1, b, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      exit(0); /* the daemon is gone */
    b += w;
    n -= (size_t)w;
  }
}

/* Percent-encode `n` bytes of `s` into `b` (room for 3 bytes per input byte, or an empty `%`). */
static size_t encode(char *b, const char *s, size_t n)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  if (n == 0) {
    b[o++] = '%';
    return o;
  }
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c >= 0x7f || c == '%') {
      b[o++] = '%';
      b[o++] = hex[c >> 4];
      b[o++] = hex[c & 15];
    } else {
      b[o++] = (char)c;
    }
  }
  return o;
}

static void write_line(const char *b, size_t n)
{
  pthread_mutex_lock(&out_lock);
  write_all(b, n);
  pthread_mutex_unlock(&out_lock);
}

/* `ID 0` (with `result` appended raw), or `ID ERRNO MESSAGE`. */
static void reply(const char *id, int err, const char *msg, const char *result)
{
  char b[8192];
  int n = err ? snprintf(b, sizeof b, "%s %d ", id, err) : snprintf(b, sizeof b, "%s 0%s%s", id, result ? " " : "", result ? result : "");
  if (n < 0 || n >= (int)sizeof b - 8)
    n = snprintf(b, sizeof b, "%s %d reply%%20too%%20long", id, E2BIG);
  else if (err)
    n += (int)encode(b + n, msg, strnlen(msg, (sizeof b - (size_t)n - 8) / 3));
  b[n++] = '\n';
  write_line(b, (size_t)n);
}

static int parse_hex(const char *s, unsigned long *v)
{
  char *end;
  if (strncmp(s, "0x", 2))
    return -1;
  errno = 0;
  *v = strtoul(s + 2, &end, 16);
  return errno || end == s + 2 || *end ? -1 : 0;
}

static int do_mount(struct req *r, char *msg, size_t n)
{
  unsigned long flags;
  if (r->ntok != 8 || parse_hex(r->tok[5], &flags))
    return snprintf(msg, n, "mount: SOURCE TARGET FSTYPE FLAGS DATA CWD expected"), EINVAL;
  const char *src = r->tok[2], *target = r->tok[3], *type = r->tok[4], *data = r->tok[6], *cwd = r->tok[7];
  /* A private cwd for this thread only: the others keep theirs. */
  if (*cwd && (unshare(CLONE_FS) < 0 || chdir(cwd) < 0))
    return snprintf(msg, n, "chdir `%s`: %s", cwd, strerror(errno)), errno;
  if (mount(*src ? src : NULL, target, *type ? type : NULL, flags, *data ? data : NULL) < 0)
    return snprintf(msg, n, "mount `%s`: %s", target, strerror(errno)), errno;
  return 0;
}

static int do_umount(struct req *r, char *msg, size_t n)
{
  unsigned long flags;
  if (r->ntok != 4 || parse_hex(r->tok[3], &flags))
    return snprintf(msg, n, "umount: TARGET FLAGS expected"), EINVAL;
  if (umount2(r->tok[2], (int)flags) < 0)
    return snprintf(msg, n, "umount `%s`: %s", r->tok[2], strerror(errno)), errno;
  return 0;
}

static int do_prime(struct req *r, char *msg, size_t n)
{
  if (r->ntok != 3)
    return snprintf(msg, n, "prime: PROCS-FILE expected"), EINVAL;
  int fd = open(r->tok[2], O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, "0", 1) != 1) {
    int err = errno;
    if (fd >= 0)
      close(fd);
    return snprintf(msg, n, "prime `%s`: %s", r->tok[2], strerror(err)), err;
  }
  close(fd);
  return 0;
}

/* The sealed copy of one file for spawn-sealed, and what the file was when it was made. */
static struct {
  pthread_mutex_t lock;
  int fd;
  char path[4096];
  struct stat st;
} sealed = { PTHREAD_MUTEX_INITIALIZER, -1, "", { 0 } };

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* A descriptor of a sealed memfd holding `path` (the cached copy while the file has not changed;
 * a dup, so another thread replacing the copy cannot close it under the caller), or -errno. */
static int sealed_copy(const char *path)
{
  struct stat st;
  int rc;
  pthread_mutex_lock(&sealed.lock);
  int src = open(path, O_RDONLY | O_CLOEXEC);
  if (src < 0 || fstat(src, &st) < 0) {
    rc = -errno;
    goto out;
  }
  if (sealed.fd >= 0 && !strcmp(sealed.path, path) && st.st_dev == sealed.st.st_dev && st.st_ino == sealed.st.st_ino &&
      st.st_size == sealed.st.st_size && st.st_mtim.tv_sec == sealed.st.st_mtim.tv_sec &&
      st.st_mtim.tv_nsec == sealed.st.st_mtim.tv_nsec) {
    if ((rc = fcntl(sealed.fd, F_DUPFD_CLOEXEC, 0)) < 0)
      rc = -errno;
    goto out;
  }
  int mfd = memfd_create("berth-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0) {
    rc = -errno;
    goto out;
  }
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = sendfile(mfd, src, NULL, (size_t)left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    left -= n;
  }
  if (left != 0 || fcntl(mfd, F_ADD_SEALS, SEALS) < 0) {
    rc = left != 0 ? -EIO : -errno;
    close(mfd);
    goto out;
  }
  if (sealed.fd >= 0)
    close(sealed.fd); /* shims started from the old copy keep their own descriptor of it */
  sealed.fd = mfd;
  sealed.st = st;
  snprintf(sealed.path, sizeof sealed.path, "%s", path);
  if ((rc = fcntl(mfd, F_DUPFD_CLOEXEC, 0)) < 0)
    rc = -errno;
out:
  if (src >= 0)
    close(src);
  pthread_mutex_unlock(&sealed.lock);
  return rc;
}

/* Only async-signal-safe calls between fork and exec: the helper has other threads. */
static void spawn_child(char **argv, int out, int fd3)
{
  static const char fail[] = "berth-helper: exec failed, errno ";
  char num[16];
  int len = 0, err;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  setsid();
  int null = open("/dev/null", O_RDWR);
  if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
    _exit(127);
  /* fd 3 for the program, not close-on-exec (a dup2 onto itself would keep the flag). */
  if (fd3 >= 0 && (fd3 == 3 ? fcntl(3, F_SETFD, 0) : dup2(fd3, 3)) < 0)
    _exit(127);
  execv(argv[0], argv);
  err = errno;
  do
    num[sizeof num - 1 - len++] = (char)('0' + err % 10);
  while ((err /= 10) && len < (int)sizeof num - 1);
  if (write(2, fail, sizeof fail - 1) < 0 || write(2, num + sizeof num - len, (size_t)len) < 0)
    _exit(127);
  _exit(127);
}

static void do_spawn(struct req *r, int with_sealed)
{
  const char *id = r->tok[0];
  int p[2], status = 0, fd3 = -1, argi = with_sealed ? 3 : 2;
  if (r->ntok < argi + 1) {
    reply(id, EINVAL, with_sealed ? "spawn-sealed: FILE PATH expected" : "spawn: PATH expected", NULL);
    return;
  }
  if (with_sealed && (fd3 = sealed_copy(r->tok[2])) < 0) {
    char m[4200];
    snprintf(m, sizeof m, "sealed copy of `%s`: %s", r->tok[2], strerror(-fd3));
    reply(id, -fd3, m, NULL);
    return;
  }
  if (pipe2(p, O_CLOEXEC) < 0) {
    int err = errno;
    if (fd3 >= 0)
      close(fd3);
    reply(id, err, "spawn: pipe", NULL);
    return;
  }
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(p[0]);
    close(p[1]);
    if (fd3 >= 0)
      close(fd3);
    reply(id, err, "spawn: fork", NULL);
    return;
  }
  if (pid == 0)
    spawn_child(r->tok + argi, p[1], fd3);
  if (fd3 >= 0)
    close(fd3);
  close(p[1]);
  char *out = malloc(OUTPUT_MAX);
  size_t n = 0;
  for (;;) {
    char scratch[4096];
    int full = n == OUTPUT_MAX;
    ssize_t k = read(p[0], full ? scratch : out + n, full ? sizeof scratch : OUTPUT_MAX - n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      break;
    if (!full)
      n += (size_t)k;
  }
  close(p[0]);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  /* ID 0 STATUS OUTPUT */
  char *b = malloc(64 + 3 * n + 2);
  int h = snprintf(b, 64, "%s 0 %d ", id, status);
  size_t len = (size_t)h + encode(b + h, out, n);
  b[len++] = '\n';
  write_line(b, len);
  free(b);
  free(out);
}

static void *run(void *arg)
{
  struct req *r = arg;
  char msg[1024] = "";
  int err;
  if (r->ntok < 2)
    err = EINVAL, snprintf(msg, sizeof msg, "request: ID OP expected");
  else if (!strcmp(r->tok[1], "mount"))
    err = do_mount(r, msg, sizeof msg);
  else if (!strcmp(r->tok[1], "umount"))
    err = do_umount(r, msg, sizeof msg);
  else if (!strcmp(r->tok[1], "prime"))
    err = do_prime(r, msg, sizeof msg);
  else if (!strcmp(r->tok[1], "spawn") || !strcmp(r->tok[1], "spawn-sealed")) {
    do_spawn(r, r->tok[1][5] == '-');
    free(r);
    return NULL;
  }
  else
    err = EINVAL, snprintf(msg, sizeof msg, "unknown op `%s`", r->tok[1]);
  reply(r->ntok > 0 ? r->tok[0] : "0", err, msg, NULL);
  free(r);
  return NULL;
}

static void dispatch(const char *line, size_t len)
{
  struct req *r = calloc(1, sizeof *r + len + 1);
  if (!r)
    exit(1);
  memcpy(r->line, line, len);
  for (char *save = NULL, *t = strtok_r(r->line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
    if (r->ntok == MAX_TOKENS || pct_decode(t) < 0) {
      reply(r->ntok > 0 ? r->tok[0] : "0", EINVAL, "request: bad token", NULL);
      free(r);
      return;
    }
    r->tok[r->ntok++] = t;
  }
  pthread_t th;
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&a, 64 * 1024);
  if (pthread_create(&th, &a, run, r) != 0)
    run(r); /* no thread to spare: do it here */
  pthread_attr_destroy(&a);
}

int main(void)
{
  static char buf[LINE_MAX_LEN];
  size_t n = 0;
  /* A reply to a daemon that is gone must end us, not kill us mid-write of another's line. */
  signal(SIGPIPE, SIG_IGN);
  for (;;) {
    ssize_t r = read(0, buf + n, sizeof buf - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return 0;
    n += (size_t)r;
    char *start = buf, *nl;
    while ((nl = memchr(start, '\n', n - (size_t)(start - buf)))) {
      dispatch(start, (size_t)(nl - start));
      start = nl + 1;
    }
    n -= (size_t)(start - buf);
    memmove(buf, start, n);
    if (n == sizeof buf)
      n = 0; /* a line longer than any request: drop it */
  }
}
