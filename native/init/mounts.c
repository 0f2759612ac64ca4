/* mounts.c: the plan's actions: in-root path resolution, mounts, devices, pivot, masks. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PROPAGATION (MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)

static int rootfd = -1;
static int pivoted;

enum { MK_NONE, MK_DIR, MK_FILE };

static void xclose(int *fd)
{
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}
#define AUTOFD __attribute__((cleanup(xclose))) int

static const char *fdpath(int fd, char *buf, size_t n)
{
  snprintf(buf, n, "/proc/self/fd/%d", fd);
  return buf;
}

/* Every in-root lookup goes through openat2 so `..` and absolute symlinks stay inside the
 * root and magic links (/proc/self/fd/N, /proc/self/root) are refused: mount targets can
 * never be redirected to the host (CVE-2019-19921, CVE-2021-30465 class). */
static int open_in(int dirfd, const char *path, int flags, unsigned long long resolve)
{
  struct open_how how = { .flags = (unsigned long long)(flags | O_CLOEXEC), .resolve = resolve };
  while (*path == '/')
    path++;
  if (!*path)
    path = ".";
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

#define IN_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

int root_open(struct ctx *c, struct berr *e)
{
  const char *r = pivoted || !c->plan->root ? "/" : c->plan->root;
  xclose(&rootfd);
  rootfd = open(r, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return fail_sys(e, "root", r);
  return 0;
}

/* Resolve `path` in the root and open it with `flags`; with `mk`, missing components are
 * created one at a time, each resolved again from the root, so a symlink raced into place
 * is still confined. `mode` applies to a created last directory. */
static int in_root(const char *step, const char *path, int mk, mode_t mode, int flags, int *out, struct berr *e)
{
  int fd = open_in(rootfd, path, flags, IN_ROOT);
  if (fd >= 0 || errno != ENOENT || mk == MK_NONE) {
    if (fd < 0)
      return fail_sys(e, step, path);
    *out = fd;
    return 0;
  }
  char prefix[4096] = "";
  size_t plen = 0;
  AUTOFD parent = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
  const char *s = path;
  while (*s) {
    while (*s == '/')
      s++;
    if (!*s)
      break;
    const char *end = strchrnul(s, '/');
    size_t clen = (size_t)(end - s);
    const char *rest = end;
    while (*rest == '/')
      rest++;
    int last = *rest == 0;
    char comp[256];
    if (clen >= sizeof comp || plen + clen + 2 >= sizeof prefix) {
      errno = ENAMETOOLONG;
      return fail_sys(e, step, path);
    }
    memcpy(comp, s, clen);
    comp[clen] = 0;
    prefix[plen++] = '/';
    memcpy(prefix + plen, comp, clen + 1);
    plen += clen;
    s = end;

    int cur = open_in(rootfd, prefix, O_PATH, IN_ROOT);
    if (cur < 0 && errno == ENOENT) {
      if (!strcmp(comp, "..") || !strcmp(comp, ".")) {
        errno = EINVAL;
        return fail_sys(e, step, path);
      }
      int r;
      if (last && mk == MK_FILE) {
        r = openat(parent, comp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (r >= 0)
          close(r);
      } else {
        r = mkdirat(parent, comp, last ? mode : 0755);
      }
      if (r < 0 && errno != EEXIST)
        return fail_sys(e, step, path);
      cur = open_in(rootfd, prefix, O_PATH, IN_ROOT);
      if (cur < 0 && errno == ENOENT)
        return fail_msg(e, step, path, ENOENT, "%s `%s`: `%s` is a dangling symlink", step, path, prefix);
    }
    if (cur < 0)
      return fail_sys(e, step, path);
    close(parent);
    parent = cur;
  }
  fd = open_in(rootfd, path, flags, IN_ROOT);
  if (fd < 0)
    return fail_sys(e, step, path);
  *out = fd;
  return 0;
}

/* Split an in-root path into its parent (created) and the last component. */
static int in_root_parent(const char *step, const char *path, int *parent, char *base, size_t n, struct berr *e)
{
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  size_t l = strlen(dir);
  while (l > 1 && dir[l - 1] == '/')
    dir[--l] = 0;
  char *slash = strrchr(dir, '/');
  const char *b = slash ? slash + 1 : dir;
  if (!*b || !strcmp(b, ".") || !strcmp(b, "..") || strlen(b) >= n) {
    errno = EINVAL;
    return fail_sys(e, step, path);
  }
  snprintf(base, n, "%s", b);
  if (slash)
    *slash = 0;
  else
    dir[0] = 0;
  return in_root(step, dir[0] ? dir : "/", MK_DIR, 0755, O_PATH | O_DIRECTORY, parent, e);
}

static unsigned long hex(const char *s) { return strtoul(s, NULL, 16); }

static unsigned long locked_flags(int fd)
{
  struct statvfs sv;
  unsigned long f = 0;
  if (fstatvfs(fd, &sv) < 0)
    return 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

/* A bind remount sets exactly the per-mount flags; mount_setattr does the same on the fd,
 * with no /proc needed (these remounts also run after pivot). Atime is left as found
 * unless the plan names an atime flag. */
static int bind_remount(int fd, unsigned long flags, int keep_found)
{
  static const struct { unsigned long ms; uint64_t attr; } map[] = {
    { MS_RDONLY, MOUNT_ATTR_RDONLY }, { MS_NOSUID, MOUNT_ATTR_NOSUID }, { MS_NODEV, MOUNT_ATTR_NODEV },
    { MS_NOEXEC, MOUNT_ATTR_NOEXEC }, { MS_NODIRATIME, MOUNT_ATTR_NODIRATIME },
  };
  struct mount_attr a = { 0 };
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
    if (flags & map[i].ms)
      a.attr_set |= map[i].attr;
    else if (!keep_found || map[i].ms == MS_RDONLY)
      a.attr_clr |= map[i].attr;
  }
  if (!keep_found && (flags & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME))) {
    a.attr_clr |= MOUNT_ATTR__ATIME;
    a.attr_set |= flags & MS_NOATIME ? MOUNT_ATTR_NOATIME : flags & MS_STRICTATIME ? MOUNT_ATTR_STRICTATIME : MOUNT_ATTR_RELATIME;
  }
  return mount_setattr(fd, "", AT_EMPTY_PATH, &a, sizeof a);
}

/* In a user namespace the kernel refuses a remount that would clear nodev/nosuid/noexec or
 * change atime flags inherited from a more privileged namespace (they are "locked",
 * MNT_LOCK_*). Keep what we found and try again, as the mount is then as close as allowed. */
static int remount(const char *step, const char *dst, unsigned long flags, struct berr *e)
{
  char p[64];
  AUTOFD fd = -1;
  if (in_root(step, dst, MK_NONE, 0, O_PATH, &fd, e))
    return -1;
  if (flags & MS_BIND) {
    if (bind_remount(fd, flags, 0) == 0 || (errno == EPERM && bind_remount(fd, flags, 1) == 0))
      return 0;
    return fail_sys(e, step, dst);
  }
  if (mount(NULL, fdpath(fd, p, sizeof p), NULL, MS_REMOUNT | flags, NULL) == 0)
    return 0;
  if (errno == EPERM) {
    unsigned long found = locked_flags(fd), more = flags | (found & (MS_NOSUID | MS_NODEV | MS_NOEXEC));
    if (!(flags & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)))
      more |= found & (MS_NOATIME | MS_NODIRATIME | MS_RELATIME);
    if (more != flags && mount(NULL, p, NULL, MS_REMOUNT | more, NULL) == 0)
      return 0;
    errno = EPERM;
  }
  return fail_sys(e, step, dst);
}

/* Through mount_setattr, so no /proc is needed after pivot; it takes one propagation type. */
static int set_propagation(const char *step, const char *dst, unsigned long flags, struct berr *e)
{
  AUTOFD fd = -1;
  struct mount_attr a = { .propagation = flags & PROPAGATION };
  if (in_root(step, dst, MK_NONE, 0, O_PATH, &fd, e))
    return -1;
  if (mount_setattr(fd, "", AT_EMPTY_PATH | (flags & MS_REC ? AT_RECURSIVE : 0), &a, sizeof a) < 0)
    return fail_sys(e, step, dst);
  return 0;
}

static int do_mount(struct action *a, struct berr *e)
{
  const char *src = a->argv[0], *dst = a->argv[1], *type = a->argv[2], *data = a->argv[4];
  unsigned long flags = hex(a->argv[3]);
  char sp[64], dp[64];
  AUTOFD srcfd = -1;
  AUTOFD dstfd = -1;
  if (flags & MS_BIND) {
    /* Pin the source before the target is created, and mount through the fd. */
    srcfd = open(src, O_PATH | O_CLOEXEC);
    if (srcfd < 0)
      return fail_sys(e, "mount", src);
    src = fdpath(srcfd, sp, sizeof sp);
  }
  if (in_root("mount", dst, strcmp(a->argv[5], "file") ? MK_DIR : MK_FILE, 0755, O_PATH, &dstfd, e))
    return -1;
  /* mount(2) handles propagation flags before anything else and would ignore the rest. */
  if (mount(*src ? src : NULL, fdpath(dstfd, dp, sizeof dp), *type ? type : NULL, flags & ~PROPAGATION,
            *data ? data : NULL) < 0)
    return fail_sys(e, "mount", dst);
  if (flags & PROPAGATION)
    return set_propagation("mount", dst, flags & (PROPAGATION | MS_REC), e);
  return 0;
}

static int do_mknod(struct action *a, struct berr *e)
{
  const char *path = a->argv[0];
  char base[256];
  AUTOFD parent = -1;
  mode_t type = a->argv[1][0] == 'c' ? S_IFCHR : a->argv[1][0] == 'b' ? S_IFBLK : S_IFIFO;
  unsigned long maj = strtoul(a->argv[2], NULL, 10), min = strtoul(a->argv[3], NULL, 10);
  mode_t mode = (mode_t)strtoul(a->argv[4], NULL, 10);
  if (in_root_parent("mknod", path, &parent, base, sizeof base, e))
    return -1;
  if (unlinkat(parent, base, 0) < 0 && errno != ENOENT)
    return fail_sys(e, "mknod", path);
  if (mknodat(parent, base, type | mode, makedev(maj, min)) < 0)
    return fail_sys(e, "mknod", path);
  if (fchownat(parent, base, (uid_t)strtol(a->argv[5], NULL, 10), (gid_t)strtol(a->argv[6], NULL, 10),
               AT_SYMLINK_NOFOLLOW) < 0)
    return fail_sys(e, "mknod", path);
  return 0;
}

static int do_symlink(struct action *a, struct berr *e)
{
  char base[256];
  AUTOFD parent = -1;
  if (in_root_parent("symlink", a->argv[1], &parent, base, sizeof base, e))
    return -1;
  if (symlinkat(a->argv[0], parent, base) < 0 && errno != EEXIST)
    return fail_sys(e, "symlink", a->argv[1]);
  return 0;
}

static int do_bind_dev(struct action *a, struct berr *e)
{
  char sp[64], dp[64];
  AUTOFD src = open(a->argv[0], O_PATH | O_CLOEXEC);
  AUTOFD dst = -1;
  if (src < 0)
    return fail_sys(e, "bind-dev", a->argv[0]);
  if (in_root("bind-dev", a->argv[1], MK_FILE, 0, O_PATH, &dst, e))
    return -1;
  if (mount(fdpath(src, sp, sizeof sp), fdpath(dst, dp, sizeof dp), NULL, MS_BIND, NULL) < 0)
    return fail_sys(e, "bind-dev", a->argv[1]);
  return 0;
}

static int do_pivot(struct ctx *c, struct berr *e)
{
  const char *root = c->plan->root;
  if (fchdir(rootfd) < 0)
    return fail_sys(e, "pivot", root);
  if (c->plan->no_pivot) {
    if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
      return fail_sys(e, "pivot", root);
  } else {
    /* pivot_root(".", ".") stacks the old root on the new one; no put_old dir is needed. */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
      return fail_sys(e, "pivot", root);
    /* Make the old root a slave first so detaching it cannot propagate an unmount to the
     * host when the plan left `/` shared. */
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
      return fail_sys(e, "pivot", root);
    if (umount2(".", MNT_DETACH) < 0)
      return fail_sys(e, "pivot", root);
  }
  if (chdir("/") < 0)
    return fail_sys(e, "pivot", "/");
  pivoted = 1;
  return root_open(c, e);
}

/* After pivot there may be no /proc to reach /proc/self/fd, so masks use the fd-based
 * mount API (open_tree/fsmount/move_mount), which needs no path at all. */
static int do_mask(struct action *a, struct berr *e)
{
  const char *path = a->argv[0];
  AUTOFD fd = -1;
  AUTOFD src = -1;
  struct stat st;
  if (in_root("mask", path, MK_NONE, 0, O_PATH, &fd, e)) {
    if (e->errnum == ENOENT)
      return 0;
    return -1;
  }
  if (fstat(fd, &st) < 0)
    return fail_sys(e, "mask", path);
  if (S_ISDIR(st.st_mode)) {
    AUTOFD fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
    if (fs < 0 || fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
      return fail_sys(e, "mask", path);
    src = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
  } else {
    /* CVE-2025-31133: /dev/null in the root could be swapped for a link to a procfs file,
     * turning the mask into a writable bind of that file. Use it only if it really is 1:3. */
    struct stat ns;
    AUTOFD null = open_in(rootfd, "/dev/null", O_PATH, IN_ROOT | RESOLVE_NO_SYMLINKS);
    if (null < 0)
      return fail_sys(e, "mask", "/dev/null");
    if (fstat(null, &ns) < 0 || !S_ISCHR(ns.st_mode) || ns.st_rdev != makedev(1, 3))
      return fail_msg(e, "mask", "/dev/null", EINVAL, "mask `%s`: /dev/null is not the null device", path);
    src = open_tree(null, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  }
  if (src < 0 || move_mount(src, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return fail_sys(e, "mask", path);
  return 0;
}

/* A recursive clone of the path with only RDONLY set: nosuid/nodev/noexec stay as found,
 * and locked flags are never touched, so this works in user namespaces too. */
static int do_readonly(struct action *a, struct berr *e)
{
  const char *path = a->argv[0];
  AUTOFD fd = -1;
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
  if (in_root("readonly", path, MK_NONE, 0, O_PATH, &fd, e)) {
    if (e->errnum == ENOENT)
      return 0;
    return -1;
  }
  AUTOFD tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
  if (tree < 0 || mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0 ||
      move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return fail_sys(e, "readonly", path);
  return 0;
}

static int do_sysctl(struct action *a, struct berr *e)
{
  char path[4200];
  snprintf(path, sizeof path, "/proc/sys/%s", a->argv[0]);
  AUTOFD fd = -1;
  if (in_root("sysctl", path, MK_NONE, 0, O_WRONLY, &fd, e))
    return -1;
  size_t n = strlen(a->argv[1]);
  if (write(fd, a->argv[1], n) != (ssize_t)n)
    return fail_sys(e, "sysctl", path);
  return 0;
}

static int run_one(struct ctx *c, struct action *a, struct berr *e)
{
  AUTOFD fd = -1;
  struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
  switch (a->op) {
  case A_PROPAGATION:
    if (mount(NULL, a->argv[0], NULL, hex(a->argv[1]), NULL) < 0)
      return fail_sys(e, a->name, a->argv[0]);
    return 0;
  case A_BIND_ROOT:
    if (mount(c->plan->root, c->plan->root, NULL, MS_BIND | MS_REC, NULL) < 0)
      return fail_sys(e, a->name, c->plan->root);
    /* The old fd still names the directory under the new mount; reopen to land on top. */
    return root_open(c, e);
  case A_MOUNT:
    return do_mount(a, e);
  case A_REMOUNT:
    return remount(a->name, a->argv[0], hex(a->argv[1]), e);
  case A_MOUNT_PROPAGATION:
    return set_propagation(a->name, a->argv[0], hex(a->argv[1]), e);
  case A_MKDIR:
    return in_root(a->name, a->argv[0], MK_DIR, (mode_t)strtoul(a->argv[1], NULL, 10), O_PATH, &fd, e);
  case A_SYMLINK:
    return do_symlink(a, e);
  case A_MKNOD:
    return do_mknod(a, e);
  case A_BIND_DEV:
    return do_bind_dev(a, e);
  case A_PIVOT:
    return do_pivot(c, e);
  case A_MASK:
    return do_mask(a, e);
  case A_READONLY:
    return do_readonly(a, e);
  case A_SYSCTL:
    return do_sysctl(a, e);
  case A_HOOK:
    msg_hook(a->argv[0]);
    return msg_wait_line(e);
  case A_ROOT_READONLY:
    if (mount_setattr(rootfd, "", AT_EMPTY_PATH, &ro, sizeof ro) < 0)
      return fail_sys(e, a->name, "/");
    return 0;
  }
  return fail_msg(e, "plan", NULL, EINVAL, "unknown action");
}

int run_actions(struct ctx *c, struct berr *e)
{
  int mounts_done = 0;
  if (root_open(c, e))
    return -1;
  for (int i = 0; i < c->plan->nactions; i++) {
    struct action *a = &c->plan->actions[i];
    if (a->op == A_PIVOT) {
      msg_phase("mounts");
      mounts_done = 1;
    }
    if (run_one(c, a, e))
      return -1;
    if (a->op == A_PIVOT)
      msg_phase("pivot");
  }
  /* After pivot: masked and read-only paths, sysctls. */
  msg_phase(mounts_done ? "paths" : "mounts");
  return 0;
}

/* The cwd is resolved only now, inside the final root (CVE-2024-21626: a cwd reached
 * through a leaked host fd let the container escape). */
int root_chdir(const char *cwd, struct berr *e)
{
  AUTOFD fd = -1;
  if (in_root("cwd", cwd, MK_NONE, 0, O_PATH | O_DIRECTORY, &fd, e))
    return -1;
  if (fchdir(fd) < 0)
    return fail_sys(e, "cwd", cwd);
  return 0;
}
