/* What engine/passes/fuse_qdq.c hands to the quantized kernels of ops_quant.c when it folds a QDQ
   pattern into QLinearConv / QLinearMatMul: the private state their prepare takes over (the
   fused node has no attributes). Both return NULL when out of memory; the result is freed by
   the kernel (or by the pass's e2e_fuse_make_kernel on failure, with free()). */
#ifndef E2E_OPS_QUANT_H
#define E2E_OPS_QUANT_H

#include "ops/conv_internal.h"

/* QLinearConv with the geometry of a prepared Conv (e2e_conv_geometry's fields of g); relu:
   the Conv's output went through Relu before QuantizeLinear. */
void *e2e_qlinearconv_handover(const conv_priv *g, bool relu);
/* QLinearMatMul of a MatMul or Gemm (transb: B is [N, K], Gemm's transB = 1) with a bias
   in[8] (int32 [N], optional). */
void *e2e_qlinearmatmul_handover(bool transb, bool relu);

/* MaxPool 2x2 / stride 2 / no padding on int8 or uint8 [N, C, H, W] (floor); not in the
   registry: made by the QDQ pass from DequantizeLinear -> MaxPool -> QuantizeLinear. */
extern const e2e_op_def e2e_op_qmaxpool2x2;

#endif
