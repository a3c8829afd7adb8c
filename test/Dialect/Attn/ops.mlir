// RUN: attnc-opt %s | attnc-opt | FileCheck %s
// RUN: attnc-opt %s --mlir-print-op-generic | attnc-opt | FileCheck %s

// Round trip of every attn op, in the custom and in the generic form.

// CHECK-LABEL: func.func @attention_plain
func.func @attention_plain(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x32x8xf32>,
                           %v: tensor<1x4x32x8xf32>) -> tensor<1x4x16x8xf32> {
  // CHECK: attn.attention softmax ins(%{{.+}}, %{{.+}}, %{{.+}} : tensor<1x4x16x8xf32>, tensor<1x4x32x8xf32>, tensor<1x4x32x8xf32>) -> tensor<1x4x16x8xf32>
  // CHECK-NOT: score
  // CHECK-NOT: mask
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<1x4x16x8xf32>, tensor<1x4x32x8xf32>,
                       tensor<1x4x32x8xf32>)
      -> tensor<1x4x16x8xf32>
  return %o : tensor<1x4x16x8xf32>
}

// Grouped-query attention (Hq = 8, Hkv = 2) with dynamic sequence lengths,
// asymmetric heads (Dqk = 64, Dv = 32), an ALiBi score reading a captured
// slope tensor, soft-capping, and a causal mask.
// CHECK-LABEL: func.func @attention_gqa_score_mask
// CHECK-SAME:    %[[SLOPES:[^:]+]]: tensor<8xf32>
func.func @attention_gqa_score_mask(%q: tensor<2x8x?x64xf32>,
                                    %k: tensor<2x2x?x64xf32>,
                                    %v: tensor<2x2x?x32xf32>,
                                    %slopes: tensor<8xf32>)
    -> tensor<2x8x?x32xf32> {
  // CHECK: attn.attention softmax ins({{.*}} : tensor<2x8x?x64xf32>, tensor<2x2x?x64xf32>, tensor<2x2x?x32xf32>) -> tensor<2x8x?x32xf32> score {
  // CHECK-NEXT: ^bb0(%[[S:.+]]: f32, %{{.+}}: index, %[[H:.+]]: index, %[[I:.+]]: index, %[[J:.+]]: index):
  // CHECK:   tensor.extract %[[SLOPES]][%[[H]]] : tensor<8xf32>
  // CHECK:   math.tanh
  // CHECK:   attn.yield %{{.+}} : f32
  // CHECK: } mask {
  // CHECK-NEXT: ^bb0(%{{.+}}: index, %{{.+}}: index, %[[MI:.+]]: index, %[[MJ:.+]]: index):
  // CHECK:   %[[C:.+]] = arith.cmpi ule, %[[MJ]], %[[MI]] : index
  // CHECK:   attn.yield %[[C]] : i1
  // CHECK: }
  %o = attn.attention softmax
      ins(%q, %k, %v : tensor<2x8x?x64xf32>, tensor<2x2x?x64xf32>,
                       tensor<2x2x?x32xf32>)
      -> tensor<2x8x?x32xf32>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
        %m = tensor.extract %slopes[%h] : tensor<8xf32>
        %ii = arith.index_cast %i : index to i64
        %jj = arith.index_cast %j : index to i64
        %d = arith.subi %jj, %ii : i64
        %df = arith.sitofp %d : i64 to f32
        %alibi = arith.mulf %m, %df : f32
        %s1 = arith.addf %s, %alibi : f32
        %cap = arith.constant 30.0 : f32
        %x = arith.divf %s1, %cap : f32
        %t = math.tanh %x : f32
        %r = arith.mulf %t, %cap : f32
        attn.yield %r : f32
      }
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index):
        %c = arith.cmpi ule, %j, %i : index
        attn.yield %c : i1
      }
  return %o : tensor<2x8x?x32xf32>
}

// Sigmoid attention with a bias, and a run-time block mask.
// CHECK-LABEL: func.func @attention_sigmoid_block_mask
func.func @attention_sigmoid_block_mask(%q: tensor<?x4x?x16xbf16>,
                                        %bias: bf16,
                                        %bm: tensor<?x4x?x?xi1>)
    -> tensor<?x4x?x16xbf16> {
  // CHECK: attn.attention sigmoid ins({{.*}}) bias(%{{.+}} : bf16) block_mask(%{{.+}} : tensor<?x4x?x?xi1>) block_sizes = [64, 32] -> tensor<?x4x?x16xbf16>
  %o = attn.attention sigmoid
      ins(%q, %q, %q : tensor<?x4x?x16xbf16>, tensor<?x4x?x16xbf16>,
                       tensor<?x4x?x16xbf16>)
      bias(%bias : bf16)
      block_mask(%bm : tensor<?x4x?x?xi1>) block_sizes = [64, 32]
      -> tensor<?x4x?x16xbf16>
  return %o : tensor<?x4x?x16xbf16>
}

