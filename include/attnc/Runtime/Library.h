//===- Library.h - Load a built library and read its codes ------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// A library that `attnc build` (or `attnc run --backend=cpu`) produced,
/// loaded with dlopen, and the error codes its C functions return
/// (attnc/Target/CPU/EntryABI.h).
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_RUNTIME_LIBRARY_H
#define ATTNC_RUNTIME_LIBRARY_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <memory>
#include <string>

namespace attnc::runtime {

/// The codes of the C functions; NAME.json lists the same table.
enum EntryCode : int32_t {
  kEntryOk = 0,
  kEntryBadSize = 1,
  kEntryBadStride = 2,
  kEntryCheckFailed = 3,
};

/// The message for a call of the compiled entry `name` that returned the
/// non-zero `code`, as in "the compiled 'NAME' failed a run-time check
/// (code 3); run it with 'attnc run --backend=interp' to see where".
std::string describeEntryCode(llvm::StringRef name, int32_t code);

/// A library loaded with dlopen (RTLD_LOCAL), closed on destruction.
class LoadedLibrary {
public:
  /// Loads `path`; null with `error` set on failure.
  static std::unique_ptr<LoadedLibrary> load(const std::string &path,
                                             std::string &error);
  ~LoadedLibrary();
  LoadedLibrary(const LoadedLibrary &) = delete;
  LoadedLibrary &operator=(const LoadedLibrary &) = delete;

  /// `NAME_packed`: dense tensors (inputs, then outputs) and the sizes.
  using PackedFn = int32_t (*)(void *const *tensors, const int64_t *sizes);
  /// `NAME_packed_strided`: the same with one strides array per tensor.
  using PackedStridedFn = int32_t (*)(void *const *tensors,
                                      const int64_t *const *strides,
                                      const int64_t *sizes);

  /// The packed forms of entry `name`, or null.
  PackedFn getPacked(llvm::StringRef name) const;
  PackedStridedFn getPackedStrided(llvm::StringRef name) const;

private:
  explicit LoadedLibrary(void *handle) : handle(handle) {}
  void *getSymbol(const std::string &symbol) const;
  void *handle;
};

} // namespace attnc::runtime

#endif // ATTNC_RUNTIME_LIBRARY_H
