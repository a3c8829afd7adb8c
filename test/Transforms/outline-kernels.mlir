// RUN: attnc-opt --attn-outline-kernels="outline-captures=1" --split-input-file %s | FileCheck %s
// RUN: attnc-opt --attn-outline-kernels="outline-captures=1" --inline --split-input-file %s | FileCheck %s --check-prefix=INLINE
// RUN: attnc-opt --attn-outline-kernels="min-uses=2 llvm-noinline=0 outline-captures=1" --split-input-file %s | FileCheck %s --check-prefix=MIN2
// By default, kernels that read non-constant values from above stay in
// place (the alibi and captures cases below); the others are outlined.
// RUN: attnc-opt --attn-outline-kernels --split-input-file %s | FileCheck %s --check-prefix=NOCAPTURE

// Two identical causal attentions on different operands share one function;
// the calls carry no_inline, which the MLIR inliner honours. The function
// is noinline for LLVM too (passthrough), since it has two callers.
// CHECK-LABEL: func.func private @attnc.kernel.attention(
//  CHECK-SAME:     %[[Q:.*]]: tensor<1x1x?x16xf32>, %[[K:.*]]: tensor<1x1x?x16xf32>, %[[V:.*]]: tensor<1x1x?x16xf32>) -> tensor<1x1x?x16xf32>
//  CHECK-SAME:     attributes {passthrough = ["noinline"]}
//       CHECK:   %[[O:.*]] = attn.attention softmax ins(%[[Q]], %[[K]], %[[V]]
//       CHECK:     arith.cmpi sle, %{{.*}}, %{{.*}} : index
//       CHECK:   return %[[O]]
//   CHECK-NOT: func.func private @attnc.kernel
// NOCAPTURE-LABEL: func.func @two_heads(
//       NOCAPTURE:   call @attnc.kernel.attention(
// CHECK-LABEL: func.func @two_heads(
//  CHECK-SAME:     %[[Q0:.*]]: tensor<1x1x?x16xf32>, %[[Q1:.*]]: tensor<1x1x?x16xf32>, %[[KV:.*]]: tensor<1x1x?x16xf32>)
//       CHECK:   %[[O0:.*]] = call @attnc.kernel.attention(%[[Q0]], %[[KV]], %[[KV]]) {no_inline}
//       CHECK:   %[[O1:.*]] = call @attnc.kernel.attention(%[[Q1]], %[[KV]], %[[KV]]) {no_inline}
//       CHECK:   return %[[O0]], %[[O1]]
// INLINE-LABEL: func.func @two_heads
//  INLINE-NEXT:   call @attnc.kernel.attention({{.*}}) {no_inline}
//  INLINE-NEXT:   call @attnc.kernel.attention({{.*}}) {no_inline}
//  INLINE-NEXT:   return
// MIN2-LABEL: func.func private @attnc.kernel.attention(
//   MIN2-NOT:     passthrough
//       MIN2: func.func @two_heads
func.func @two_heads(%q0: tensor<1x1x?x16xf32>, %q1: tensor<1x1x?x16xf32>,
                     %kv: tensor<1x1x?x16xf32>)
    -> (tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>) {
  %o0 = attn.attention softmax ins(%q0, %kv, %kv : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>) -> tensor<1x1x?x16xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %m = arith.cmpi sle, %j, %i : index
    attn.yield %m : i1
  }
  %o1 = attn.attention softmax ins(%q1, %kv, %kv : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>) -> tensor<1x1x?x16xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %m = arith.cmpi sle, %j, %i : index
    attn.yield %m : i1
  }
  return %o0, %o1 : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>
}

// -----

// The same compare with its operands swapped is a different mask (causal
// vs anti-causal): two functions. OperationEquivalence with a callback that
// accepted any pair of values would have merged them.
// CHECK-LABEL: func.func private @attnc.kernel.attention(
//   CHECK-NOT:   passthrough
//       CHECK:   arith.cmpi sge, %[[I:.*]], %[[J:.*]] : index
// CHECK-LABEL: func.func private @attnc.kernel.attention_0(
//       CHECK:   arith.cmpi sge, %[[J:.*]], %[[I:.*]] : index
// CHECK-LABEL: func.func @swapped
//       CHECK:   call @attnc.kernel.attention(
//       CHECK:   call @attnc.kernel.attention_0(
// MIN2-LABEL: func.func @swapped
//   MIN2-NOT:   call
//       MIN2:   attn.attention
//       MIN2:   attn.attention
func.func @swapped(%q: tensor<1x1x?x16xf32>) -> (tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>) {
  %o0 = attn.attention softmax ins(%q, %q, %q : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>) -> tensor<1x1x?x16xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %m = arith.cmpi sge, %i, %j : index
    attn.yield %m : i1
  }
  %o1 = attn.attention softmax ins(%q, %q, %q : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>) -> tensor<1x1x?x16xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %m = arith.cmpi sge, %j, %i : index
    attn.yield %m : i1
  }
  return %o0, %o1 : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>
}

