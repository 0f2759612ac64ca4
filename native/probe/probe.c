/* berth-probe: a static binary run inside test containers; prints what it sees as JSON. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <stddef.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int first; /* no comma before the next value */

static void jstr(const char *s)
{
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c == '\n')
      fputs("\\n", stdout);
    else if (c < 0x20 || c == 0x7f)
      printf("\\u%04x", c);
    else
      putchar(c);
  }
  putchar('"');
}

static void sep(void)
{
  if (!first)
    putchar(',');
  first = 0;
}
static void key(const char *k) { sep(); jstr(k); putchar(':'); }
static void open_obj(const char *k) { if (k) key(k); else sep(); putchar('{'); first = 1; }
static void open_arr(const char *k) { if (k) key(k); else sep(); putchar('['); first = 1; }
static void close_obj(void) { putchar('}'); first = 0; }
static void close_arr(void) { putchar(']'); first = 0; }
static void kv_str(const char *k, const char *v) { key(k); if (v) jstr(v); else fputs("null", stdout); }
static void kv_num(const char *k, long long v) { key(k); printf("%lld", v); }
static void v_str(const char *v) { sep(); jstr(v); }
static void v_num(long long v) { sep(); printf("%lld", v); }

static char *slurp(const char *path)
{
  static char buf[1 << 20];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  size_t n = 0;
  ssize_t r;
  while (n < sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
    n += (size_t)r;
  close(fd);
  buf[n] = 0;
  return buf;
}

static char *status_field(const char *status, const char *name, char *out, size_t n)
{
  char k[64];
  snprintf(k, sizeof k, "\n%s:", name);
  const char *p = status ? strstr(status, k) : NULL;
  if (!p)
    return NULL;
  p += strlen(k);
  while (*p == ' ' || *p == '\t')
    p++;
  size_t l = strcspn(p, "\n");
  if (l >= n)
    l = n - 1;
  memcpy(out, p, l);
  out[l] = 0;
  return out;
}

static void link_target(const char *path, char *out, size_t n)
{
  ssize_t l = readlink(path, out, n - 1);
  if (l < 0)
    snprintf(out, n, "!%s", strerror(errno));
  else
    out[l] = 0;
}

static void facts(void)
{
  uid_t ru, eu, su;
  gid_t rg, eg, sg, groups[256];
  char b[4096], cwd[4096];
  getresuid(&ru, &eu, &su);
  getresgid(&rg, &eg, &sg);
  int ng = getgroups(256, groups);

  first = 1;
  putchar('{');
  open_arr("uid"); v_num(ru); v_num(eu); v_num(su); close_arr();
  open_arr("gid"); v_num(rg); v_num(eg); v_num(sg); close_arr();
  open_arr("groups");
  for (int i = 0; i < ng; i++)
    v_num(groups[i]);
  close_arr();

  char status[16384];
  char *st = slurp("/proc/self/status");
  snprintf(status, sizeof status, "\n%s", st ? st : "");
  open_obj("caps");
  static const char *capk[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
  for (int i = 0; i < 5; i++)
    kv_str(capk[i], status_field(status, capk[i], b, sizeof b));
  close_obj();
  kv_num("seccomp", status_field(status, "Seccomp", b, sizeof b) ? atoll(b) : -1);
  kv_num("noNewPrivs", status_field(status, "NoNewPrivs", b, sizeof b) ? atoll(b) : -1);

  struct utsname u;
  uname(&u);
  kv_str("hostname", u.nodename);
  kv_str("domainname", u.domainname);
  kv_str("cwd", getcwd(cwd, sizeof cwd) ? cwd : NULL);
  mode_t um = umask(0);
  umask(um);
  snprintf(b, sizeof b, "%04o", um);
  kv_str("umask", b);

  static const char *rl[] = { "CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE",
                              "MEMLOCK", "AS", "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME" };
  open_obj("rlimits");
  for (int i = 0; i < 16; i++) {
    struct rlimit r;
    if (getrlimit((__rlimit_resource_t)i, &r) < 0)
      continue;
    open_arr(rl[i]);
    v_num(r.rlim_cur == RLIM_INFINITY ? -1 : (long long)r.rlim_cur);
    v_num(r.rlim_max == RLIM_INFINITY ? -1 : (long long)r.rlim_max);
    close_arr();
  }
  close_obj();

  open_obj("namespaces");
  static const char *ns[] = { "cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts" };
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
    char p[64];
    snprintf(p, sizeof p, "/proc/self/ns/%s", ns[i]);
    link_target(p, b, sizeof b);
    kv_str(ns[i], b);
  }
  close_obj();
  kv_num("pid", getpid());
  kv_num("ppid", getppid());
  char *oom = slurp("/proc/self/oom_score_adj");
  kv_num("oomScoreAdj", oom ? atoll(oom) : -100000);

  open_arr("cgroup");
  char *cg = slurp("/proc/self/cgroup");
  for (char *l = cg ? strtok(cg, "\n") : NULL; l; l = strtok(NULL, "\n"))
    v_str(l);
  close_arr();

  /* mountinfo: id parent maj:min root mountpoint options [optional...] - fstype source superoptions */
  open_arr("mounts");
  char *mi = slurp("/proc/self/mountinfo");
  for (char *save = NULL, *l = mi ? strtok_r(mi, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
    char *f[64];
    int n = 0;
    for (char *s2 = NULL, *t = strtok_r(l, " ", &s2); t && n < 64; t = strtok_r(NULL, " ", &s2))
      f[n++] = t;
    int dash = -1;
    for (int i = 6; i < n; i++)
      if (!strcmp(f[i], "-")) {
        dash = i;
        break;
      }
    if (n < 6 || dash < 0 || dash + 3 >= n + 1)
      continue;
    open_obj(NULL);
    kv_str("target", f[4]);
    kv_str("root", f[3]);
    kv_str("fstype", dash + 1 < n ? f[dash + 1] : "");
    kv_str("source", dash + 2 < n ? f[dash + 2] : "");
    kv_str("options", f[5]);
    kv_str("superOptions", dash + 3 < n ? f[dash + 3] : "");
    close_obj();
  }
  close_arr();

  open_arr("env");
  for (char **e = environ; *e; e++)
    v_str(*e);
  close_arr();

  /* Our own directory fd is left out, so the list is what the runtime passed. */
  open_obj("fds");
  DIR *d = opendir("/proc/self/fd");
  if (d) {
    int self = dirfd(d);
    struct dirent *de;
    while ((de = readdir(d))) {
      if (de->d_name[0] == '.' || atoi(de->d_name) == self)
        continue;
      char p[300];
      snprintf(p, sizeof p, "/proc/self/fd/%s", de->d_name);
      link_target(p, b, sizeof b);
      kv_str(de->d_name, b);
    }
    closedir(d);
  }
  close_obj();
  link_target("/proc/self/exe", b, sizeof b);
  kv_str("exe", b);
  puts("}");
}

/* Tries to get write access to each runtime binary it can name; writes back the same first
 * bytes it read, so a successful attempt is visible but changes nothing. */
static void write_exe(int argc, char **argv)
{
  static char *defaults[] = { "/proc/self/exe", "/proc/1/exe", "ppid" };
  char paths[16][64];
  if (argc == 0) {
    argc = 3;
    argv = defaults;
  }
  if (argc > 16)
    argc = 16;
  for (int i = 0; i < argc; i++) {
    /* `ppid` names our parent, which a test may arrange to be the runtime. */
    if (!strcmp(argv[i], "ppid"))
      snprintf(paths[i], sizeof paths[i], "/proc/%d/exe", (int)getppid());
    else
      snprintf(paths[i], sizeof paths[i], "%s", argv[i]);
  }
  first = 1;
  putchar('[');
  for (int i = 0; i < argc; i++) {
    char target[4096];
    link_target(paths[i], target, sizeof target);
    open_obj(NULL);
    kv_str("path", paths[i]);
    kv_str("target", target);
    int fd = open(paths[i], O_RDWR | O_CLOEXEC);
    key("opened"); fputs(fd >= 0 ? "true" : "false", stdout);
    int wrote = 0, err = fd < 0 ? errno : 0;
    if (fd >= 0) {
      char head[4];
      if (pread(fd, head, sizeof head, 0) == (ssize_t)sizeof head && pwrite(fd, head, sizeof head, 0) == (ssize_t)sizeof head)
        wrote = 1;
      else
        err = errno;
      close(fd);
    }
    key("wrote"); fputs(wrote ? "true" : "false", stdout);
    kv_num("errno", err);
    kv_str("error", err ? strerror(err) : "");
    close_obj();
  }
  puts("]");
}

static void stat_paths(int n, char **paths)
{
  first = 1;
  putchar('[');
  for (int i = 0; i < n; i++) {
    struct stat st;
    char b[32];
    open_obj(NULL);
    kv_str("path", paths[i]);
    if (lstat(paths[i], &st) < 0) {
      kv_num("errno", errno);
      kv_str("error", strerror(errno));
    } else {
      const char *t = S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "symlink"
                    : S_ISCHR(st.st_mode) ? "char" : S_ISBLK(st.st_mode) ? "block" : S_ISFIFO(st.st_mode) ? "fifo"
                    : "socket";
      kv_str("type", t);
      snprintf(b, sizeof b, "%04o", st.st_mode & 07777);
      kv_str("mode", b);
      kv_num("uid", st.st_uid);
      kv_num("gid", st.st_gid);
      open_arr("rdev"); v_num(major(st.st_rdev)); v_num(minor(st.st_rdev)); close_arr();
      kv_num("size", st.st_size);
    }
    close_obj();
  }
  puts("]");
}

/* A subreaper that runs a command and prints how each descendant it reaped ended, in order;
 * lets tests watch `berth-init --detach` and the container it leaves behind. */
static int reap(char **argv)
{
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    execv(argv[0], argv);
    _exit(127);
  }
  first = 1;
  char out[8192];
  size_t n = 0;
  n += (size_t)snprintf(out + n, sizeof out - n, "{\"reaped\":[");
  int status, count = 0;
  pid_t r;
  while ((r = wait(&status)) > 0 && n < sizeof out - 128) {
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    n += (size_t)snprintf(out + n, sizeof out - n, "%s{\"pid\":%d,\"code\":%d}", count++ ? "," : "", (int)r, code);
  }
  n += (size_t)snprintf(out + n, sizeof out - n, "],\"first\":%d}\n", (int)pid);
  fwrite(out, 1, n, stdout);
  return 0;
}

/* Run CMD with clone3 failing ENOSYS, as under Docker's default seccomp profile or a kernel
 * before 5.3: for tests of the callers' fallback to clone. A raw filter, no libseccomp. */
static int no_clone3(char **argv)
{
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
    perror("probe: no-clone3");
    return 125;
  }
  execv(argv[0], argv);
  perror("probe: no-clone3: exec");
  return 127;
}

