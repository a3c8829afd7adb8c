// RUN: attnc-opt --attn-lower-attention %s | FileCheck %s
// RUN: attnc-opt --attn-lower-attention="tile-q=16 tile-k=32" %s | FileCheck %s --check-prefix=TILES

// Causal attention: one task per (b, h, query tile); for each key tile the
// mask is evaluated on the tile's bounds. The tile is visited only when
// some key may be visible (j0 <= last query), and the mask is skipped when
// every key is (last key <= first query). The keys are packed once, each
// 64-key tile transposed, before the tasks; the softmax runs on vectors of
// 16 keys, with the mask cloned on vector<16xindex>.
// CHECK-LABEL: func.func @causal
//       CHECK:   bufferization.to_buffer %{{.*}} read_only
//       CHECK:   %[[OUT:.*]] = memref.alloc
//       CHECK:   %[[PACKED:.*]] = memref.alloc({{.*}}) : memref<?x8x?x64x64xf32>
//       CHECK:   scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in
//       CHECK:     memref.store %{{.*}}, %[[PACKED]]
//       CHECK:   scf.forall (%[[B:.*]], %[[H:.*]], %[[QT:.*]]) in
//       CHECK:     memref.alloca_scope
//       CHECK:       %[[I0:.*]] = arith.muli %[[QT]], %c32
//       CHECK:       scf.for %[[KT:.*]] =
//       CHECK:         %[[J0:.*]] = arith.muli %[[KT]], %c64{{.*}}
//       CHECK:         %[[JEND:.*]] = arith.addi %[[J0]]
//       CHECK:         %[[JHI:.*]] = arith.subi %[[JEND]]
//       CHECK:         %[[FULL:.*]] = arith.cmpi sle, %[[JHI]], %[[I0]]
//       CHECK:         %[[MAY:.*]] = arith.cmpi sle, %[[J0]], %[[IHI:.*]] : index
//       CHECK:         scf.if %[[MAY]] {
//       CHECK:           scf.if %[[FULL]] {
//       CHECK:             vector.load %[[PACKED]][%[[B]], %{{.*}}, %[[KT]], %{{.*}}, %c0{{.*}}]
//       CHECK:             vector.fma
//   CHECK-NOT:             arith.cmpi sle
//       CHECK:             vector.reduction <maxnumf>
//       CHECK:             vector.reduction <add>
//       CHECK:           } else {
//       CHECK:             arith.cmpi sle, %{{.*}}, %{{.*}} : vector<16xindex>
//       CHECK:             arith.select %{{.*}} : vector<16xi1>, vector<16xf32>
//       CHECK:             vector.reduction <maxnumf>
// A removed key's weight is 0, and 0 * v is NaN for an inf or NaN value v:
// partial tiles check their values once (sum of v * 0, no fast-math flags),
// and only a tile that holds one selects on every weight.
//       CHECK:             %[[VSUM:.*]] = vector.reduction <add>, %{{[0-9]+}} : vector<16xf32> into f32
//       CHECK:             %[[FINITE:.*]] = arith.cmpf ord, %[[VSUM]], %[[VSUM]]
//       CHECK:             scf.if %[[FINITE]] {
//   CHECK-NOT:               arith.cmpf une
//       CHECK:               vector.fma
//       CHECK:             } else {
//       CHECK:               %[[KEPT:.*]] = arith.cmpf une
//       CHECK:               %[[FMA:.*]] = vector.fma
//       CHECK:               arith.select %[[KEPT]], %[[FMA]], %{{.*}} : vector<16xf32>
//       CHECK:   bufferization.to_tensor %[[OUT]] restrict writable
// TILES-LABEL: func.func @causal
//       TILES:   arith.muli %{{.*}}, %c16
//       TILES:   memref.alloca() : memref<16x32xf32>
func.func @causal(%q: tensor<?x8x?x64xf32>, %k: tensor<?x8x?x64xf32>,
                  %v: tensor<?x8x?x64xf32>) -> tensor<?x8x?x64xf32> {
  %o = attn.attention softmax ins(%q, %k, %v : tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>, tensor<?x8x?x64xf32>) -> tensor<?x8x?x64xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %m = arith.cmpi sle, %j, %i : index
    attn.yield %m : i1
  }
  return %o : tensor<?x8x?x64xf32>
}

