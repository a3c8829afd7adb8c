// RUN: attnc-opt --attnc-cpu-contiguous-expand-shape %s | FileCheck %s
// RUN: attnc-opt --attnc-cpu-contiguous-expand-shape --expand-strided-metadata %s | FileCheck %s --check-prefix=EXPANDED

// Two dynamic sizes in one reassociation group (the heads of an einspace
// tree): MLIR 22's expand-strided-metadata crashes on the expand_shape, so
// it becomes a reinterpret_cast with row-major strides, which it handles.
// CHECK-LABEL: func.func @two_dynamic
//  CHECK-SAME:   (%[[A:.*]]: memref<?x64xf32>, %[[D0:.*]]: index, %[[D1:.*]]: index)
//       CHECK:   %[[S0:.*]] = arith.muli %c64, %[[D1]]
//       CHECK:   memref.reinterpret_cast %[[A]] to offset: [0], sizes: [%[[D0]], %[[D1]], 64], strides: [%[[S0]], 64, 1]
//   CHECK-NOT:   memref.expand_shape
// EXPANDED-LABEL: func.func @two_dynamic
//       EXPANDED:   memref.extract_strided_metadata
func.func @two_dynamic(%a: memref<?x64xf32>, %d0: index, %d1: index) -> f32 {
  %x = memref.expand_shape %a [[0, 1], [2]] output_shape [%d0, %d1, 64] : memref<?x64xf32> into memref<?x?x64xf32>
  %c0 = arith.constant 0 : index
  %v = memref.load %x[%c0, %c0, %c0] : memref<?x?x64xf32>
  return %v : f32
}

// A non-identity source keeps its expand_shape.
// CHECK-LABEL: func.func @strided
//       CHECK:   memref.expand_shape
func.func @strided(%a: memref<?x64xf32, strided<[128, 1]>>, %d0: index) -> memref<?x2x64xf32, strided<[256, 128, 1]>> {
  %x = memref.expand_shape %a [[0, 1], [2]] output_shape [%d0, 2, 64] : memref<?x64xf32, strided<[128, 1]>> into memref<?x2x64xf32, strided<[256, 128, 1]>>
  return %x : memref<?x2x64xf32, strided<[256, 128, 1]>>
}
