/* The command line of every e2e command (issue 16): each command declares a table of its
   options and e2e_opts_parse reads argv with getopt_long against it plus the global options
   (--quiet, --verbose, --optimize, --precision, --max-model-mb, --max-arena-mb, --help, --version), which
   are thus accepted anywhere on the line. Rules, the same for every command:
   - --key=value and --key value; short -o FILE where declared;
   - numbers strict: the whole text must be a number in range, else
     "e2e CMD: --key: 'abc' is not a whole number" (exit 2);
   - a long option must be spelt out (no abbreviations); an unknown one is refused with the
     nearest known name ("did you mean --threads?");
   - "-" is a positional argument (stdin/stdout where the command takes it), "--" ends options.
   Not thread-safe (getopt's state); called once per process by the command. */
#ifndef E2E_CLI_OPTS_H
#define E2E_CLI_OPTS_H

#include <stdint.h>

typedef enum e2e_opt_kind {
    E2E_OPT_FLAG,   /* no value: *(int *)dst = 1 */
    E2E_OPT_INT,    /* int, in [lo, hi] */
    E2E_OPT_I64,    /* int64_t (or long long), in [lo, hi] */
    E2E_OPT_U64,    /* uint64_t, no sign, in [0, umax] (umax 0: any) */
    E2E_OPT_DOUBLE, /* double, finite, in [dlo, dhi] */
    E2E_OPT_STR,    /* const char *: the text as given */
    E2E_OPT_LIST,   /* const char *[max]: each occurrence appended, *count counts */
    E2E_OPT_CALL,   /* fn(cmd, "--name", value, dst) checks and stores; -1 (printed) refuses */
} e2e_opt_kind;

typedef struct e2e_opt {
    const char *name;   /* long name without "--" */
    char short_name;    /* 0: none */
    e2e_opt_kind kind;
    void *dst;
    const char *arg;    /* the value's name in --help ("N", "FILE") */
    const char *help;   /* one line */
    long long lo, hi;
    unsigned long long umax;
    double dlo, dhi;
    int *count, max;    /* E2E_OPT_LIST; E2E_OPT_FLAG: count (when set) counts repeats */
    int (*fn)(const char *cmd, const char *opt, const char *value, void *dst);
} e2e_opt;

#define E2E_OPT_F(n, s, d, h) \
    {.name = n, .short_name = s, .kind = E2E_OPT_FLAG, .dst = d, .help = h}
#define E2E_OPT_I(n, d, l, u, a, h) \
    {.name = n, .kind = E2E_OPT_INT, .dst = d, .lo = l, .hi = u, .arg = a, .help = h}
#define E2E_OPT_L(n, d, l, u, a, h) \
    {.name = n, .kind = E2E_OPT_I64, .dst = d, .lo = l, .hi = u, .arg = a, .help = h}
#define E2E_OPT_U(n, d, m, a, h) \
    {.name = n, .kind = E2E_OPT_U64, .dst = d, .umax = m, .arg = a, .help = h}
#define E2E_OPT_D(n, d, l, u, a, h) \
    {.name = n, .kind = E2E_OPT_DOUBLE, .dst = d, .dlo = l, .dhi = u, .arg = a, .help = h}
#define E2E_OPT_S(n, s, d, a, h) \
    {.name = n, .short_name = s, .kind = E2E_OPT_STR, .dst = d, .arg = a, .help = h}
#define E2E_OPT_LIST_(n, d, c, m, a, h) \
    {.name = n, .kind = E2E_OPT_LIST, .dst = d, .count = c, .max = m, .arg = a, .help = h}
#define E2E_OPT_C(n, f, d, a, h) \
    {.name = n, .kind = E2E_OPT_CALL, .fn = f, .dst = d, .arg = a, .help = h}
#define E2E_OPT_END {0}

typedef struct e2e_cmd_spec {
    const char *name;        /* "run" */
    void (*help)(void);      /* the command's own text (usage and description), on stdout */
    const e2e_opt *opts;     /* ends with E2E_OPT_END */
} e2e_cmd_spec;

/* Parses argv[1..argc) (argv[0] is the command's name). Options go to their dst; the
   positional arguments, in order, are moved to argv[1..*npos]. Returns 0 to go on, 1 when
   --help or --version was printed (the command returns 0), -1 on a usage error (printed as
   "e2e CMD: ..."; the command returns E2E_EXIT_USAGE). */
int e2e_opts_parse(const e2e_cmd_spec *spec, int argc, char **argv, int *npos);

/* The global options alone, before the command's name (main): returns the index of the
   command's name in argv (argc when none), -1 for --version, -2 on a usage error (printed),
   -3 for --help (main prints its own text). Nothing is printed for --help/--version. */
int e2e_opts_parse_global(int argc, char **argv);

/* `e2e --version`'s text; the global options' table (for main's usage). */
void e2e_opts_version(void);
void e2e_opts_print_globals(void);

/* Prints the options of spec (the command's and the global ones) as --help does. */
void e2e_opts_print(const e2e_cmd_spec *spec);

/* Checks a number as the table does ("e2e CMD: OPT: 'x' is not a whole number"): 0 or -1. */
int e2e_opts_int(const char *cmd, const char *opt, const char *s, long long lo, long long hi,
                 long long *out);
int e2e_opts_double(const char *cmd, const char *opt, const char *s, double lo, double hi,
                    double *out);

/* The name of names[0..n) nearest to name (edit distance), NULL when none is close. */
const char *e2e_opts_nearest(const char *name, const char *const *names, int n);

/* --device VALUE as an E2E_OPT_CALL (dst: e2e_device *). */
int e2e_opts_device(const char *cmd, const char *opt, const char *value, void *dst);

#endif
