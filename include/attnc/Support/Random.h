//===- Random.h - A portable seeded random number generator -----*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The random inputs of `attnc run --seed S`: SplitMix64 (Steele, Lea and
/// Flood, 2014) written out, so that a seed gives the same bits on every
/// machine and with every standard library (std::mt19937 is portable but
/// std::normal_distribution is not). Normal variates use the Box-Muller
/// transform; those go through the C library's log, sqrt and cos, which
/// agree across machines with the same libm.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_SUPPORT_RANDOM_H
#define ATTNC_SUPPORT_RANDOM_H

#include <cstdint>
#include <string>

namespace attnc {

class SplitMix64 {
public:
  explicit SplitMix64(uint64_t seed) : state(seed) {}

  /// The next 64 random bits.
  uint64_t next();
  /// Uniform on [0, 1): the top 53 bits of next() times 2^-53.
  double uniform();
  /// Uniform on the open interval (0, 1): (top 53 bits + 0.5) * 2^-53.
  double uniformOpen();
  /// Uniform on [0, bound) for 0 < bound <= 2^32: next() % bound, whose bias
  /// is below 2^-32 (none when bound is a power of two).
  uint64_t below(uint64_t bound);
  /// Standard normal: Box-Muller on two uniformOpen() draws u1, u2,
  /// sqrt(-2 log u1) * cos(2 pi u2); one call consumes two draws.
  double normal();

private:
  uint64_t state;
};

/// 64-bit FNV-1a of `text`, to derive one stream per input name.
uint64_t fnv1a64(const std::string &text);

} // namespace attnc

#endif // ATTNC_SUPPORT_RANDOM_H
