// RUN: attnc-opt %s --attnc-cpu-decompose-aggregates | FileCheck %s

// linalg.softmax becomes linalg ops (max, sub+exp, sum, div) that
// convert-linalg-to-loops can lower.

// CHECK-LABEL: func.func @softmax
// CHECK-NOT:     linalg.softmax
// CHECK:         linalg.generic
// CHECK:           arith.maxnumf
// CHECK:         linalg.generic
// CHECK:           math.exp
// CHECK:         return
func.func @softmax(%x: tensor<?x?xf32>, %out: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %s = linalg.softmax dimension(1) ins(%x : tensor<?x?xf32>) outs(%out : tensor<?x?xf32>) -> tensor<?x?xf32>
  return %s : tensor<?x?xf32>
}
