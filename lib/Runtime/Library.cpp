//===- Library.cpp - Load a built library and read its codes --------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "attnc/Runtime/Library.h"

#include <dlfcn.h>

using namespace attnc::runtime;

std::string attnc::runtime::describeEntryCode(llvm::StringRef name,
                                              int32_t code) {
  std::string what = "the compiled '" + name.str() + "' ";
  std::string codeText = " (code " + std::to_string(code) + ")";
  switch (code) {
  case kEntryCheckFailed:
    return what + "failed a run-time check" + codeText +
           "; run it with 'attnc run --backend=interp' to see where";
  case kEntryBadSize:
    return "internal error: " + what + "rejected a negative size" + codeText;
  case kEntryBadStride:
    return "internal error: " + what + "rejected a stride" + codeText;
  default:
    return what + "returned the unknown error code " + std::to_string(code);
  }
}

std::unique_ptr<LoadedLibrary> LoadedLibrary::load(const std::string &path,
                                                   std::string &error) {
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *message = dlerror();
    error = message ? message : "dlopen failed";
    return nullptr;
  }
  return std::unique_ptr<LoadedLibrary>(new LoadedLibrary(handle));
}

LoadedLibrary::~LoadedLibrary() { dlclose(handle); }

void *LoadedLibrary::getSymbol(const std::string &symbol) const {
  return dlsym(handle, symbol.c_str());
}

LoadedLibrary::PackedFn LoadedLibrary::getPacked(llvm::StringRef name) const {
  return reinterpret_cast<PackedFn>(getSymbol(name.str() + "_packed"));
}

LoadedLibrary::PackedStridedFn
LoadedLibrary::getPackedStrided(llvm::StringRef name) const {
  return reinterpret_cast<PackedStridedFn>(
      getSymbol(name.str() + "_packed_strided"));
}
