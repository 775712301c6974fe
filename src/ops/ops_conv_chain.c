/* ConvChain (ops_conv_chain.h): per image, the first convolution into the workspace, then the
   second from there. Each image's sums are those of the two kernels run layer by layer (the
   bfloat16 kernels' sums do not depend on the chunking), so the outputs are bit-identical to
   the unchained pair at any batch; only the order of the work and where the intermediate
   lives change. */
#include <stdlib.h>

#include "ops/conv_internal.h"
#include "ops/ops_conv_chain.h"

static void chain_release(void *priv)
{
    e2e_conv_chain *ch = priv;
    if (ch && ch->owns) {
        if (ch->a.op->release && ch->a.priv)
            ch->a.op->release(ch->a.priv);
        if (ch->b.op->release && ch->b.priv)
            ch->b.op->release(ch->b.priv);
    }
    free(ch);
}

/* k->priv: the chain as the pass built it (a and b prepared); in: x, W1, B1, W2, B2; out: b's. */
static e2e_status chain_prepare(e2e_kernel *k)
{
    e2e_conv_chain *ch = k->priv;
    if (!ch || !e2e_conv_chain_fits(&ch->a, &ch->b))
        return e2e_kfail(k, E2E_ERR_UNSUPPORTED, "a convolution chain needs two bfloat16 ConvMaxPool");
    const conv_priv *p1 = ch->a.priv;
    size_t ws = ch->a.ws_size > ch->b.ws_size ? ch->a.ws_size : ch->b.ws_size;
    ch->mid_at = (ws + 63) & ~(size_t)63;
    ch->mid_floats = p1->M * p1->ysp;
    k->ws_size = ch->mid_at + sizeof(float) * (size_t)ch->mid_floats;
    return e2e_out_set(k, 0, E2E_FLOAT, &ch->b.out[0]->shape);
}

static e2e_status chain_run(e2e_kernel *k)
{
    e2e_conv_chain *ch = k->priv;
    const conv_priv *p1 = ch->a.priv, *p2 = ch->b.priv;
    const float *X = k->in[0]->data;
    float *Y = k->out[0]->data, *mid = (float *)((char *)k->ws + ch->mid_at);
    ch->a.ws = ch->b.ws = k->ws;
    ch->a.err = ch->b.err = k->err;
    const int64_t u1 = p1->rows < p1->units ? p1->rows : p1->units;
    const int64_t u2 = 2 * u1 < p1->units ? 2 * u1 : p1->units;
    for (int64_t n = 0; n < p1->N; n++) {
        const float *x = X + n * p1->C * p1->isp, *xn = x + p1->C * p1->isp;
        float *y = Y + n * p2->M * p2->ysp;
        const bool more = n + 1 < p1->N;
        /* prefetch hints: while the first runs its last chunk, the next image's first chunk of
           input and the second's first output rows come in; while the second runs its last
           chunk, the next image's second chunk of input */
        e2e_conv_bf16_next na = e2e_conv_bf16_next_of(p2, mid, y, 0, p2->rows), nb;
        if (more) {
            const e2e_conv_bf16_next in = e2e_conv_bf16_next_of(p1, xn, mid, 0, u1);
            na.base[0] = in.base[0];
            na.n[0] = in.n[0];
            na.stride[0] = in.stride[0];
            na.len[0] = in.len[0];
            nb = e2e_conv_bf16_next_of(p1, xn, mid, u1, u2);
            nb.n[1] = 0; /* the intermediate is in cache */
        }
        e2e_conv_run_images(&ch->a, x, mid, 1, &na);
        e2e_conv_run_images(&ch->b, mid, y, 1, more && u2 > u1 ? &nb : NULL);
    }
    return E2E_OK;
}

const e2e_op_def e2e_op_conv_chain = {"ConvChain", chain_prepare, chain_run, chain_release, 0};
