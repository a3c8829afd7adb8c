// RUN: attnc-opt %s --attn-lower-selection --split-input-file | FileCheck %s
// RUN: attnc-opt %s --attn-lower-selection --canonicalize --split-input-file \
// RUN:   | FileCheck %s --check-prefix=CANON

// attn-lower-selection: the selection and data-movement ops become
// tensor.generate ops whose bodies are scalar loops with the interpreter's
// semantics (ties to the lower index, NaN below every number).

// topk: rank every entry by counting the entries that come before it, place
// each index at its rank, keep the first k.

// CHECK-LABEL: func.func @topk
// CHECK-SAME:    (%[[X:.*]]: tensor<?x8xf32>)
// CHECK-NOT:     attn.topk
// CHECK-DAG:     %[[C8:.*]] = arith.constant 8 : index
// CHECK:         %[[RANK:.*]] = linalg.generic
// CHECK-SAME:      outs(%{{.*}} : tensor<?x8xindex>)
// CHECK-DAG:       %[[R:.*]] = linalg.index 0 : index
// CHECK-DAG:       %[[J:.*]] = linalg.index 1 : index
// CHECK:           %[[XJ:.*]] = tensor.extract %[[X]][%[[R]], %[[J]]]
// CHECK:           scf.for %[[I:.*]] = %{{.*}} to %[[C8]] step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (index)
// CHECK:             %[[XI:.*]] = tensor.extract %[[X]][%[[R]], %[[I]]]
// CHECK-DAG:         arith.cmpf ogt, %[[XI]], %[[XJ]] : f32
// CHECK-DAG:         arith.cmpf oeq, %[[XI]], %[[XJ]] : f32
// CHECK-DAG:         arith.cmpi ult, %[[I]], %[[J]] : index
// CHECK-DAG:         arith.cmpf uno, %[[XJ]], %[[XJ]] : f32
// CHECK:         } -> tensor<?x8xindex>
// CHECK:         %[[ORDER:.*]] = linalg.generic
// CHECK:           tensor.extract %[[RANK]]
// CHECK:         } -> tensor<?x8xindex>
// CHECK:         %[[TOPK:.*]] = tensor.generate
// CHECK:           %[[IDX:.*]] = tensor.extract %[[ORDER]]
// CHECK:           arith.index_cast %[[IDX]] : index to i32
// CHECK:         } : tensor<?x2xi32>
// CHECK:         return %[[TOPK]]
// Canonicalization keeps the ranks and the order as tensors: each is
// computed once, not again at every read.
// CANON-LABEL: func.func @topk
// CANON:         %[[RANK:.*]] = linalg.generic
// CANON:         %[[ORDER:.*]] = linalg.generic
// CANON:           tensor.extract %[[RANK]]
// CANON:         tensor.generate
// CANON:           tensor.extract %[[ORDER]]
// CANON-NOT:       scf.for
// CANON:         } : tensor<?x2xi32>
func.func @topk(%x: tensor<?x8xf32>) -> tensor<?x2xi32> {
  %i = attn.topk %x k = 2 : tensor<?x8xf32> -> tensor<?x2xi32>
  return %i : tensor<?x2xi32>
}

// -----

// topp: an entry is selected when no prefix sum, taken in rank order up to
// its own rank, has reached the mass (not (S >= mass), true for NaN).

