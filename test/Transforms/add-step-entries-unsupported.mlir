// RUN: attnc-opt %s --attn-add-step-entries --split-input-file -verify-diagnostics | FileCheck %s

// attn-add-step-entries: a function that cannot resume from its scans'
// states gets no step entry and a remark saying why.

// CHECK-NOT: _step

// A chunked scan restarts its chunk at the first token of every call.

// expected-remark @+1 {{no step entry: not supported yet: a step entry for 'chunked': 'attn.scan' has chunk 2: a call would start a new chunk at its first token, and the chunk-start states are not carried}}
func.func @chunked(%x: tensor<?x4xf32>, %N: index) -> tensor<?x4xf32> {
  %y, %s = attn.scan length(%N) chunk 2 -> tensor<?x4xf32>, tensor<4xf32>
      init {
        %z = arith.constant dense<0.0> : tensor<4xf32>
        attn.yield %z : tensor<4xf32>
      }
      body {
      ^bb0(%t: index, %S: tensor<4xf32>, %C: tensor<4xf32>):
        %xt = tensor.extract_slice %x[%t, 0] [1, 4] [1, 1]
            : tensor<?x4xf32> to tensor<4xf32>
        %S1 = arith.addf %C, %xt : tensor<4xf32>
        attn.scan_yield emit(%S1 : tensor<4xf32>) state(%S1 : tensor<4xf32>)
      }
  return %y : tensor<?x4xf32>
}

// -----

// A body that computes with t (a position) would see it restart at 0.

// expected-remark @+1 {{no step entry: not supported yet: a step entry for 'positional': 'attn.scan' computes with its time index t (op 'arith.index_cast'), which restarts at 0 in every call}}
func.func @positional(%x: tensor<?x4xf32>, %N: index) -> tensor<?x4xf32> {
  %y, %s = attn.scan length(%N) -> tensor<?x4xf32>, tensor<4xf32>
      init {
        %z = arith.constant dense<0.0> : tensor<4xf32>
        attn.yield %z : tensor<4xf32>
      }
      body {
      ^bb0(%t: index, %S: tensor<4xf32>):
        %xt = tensor.extract_slice %x[%t, 0] [1, 4] [1, 1]
            : tensor<?x4xf32> to tensor<4xf32>
        %i = arith.index_cast %t : index to i64
        %f = arith.sitofp %i : i64 to f32
        %p = tensor.splat %f : tensor<4xf32>
        %S1 = arith.addf %S, %p : tensor<4xf32>
        %S2 = arith.addf %S1, %xt : tensor<4xf32>
        attn.scan_yield emit(%S2 : tensor<4xf32>) state(%S2 : tensor<4xf32>)
      }
  return %y : tensor<?x4xf32>
}

// -----

// A causal convolution before the scan reads earlier tokens, which a step
// does not have.

// expected-remark @+1 {{no step entry: not supported yet: a step entry for 'conv_then_scan': 'attn.conv1d' outside the scans reads a tensor over time: a step would need the tokens of earlier calls too}}
func.func @conv_then_scan(%x: tensor<?x4xf32>, %w: tensor<3x4xf32>)
    -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : index
  %N = tensor.dim %x, %c0 : tensor<?x4xf32>
  %xc = attn.conv1d %x, %w : tensor<?x4xf32>, tensor<3x4xf32>
      -> tensor<?x4xf32>
  %y, %s = attn.scan length(%N) -> tensor<?x4xf32>, tensor<4xf32>
      init {
        %z = arith.constant dense<0.0> : tensor<4xf32>
        attn.yield %z : tensor<4xf32>
      }
      body {
      ^bb0(%t: index, %S: tensor<4xf32>):
        %xt = tensor.extract_slice %xc[%t, 0] [1, 4] [1, 1]
            : tensor<?x4xf32> to tensor<4xf32>
        %S1 = arith.addf %S, %xt : tensor<4xf32>
        attn.scan_yield emit(%S1 : tensor<4xf32>) state(%S1 : tensor<4xf32>)
      }
  return %y : tensor<?x4xf32>
}

// -----

// A positional table generated over time and read at step t depends on
// where the sequence starts.

// expected-remark @+1 {{no step entry: not supported yet: a step entry for 'position_table': 'tensor.generate' computes with its time index (op 'arith.index_cast')}}
func.func @position_table(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : index
  %N = tensor.dim %x, %c0 : tensor<?x4xf32>
  %pos = tensor.generate %N {
  ^bb0(%i: index, %d: index):
    %ii = arith.index_cast %i : index to i64
    %f = arith.sitofp %ii : i64 to f32
    tensor.yield %f : f32
  } : tensor<?x4xf32>
  %y, %s = attn.scan length(%N) -> tensor<?x4xf32>, tensor<4xf32>
      init {
        %z = arith.constant dense<0.0> : tensor<4xf32>
        attn.yield %z : tensor<4xf32>
      }
      body {
      ^bb0(%t: index, %S: tensor<4xf32>):
        %xt = tensor.extract_slice %x[%t, 0] [1, 4] [1, 1]
            : tensor<?x4xf32> to tensor<4xf32>
        %pt = tensor.extract_slice %pos[%t, 0] [1, 4] [1, 1]
            : tensor<?x4xf32> to tensor<4xf32>
        %S1 = arith.addf %S, %xt : tensor<4xf32>
        %S2 = arith.addf %S1, %pt : tensor<4xf32>
        attn.scan_yield emit(%S2 : tensor<4xf32>) state(%S2 : tensor<4xf32>)
      }
  return %y : tensor<?x4xf32>
}
