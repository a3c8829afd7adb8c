//===- RuntimeChecks.h - cf.assert as an error code -------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_TARGET_CPU_RUNTIMECHECKS_H
#define ATTNC_LIB_TARGET_CPU_RUNTIMECHECKS_H

#include "mlir/Pass/Pass.h"

#include <memory>

namespace mlir::attnc::cpu {

/// The code a lowered entry returns when one of its run-time checks failed
/// (EntryABI.h's C functions return it).
constexpr int32_t kCheckFailedCode = 3;

/// `--attnc-cpu-runtime-checks`, on buffers: the run-time checks of the
/// language (cf.assert, e.g. a subscript the checker could not prove in
/// range) set an error code instead of aborting the caller's process. Each
/// function that checks, or calls one that does, takes a trailing
/// `memref<1xi32>` slot; an entry (`__attnc_NAME`, no results) allocates
/// the slot, clears it, and returns its value as an i32: 0, or
/// kCheckFailedCode after a failed check. The computation still completes
/// (reads are clamped in range), and the C functions hand the code back.
std::unique_ptr<Pass> createRuntimeChecksPass();

} // namespace mlir::attnc::cpu

#endif // ATTNC_LIB_TARGET_CPU_RUNTIMECHECKS_H
