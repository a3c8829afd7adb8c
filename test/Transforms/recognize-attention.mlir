// RUN: attnc-opt %s --attn-recognize-attention --split-input-file | FileCheck %s

// attn-recognize-attention: linalg scaled dot-product attention chains (the
// front end's einspace SDPA) become single-head attn.attention ops.

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// Scaled SDPA, static shapes, the scale constant inside the generic.
// CHECK-LABEL: func.func @sdpa_scaled_static
// CHECK-SAME:    %[[Q:[^:]+]]: tensor<2x8x32xf32>, %[[K:[^:]+]]: tensor<2x12x32xf32>, %[[V:[^:]+]]: tensor<2x12x16xf32>
// CHECK-NOT:     linalg.
// CHECK:         %[[Q4:.+]] = tensor.expand_shape %[[Q]] {{\[}}[0, 1], [2], [3]] output_shape [2, 1, 8, 32] : tensor<2x8x32xf32> into tensor<2x1x8x32xf32>
// CHECK:         %[[K4:.+]] = tensor.expand_shape %[[K]] {{\[}}[0, 1], [2], [3]] output_shape [2, 1, 12, 32] : tensor<2x12x32xf32> into tensor<2x1x12x32xf32>
// CHECK:         %[[V4:.+]] = tensor.expand_shape %[[V]] {{\[}}[0, 1], [2], [3]] output_shape [2, 1, 12, 16] : tensor<2x12x16xf32> into tensor<2x1x12x16xf32>
// CHECK:         %[[O:.+]] = attn.attention softmax ins(%[[Q4]], %[[K4]], %[[V4]] : tensor<2x1x8x32xf32>, tensor<2x1x12x32xf32>, tensor<2x1x12x16xf32>) -> tensor<2x1x8x16xf32> score {
// CHECK-NEXT:    ^bb0(%[[S:[^:]+]]: f32, %{{[^:]+}}: index, %{{[^:]+}}: index, %{{[^:]+}}: index, %{{[^:]+}}: index):
// CHECK-NEXT:      %[[C:.+]] = arith.constant 0.17677{{[0-9]+}} : f32
// CHECK-NEXT:      %[[R:.+]] = arith.mulf %[[S]], %[[C]] : f32
// CHECK-NEXT:      attn.yield %[[R]] : f32
// CHECK-NEXT:    }
// CHECK-NEXT:    %[[OUT:.+]] = tensor.collapse_shape %[[O]] {{\[}}[0, 1], [2], [3]] : tensor<2x1x8x16xf32> into tensor<2x8x16xf32>
// CHECK-NOT:     linalg.
// CHECK:         return %[[OUT]]
func.func @sdpa_scaled_static(%q: tensor<2x8x32xf32>, %k: tensor<2x12x32xf32>,
                              %v: tensor<2x12x16xf32>) -> tensor<2x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<2x32x12xf32>
  %kt = linalg.transpose ins(%k : tensor<2x12x32xf32>) outs(%e0 : tensor<2x32x12xf32>) permutation = [0, 2, 1]
  %e1 = tensor.empty() : tensor<2x8x12xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<2x8x12xf32>) -> tensor<2x8x12xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x8x32xf32>, tensor<2x32x12xf32>) outs(%z : tensor<2x8x12xf32>) -> tensor<2x8x12xf32>
  %ss = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<2x8x12xf32>) outs(%e1 : tensor<2x8x12xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.constant 0.176776695 : f32
    %m = arith.mulf %in, %c : f32
    linalg.yield %m : f32
  } -> tensor<2x8x12xf32>
  %p = linalg.softmax dimension(2) ins(%ss : tensor<2x8x12xf32>) outs(%e1 : tensor<2x8x12xf32>) -> tensor<2x8x12xf32>
  %e2 = tensor.empty() : tensor<2x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x8x12xf32>, tensor<2x12x16xf32>) outs(%z2 : tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %o : tensor<2x8x16xf32>
}

