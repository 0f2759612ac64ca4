/* berth-init: shared types for the plan executor (see docs/plan.md, the contract). */
#ifndef BERTH_INIT_H
#define BERTH_INIT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <signal.h>

struct sock_filter;

/* One failure, as reported on the sync fd: step, the path it concerns, errno, text. */
struct berr {
  const char *step;
  char path[4096];
  int errnum;
  char msg[4600];
};

/* Fill `e` from errno (message "STEP `PATH`: strerror"); always returns -1. */
int fail_sys(struct berr *e, const char *step, const char *path);
/* Fill `e` with errno `errnum` and a formatted message; always returns -1. */
int fail_msg(struct berr *e, const char *step, const char *path, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

enum action_op {
  A_PROPAGATION, A_BIND_ROOT, A_MOUNT, A_REMOUNT, A_MOUNT_PROPAGATION, A_MKDIR, A_SYMLINK,
  A_MKNOD, A_BIND_DEV, A_PIVOT, A_MASK, A_READONLY, A_SYSCTL, A_HOOK, A_ROOT_READONLY,
};

struct action {
  enum action_op op;
  const char *name; /* the op as written, used as the error step */
  int argc;
  char **argv;
};

struct idmap { unsigned long inside, outside, count; };
struct nsjoin { int type; char *path; }; /* type is a CLONE_NEW* flag */
struct timens_off { char *clock; long long sec; long long nsec; };
struct rlim { int resource; long long soft, hard; };
struct sc_cond { unsigned arg; int op; uint64_t a, b; };
struct sc_rule { uint32_t action; char *syscall; int ncond; struct sc_cond cond[6]; };

struct plan {
  unsigned long clone_flags;
  struct nsjoin *setns; int nsetns;
  char **cgroup_join; int ncgroup_join;
  struct idmap *uid_map; int nuid_map;
  struct idmap *gid_map; int ngid_map;
  int setgroups_deny;
  struct timens_off *timens; int ntimens;
  char *hostname, *domainname;
  int loopback_up;
  char *root;
  char **args; int nargs;
  char **env; int nenv;
  char *cwd;
  int has_user; uid_t uid; gid_t gid;
  gid_t *groups; int ngroups;
  int has_umask; mode_t umask;
  uint64_t caps[5]; /* bounding effective permitted inheritable ambient */
  int no_new_privs;
  int has_oom; int oom_score_adj;
  struct rlim *rlimits; int nrlimits;
  int preserve_fds;
  char *console_socket;
  int has_console_size; unsigned short rows, cols;
  char *exec_fifo;
  int has_seccomp; uint32_t sc_default;
  char **sc_arches; int nsc_arches;
  char **sc_flags; int nsc_flags;
  struct sc_rule *sc_rules; int nsc_rules;
  char *sc_cache; /* where the compiled program is kept, or NULL */
  int no_pivot;
  struct action *actions; int nactions;
};

enum { CAP_SET_BOUNDING, CAP_SET_EFFECTIVE, CAP_SET_PERMITTED, CAP_SET_INHERITABLE, CAP_SET_AMBIENT };

/* plan.c */
int plan_parse(struct plan *p, const char *buf, size_t len, struct berr *e);
int plan_read_file(const char *path, char **buf, size_t *len, struct berr *e);

/* msg.c: JSON lines on the sync fd (or nowhere when there is none). */
void msg_set_fd(int fd);
int msg_fd(void);
void msg_pid(pid_t pid);
void msg_phase(const char *name);
void msg_hook(const char *name);
void msg_created(void);
void msg_error(const struct berr *e);
int msg_wait_line(struct berr *e);

/* selfexec.c */
int selfexec_ensure_sealed(char **argv, struct berr *e);

/* The state shared by the bootstrap and the container process it clones. */
struct ctx {
  struct plan *plan;
  int detach;
  int maps_pipe[2];   /* bootstrap -> child: maps are written, go on; then (late join) 'j': in the cgroups */
  int *self_fds;      /* self join: v1 `tasks` files the child writes "0" to, opened before any setns */
  int *self_idx;      /* their records in plan->cgroup_join (for errors) */
  int nself;
  int *join_fds;      /* late join: the cgroup.procs files (v2) the bootstrap writes the child's pid to */
  int *join_idx;      /* their records in plan->cgroup_join (for errors) */
  int njoin;
  int cgroup_dir_fd;  /* the v2 cgroup's dir, for clone3's CLONE_INTO_CGROUP (-1: none) */
  int into_cgroup;    /* the child was born in its v2 cgroup: no late join */
  int status_pipe[2]; /* child -> bootstrap (detach): 'c' created, 'e' failed */
  int fifo_fd;        /* exec fifo, O_PATH, opened on the host side */
  int console_fd;     /* connected console socket */
  int oom_fd;         /* /proc/self/oom_score_adj, opened while the host /proc is visible */
  mode_t orig_umask;  /* the caller's, kept when the plan has no `umask` */
  sigset_t orig_mask;
  struct sock_filter *sc_prog; /* the seccomp program, prepared by the bootstrap */
  unsigned short sc_len;
  unsigned sc_flags; /* SECCOMP_FILTER_FLAG_* for seccomp(2) */
};

/* bootstrap.c */
int bootstrap_run(struct ctx *c, struct berr *e); /* returns the exit status for main */
int bootstrap_self_join(struct ctx *c, struct berr *e); /* container process: into its v1 cgroups */
void bootstrap_wait_joined(struct ctx *c);        /* container process: returns once in its cgroups */

/* mounts.c */
int root_open(struct ctx *c, struct berr *e);
int run_actions(struct ctx *c, struct berr *e);
int root_chdir(const char *cwd, struct berr *e);

/* process.c */
int process_finish(struct ctx *c, struct berr *e); /* the fixed tail; returns only on error */

/* seccomp.c */
int seccomp_prepare(struct ctx *c, struct berr *e); /* bootstrap, host side: compile or read the cache */
int seccomp_load_plan(const struct ctx *c, struct berr *e);

/* The container process's exit code for a setup failure. */
#define EXIT_SETUP 1

#endif
