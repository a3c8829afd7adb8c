// RUN: attnc-opt %s --attnc-cpu-approximate-exp | FileCheck %s

// f32 exp, expm1 and log, scalar or vector, become arithmetic that LLVM
// vectorizes (no libm call per element); f64 is left to libm.

// CHECK-LABEL: func.func @f32_ops
// CHECK-NOT: math.exp
// CHECK-NOT: math.log
// CHECK: math.fma {{.*}} : vector<16xf32>
// CHECK-NOT: math.exp
// CHECK-NOT: math.log
// CHECK: return
func.func @f32_ops(%x: f32, %v: vector<16xf32>) -> (f32, vector<16xf32>, f32) {
  %a = math.exp %x : f32
  %b = math.exp %v : vector<16xf32>
  %c = math.expm1 %x : f32
  %d = math.log %a : f32
  %e = arith.addf %c, %d : f32
  return %a, %b, %e : f32, vector<16xf32>, f32
}

// CHECK-LABEL: func.func @f64_ops
// CHECK: math.exp %{{.+}} : f64
// CHECK: math.expm1 %{{.+}} : f64
func.func @f64_ops(%x: f64) -> (f64, f64) {
  %a = math.exp %x : f64
  %b = math.expm1 %x : f64
  return %a, %b : f64, f64
}
