// RUN: attnc-opt %s --attnc-cpu-generate-to-destination-style --eliminate-empty-tensors --attnc-cpu-bufferize --buffer-deallocation-pipeline | FileCheck %s

// Rows computed in an scf.forall (MLIRGen's prologues): a row inserted as it
// is built in place in the result, with no buffer of its own; a row that
// goes through a reshape first gets a buffer, freed in the same iteration
// (the deallocation interfaces of scf, arith and cf are registered: without
// them the buffer leaked once per row and call).

// CHECK-LABEL: func.func @in_place
// CHECK: %[[OUT:.+]] = memref.alloc
// CHECK: scf.forall
// CHECK-NOT: memref.alloc
// CHECK: %[[ROW:.+]] = memref.subview %[[OUT]]
// CHECK: linalg.generic {{.*}} outs(%[[ROW]]
// CHECK-NOT: memref.copy
// CHECK: return
func.func @in_place(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x64xf32>
  %init = tensor.empty(%n) : tensor<?x64xf32>
  %r = scf.forall (%i) in (%n) shared_outs(%acc = %init) -> tensor<?x64xf32> {
    %row = tensor.extract_slice %x[%i, 0] [1, 64] [1, 1] : tensor<?x64xf32> to tensor<64xf32>
    %g = tensor.generate {
    ^bb0(%d: index):
      %e = tensor.extract %row[%d] : tensor<64xf32>
      %y = arith.addf %e, %e : f32
      tensor.yield %y : f32
    } : tensor<64xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %g into %acc[%i, 0] [1, 64] [1, 1] : tensor<64xf32> into tensor<?x64xf32>
    }
  }
  return %r : tensor<?x64xf32>
}

// CHECK-LABEL: func.func @reshaped
// CHECK: scf.forall
// CHECK: %[[BUF:.+]] = memref.alloc() {{.*}} : memref<64xf32>
// CHECK: memref.copy
// CHECK: memref.dealloc %[[BUF]]
// CHECK: return
func.func @reshaped(%x: tensor<?x64xf32>) -> tensor<?x1x64xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x64xf32>
  %init = tensor.empty(%n) : tensor<?x1x64xf32>
  %r = scf.forall (%i) in (%n) shared_outs(%acc = %init) -> tensor<?x1x64xf32> {
    %row = tensor.extract_slice %x[%i, 0] [1, 64] [1, 1] : tensor<?x64xf32> to tensor<64xf32>
    %g = tensor.generate {
    ^bb0(%d: index):
      %e = tensor.extract %row[%d] : tensor<64xf32>
      %y = arith.addf %e, %e : f32
      tensor.yield %y : f32
    } : tensor<64xf32>
    %s = tensor.expand_shape %g [[0, 1]] output_shape [1, 64] : tensor<64xf32> into tensor<1x64xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %s into %acc[%i, 0, 0] [1, 1, 64] [1, 1, 1] : tensor<1x64xf32> into tensor<?x1x64xf32>
    }
  }
  return %r : tensor<?x1x64xf32>
}
