// RUN: attnc-opt %s --attn-differentiate --split-input-file \
// RUN:   --mlir-print-local-scope | FileCheck %s

// attn-differentiate: every attn.grad becomes its forward sweep followed by
// the adjoint (vector-Jacobian) ops in reverse order.

// A scalar chain: l = exp(s) * s + c, dl/ds = exp(s) * s' + s * exp(s)'.
// The captured %c is a constant and gets no adjoint.

// CHECK-LABEL: func.func @scalar_chain
// CHECK-SAME:    (%[[W:.*]]: tensor<f32>, %[[C:.*]]: f32)
// CHECK-NOT:     attn.grad
// CHECK:         %[[S:.*]] = tensor.extract %[[W]][] : tensor<f32>
// CHECK:         %[[E:.*]] = math.exp %[[S]] : f32
// CHECK:         %[[M:.*]] = arith.mulf %[[E]], %[[S]] : f32
// CHECK:         arith.addf %[[M]], %[[C]] : f32
// CHECK:         %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK:         %[[EBAR:.*]] = arith.mulf %[[ONE]], %[[S]] : f32
// CHECK:         %[[SBAR1:.*]] = arith.mulf %[[ONE]], %[[E]] : f32
// CHECK:         %[[SBAR2:.*]] = arith.mulf %[[EBAR]], %[[E]] : f32
// CHECK:         %[[SBAR:.*]] = arith.addf %[[SBAR1]], %[[SBAR2]] : f32
// CHECK:         %[[EMPTY:.*]] = tensor.empty() : tensor<f32>
// CHECK:         %[[G:.*]] = linalg.fill ins(%[[SBAR]] : f32) outs(%[[EMPTY]] : tensor<f32>)
// CHECK:         return %[[G]]
func.func @scalar_chain(%w: tensor<f32>, %c: f32) -> tensor<f32> {
  %g = attn.grad(%w : tensor<f32>) -> tensor<f32> loss {
  ^bb0(%a: tensor<f32>):
    %s = tensor.extract %a[] : tensor<f32>
    %e = math.exp %s : f32
    %m = arith.mulf %e, %s : f32
    %t = arith.addf %m, %c : f32
    attn.yield %t : f32
  }
  return %g : tensor<f32>
}

// -----

// An element-wise generate reading the differentiated tensor at its own
// indices (twice: the contributions of both reads are summed), then a sum.
// The sum's adjoint is broadcast back; each read gets a generate that
// re-computes the body and differentiates it symbolically.

// CHECK-LABEL: func.func @identity_generate
// CHECK-SAME:    (%[[W:.*]]: tensor<?xf32>)
// CHECK-NOT:     attn.grad
// CHECK:         %[[FWD:.*]] = tensor.generate
// CHECK:           math.sin
// CHECK:         %[[SUM:.*]] = linalg.reduce { arith.addf } ins(%[[FWD]]
// CHECK:         %[[ONES:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<f32>)
// CHECK:         %[[YBAR:.*]] = tensor.generate
// CHECK-NEXT:    ^bb0(%[[I:.*]]: index):
// CHECK-NEXT:      %[[ONE:.*]] = tensor.extract %[[ONES]][] : tensor<f32>
// CHECK-NEXT:      tensor.yield %[[ONE]]
// CHECK:         %[[D1:.*]] = tensor.generate
// CHECK-NEXT:    ^bb0(%[[I1:.*]]: index):
// CHECK:           %[[X1:.*]] = tensor.extract %[[W]][%[[I1]]]
// CHECK:           %[[X2:.*]] = tensor.extract %[[W]][%[[I1]]]
// CHECK:           %[[P:.*]] = arith.mulf %[[X1]], %[[X2]]
// CHECK:           %[[SEED:.*]] = tensor.extract %[[YBAR]][%[[I1]]]
// CHECK:           %[[COS:.*]] = math.cos %[[P]]
// CHECK:           %[[PBAR:.*]] = arith.mulf %[[SEED]], %[[COS]]
// CHECK:           %[[R:.*]] = arith.mulf %[[PBAR]], %[[X2]]
// CHECK:           tensor.yield %[[R]]
// CHECK:         %[[D2:.*]] = tensor.generate
// CHECK:           math.cos
// CHECK:         %[[ACC:.*]] = tensor.generate
// CHECK:           %[[A:.*]] = tensor.extract %[[D1]]
// CHECK:           %[[B:.*]] = tensor.extract %[[D2]]
// CHECK:           arith.addf %[[A]], %[[B]]
// CHECK:         return %[[ACC]]
func.func @identity_generate(%w: tensor<?xf32>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %w, %c0 : tensor<?xf32>
  %g = attn.grad(%w : tensor<?xf32>) -> tensor<?xf32> loss {
  ^bb0(%a: tensor<?xf32>):
    %gen = tensor.generate %n {
    ^bb0(%i: index):
      %x1 = tensor.extract %a[%i] : tensor<?xf32>
      %x2 = tensor.extract %a[%i] : tensor<?xf32>
      %p = arith.mulf %x1, %x2 : f32
      %s = math.sin %p : f32
      tensor.yield %s : f32
    } : tensor<?xf32>
    %z = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<f32>
    %f = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
    %r = linalg.reduce { arith.addf } ins(%gen : tensor<?xf32>)
        outs(%f : tensor<f32>) dimensions = [0]
    %l = tensor.extract %r[] : tensor<f32>
    attn.yield %l : f32
  }
  return %g : tensor<?xf32>
}

