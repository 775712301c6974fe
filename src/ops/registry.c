/* Operator registry: the family tables, searched by op_type at session creation. */
#include <string.h>

#include "ops/op.h"

extern const e2e_op_def e2e_ops_unary[];
extern const e2e_op_def e2e_ops_binary[];
extern const e2e_op_def e2e_ops_shape[];
extern const e2e_op_def e2e_ops_conv[];
extern const e2e_op_def e2e_ops_pool[];
extern const e2e_op_def e2e_ops_gemm[];
extern const e2e_op_def e2e_ops_norm[];
extern const e2e_op_def e2e_ops_reduce[];
extern const e2e_op_def e2e_ops_resize[];
extern const e2e_op_def e2e_ops_topk[];
extern const e2e_op_def e2e_ops_index[];
extern const e2e_op_def e2e_ops_fill[];
extern const e2e_op_def e2e_ops_einsum[];
extern const e2e_op_def e2e_ops_control[];
extern const e2e_op_def e2e_ops_quant[];

static const e2e_op_def *const families[] = {
    e2e_ops_unary, e2e_ops_binary, e2e_ops_shape, e2e_ops_conv, e2e_ops_pool,
    e2e_ops_gemm,  e2e_ops_norm,   e2e_ops_reduce, e2e_ops_resize,
    e2e_ops_topk,  e2e_ops_index,  e2e_ops_fill,  e2e_ops_einsum, e2e_ops_control,
    e2e_ops_quant,
};

const e2e_op_def *e2e_op_find(const char *domain, const char *op_type)
{
    if (domain && domain[0] && strcmp(domain, "ai.onnx") != 0)
        return NULL;
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const e2e_op_def *d = families[f]; d->op_type; d++)
            if (strcmp(d->op_type, op_type) == 0)
                return d;
    return NULL;
}
