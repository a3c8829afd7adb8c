// RUN: attnc-opt %s --attn-add-step-entries --split-input-file | FileCheck %s

// attn-add-step-entries: @NAME_step takes one more argument per scan state,
// [batch..., state...], starts each scan from it (the init region reads the
// argument at the batch indices) and also returns the final states.

// A running sum per batch row whose length is an index argument and which
// returns its final state already (the step returns it twice). The
// original function is left as it was.

// CHECK-LABEL: func.func @running_sum
// CHECK-SAME:    -> (tensor<?x?x4xf32>, tensor<?x4xf32>)
// CHECK:         arith.constant dense<0.000000e+00> : tensor<4xf32>

// CHECK-LABEL: func.func @running_sum_step
// CHECK-SAME:    (%[[X:.*]]: tensor<?x?x4xf32>, %[[B:.*]]: index, %[[N:.*]]: index, %[[S_IN:.*]]: tensor<?x4xf32>)
// CHECK-SAME:    -> (tensor<?x?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>)
// CHECK:         %[[Y:.*]], %[[S:.*]] = attn.scan batch(%[[B]]) length(%[[N]])
// CHECK-SAME:    init {
// CHECK-NEXT:    ^bb0(%[[I:.*]]: index):
// CHECK-NEXT:      %[[S0:.*]] = tensor.extract_slice %[[S_IN]][%[[I]], 0] [1, 4] [1, 1] : tensor<?x4xf32> to tensor<4xf32>
// CHECK-NEXT:      attn.yield %[[S0]] : tensor<4xf32>
// CHECK-NEXT:    } body {
// CHECK:         return %[[Y]], %[[S]], %[[S]]
func.func @running_sum(%x: tensor<?x?x4xf32>, %B: index, %N: index)
    -> (tensor<?x?x4xf32>, tensor<?x4xf32>) {
  %y, %s = attn.scan batch(%B) length(%N) linear_in_state
      -> tensor<?x?x4xf32>, tensor<?x4xf32>
      init {
      ^bb0(%b: index):
        %z = arith.constant dense<0.0> : tensor<4xf32>
        attn.yield %z : tensor<4xf32>
      }
      body {
      ^bb0(%b: index, %t: index, %S: tensor<4xf32>):
        %xt = tensor.extract_slice %x[%b, %t, 0] [1, 1, 4] [1, 1, 1]
            : tensor<?x?x4xf32> to tensor<4xf32>
        %S1 = arith.addf %S, %xt : tensor<4xf32>
        attn.scan_yield emit(%S1 : tensor<4xf32>) state(%S1 : tensor<4xf32>)
      }
  return %y, %s : tensor<?x?x4xf32>, tensor<?x4xf32>
}

// -----

// GLA's shape of program: a gate computed element-wise over time before the
// scan (a tensor.generate reading %g at its own indices) and read by the
// scan at step t, and two states of one scan. The time axis of %x and %g is
// dimension 1, where the length comes from.

// CHECK-LABEL: func.func @gated_step
// CHECK-SAME:    (%[[X:.*]]: tensor<?x?x4xf32>, %[[G:.*]]: tensor<?x?x4xf32>, %[[S_IN:.*]]: tensor<?x4x4xf32>, %[[Z_IN:.*]]: tensor<?x4xf32>)
// CHECK-SAME:    -> (tensor<?x?x4xf32>, tensor<?x4x4xf32>, tensor<?x4xf32>)
// CHECK:         %[[GATE:.*]] = tensor.generate
// CHECK:         %[[Y:.*]], %[[F:.*]]:2 = attn.scan
// CHECK-SAME:    init {
// CHECK-NEXT:    ^bb0(%[[I:.*]]: index):
// CHECK-DAG:       %[[S0:.*]] = tensor.extract_slice %[[S_IN]][%[[I]], 0, 0] [1, 4, 4] [1, 1, 1] : tensor<?x4x4xf32> to tensor<4x4xf32>
// CHECK-DAG:       %[[Z0:.*]] = tensor.extract_slice %[[Z_IN]][%[[I]], 0] [1, 4] [1, 1] : tensor<?x4xf32> to tensor<4xf32>
// CHECK:           attn.yield %[[S0]], %[[Z0]] : tensor<4x4xf32>, tensor<4xf32>
// CHECK:         return %[[Y]], %[[F]]#0, %[[F]]#1
func.func @gated(%x: tensor<?x?x4xf32>, %g: tensor<?x?x4xf32>)
    -> tensor<?x?x4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %B = tensor.dim %x, %c0 : tensor<?x?x4xf32>
  %N = tensor.dim %x, %c1 : tensor<?x?x4xf32>
  %gate = tensor.generate %B, %N {
  ^bb0(%i: index, %j: index, %k: index):
    %e = tensor.extract %g[%i, %j, %k] : tensor<?x?x4xf32>
    %n = arith.negf %e : f32
    tensor.yield %n : f32
  } : tensor<?x?x4xf32>
  %y, %s, %z = attn.scan batch(%B) length(%N)
      -> tensor<?x?x4xf32>, tensor<?x4x4xf32>, tensor<?x4xf32>
      init {
      ^bb0(%b: index):
        %zero = arith.constant dense<0.0> : tensor<4x4xf32>
        %zv = arith.constant dense<1.0> : tensor<4xf32>
        attn.yield %zero, %zv : tensor<4x4xf32>, tensor<4xf32>
      }
      body {
      ^bb0(%b: index, %t: index, %S: tensor<4x4xf32>, %Z: tensor<4xf32>):
        %S1 = tensor.generate {
        ^bb0(%d: index, %e: index):
          %a = tensor.extract %gate[%b, %t, %d] : tensor<?x?x4xf32>
          %v = tensor.extract %x[%b, %t, %e] : tensor<?x?x4xf32>
          %s0 = tensor.extract %S[%d, %e] : tensor<4x4xf32>
          %m = arith.mulf %a, %s0 : f32
          %r = arith.addf %m, %v : f32
          tensor.yield %r : f32
        } : tensor<4x4xf32>
        %xt = tensor.extract_slice %x[%b, %t, 0] [1, 1, 4] [1, 1, 1]
            : tensor<?x?x4xf32> to tensor<4xf32>
        %Z1 = arith.addf %Z, %xt : tensor<4xf32>
        attn.scan_yield emit(%Z1 : tensor<4xf32>)
                        state(%S1, %Z1 : tensor<4x4xf32>, tensor<4xf32>)
      }
  return %y : tensor<?x?x4xf32>
}
