/* Where e2e run finds the shipped trained models (cli.h): the repository's models/trained
   when run from the repository (make demo), else beside the binary, for a build run from
   elsewhere (build/e2e -> ../models/trained) or an installed one (bin/e2e ->
   ../share/e2e/trained, see mk/install.mk). */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

const char *e2e_cli_trained_dir(char *buf, size_t n)
{
    snprintf(buf, n, "models/trained");
    if (is_dir(buf))
        return buf;
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            static const char *const rel[2] = {"../models/trained", "../share/e2e/trained"};
            for (int i = 0; i < 2; i++) {
                snprintf(buf, n, "%.3000s/%s", exe, rel[i]);
                if (is_dir(buf))
                    return buf;
            }
        }
    }
    snprintf(buf, n, "models/trained");
    return buf;
}
