//===- AttnOps.td - Operations of the attn dialect ---------*- tablegen -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
//
// The ops of the attn dialect. Shape relations between operands are checked
// by the C++ verifiers in AttnOps.cpp; every verifier message has a case in
// test/Dialect/Attn/invalid.mlir.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_DIALECT_ATTN_ATTNOPS_TD
#define ATTNC_DIALECT_ATTN_ATTNOPS_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "dialects/Attn/AttnDialect.td"
include "dialects/Attn/AttnEnums.td"

def Attn_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Attn_IndexTensor : RankedTensorOf<[I32, I64]>;

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

def Attn_AttentionOp : Attn_RegionOp<"attention", [AttrSizedOperandSegments]> {
  let summary = "Attention with score and mask functions";
  let description = [{
    Computes attention over the layout `[B, H, N, D]`: for every batch `b`,
    query head `h` and query row `i`, a normalized sum over the keys `j`:

    ```
    s_p     = queries[p][b, h, i] . keys[p][b, h / Gk_p, j]   (p < P)
    s_j     = score(s_1, ..., s_P, b, h, i, j)                 for visible j
    o[b, h, i] = sum_j w_j * value[b, h / Gv, j]
    ```

    The `P >= 0` row dot products are the operands of `ins` before the
    value, as pairs: `ins(%q1, %k1, %q2, %k2, %v : ...)`. Query `p` is
    `[B, H, N, D_p]`, key `p` is `[B, Hk_p, M, D_p]` and the value is
    `[B, Hv, M, Dv]`; each of `Hk_p` and `Hv` divides `H`, and `Gk_p = H /
    Hk_p`, `Gv = H / Hv` are the group sizes (grouped-query attention,
    multi-query `Hk = 1`, and keys and values with different head counts).
    The output is `[B, H, N, Dv]`. Without dot products (`P = 0`, a score of
    indices and tensors only), `outs(%init)` gives `B`, `H` and `N` (its
    contents are not read), and the score region is required.

    The weights `w` come from the `normalizer`:

    - `softmax`: `w_j = exp(s_j) / sum_j' exp(s_j')`; a row with no visible
      key gives 0;
    - `sigmoid`: `w_j = sigmoid(s_j + bias)` (`bias` is 0 when absent);
    - `sum`: `w_j = s_j / sum_j' s_j'`; a row with no visible key gives 0;
    - `none`: `w_j = s_j`.

    Key `j` is visible to query `i` when the `mask` region yields true and,
    with a `block_mask` operand of shape `[B, H, NBq, NBk]` and
    `block_sizes = [BQ, BK]`, when `block_mask[b, h, i floordiv BQ,
    j floordiv BK]` is true.

    The `score` region has arguments `(%s_1, ..., %s_P, %b, %h, %i, %j)`,
    the raw dot products (of the queries' element type) and the indices, and yields
    the score. The `mask` region has arguments `(%b, %h, %i, %j)` and yields
    an `i1`. Either region may be empty, meaning, with `P = 1`, the identity
    score, and "every key visible". The regions are not isolated from above:
    they may read tensors defined outside (slopes, segment ids) with
    `tensor.extract`.

    With `with_lse` (softmax only) a second result holds the log-sum-exp of
    the visible scores of each row, `[B, H, N]` in f32.

    Example (causal grouped-query attention with a soft-capped score):

    ```mlir
    %o = attn.attention softmax
        ins(%q, %k, %v : tensor<2x8x?x64xf32>, tensor<2x2x?x64xf32>,
                         tensor<2x2x?x64xf32>)
        -> tensor<2x8x?x64xf32>
        score {
        ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
          %c = arith.constant 30.0 : f32
          %d = arith.divf %s, %c : f32
          %t = math.tanh %d : f32
          %r = arith.mulf %t, %c : f32
          attn.yield %r : f32
        }
        mask {
        ^bb0(%b: index, %h: index, %i: index, %j: index):
          %m = arith.cmpi ule, %j, %i : index
          attn.yield %m : i1
        }
    ```
  }];

  let arguments = (ins Attn_NormalizerAttr:$normalizer,
                       Variadic<Attn_FloatTensor>:$queries,
                       Variadic<Attn_FloatTensor>:$keys,
                       Attn_FloatTensor:$value,
                       Optional<Attn_FloatTensor>:$init,
                       Optional<AnyFloat>:$bias,
                       Optional<RankedTensorOf<[I1]>>:$block_mask,
                       OptionalAttr<DenseI64ArrayAttr>:$block_sizes,
                       UnitAttr:$with_lse);
  let results = (outs Attn_FloatTensor:$output,
                      Optional<RankedTensorOf<[F32]>>:$lse);
  let regions = (region MaxSizedRegion<1>:$score, MaxSizedRegion<1>:$mask);

  let assemblyFormat = [{
    custom<Normalizer>($normalizer) (`with_lse` $with_lse^)?
    `ins` `(` custom<AttentionInputs>($queries, $keys, $value, type($queries),
                                      type($keys), type($value)) `)`
    (`outs` `(` $init^ `:` type($init) `)`)?
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`block_mask` `(` $block_mask^ `:` type($block_mask) `)`)?
    (`block_sizes` `=` $block_sizes^)?
    attr-dict `->` type(results)
    (`score` $score^)?
    (`mask` $mask^)?
  }];

  let hasVerifier = 1;
  let hasCanonicalizer = 1;

  let extraClassDeclaration = [{
    /// The number of row dot products, P.
    unsigned getNumDots() { return getQueries().size(); }
    /// The query heads that share key `p`'s head: H / Hk_p, or
    /// ShapedType::kDynamic when a head count is dynamic.
    int64_t getKeyGroupSize(unsigned p);
    /// The query heads that share a value head: H / Hv.
    int64_t getValueGroupSize();
    /// The operand whose dims 0..2 are B, H and N: the first query, or
    /// the init without queries.
    Value getRowShapeSource() {
      return getQueries().empty() ? getInit() : getQueries().front();
    }
    /// The element type of the scores: the queries', or the init's without
    /// queries.
    Type getScoreType() {
      return cast<RankedTensorType>(getRowShapeSource().getType())
          .getElementType();
    }
  }];
}

