// RUN: attnc-opt %s -split-input-file -verify-diagnostics

// One case per verifier message of the attn ops.

//===----------------------------------------------------------------------===//
// attn.attention: ranks, element types, shapes
//===----------------------------------------------------------------------===//

func.func @f(%q: tensor<4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op query rank (3) must be 4}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op key rank (3) must be 4}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op value rank (3) must be 4}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op output rank (3) must be 4}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf16>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op key element type ('f16') does not match query element type ('f32')}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf16>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<2x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op key batch size (2) does not match query batch size (1)}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<2x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op value batch size (2) does not match query batch size (1)}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<2x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x2x16x8xf32>,
             %v: tensor<1x3x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op query head count (4) is not a multiple of value head count (3)}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x3x16x8xf32>)
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+2 {{expected (query, key) pairs and a value, got 2 operands}}
  %o = attn.attention softmax
      ins(%q, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %v: tensor<1x4x16x8xf32>) {
  // expected-error @+2 {{expected as many types as operands, got 1 for 3}}
  %o = attn.attention softmax
      ins(%q, %q, %v : tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op without queries needs outs(%init) for [B, H, N]}}
  %o = attn.attention softmax ins(%v : tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
      score {
      ^bb0(%b: index, %h: index, %i: index, %j: index):
        %c = arith.constant 0.0 : f32
        attn.yield %c : f32
      }
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %v: tensor<1x4x16x8xf32>,
             %e: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op outs(%init) is only for attention without queries}}
  %o = attn.attention softmax ins(%q, %q, %v : tensor<1x4x16x8xf32>,
                                  tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
      outs(%e : tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%v: tensor<1x4x16x8xf32>, %e: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op an empty score region (the identity score) needs exactly one query and key, got 0}}
  %o = attn.attention softmax ins(%v : tensor<1x4x16x8xf32>)
      outs(%e : tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %q2: tensor<1x4x16x4xf32>,
             %k2: tensor<1x4x16x4xf32>, %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op score region must have 6 arguments (2 dot products, b, h, i, j), got 5}}
  %o = attn.attention softmax
      ins(%q, %q, %q2, %k2, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>,
          tensor<1x4x16x4xf32>, tensor<1x4x16x4xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
        attn.yield %s : f32
      }
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %q2: tensor<1x4x8x4xf32>,
             %k2: tensor<1x4x16x4xf32>, %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op query 1 shape [1, 4, 8, 4] does not match query 0's [B, H, N] [1, 4, 16]}}
  %o = attn.attention softmax
      ins(%q, %q, %q2, %k2, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>,
          tensor<1x4x8x4xf32>, tensor<1x4x16x4xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
      score {
      ^bb0(%s: f32, %t: f32, %b: index, %h: index, %i: index, %j: index):
        attn.yield %s : f32
      }
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %q2: tensor<1x4x16x4xf32>,
             %k2: tensor<1x4x16x8xf32>, %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op key 1 head dim (8) does not match query 1 head dim (4)}}
  %o = attn.attention softmax
      ins(%q, %q, %q2, %k2, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>,
          tensor<1x4x16x4xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
      score {
      ^bb0(%s: f32, %t: f32, %b: index, %h: index, %i: index, %j: index):
        attn.yield %s : f32
      }
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x3x16x8xf32>,
             %v: tensor<1x3x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op query head count (4) is not a multiple of key head count (3)}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x3x16x8xf32>, tensor<1x3x16x8xf32>)
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x32x8xf32>) {
  // expected-error @+1 {{'attn.attention' op value sequence length (32) does not match key sequence length (16)}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x32x8xf32>)
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x4xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op key head dim (4) does not match query head dim (8)}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x4xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x6xf32>) {
  // expected-error @+1 {{'attn.attention' op output shape [1, 4, 16, 8] does not match [B, Hq, N, Dv] = [1, 4, 16, 6]}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x6xf32>)
      -> tensor<1x4x16x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// attn.attention: normalizer, bias and log-sum-exp
//===----------------------------------------------------------------------===//

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>, %bias: f32) {
  // expected-error @+1 {{'attn.attention' op bias requires the sigmoid normalizer}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) bias(%bias : f32)
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>, %bias: f16) {
  // expected-error @+1 {{'attn.attention' op bias type ('f16') does not match query element type ('f32')}}
  %o = attn.attention sigmoid
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) bias(%bias : f16)
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op with_lse requires the softmax normalizer}}
  %o, %l = attn.attention sigmoid with_lse
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>, tensor<1x4x16xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op with_lse requires an lse result}}
  %o = attn.attention softmax with_lse
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op lse shape [1, 4, 8] does not match [B, Hq, N] = [1, 4, 16]}}
  %o, %l = attn.attention softmax with_lse
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>, tensor<1x4x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op lse result requires with_lse}}
  %o, %l = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>, tensor<1x4x16xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// attn.attention: block mask
