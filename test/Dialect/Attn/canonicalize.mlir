// RUN: attnc-opt %s -canonicalize -split-input-file | FileCheck %s

// Folders and canonicalization patterns of the attn ops (AttnFolds.cpp).

// attn.pool with block_size 1 is the identity.
// CHECK-LABEL: func.func @pool_block_size_one
// CHECK-SAME:    %[[X:[^:]+]]: tensor<?x64xf32>
// CHECK-NOT:     attn.pool
// CHECK:         return %[[X]]
func.func @pool_block_size_one(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %p = attn.pool %x block_size = 1 : tensor<?x64xf32> -> tensor<?x64xf32>
  return %p : tensor<?x64xf32>
}

// -----

// A block size above 1 is kept.
// CHECK-LABEL: func.func @pool_kept
// CHECK:         attn.pool %{{.+}} block_size = 2
func.func @pool_kept(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %p = attn.pool %x block_size = 2 : tensor<?x64xf32> -> tensor<?x64xf32>
  return %p : tensor<?x64xf32>
}

// -----

// A mask region that yields the constant true is the empty mask region.
// CHECK-LABEL: func.func @attention_true_mask
// CHECK:         attn.attention softmax
// CHECK-NOT:     mask
// CHECK:         return
func.func @attention_true_mask(%q: tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32> {
  %o = attn.attention softmax
      ins(%q, %q, %q : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>,
                       tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index):
        %t = arith.constant true
        attn.yield %t : i1
      }
  return %o : tensor<1x4x16x8xf32>
}

// -----

// The constant may also be defined outside the region.
// CHECK-LABEL: func.func @attention_true_mask_captured
// CHECK:         attn.attention softmax
// CHECK-NOT:     mask
// CHECK:         return
func.func @attention_true_mask_captured(%q: tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32> {
  %t = arith.constant true
  %o = attn.attention softmax
      ins(%q, %q, %q : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>,
                       tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index):
        attn.yield %t : i1
      }
  return %o : tensor<1x4x16x8xf32>
}

// -----

// A mask that is not constant true stays, and so does a constant false one
// (it hides every key, which the empty region does not mean).
// CHECK-LABEL: func.func @attention_mask_kept
// CHECK-DAG:     %[[F:.+]] = arith.constant false
// CHECK:         attn.attention softmax
// CHECK-SAME:    mask {
// CHECK:           arith.cmpi
// CHECK:         attn.attention softmax
// CHECK-SAME:    mask {
// CHECK:           attn.yield %[[F]] : i1
func.func @attention_mask_kept(%q: tensor<1x4x16x8xf32>)
    -> (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) {
  %o = attn.attention softmax
      ins(%q, %q, %q : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>,
                       tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index):
        %c = arith.cmpi ule, %j, %i : index
        attn.yield %c : i1
      }
  %p = attn.attention softmax
      ins(%q, %q, %q : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>,
                       tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index):
        %f = arith.constant false
        attn.yield %f : i1
      }
  return %o, %p : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>
}

// -----

// A score region that yields its score argument is the identity score; the
// mask region next to it is kept.
// CHECK-LABEL: func.func @attention_identity_score
// CHECK:         attn.attention softmax
// CHECK-NOT:     score
// CHECK-SAME:    mask {
// CHECK:           arith.cmpi
func.func @attention_identity_score(%q: tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32> {
  %o = attn.attention softmax
      ins(%q, %q, %q : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>,
                       tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
        attn.yield %s : f32
      }
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index):
        %c = arith.cmpi ule, %j, %i : index
        attn.yield %c : i1
      }
  return %o : tensor<1x4x16x8xf32>
}

// -----

// A score region that changes the score is kept.
// CHECK-LABEL: func.func @attention_score_kept
// CHECK:         attn.attention softmax
// CHECK-SAME:    score {
// CHECK:           arith.mulf
func.func @attention_score_kept(%q: tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32> {
  %o = attn.attention softmax
      ins(%q, %q, %q : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>,
                       tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
        %c = arith.constant 0.125 : f32
        %r = arith.mulf %s, %c : f32
        attn.yield %r : f32
      }
  return %o : tensor<1x4x16x8xf32>
}

// -----

// A block mask that is the constant splat true hides nothing: the operand
// and block_sizes go.
// CHECK-LABEL: func.func @attention_true_block_mask
// CHECK:         attn.attention softmax ins(%{{.+}}, %{{.+}}, %{{.+}} : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
// CHECK-NOT:     block_
// CHECK:         return
func.func @attention_true_block_mask(%q: tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32> {
  %bm = arith.constant dense<true> : tensor<1x4x2x2xi1>
  %o = attn.attention softmax
      ins(%q, %q, %q : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>,
                       tensor<1x4x16x8xf32>)
      block_mask(%bm : tensor<1x4x2x2xi1>) block_sizes = [8, 8]
      -> tensor<1x4x16x8xf32>
  return %o : tensor<1x4x16x8xf32>
}

// -----

// A block mask that is not all true is kept.
// CHECK-LABEL: func.func @attention_block_mask_kept
// CHECK:         attn.attention softmax {{.*}} block_mask(%{{.+}} : tensor<1x4x2x2xi1>) block_sizes = [8, 8]
func.func @attention_block_mask_kept(%q: tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32> {
  %bm = arith.constant dense<[[[[true, false], [true, true]], [[true, false], [true, true]], [[true, false], [true, true]], [[true, false], [true, true]]]]> : tensor<1x4x2x2xi1>
  %o = attn.attention softmax
      ins(%q, %q, %q : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>,
                       tensor<1x4x16x8xf32>)
      block_mask(%bm : tensor<1x4x2x2xi1>) block_sizes = [8, 8]
      -> tensor<1x4x16x8xf32>
  return %o : tensor<1x4x16x8xf32>
}
