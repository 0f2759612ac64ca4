/* seccomp.c: builds and loads the plan's filter with libseccomp. */
#include "init.h"

#include <errno.h>
#include <seccomp.h>
#include <string.h>

int seccomp_load_plan(const struct plan *p, struct berr *e)
{
  int r;
  scmp_filter_ctx ctx = seccomp_init(p->sc_default);
  if (!ctx)
    return fail_msg(e, "seccomp", NULL, ENOMEM, "seccomp: cannot create the filter");
  /* libseccomp sets no_new_privs on load by default; the plan decides that itself, and the
   * filter may be loaded early precisely because no_new_privs is not wanted. */
  if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0)
    goto fail;
  for (int i = 0; i < p->nsc_arches; i++) {
    r = seccomp_arch_add(ctx, seccomp_arch_resolve_name(p->sc_arches[i]));
    if (r < 0 && r != -EEXIST)
      goto fail;
  }
  for (int i = 0; i < p->nsc_flags; i++) {
    const char *f = p->sc_flags[i];
    enum scmp_filter_attr a = !strcmp(f, "SECCOMP_FILTER_FLAG_LOG")        ? SCMP_FLTATR_CTL_LOG
                              : !strcmp(f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") ? SCMP_FLTATR_CTL_SSB
                                                                             : SCMP_FLTATR_CTL_TSYNC;
    if ((r = seccomp_attr_set(ctx, a, 1)) < 0)
      goto fail;
  }
  for (int i = 0; i < p->nsc_rules; i++) {
    const struct sc_rule *rule = &p->sc_rules[i];
    struct scmp_arg_cmp cmp[6];
    int nr = seccomp_syscall_resolve_name(rule->syscall);
    /* As runc: a syscall this libseccomp does not know cannot be filtered; skip it. */
    if (nr == __NR_SCMP_ERROR || rule->action == p->sc_default)
      continue;
    for (int j = 0; j < rule->ncond; j++)
      cmp[j] = (struct scmp_arg_cmp){ rule->cond[j].arg, (enum scmp_compare)rule->cond[j].op, rule->cond[j].a,
                                      rule->cond[j].b };
    r = seccomp_rule_add_array(ctx, rule->action, nr, (unsigned)rule->ncond, cmp);
    if (r < 0) {
      seccomp_release(ctx);
      return fail_msg(e, "seccomp", rule->syscall, -r, "seccomp rule `%s`: %s", rule->syscall, strerror(-r));
    }
  }
  if ((r = seccomp_load(ctx)) < 0)
    goto fail;
  seccomp_release(ctx);
  return 0;
fail:
  seccomp_release(ctx);
  return fail_msg(e, "seccomp", NULL, -r, "seccomp: %s", strerror(-r));
}
