// RUN: attnc-opt --attn-lower-attention %s | FileCheck %s

// The f32 kernels' exponentials are polynomial approximations (plain
// arithmetic on vectors), not math.exp: LLVM would scalarize a vector exp
// into one libm call per lane, which was half of the kernel's time.

// CHECK-LABEL: func.func @softmax_f32
// CHECK-NOT: math.exp
// CHECK: math.fma
// CHECK-NOT: math.exp
// CHECK: return
func.func @softmax_f32(%q: tensor<1x2x40x8xf32>, %k: tensor<1x2x70x8xf32>,
                       %v: tensor<1x2x70x8xf32>) -> tensor<1x2x40x8xf32> {
  %o = attn.attention softmax ins(%q, %k, %v : tensor<1x2x40x8xf32>, tensor<1x2x70x8xf32>, tensor<1x2x70x8xf32>) -> tensor<1x2x40x8xf32> score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    attn.yield %s : f32
  }
  return %o : tensor<1x2x40x8xf32>
}