// -----

// Values read from above: the constant is cloned into the kernel, the
// slopes tensor becomes an extra argument after the operands. Equal
// constants merge; a different constant is a different kernel.
// CHECK-LABEL: func.func private @attnc.kernel.attention(
//  CHECK-SAME:     %{{.*}}: tensor<1x4x?x16xf32>, %{{.*}}: tensor<1x4x?x16xf32>, %{{.*}}: tensor<1x4x?x16xf32>, %[[SL:.*]]: tensor<4xf32>)
//       CHECK:   %[[C:.*]] = arith.constant 2.500000e-01 : f32
//       CHECK:   attn.attention
//       CHECK:     arith.mulf %{{.*}}, %[[C]]
//       CHECK:     tensor.extract %[[SL]]
// CHECK-LABEL: func.func private @attnc.kernel.attention_0(
//       CHECK:   arith.constant 5.000000e-01 : f32
// NOCAPTURE-LABEL: func.func @alibi(
//   NOCAPTURE-NOT:   call
//       NOCAPTURE:   attn.attention
//       NOCAPTURE:   attn.attention
//       NOCAPTURE:   attn.attention
// CHECK-LABEL: func.func @alibi(
//  CHECK-SAME:     %[[Q:.*]]: tensor<1x4x?x16xf32>, %[[M0:.*]]: tensor<4xf32>, %[[M1:.*]]: tensor<4xf32>)
//       CHECK:   call @attnc.kernel.attention(%[[Q]], %[[Q]], %[[Q]], %[[M0]])
//       CHECK:   call @attnc.kernel.attention(%[[Q]], %[[Q]], %[[Q]], %[[M1]])
//       CHECK:   call @attnc.kernel.attention_0(%[[Q]], %[[Q]], %[[Q]], %[[M0]])
func.func @alibi(%q: tensor<1x4x?x16xf32>, %m0: tensor<4xf32>, %m1: tensor<4xf32>)
    -> (tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>) {
  %c = arith.constant 0.25 : f32
  %c2 = arith.constant 0.25 : f32
  %d = arith.constant 0.5 : f32
  %o0 = attn.attention softmax ins(%q, %q, %q : tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>) -> tensor<1x4x?x16xf32>
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %x = arith.mulf %s, %c : f32
    %m = tensor.extract %m0[%h] : tensor<4xf32>
    %y = arith.addf %x, %m : f32
    attn.yield %y : f32
  }
  %o1 = attn.attention softmax ins(%q, %q, %q : tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>) -> tensor<1x4x?x16xf32>
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %x = arith.mulf %s, %c2 : f32
    %m = tensor.extract %m1[%h] : tensor<4xf32>
    %y = arith.addf %x, %m : f32
    attn.yield %y : f32
  }
  %o2 = attn.attention softmax ins(%q, %q, %q : tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>) -> tensor<1x4x?x16xf32>
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %x = arith.mulf %s, %d : f32
    %m = tensor.extract %m0[%h] : tensor<4xf32>
    %y = arith.addf %x, %m : f32
    attn.yield %y : f32
  }
  return %o0, %o1, %o2 : tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>
}

// -----

// Captured values are matched by position of first use, even when both
// ops read the same value: here the first reads (%a, %b, %a), the second
// (%b, %a, %a), which differ in the third read. Two functions.
// CHECK-LABEL: func.func private @attnc.kernel.generic(
//  CHECK-SAME:     %{{.*}}: tensor<8xf32>, %[[A0:.*]]: f32, %[[A1:.*]]: f32)
//       CHECK:     %[[X:.*]] = arith.subf %{{.*}}, %[[A0]]
//       CHECK:     %[[Y:.*]] = arith.mulf %[[X]], %[[A1]]
//       CHECK:     arith.divf %[[Y]], %[[A0]]
// CHECK-LABEL: func.func private @attnc.kernel.generic_0(
// NOCAPTURE-LABEL: func.func @captures(
//   NOCAPTURE-NOT:   call
//       NOCAPTURE:   linalg.generic
//       NOCAPTURE:   linalg.generic
// CHECK-LABEL: func.func @captures(
//  CHECK-SAME:     %[[T:.*]]: tensor<8xf32>, %[[A:.*]]: f32, %[[B:.*]]: f32)
//       CHECK:   call @attnc.kernel.generic(%[[T]], %[[A]], %[[B]])
//       CHECK:   call @attnc.kernel.generic_0(%[[T]], %[[B]], %[[A]])
#id = affine_map<(d0) -> (d0)>
func.func @captures(%t: tensor<8xf32>, %a: f32, %b: f32) -> (tensor<8xf32>, tensor<8xf32>) {
  %e = tensor.empty() : tensor<8xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%t : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %u = arith.subf %x, %a : f32
    %v = arith.mulf %u, %b : f32
    %w = arith.divf %v, %a : f32
    linalg.yield %w : f32
  } -> tensor<8xf32>
  %1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%t : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %u = arith.subf %x, %b : f32
    %v = arith.mulf %u, %a : f32
    %w = arith.divf %v, %a : f32
    linalg.yield %w : f32
  } -> tensor<8xf32>
  return %0, %1 : tensor<8xf32>, tensor<8xf32>
}

