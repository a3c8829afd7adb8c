//===- Interpreter.h - The float64 reference interpreter --------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The oracle of attnc: executes a `func.func` of attn + upstream IR op by op
/// in float64, with plain loops. Every back end and every pass is checked
/// against it, so it is written to be obviously right, not fast.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_INTERP_INTERPRETER_H
#define ATTNC_INTERP_INTERPRETER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/LLVM.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attnc {
namespace interp {

/// What the elements of a tensor are. Integers (and booleans, 0 or 1) are
/// held exactly in the doubles as long as they stay below 2^53, which the
/// interpreter checks where it converts.
enum class ElemKind { Float, Int, Bool };

/// A dense row-major tensor of doubles; rank 0 is a scalar.
struct Tensor {
  ElemKind kind = ElemKind::Float;
  std::vector<int64_t> shape;
  std::vector<double> data;

  int64_t numElements() const;
  /// The row-major offset of `indices` (which must be in bounds).
  int64_t offset(llvm::ArrayRef<int64_t> indices) const;
};

/// Runs `func` on `args` (one per argument, in order; scalars are rank-0
/// tensors). On success returns one tensor per result. On failure (an op the
/// interpreter does not know, an out-of-bounds index, a shape that does not
/// match the IR's static type, an `attn.grad` that was not differentiated)
/// reports an error at the op's location through the context's diagnostic
/// handler and returns failure.
mlir::FailureOr<std::vector<Tensor>> run(mlir::func::FuncOp func,
                                         llvm::ArrayRef<Tensor> args);

} // namespace interp
} // namespace attnc

#endif // ATTNC_INTERP_INTERPRETER_H
