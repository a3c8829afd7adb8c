//===- Bufferize.h - One-shot bufferization with strided boundaries -*- C++
//-*-//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_TARGET_CPU_BUFFERIZE_H
#define ATTNC_LIB_TARGET_CPU_BUFFERIZE_H

#include "mlir/Pass/Pass.h"

#include <memory>

namespace mlir::attnc::cpu {

/// `--attnc-cpu-bufferize`: upstream one-shot module bufferization with
/// `bufferize-function-boundaries` and `allow-return-allocs-from-loops`
/// (every other option at the upstream pass's default), except that a
/// tensor argument of a function becomes a memref with dynamic strides, a
/// unit innermost stride and a dynamic offset,
/// `memref<?x8xf32, strided<[?, 1], offset: ?>>` (cpu::getEntryMemRefType),
/// instead of an identity-layout one; results keep the layout inferred from
/// the function body. It is the layout of the C entries
/// (EntryABI.h), so that callers' strided views are used in place. The
/// upstream pass takes no such type converter through its textual options.
std::unique_ptr<Pass> createBufferizePass();

} // namespace mlir::attnc::cpu

#endif // ATTNC_LIB_TARGET_CPU_BUFFERIZE_H
