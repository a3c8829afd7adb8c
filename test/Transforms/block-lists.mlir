// RUN: attnc-opt --attn-lower-attention --split-input-file %s | FileCheck %s

// Issue 12, item 3: run-time block lists. Document ids read at i and at j:
// a first phase stores, per key tile, the least and greatest id (and the
// ids themselves, tile by tile, padded with the last one); each task
// reduces the ids of its query tile; a key tile is visited when the two
// ranges overlap and unmasked when both are the same single id (and the
// causal part is full). Partial tiles compare the ids on vectors, loaded
// from the per-tile copy, with the query's id from a per-task copy of the
// rows' ids: no tensor.extract is left in the key tiles.
// CHECK-LABEL: func.func @documents
//       CHECK:   %[[LO:.*]] = memref.alloc({{.*}}) : memref<1x1x?xi32>
//       CHECK:   %[[HI:.*]] = memref.alloc({{.*}}) : memref<1x1x?xi32>
//       CHECK:   %[[IDS:.*]] = memref.alloc({{.*}}) : memref<1x1x?x64xi32>
//       CHECK:   scf.forall (%[[KB:.*]], %[[KH:.*]], %[[KKT:.*]]) in
//       CHECK:     %[[KR:.*]]:2 = scf.for {{.*}} -> (i32, i32) {
//       CHECK:       %[[ID:.*]] = tensor.extract
//       CHECK:       memref.store %[[ID]], %[[IDS]][%[[KB]], %[[KH]], %[[KKT]], %{{.*}}]
//       CHECK:       arith.minsi %{{.*}}, %[[ID]] : i32
//       CHECK:       arith.maxsi %{{.*}}, %[[ID]] : i32
//       CHECK:     memref.store %[[KR]]#0, %[[LO]]
//       CHECK:     memref.store %[[KR]]#1, %[[HI]]
//       CHECK:   scf.forall (%[[B:.*]], %{{.*}}, %{{.*}}) in
//       CHECK:     %[[ROWS:.*]] = memref.alloca() : memref<32xi32>
//       CHECK:     %[[QR:.*]]:2 = scf.for {{.*}} -> (i32, i32) {
//       CHECK:       %[[QID:.*]] = tensor.extract
//       CHECK:       memref.store %[[QID]], %[[ROWS]]
//       CHECK:     scf.for %[[KT:.*]] =
//       CHECK:       %[[KLO:.*]] = memref.load %[[LO]][%[[B]], %{{.*}}, %[[KT]]]
//       CHECK:       %[[KHI:.*]] = memref.load %[[HI]][%[[B]], %{{.*}}, %[[KT]]]
//   CHECK-DAG:       %[[QLOI:.*]] = arith.index_cast %[[QR]]#0 : i32 to index
//   CHECK-DAG:       %[[QHII:.*]] = arith.index_cast %[[QR]]#1 : i32 to index
//   CHECK-DAG:       %[[KLOI:.*]] = arith.index_cast %[[KLO]] : i32 to index
//   CHECK-DAG:       %[[KHII:.*]] = arith.index_cast %[[KHI]] : i32 to index
//       CHECK:       arith.cmpi eq, %[[QLOI]], %[[KLOI]] : index
//       CHECK:       arith.cmpi sle, %[[QLOI]], %[[KHII]] : index
//       CHECK:       arith.cmpi sle, %[[KLOI]], %[[QHII]] : index
//       CHECK:       scf.if
//       CHECK:         scf.if
//       CHECK:         } else {
//   CHECK-NOT:           tensor.extract
//       CHECK:           %[[ROW:.*]] = memref.load %[[ROWS]]
//       CHECK:           %[[COL:.*]] = vector.load %[[IDS]][%[[B]], %{{.*}}, %[[KT]], %{{.*}}] : memref<1x1x?x64xi32>, vector<16xi32>
//       CHECK:           %[[ROWV:.*]] = vector.broadcast %[[ROW]] : i32 to vector<16xi32>
//       CHECK:           arith.cmpi eq, %[[ROWV]], %[[COL]] : vector<16xi32>
//   CHECK-NOT:   tensor.extract
func.func @documents(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>,
                     %v: tensor<1x2x?x16xf32>, %doc: tensor<1x?xi32>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention softmax ins(%q, %k, %v : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c = arith.cmpi sle, %j, %i : index
    %di = tensor.extract %doc[%b, %i] : tensor<1x?xi32>
    %dj = tensor.extract %doc[%b, %j] : tensor<1x?xi32>
    %same = arith.cmpi eq, %di, %dj : i32
    %m = arith.andi %c, %same : i1
    attn.yield %m : i1
  }
  return %o : tensor<1x2x?x16xf32>
}

// -----

