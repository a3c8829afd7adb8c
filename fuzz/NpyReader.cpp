//===- NpyReader.cpp - Fuzz the .npy reader -------------------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// libFuzzer target: bytes -> npy::decode, the reader of `attnc run
/// --input`. What decodes must encode and decode back to the same array; a
/// failure must come with a message.
///
//===----------------------------------------------------------------------===//

#include "attnc/Support/Npy.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace attnc;

static bool sameValue(double a, double b) {
  return a == b || (std::isnan(a) && std::isnan(b));
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
  npy::Array array;
  std::string error;
  if (!npy::decode(bytes, array, error)) {
    if (error.empty()) {
      fprintf(stderr, "decode failed without a message\n");
      abort();
    }
    return 0;
  }
  if (static_cast<int64_t>(array.data.size()) != array.numElements()) {
    fprintf(stderr, "decode: %zu elements for shape %s\n", array.data.size(),
            npy::shapeToString(array.shape).c_str());
    abort();
  }
  std::string again;
  if (!npy::encode(array, again, error)) {
    fprintf(stderr, "a decoded array does not encode: %s\n", error.c_str());
    abort();
  }
  npy::Array back;
  if (!npy::decode(again, back, error)) {
    fprintf(stderr, "an encoded array does not decode: %s\n", error.c_str());
    abort();
  }
  if (back.dtype != array.dtype || back.shape != array.shape ||
      back.data.size() != array.data.size()) {
    fprintf(stderr, "the round trip changed the dtype or shape\n");
    abort();
  }
  for (size_t i = 0; i < back.data.size(); ++i)
    if (!sameValue(back.data[i], array.data[i])) {
      fprintf(stderr, "the round trip changed element %zu\n", i);
      abort();
    }
  return 0;
}
