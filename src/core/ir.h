/* The engine's own graph representation. The ONNX protobuf is converted into this at load
   and freed; nothing after the loader sees a protobuf struct. */
#ifndef E2E_IR_H
#define E2E_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "e2e.h"
#include "core/error.h" /* e2e_fail: most users of the IR report errors */

typedef struct e2e_shape {
    int rank;
    int64_t dims[E2E_MAX_RANK]; /* -1 = unknown (dynamic) in a model's declaration */
} e2e_shape;

typedef enum e2e_attr_type {
    E2E_ATTR_UNDEFINED = 0,
    E2E_ATTR_FLOAT = 1,
    E2E_ATTR_INT = 2,
    E2E_ATTR_STRING = 3,
    E2E_ATTR_TENSOR = 4,
    E2E_ATTR_GRAPH = 5,
    E2E_ATTR_FLOATS = 6,
    E2E_ATTR_INTS = 7,
    E2E_ATTR_STRINGS = 8
} e2e_attr_type;

/* A tensor with owned data (initializers, constants, files read by the tools). */
typedef struct e2e_tensor {
    char *name;
    e2e_dtype dtype;
    e2e_shape shape;
    void *data;      /* numel * dtype size bytes, owned, freed with free(): 64-byte aligned when
                        allocated here, malloc-aligned when taken from the protobuf (loader) */
    size_t nbytes;
} e2e_tensor;

typedef struct e2e_attr {
    char *name;
    e2e_attr_type type;
    int64_t i;
    float f;
    char *s;            /* STRING: NUL-terminated copy */
    int64_t *ints;      /* INTS */
    float *floats;      /* FLOATS */
    int n;              /* element count of ints/floats */
    e2e_tensor *t;      /* TENSOR */
} e2e_attr;

typedef struct e2e_node {
    char *name;         /* never NULL: "<op_type>_<index>" when the file has none */
    int gate;           /* 1 + index into graph.gates when the node belongs to a branch of an
                           If (inlined by the loader); 0 for the top level */
    char *op_type;
    char *domain;       /* "" for the default domain */
    int n_in, n_out;
    int *in;            /* value ids; -1 for an omitted optional input */
    int *out;
    int n_attrs;
    e2e_attr *attrs;
} e2e_node;

/* A named value of the graph: graph input, initializer or node output. */
typedef struct e2e_value_decl {
    char *name;
    e2e_dtype dtype;            /* E2E_UNDEFINED when not declared */
    e2e_shape shape;            /* declared shape; rank -1 when not declared */
    int initializer;            /* index into graph.inits, or -1 */
} e2e_value_decl;

/* The branches of If are inlined into the graph at load: each branch's nodes and values
   become the graph's own (names prefixed "<If node>/then/" or "<If node>/else/"), every node
   of a branch carries that branch's gate, and the If node's inputs become
   [cond, then-branch outputs..., else-branch outputs...]. A gated node is live when its
   gate's cond (a bool scalar) equals `then` and its parent gate is live; the session drops
   the dead branch when cond is constant at creation and skips it at run otherwise. */
typedef struct e2e_gate {
    int cond;                   /* value id of the If's condition */
    bool then;                  /* then_branch (true) or else_branch (false) */
    int parent;                 /* 1 + index of the enclosing branch's gate; 0: none */
} e2e_gate;

typedef struct e2e_graph {
    int n_values;
    e2e_value_decl *values;
    int n_nodes;
    e2e_node *nodes;            /* in topological order after loading */
    int n_inits;
    e2e_tensor *inits;
    int n_inputs, n_outputs;
    int *inputs;                /* value ids of graph inputs that are not initializers */
    int *outputs;
    int n_gates;
    e2e_gate *gates;            /* If branches (see e2e_gate) */
} e2e_graph;

struct e2e_model {
    char *name;                 /* file path or caller-given name, for messages */
    int64_t ir_version;
    int opset;                  /* default domain */
    char *producer;
    e2e_graph graph;
    struct e2e_pack_cache *packs; /* packed weights shared by the model's sessions (pack_cache.h);
                                     NULL: each session packs its own */
};

/* ---- helpers shared by the loader, passes and kernels ---- */

size_t e2e_dtype_size(e2e_dtype t);
/* Element count; -1 when a dim is negative or the product overflows int64 / exceeds 2^40. */
int64_t e2e_shape_numel(const e2e_shape *s);
bool e2e_shape_equal(const e2e_shape *a, const e2e_shape *b);
/* "1x3x32x32" (scalar: "scalar"); returns buf. */
char *e2e_shape_str(const e2e_shape *s, char *buf, size_t n);

void *e2e_aligned_alloc(size_t nbytes);   /* 64-byte aligned, zero-filled; never NULL for 0 */
/* The same without the zero fill, for buffers the caller writes whole (packed weights: the
   fill would be a second pass over tens of MB at session creation). */
void *e2e_aligned_alloc_uninit(size_t nbytes);
void e2e_aligned_free(void *p);
char *e2e_strdup(const char *s);

void e2e_tensor_clear(e2e_tensor *t);     /* frees name and data */
/* Allocates data for t->shape/t->dtype; E2E_ERR_SHAPE/NOMEM on failure. */
e2e_status e2e_tensor_alloc(e2e_tensor *t, e2e_error *err);


const e2e_attr *e2e_node_attr(const e2e_node *n, const char *name);
int e2e_graph_find_value(const e2e_graph *g, const char *name);

void e2e_graph_clear(e2e_graph *g);

#endif
