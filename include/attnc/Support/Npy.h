//===- Npy.h - Reading and writing numpy .npy files -------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The inputs and outputs of `attnc run`: numpy's .npy format (versions 1.0,
/// 2.0 and 3.0 of the header; version 1.0 is written unless the header needs
/// more than 65535 bytes). Only C-order arrays of little-endian `<f4`, `<f8`,
/// `<i4`, `<i8` and `|b1` are supported. Elements are held as doubles, so
/// 64-bit integers must stay within +-2^53. Plain C++: no LLVM, MLIR or
/// exceptions; errors are returned as messages.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_SUPPORT_NPY_H
#define ATTNC_SUPPORT_NPY_H

#include <cstdint>
#include <string>
#include <vector>

namespace attnc {
namespace npy {

/// The element types of the supported arrays.
enum class DType { F32, F64, I32, I64, Bool };

/// numpy's `descr` of a dtype: `<f4`, `<f8`, `<i4`, `<i8`, `|b1`.
const char *getDescr(DType dtype);
/// The size of one element in bytes.
int getItemSize(DType dtype);

/// A dense C-order array; rank 0 is a scalar.
struct Array {
  DType dtype = DType::F64;
  std::vector<int64_t> shape;
  /// Row-major elements; booleans are 0 or 1.
  std::vector<double> data;

  /// The product of the shape (1 for a scalar).
  int64_t numElements() const;
};

/// `[2, 3]`, `[]` for a scalar.
std::string shapeToString(const std::vector<int64_t> &shape);

/// Decodes the bytes of a .npy file. On failure returns false and sets
/// `error` to a message without the file name, such as `not a .npy file
/// (bad magic string)` or `truncated data: 24 bytes, expected 48`.
bool decode(const std::string &bytes, Array &result, std::string &error);

/// Encodes `array` as a .npy file, converting each element to `dtype`
/// (integers are rounded toward zero, booleans are nonzero). Returns false
/// and sets `error` when the shape does not match the number of elements or
/// a value does not fit the dtype (a NaN or out-of-range integer).
bool encode(const Array &array, std::string &bytes, std::string &error);

/// Converts `count` little-endian elements of `dtype` at `bytes` to doubles
/// (what decode does to the data of a file). Fails, setting `error`, on an
/// i64 beyond +-2^53 or a boolean byte other than 0 and 1.
bool unpackElements(const char *bytes, int64_t count, DType dtype,
                    std::vector<double> &values, std::string &error);

/// Appends `values` as little-endian elements of `dtype` to `bytes` (what
/// encode does after the header), with encode's rounding and errors.
bool packElements(const std::vector<double> &values, DType dtype,
                  std::string &bytes, std::string &error);

/// Reads and decodes the file at `path`. Errors name the file:
/// `'x.npy': cannot read: No such file or directory`.
bool readFile(const std::string &path, Array &result, std::string &error);

} // namespace npy
} // namespace attnc

#endif // ATTNC_SUPPORT_NPY_H