// CHECK-LABEL: func.func @topp
// CHECK-SAME:    (%[[X:.*]]: tensor<?x8xf32>, %[[M:.*]]: f32)
// CHECK-DAG:     %[[C8:.*]] = arith.constant 8 : index
// CHECK-NOT:     attn.topp
// CHECK:         %[[RANK:.*]] = linalg.generic
// CHECK:         %[[ORDER:.*]] = linalg.generic
// reached[r]: the first k whose prefix sum S_k, in rank order, reaches the
// mass (8 when none does).
// CHECK:         %[[REACHED:.*]] = linalg.generic
// CHECK-SAME:      outs(%{{.*}} : tensor<?xindex>)
// CHECK:           %[[R0:.*]] = linalg.index 0 : index
// CHECK:           %[[L:.*]]:2 = scf.for %[[K:.*]] = %{{.*}} to %[[C8]] step %{{.*}} iter_args(%[[S:.*]] = %{{.*}}, %[[F:.*]] = %[[C8]]) -> (f32, index)
// CHECK-DAG:         %[[GE:.*]] = arith.cmpf oge, %[[S]], %[[M]] : f32
// CHECK-DAG:         %[[NONE:.*]] = arith.cmpi eq, %[[F]], %[[C8]] : index
// CHECK:             %[[FIRST:.*]] = arith.andi %[[GE]], %[[NONE]] : i1
// CHECK:             arith.select %[[FIRST]], %[[K]], %[[F]] : index
// CHECK:             %[[OJ:.*]] = tensor.extract %[[ORDER]][%[[R0]], %[[K]]]
// CHECK:             %[[XJ:.*]] = tensor.extract %[[X]][%[[R0]], %[[OJ]]]
// CHECK:             arith.addf %[[S]], %[[XJ]] : f32
// CHECK:           linalg.yield %[[L]]#1 : index
// CHECK:         } -> tensor<?xindex>
// topp[r, j] = rank[r, j] < reached[r].
// CHECK:         %[[SEL:.*]] = tensor.generate
// CHECK-NEXT:    ^bb0(%[[R:.*]]: index, %[[J:.*]]: index):
// CHECK-NEXT:      %[[RJ:.*]] = tensor.extract %[[RANK]][%[[R]], %[[J]]]
// CHECK-NEXT:      %[[FR:.*]] = tensor.extract %[[REACHED]][%[[R]]]
// CHECK-NEXT:      %[[Y:.*]] = arith.cmpi ult, %[[RJ]], %[[FR]] : index
// CHECK-NEXT:      tensor.yield %[[Y]] : i1
// CHECK:         } : tensor<?x8xi1>
// CHECK:         return %[[SEL]]

// CANON-LABEL: func.func @topp
// CANON:         %[[RANK:.*]] = linalg.generic
// CANON:         %[[ORDER:.*]] = linalg.generic
// CANON:         %[[REACHED:.*]] = linalg.generic
// CANON:         tensor.generate
// CANON-NEXT:    ^bb0
// CANON-NEXT:      tensor.extract %[[RANK]]
// CANON-NEXT:      tensor.extract %[[REACHED]]
// CANON-NEXT:      arith.cmpi ult
// CANON-NEXT:      tensor.yield
func.func @topp(%x: tensor<?x8xf32>, %m: f32) -> tensor<?x8xi1> {
  %i = attn.topp %x, %m : tensor<?x8xf32> -> tensor<?x8xi1>
  return %i : tensor<?x8xi1>
}

// -----

// argmax: a left-to-right scan that moves on a strictly greater value, or
// from a NaN to a number.

// CHECK-LABEL: func.func @argmax
// CHECK-SAME:    (%[[X:.*]]: tensor<?x8xf32>)
// CHECK-NOT:     attn.argmax
// CHECK:         %[[G:.*]] = tensor.generate
// CHECK-NEXT:    ^bb0(%[[R:.*]]: index):
// CHECK:           %[[X0:.*]] = tensor.extract %[[X]][%[[R]], %{{.*}}]
// CHECK:           %[[L:.*]]:2 = scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[BI:.*]] = %{{.*}}, %[[BX:.*]] = %[[X0]]) -> (index, f32)
// CHECK:             %[[XJ:.*]] = tensor.extract %[[X]][%[[R]], %[[J]]]
// CHECK:             arith.cmpf ogt, %[[XJ]], %[[BX]] : f32
// CHECK:             arith.cmpf uno, %[[BX]], %[[BX]] : f32
// CHECK:             arith.cmpf ord, %[[XJ]], %[[XJ]] : f32
// CHECK:           arith.index_cast %[[L]]#0 : index to i32
// CHECK:         } : tensor<?xi32>
func.func @argmax(%x: tensor<?x8xf32>) -> tensor<?xi32> {
  %i = attn.argmax %x : tensor<?x8xf32> -> tensor<?xi32>
  return %i : tensor<?xi32>
}

// -----