// FlexPrefill's kept blocks, keep[b, h, i / 64, j / 64], with the index
// checks the front end writes: the tile reduces keep over the box of
// blocks it covers (any kept, all kept), when the box is in bounds and
// small; the checks' "must" makes the tile exact, and an inexact tile is
// partial. A partial tile whose blocks are all kept or all dropped runs the
// mask on vectors with keep as one value (no checks, no reads); the others
// run the op's mask, checks included.
// CHECK-LABEL: func.func @block_keep
//       CHECK:   scf.forall
//       CHECK:     scf.for %[[KT:.*]] =
//       CHECK:       %[[BOX:.*]]:2 = scf.if %[[OK:.*]] -> (i1, i1) {
//       CHECK:         scf.for {{.*}} -> (i1, i1) {
//       CHECK:           scf.for {{.*}} -> (i1, i1) {
//       CHECK:             %[[X:.*]] = tensor.extract %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : tensor<1x2x?x?xi1>
//       CHECK:             arith.andi %{{.*}}, %[[X]] : i1
//       CHECK:             arith.ori %{{.*}}, %[[X]] : i1
//       CHECK:       } else {
//       CHECK:         scf.yield %{{.*}}, %{{.*}} : i1, i1
//       CHECK:       arith.ori %[[BOX]]#0, %{{.*}} : i1
//       CHECK:       arith.ori %[[BOX]]#1, %{{.*}} : i1
//       CHECK:       %[[INEXACT:.*]] = arith.xori %[[EXACT:.*]], %{{.*}} : i1
//       CHECK:       %[[MAY:.*]] = arith.ori %{{.*}}, %[[INEXACT]] : i1
//       CHECK:       %[[MUST:.*]] = arith.andi %{{.*}}, %[[EXACT]] : i1
//       CHECK:       scf.if %[[MAY]] {
//       CHECK:         scf.if %[[MUST]] {
//   CHECK-NOT:           cf.assert
//       CHECK:         } else {
//       CHECK:           %[[POINT:.*]] = arith.cmpi eq, %[[BOX]]#0, %[[BOX]]#1 : i1
//       CHECK:           %[[SPECIAL:.*]] = arith.andi %[[EXACT]], %[[POINT]] : i1
//       CHECK:           scf.if %[[SPECIAL]] {
//   CHECK-NOT:             cf.assert
//   CHECK-NOT:             tensor.extract
//       CHECK:             vector.broadcast %[[BOX]]#0 : i1 to vector<16xi1>
//       CHECK:           } else {
//       CHECK:             cf.assert
//       CHECK:             tensor.extract
func.func @block_keep(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>,
                      %v: tensor<1x2x?x16xf32>, %keep: tensor<1x2x?x?xi1>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention softmax ins(%q, %k, %v : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %c64 = arith.constant 64 : index
    %causal = arith.cmpi sle, %j, %i : index
    %bi = arith.floordivsi %i, %c64 : index
    %nbi = tensor.dim %keep, %c2 : tensor<1x2x?x?xi1>
    %inI = arith.cmpi slt, %bi, %nbi : index
    cf.assert %inI, "block row out of range"
    %lasti = arith.subi %nbi, %c1 : index
    %ci = arith.minsi %bi, %lasti : index
    %bj = arith.floordivsi %j, %c64 : index
    %nbj = tensor.dim %keep, %c3 : tensor<1x2x?x?xi1>
    %inJ = arith.cmpi slt, %bj, %nbj : index
    cf.assert %inJ, "block column out of range"
    %lastj = arith.subi %nbj, %c1 : index
    %cj = arith.minsi %bj, %lastj : index
    %kept = tensor.extract %keep[%b, %h, %ci, %cj] : tensor<1x2x?x?xi1>
    %diag = arith.cmpi eq, %bi, %bj : index
    %either = arith.ori %kept, %diag : i1
    %m = arith.andi %causal, %either : i1
    attn.yield %m : i1
  }
  return %o : tensor<1x2x?x16xf32>
}

// -----

// DuoAttention's per-head policy: a read at h alone is one load per task,
// before the key tiles, and its value enters the classification as is; no
// first phase.
// CHECK-LABEL: func.func @per_head
//       CHECK:   scf.forall
//       CHECK:   scf.forall (%{{.*}}, %[[H:.*]], %{{.*}}) in
//   CHECK-NOT:   scf.forall
//       CHECK:     %[[FULL:.*]] = tensor.extract %{{.*}}[%[[H]]] : tensor<2xi1>
//       CHECK:     scf.for
//       CHECK:       arith.ori %[[FULL]], %{{.*}} : i1
//       CHECK:       arith.ori %[[FULL]], %{{.*}} : i1
//       CHECK:       scf.if
func.func @per_head(%q: tensor<1x2x?x16xf32>, %k: tensor<1x2x?x16xf32>,
                    %v: tensor<1x2x?x16xf32>, %full: tensor<2xi1>) -> tensor<1x2x?x16xf32> {
  %o = attn.attention softmax ins(%q, %k, %v : tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c16 = arith.constant 16 : index
    %causal = arith.cmpi sle, %j, %i : index
    %f = tensor.extract %full[%h] : tensor<2xi1>
    %sink = arith.cmpi slt, %j, %c16 : index
    %either = arith.ori %f, %sink : i1
    %m = arith.andi %causal, %either : i1
    attn.yield %m : i1
  }
  return %o : tensor<1x2x?x16xf32>
}

// -----