// -----

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// Scaled SDPA, dynamic batch and sequence lengths, the scale constant defined
// above the generic (c * s): the expansions read the sizes with tensor.dim.
// CHECK-LABEL: func.func @sdpa_scaled_dynamic
// CHECK-SAME:    %[[Q:[^:]+]]: tensor<?x?x32xf32>, %[[K:[^:]+]]: tensor<?x?x32xf32>, %[[V:[^:]+]]: tensor<?x?x16xf32>
// CHECK-NOT:     linalg.
// CHECK-DAG:     %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.+]] = arith.constant 1 : index
// CHECK-DAG:     %[[B:.+]] = tensor.dim %[[Q]], %[[C0]] : tensor<?x?x32xf32>
// CHECK-DAG:     %[[N:.+]] = tensor.dim %[[Q]], %[[C1]] : tensor<?x?x32xf32>
// CHECK:         %[[Q4:.+]] = tensor.expand_shape %[[Q]] {{\[}}[0, 1], [2], [3]] output_shape [%[[B]], 1, %[[N]], 32] : tensor<?x?x32xf32> into tensor<?x1x?x32xf32>
// CHECK:         %[[K4:.+]] = tensor.expand_shape %[[K]] {{.+}} into tensor<?x1x?x32xf32>
// CHECK:         %[[V4:.+]] = tensor.expand_shape %[[V]] {{.+}} into tensor<?x1x?x16xf32>
// CHECK:         %[[O:.+]] = attn.attention softmax ins(%[[Q4]], %[[K4]], %[[V4]] : tensor<?x1x?x32xf32>, tensor<?x1x?x32xf32>, tensor<?x1x?x16xf32>) -> tensor<?x1x?x16xf32> score {
// CHECK-NEXT:    ^bb0(%[[S:[^:]+]]: f32, %{{[^:]+}}: index, %{{[^:]+}}: index, %{{[^:]+}}: index, %{{[^:]+}}: index):
// CHECK-NEXT:      %[[C:.+]] = arith.constant 1.250000e-01 : f32
// CHECK-NEXT:      %[[R:.+]] = arith.mulf %[[C]], %[[S]] : f32
// CHECK-NEXT:      attn.yield %[[R]] : f32
// CHECK-NEXT:    }
// CHECK-NEXT:    %[[OUT:.+]] = tensor.collapse_shape %[[O]] {{\[}}[0, 1], [2], [3]] : tensor<?x1x?x16xf32> into tensor<?x?x16xf32>
// CHECK-NOT:     linalg.
// CHECK:         return %[[OUT]]
func.func @sdpa_scaled_dynamic(%q: tensor<?x?x32xf32>, %k: tensor<?x?x32xf32>,
                               %v: tensor<?x?x16xf32>, %e0: tensor<?x32x?xf32>,
                               %e1: tensor<?x?x?xf32>, %e2: tensor<?x?x16xf32>)
    -> tensor<?x?x16xf32> {
  %zero = arith.constant 0.0 : f32
  %c = arith.constant 0.125 : f32
  %kt = linalg.transpose ins(%k : tensor<?x?x32xf32>) outs(%e0 : tensor<?x32x?xf32>) permutation = [0, 2, 1]
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<?x?x32xf32>, tensor<?x32x?xf32>) outs(%z : tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  %ss = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<?x?x?xf32>) outs(%e1 : tensor<?x?x?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %c, %in : f32
    linalg.yield %m : f32
  } -> tensor<?x?x?xf32>
  %p = linalg.softmax dimension(2) ins(%ss : tensor<?x?x?xf32>) outs(%e1 : tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<?x?x?xf32>, tensor<?x?x16xf32>) outs(%z2 : tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
  return %o : tensor<?x?x16xf32>
}

// -----

