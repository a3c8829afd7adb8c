// RUN: attnc-opt --attn-lower-attention %s | FileCheck %s
// RUN: attnc-opt --attn-lower-attention="tile-q=16 tile-k=32" %s | FileCheck %s --check-prefix=TILES

// Causal attention: one task per (b, h, query tile); for each key tile the
// mask is evaluated on the tile's bounds. The tile is visited only when
// some key may be visible (j0 <= last query), and the mask is skipped when
// every key is (last key <= first query).
// CHECK-LABEL: func.func @causal
//       CHECK:   bufferization.to_buffer %{{.*}} read_only
//       CHECK:   %[[OUT:.*]] = memref.alloc
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
//   CHECK-NOT:             arith.cmpi sle, %{{.*}}, %{{.*}} : index
//       CHECK:             arith.mulf %{{.*}} fastmath<reassoc,contract>
//       CHECK:           } else {
//       CHECK:             arith.cmpi sle
//       CHECK:             arith.select
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

// A data-dependent mask (document ids) gives no bounds: every tile is
// partial, and the mask is evaluated per element.
// CHECK-LABEL: func.func @documents
//       CHECK:   %[[FALSE:.*]] = arith.constant false
//       CHECK:   %[[TRUE:.*]] = arith.constant true
//       CHECK:   scf.if %[[TRUE]] {
//       CHECK:     scf.if %[[FALSE]] {
//       CHECK:     } else {
//       CHECK:       tensor.extract
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
