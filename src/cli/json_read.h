/* A small JSON reader for the command's own files (e2e merge reads the timing JSONs of
   e2e run): parses a whole text into a tree. Numbers are doubles (exact up to 2^53).
   A tree is immutable after parsing and may be read from any thread. */
#ifndef E2E_CLI_JSON_READ_H
#define E2E_CLI_JSON_READ_H

#include <stddef.h>

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value {
    json_type type;
    double number;               /* NUMBER, BOOL (0/1) */
    char *string;                /* STRING */
    size_t n;                    /* ARRAY, OBJECT: number of items */
    struct json_value *items;    /* ARRAY, OBJECT */
    char **keys;                 /* OBJECT */
} json_value;

/* Reads and parses a file; NULL with a message "PATH: ..." in err (n bytes) on failure.
   Free with json_free. */
json_value *json_read_file(const char *path, char *err, size_t n);
void json_free(json_value *v);
/* The member KEY of an object, or NULL (also when v is not an object). */
const json_value *json_get(const json_value *v, const char *key);

#endif