// Unscaled dot-product attention: no score region.
// CHECK-LABEL: func.func @sdpa_unscaled
// CHECK-NOT:     linalg.
// CHECK:         %[[O:.+]] = attn.attention softmax ins({{.+}}) -> tensor<1x1x8x16xf32>
// CHECK-NOT:     score
// CHECK-NOT:     mask
// CHECK:         %[[OUT:.+]] = tensor.collapse_shape %[[O]]
// CHECK-NOT:     linalg.
// CHECK:         return %[[OUT]]
func.func @sdpa_unscaled(%q: tensor<1x8x32xf32>, %k: tensor<1x12x32xf32>,
                         %v: tensor<1x12x16xf32>) -> tensor<1x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<1x32x12xf32>
  %kt = linalg.transpose ins(%k : tensor<1x12x32xf32>) outs(%e0 : tensor<1x32x12xf32>) permutation = [0, 2, 1]
  %e1 = tensor.empty() : tensor<1x8x12xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<1x8x32xf32>, tensor<1x32x12xf32>) outs(%z : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<1x8x12xf32>) outs(%e1 : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %e2 = tensor.empty() : tensor<1x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<1x8x12xf32>, tensor<1x12x16xf32>) outs(%z2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  return %o : tensor<1x8x16xf32>
}

// -----

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// The scale as a division; K arrives transposed, read by a batch_matmul with
// transposed-B indexing maps.
// CHECK-LABEL: func.func @sdpa_divf_transpose_b
// CHECK-SAME:    %{{[^:]+}}: tensor<1x8x32xf32>, %[[K:[^:]+]]: tensor<1x12x32xf32>
// CHECK-NOT:     linalg.
// CHECK:         %[[K4:.+]] = tensor.expand_shape %[[K]] {{.+}} into tensor<1x1x12x32xf32>
// CHECK:         attn.attention softmax ins(%{{.+}}, %[[K4]], %{{.+}} : {{.+}}) -> tensor<1x1x8x16xf32> score {
// CHECK-NEXT:    ^bb0(%[[S:[^:]+]]: f32,
// CHECK-NEXT:      %[[C:.+]] = arith.constant 5.656{{[0-9]+}} : f32
// CHECK-NEXT:      %[[R:.+]] = arith.divf %[[S]], %[[C]] : f32
// CHECK-NEXT:      attn.yield %[[R]] : f32
// CHECK-NOT:     linalg.
// CHECK:         return
func.func @sdpa_divf_transpose_b(%q: tensor<1x8x32xf32>, %k: tensor<1x12x32xf32>,
                                 %v: tensor<1x12x16xf32>) -> tensor<1x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<1x8x12xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %s = linalg.batch_matmul
      indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>,
                       affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>,
                       affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>]
      ins(%q, %k : tensor<1x8x32xf32>, tensor<1x12x32xf32>) outs(%z : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %ss = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<1x8x12xf32>) outs(%e1 : tensor<1x8x12xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.constant 5.65685415 : f32
    %m = arith.divf %in, %c : f32
    linalg.yield %m : f32
  } -> tensor<1x8x12xf32>
  %p = linalg.softmax dimension(2) ins(%ss : tensor<1x8x12xf32>) outs(%e1 : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %e2 = tensor.empty() : tensor<1x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<1x8x12xf32>, tensor<1x12x16xf32>) outs(%z2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  return %o : tensor<1x8x16xf32>
}

