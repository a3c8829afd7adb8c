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

def AttnOutlineKernelsPass : Pass<"attn-outline-kernels", "::mlir::ModuleOp"> {
  let summary = "Outline kernel ops into private functions, one per distinct kernel";
  let description = [{
    Moves every kernel op of a `func.func` into a private function
    `@attnc.kernel.<op>` and replaces it by a `func.call` with `no_inline`.
    Kernels are `attn.attention` and linalg ops on tensors with a loop nest
    worth compiling on its own: named contractions (matmul, batch_matmul,
    matvec, ...), `linalg.generic` with a computing body, `linalg.softmax`,
    `linalg.reduce` and `linalg.transpose`. `linalg.fill`, `linalg.copy`,
    `linalg.broadcast` and generics whose body only yields are left in
    place. Kernels are looked for in function bodies and `scf` regions, not
    inside other ops' regions (`attn.scan` steps, linalg bodies).

    The op's operands become the function's arguments. Values its regions
    read from above (a score region's slopes, a generic's scalar) are
    cloned into the function when they are constants and become extra
    arguments otherwise.

    Ops that are the same kernel share one function: same op, attributes,
    properties, operand and result types, and structurally equal regions,
    where values defined inside the regions must correspond one to one
    (`cmpi sge, %i, %j` and `cmpi sge, %j, %i` differ), constants read
    from above must be equal and other values read from above must be read
    at the same places. The operands themselves only need equal types.

    Example: two identical matmuls

    ```mlir
    %0 = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x4xf32>)
                       outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
    %1 = linalg.matmul ins(%0, %b : tensor<4x4xf32>, tensor<8x4xf32>) ...
    ```

    become calls of one function:

    ```mlir
    func.func private @attnc.kernel.matmul(%arg0: tensor<4x8xf32>, ...)
    %0 = func.call @attnc.kernel.matmul(%a, %b, %c) {no_inline} : ...
    ```
  }];
  let options = [
    Option<"minUses", "min-uses", "unsigned", /*default=*/"1",
           "Outline a kernel only when at least this many ops share it">,
    Option<"llvmNoInline", "llvm-noinline", "bool", /*default=*/"true",
           "Mark functions shared by several ops `noinline` for LLVM too "
           "(the `passthrough` attribute), so that LLVM's inliner does not "
           "undo the deduplication">,
    Option<"outlineCaptures", "outline-captures", "bool", /*default=*/"false",
           "Also outline kernels whose regions read values defined above "
           "them other than constants (as extra arguments). Off by default: "
           "r06's routing attention, whose mask reads the cluster ids, "
           "computed wrong results outlined this way; not understood yet">,
  ];
  let statistics = [
    Statistic<"numOutlined", "num-outlined", "Kernel ops replaced by calls">,
    Statistic<"numFunctions", "num-functions", "Kernel functions created">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def AttnLowerAttentionPass : Pass<"attn-lower-attention", "::mlir::func::FuncOp"> {
  let summary = "Lower attn.attention to tiled online-softmax loops";
  let description = [{
    Replaces every `attn.attention` by a loop nest that never materializes
    the N x M score matrix: a parallel `scf.forall` over (batch, head,
    query tile) and, inside it, a sequential loop over key tiles that keeps
    the FlashAttention running max, running sum and rescaled accumulator
    (softmax), or plain accumulation (sigmoid, none). The score and mask
    regions are inlined per element. For each (query tile, key tile) pair
    the mask region is evaluated on intervals: a tile it proves empty is
    never visited, a tile it proves full skips the mask, and only the
    others evaluate it per element. Data-dependent masks (a
    `tensor.extract` in the region) make tiles partial, which is always
    correct.

    The loops work on memrefs obtained with `bufferization.to_buffer` and
    the result is returned with `bufferization.to_tensor`, so the rest of
    the function still bufferizes with one-shot bufferization.
  }];
  let options = [
    Option<"tileQ", "tile-q", "int64_t", /*default=*/"32",
           "Queries per tile (rows of one task of the parallel loop)">,
    Option<"tileK", "tile-k", "int64_t", /*default=*/"64",
           "Keys per tile (columns of one step of the online softmax)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::vector::VectorDialect"];
}

def AttnLowerScanPass : Pass<"attn-lower-scan", "::mlir::func::FuncOp"> {
  let summary = "Lower attn.scan to a sequential scf.for over time";
  let description = [{
    Replaces every `attn.scan` (innermost first) by an `scf.forall` over
    its batch indices (they are independent) around an `scf.for` over the
    time axis. The loop carries the states as tensor iteration arguments,
    inlines the init and step regions and inserts each step's emit into the
    row of the stacked output (`tensor.insert_slice`, or `tensor.insert`
    for a scalar emit); the rows and final states go back with
    `tensor.parallel_insert_slice`. A scan without batch dimensions is just
    the `scf.for`. With `chunk = C > 1` the chunk-start states are more
    iteration arguments, refreshed when `t mod C == 0`. Next states are
    `linalg.copy`'d into the current ones, so that one-shot-bufferize keeps
    the loop buffers in place. Emit and state extents must be static (batch
    and time may be dynamic). Any `attn.grad` must have been expanded by
    `attn-differentiate` first; the pass fails on one.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def AttnChunkScansPass : Pass<"attn-chunk-scans", "::mlir::func::FuncOp"> {
  let summary = "Lower linear scans with chunkwise factors chunk by chunk";
  let description = [{
    Replaces every `attn.scan` that carries chunkwise factors
    (`chunk_recurrence`, see attn.scan) by the chunkwise-parallel form of
    its recurrence, exact up to floating-point reassociation:

    ```
    if N >= C:
      scf.forall (b...):                  -- one task per batch index
        M = init (transposed for a value_key state), z = init
        for each chunk of C steps (the last one zero-padded):
          rows Q, K, V, decay, beta = <factors region> at each step
          g = cumulative log decay            (per key for a vector gate)
          P = (Q K^T) * exp(g_i - g_j), j <= i
          delta rule: A = beta_i (K K^T) * exp(g_i - g_j), j < i;
                      forward substitution (I + A) [U | W] =
                      [beta V | beta e^g K];  D = U - W M
          linear:     D = beta V
          O = (e^g * Q) M + P D    (/ (rowsum P + (e^g * Q) z))
          M = e^{g_C} M + (e^{g_C - g} * K)^T D,  z = e^{g_C} z + sum ...
    if N < C or a result is not finite: the step-by-step scan, into the
                                        same result buffers
    ```

    Every exponent is `<= 0` for decays in `(0, 1]`. The step-by-step scan
    (lowered by attn-lower-scan) stays for `N < C` and for inputs whose
    chunked result is not finite (a decay `<= 0` or NaN, an overflow), so
    that the result is then the interpreter's. The products are vector
    micro-kernels (register blocks of 4 rows by `block-vectors` vectors of
    16 lanes) on memrefs. A scan whose key or value
    size is not a multiple of 16 keeps its step-by-step form, with a remark.
  }];
  let options = [
    Option<"chunkSize", "chunk-size", "int64_t", /*default=*/"64",
           "Time steps per chunk (a multiple of 16, at most 256)">,
    Option<"blockVectors", "block-vectors", "int64_t", /*default=*/"1",
           "16-lane vectors per register block of the products (1 or 2; "
           "2 wants 32 vector registers, as AVX-512 has)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::vector::VectorDialect"];
}

def AttnLowerSelectionPass : Pass<"attn-lower-selection", "::mlir::func::FuncOp"> {
  let summary = "Lower attn.topk, topp, argmax, gather, pool and conv1d to loops";
  let description = [{
    Replaces the selection ops (`attn.topk`, `attn.topp`, `attn.argmax`)
    and the data-movement ops (`attn.gather`, `attn.pool`, `attn.conv1d`)
    by `tensor.generate` ops (and `linalg.generic` ones for the ranks and
    orders that are read more than once, which canonicalization must not
    fold back into their readers) whose bodies are `tensor.extract`s, `arith`
    scalars and `scf.for` loops, with the same semantics and the same order
    of floating-point operations as the reference interpreter: ties go to
    the lower index, NaN ranks below every number, sums run in the
    interpreter's order. The selections are O(C^2) per row of C entries.
    What the interpreter reports as an error at run time is a `cf.assert`
    here (a gather index outside the source's rows, a pooled dimension that
    is not a multiple of the block size), and reads stay in bounds.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::cf::ControlFlowDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def AttnAddStepEntriesPass : Pass<"attn-add-step-entries", "::mlir::ModuleOp"> {
  let summary = "Add NAME_step, which resumes the scans of NAME from given states";
  let description = [{
    For every public function `@NAME` with `attn.scan` ops at its top level,
    adds `@NAME_step`: the same arguments plus one per state of each scan
    (`[batch..., state...]`, in the order of the scans and their states),
    the same results plus the scans' final states. Each scan's init region
    becomes a read of its state arguments at the batch indices:

    ```mlir
    init {
    ^bb0(%b: index, %h: index):
      %s = tensor.extract_slice %S_in[%b, %h, 0, 0] [1, 1, 64, 64] [1, 1, 1, 1]
          : tensor<?x8x64x64xf32> to tensor<64x64xf32>
      attn.yield %s : tensor<64x64xf32>
    }
    ```

    Run over N1 tokens and then, from the returned states, over N2 more,
    `@NAME_step` gives what one run over N1 + N2 tokens gives; with one
    token it is a decode step. A function that cannot resume that way gets
    no step entry and a remark saying why: a chunked scan (`chunk > 1`), a
    scan body that computes with its time index `t` or with the sequence
    length, or an op outside the scans that reads a tensor over time
    (`attn.conv1d`, `attn.attention`, a reduction over time, ...). The time
    axis of each argument is inferred from the scans: the dimension their
    length is taken from and the positions at which their bodies read it
    with `t` (`attnc build` passes the axes from the source types instead).
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

#endif // ATTNC_TRANSFORMS_PASSES_TD
