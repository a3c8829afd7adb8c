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
/// library (attn lowering, bufferization, LLVM, `cc -shared`), for the
/// source's entries and their step entries (`NAME_step`). Loading and
/// calling a built library is attnc/Runtime's.
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

} // namespace attnc::driver

#endif // ATTNC_TOOLS_ATTNC_CPUBACKEND_H
