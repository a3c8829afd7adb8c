// RUN: attnc-opt %s --attnc-cpu-bufferize | FileCheck %s

// A call operand whose buffer cannot be cast to the callee's argument layout
// (the row of a [?, 1] view: its stride is dynamic, the argument's unit) is
// copied into an identity-layout buffer cast to that layout; an alloc of the
// argument's type itself, with its dynamic offset, does not verify
// (utils/randprog found it, test/Integration/CPU/randprog.test).

// CHECK-LABEL: func.func @rows(
// CHECK:         %[[ROW:.*]] = memref.subview {{.*}} to memref<1xf32, strided<[?], offset: ?>>
// CHECK:         %[[ALLOC:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1xf32>
// CHECK:         %[[CAST:.*]] = memref.cast %[[ALLOC]] : memref<1xf32> to memref<1xf32, strided<[1], offset: ?>>
// CHECK:         memref.copy %[[ROW]], %[[CAST]]
// CHECK:         call @kernel(%[[CAST]])
func.func private @kernel(%x: tensor<1xf32>) -> tensor<f32> attributes {passthrough = ["noinline"]} {
  %c0 = arith.constant 0 : index
  %e = tensor.extract %x[%c0] : tensor<1xf32>
  %r = tensor.from_elements %e : tensor<f32>
  return %r : tensor<f32>
}

func.func @rows(%a: tensor<?x1xf32>, %i: index) -> tensor<f32> {
  %row = tensor.extract_slice %a[%i, 0] [1, 1] [1, 1] : tensor<?x1xf32> to tensor<1xf32>
  %r = func.call @kernel(%row) : (tensor<1xf32>) -> tensor<f32>
  return %r : tensor<f32>
}
