//===- Limits.h - The limits the front end checks at the source -*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Sizes past which a program is refused with a diagnostic at the source,
/// rather than crashing, hanging or exhausting memory further down (a
/// rank-5000 tensor overflowed the stack of the CPU build; `import
/// "/dev/zero"` read forever). docs/Language.md ("Limits") lists them.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_FRONTEND_LIMITS_H
#define ATTNC_FRONTEND_LIMITS_H

#include <cstdint>

namespace attnc {

/// Bytes of one source file, the main one or an import.
constexpr uint64_t kMaxSourceBytes = uint64_t(16) << 20;
/// Dimensions of one tensor type.
constexpr unsigned kMaxRank = 16;
/// Elements of a tensor whose shape is known at compile time (2^34: 64 GiB
/// of f32, more than any machine attnc targets holds in one tensor).
constexpr int64_t kMaxElements = int64_t(1) << 34;
/// The parameters of a fn (each a C argument of its library entry, and
/// several of its C wrappers': LLVM's time grows about cubically in
/// them, 1.7 s to build 256 and 75 s of CPU for 1024).
constexpr size_t kMaxParams = 256;
/// The count of an arch's `repeat(n) { ... }`, which is unrolled.
constexpr int64_t kMaxRepeat = 1024;

} // namespace attnc

#endif // ATTNC_FRONTEND_LIMITS_H