// Float ids: ranges by minimumf/maximumf (a NaN makes them NaN); equality
// "must" by ordered comparisons, "may" by unordered ones.
// CHECK-LABEL: func.func @float_ids
//       CHECK:   scf.forall
//       CHECK:     arith.minimumf
//       CHECK:     arith.maximumf
//       CHECK:   scf.forall
//       CHECK:     %[[QR:.*]]:2 = scf.for {{.*}} -> (f32, f32) {
//       CHECK:     scf.for
//       CHECK:       %[[KLO:.*]] = memref.load %{{.*}} : memref<1x1x?xf32>
//       CHECK:       %[[KHI:.*]] = memref.load %{{.*}} : memref<1x1x?xf32>
//       CHECK:       arith.cmpf oeq, %[[QR]]#0, %[[KLO]] : f32
//       CHECK:       arith.cmpf ule, %[[QR]]#0, %[[KHI]] : f32
//       CHECK:       arith.cmpf ule, %[[KLO]], %[[QR]]#1 : f32
func.func @float_ids(%q: tensor<1x1x?x16xf32>, %k: tensor<1x1x?x16xf32>,
                     %v: tensor<1x1x?x16xf32>, %doc: tensor<?xf32>) -> tensor<1x1x?x16xf32> {
  %o = attn.attention softmax ins(%q, %k, %v : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>) -> tensor<1x1x?x16xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %di = tensor.extract %doc[%i] : tensor<?xf32>
    %dj = tensor.extract %doc[%j] : tensor<?xf32>
    %m = arith.cmpf oeq, %di, %dj : f32
    attn.yield %m : i1
  }
  return %o : tensor<1x1x?x16xf32>
}

// -----

// Arithmetic on ids may wrap: the i32 sum's range must fit i32, or the
// tile is inexact (partial).
// CHECK-LABEL: func.func @shifted_ids
//       CHECK:   scf.forall
//       CHECK:     scf.for
//       CHECK:       memref.load %{{.*}} : memref<1x1x?xi32>
//       CHECK:       memref.load %{{.*}} : memref<1x1x?xi32>
//       CHECK:       %[[LO:.*]] = arith.addi %{{.*}}, %[[ONE:.*]] : index
//       CHECK:       %[[HI:.*]] = arith.addi %{{.*}}, %[[ONE]] : index
//       CHECK:       %[[ABOVE:.*]] = arith.cmpi sge, %[[LO]], %c-2147483648{{.*}} : index
//       CHECK:       %[[BELOW:.*]] = arith.cmpi sle, %[[HI]], %c2147483647{{.*}} : index
//       CHECK:       %[[FITS:.*]] = arith.andi %[[ABOVE]], %[[BELOW]] : i1
//       CHECK:       %[[INEXACT:.*]] = arith.xori %[[FITS]], %true
//       CHECK:       %[[MAY:.*]] = arith.ori %{{.*}}, %[[INEXACT]] : i1
//       CHECK:       %[[MUST:.*]] = arith.andi %{{.*}}, %[[FITS]] : i1
//       CHECK:       scf.if %[[MAY]] {
//       CHECK:         scf.if %[[MUST]] {
func.func @shifted_ids(%q: tensor<1x1x?x16xf32>, %k: tensor<1x1x?x16xf32>,
                       %v: tensor<1x1x?x16xf32>, %doc: tensor<?xi32>) -> tensor<1x1x?x16xf32> {
  %o = attn.attention softmax ins(%q, %k, %v : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>) -> tensor<1x1x?x16xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c1 = arith.constant 1 : i32
    %di = tensor.extract %doc[%i] : tensor<?xi32>
    %dj = tensor.extract %doc[%j] : tensor<?xi32>
    %next = arith.addi %dj, %c1 : i32
    %m = arith.cmpi eq, %next, %di : i32
    attn.yield %m : i1
  }
  return %o : tensor<1x1x?x16xf32>
}

// -----

// A read at an index without an interval (a remainder of i + j) is not
// bounded: every tile is partial, with the op's mask, one key at a time.
// CHECK-LABEL: func.func @unbounded
//       CHECK:   %[[FALSE:.*]] = arith.constant false
//       CHECK:   %[[TRUE:.*]] = arith.constant true
//       CHECK:   scf.if %[[TRUE]] {
//       CHECK:     scf.if %[[FALSE]] {
//       CHECK:     } else {
//       CHECK:       arith.remui
//       CHECK:       tensor.extract %{{.*}}[%{{.*}}] : tensor<7xi1>
func.func @unbounded(%q: tensor<1x1x?x16xf32>, %k: tensor<1x1x?x16xf32>,
                     %v: tensor<1x1x?x16xf32>, %t: tensor<7xi1>) -> tensor<1x1x?x16xf32> {
  %o = attn.attention softmax ins(%q, %k, %v : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>) -> tensor<1x1x?x16xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c7 = arith.constant 7 : index
    %s = arith.addi %i, %j : index
    %r = arith.remui %s, %c7 : index
    %m = tensor.extract %t[%r] : tensor<7xi1>
    attn.yield %m : i1
  }
  return %o : tensor<1x1x?x16xf32>
}