/* A UDP echo server on PORT (busybox-static's nc has no -u): each datagram is printed, one line,
 * and sent back with "echo:" in front, so a test sees it arrive and its reply find the way back. */
static int udp_echo(int port)
{
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port), .sin_addr.s_addr = htonl(INADDR_ANY) };
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("probe: udp-echo");
    return 125;
  }
  char buf[2048];
  memcpy(buf, "echo:", 5);
  for (;;) {
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, buf + 5, sizeof buf - 5, 0, (struct sockaddr *)&from, &fl);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      perror("probe: udp-echo: recvfrom");
      return 1;
    }
    printf("%.*s\n", (int)n, buf + 5);
    fflush(stdout);
    sendto(fd, buf, (size_t)n + 5, 0, (struct sockaddr *)&from, fl);
  }
}

int main(int argc, char **argv)
{
  const char *cmd = argc > 1 ? argv[1] : "facts";
  if (!strcmp(cmd, "no-clone3") && argc > 2)
    return no_clone3(argv + 2);
  if (!strcmp(cmd, "facts")) {
    facts();
  } else if (!strcmp(cmd, "write-exe")) {
    write_exe(argc - 2, argv + 2);
  } else if (!strcmp(cmd, "sleep") && argc > 2) {
    double s = atof(argv[2]);
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
      ;
  } else if (!strcmp(cmd, "exit") && argc > 2) {
    return atoi(argv[2]);
  } else if (!strcmp(cmd, "kill-self") && argc > 2) {
    int sig = atoi(argv[2]);
    if (getpid() == 1) {
      /* A pid namespace's init is immune to its own signals; say so instead of hanging. */
      fprintf(stderr, "probe: pid 1 cannot kill itself\n");
      return 125;
    }
    signal(sig, SIG_DFL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    kill(getpid(), sig);
    pause();
    return 1;
  } else if (!strcmp(cmd, "stat")) {
    stat_paths(argc - 2, argv + 2);
  } else if (!strcmp(cmd, "mkdir") && argc > 2) {
    int r = mkdir(argv[2], 0755);
    printf("{\"ok\":%s,\"errno\":%d}\n", r == 0 ? "true" : "false", r == 0 ? 0 : errno);
  } else if (!strcmp(cmd, "reap") && argc > 2) {
    return reap(argv + 2);
  } else if (!strcmp(cmd, "udp-echo") && argc > 2) {
    return udp_echo(atoi(argv[2]));
  } else {
    fprintf(stderr, "usage: probe [facts | write-exe [PATH|ppid]... | sleep N | exit N | kill-self SIG | stat PATH... | mkdir PATH | reap CMD... | no-clone3 CMD... | udp-echo PORT]\n");
    return 2;
  }
  return 0;
}
