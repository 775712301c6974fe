/* The pass tables: what runs between a model's graph and a session's plan, in order. Adding a
   pass: write it in its own file (fuse_<name>.c), declare it in fuse_internal.h (a pattern
   pass, tried on every kernel) or passes.h (a pass over the session), and list it here at
   the place it must run. docs/architecture.md explains the order. */
#include "engine/passes/fuse_internal.h"
#include "engine/passes/passes.h"

const e2e_pass e2e_passes[] = {
    /* one kernel per live node, prepared; constant subgraphs run once and become constants
       (folding); constant If conditions choose their branch */
    {"prepare+fold", false, e2e_session_prepare_kernels},
    /* quantize-dequantize groups become QLinearConv/QLinearMatMul (fuse_qdq.c) */
    {"qdq", true, e2e_fuse_qdq_all},
    /* the weights' DequantizeLinear that prepare left unfolded for "qdq": folded where still
       read, dropped unrun where not (session.c) */
    {"fold-deferred", false, e2e_session_fold_deferred},
    /* rewrites of prepared kernels (the table below), then dead kernels dropped */
    {"patterns", true, e2e_fuse_patterns},
    /* activation epilogues into Conv/Gemm/MatMul (after the patterns: GELU is one then) */
    {"activations", true, e2e_fuse_activations},
    /* a transformer head read at one token runs on that token (needs the fused LayerNorms,
       bias/residual epilogues and activations of the passes above) */
    {"token-select", true, e2e_fuse_token_select},
    /* removed kernels leave the list; every graph output must be computed */
    {"compact", false, e2e_session_compact},
    /* aliasing, in-place reuse, lifetimes, one arena (plan.c) */
    {"plan", false, e2e_plan_memory},
    {NULL, false, NULL},
};

/* The pattern passes, in the order they are tried: each runs over the whole kernel list
   before the next starts (the QDQ pattern runs before them all, as a pass of the table above). PatchEmbed before ConvPool and before the bias pass (all match a
   Conv or MatMul first); LayerNorm and GELU before attention and bias (their outputs feed
   the MatMuls those match). */
const e2e_pattern_pass e2e_pattern_passes[] = {
    {"patch-embed", e2e_fuse_patch_embed},
    {"layernorm", e2e_fuse_layernorm},
    {"gelu", e2e_fuse_gelu},
    {"attention", e2e_fuse_attention},
    {"bias", e2e_fuse_bias},
    {"conv-pool", e2e_fuse_conv_pool},
    {"conv-chain", e2e_fuse_conv_chain},
    {"edge-gather", e2e_fuse_edge_gather},
    {"pointwise-mlp", e2e_fuse_pointwise_mlp},
    {NULL, NULL},
};