// -----

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// Causal SDPA: the mask generic's condition (j <= i, from linalg.index 2 and
// 1) becomes the mask region on %j and %i; the -inf constant is dropped.
// CHECK-LABEL: func.func @sdpa_causal
// CHECK-NOT:     linalg.
// CHECK:         attn.attention softmax ins({{.+}}) -> tensor<2x1x8x16xf32> score {
// CHECK:           arith.mulf
// CHECK:         } mask {
// CHECK-NEXT:    ^bb0(%{{[^:]+}}: index, %{{[^:]+}}: index, %[[I:[^:]+]]: index, %[[J:[^:]+]]: index):
// CHECK-NEXT:      %[[M:.+]] = arith.cmpi sle, %[[J]], %[[I]] : index
// CHECK-NEXT:      attn.yield %[[M]] : i1
// CHECK-NEXT:    }
// CHECK-NOT:     linalg.
// CHECK:         return
func.func @sdpa_causal(%q: tensor<2x8x32xf32>, %k: tensor<2x8x32xf32>,
                       %v: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<2x32x8xf32>
  %kt = linalg.transpose ins(%k : tensor<2x8x32xf32>) outs(%e0 : tensor<2x32x8xf32>) permutation = [0, 2, 1]
  %e1 = tensor.empty() : tensor<2x8x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x8x32xf32>, tensor<2x32x8xf32>) outs(%z : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %ss = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<2x8x8xf32>) outs(%e1 : tensor<2x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.constant 0.176776695 : f32
    %m = arith.mulf %in, %c : f32
    linalg.yield %m : f32
  } -> tensor<2x8x8xf32>
  %sm = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ss : tensor<2x8x8xf32>) outs(%e1 : tensor<2x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %i = linalg.index 1 : index
    %j = linalg.index 2 : index
    %vis = arith.cmpi sle, %j, %i : index
    %r = arith.select %vis, %in, %ninf : f32
    linalg.yield %r : f32
  } -> tensor<2x8x8xf32>
  %p = linalg.softmax dimension(2) ins(%sm : tensor<2x8x8xf32>) outs(%e1 : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %e2 = tensor.empty() : tensor<2x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x8x8xf32>, tensor<2x8x16xf32>) outs(%z2 : tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %o : tensor<2x8x16xf32>
}

// -----

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// A sliding-window mask (i - j < 4, with an index constant defined above the
// generic) that selects -inf when the condition holds, before an unscaled
// softmax: the mask region computes the condition and negates it.
// CHECK-LABEL: func.func @sdpa_window_negated
// CHECK-NOT:     linalg.
// CHECK:         attn.attention softmax ins({{.+}}) -> tensor<1x1x8x16xf32> mask {
// CHECK-NEXT:    ^bb0(%[[B:[^:]+]]: index, %{{[^:]+}}: index, %[[I:[^:]+]]: index, %[[J:[^:]+]]: index):
// CHECK-DAG:       %[[W:.+]] = arith.constant 4 : index
// CHECK-DAG:       %[[D:.+]] = arith.subi %[[I]], %[[J]] : index
// CHECK:           %[[H:.+]] = arith.cmpi sge, %[[D]], %[[W]] : index
// CHECK:           %[[T:.+]] = arith.constant true
// CHECK:           %[[M:.+]] = arith.xori %[[H]], %[[T]] : i1
// CHECK:           attn.yield %[[M]] : i1
// CHECK-NOT:     linalg.
// CHECK:         return
func.func @sdpa_window_negated(%q: tensor<1x8x32xf32>, %k: tensor<1x8x32xf32>,
                               %v: tensor<1x8x16xf32>) -> tensor<1x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant 4 : index
  %e0 = tensor.empty() : tensor<1x32x8xf32>
  %kt = linalg.transpose ins(%k : tensor<1x8x32xf32>) outs(%e0 : tensor<1x32x8xf32>) permutation = [0, 2, 1]
  %e1 = tensor.empty() : tensor<1x8x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x8x8xf32>) -> tensor<1x8x8xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<1x8x32xf32>, tensor<1x32x8xf32>) outs(%z : tensor<1x8x8xf32>) -> tensor<1x8x8xf32>
  %sm = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<1x8x8xf32>) outs(%e1 : tensor<1x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %i = linalg.index 1 : index
    %j = linalg.index 2 : index
    %d = arith.subi %i, %j : index
    %hide = arith.cmpi sge, %d, %w : index
    %ninf = arith.constant 0xFF800000 : f32
    %r = arith.select %hide, %ninf, %in : f32
    linalg.yield %r : f32
  } -> tensor<1x8x8xf32>
  %p = linalg.softmax dimension(2) ins(%sm : tensor<1x8x8xf32>) outs(%e1 : tensor<1x8x8xf32>) -> tensor<1x8x8xf32>
  %e2 = tensor.empty() : tensor<1x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<1x8x8xf32>, tensor<1x8x16xf32>) outs(%z2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  return %o : tensor<1x8x16xf32>
}