//===----------------------------------------------------------------------===//

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>, %bm: tensor<1x4x2x2xi1>) {
  // expected-error @+1 {{'attn.attention' op block_mask requires block_sizes}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) block_mask(%bm : tensor<1x4x2x2xi1>)
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op block_sizes requires block_mask}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) block_sizes = [8, 8]
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>, %bm: tensor<1x4x2xi1>) {
  // expected-error @+1 {{'attn.attention' op block_mask rank (3) must be 4}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) block_mask(%bm : tensor<1x4x2xi1>) block_sizes = [8, 8]
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>, %bm: tensor<1x4x2x2xi1>) {
  // expected-error @+1 {{'attn.attention' op block_sizes must have 2 entries [BQ, BK], got 1}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) block_mask(%bm : tensor<1x4x2x2xi1>) block_sizes = [8]
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>, %bm: tensor<1x4x2x2xi1>) {
  // expected-error @+1 {{'attn.attention' op block_sizes must be positive}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) block_mask(%bm : tensor<1x4x2x2xi1>) block_sizes = [8, 0]
      -> tensor<1x4x16x8xf32>
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>, %bm: tensor<1x4x2x2xi1>) {
  // expected-error @+1 {{'attn.attention' op block_mask shape [1, 4, 2, 2] does not match [B, Hq, ceil(N / BQ), ceil(M / BK)] = [1, 4, 2, 4]}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) block_mask(%bm : tensor<1x4x2x2xi1>) block_sizes = [8, 4]
      -> tensor<1x4x16x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// attn.attention: score and mask regions
//===----------------------------------------------------------------------===//

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op score region must have 5 arguments (s, b, h, i, j), got 1}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32> score {
      ^bb0(%s: f32):
        attn.yield %s : f32
      }
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op score region argument 0 type ('f16') does not match query element type ('f32')}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32> score {
      ^bb0(%s: f16, %b: index, %h: index, %i: index, %j: index):
        attn.yield %s : f16
      }
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op score region argument 3 must be index, got 'i64'}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32> score {
      ^bb0(%s: f32, %b: index, %h: index, %i: i64, %j: index):
        attn.yield %s : f32
      }
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op score region must end with attn.yield}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32> score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
        attn.scan_yield emit(%s : f32)
      }
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op score region must yield one value of type 'f32'}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32> score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
        attn.yield %s, %s : f32, f32
      }
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op mask region must have 4 arguments (b, h, i, j), got 5}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32> mask {
      ^bb0(%s: index, %b: index, %h: index, %i: index, %j: index):
        %t = arith.constant true
        attn.yield %t : i1
      }
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op mask region argument 0 must be index, got 'i32'}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32> mask {
      ^bb0(%b: i32, %h: index, %i: index, %j: index):
        %t = arith.constant true
        attn.yield %t : i1
      }
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op mask region must end with attn.yield}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32> mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index):
        %t = arith.constant true
        attn.scan_yield emit(%t : i1)
      }
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>,
             %v: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{'attn.attention' op mask region must yield one value of type i1}}
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32> mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index):
        attn.yield %i : index
      }
  return
}

