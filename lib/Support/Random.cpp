//===- Random.cpp - A portable seeded random number generator -------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "attnc/Support/Random.h"

#include <cmath>

using namespace attnc;

uint64_t SplitMix64::next() {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double SplitMix64::uniform() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

double SplitMix64::uniformOpen() {
  return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53;
}

uint64_t SplitMix64::below(uint64_t bound) { return next() % bound; }

double SplitMix64::normal() {
  const double twoPi = 6.283185307179586476925286766559;
  double u1 = uniformOpen();
  double u2 = uniformOpen();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(twoPi * u2);
}

uint64_t attnc::fnv1a64(const std::string &text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}