// -----

// A broadcast read (numpy trailing alignment): %a[%j] inside a [3, 4]
// generate, and a [1, 4] tensor read at [0, %j]. The contributions are
// summed over the broadcast dimension 0 with linalg.reduce.

// CHECK-LABEL: func.func @broadcast_generate
// CHECK-NOT:     attn.grad
// CHECK:         linalg.reduce { arith.addf }
// CHECK:         %[[YBAR:.*]] = tensor.generate
// CHECK:         %[[DA:.*]] = tensor.generate
// CHECK:           math.tanh
// CHECK:           tensor.yield
// CHECK-NEXT:    } : tensor<3x4xf32>
// CHECK:         %[[ZA:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<4xf32>)
// CHECK:         %[[GA:.*]] = linalg.reduce ins(%[[DA]] : tensor<3x4xf32>) outs(%[[ZA]] : tensor<4xf32>) dimensions = [0]
// CHECK:         %[[DB:.*]] = tensor.generate
// CHECK:         } : tensor<3x4xf32>
// CHECK:         %[[SB:.*]] = linalg.reduce ins(%[[DB]] : tensor<3x4xf32>) outs(%{{.*}} : tensor<4xf32>) dimensions = [0]
// CHECK:         %[[GB:.*]] = tensor.generate
// CHECK-NEXT:    ^bb0(%[[I:.*]]: index, %[[J:.*]]: index):
// CHECK:           %[[AT0:.*]] = arith.cmpi eq, %[[I]], %{{.*}} : index
// CHECK:           %[[V:.*]] = tensor.extract %[[SB]][%[[J]]]
// CHECK:           arith.select %[[AT0]], %[[V]], %{{.*}} : f32
// CHECK:         } : tensor<1x4xf32>
// CHECK:         return %[[GA]], %[[GB]]
func.func @broadcast_generate(%w: tensor<4xf32>, %v: tensor<1x4xf32>,
                              %x: tensor<3x4xf32>)
    -> (tensor<4xf32>, tensor<1x4xf32>) {
  %g:2 = attn.grad(%w, %v : tensor<4xf32>, tensor<1x4xf32>)
      -> tensor<4xf32>, tensor<1x4xf32> loss {
  ^bb0(%a: tensor<4xf32>, %b: tensor<1x4xf32>):
    %gen = tensor.generate {
    ^bb0(%i: index, %j: index):
      %c0 = arith.constant 0 : index
      %xa = tensor.extract %x[%i, %j] : tensor<3x4xf32>
      %wa = tensor.extract %a[%j] : tensor<4xf32>
      %vb = tensor.extract %b[%c0, %j] : tensor<1x4xf32>
      %p = arith.mulf %xa, %wa : f32
      %q = arith.addf %p, %vb : f32
      %t = math.tanh %q : f32
      tensor.yield %t : f32
    } : tensor<3x4xf32>
    %z = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<f32>
    %f = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
    %r = linalg.reduce { arith.addf } ins(%gen : tensor<3x4xf32>)
        outs(%f : tensor<f32>) dimensions = [0, 1]
    %l = tensor.extract %r[] : tensor<f32>
    attn.yield %l : f32
  }
  return %g#0, %g#1 : tensor<4xf32>, tensor<1x4xf32>
}

// -----

// linalg.matvec y = A x: Abar = ybar x^T, xbar = A^T ybar, both as
// linalg.generic contractions with the matvec's own indexing maps.

