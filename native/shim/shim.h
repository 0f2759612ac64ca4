/* berth-shim: shared types and the functions each file offers (docs/shim.md is the contract). */
#ifndef BERTH_SHIM_H
#define BERTH_SHIM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define container_of(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))

/* util.c: one failure: the step it happened in, errno, and a message quoting the path. */
struct serr {
  const char *step;
  int errnum;
  char msg[1024];
};
int fail_sys(struct serr *e, const char *step, const char *path); /* from errno; returns -1 */
int fail_msg(struct serr *e, const char *step, int errnum, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* util.c: the epoll loop. Every watched fd is an `ev` embedded in its owner. */
struct ev {
  int fd;
  uint32_t mask; /* what is registered; 0 = not in the epoll set */
  void (*fn)(struct ev *ev, uint32_t events);
};
int loop_init(struct serr *e);
void ev_watch(struct ev *ev, uint32_t mask); /* add, modify or (mask 0) remove */
void ev_close(struct ev *ev);                /* remove, close, fd = -1 */
void loop_run_once(void);
int set_nonblock(int fd);
int64_t mono_ms(void);
void fmt_time(char *out, size_t cap, const struct timespec *ts); /* RFC3339Nano, UTC, as Go prints it */
int write_all(int fd, const char *p, size_t n);
int write_file_atomic(const char *dir, const char *name, const char *data, size_t n, struct serr *e);

/* json.c: a JSON string writer and a reader for flat objects of strings, numbers, booleans. */
size_t json_str(char *out, size_t cap, size_t n, const char *s, size_t len); /* escaped body, no quotes */
struct jval {
  const char *key;
  char type; /* 's' string, 'n' number, 'b' boolean, 'z' null */
  const char *s;
  long long num;
};
int json_parse_flat(char *line, struct jval *v, int max); /* in place; count or -1 */
const char *json_get_str(const struct jval *v, int n, const char *key);
int json_get_num(const struct jval *v, int n, const char *key, long long *out); /* 1 found, 0 not */
int json_get_bool(const struct jval *v, int n, const char *key, int dflt);

/* One output stream of a task: stdout (or the pty master) or stderr. */
struct task;
struct stream {
  struct ev ev;
  int kind; /* 1 stdout, 2 stderr: the stdcopy stream ids */
  struct task *t;
  char *part; /* a log line waiting for its newline (container only), 16 KiB when allocated */
  size_t plen;
};

/* The container process or one exec. Kept until the shim exits (exits are kept for `wait`). */
struct task {
  struct task *next;
  char *id; /* NULL for the container */
  pid_t pid;
  int terminal;
  int has_stdin;
  struct ev in;          /* stdin pipe write end, or a dup of the pty master; fd -1 once closed */
  char *inbuf;           /* stdin bytes the fd did not take yet */
  size_t inlen;
  int close_in_pending;  /* close-stdin asked while bytes were pending */
  int pty;               /* the pty master (for resize), or -1 */
  struct stream out[2];
  int exited, drained;
  int status; /* waitpid's */
  int oom_killed;
  struct timespec started, finished;
  int64_t drain_deadline;
};

/* A berth-init run: the sync fd protocol, the stdio made for it, the console socket. */
struct client;
struct launch {
  struct ev ev; /* the sync fd, until its EOF (the container process's execve) */
  struct launch *next;
  pid_t init_pid, pid;
  int created, eof, failed, done;
  int reaped, status; /* the process exited before `created` was handled */
  char *errline;      /* berth-init's error line, verbatim */
  char *buf;
  size_t n, cap;
  int terminal, has_stdin;
  int lfd;         /* console socket listener, or -1 */
  char *console;   /* its path, removed when the master arrived or the run failed */
  int fds[3];      /* our ends: stdin write, stdout read, stderr read (or -1) */
  int master;
  struct timespec created_at;
  int64_t spawned; /* mono_ms() at fork */
  /* exec only */
  char *exec_id;
  struct client *client;
  /* through a foreign runtime (runtime.c): init_pid is the runtime's `exec --detach` */
  int runtime;
  char *rt_pidfile, *rt_log;
};
struct launch *launch_new(void); /* NULL when out of memory */
int launch_spawn(struct launch *l, const char *plan, struct serr *e);
void launch_feed(struct launch *l); /* one read of the sync fd; handles complete lines */
int launch_recv_master(struct launch *l, struct serr *e);
void launch_cleanup(struct launch *l); /* closes what was not taken over */
const char *launch_error_message(struct launch *l, char *buf, size_t cap);
int plan_console_socket(const char *plan, char *out, size_t cap, struct serr *e);
void launch_child_exited(pid_t pid, int status); /* a pending exec launch's process was reaped */
void launch_free(struct launch *l);
void launch_take_early(struct launch *l);                    /* the pid is known: was it reaped already? */
int launch_listen_console(struct launch *l, struct serr *e); /* listen on l->console */

/* runtime.c: a runc-compatible runtime instead of berth-init (docs/shim.md "Foreign runtimes") */
int runtime_create(struct launch *l, struct serr *e); /* `create`, to its end: l->pid, stdio in l */
int runtime_start(char *err, size_t cap);
int runtime_exec(struct launch *l, const char *process, struct serr *e); /* `exec --detach`, followed in the loop */
int runtime_child_exited(pid_t pid, int status);                       /* 1 if pid was such an exec's runtime */
void runtime_delete(void);

/* task.c: stdio of a task */
struct task *task_from_launch(struct launch *l, const char *id);
void task_watch(struct task *t);
void task_exited(struct task *t, int status);
void task_stdin(struct task *t, const char *p, size_t n);
int task_close_stdin(struct task *t);
void task_check_drain(struct task *t, int64_t now);
struct task *task_by_pid(pid_t pid);
struct task *exec_by_id(const char *id);
int task_exit_code(const struct task *t, int *sig);

/* log.c: Docker's json-file, with a sparse index beside each file (docs/shim.md "Log index") */
#define LOG_IDX_MAGIC "BERTHIDX"
#define LOG_IDX_VERSION 1
#define LOG_IDX_EVERY 65536 /* bytes of log between two records */
#define LOG_IDX_RECORD 16   /* u64 time (ns since the epoch), u64 offset; little-endian */
int log_open(struct serr *e);
int log_child_exited(pid_t pid); /* 1 if pid was the log's compressor */
struct client;
void log_drops_notify(struct client *only); /* push the drop count to event waiters (NULL: all, if it changed) */
int log_drops_tick(int64_t now);            /* 1 while a notification is held back */
void log_feed(struct stream *s, const char *p, size_t n);
void log_flush(struct stream *s);

/* attach.c: clients and their output queues */
struct chunk;
enum cmode { C_REQ, C_WAIT, C_STREAM, C_EXEC_PENDING, C_EVENTS };
struct client {
  struct ev ev;
  struct client *next;
  enum cmode mode;
  char *line; /* request bytes not handled yet */
  size_t llen, lcap;
  struct task *t;
  struct launch *launch;
  int want_in, want_out, want_err, raw;
  int events; /* a container `wait` that also takes event lines (log drops) */
  int rd_closed, close_after_flush, dead;
  struct chunk *q, *qtail;
  size_t qbytes;
};
void client_new(int fd);
void client_send(struct client *c, const char *p, size_t n);
void client_broadcast(struct task *t, int kind, const char *p, size_t n);
void client_update(struct client *c);
void client_close(struct client *c);
void client_close_stream(struct task *t); /* close every stream client of t once flushed */
void clients_reap_dead(void);
int clients_pending(void);
int clients_last_requests(void); /* before exiting: read and answer requests already sent */
int clients_last_requests(void); /* before exiting: read and answer requests already sent */ /* a client still has output queued */
void client_input(struct client *c, const char *p, size_t n);
void client_process_lines(struct client *c);

/* ctrl.c: the control socket */
int ctrl_listen(struct serr *e);
void ctrl_accept_pending(void); /* take connections still in the listen backlog */
void ctrl_unlink(void); /* remove the socket file, unless another shim has bound that path since */
void ctrl_request(struct client *c, char *line);
void ctrl_exec_done(struct launch *l);
void ctrl_launch_watch(struct launch *l); /* follow a launch's sync fd in the loop */
void ctrl_answer_waiters(struct task *t);
size_t exit_object(char *b, size_t cap, const struct task *t);

/* oom.c: OOM kills pushed to `events` clients while the container runs */
void oom_watch(void);  /* start watching the memory cgroup (after S.oom_base is known) */
long long oom_kills(void); /* kills since the container started */
void oom_send(struct client *only, long long kills, int event); /* NULL: every events client */
/* phases.c: berth-init's phase times, for the start-up report (`phases`) and the exit (`exec_ns`) */
int64_t mono_ns(void);
void launch_phase(const struct launch *l, const char *name, long long ns);

/* exit.c */
int oom_read(long long *count);
void shim_finish(void);         /* the container is drained: exit.json, waiters, leftovers */
void shim_maybe_exit(void);
int reap_children(void); /* 1 while children remain */

/* The shim, one per process. */
struct shim {
  const char *id, *dir, *init, *plan, *log_path;
  /* a foreign runtime: binary, its global options, state root, bundle, console socket */
  const char *runtime, *runtime_root, *bundle, *console;
  const char **runtime_args;
  int n_runtime_args;
  int terminal, has_stdin;
  long long log_max_size;
  int log_max_files;
  int log_compress; /* gzip rotated files */
  const char *oom_dir;
  int oom_v2;
  long long oom_base;
  int oom_known;
  pid_t pid;
  struct task *ctr;
  struct task *execs;
  struct launch *launches;
  struct client *clients;
  unsigned long long log_dropped;
  int finishing;
  int last_pass; /* requests that raced the exit were read once */
  int64_t finish_deadline;
  struct ev ctrl, sig, tick;
  int ticking;
  char sock_path[4096], pid_path[4096];
  dev_t sock_dev;
  ino_t sock_ino; /* the socket file we bound, so we never remove a successor's */
  /* CLOCK_MONOTONIC ns: berth-init forked, its phases up to `created` (JSON members), its execve */
  int64_t spawn_ns, exec_ns;
  char phases[640];
  size_t phases_len;
};
extern struct shim S;
void tick_need(void); /* keep the 50 ms tick running while something waits on time */

#define SUN_PATH_MAX 107 /* sizeof sun_path less its NUL */
#define MAX_CLIENT_BACKLOG (1 << 20)
#define LOG_LINE_MAX 16384
#define DRAIN_MS 250
#define FINISH_MS 2000
#define LEFTOVER_MS 500 /* the most shim_finish waits for SIGKILLed leftovers to leave the cgroup */

#endif