// -----

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// The mask before the scale: a positive factor keeps -inf at -inf, so the
// chain is still attention with both regions.
// CHECK-LABEL: func.func @sdpa_mask_then_scale
// CHECK-NOT:     linalg.
// CHECK:         attn.attention softmax ins({{.+}}) -> tensor<1x1x8x16xf32> score {
// CHECK:           arith.mulf
// CHECK:         } mask {
// CHECK:           arith.cmpi ule
// CHECK-NOT:     linalg.
// CHECK:         return
func.func @sdpa_mask_then_scale(%q: tensor<1x8x32xf32>, %k: tensor<1x8x32xf32>,
                               %v: tensor<1x8x16xf32>) -> tensor<1x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<1x32x8xf32>
  %kt = linalg.transpose ins(%k : tensor<1x8x32xf32>) outs(%e0 : tensor<1x32x8xf32>) permutation = [0, 2, 1]
  %e1 = tensor.empty() : tensor<1x8x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x8x8xf32>) -> tensor<1x8x8xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<1x8x32xf32>, tensor<1x32x8xf32>) outs(%z : tensor<1x8x8xf32>) -> tensor<1x8x8xf32>
  %sm = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<1x8x8xf32>) outs(%e1 : tensor<1x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %i = linalg.index 1 : index
    %j = linalg.index 2 : index
    %vis = arith.cmpi ule, %j, %i : index
    %r = arith.select %vis, %in, %ninf : f32
    linalg.yield %r : f32
  } -> tensor<1x8x8xf32>
  %ss = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%sm : tensor<1x8x8xf32>) outs(%e1 : tensor<1x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.constant 0.125 : f32
    %m = arith.mulf %in, %c : f32
    linalg.yield %m : f32
  } -> tensor<1x8x8xf32>
  %p = linalg.softmax dimension(2) ins(%ss : tensor<1x8x8xf32>) outs(%e1 : tensor<1x8x8xf32>) -> tensor<1x8x8xf32>
  %e2 = tensor.empty() : tensor<1x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<1x8x8xf32>, tensor<1x8x16xf32>) outs(%z2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  return %o : tensor<1x8x16xf32>
}

