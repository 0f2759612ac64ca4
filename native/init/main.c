/* berth-init: executes one init plan (docs/plan.md). Usage: berth-init [--detach] PLAN-FILE */
#include "init.h"
#include "version.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int sync_fd_from_env(void)
{
  const char *s = getenv("_BERTH_SYNC_FD");
  char *end;
  if (!s || !*s)
    return -1;
  long fd = strtol(s, &end, 10);
  if (*end || fd < 0 || fd > 1 << 20 || fcntl((int)fd, F_GETFD) < 0)
    return -1;
  return (int)fd;
}

/* Above every preserved fd, so the container's fds 3..3+N-1 are exactly what was passed. */
static int move_sync_fd(int fd, int preserve, struct berr *e)
{
  int floor = 3 + preserve;
  if (fd < 0)
    return 0;
  if (fd >= floor)
    return fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ? fail_sys(e, "bootstrap", "sync fd") : 0;
  int nfd = fcntl(fd, F_DUPFD_CLOEXEC, floor);
  if (nfd < 0)
    return fail_sys(e, "bootstrap", "sync fd");
  if (fd > 2)
    close(fd);
  msg_set_fd(nfd);
  return 0;
}

int main(int argc, char **argv)
{
  static struct plan plan;
  static struct ctx c;
  struct berr e = { 0 };
  char *buf;
  size_t len;
  int i = 1;

  /* runc's --version shape, with the libseccomp it runs with (linked statically when it could be). */
  if (argc == 2 && !strcmp(argv[1], "--version")) {
    const struct scmp_version *v = seccomp_version();
    printf("berth-init version %s\ncommit: %s\nlibseccomp: %u.%u.%u\n", BERTH_VERSION, BERTH_GIT_COMMIT, v->major, v->minor, v->micro);
    return 0;
  }
  msg_set_fd(sync_fd_from_env());
  if (i < argc && !strcmp(argv[i], "--detach")) {
    c.detach = 1;
    i++;
  }
  if (argc - i != 1) {
    fail_msg(&e, "usage", NULL, EINVAL, "usage: berth-init [--detach] PLAN-FILE");
    goto fail;
  }
  if (selfexec_ensure_sealed(argv, &e))
    goto fail;
  /* Until execve nobody may ptrace us or open our /proc/PID/fd (our fds are host fds). */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
    fail_sys(&e, "bootstrap", "dumpable");
    goto fail;
  }
  if (plan_read_file(argv[i], &buf, &len, &e) || plan_parse(&plan, buf, len, &e))
    goto fail;
  if (move_sync_fd(msg_fd(), plan.preserve_fds, &e))
    goto fail;
  unsetenv("_BERTH_SYNC_FD");
  msg_phase("bootstrap");
  c.plan = &plan;
  int rc = bootstrap_run(&c, &e);
  if (rc >= 0)
    return rc;
fail:
  msg_error(&e);
  return 1;
}