// CHECK-LABEL: func.func @gather
// CHECK-SAME:    (%[[S:.*]]: tensor<64x32xf32>, %[[I:.*]]: tensor<?x4xi32>)
// CHECK-NOT:     attn.gather
// CHECK:         %[[D:.*]] = tensor.dim %[[I]], %{{.*}} : tensor<?x4xi32>
// CHECK:         tensor.generate %[[D]] {
// CHECK-NEXT:    ^bb0(%[[K0:.*]]: index, %[[K1:.*]]: index, %[[R:.*]]: index):
// CHECK-NEXT:      %[[ID:.*]] = tensor.extract %[[I]][%[[K0]], %[[K1]]] : tensor<?x4xi32>
// CHECK-NEXT:      %[[ROW:.*]] = arith.index_cast %[[ID]] : i32 to index
// A row outside the source is a run-time check, and the read is clamped.
// CHECK:           cf.assert %{{.*}}, "'gather' reads a row outside its source: an index is negative or not below the number of rows"
// CHECK:           %[[LOW:.*]] = arith.maxsi %[[ROW]], %{{.*}} : index
// CHECK-NEXT:      %[[IN:.*]] = arith.minsi %[[LOW]], %{{.*}} : index
// CHECK-NEXT:      %[[V:.*]] = tensor.extract %[[S]][%[[IN]], %[[R]]] : tensor<64x32xf32>
// CHECK-NEXT:      tensor.yield %[[V]] : f32
// CHECK-NEXT:    } : tensor<?x4x32xf32>
func.func @gather(%s: tensor<64x32xf32>, %i: tensor<?x4xi32>) -> tensor<?x4x32xf32> {
  %g = attn.gather %s[%i] : tensor<64x32xf32>, tensor<?x4xi32> -> tensor<?x4x32xf32>
  return %g : tensor<?x4x32xf32>
}

// -----

// CHECK-LABEL: func.func @pool
// CHECK-SAME:    (%[[X:.*]]: tensor<?x16xf32>)
// CHECK-NOT:     attn.pool
// CHECK-DAG:     %[[N:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x16xf32>
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// The blocks must tile the rows: a run-time check.
// CHECK:         %[[REM:.*]] = arith.remui %[[N]], %[[C4]] : index
// CHECK:         %[[WHOLE:.*]] = arith.cmpi eq, %[[REM]], %{{.*}} : index
// CHECK:         cf.assert %[[WHOLE]], "'pool' needs a first dimension that is a multiple of 4"
// CHECK:         %[[NB:.*]] = arith.divui %[[N]], %[[C4]] : index
// CHECK:         tensor.generate %[[NB]] {
// CHECK-NEXT:    ^bb0(%[[I:.*]]: index, %[[C:.*]]: index):
// CHECK:           %[[FIRST:.*]] = arith.muli %[[I]], %[[C4]] : index
// CHECK:           %[[SUM:.*]] = scf.for %[[K:.*]] = %{{.*}} to %[[C4]] step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32)
// CHECK:             %[[ROW:.*]] = arith.addi %[[FIRST]], %[[K]] : index
// CHECK:             %[[V:.*]] = tensor.extract %[[X]][%[[ROW]], %[[C]]]
// CHECK:             arith.addf %[[ACC]], %[[V]] : f32
// CHECK:           %[[BS:.*]] = arith.constant 4.000000e+00 : f32
// CHECK:           arith.divf %[[SUM]], %[[BS]] : f32
func.func @pool(%q: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %p = attn.pool %q block_size = 4 : tensor<?x16xf32> -> tensor<?x16xf32>
  return %p : tensor<?x16xf32>
}

// -----

// conv1d: rows before the first are skipped (the sum is kept), not read.

// CHECK-LABEL: func.func @conv1d
// CHECK-SAME:    (%[[X:.*]]: tensor<?x8xf32>, %[[W:.*]]: tensor<4x8xf32>)
// CHECK-NOT:     attn.conv1d
// CHECK:         %[[LAG:.*]] = arith.subi
// CHECK:         tensor.generate
// CHECK-NEXT:    ^bb0(%[[N:.*]]: index, %[[C:.*]]: index):
// CHECK:           scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32)
// CHECK:             %[[NK:.*]] = arith.addi %[[N]], %[[K]] : index
// CHECK:             %[[VALID:.*]] = arith.cmpi uge, %[[NK]], %[[LAG]] : index
// CHECK:             %[[FROM:.*]] = arith.select %[[VALID]]
// CHECK:             %[[WV:.*]] = tensor.extract %[[W]][%[[K]], %[[C]]]
// CHECK:             %[[XV:.*]] = tensor.extract %[[X]][%[[FROM]], %[[C]]]
// CHECK:             %[[P:.*]] = arith.mulf %[[WV]], %[[XV]] : f32
// CHECK:             %[[ADD:.*]] = arith.addf %[[ACC]], %[[P]] : f32
// CHECK:             %[[NEXT:.*]] = arith.select %[[VALID]], %[[ADD]], %[[ACC]] : f32
// CHECK:             scf.yield %[[NEXT]] : f32
func.func @conv1d(%x: tensor<?x8xf32>, %w: tensor<4x8xf32>) -> tensor<?x8xf32> {
  %y = attn.conv1d %x, %w : tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