// -----

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// Two heads (one SDPA chain each, sharing the zero fills): two matches.
// CHECK-LABEL: func.func @sdpa_two_heads
// CHECK-NOT:     linalg.
// CHECK:         %[[O0:.+]] = attn.attention softmax ins(%{{.+}}) -> tensor<2x1x8x16xf32> score
// CHECK:         %[[C0:.+]] = tensor.collapse_shape %[[O0]]
// CHECK:         %[[O1:.+]] = attn.attention softmax ins(%{{.+}}) -> tensor<2x1x8x16xf32> score
// CHECK:         %[[C1:.+]] = tensor.collapse_shape %[[O1]]
// CHECK-NOT:     linalg.
// CHECK:         return %[[C0]], %[[C1]]
func.func @sdpa_two_heads(%q0: tensor<2x8x32xf32>, %k0: tensor<2x8x32xf32>, %v0: tensor<2x8x16xf32>,
                          %q1: tensor<2x8x32xf32>, %k1: tensor<2x8x32xf32>, %v1: tensor<2x8x16xf32>)
    -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<2x32x8xf32>
  %e1 = tensor.empty() : tensor<2x8x8xf32>
  %e2 = tensor.empty() : tensor<2x8x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x8x16xf32>) -> tensor<2x8x16xf32>

  %kt0 = linalg.transpose ins(%k0 : tensor<2x8x32xf32>) outs(%e0 : tensor<2x32x8xf32>) permutation = [0, 2, 1]
  %s0 = linalg.batch_matmul ins(%q0, %kt0 : tensor<2x8x32xf32>, tensor<2x32x8xf32>) outs(%z : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %ss0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s0 : tensor<2x8x8xf32>) outs(%e1 : tensor<2x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.constant 0.176776695 : f32
    %m = arith.mulf %in, %c : f32
    linalg.yield %m : f32
  } -> tensor<2x8x8xf32>
  %p0 = linalg.softmax dimension(2) ins(%ss0 : tensor<2x8x8xf32>) outs(%e1 : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %o0 = linalg.batch_matmul ins(%p0, %v0 : tensor<2x8x8xf32>, tensor<2x8x16xf32>) outs(%z2 : tensor<2x8x16xf32>) -> tensor<2x8x16xf32>

  %kt1 = linalg.transpose ins(%k1 : tensor<2x8x32xf32>) outs(%e0 : tensor<2x32x8xf32>) permutation = [0, 2, 1]
  %s1 = linalg.batch_matmul ins(%q1, %kt1 : tensor<2x8x32xf32>, tensor<2x32x8xf32>) outs(%z : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %ss1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s1 : tensor<2x8x8xf32>) outs(%e1 : tensor<2x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.constant 0.176776695 : f32
    %m = arith.mulf %in, %c : f32
    linalg.yield %m : f32
  } -> tensor<2x8x8xf32>
  %p1 = linalg.softmax dimension(2) ins(%ss1 : tensor<2x8x8xf32>) outs(%e1 : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %o1 = linalg.batch_matmul ins(%p1, %v1 : tensor<2x8x8xf32>, tensor<2x8x16xf32>) outs(%z2 : tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %o0, %o1 : tensor<2x8x16xf32>, tensor<2x8x16xf32>
}

// -----

// Negative: softmax over dimension 1 (the queries) is not attention.
// CHECK-LABEL: func.func @no_softmax_dim1
// CHECK-NOT:     attn.attention
// CHECK:         linalg.softmax dimension(1)
// CHECK:         linalg.batch_matmul
// CHECK-NOT:     attn.attention
func.func @no_softmax_dim1(%q: tensor<1x8x32xf32>, %k: tensor<1x12x32xf32>,
                           %v: tensor<1x12x16xf32>) -> tensor<1x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<1x32x12xf32>
  %kt = linalg.transpose ins(%k : tensor<1x12x32xf32>) outs(%e0 : tensor<1x32x12xf32>) permutation = [0, 2, 1]
  %e1 = tensor.empty() : tensor<1x8x12xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<1x8x32xf32>, tensor<1x32x12xf32>) outs(%z : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %p = linalg.softmax dimension(1) ins(%s : tensor<1x8x12xf32>) outs(%e1 : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %e2 = tensor.empty() : tensor<1x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<1x8x12xf32>, tensor<1x12x16xf32>) outs(%z2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  return %o : tensor<1x8x16xf32>
}

// -----

// Negative: the attention weights have a second use.
// CHECK-LABEL: func.func @no_second_use
// CHECK-NOT:     attn.attention
// CHECK:         %[[P:.+]] = linalg.softmax dimension(2)
// CHECK:         %[[O:.+]] = linalg.batch_matmul ins(%[[P]],
// CHECK:         return %[[O]], %[[P]]
func.func @no_second_use(%q: tensor<1x8x32xf32>, %k: tensor<1x12x32xf32>,
                         %v: tensor<1x12x16xf32>)
    -> (tensor<1x8x16xf32>, tensor<1x8x12xf32>) {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<1x32x12xf32>
  %kt = linalg.transpose ins(%k : tensor<1x12x32xf32>) outs(%e0 : tensor<1x32x12xf32>) permutation = [0, 2, 1]
  %e1 = tensor.empty() : tensor<1x8x12xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<1x8x32xf32>, tensor<1x32x12xf32>) outs(%z : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<1x8x12xf32>) outs(%e1 : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %e2 = tensor.empty() : tensor<1x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<1x8x12xf32>, tensor<1x12x16xf32>) outs(%z2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  return %o, %p : tensor<1x8x16xf32>, tensor<1x8x12xf32>
}

// -----

// Negative: the raw scores have a second use.
// CHECK-LABEL: func.func @no_scores_second_use
// CHECK-NOT:     attn.attention
// CHECK:         %[[S:.+]] = linalg.batch_matmul
// CHECK:         linalg.softmax dimension(2) ins(%[[S]]
// CHECK-NOT:     attn.attention
func.func @no_scores_second_use(%q: tensor<1x8x32xf32>, %k: tensor<1x12x32xf32>,
                                %v: tensor<1x12x16xf32>)
    -> (tensor<1x8x16xf32>, tensor<1x8x12xf32>) {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<1x32x12xf32>
  %kt = linalg.transpose ins(%k : tensor<1x12x32xf32>) outs(%e0 : tensor<1x32x12xf32>) permutation = [0, 2, 1]
  %e1 = tensor.empty() : tensor<1x8x12xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<1x8x32xf32>, tensor<1x32x12xf32>) outs(%z : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<1x8x12xf32>) outs(%e1 : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %e2 = tensor.empty() : tensor<1x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<1x8x12xf32>, tensor<1x12x16xf32>) outs(%z2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  return %o, %s : tensor<1x8x16xf32>, tensor<1x8x12xf32>
}

// -----

// Negative: the output accumulates into a non-zero tensor.
// CHECK-LABEL: func.func @no_nonzero_accumulator
// CHECK-NOT:     attn.attention
// CHECK:         linalg.softmax dimension(2)
// CHECK:         linalg.batch_matmul
// CHECK-NOT:     attn.attention
func.func @no_nonzero_accumulator(%q: tensor<1x8x32xf32>, %k: tensor<1x12x32xf32>,
                                  %v: tensor<1x12x16xf32>) -> tensor<1x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e0 = tensor.empty() : tensor<1x32x12xf32>
  %kt = linalg.transpose ins(%k : tensor<1x12x32xf32>) outs(%e0 : tensor<1x32x12xf32>) permutation = [0, 2, 1]
  %e1 = tensor.empty() : tensor<1x8x12xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<1x8x32xf32>, tensor<1x32x12xf32>) outs(%z : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<1x8x12xf32>) outs(%e1 : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %e2 = tensor.empty() : tensor<1x8x16xf32>
  %z2 = linalg.fill ins(%one : f32) outs(%e2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<1x8x12xf32>, tensor<1x12x16xf32>) outs(%z2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  return %o : tensor<1x8x16xf32>
}

// -----

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// Negative: a generic that is not a pure scale (s * c + 1).
// CHECK-LABEL: func.func @no_impure_scale
// CHECK-NOT:     attn.attention
// CHECK:         linalg.generic
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK:         linalg.softmax dimension(2)
// CHECK:         linalg.batch_matmul
// CHECK-NOT:     attn.attention
func.func @no_impure_scale(%q: tensor<1x8x32xf32>, %k: tensor<1x12x32xf32>,
                           %v: tensor<1x12x16xf32>) -> tensor<1x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<1x32x12xf32>
  %kt = linalg.transpose ins(%k : tensor<1x12x32xf32>) outs(%e0 : tensor<1x32x12xf32>) permutation = [0, 2, 1]
  %e1 = tensor.empty() : tensor<1x8x12xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<1x8x32xf32>, tensor<1x32x12xf32>) outs(%z : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %ss = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<1x8x12xf32>) outs(%e1 : tensor<1x8x12xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.constant 0.176776695 : f32
    %one = arith.constant 1.0 : f32
    %m = arith.mulf %in, %c : f32
    %a = arith.addf %m, %one : f32
    linalg.yield %a : f32
  } -> tensor<1x8x12xf32>
  %p = linalg.softmax dimension(2) ins(%ss : tensor<1x8x12xf32>) outs(%e1 : tensor<1x8x12xf32>) -> tensor<1x8x12xf32>
  %e2 = tensor.empty() : tensor<1x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<1x8x12xf32>, tensor<1x12x16xf32>) outs(%z2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  return %o : tensor<1x8x16xf32>
}