// -----

// Contractions: equal types share a function whatever the operands; other
// types get their own. The zero-filled destination goes into the kernel
// (which then returns a buffer of its own, not its argument); its dynamic
// size becomes an argument. linalg.fill and a generic that only copies
// stay, and so does a generic whose destination is a value of the caller.
// CHECK-LABEL: func.func private @attnc.kernel.matmul(
//  CHECK-SAME:     %{{.*}}: tensor<?x8xf32>, %{{.*}}: tensor<8x4xf32>, %[[N:.*]]: index) -> tensor<?x4xf32>
//       CHECK:   %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
//       CHECK:   %[[E:.*]] = tensor.empty(%[[N]]) : tensor<?x4xf32>
//       CHECK:   %[[F:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[E]] : tensor<?x4xf32>)
//       CHECK:   linalg.matmul {{.*}} outs(%[[F]] : tensor<?x4xf32>)
// CHECK-LABEL: func.func private @attnc.kernel.matmul_0(
//  CHECK-SAME:     %{{.*}}: tensor<?x4xf32>, %{{.*}}: tensor<4x4xf32>, %{{.*}}: index) -> tensor<?x4xf32>
// CHECK-LABEL: func.func @mlp(
//  CHECK-SAME:     %[[A:.*]]: tensor<?x8xf32>, %[[B:.*]]: tensor<8x4xf32>, %[[C:.*]]: tensor<?x8xf32>, %[[W:.*]]: tensor<4x4xf32>, %[[R:.*]]: tensor<?x4xf32>)
//       CHECK:   %[[N:.*]] = tensor.dim %[[A]]
//   CHECK-NOT:   linalg.fill
//       CHECK:   %[[M0:.*]] = call @attnc.kernel.matmul(%[[A]], %[[B]], %[[N]]) {no_inline}
//       CHECK:   %[[M1:.*]] = call @attnc.kernel.matmul(%[[C]], %[[B]], %[[N]]) {no_inline}
//       CHECK:   %[[M2:.*]] = call @attnc.kernel.matmul_0(%[[M0]], %[[W]], %[[N]]) {no_inline}
//       CHECK:   linalg.generic {{.*}} ins(%[[M2]] : tensor<?x4xf32>)
//       CHECK:   linalg.generic {{.*}} ins(%[[M1]] : tensor<?x4xf32>) outs(%[[R]] : tensor<?x4xf32>)
//   CHECK-NOT:   call
//       CHECK:   return
#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @mlp(%a: tensor<?x8xf32>, %b: tensor<8x4xf32>, %c: tensor<?x8xf32>,
               %w: tensor<4x4xf32>, %r: tensor<?x4xf32>)
    -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %n = tensor.dim %a, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%n) : tensor<?x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
  %m0 = linalg.matmul ins(%a, %b : tensor<?x8xf32>, tensor<8x4xf32>) outs(%f : tensor<?x4xf32>) -> tensor<?x4xf32>
  %m1 = linalg.matmul ins(%c, %b : tensor<?x8xf32>, tensor<8x4xf32>) outs(%f : tensor<?x4xf32>) -> tensor<?x4xf32>
  %m2 = linalg.matmul ins(%m0, %w : tensor<?x4xf32>, tensor<4x4xf32>) outs(%f : tensor<?x4xf32>) -> tensor<?x4xf32>
  %copy = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%m2 : tensor<?x4xf32>) outs(%e : tensor<?x4xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  } -> tensor<?x4xf32>
  %acc = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%m1 : tensor<?x4xf32>) outs(%r : tensor<?x4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.addf %x, %o : f32
    linalg.yield %s : f32
  } -> tensor<?x4xf32>
  return %copy, %acc : tensor<?x4xf32>, tensor<?x4xf32>
}