// CHECK-LABEL: func.func @matvec
// CHECK-SAME:    (%[[A:.*]]: tensor<8x4xf32>, %[[X:.*]]: tensor<4xf32>)
// CHECK-NOT:     attn.grad
// CHECK:         %[[Y:.*]] = linalg.matvec ins(%[[A]], %[[X]]
// CHECK:         %[[YBAR:.*]] = tensor.generate
// CHECK:         } : tensor<8xf32>
// CHECK:         %[[ZA:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<8x4xf32>)
// CHECK:         %[[GA:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[YBAR]], %[[X]] : tensor<8xf32>, tensor<4xf32>) outs(%[[ZA]] : tensor<8x4xf32>)
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK:         %[[ZX:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<4xf32>)
// CHECK:         %[[GX:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>], iterator_types = ["reduction", "parallel"]} ins(%[[YBAR]], %[[A]] : tensor<8xf32>, tensor<8x4xf32>) outs(%[[ZX]] : tensor<4xf32>)
// CHECK:         return %[[GA]], %[[GX]]
func.func @matvec(%m: tensor<8x4xf32>, %v: tensor<4xf32>)
    -> (tensor<8x4xf32>, tensor<4xf32>) {
  %g:2 = attn.grad(%m, %v : tensor<8x4xf32>, tensor<4xf32>)
      -> tensor<8x4xf32>, tensor<4xf32> loss {
  ^bb0(%a: tensor<8x4xf32>, %x: tensor<4xf32>):
    %z = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<8xf32>
    %f = linalg.fill ins(%z : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
    %y = linalg.matvec ins(%a, %x : tensor<8x4xf32>, tensor<4xf32>)
        outs(%f : tensor<8xf32>) -> tensor<8xf32>
    %e0 = tensor.empty() : tensor<f32>
    %f0 = linalg.fill ins(%z : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
    %r = linalg.reduce { arith.addf } ins(%y : tensor<8xf32>)
        outs(%f0 : tensor<f32>) dimensions = [0]
    %l = tensor.extract %r[] : tensor<f32>
    attn.yield %l : f32
  }
  return %g#0, %g#1 : tensor<8x4xf32>, tensor<4xf32>
}

// -----

// linalg.softmax: xbar = y * (ybar - sum_d(y * ybar)). The loss reads one
// element of the softmax, so ybar is zero except there.

// CHECK-LABEL: func.func @softmax
// CHECK-SAME:    (%[[W:.*]]: tensor<2x5xf32>)
// CHECK-NOT:     attn.grad
// CHECK:         %[[Y:.*]] = linalg.softmax dimension(1) ins(%[[W]]
// CHECK:         %[[YBAR:.*]] = tensor.generate
// CHECK:           arith.select
// CHECK:         } : tensor<2x5xf32>
// CHECK:         %[[PROD:.*]] = tensor.generate
// CHECK-NEXT:    ^bb0(%[[I:.*]]: index, %[[J:.*]]: index):
// CHECK-NEXT:      %[[YIJ:.*]] = tensor.extract %[[Y]][%[[I]], %[[J]]]
// CHECK-NEXT:      %[[GIJ:.*]] = tensor.extract %[[YBAR]][%[[I]], %[[J]]]
// CHECK-NEXT:      arith.mulf %[[YIJ]], %[[GIJ]]
// CHECK:         %[[S:.*]] = linalg.reduce ins(%[[PROD]] : tensor<2x5xf32>) outs(%{{.*}} : tensor<2xf32>) dimensions = [1]
// CHECK:         %[[G:.*]] = tensor.generate
// CHECK-NEXT:    ^bb0(%[[I2:.*]]: index, %[[J2:.*]]: index):
// CHECK:           %[[SI:.*]] = tensor.extract %[[S]][%[[I2]]]
// CHECK:           %[[D:.*]] = arith.subf %{{.*}}, %[[SI]]
// CHECK:           arith.mulf %{{.*}}, %[[D]]
// CHECK:         return %[[G]]
func.func @softmax(%w: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %g = attn.grad(%w : tensor<2x5xf32>) -> tensor<2x5xf32> loss {
  ^bb0(%a: tensor<2x5xf32>):
    %e = tensor.empty() : tensor<2x5xf32>
    %y = linalg.softmax dimension(1) ins(%a : tensor<2x5xf32>)
        outs(%e : tensor<2x5xf32>) -> tensor<2x5xf32>
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    %l = tensor.extract %y[%c1, %c3] : tensor<2x5xf32>
    attn.yield %l : f32
  }
  return %g : tensor<2x5xf32>
}

// -----

// A wrt value the loss does not depend on gets a zero gradient.

// CHECK-LABEL: func.func @unused
// CHECK-SAME:    (%[[W:.*]]: tensor<?x3xf32>, %[[V:.*]]: tensor<f32>)
// CHECK:         %[[C0:.*]] = arith.constant 0 : index
// CHECK:         %[[N:.*]] = tensor.dim %[[W]], %[[C0]]
// CHECK:         %[[E:.*]] = tensor.empty(%[[N]]) : tensor<?x3xf32>
// CHECK:         %[[G:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E]] : tensor<?x3xf32>)
// CHECK:         return %[[G]]
func.func @unused(%w: tensor<?x3xf32>, %v: tensor<f32>) -> tensor<?x3xf32> {
  %g = attn.grad(%w : tensor<?x3xf32>) -> tensor<?x3xf32> loss {
  ^bb0(%a: tensor<?x3xf32>):
    %l = tensor.extract %v[] : tensor<f32>
    attn.yield %l : f32
  }
  return %g : tensor<?x3xf32>
}