// -----

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// Negative: a mask whose condition reads a run-time value (a function
// argument), not only the iteration indices.
// CHECK-LABEL: func.func @no_runtime_mask
// CHECK-NOT:     attn.attention
// CHECK:         linalg.generic
// CHECK:           arith.select
// CHECK:         linalg.softmax dimension(2)
// CHECK-NOT:     attn.attention
func.func @no_runtime_mask(%q: tensor<1x8x32xf32>, %k: tensor<1x8x32xf32>,
                           %v: tensor<1x8x16xf32>, %len: index) -> tensor<1x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<1x32x8xf32>
  %kt = linalg.transpose ins(%k : tensor<1x8x32xf32>) outs(%e0 : tensor<1x32x8xf32>) permutation = [0, 2, 1]
  %e1 = tensor.empty() : tensor<1x8x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x8x8xf32>) -> tensor<1x8x8xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<1x8x32xf32>, tensor<1x32x8xf32>) outs(%z : tensor<1x8x8xf32>) -> tensor<1x8x8xf32>
  %sm = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<1x8x8xf32>) outs(%e1 : tensor<1x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %j = linalg.index 2 : index
    %vis = arith.cmpi slt, %j, %len : index
    %r = arith.select %vis, %in, %ninf : f32
    linalg.yield %r : f32
  } -> tensor<1x8x8xf32>
  %p = linalg.softmax dimension(2) ins(%sm : tensor<1x8x8xf32>) outs(%e1 : tensor<1x8x8xf32>) -> tensor<1x8x8xf32>
  %e2 = tensor.empty() : tensor<1x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<1x8x8xf32>, tensor<1x8x16xf32>) outs(%z2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  return %o : tensor<1x8x16xf32>
}

