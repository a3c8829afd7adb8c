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
/// entry of a loaded library through its packed form, for the source's
/// entries and their step entries (`NAME_step`).
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_TOOLS_ATTNC_CPUBACKEND_H
#define ATTNC_TOOLS_ATTNC_CPUBACKEND_H

#include "Driver.h"

#include "attnc/Target/CPU/EntryABI.h"

#include "mlir/IR/BuiltinOps.h"

#include "llvm/ADT/StringRef.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace attnc::driver {

/// One tensor of an entry's func.func: a source parameter (a group's members
/// one by one, named `W.W1`) or an arch weight (named by its attn.param path).
struct EntryTensor {
  std::string name;
  ValueType type;
};

/// An entry point: a fn or arch of the main file, or its step entry
/// `NAME_step`, which also takes and returns the states of its scans.
struct EntryPoint {
  EntryPoint(const Decl *decl) : decl(decl) {}
  const Decl *decl;
  /// A step entry's states, named as in the source (`S`, a group's members
  /// `W.W1`), typed `[batch..., state...]`, in the order of its extra
  /// arguments (`S_in`) and extra results (`S_out`); unset for the entry
  /// itself.
  std::optional<std::vector<EntryTensor>> states;

  bool isStep() const { return states.has_value(); }
  /// `NAME` or `NAME_step`.
  std::string getName() const;
};

/// Adds @NAME_step to `ir` when `entry` has scans that can resume (see
/// attnc/Transforms/StepEntry.h) and returns its entry point; otherwise
/// sets `reason` ("not supported yet: ...") and adds nothing.
std::optional<EntryPoint> addStepEntry(const Decl *entry, mlir::ModuleOp ir,
                                       std::string &reason);

/// Whether @NAME of `entry` has a scan at its top level: a recurrence that a
/// step entry could resume.
bool hasRecurrence(const Decl *entry, mlir::ModuleOp ir);

/// The tensors an entry takes, in the order of its func.func's arguments
/// (a step entry's states last, named `S_in`). Returns an exit code.
int getEntryInputs(const EntryPoint &entry, mlir::ModuleOp ir,
                   std::vector<EntryTensor> &inputs);

/// The fn and arch declarations of the main file: the possible entries (a
/// fn with a constant that has no value is a template: not one).
std::vector<const Decl *> getEntries(const Module &module);

/// The names of the results: the returned names of a fn, `output` for an
/// arch, `resultI` for an expression or a repeated name; a step entry's
/// final states last, named `S_out`.
std::vector<std::string> getResultNames(const EntryPoint &entry,
                                        size_t numResults);

/// The C signature of `entry`. Returns an exit code.
int getEntrySignature(const EntryPoint &entry, mlir::ModuleOp ir,
                      mlir::attnc::cpu::EntrySignature &signature);

/// Lowers `ir` (consumed) for the CPU and links the entries `signatures`
/// into the shared library `soPath`. Returns an exit code.
int compileForCPU(const Invocation &inv, mlir::ModuleOp ir,
                  const std::vector<mlir::attnc::cpu::EntrySignature> &sigs,
                  const std::string &soPath);

/// The error codes of the C functions (attnc/Target/CPU/EntryABI.h).
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
