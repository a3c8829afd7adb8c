// RUN: attnc-opt %s --attnc-cpu-bufferize | FileCheck %s --implicit-check-not=memref.copy

// Function arguments are memrefs with dynamic strides, a unit innermost
// stride and a dynamic offset (the layout of the C entries), not
// identity-layout ones. Results keep the layout of what is returned (here a
// fresh, identity-layout buffer), so that a caller's collapse_shape of them
// needs no copy.

// CHECK-LABEL: func.func @add(
// CHECK-SAME:    %{{[a-z0-9]+}}: memref<?x64xf32, strided<[?, 1], offset: ?>>,
// CHECK-SAME:    %{{[a-z0-9]+}}: memref<?x64xf32, strided<[?, 1], offset: ?>>)
// CHECK-SAME:    -> memref<?x64xf32>
// CHECK:         %[[ALLOC:.*]] = memref.alloc
// CHECK:         return %[[ALLOC]]
func.func @add(%a: tensor<?x64xf32>, %b: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %a, %c0 : tensor<?x64xf32>
  %init = tensor.empty(%n) : tensor<?x64xf32>
  %r = linalg.add ins(%a, %b : tensor<?x64xf32>, tensor<?x64xf32>)
                  outs(%init : tensor<?x64xf32>) -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// A call passes its operands' buffers as they are, and its result collapses
// in place: no copy.
// CHECK-LABEL: func.func @caller(
// CHECK-SAME:    %[[A:[a-z0-9]+]]: memref<?x64xf32, strided<[?, 1], offset: ?>>)
// CHECK:         call @add(%[[A]], %[[A]])
// CHECK:         memref.collapse_shape
func.func @caller(%a: tensor<?x64xf32>) -> tensor<?xf32> {
  %r = call @add(%a, %a) : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
  %c = tensor.collapse_shape %r [[0, 1]] : tensor<?x64xf32> into tensor<?xf32>
  return %c : tensor<?xf32>
}

// A rank-0 tensor has a dynamic offset and no strides.
// CHECK-LABEL: func.func @scalar(
// CHECK-SAME:    memref<f32, strided<[], offset: ?>>
func.func @scalar(%x: tensor<f32>) -> f32 {
  %v = tensor.extract %x[] : tensor<f32>
  return %v : f32
}

// The attention kernels' read-only views (attn-lower-attention asks for
// this layout) fold onto the argument without a copy.
// CHECK-LABEL: func.func @view(
// CHECK-SAME:    %[[Q:[a-z0-9]+]]: memref<?x?x?x64xf32, strided<[?, ?, ?, 1], offset: ?>>)
// CHECK:         memref.load %[[Q]]
func.func @view(%q: tensor<?x?x?x64xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %m = bufferization.to_buffer %q read_only
      : tensor<?x?x?x64xf32> to memref<?x?x?x64xf32, strided<[?, ?, ?, 1], offset: ?>>
  %v = memref.load %m[%c0, %c0, %c0, %c0] : memref<?x?x?x64xf32, strided<[?, ?, ?, 1], offset: ?>>
  return %v : f32
}