//===----------------------------------------------------------------------===//
// ScanOp
//===----------------------------------------------------------------------===//

def Attn_ScanOp : Attn_RegionOp<"scan"> {
  let summary = "A map over batch indices of a sequential loop over time";
  let description = [{
    For every batch index `(b_1, ..., b_k)` in `batch_sizes`, runs a loop
    `t = 0 .. length - 1` that carries a list of state tensors. The `init`
    region, with the batch indices as arguments, yields the initial states
    (terminated by `attn.yield`). The `body` region has arguments
    `(b_1, ..., b_k, t, state_1, ..., state_n)` and ends with
    `attn.scan_yield emit(%e) state(%s_1, ..., %s_n)`: `%e` is the value
    emitted at step `t` and the `%s` are the next states.

    Results: `output : [batch..., length, emit...]`, the emits stacked over
    batch and time, then the final states `[batch..., state...]`.

    `chunk = C` splits time into chunks `[0, C), [C, 2C), ...`. With
    `C > 1` the body has `n` more arguments after the states: the states as
    they were at the start of `t`'s chunk (before step `C * floor(t / C)`).
    Reading them, instead of the current states, is how a program takes its
    gradients at the chunk-start weights (Titans' mini-batch gradient
    descent): the chunk is part of the semantics, not a hint. `C = 1` (the
    default) has no extra arguments. `linear_in_state` says that every state
    update is affine in the state (`S' = A_t S + B_t`), which permits the
    chunkwise-parallel lowering.

    `transitions`, one per state, names the kind of `A_t` the front end
    found: `identity` (linear attention), `scalar_decay` (RetNet, Mamba2),
    `diagonal_gate` (GLA, HGRN: an elementwise or per-row gate),
    `low_rank` (identity or a gate times `I - b k^T` on one side: DeltaNet,
    gated DeltaNet), `affine` (none of those) or `nonlinear`.
    `emit_form` says how the emit depends on the states: `linear`, `ratio`
    (of two linear forms, `S^T q / dot(z, q)`) or `nonlinear`. With
    `transitions`, `linear_in_state` is set exactly when no state is
    `nonlinear`.

    The chunkwise factors. When the front end has written the step as a
    linear recurrence of a form `attn-chunk-scans` lowers (ScanFactors.h),
    `chunk_recurrence` names it and the optional `factors` region, with
    arguments `(b_1, ..., b_k, t)`, yields the step's factors, none of which
    reads a state: `q_t, k_t : tensor<K>`, `v_t : tensor<V>`, then
    `a_t` (`f32`, or `tensor<K>` for a per-key gate; absent when
    `chunk_decay` is `none`), then `beta_t : f32` when `chunk_beta` is set.
    With `M` the key-major matrix state (`[K, V]`):

    - `linear`: `M_t = diag(a_t) M_{t-1} + beta_t k_t v_t^T`;
    - `delta`:  `M_t = a_t (I - beta_t k_t k_t^T) M_{t-1} + beta_t k_t v_t^T`;

    and the emit is `M_t^T q_t`, divided by `z_t . q_t` when a state is the
    `normalizer` `z_t = a_t z_{t-1} + k_t`. `chunk_states` gives each
    state's role: `key_value` (it is `M`), `value_key` (it is `M^T`) or
    `normalizer`. The body stays the semantics (the interpreter runs it);
    the factors are what the chunkwise-parallel lowering computes from.

    The regions may read values defined above them (inputs indexed by the
    batch indices and `t`).

    Example (a running sum over time, per batch row: `S_t = S_{t-1} + x_t`,
    emitting `S_t`):

    ```mlir
    %y, %s = attn.scan batch(%B) length(%N) linear_in_state
        -> tensor<?x?x64xf32>, tensor<?x64xf32>
        init {
        ^bb0(%b: index):
          %z = arith.constant dense<0.0> : tensor<64xf32>
          attn.yield %z : tensor<64xf32>
        }
        body {
        ^bb0(%b: index, %t: index, %S: tensor<64xf32>):
          %xt = tensor.extract_slice %x[%b, %t, 0] [1, 1, 64] [1, 1, 1]
              : tensor<?x?x64xf32> to tensor<64xf32>
          %S1 = arith.addf %S, %xt : tensor<64xf32>
          attn.scan_yield emit(%S1 : tensor<64xf32>)
                          state(%S1 : tensor<64xf32>)
        }
    ```
  }];

  let arguments = (ins Variadic<Index>:$batch_sizes,
                       Index:$length,
                       ConfinedAttr<DefaultValuedAttr<I64Attr, "1">,
                                    [IntMinValue<1>]>:$chunk,
                       UnitAttr:$linear_in_state,
                       OptionalAttr<StrArrayAttr>:$transitions,
                       OptionalAttr<StrAttr>:$emit_form,
                       OptionalAttr<StrAttr>:$chunk_recurrence,
                       OptionalAttr<StrAttr>:$chunk_decay,
                       UnitAttr:$chunk_beta,
                       OptionalAttr<StrArrayAttr>:$chunk_states);
  let results = (outs AnyRankedTensor:$output,
                      Variadic<AnyRankedTensor>:$finals);
  let regions = (region SizedRegion<1>:$init, SizedRegion<1>:$body,
                        MaxSizedRegion<1>:$factors);

  let assemblyFormat = [{
    (`batch` `(` $batch_sizes^ `)`)? `length` `(` $length `)`
    (`chunk` $chunk^)? (`linear_in_state` $linear_in_state^)?
    attr-dict `->` type(results)
    `init` $init
    `body` $body
    (`factors` $factors^)?
  }];

  let hasVerifier = 1;

  let extraClassDeclaration = [{
    /// The number of batch dimensions.
    unsigned getNumBatchDims() { return getBatchSizes().size(); }
    /// The number of state tensors.
    unsigned getNumStates() { return getFinals().size(); }
    ::mlir::LogicalResult verifyFactors(
        ::llvm::ArrayRef<::mlir::RankedTensorType> stateTypes);
    /// Removes the chunkwise factors (the factors region and the chunk_*
    /// attributes), leaving the step-by-step scan.
    void dropChunkFactors();
  }];
}

