/* Where a timing result came from (cli.h): the library version, the CPU model, the SIMD level
   and the settings, written into the JSONs of run, bench and compare so that a number can be
   reproduced or at least explained (issue 16). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/run_shard.h"

/* /proc/cpuinfo's first "model name" (x86) or "Processor"/"cpu model" line; "unknown" else. */
static void cpu_model(char *buf, size_t n)
{
    snprintf(buf, n, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) && strncmp(line, "Processor", 9) &&
            strncmp(line, "cpu model", 9))
            continue;
        char *v = strchr(line, ':');
        if (!v)
            continue;
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        v[strcspn(v, "\n")] = 0;
        if (*v) {
            snprintf(buf, n, "%s", v);
            break;
        }
    }
    fclose(f);
}

void e2e_cli_json_str(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s < 32)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

const char *e2e_cli_simd_level(void)
{
    /* the level sessions use by default: the CPU's, capped by E2E_ISA (docs/instruction-sets.md) */
    return e2e_isa_name(e2e_isa_default());
}

void e2e_cli_json_provenance(FILE *f, const char *indent, int threads, int optimize,
                             const char *device)
{
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    fprintf(f, "%s\"library_version\": \"%s\",\n", indent, E2E_VERSION);
    if (threads > 0)
        fprintf(f, "%s\"threads\": %d,\n%s\"optimize\": %d,\n%s\"precision\": \"%s\",\n"
                   "%s\"device\": \"%s\",\n", indent, threads, indent, optimize, indent,
                e2e_precision_name(e2e_cli_precision), indent, device ? device : "cpu");
    fprintf(f, "%s\"cpu_model\": ", indent);
    e2e_cli_json_str(f, cpu);
    fprintf(f, ",\n%s\"logical_cpus\": %ld,\n%s\"simd\": \"%s\",\n%s\"simd_cpu\": \"%s\"", indent,
            ncpu > 0 ? ncpu : 0, indent, e2e_cli_simd_level(), indent, e2e_isa_name(e2e_cpu_isa()));
}