// Softmax attention with the log-sum-exp result; the other normalizers.
// CHECK-LABEL: func.func @attention_lse_normalizers
func.func @attention_lse_normalizers(%q: tensor<1x2x128x64xf32>,
                                     %k: tensor<1x1x256x64xf32>)
    -> (tensor<1x2x128x64xf32>, tensor<1x2x128xf32>) {
  // CHECK: attn.attention softmax with_lse ins({{.*}}) -> tensor<1x2x128x64xf32>, tensor<1x2x128xf32>
  %o, %lse = attn.attention softmax with_lse
      ins(%q, %k, %k : tensor<1x2x128x64xf32>, tensor<1x1x256x64xf32>,
                       tensor<1x1x256x64xf32>)
      -> tensor<1x2x128x64xf32>, tensor<1x2x128xf32>
  // CHECK: attn.attention sum ins(
  %s = attn.attention sum
      ins(%q, %k, %k : tensor<1x2x128x64xf32>, tensor<1x1x256x64xf32>,
                       tensor<1x1x256x64xf32>)
      -> tensor<1x2x128x64xf32>
  // CHECK: attn.attention none ins(
  %n = attn.attention none
      ins(%q, %k, %k : tensor<1x2x128x64xf32>, tensor<1x1x256x64xf32>,
                       tensor<1x1x256x64xf32>)
      -> tensor<1x2x128x64xf32>
  return %o, %lse : tensor<1x2x128x64xf32>, tensor<1x2x128xf32>
}

// A scan over two batch dimensions with two states (linear attention with a
// normalizer state), chunked: the body also gets the chunk-start states.
// CHECK-LABEL: func.func @scan_two_states
func.func @scan_two_states(%q: tensor<?x?x?x64xf32>, %k: tensor<?x?x?x64xf32>,
                           %B: index, %H: index, %N: index)
    -> (tensor<?x?x?x64xf32>, tensor<?x?x64x64xf32>, tensor<?x?x64xf32>) {
  // CHECK: = attn.scan batch(%{{.+}}, %{{.+}}) length(%{{.+}}) chunk 16 linear_in_state -> tensor<?x?x?x64xf32>, tensor<?x?x64x64xf32>, tensor<?x?x64xf32> init {
  // CHECK-NEXT: ^bb0(%{{.+}}: index, %{{.+}}: index):
  // CHECK:   attn.yield %{{.+}}, %{{.+}} : tensor<64x64xf32>, tensor<64xf32>
  // CHECK: } body {
  // CHECK-NEXT: ^bb0(%{{.+}}: index, %{{.+}}: index, %{{.+}}: index, %[[S:.+]]: tensor<64x64xf32>, %[[Z:.+]]: tensor<64xf32>, %{{.+}}: tensor<64x64xf32>, %{{.+}}: tensor<64xf32>):
  // CHECK:   attn.scan_yield emit(%{{.+}} : tensor<64xf32>) state(%{{.+}}, %{{.+}} : tensor<64x64xf32>, tensor<64xf32>)
  %y, %s, %z = attn.scan batch(%B, %H) length(%N) chunk 16 linear_in_state
      -> tensor<?x?x?x64xf32>, tensor<?x?x64x64xf32>, tensor<?x?x64xf32>
      init {
      ^bb0(%b: index, %h: index):
        %s0 = arith.constant dense<0.0> : tensor<64x64xf32>
        %z0 = arith.constant dense<0.0> : tensor<64xf32>
        attn.yield %s0, %z0 : tensor<64x64xf32>, tensor<64xf32>
      }
      body {
      ^bb0(%b: index, %h: index, %t: index, %S: tensor<64x64xf32>,
           %Z: tensor<64xf32>, %S0: tensor<64x64xf32>, %Z0: tensor<64xf32>):
        %kt = tensor.extract_slice %k[%b, %h, %t, 0] [1, 1, 1, 64] [1, 1, 1, 1]
            : tensor<?x?x?x64xf32> to tensor<64xf32>
        %Z1 = arith.addf %Z, %kt : tensor<64xf32>
        attn.scan_yield emit(%Z1 : tensor<64xf32>)
                        state(%S, %Z1 : tensor<64x64xf32>, tensor<64xf32>)
      }
  return %y, %s, %z : tensor<?x?x?x64xf32>, tensor<?x?x64x64xf32>, tensor<?x?x64xf32>
}

