// RUN: attnc-opt %s --attn-lower-scan --split-input-file -verify-diagnostics

// attn-lower-scan: what it cannot lower is an error, never a wrong loop.

func.func @grad_left(%w: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{attn-lower-scan: run attn-differentiate first}}
  %g = attn.grad(%w : tensor<4xf32>) -> tensor<4xf32> loss {
  ^bb0(%a: tensor<4xf32>):
    %c0 = arith.constant 0 : index
    %a0 = tensor.extract %a[%c0] : tensor<4xf32>
    attn.yield %a0 : f32
  }
  return %g : tensor<4xf32>
}

// -----

// The stacked output is allocated before the loops, so an emit extent that
// is only known inside the body is not supported yet.

func.func @dynamic_emit(%x: tensor<?x?xf32>, %n: index) -> tensor<?x?xf32> {
  // expected-error @+1 {{not supported yet by attn-lower-scan: the dynamic extent 1 of the result type 'tensor<?x?xf32>' (only batch and time extents may be dynamic)}}
  %y = attn.scan length(%n) -> tensor<?x?xf32>
    init {
      attn.yield
    } body {
    ^bb0(%t: index):
      %c1 = arith.constant 1 : index
      %m = tensor.dim %x, %c1 : tensor<?x?xf32>
      %row = tensor.extract_slice %x[%t, 0] [1, %m] [1, 1] : tensor<?x?xf32> to tensor<?xf32>
      attn.scan_yield emit(%row : tensor<?xf32>)
    }
  return %y : tensor<?x?xf32>
}
