/* Safe output files (see out_file.h). */
#include "cli/out_file.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int e2e_out_check(const char *cmd, const char *opt, const char *path)
{
    struct stat sb;
    if (!path[0]) {
        fprintf(stderr, "e2e %s: %s needs a file name\n", cmd, opt);
        return -1;
    }
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "e2e %s: %s %s: is a folder (give a file name)\n", cmd, opt, path);
        return -1;
    }
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "e2e %s: %s %s: the folder %s does not exist (it is not created)\n",
                cmd, opt, path, dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK)) {
        fprintf(stderr, "e2e %s: %s %s: the folder %s is not writable: %s\n", cmd, opt, path,
                dir, strerror(errno));
        return -1;
    }
    if (access(path, F_OK) == 0 && access(path, W_OK)) {
        fprintf(stderr, "e2e %s: %s %s: not writable: %s\n", cmd, opt, path, strerror(errno));
        return -1;
    }
    return 0;
}

void e2e_out_init(e2e_out_file *o, const char *path)
{
    memset(o, 0, sizeof *o);
    o->path = path;
    struct stat sb;
    if (path && stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
        o->direct = 1; /* nothing to rename: tmp and partial are PATH itself */
        snprintf(o->tmp, sizeof o->tmp, "%.4000s", path);
        snprintf(o->partial, sizeof o->partial, "%.4000s", path);
    } else if (path) {
        snprintf(o->tmp, sizeof o->tmp, "%.4000s.tmp.%ld", path, (long)getpid());
        /* NAME.partial.EXT keeps the extension (a merge tells CSV from JSON by it) */
        const char *base = strrchr(path, '/'), *dot;
        base = base ? base + 1 : path;
        dot = strrchr(base, '.');
        if (dot && dot > base)
            snprintf(o->partial, sizeof o->partial, "%.*s.partial%.100s",
                     (int)(dot - path < 4000 ? dot - path : 4000), path, dot);
        else
            snprintf(o->partial, sizeof o->partial, "%.4000s.partial", path);
    }
}

FILE *e2e_out_open(e2e_out_file *o, const char *cmd, const char *mode)
{
    if (!(o->f = fopen(o->tmp, mode)))
        fprintf(stderr, "e2e %s: %s: cannot create: %s\n", cmd, o->tmp, strerror(errno));
    return o->f;
}

static int close_file(e2e_out_file *o, const char *cmd)
{
    if (!o->f)
        return 0;
    int bad = ferror(o->f);
    bad |= fclose(o->f) != 0;
    o->f = NULL;
    if (bad)
        fprintf(stderr, "e2e %s: %s: write failed: %s\n", cmd, o->tmp, strerror(errno));
    return bad ? -1 : 0;
}

int e2e_out_commit(e2e_out_file *o, const char *cmd)
{
    if (close_file(o, cmd))
        return -1;
    if (o->direct)
        return 0;
    if (rename(o->tmp, o->path)) {
        fprintf(stderr, "e2e %s: %s: cannot rename to %s: %s\n", cmd, o->tmp, o->path,
                strerror(errno));
        return -1;
    }
    remove(o->partial); /* a stale one from an earlier failed job */
    return 0;
}

int e2e_out_keep_partial(e2e_out_file *o, const char *cmd)
{
    int bad = close_file(o, cmd);
    if (o->direct)
        return bad;
    if (rename(o->tmp, o->partial)) {
        fprintf(stderr, "e2e %s: %s: cannot rename to %s: %s\n", cmd, o->tmp, o->partial,
                strerror(errno));
        return -1;
    }
    return bad;
}

void e2e_out_discard(e2e_out_file *o)
{
    if (o->f) {
        fclose(o->f);
        o->f = NULL;
    }
    if (o->path && !o->direct)
        remove(o->tmp);
}
