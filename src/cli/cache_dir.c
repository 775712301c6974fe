/* e2e's per-user cache (cli.h): the folders e2e run writes on its own, the benchmark models
   and the sample events, live here and never in the working folder (an installed e2e run
   must not fill ./build of wherever it starts). XDG base directories: XDG_CACHE_HOME when it
   is an absolute path, else $HOME/.cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

const char *e2e_cli_cache_dir(const char *sub, char *buf, size_t n)
{
    const char *env = !strcmp(sub, "models") ? getenv("E2E_MODEL_DIR") : NULL;
    if (env && env[0]) {
        snprintf(buf, n, "%s", env);
        return buf;
    }
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0] == '/')
        snprintf(buf, n, "%.3000s/e2e/%s", xdg, sub);
    else if (home && home[0])
        snprintf(buf, n, "%.3000s/.cache/e2e/%s", home, sub);
    else
        return NULL;
    return buf;
}
