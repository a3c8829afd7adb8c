// RUN: attnc-opt %s --attnc-cpu-lower-to-llvm | FileCheck %s
// RUN: attnc-opt %s --attnc-cpu-lower-to-llvm | FileCheck %s --check-prefix=GONE
// RUN: attnc-opt %s --attnc-cpu-lower-to-llvm="parallel=0" | FileCheck %s --check-prefix=SEQ
// RUN: attnc-opt %s --attnc-cpu-lower-to-llvm | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR

// A tensor-level function with every construct the pipeline handles:
// linalg.matmul, tensor.generate with math.exp, scf.forall over rows and
// linalg.softmax, all with dynamic sizes.

func.func @scores(%q: tensor<?x?xf32>, %k: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %m = tensor.dim %q, %c0 : tensor<?x?xf32>
  %n = tensor.dim %k, %c1 : tensor<?x?xf32>
  %init = tensor.empty(%m, %n) : tensor<?x?xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%init : tensor<?x?xf32>) -> tensor<?x?xf32>
  %s = linalg.matmul ins(%q, %k : tensor<?x?xf32>, tensor<?x?xf32>)
                     outs(%fill : tensor<?x?xf32>) -> tensor<?x?xf32>
  %g = tensor.generate %m, %n {
  ^bb0(%i: index, %j: index):
    %v = tensor.extract %s[%i, %j] : tensor<?x?xf32>
    %e = math.exp %v : f32
    tensor.yield %e : f32
  } : tensor<?x?xf32>
  %e0 = tensor.empty(%m, %n) : tensor<?x?xf32>
  %x = scf.forall (%i) in (%m) shared_outs(%acc = %e0) -> tensor<?x?xf32> {
    %row = tensor.extract_slice %g[%i, 0] [1, %n] [1, 1] : tensor<?x?xf32> to tensor<1x?xf32>
    %r0 = tensor.empty(%n) : tensor<1x?xf32>
    %r = linalg.map ins(%row : tensor<1x?xf32>) outs(%r0 : tensor<1x?xf32>)
      (%a: f32, %unused: f32) {
        %y = arith.mulf %a, %half : f32
        linalg.yield %y : f32
      }
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %r into %acc[%i, 0] [1, %n] [1, 1] : tensor<1x?xf32> into tensor<?x?xf32>
    }
  }
  %e1 = tensor.empty(%m, %n) : tensor<?x?xf32>
  %sm = linalg.softmax dimension(1) ins(%x : tensor<?x?xf32>) outs(%e1 : tensor<?x?xf32>) -> tensor<?x?xf32>
  return %sm : tensor<?x?xf32>
}

// The memref<?x?xf32> arguments are expanded descriptors (7 values each).
// CHECK-LABEL: llvm.func @scores(
// CHECK-SAME:    %{{[a-z0-9]+}}: !llvm.ptr, %{{[a-z0-9]+}}: !llvm.ptr, %{{[a-z0-9]+}}: i64, %{{[a-z0-9]+}}: i64, %{{[a-z0-9]+}}: i64, %{{[a-z0-9]+}}: i64, %{{[a-z0-9]+}}: i64,
// CHECK-SAME:    %{{[a-z0-9]+}}: !llvm.ptr, %{{[a-z0-9]+}}: !llvm.ptr, %{{[a-z0-9]+}}: i64, %{{[a-z0-9]+}}: i64, %{{[a-z0-9]+}}: i64, %{{[a-z0-9]+}}: i64, %{{[a-z0-9]+}}: i64)
// CHECK:         llvm.call @malloc
// CHECK:         omp.parallel
// CHECK:         omp.wsloop
// The f32 exps are polynomials (attnc-cpu-approximate-exp), not libm calls.
// CHECK-NOT:     llvm.intr.exp
// CHECK:         llvm.intr.floor
// CHECK-NOT:     llvm.intr.exp
// CHECK:         llvm.return

// GONE-NOT: func.func
// GONE-NOT: linalg.
// GONE-NOT: tensor.
// GONE-NOT: scf.
// GONE-NOT: memref.
// GONE-NOT: math.
// GONE-NOT: arith.
// GONE-NOT: bufferization.
// GONE-NOT: unrealized_conversion_cast

// SEQ-LABEL: llvm.func @scores(
// SEQ-NOT:   omp.
// SEQ:       llvm.intr.floor
// SEQ-NOT:   omp.

// LLVMIR-LABEL: define { ptr, ptr, i64, [2 x i64], [2 x i64] } @scores(
// LLVMIR:         call void (ptr, i32, ptr, ...) @__kmpc_fork_call(
// LLVMIR:         call float @llvm.floor.f32(
