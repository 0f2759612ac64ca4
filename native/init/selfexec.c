/* selfexec.c: run from a sealed memfd copy of ourselves, never from the host binary. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

/* CVE-2019-5736: a container process that can open /proc/PID/exe of a runtime process
 * (joining via exec, or before execve) could write to the host binary. A sealed memfd
 * cannot be written, grown or shrunk by anyone, so /proc/PID/exe leads nowhere useful. */
#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
#define MARKER "_BERTH_INIT_SEALED"

static int is_sealed(void)
{
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  int seals = fcntl(fd, F_GET_SEALS);
  close(fd);
  return seals >= 0 && (seals & SEALS) == SEALS;
}

int selfexec_ensure_sealed(char **argv, struct berr *e)
{
  extern char **environ;
  if (is_sealed()) {
    unsetenv(MARKER);
    return 0;
  }
  /* The marker stops a loop if the kernel ever hides the seals from us after re-exec. */
  if (getenv(MARKER))
    return fail_msg(e, "selfexec", "/proc/self/exe", 0, "selfexec `/proc/self/exe`: not sealed after re-exec");

  int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (src < 0)
    return fail_sys(e, "selfexec", "/proc/self/exe");
  struct stat st;
  if (fstat(src, &st) < 0) {
    close(src);
    return fail_sys(e, "selfexec", "/proc/self/exe");
  }
  int mfd = memfd_create("berth-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0) {
    close(src);
    return fail_sys(e, "selfexec", "memfd");
  }
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = sendfile(mfd, src, NULL, (size_t)left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (n == 0)
        errno = EIO;
      close(src);
      close(mfd);
      return fail_sys(e, "selfexec", "/proc/self/exe");
    }
    left -= n;
  }
  close(src);
  if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0) {
    close(mfd);
    return fail_sys(e, "selfexec", "memfd");
  }
  setenv(MARKER, "1", 1);
  /* fexecve of a CLOEXEC fd is fine for an ELF binary (only scripts need the fd after exec). */
  fexecve(mfd, argv, environ);
  int err = errno;
  close(mfd);
  unsetenv(MARKER);
  errno = err;
  return fail_sys(e, "selfexec", "memfd");
}
