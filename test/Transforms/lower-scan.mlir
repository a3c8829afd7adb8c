// RUN: attnc-opt %s --attn-lower-scan --split-input-file | FileCheck %s

// attn-lower-scan: every attn.scan becomes an scf.forall over its batch
// indices around a sequential scf.for over time, which carries the states
// as tensor iter_args and inserts each step's emit into the stacked output.

// A running sum per batch row (the example of the op's description): the
// row of the output is a slice of the shared output, filled in place by the
// time loop and written back with parallel_insert_slice, as is the final
// state. The next state is copied into the current one's tensor, so that
// the loop bufferizes in place.

// CHECK-LABEL: func.func @running_sum
// CHECK-SAME:    (%[[X:.*]]: tensor<?x?x4xf32>, %[[B:.*]]: index, %[[N:.*]]: index)
// CHECK-NOT:     attn.scan
// CHECK-DAG:     %[[OUT:.*]] = tensor.empty(%[[B]], %[[N]]) : tensor<?x?x4xf32>
// CHECK-DAG:     %[[FIN:.*]] = tensor.empty(%[[B]]) : tensor<?x4xf32>
// CHECK:         %[[R:.*]]:2 = scf.forall (%[[I:.*]]) in (%[[B]]) shared_outs(%[[O:.*]] = %[[OUT]], %[[F:.*]] = %[[FIN]])
// CHECK:           %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<4xf32>
// CHECK:           %[[ROW:.*]] = tensor.extract_slice %[[O]][%[[I]], 0, 0] [1, %[[N]], 4] [1, 1, 1] : tensor<?x?x4xf32> to tensor<?x4xf32>
// CHECK:           %[[L:.*]]:2 = scf.for %[[T:.*]] = %{{.*}} to %[[N]] step %{{.*}} iter_args(%[[ACC:.*]] = %[[ROW]], %[[S:.*]] = %[[ZERO]])
// CHECK:             %[[XT:.*]] = tensor.extract_slice %[[X]][%[[I]], %[[T]], 0] [1, 1, 4] [1, 1, 1]
// CHECK:             %[[S1:.*]] = arith.addf %[[S]], %[[XT]] : tensor<4xf32>
// CHECK:             %[[INS:.*]] = tensor.insert_slice %[[S1]] into %[[ACC]][%[[T]], 0] [1, 4] [1, 1] : tensor<4xf32> into tensor<?x4xf32>
// CHECK:             %[[NEXT:.*]] = linalg.copy ins(%[[S1]] : tensor<4xf32>) outs(%[[S]] : tensor<4xf32>)
// CHECK:             scf.yield %[[INS]], %[[NEXT]]
// CHECK:           scf.forall.in_parallel
// CHECK:             tensor.parallel_insert_slice %[[L]]#0 into %[[O]][%[[I]], 0, 0] [1, %[[N]], 4] [1, 1, 1]
// CHECK:             tensor.parallel_insert_slice %[[L]]#1 into %[[F]][%[[I]], 0] [1, 4] [1, 1]
// CHECK:         return %[[R]]#0, %[[R]]#1
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

// No batch dimensions and chunk 3: a plain scf.for writing the whole
// output. The chunk-start states are one more iter_arg each, refreshed
// (copied) from the states when t mod 3 == 0; a scalar emit is a
// tensor.insert.

// CHECK-LABEL: func.func @chunked_scalar_emit
// CHECK-SAME:    (%[[X:.*]]: tensor<?xf32>, %[[N:.*]]: index)
// CHECK-NOT:     attn.scan
// CHECK-NOT:     scf.forall
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<f32>
// CHECK-DAG:     %[[OUT:.*]] = tensor.empty(%[[N]]) : tensor<?xf32>
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C3:.*]] = arith.constant 3 : index
// CHECK:         %[[L:.*]]:3 = scf.for %[[T:.*]] = %[[C0]] to %[[N]] step %{{.*}} iter_args(%[[ACC:.*]] = %[[OUT]], %[[S:.*]] = %[[ZERO]], %[[C:.*]] = %[[ZERO]])
// CHECK:           %[[REM:.*]] = arith.remui %[[T]], %[[C3]] : index
// CHECK:           %[[START:.*]] = arith.cmpi eq, %[[REM]], %[[C0]] : index
// CHECK:           %[[C1:.*]] = scf.if %[[START]] -> (tensor<f32>) {
// CHECK:             %[[COPY:.*]] = linalg.copy ins(%[[S]] : tensor<f32>) outs(%[[C]] : tensor<f32>)
// CHECK:             scf.yield %[[COPY]]
// CHECK:           } else {
// CHECK:             scf.yield %[[C]]
// CHECK:           }
// CHECK:           %[[CV:.*]] = tensor.extract %[[C1]][] : tensor<f32>
// CHECK:           %[[SV:.*]] = arith.addf
// CHECK:           %[[E:.*]] = arith.addf %[[SV]], %[[CV]] : f32
// CHECK:           %[[S1:.*]] = tensor.from_elements %[[SV]]
// CHECK:           %[[INS:.*]] = tensor.insert %[[E]] into %[[ACC]][%[[T]]] : tensor<?xf32>
// CHECK:           %[[NEXT:.*]] = linalg.copy ins(%[[S1]] : tensor<f32>) outs(%[[S]] : tensor<f32>)
// CHECK:           scf.yield %[[INS]], %[[NEXT]], %[[C1]]
// CHECK:         return %[[L]]#0, %[[L]]#1
func.func @chunked_scalar_emit(%x: tensor<?xf32>, %n: index)
    -> (tensor<?xf32>, tensor<f32>) {
  %y, %s = attn.scan length(%n) chunk 3 -> tensor<?xf32>, tensor<f32>
    init {
      %z = arith.constant dense<0.0> : tensor<f32>
      attn.yield %z : tensor<f32>
    } body {
    ^bb0(%t: index, %S: tensor<f32>, %C: tensor<f32>):
      %xt = tensor.extract %x[%t] : tensor<?xf32>
      %sv = tensor.extract %S[] : tensor<f32>
      %cv = tensor.extract %C[] : tensor<f32>
      %s1 = arith.addf %sv, %xt : f32
      %e = arith.addf %s1, %cv : f32
      %S1 = tensor.from_elements %s1 : tensor<f32>
      attn.scan_yield emit(%e : f32) state(%S1 : tensor<f32>)
    }
  return %y, %s : tensor<?xf32>, tensor<f32>
}

