//===- Passes.td - The attn-* transformation passes --------*- tablegen -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
//
// The dialect/transform passes of attnc (flags `attn-*`, STYLE.md §3). Each
// pass has a test under test/Transforms that mentions its flag.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_TRANSFORMS_PASSES_TD
#define ATTNC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnRecognizeAttentionPass : Pass<"attn-recognize-attention"> {
  let summary = "Raise linalg scaled dot-product attention to attn.attention";
  let description = [{
    Finds scaled dot-product attention spelled in linalg on rank-3 tensors
    `q : [B, N, D]`, `k : [B, M, D]`, `v : [B, M, Dv]`:

    ```
    kt = linalg.transpose k permutation = [0, 2, 1]     (or a batch_matmul
    s  = linalg.batch_matmul q, kt  (zero-filled outs)   with transposed-B
    s' = linalg.generic { s * c | s / c }   (optional)   indexing maps)
    s''= linalg.generic { select(cond(b, i, j), s', -inf) }     (optional)
    p  = linalg.softmax dimension(2) s''
    o  = linalg.batch_matmul p, v   (zero-filled outs)
    ```

    and replaces `o` with a single-head `attn.attention softmax` between
    `tensor.expand_shape` (a unit head dimension at position 1) and
    `tensor.collapse_shape`. The scale becomes the score region
    (`%s * c` or `%s / c`), the mask condition the mask region, with
    `linalg.index 0, 1, 2` read as `%b, %i, %j`.

    Every intermediate value must have the chain as its only user, the
    element types must be one float type and the shapes must agree;
    otherwise the IR is left as it is. Each head of a multi-head block is
    its own chain and becomes its own `attn.attention`.
  }];
  let dependentDialects = ["::mlir::attnc::attn::AttnDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

def AttnDifferentiatePass : Pass<"attn-differentiate"> {
  let summary = "Expand attn.grad into explicit reverse-mode derivative ops";
  let description = [{
    Replaces every `attn.grad` by the reverse-mode computation of its
    gradients, placed where the op was. The loss region's ops are cloned
    with the region arguments replaced by the `wrt` operands (the forward
    sweep); then, starting from an adjoint of 1 for the yielded loss, each
    op's adjoint rule runs in reverse order (the reverse sweep), adding
    contributions into the adjoints of its operands. The gradients are the
    accumulated adjoints of the region arguments (zero where the loss does
    not depend on one). Values defined above the region are constants.

    Example:

    ```mlir
    %g = attn.grad(%w : tensor<f32>) -> tensor<f32> loss {
    ^bb0(%a: tensor<f32>):
      %s = tensor.extract %a[] : tensor<f32>
      %e = math.exp %s : f32
      attn.yield %e : f32
    }
    ```

    becomes (forward sweep, then `ebar = 1`, `sbar = ebar * exp(s)` and
    the rank-0 gradient filled with `sbar`):

    ```mlir
    %s = tensor.extract %w[] : tensor<f32>
    %e = math.exp %s : f32
    %one = arith.constant 1.0 : f32
    %sbar = arith.mulf %one, %e : f32
    %empty = tensor.empty() : tensor<f32>
    %g = linalg.fill ins(%sbar : f32) outs(%empty : tensor<f32>)
        -> tensor<f32>
    ```

    Supported: arith float arithmetic, min/max, select, casts; math exp,
    log, sqrt, rsqrt, tanh, sin, cos, powf, fpowi, absf, erf, expm1, log1p;
    tensor.generate with element-wise bodies reading tensors at the
    generate's own or broadcast indices; tensor.extract, extract_slice,
    cast, empty; linalg.fill, transpose, matvec, vecmat, matmul,
    batch_matmul, dot, reduce (addf, maximumf) and softmax. Any other op
    that depends on a `wrt` value is an error naming the op, and so is a
    tensor.generate reading a differentiated tensor at other indices.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // ATTNC_TRANSFORMS_PASSES_TD
