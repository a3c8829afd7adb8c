//===- StepEntry.h - Entries that resume their recurrences ------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The step entry of a function with recurrences: `@NAME_step` takes the
/// arguments of `@NAME` plus one tensor per state of each of its
/// `attn.scan`s (`[batch..., state...]`, in the order of the scans and of
/// their states), starts every scan from those states instead of its init
/// region and returns the results of `@NAME` plus the scans' final states
/// in the same order. Run over the first N1 tokens and then, from the
/// states it returned, over the next N2, it gives what one run over the
/// N1 + N2 tokens gives; with one token it is a decode step.
///
/// That holds only when nothing but the scans carries information from one
/// time step to another. `createStepEntry` checks it and otherwise says
/// why not (see the .cpp file for the rules).
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_TRANSFORMS_STEPENTRY_H
#define ATTNC_TRANSFORMS_STEPENTRY_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <string>

namespace mlir::attnc {

/// The time axis of an argument: a dimension index, or one of these.
enum : int64_t {
  /// The argument does not depend on time (a weight, a per-head constant).
  kNoTimeAxis = -1,
  /// The argument runs over time in a way a step cannot split (the length
  /// twice, or inside a product or quotient of sizes).
  kMixedTimeAxis = -2,
};

/// Adds `@NAME_step` (see the file comment) after `func`, public, and
/// returns it. `argTimeAxes` gives the time axis of each argument of
/// `func`; when empty, it is inferred from the IR: the dimension a scan's
/// length is taken from (an index argument that is the length gets axis
/// 0), and the positions at which scan bodies, and tensor.generate ops over
/// the length, index arguments with the time index (every other argument
/// is taken to be time-independent). Fails, with `reason` set to a sentence
/// starting with "not supported yet: " and nothing added, when `func` has no
/// scan at its top level or cannot resume.
FailureOr<func::FuncOp> createStepEntry(func::FuncOp func,
                                        ArrayRef<int64_t> argTimeAxes,
                                        std::string &reason);

/// The name of the step entry of `name`: `name + "_step"`.
std::string getStepEntryName(StringRef name);

} // namespace mlir::attnc

#endif // ATTNC_TRANSFORMS_STEPENTRY_H