// -----

// Two batch dimensions (one static), two states: one forall over both, one
// parallel_insert_slice per result.

// CHECK-LABEL: func.func @two_batch_dims
// CHECK-SAME:    (%[[X:.*]]: tensor<?x2x?x3xf32>, %[[B:.*]]: index, %[[N:.*]]: index)
// CHECK-NOT:     attn.scan
// CHECK:         scf.forall (%[[I:.*]], %[[J:.*]]) in (%[[B]], 2) shared_outs(%[[O:.*]] = %{{.*}}, %[[F1:.*]] = %{{.*}}, %[[F2:.*]] = %{{.*}}) -> (tensor<?x2x?x3xf32>, tensor<?x2x3xf32>, tensor<?x2xf32>)
// CHECK:           tensor.extract_slice %[[O]][%[[I]], %[[J]], 0, 0] [1, 1, %[[N]], 3] [1, 1, 1, 1] : tensor<?x2x?x3xf32> to tensor<?x3xf32>
// CHECK:           %[[L:.*]]:3 = scf.for
// CHECK:           scf.forall.in_parallel
// CHECK-NEXT:        tensor.parallel_insert_slice %[[L]]#0 into %[[O]][%[[I]], %[[J]], 0, 0] [1, 1, %[[N]], 3] [1, 1, 1, 1] : tensor<?x3xf32> into tensor<?x2x?x3xf32>
// CHECK-NEXT:        tensor.parallel_insert_slice %[[L]]#1 into %[[F1]][%[[I]], %[[J]], 0] [1, 1, 3] [1, 1, 1] : tensor<3xf32> into tensor<?x2x3xf32>
// CHECK-NEXT:        tensor.parallel_insert_slice %[[L]]#2 into %[[F2]][%[[I]], %[[J]]] [1, 1] [1, 1] : tensor<f32> into tensor<?x2xf32>
func.func @two_batch_dims(%x: tensor<?x2x?x3xf32>, %B: index, %N: index)
    -> (tensor<?x2x?x3xf32>, tensor<?x2x3xf32>, tensor<?x2xf32>) {
  %two = arith.constant 2 : index
  %y, %s, %m = attn.scan batch(%B, %two) length(%N)
      -> tensor<?x2x?x3xf32>, tensor<?x2x3xf32>, tensor<?x2xf32>
    init {
    ^bb0(%i: index, %j: index):
      %z = arith.constant dense<0.0> : tensor<3xf32>
      %o = arith.constant dense<1.0> : tensor<f32>
      attn.yield %z, %o : tensor<3xf32>, tensor<f32>
    } body {
    ^bb0(%i: index, %j: index, %t: index, %S: tensor<3xf32>, %M: tensor<f32>):
      %xt = tensor.extract_slice %x[%i, %j, %t, 0] [1, 1, 1, 3] [1, 1, 1, 1]
          : tensor<?x2x?x3xf32> to tensor<3xf32>
      %S1 = arith.addf %S, %xt : tensor<3xf32>
      %M1 = arith.mulf %M, %M : tensor<f32>
      attn.scan_yield emit(%S1 : tensor<3xf32>) state(%S1, %M1 : tensor<3xf32>, tensor<f32>)
    }
  return %y, %s, %m : tensor<?x2x?x3xf32>, tensor<?x2x3xf32>, tensor<?x2xf32>
}
