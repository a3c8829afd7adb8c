// RUN: attnc-opt %s --attn-differentiate --split-input-file -verify-diagnostics

// attn-differentiate: ops it has no adjoint rule for are errors naming the
// op, never silently wrong gradients.

func.func @unsupported_op(%w: tensor<f32>) -> tensor<f32> {
  %g = attn.grad(%w : tensor<f32>) -> tensor<f32> loss {
  ^bb0(%a: tensor<f32>):
    %s = tensor.extract %a[] : tensor<f32>
    // expected-error @+1 {{attn-differentiate cannot differentiate 'math.atan'}}
    %t = math.atan %s : f32
    attn.yield %t : f32
  }
  return %g : tensor<f32>
}

// -----

func.func @unsupported_in_generate(%w: tensor<4xf32>) -> tensor<4xf32> {
  %g = attn.grad(%w : tensor<4xf32>) -> tensor<4xf32> loss {
  ^bb0(%a: tensor<4xf32>):
    %gen = tensor.generate {
    ^bb0(%i: index):
      %x = tensor.extract %a[%i] : tensor<4xf32>
      // expected-error @+1 {{attn-differentiate cannot differentiate 'math.cbrt'}}
      %y = math.cbrt %x : f32
      tensor.yield %y : f32
    } : tensor<4xf32>
    %c0 = arith.constant 0 : index
    %l = tensor.extract %gen[%c0] : tensor<4xf32>
    attn.yield %l : f32
  }
  return %g : tensor<4xf32>
}

// -----

func.func @shifted_read(%w: tensor<5xf32>) -> tensor<5xf32> {
  %g = attn.grad(%w : tensor<5xf32>) -> tensor<5xf32> loss {
  ^bb0(%a: tensor<5xf32>):
    // expected-error @+1 {{attn-differentiate cannot differentiate this tensor.generate: it reads a tensor at an index that is neither an index of the generate nor a constant}}
    %gen = tensor.generate {
    ^bb0(%i: index):
      %c1 = arith.constant 1 : index
      %j = arith.addi %i, %c1 : index
      %x = tensor.extract %a[%j] : tensor<5xf32>
      tensor.yield %x : f32
    } : tensor<4xf32>
    %c0 = arith.constant 0 : index
    %l = tensor.extract %gen[%c0] : tensor<4xf32>
    attn.yield %l : f32
  }
  return %g : tensor<5xf32>
}

// -----

func.func @diagonal_read(%w: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %g = attn.grad(%w : tensor<4x4xf32>) -> tensor<4x4xf32> loss {
  ^bb0(%a: tensor<4x4xf32>):
    // expected-error @+1 {{attn-differentiate cannot differentiate this tensor.generate: it reads a tensor with a repeated index}}
    %gen = tensor.generate {
    ^bb0(%i: index):
      %x = tensor.extract %a[%i, %i] : tensor<4x4xf32>
      tensor.yield %x : f32
    } : tensor<4xf32>
    %c0 = arith.constant 0 : index
    %l = tensor.extract %gen[%c0] : tensor<4xf32>
    attn.yield %l : f32
  }
  return %g : tensor<4x4xf32>
}

// -----

func.func @unsupported_linalg(%w: tensor<4xf32>) -> tensor<4xf32> {
  %g = attn.grad(%w : tensor<4xf32>) -> tensor<4xf32> loss {
  ^bb0(%a: tensor<4xf32>):
    %e = tensor.empty() : tensor<f32>
    %z = arith.constant 0.0 : f32
    %f = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
    // expected-error @+1 {{attn-differentiate cannot differentiate 'linalg.reduce': only single-input arith.addf and arith.maximumf reductions are supported}}
    %r = linalg.reduce { arith.mulf } ins(%a : tensor<4xf32>)
        outs(%f : tensor<f32>) dimensions = [0]
    %l = tensor.extract %r[] : tensor<f32>
    attn.yield %l : f32
  }
  return %g : tensor<4xf32>
}