def Attn_ScanYieldOp : Attn_Op<"scan_yield",
    [Terminator, HasParent<"ScanOp">, ReturnLike]> {
  let summary = "Terminator of the body of attn.scan";
  let description = [{
    Yields the value emitted at this time step and the next states.

    ```mlir
    attn.scan_yield emit(%e : tensor<64xf32>) state(%s : tensor<64x64xf32>)
    ```
  }];
  let arguments = (ins AnyType:$emit, Variadic<AnyRankedTensor>:$states);
  let assemblyFormat = [{
    `emit` `(` $emit `:` type($emit) `)`
    (`state` `(` $states^ `:` type($states) `)`)? attr-dict
  }];
}

//===----------------------------------------------------------------------===//
// YieldOp
//===----------------------------------------------------------------------===//

def Attn_YieldOp : Attn_Op<"yield",
    [Terminator, ParentOneOf<["AttentionOp", "ScanOp", "GradOp"]>,
     ReturnLike]> {
  let summary = "Terminator of attention, scan-init and grad regions";
  let description = [{
    Yields the values of a region: the score (`attn.attention` score
    region), the visibility bit (mask region), the initial states
    (`attn.scan` init region) or the loss (`attn.grad`).

    ```mlir
    attn.yield %s : f32
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

//===----------------------------------------------------------------------===//
// Selection: TopKOp, TopPOp, ArgMaxOp
//===----------------------------------------------------------------------===//

def Attn_TopKOp : Attn_Op<"topk"> {
  let summary = "Indices of the k largest values along the last dimension";
  let description = [{
    For `input : [..., C]` returns `indices : [..., k]` (i32), the indices of
    the `k` largest values of each row in decreasing order of value; ties go
    to the lower index.

    ```mlir
    %i = attn.topk %x k = 4 : tensor<?x128xf32> -> tensor<?x4xi32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$input,
                       ConfinedAttr<I64Attr, [IntMinValue<1>]>:$k);
  let results = (outs RankedTensorOf<[I32]>:$indices);
  let assemblyFormat = [{
    $input `k` `=` $k attr-dict `:` type($input) `->` type($indices)
  }];
  let hasVerifier = 1;
}

def Attn_TopPOp : Attn_Op<"topp", [
    TypesMatchWith<"mass has the element type of input", "input", "mass",
                   "::llvm::cast<::mlir::ShapedType>($_self).getElementType()">
  ]> {
  let summary = "Smallest set of largest values reaching a probability mass";
  let description = [{
    For `input : [..., C]` returns a mask `[..., C]` of i1 selecting, in each
    row, the smallest set of entries, taken largest first (ties to the lower
    index), whose values sum to at least `mass`. When the row total is below
    `mass`, every entry is selected.

    ```mlir
    %m = attn.topp %a, %gamma : tensor<?x16x16xf32> -> tensor<?x16x16xi1>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$input, AnyFloat:$mass);
  let results = (outs RankedTensorOf<[I1]>:$selected);
  let assemblyFormat = [{
    $input `,` $mass attr-dict `:` type($input) `->` type($selected)
  }];
  let hasVerifier = 1;
}

def Attn_ArgMaxOp : Attn_Op<"argmax"> {
  let summary = "Index of the largest value along the last dimension";
  let description = [{
    For `input : [..., C]` returns `[...]` (i32), the index of the largest
    value of each row; ties go to the lowest index.

    ```mlir
    %i = attn.argmax %x : tensor<?x8xf32> -> tensor<?xi32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$input);
  let results = (outs RankedTensorOf<[I32]>:$result);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// GatherOp
//===----------------------------------------------------------------------===//

def Attn_GatherOp : Attn_Op<"gather", [
    AllElementTypesMatch<["source", "result"]>]> {
  let summary = "Gather rows of a tensor by index";
  let description = [{
    For `source : [C, R...]` and `indices : [K...]` returns
    `result : [K..., R...]` with `result[k..., r...] =
    source[indices[k...], r...]`. Indices are i32 or i64.

    ```mlir
    %g = attn.gather %src[%idx] : tensor<64x32xf32>, tensor<?x4xi32>
        -> tensor<?x4x32xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$source, Attn_IndexTensor:$indices);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $source `[` $indices `]` attr-dict `:` type($source) `,` type($indices)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// PoolOp
//===----------------------------------------------------------------------===//

def Attn_PoolOp : Attn_Op<"pool", [AllElementTypesMatch<["input", "result"]>]> {
  let summary = "Mean of blocks of rows along the first dimension";
  let description = [{
    For `input : [N, R...]` returns `result : [N / block_size, R...]`,
    `result[I, r...] = mean_{i < block_size} input[I * block_size + i, r...]`.
    `N` must be a multiple of `block_size`.

    ```mlir
    %p = attn.pool %q block_size = 64 : tensor<1024x64xf32>
        -> tensor<16x64xf32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$input,
                       ConfinedAttr<I64Attr, [IntMinValue<1>]>:$block_size);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    $input `block_size` `=` $block_size attr-dict `:` type($input)
    `->` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Conv1DOp
//===----------------------------------------------------------------------===//

def Attn_Conv1DOp : Attn_Op<"conv1d", [
    AllTypesMatch<["input", "result"]>,
    AllElementTypesMatch<["input", "filter"]>]> {
  let summary = "Causal depthwise 1-D convolution";
  let description = [{
    For `input : [N, C]` and `filter : [K, C]` returns `result : [N, C]` with
    `result[n, c] = sum_{k < K} filter[k, c] * input[n - K + 1 + k, c]`,
    where rows with a negative index read zero.

    ```mlir
    %y = attn.conv1d %x, %w : tensor<?x256xf32>, tensor<4x256xf32>
        -> tensor<?x256xf32>
    ```
  }];
  let arguments = (ins Attn_FloatTensor:$input, Attn_FloatTensor:$filter);
  let results = (outs Attn_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $filter attr-dict `:` type($input) `,` type($filter)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// GradOp
//===----------------------------------------------------------------------===//

def Attn_GradOp : Attn_RegionOp<"grad"> {
  let summary = "Reverse-mode gradient of a scalar loss";
  let description = [{
    The `loss` region has one argument per `wrt` operand, of the same type,
    and yields a scalar float: the loss as a function of those values. It
    may read other values defined above it, which are constants for the
    differentiation. The results are the gradients of the loss with respect
    to each `wrt` operand, evaluated at the operands, with their types. A
    later pass expands the op into the reverse-mode computation.

    ```mlir
    // d/dw (w[0] * x) = [x, 0, 0, 0], where %x is a captured constant.
    %g = attn.grad(%w : tensor<4xf32>) -> tensor<4xf32>
        loss {
        ^bb0(%a: tensor<4xf32>):
          %c0 = arith.constant 0 : index
          %a0 = tensor.extract %a[%c0] : tensor<4xf32>
          %l = arith.mulf %a0, %x : f32
          attn.yield %l : f32
        }
    ```
  }];
  let arguments = (ins Variadic<Attn_FloatTensor>:$wrt);
  let results = (outs Variadic<Attn_FloatTensor>:$gradients);
  let regions = (region SizedRegion<1>:$loss);
  let assemblyFormat = [{
    `(` $wrt `:` type($wrt) `)` attr-dict `->` type($gradients)
    `loss` $loss
  }];
  let hasVerifier = 1;
}

#endif // ATTNC_DIALECT_ATTN_ATTNOPS_TD