// -----

func.func @f(%q: tensor<1x4x16x8xf32>) {
  // expected-error @+1 {{expected a normalizer (softmax, sigmoid, sum or none), got 'softermax'}}
  %o = attn.attention softermax
      ins(%q, %q, %q : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>)
      -> tensor<1x4x16x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// attn.scan
//===----------------------------------------------------------------------===//

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op body region must have 3 arguments (0 batch indices, the time, 1 states, the states at the chunk's start), got 2}}
  %y, %s = attn.scan length(%n) chunk 4 -> tensor<?xf32>, tensor<4xf32>
      init {
        %z = arith.constant dense<0.0> : tensor<4xf32>
        attn.yield %z : tensor<4xf32>
      }
      body {
      ^bb0(%t: index, %S: tensor<4xf32>):
        %c = arith.constant 1.0 : f32
        attn.scan_yield emit(%c : f32) state(%S : tensor<4xf32>)
      }
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op body region chunk-start argument 0 must have the state's type 'tensor<4xf32>', got 'tensor<8xf32>'}}
  %y, %s = attn.scan length(%n) chunk 4 -> tensor<?xf32>, tensor<4xf32>
      init {
        %z = arith.constant dense<0.0> : tensor<4xf32>
        attn.yield %z : tensor<4xf32>
      }
      body {
      ^bb0(%t: index, %S: tensor<4xf32>, %S0: tensor<8xf32>):
        %c = arith.constant 1.0 : f32
        attn.scan_yield emit(%c : f32) state(%S : tensor<4xf32>)
      }
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op body region must have 2 arguments (0 batch indices, the time, 1 states), got 1}}
  %y, %s = attn.scan length(%n) -> tensor<?xf32>, tensor<4xf32>
      init {
        %z = arith.constant dense<0.0> : tensor<4xf32>
        attn.yield %z : tensor<4xf32>
      }
      body {
      ^bb0(%t: index):
        %c = arith.constant 1.0 : f32
        attn.scan_yield emit(%c : f32)
      }
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op body region argument 0 must be index, got 'i64'}}
  %y = attn.scan length(%n) -> tensor<?xf32>
      init {
        attn.yield
      }
      body {
      ^bb0(%t: i64):
        %c = arith.constant 1.0 : f32
        attn.scan_yield emit(%c : f32)
      }
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op body region state argument 0 must be a ranked tensor, got 'f32'}}
  %y, %s = attn.scan length(%n) -> tensor<?xf32>, tensor<f32>
      init {
        %z = arith.constant 0.0 : f32
        attn.yield %z : f32
      }
      body {
      ^bb0(%t: index, %a: f32):
        attn.scan_yield emit(%a : f32)
      }
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op body region must end with attn.scan_yield}}
  %y = attn.scan length(%n) -> tensor<?xf32>
      init {
        attn.yield
      }
      body {
      ^bb0(%t: index):
        %c = arith.constant 1.0 : f32
        attn.yield %c : f32
      }
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op body region yields 0 states, but the scan has 1}}
  %y, %s = attn.scan length(%n) -> tensor<?x4xf32>, tensor<4xf32>
      init {
        %z = arith.constant dense<0.0> : tensor<4xf32>
        attn.yield %z : tensor<4xf32>
      }
      body {
      ^bb0(%t: index, %a: tensor<4xf32>):
        attn.scan_yield emit(%a : tensor<4xf32>)
      }
  return
}

// -----