// A sliding window, i - j < W: the subtraction's interval is
// [i0 - jhi, ihi - j0], so tiles entirely left of the window are skipped.
// CHECK-LABEL: func.func @window
//       CHECK:   memref.alloca_scope
//       CHECK:     %[[J0:.*]] = arith.muli %{{.*}}, %c64{{.*}} : index
//       CHECK:     %[[JHI:.*]] = arith.subi %{{.*}}, %c1{{.*}} : index
//  CHECK-NEXT:     %[[LO:.*]] = arith.subi %[[I0:.*]], %[[JHI]] : index
//  CHECK-NEXT:     %[[HI:.*]] = arith.subi %[[IHI:.*]], %[[J0]] : index
//       CHECK:     %[[MUSTW:.*]] = arith.cmpi slt, %[[HI]], %c256
//  CHECK-NEXT:     %[[MAYW:.*]] = arith.cmpi slt, %[[LO]], %c256
//  CHECK-NEXT:     %[[MUSTC:.*]] = arith.cmpi sle, %[[JHI]], %[[I0]]
//  CHECK-NEXT:     %[[MAYC:.*]] = arith.cmpi sle, %[[J0]], %[[IHI]]
//  CHECK-NEXT:     %[[MUST:.*]] = arith.andi %[[MUSTW]], %[[MUSTC]]
//  CHECK-NEXT:     %[[MAY:.*]] = arith.andi %[[MAYW]], %[[MAYC]]
//  CHECK-NEXT:     scf.if %[[MAY]] {
//  CHECK-NEXT:       scf.if %[[MUST]] {
func.func @window(%q: tensor<1x1x?x16xf32>, %k: tensor<1x1x?x16xf32>,
                  %v: tensor<1x1x?x16xf32>) -> tensor<1x1x?x16xf32> {
  %o = attn.attention softmax ins(%q, %k, %v : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>) -> tensor<1x1x?x16xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c256 = arith.constant 256 : index
    %d = arith.subi %i, %j : index
    %m = arith.cmpi slt, %d, %c256 : index
    %c = arith.cmpi sle, %j, %i : index
    %both = arith.andi %m, %c : i1
    attn.yield %both : i1
  }
  return %o : tensor<1x1x?x16xf32>
}

// A data-dependent mask (document ids) is bounded at run time by the ids'
// range over each tile (block-lists.mlir has the details): tiles whose id
// ranges do not overlap are skipped, and partial tiles compare the ids on
// vectors of keys, read from a per-key-tile copy of the ids.
// CHECK-LABEL: func.func @documents
//       CHECK:   %[[IDS:.*]] = memref.alloc({{.*}}) : memref<1x1x?x64xi32>
//       CHECK:   scf.forall
//       CHECK:       memref.store %{{.*}}, %[[IDS]]
//       CHECK:   scf.forall
//       CHECK:       arith.cmpi sle, %{{.*}}, %{{.*}} : index
//       CHECK:       scf.if %{{.*}} {
//       CHECK:         scf.if %{{.*}} {
//       CHECK:         } else {
//       CHECK:           vector.load %[[IDS]]{{.*}} : memref<1x1x?x64xi32>, vector<16xi32>
//       CHECK:           arith.cmpi eq, %{{.*}}, %{{.*}} : vector<16xi32>
//       CHECK:           vector.reduction <maxnumf>
func.func @documents(%q: tensor<1x1x?x16xf32>, %k: tensor<1x1x?x16xf32>,
                     %v: tensor<1x1x?x16xf32>, %seg: tensor<?xi32>) -> tensor<1x1x?x16xf32> {
  %o = attn.attention softmax ins(%q, %k, %v : tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>, tensor<1x1x?x16xf32>) -> tensor<1x1x?x16xf32>
  mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %si = tensor.extract %seg[%i] : tensor<?xi32>
    %sj = tensor.extract %seg[%j] : tensor<?xi32>
    %m = arith.cmpi eq, %si, %sj : i32
    attn.yield %m : i1
  }
  return %o : tensor<1x1x?x16xf32>
}

// ALiBi: the score region reads a slope at h (uniform: one scalar
// tensor.extract, broadcast) and computes with j - i on vectors of keys.
// CHECK-LABEL: func.func @alibi
//       CHECK:   scf.forall
//       CHECK:       %[[SLOPE:.*]] = tensor.extract %{{.*}}[%{{.*}}] : tensor<8xf32>
//   CHECK-NOT:       tensor.extract
//       CHECK:       arith.subi %{{.*}}, %{{.*}} : vector<16xindex>
//       CHECK:       arith.index_cast %{{.*}} : vector<16xindex> to vector<16xi64>
//       CHECK:       arith.sitofp %{{.*}} : vector<16xi64> to vector<16xf32>
//       CHECK:       %[[SPLAT:.*]] = vector.broadcast %[[SLOPE]] : f32 to vector<16xf32>
//       CHECK:       arith.mulf %[[SPLAT]], %{{.*}} : vector<16xf32>
func.func @alibi(%q: tensor<1x8x?x64xf32>, %k: tensor<1x8x?x64xf32>,
                 %v: tensor<1x8x?x64xf32>, %slopes: tensor<8xf32>) -> tensor<1x8x?x64xf32> {
  %o = attn.attention softmax ins(%q, %k, %v : tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>) -> tensor<1x8x?x64xf32>
  score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %slope = tensor.extract %slopes[%h] : tensor<8xf32>
    %d = arith.subi %j, %i : index
    %di = arith.index_cast %d : index to i64
    %df = arith.sitofp %di : i64 to f32
    %bias = arith.mulf %slope, %df : f32
    %r = arith.addf %s, %bias : f32
    attn.yield %r : f32
  }
  return %o : tensor<1x8x?x64xf32>
}
