/* A recursive-descent JSON parser (RFC 8259; \u escapes of the ASCII range only, which is
   all the command writes; others become '?'). */
#include "cli/json_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

typedef struct parser {
    const char *p, *end;
    const char *fail;
} parser;

static void ws(parser *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static void value_clear(json_value *v)
{
    free(v->string);
    for (size_t i = 0; i < v->n; i++) {
        value_clear(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

static char *parse_string(parser *s)
{
    if (s->p >= s->end || *s->p != '"') {
        s->fail = "a string expected";
        return NULL;
    }
    s->p++;
    size_t cap = 16, len = 0;
    char *out = malloc(cap);
    while (out) {
        if (s->p >= s->end) {
            s->fail = "unterminated string";
            break;
        }
        char c = *s->p++;
        if (c == '"') {
            out[len] = 0;
            return out;
        }
        if ((unsigned char)c < 32) {
            s->fail = "control character in a string";
            break;
        }
        if (c == '\\') {
            if (s->p >= s->end)
                continue;
            char e = *s->p++;
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case '"': case '\\': case '/': c = e; break;
            case 'u': {
                unsigned u = 0;
                if (s->end - s->p < 4 || sscanf(s->p, "%4x", &u) != 1) {
                    s->fail = "bad \\u escape";
                    goto fail;
                }
                s->p += 4;
                c = u < 128 ? (char)u : '?';
                break;
            }
            default:
                s->fail = "bad escape";
                goto fail;
            }
        }
        if (len + 2 > cap) {
            char *o = realloc(out, cap *= 2);
            if (!o)
                break;
            out = o;
        }
        out[len++] = c;
    }
fail:
    if (!s->fail)
        s->fail = "out of memory";
    free(out);
    return NULL;
}

static int parse_value(parser *s, json_value *v, int depth);

static int push(parser *s, json_value *v, size_t *cap, int with_key)
{
    if (v->n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 4;
    json_value *it = realloc(v->items, nc * sizeof *it);
    if (it)
        v->items = it;
    char **k = with_key ? realloc(v->keys, nc * sizeof *k) : NULL;
    if (k)
        v->keys = k;
    if (!it || (with_key && !k)) {
        s->fail = "out of memory";
        return -1;
    }
    *cap = nc;
    return 0;
}

static int parse_container(parser *s, json_value *v, int depth, int object)
{
    v->type = object ? JSON_OBJECT : JSON_ARRAY;
    size_t cap = 0;
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == (object ? '}' : ']')) {
        s->p++;
        return 0;
    }
    for (;;) {
        if (push(s, v, &cap, object))
            return -1;
        json_value *it = &v->items[v->n];
        memset(it, 0, sizeof *it);
        if (object) {
            ws(s);
            char *key = parse_string(s);
            if (!key)
                return -1;
            v->keys[v->n] = key;
            ws(s);
            if (s->p >= s->end || *s->p != ':') {
                free(key);
                s->fail = "':' expected";
                return -1;
            }
            s->p++;
        }
        v->n++;
        if (parse_value(s, it, depth + 1))
            return -1;
        ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == (object ? '}' : ']')) {
            s->p++;
            return 0;
        }
        s->fail = object ? "',' or '}' expected" : "',' or ']' expected";
        return -1;
    }
}

static int parse_value(parser *s, json_value *v, int depth)
{
    ws(s);
    if (depth > MAX_DEPTH) {
        s->fail = "nested too deeply";
        return -1;
    }
    if (s->p >= s->end) {
        s->fail = "unexpected end";
        return -1;
    }
    char c = *s->p;
    if (c == '{' || c == '[')
        return parse_container(s, v, depth, c == '{');
    if (c == '"') {
        v->type = JSON_STRING;
        return (v->string = parse_string(s)) ? 0 : -1;
    }
    static const struct { const char *word; json_type t; double n; } words[] = {
        {"null", JSON_NULL, 0}, {"true", JSON_BOOL, 1}, {"false", JSON_BOOL, 0}};
    for (int i = 0; i < 3; i++) {
        size_t len = strlen(words[i].word);
        if ((size_t)(s->end - s->p) >= len && !memcmp(s->p, words[i].word, len)) {
            s->p += len;
            v->type = words[i].t;
            v->number = words[i].n;
            return 0;
        }
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        char buf[64];
        size_t len = 0;
        while (s->p + len < s->end && len < sizeof buf - 1 &&
               strchr("+-.eE0123456789", s->p[len]))
            len++;
        memcpy(buf, s->p, len);
        buf[len] = 0;
        char *e;
        v->number = strtod(buf, &e);
        if (e != buf + len) {
            s->fail = "bad number";
            return -1;
        }
        v->type = JSON_NUMBER;
        s->p += len;
        return 0;
    }
    s->fail = "a value expected";
    return -1;
}

json_value *json_read_file(const char *path, char *err, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, n, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0, got;
    char *text = malloc(cap);
    while (text && (got = fread(text + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            if (cap >= (size_t)1 << 30)
                break;
            char *t = realloc(text, cap *= 2);
            if (!t) {
                free(text);
                text = NULL;
            } else {
                text = t;
            }
        }
    }
    int rerr = ferror(f);
    fclose(f);
    if (!text || rerr) {
        free(text);
        snprintf(err, n, "%s: %s", path, rerr ? "read error" : "out of memory");
        return NULL;
    }
    parser s = {text, text + len, NULL};
    json_value *v = calloc(1, sizeof *v);
    if (v && !parse_value(&s, v, 0)) {
        ws(&s);
        if (s.p != s.end)
            s.fail = "text after the value";
    } else if (!v) {
        s.fail = "out of memory";
    }
    if (s.fail) {
        snprintf(err, n, "%s: not valid JSON at byte %ld: %s", path, (long)(s.p - text), s.fail);
        if (v)
            value_clear(v);
        free(v);
        v = NULL;
    }
    free(text);
    return v;
}

void json_free(json_value *v)
{
    if (v)
        value_clear(v);
    free(v);
}

const json_value *json_get(const json_value *v, const char *key)
{
    if (!v || v->type != JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->keys[i], key))
            return &v->items[i];
    return NULL;
}