// -----

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// Negative: the mask before a negative scale, which turns -inf into +inf.
// CHECK-LABEL: func.func @no_mask_then_negative_scale
// CHECK-NOT:     attn.attention
// CHECK:         linalg.softmax dimension(2)
// CHECK-NOT:     attn.attention
func.func @no_mask_then_negative_scale(%q: tensor<1x8x32xf32>, %k: tensor<1x8x32xf32>,
                                      %v: tensor<1x8x16xf32>) -> tensor<1x8x16xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<1x32x8xf32>
  %kt = linalg.transpose ins(%k : tensor<1x8x32xf32>) outs(%e0 : tensor<1x32x8xf32>) permutation = [0, 2, 1]
  %e1 = tensor.empty() : tensor<1x8x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x8x8xf32>) -> tensor<1x8x8xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<1x8x32xf32>, tensor<1x32x8xf32>) outs(%z : tensor<1x8x8xf32>) -> tensor<1x8x8xf32>
  %sm = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<1x8x8xf32>) outs(%e1 : tensor<1x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %i = linalg.index 1 : index
    %j = linalg.index 2 : index
    %vis = arith.cmpi ule, %j, %i : index
    %r = arith.select %vis, %in, %ninf : f32
    linalg.yield %r : f32
  } -> tensor<1x8x8xf32>
  %ss = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%sm : tensor<1x8x8xf32>) outs(%e1 : tensor<1x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.constant -0.125 : f32
    %m = arith.mulf %in, %c : f32
    linalg.yield %m : f32
  } -> tensor<1x8x8xf32>
  %p = linalg.softmax dimension(2) ins(%ss : tensor<1x8x8xf32>) outs(%e1 : tensor<1x8x8xf32>) -> tensor<1x8x8xf32>
  %e2 = tensor.empty() : tensor<1x8x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<1x8x8xf32>, tensor<1x8x16xf32>) outs(%z2 : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  return %o : tensor<1x8x16xf32>
}