func.func @f(%n: index, %b: tensor<8xf32>) {
  // expected-error @+1 {{'attn.scan' op body region yields state 0 of type 'tensor<8xf32>', but the state has type 'tensor<4xf32>'}}
  %y, %s = attn.scan length(%n) -> tensor<?x4xf32>, tensor<4xf32>
      init {
        %z = arith.constant dense<0.0> : tensor<4xf32>
        attn.yield %z : tensor<4xf32>
      }
      body {
      ^bb0(%t: index, %a: tensor<4xf32>):
        attn.scan_yield emit(%a : tensor<4xf32>) state(%b : tensor<8xf32>)
      }
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op init region must have 0 index arguments (the batch indices)}}
  %y = attn.scan length(%n) -> tensor<?xf32>
      init {
      ^bb0(%b: index):
        attn.yield
      }
      body {
      ^bb0(%t: index):
        %c = arith.constant 1.0 : f32
        attn.scan_yield emit(%c : f32)
      }
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op init region must end with attn.yield}}
  %y = attn.scan length(%n) -> tensor<?xf32>
      init {
        %c = arith.constant 1.0 : f32
        attn.scan_yield emit(%c : f32)
      }
      body {
      ^bb0(%t: index):
        %c = arith.constant 1.0 : f32
        attn.scan_yield emit(%c : f32)
      }
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op init region yields 0 values, but the scan has 1 states}}
  %y, %s = attn.scan length(%n) -> tensor<?x4xf32>, tensor<4xf32>
      init {
        attn.yield
      }
      body {
      ^bb0(%t: index, %a: tensor<4xf32>):
        attn.scan_yield emit(%a : tensor<4xf32>) state(%a : tensor<4xf32>)
      }
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op init region yields state 0 of type 'tensor<8xf32>', but the state has type 'tensor<4xf32>'}}
  %y, %s = attn.scan length(%n) -> tensor<?x4xf32>, tensor<4xf32>
      init {
        %z = arith.constant dense<0.0> : tensor<8xf32>
        attn.yield %z : tensor<8xf32>
      }
      body {
      ^bb0(%t: index, %a: tensor<4xf32>):
        attn.scan_yield emit(%a : tensor<4xf32>) state(%a : tensor<4xf32>)
      }
  return
}

// -----

func.func @f(%b: index, %n: index) {
  // expected-error @+1 {{'attn.scan' op output type ('tensor<?x4xf32>') is not [1 batch dims, length, emit shape] of element type 'f32' for emit type 'tensor<4xf32>'}}
  %y = attn.scan batch(%b) length(%n) -> tensor<?x4xf32>
      init {
      ^bb0(%i: index):
        attn.yield
      }
      body {
      ^bb0(%i: index, %t: index):
        %z = arith.constant dense<0.0> : tensor<4xf32>
        attn.scan_yield emit(%z : tensor<4xf32>)
      }
  return
}

// -----

func.func @f() {
  %n = arith.constant 16 : index
  // expected-error @+1 {{'attn.scan' op output dimension 0 (8) does not match its size operand (16)}}
  %y = attn.scan length(%n) -> tensor<8xf32>
      init {
        attn.yield
      }
      body {
      ^bb0(%t: index):
        %c = arith.constant 1.0 : f32
        attn.scan_yield emit(%c : f32)
      }
  return
}

// -----

func.func @f(%b: index, %n: index) {
  // expected-error @+1 {{'attn.scan' op final state 0 type ('tensor<?x8xf32>') is not [batch..., state...] = [?, 4] of 'f32'}}
  %y, %s = attn.scan batch(%b) length(%n) -> tensor<?x?x4xf32>, tensor<?x8xf32>
      init {
      ^bb0(%i: index):
        %z = arith.constant dense<0.0> : tensor<4xf32>
        attn.yield %z : tensor<4xf32>
      }
      body {
      ^bb0(%i: index, %t: index, %a: tensor<4xf32>):
        attn.scan_yield emit(%a : tensor<4xf32>) state(%a : tensor<4xf32>)
      }
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op attribute 'chunk' failed to satisfy constraint: 64-bit signless integer attribute whose minimum value is 1}}
  %y = attn.scan length(%n) chunk 0 -> tensor<?xf32>
      init {
        attn.yield
      }
      body {
      ^bb0(%t: index):
        %c = arith.constant 1.0 : f32
        attn.scan_yield emit(%c : f32)
      }
  return
}

// -----

//===----------------------------------------------------------------------===//
// Selection: attn.topk, attn.topp, attn.argmax
//===----------------------------------------------------------------------===//

