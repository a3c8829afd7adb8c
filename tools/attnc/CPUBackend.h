//===- CPUBackend.h - Compile entries for the CPU and call them -*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// What `attnc build`, `attnc run --backend=cpu` and `attnc bench` share:
/// the C signature of an entry, the compilation of a module into a shared
/// library (attn lowering, bufferization, LLVM, `cc -shared`) and calling an
/// entry of a loaded library through its packed form.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_TOOLS_ATTNC_CPUBACKEND_H
#define ATTNC_TOOLS_ATTNC_CPUBACKEND_H

#include "Driver.h"

#include "attnc/Target/CPU/EntryABI.h"

#include "mlir/IR/BuiltinOps.h"

#include <memory>
#include <string>
#include <vector>

namespace attnc::driver {

/// One tensor of an entry's func.func: a source parameter (a group's members
/// one by one, named `W.W1`) or an arch weight (named by its attn.param path).
struct EntryTensor {
  std::string name;
  ValueType type;
};

/// The tensors an entry takes, in the order of its func.func's arguments.
/// Returns an exit code.
int getEntryInputs(const Decl *entry, mlir::ModuleOp ir,
                   std::vector<EntryTensor> &inputs);

/// The fn and arch declarations of the main file: the possible entries.
std::vector<const Decl *> getEntries(const Module &module);

/// The names of the results: the returned names of a fn, `output` for an
/// arch, `resultI` for an expression or a repeated name.
std::vector<std::string> getResultNames(const Decl *entry, size_t numResults);

/// The C signature of `entry`. Returns an exit code.
int getEntrySignature(const Decl *entry, mlir::ModuleOp ir,
                      mlir::attnc::cpu::EntrySignature &signature);

/// Lowers `ir` (consumed) for the CPU and links the entries `signatures`
/// into the shared library `soPath`. Returns an exit code.
int compileForCPU(const Invocation &inv, mlir::ModuleOp ir,
                  const std::vector<mlir::attnc::cpu::EntrySignature> &sigs,
                  const std::string &soPath);

/// A library loaded with dlopen, closed on destruction.
class LoadedLibrary {
public:
  /// Loads `path`; null with `error` set on failure.
  static std::unique_ptr<LoadedLibrary> load(const std::string &path,
                                             std::string &error);
  ~LoadedLibrary();

  using PackedFn = int32_t (*)(void *const *, const int64_t *);
  /// The packed form of entry `name`, or null.
  PackedFn getPacked(const std::string &name) const;

private:
  explicit LoadedLibrary(void *handle) : handle(handle) {}
  void *handle;
};

} // namespace attnc::driver

#endif // ATTNC_TOOLS_ATTNC_CPUBACKEND_H
