// RUN: attnc-opt %s --attnc-cpu-copy-to-linalg | FileCheck %s

// A strided memref.copy would become a call to memrefCopy (a runner-utils
// function) in finalize-memref-to-llvm; as linalg.copy it becomes loops.

// CHECK-LABEL: func.func @copy_row
// CHECK-NOT:     memref.copy
// CHECK:         linalg.copy ins(%{{.*}} : memref<1x?xf32>) outs(%{{.*}} : memref<1x?xf32, strided<[?, 1], offset: ?>>)
func.func @copy_row(%src: memref<1x?xf32>, %dst: memref<1x?xf32, strided<[?, 1], offset: ?>>) {
  memref.copy %src, %dst : memref<1x?xf32> to memref<1x?xf32, strided<[?, 1], offset: ?>>
  return
}