func.func @f(%x: tensor<f32>) {
  // expected-error @+1 {{'attn.topk' op input must have rank at least 1}}
  %i = attn.topk %x k = 1 : tensor<f32> -> tensor<1xi32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>) {
  // expected-error @+1 {{'attn.topk' op indices rank (1) does not match input rank (2)}}
  %i = attn.topk %x k = 2 : tensor<4x16xf32> -> tensor<2xi32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>) {
  // expected-error @+1 {{'attn.topk' op indices shape [3, 2] does not match input shape [4, 16] in the leading dimensions}}
  %i = attn.topk %x k = 2 : tensor<4x16xf32> -> tensor<3x2xi32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>) {
  // expected-error @+1 {{'attn.topk' op indices last dimension (3) does not match k (2)}}
  %i = attn.topk %x k = 2 : tensor<4x16xf32> -> tensor<4x3xi32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>) {
  // expected-error @+1 {{'attn.topk' op k (32) exceeds the input last dimension (16)}}
  %i = attn.topk %x k = 32 : tensor<4x16xf32> -> tensor<4x32xi32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %m: f32) {
  // expected-error @+1 {{'attn.topp' op selected shape [4, 8] does not match input shape [4, 16]}}
  %s = attn.topp %x, %m : tensor<4x16xf32> -> tensor<4x8xi1>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %m: f16) {
  // expected-error @+1 {{'attn.topp' op failed to verify that mass has the element type of input}}
  %s = "attn.topp"(%x, %m) : (tensor<4x16xf32>, f16) -> tensor<4x16xi1>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>) {
  // expected-error @+1 {{'attn.argmax' op result shape [16] does not match the input shape without its last dimension [4]}}
  %i = attn.argmax %x : tensor<4x16xf32> -> tensor<16xi32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// attn.gather, attn.pool, attn.conv1d
//===----------------------------------------------------------------------===//

func.func @f(%s: tensor<f32>, %i: tensor<4xi32>) {
  // expected-error @+1 {{'attn.gather' op source must have rank at least 1}}
  %g = attn.gather %s[%i] : tensor<f32>, tensor<4xi32> -> tensor<4xf32>
  return
}

// -----

func.func @f(%s: tensor<64x32xf32>, %i: tensor<?x4xi32>) {
  // expected-error @+1 {{'attn.gather' op result shape [?, 4, 64] does not match [indices..., source trailing...] = [?, 4, 32]}}
  %g = attn.gather %s[%i] : tensor<64x32xf32>, tensor<?x4xi32> -> tensor<?x4x64xf32>
  return
}

// -----

func.func @f(%x: tensor<f32>) {
  // expected-error @+1 {{'attn.pool' op input must have rank at least 1}}
  %p = attn.pool %x block_size = 2 : tensor<f32> -> tensor<f32>
  return
}

// -----

func.func @f(%x: tensor<100x8xf32>) {
  // expected-error @+1 {{'attn.pool' op input leading dimension (100) is not a multiple of block_size (64)}}
  %p = attn.pool %x block_size = 64 : tensor<100x8xf32> -> tensor<1x8xf32>
  return
}

// -----

func.func @f(%x: tensor<128x8xf32>) {
  // expected-error @+1 {{'attn.pool' op result shape [4, 8] does not match [2, 8]}}
  %p = attn.pool %x block_size = 64 : tensor<128x8xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x4x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{'attn.conv1d' op input rank (3) must be 2}}
  %y = attn.conv1d %x, %w : tensor<?x4x8xf32>, tensor<4x8xf32> -> tensor<?x4x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'attn.conv1d' op filter rank (1) must be 2}}
  %y = attn.conv1d %x, %w : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @f(%x: tensor<?x8xf32>, %w: tensor<4x16xf32>) {
  // expected-error @+1 {{'attn.conv1d' op filter channels (16) do not match input channels (8)}}
  %y = attn.conv1d %x, %w : tensor<?x8xf32>, tensor<4x16xf32> -> tensor<?x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// attn.grad
//===----------------------------------------------------------------------===//

func.func @f() {
  // expected-error @+1 {{'attn.grad' op requires at least one wrt operand}}
  "attn.grad"() ({
    %l = arith.constant 0.0 : f32
    attn.yield %l : f32
  }) : () -> ()
  return
}

// -----

func.func @f(%w: tensor<4xf32>) {
  // expected-error @+1 {{'attn.grad' op has 2 gradients, but 1 wrt operands}}
  %g:2 = attn.grad(%w : tensor<4xf32>) -> tensor<4xf32>, tensor<4xf32>
      loss {
      ^bb0(%a: tensor<4xf32>):
        %l = arith.constant 0.0 : f32
        attn.yield %l : f32
      }
  return
}

// -----

func.func @f(%w: tensor<4xf32>) {
  // expected-error @+1 {{'attn.grad' op gradient 0 type ('tensor<8xf32>') does not match wrt operand type ('tensor<4xf32>')}}
  %g = attn.grad(%w : tensor<4xf32>) -> tensor<8xf32>
      loss {
      ^bb0(%a: tensor<4xf32>):
        %l = arith.constant 0.0 : f32
        attn.yield %l : f32
      }
  return
}

// -----

func.func @f(%w: tensor<4xf32>) {
  // expected-error @+1 {{'attn.grad' op loss region argument types must match the wrt operand types}}
  %g = attn.grad(%w : tensor<4xf32>) -> tensor<4xf32>
      loss {
      ^bb0(%a: tensor<8xf32>):
        %l = arith.constant 0.0 : f32
        attn.yield %l : f32
      }
  return
}

// -----

func.func @f(%w: tensor<4xf32>) {
  // expected-error @+1 {{'attn.grad' op loss region must end with attn.yield}}
  %g = attn.grad(%w : tensor<4xf32>) -> tensor<4xf32>
      loss {
      ^bb0(%a: tensor<4xf32>):
        %l = arith.constant 0.0 : f32
        attn.scan_yield emit(%l : f32)
      }
  return
}

// -----

func.func @f(%w: tensor<4xf32>) {
  // expected-error @+1 {{'attn.grad' op loss region must yield one float scalar}}
  %g = attn.grad(%w : tensor<4xf32>) -> tensor<4xf32>
      loss {
      ^bb0(%a: tensor<4xf32>):
        attn.yield %a : tensor<4xf32>
      }
  return
}

// -----

//===----------------------------------------------------------------------===//
// Terminators
//===----------------------------------------------------------------------===//

func.func @f(%x: f32) {
  // expected-error @+1 {{'attn.yield' op expects parent op to be one of 'attn.attention, attn.scan, attn.grad'}}
  attn.yield %x : f32
}

// -----

func.func @f(%x: f32) {
  // expected-error @+1 {{'attn.scan_yield' op expects parent op 'attn.scan'}}
  attn.scan_yield emit(%x : f32)
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op has 2 transitions for 1 states}}
  %y, %s = attn.scan length(%n) linear_in_state {transitions = ["identity", "identity"]} -> tensor<?x4xf32>, tensor<4xf32>
      init {
        %z = arith.constant dense<0.0> : tensor<4xf32>
        attn.yield %z : tensor<4xf32>
      }
      body {
      ^bb0(%t: index, %S: tensor<4xf32>):
        attn.scan_yield emit(%S : tensor<4xf32>) state(%S : tensor<4xf32>)
      }
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op has an unknown transition 'rotation'}}
  %y, %s = attn.scan length(%n) linear_in_state {transitions = ["rotation"]} -> tensor<?x4xf32>, tensor<4xf32>
      init {
        %z = arith.constant dense<0.0> : tensor<4xf32>
        attn.yield %z : tensor<4xf32>
      }
      body {
      ^bb0(%t: index, %S: tensor<4xf32>):
        attn.scan_yield emit(%S : tensor<4xf32>) state(%S : tensor<4xf32>)
      }
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op must be linear_in_state exactly when no transition is 'nonlinear'}}
  %y, %s = attn.scan length(%n) linear_in_state {transitions = ["nonlinear"]} -> tensor<?x4xf32>, tensor<4xf32>
      init {
        %z = arith.constant dense<0.0> : tensor<4xf32>
        attn.yield %z : tensor<4xf32>
      }
      body {
      ^bb0(%t: index, %S: tensor<4xf32>):
        attn.scan_yield emit(%S : tensor<4xf32>) state(%S : tensor<4xf32>)
      }
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op must be linear_in_state exactly when no transition is 'nonlinear'}}
  %y, %s = attn.scan length(%n) {transitions = ["identity"]} -> tensor<?x4xf32>, tensor<4xf32>
      init {
        %z = arith.constant dense<0.0> : tensor<4xf32>
        attn.yield %z : tensor<4xf32>
      }
      body {
      ^bb0(%t: index, %S: tensor<4xf32>):
        attn.scan_yield emit(%S : tensor<4xf32>) state(%S : tensor<4xf32>)
      }
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op has an unknown emit_form 'quadratic'}}
  %y, %s = attn.scan length(%n) linear_in_state {emit_form = "quadratic"} -> tensor<?x4xf32>, tensor<4xf32>
      init {
        %z = arith.constant dense<0.0> : tensor<4xf32>
        attn.yield %z : tensor<4xf32>
      }
      body {
      ^bb0(%t: index, %S: tensor<4xf32>):
        attn.scan_yield emit(%S : tensor<4xf32>) state(%S : tensor<4xf32>)
      }
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op has chunkwise factors without chunk_recurrence}}
  %y, %s = attn.scan length(%n) linear_in_state {chunk_decay = "none"} -> tensor<?x4xf32>, tensor<4x4xf32>
      init {
        %z = arith.constant dense<0.0> : tensor<4x4xf32>
        attn.yield %z : tensor<4x4xf32>
      }
      body {
      ^bb0(%t: index, %S: tensor<4x4xf32>):
        %e = arith.constant dense<0.0> : tensor<4xf32>
        attn.scan_yield emit(%e : tensor<4xf32>) state(%S : tensor<4x4xf32>)
      }
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op needs one matrix state and at most one normalizer}}
  %y, %s = attn.scan length(%n) linear_in_state {chunk_recurrence = "linear", chunk_decay = "none", chunk_states = ["normalizer"]} -> tensor<?x4xf32>, tensor<4xf32>
      init {
        %z = arith.constant dense<0.0> : tensor<4xf32>
        attn.yield %z : tensor<4xf32>
      }
      body {
      ^bb0(%t: index, %S: tensor<4xf32>):
        attn.scan_yield emit(%S : tensor<4xf32>) state(%S : tensor<4xf32>)
      }
  return
}

// -----

func.func @f(%n: index) {
  // expected-error @+1 {{'attn.scan' op factors region must yield (q, k, v, decay) of types 'tensor<4xf32>', 'tensor<4xf32>', 'tensor<4xf32>', 'f32', got 'tensor<4xf32>', 'tensor<4xf32>', 'tensor<4xf32>'}}
  %y, %s = attn.scan length(%n) linear_in_state {chunk_recurrence = "linear", chunk_decay = "scalar", chunk_states = ["key_value"]} -> tensor<?x4xf32>, tensor<4x4xf32>
      init {
        %z = arith.constant dense<0.0> : tensor<4x4xf32>
        attn.yield %z : tensor<4x4xf32>
      }
      body {
      ^bb0(%t: index, %S: tensor<4x4xf32>):
        %e = arith.constant dense<0.0> : tensor<4xf32>
        attn.scan_yield emit(%e : tensor<4xf32>) state(%S : tensor<4x4xf32>)
      }
      factors {
      ^bb0(%t: index):
        %q = arith.constant dense<1.0> : tensor<4xf32>
        attn.yield %q, %q, %q : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
      }
  return
}