// A scan without batch dimensions or states, emitting scalars.
// CHECK-LABEL: func.func @scan_scalar
func.func @scan_scalar(%n: index) -> tensor<?xf32> {
  // CHECK: attn.scan length(%{{.+}}) -> tensor<?xf32> init {
  // CHECK-NEXT: attn.yield
  // CHECK: } body {
  // CHECK: attn.scan_yield emit(%{{.+}} : f32)
  // CHECK-NOT: chunk
  %y = attn.scan length(%n) -> tensor<?xf32>
      init {
        attn.yield
      }
      body {
      ^bb0(%t: index):
        %c = arith.constant 1.0 : f32
        attn.scan_yield emit(%c : f32)
      }
  return %y : tensor<?xf32>
}

// CHECK-LABEL: func.func @selection
func.func @selection(%x: tensor<?x16x128xf32>, %mass: f32)
    -> (tensor<?x16x4xi32>, tensor<?x16x128xi1>, tensor<?x16xi32>) {
  // CHECK: attn.topk %{{.+}} k = 4 : tensor<?x16x128xf32> -> tensor<?x16x4xi32>
  %i = attn.topk %x k = 4 : tensor<?x16x128xf32> -> tensor<?x16x4xi32>
  // CHECK: attn.topp %{{.+}}, %{{.+}} : tensor<?x16x128xf32> -> tensor<?x16x128xi1>
  %m = attn.topp %x, %mass : tensor<?x16x128xf32> -> tensor<?x16x128xi1>
  // CHECK: attn.argmax %{{.+}} : tensor<?x16x128xf32> -> tensor<?x16xi32>
  %a = attn.argmax %x : tensor<?x16x128xf32> -> tensor<?x16xi32>
  return %i, %m, %a : tensor<?x16x4xi32>, tensor<?x16x128xi1>, tensor<?x16xi32>
}

// CHECK-LABEL: func.func @gather_pool_conv1d
func.func @gather_pool_conv1d(%src: tensor<64x32xf32>, %idx: tensor<?x4xi64>,
                              %x: tensor<?x256xf32>, %w: tensor<4x256xf32>,
                              %seq: tensor<1024x8x64xf32>)
    -> (tensor<?x4x32xf32>, tensor<16x8x64xf32>, tensor<?x256xf32>) {
  // CHECK: attn.gather %{{.+}}[%{{.+}}] : tensor<64x32xf32>, tensor<?x4xi64> -> tensor<?x4x32xf32>
  %g = attn.gather %src[%idx] : tensor<64x32xf32>, tensor<?x4xi64>
      -> tensor<?x4x32xf32>
  // CHECK: attn.pool %{{.+}} block_size = 64 : tensor<1024x8x64xf32> -> tensor<16x8x64xf32>
  %p = attn.pool %seq block_size = 64 : tensor<1024x8x64xf32>
      -> tensor<16x8x64xf32>
  // CHECK: attn.conv1d %{{.+}}, %{{.+}} : tensor<?x256xf32>, tensor<4x256xf32> -> tensor<?x256xf32>
  %c = attn.conv1d %x, %w : tensor<?x256xf32>, tensor<4x256xf32>
      -> tensor<?x256xf32>
  return %g, %p, %c : tensor<?x4x32xf32>, tensor<16x8x64xf32>, tensor<?x256xf32>
}

// The gradient of a loss of two tensors that also reads a captured one.
// CHECK-LABEL: func.func @grad_two_wrt
func.func @grad_two_wrt(%w1: tensor<64x32xf32>, %w2: tensor<32x64xf32>,
                        %x: tensor<32xf32>)
    -> (tensor<64x32xf32>, tensor<32x64xf32>) {
  // CHECK: = attn.grad(%{{.+}}, %{{.+}} : tensor<64x32xf32>, tensor<32x64xf32>) -> tensor<64x32xf32>, tensor<32x64xf32> loss {
  // CHECK-NEXT: ^bb0(%{{.+}}: tensor<64x32xf32>, %{{.+}}: tensor<32x64xf32>):
  // CHECK:   attn.yield %{{.+}} : f32
  %g1, %g2 = attn.grad(%w1, %w2 : tensor<64x32xf32>, tensor<32x64xf32>)
      -> tensor<64x32xf32>, tensor<32x64xf32>
      loss {
      ^bb0(%a: tensor<64x32xf32>, %b: tensor<32x64xf32>):
        %e0 = tensor.empty() : tensor<64xf32>
        %z = arith.constant 0.0 : f32
        %e = linalg.fill ins(%z : f32) outs(%e0 : tensor<64xf32>) -> tensor<64xf32>
        %h = linalg.matvec ins(%a, %x : tensor<64x32xf32>, tensor<32xf32>)
            outs(%e : tensor<64xf32>) -> tensor<64xf32>
        %c0 = arith.constant 0 : index
        %l = tensor.extract %h[%c0] : tensor<64xf32>
        attn.yield %l : f32
      }
  return %g1, %g2 : tensor<64x32xf32>, tensor<32x64xf32>
}
