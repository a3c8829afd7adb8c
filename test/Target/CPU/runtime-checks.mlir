// RUN: attnc-opt %s --attnc-cpu-runtime-checks --split-input-file --verify-diagnostics | FileCheck %s

// A library must not abort its caller: a failed cf.assert records code 3 in
// a slot that the entry allocates and returns; helpers that check, or call
// one that does, take the slot as a trailing argument. Functions without
// checks are left alone.

// CHECK-LABEL: func.func private @read
// CHECK-SAME: (%[[BUF:.+]]: memref<?xf32>, %[[I:.+]]: index, %[[OUT:.+]]: memref<1xf32>, %[[SLOT:.+]]: memref<1xi32>)
// CHECK: %[[TRUE:.+]] = arith.constant true
// CHECK: %[[BAD:.+]] = arith.xori %{{.+}}, %[[TRUE]] : i1
// CHECK: scf.if %[[BAD]] {
// CHECK-NEXT: %[[CODE:.+]] = arith.constant 3 : i32
// CHECK-NEXT: %[[C0:.+]] = arith.constant 0 : index
// CHECK-NEXT: memref.atomic_rmw maxs %[[CODE]], %[[SLOT]][%[[C0]]] : (i32, memref<1xi32>) -> i32
// CHECK-NEXT: }
// CHECK-NOT: cf.assert
// CHECK: memref.load %[[BUF]]
func.func private @read(%buf: memref<?xf32>, %i: index, %out: memref<1xf32>) {
  %c0 = arith.constant 0 : index
  %n = memref.dim %buf, %c0 : memref<?xf32>
  %ok = arith.cmpi slt, %i, %n : index
  cf.assert %ok, "index 'i + 1' of 'q' is out of range of dimension 0 (size N)"
  %v = memref.load %buf[%c0] : memref<?xf32>
  memref.store %v, %out[%c0] : memref<1xf32>
  return
}

// CHECK-LABEL: func.func private @middle
// CHECK-SAME: %{{.+}}: memref<1xf32>, %[[SLOT:.+]]: memref<1xi32>)
// CHECK: call @read(%{{.+}}, %{{.+}}, %{{.+}}, %[[SLOT]])
func.func private @middle(%buf: memref<?xf32>, %i: index, %out: memref<1xf32>) {
  call @read(%buf, %i, %out) : (memref<?xf32>, index, memref<1xf32>) -> ()
  return
}

// CHECK-LABEL: func.func private @pure
// CHECK-SAME: (%{{.+}}: memref<1xf32>)
func.func private @pure(%out: memref<1xf32>) {
  return
}

// CHECK-LABEL: func.func @__attnc_next
// CHECK-SAME: -> i32
// CHECK: %[[SLOT:.+]] = memref.alloca() : memref<1xi32>
// CHECK: %[[ZERO:.+]] = arith.constant 0 : i32
// CHECK: %[[C0:.+]] = arith.constant 0 : index
// CHECK: memref.store %[[ZERO]], %[[SLOT]][%[[C0]]]
// CHECK: call @middle(%{{.+}}, %{{.+}}, %{{.+}}, %[[SLOT]])
// CHECK: call @pure(%{{[^,]+}}) :
// CHECK: %[[CODE:.+]] = memref.load %[[SLOT]][%[[C0]]]
// CHECK: return %[[CODE]] : i32
func.func @__attnc_next(%buf: memref<?xf32>, %i: index, %out: memref<1xf32>) {
  call @middle(%buf, %i, %out) : (memref<?xf32>, index, memref<1xf32>) -> ()
  call @pure(%out) : (memref<1xf32>) -> ()
  return
}

// -----

// An entry returns the code, so it must not have results of its own.
// expected-error @below {{an entry with run-time checks must have no results}}
func.func @__attnc_bad(%ok: i1) -> f32 {
  cf.assert %ok, "never"
  %z = arith.constant 0.0 : f32
  return %z : f32
}
