//===- EntryABI.h - The C interface of compiled entries ---------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The C functions `attnc build` exports, one per entry (fn or arch):
///
///   int32_t NAME(const T0 *in0, ..., T *out0, ..., int64_t S0, ...);
///   int32_t NAME_packed(void *const *tensors, const int64_t *sizes);
///
/// Every tensor is dense, row-major and contiguous; its extents are the
/// polynomials of its source type over the size symbols S0, S1, ... (the
/// run-time sizes of the entry, in order of first appearance in the
/// parameter types). The packed form takes the same pointers, inputs then
/// outputs, and the sizes as arrays; it is what `attnc run` and `attnc bench`
/// call. The functions return 0, or 1 when a size is negative; outputs are
/// then untouched.
///
/// Compilation goes through two rewrites:
///  - before bufferization, `addDestinationPassingEntry` adds
///    `func.func @__attnc_NAME(memref inputs..., memref outputs...)` that
///    calls @NAME on the inputs and materializes its results in the outputs,
///    so that results are written in place into the caller's buffers;
///  - after lowering to the LLVM dialect, `addCWrappers` adds @NAME and
///    @NAME_packed, which check the sizes, compute every extent and stride
///    and call @__attnc_NAME with its expanded memref descriptors.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_TARGET_CPU_ENTRYABI_H
#define ATTNC_TARGET_CPU_ENTRYABI_H

#include "attnc/Frontend/Type.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace mlir::attnc::cpu {

using ::attnc::DimExpr;
using ::attnc::ElemType;

/// One tensor crossing the C interface.
struct ABITensor {
  std::string name;
  ElemType elem = ElemType::F32;
  std::vector<DimExpr> shape;
};

/// The C signature of one entry.
struct EntrySignature {
  std::string name;
  std::vector<ABITensor> inputs, outputs;
  /// The run-time size symbols, in ABI order.
  std::vector<std::string> sizes;
};

/// The C type of an element (`float`, `int32_t`, `uint8_t` for i1).
const char *getCType(ElemType elem);

/// Adds @__attnc_NAME (see the file comment) and makes @NAME private, so
/// that inlining and bufferization write the results in place. Fails with
/// an error on the op when @NAME does not match the signature.
LogicalResult addDestinationPassingEntry(ModuleOp module,
                                         const EntrySignature &entry);

/// Adds the C functions @NAME and @NAME_packed to an LLVM-dialect module
/// that holds the lowered @__attnc_NAME.
LogicalResult addCWrappers(ModuleOp module, const EntrySignature &entry);

/// The C header declaring every entry of `entries`, with its layouts
/// documented. `guard` names the include guard.
std::string writeHeader(const std::vector<EntrySignature> &entries,
                        const std::string &libraryName);

} // namespace mlir::attnc::cpu

#endif // ATTNC_TARGET_CPU_ENTRYABI_H
