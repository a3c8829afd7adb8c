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

#endif // ATTNC_TRANSFORMS_PASSES_TD
