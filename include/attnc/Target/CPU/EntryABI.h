//===- EntryABI.h - The C interface of compiled entries ---------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The C functions `attnc build` exports, four per entry (fn or arch):
///
///   int32_t NAME(const T0 *in0, ..., T *out0, ..., int64_t S0, ...);
///   int32_t NAME_packed(void *const *tensors, const int64_t *sizes);
///   int32_t NAME_strided(const T0 *in0, const int64_t *in0_strides, ...,
///                        T *out0, const int64_t *out0_strides, ...,
///                        int64_t S0, ...);
///   int32_t NAME_packed_strided(void *const *tensors,
///                               const int64_t *const *strides,
///                               const int64_t *sizes);
///
/// A tensor's extents are the polynomials of its source type over the size
/// symbols S0, S1, ... (the run-time sizes of the entry, in order of first
/// appearance in the parameter types). NAME and NAME_packed take dense,
/// row-major, contiguous tensors. NAME_strided takes each tensor with its
/// strides: one int64_t per dimension, outermost first, counted in
/// elements, so that element (i0, ..., ik) is at
/// `base[i0 * strides[0] + ... + ik * strides[k]]`. A null strides pointer
/// means dense row-major; a rank-0 tensor's strides are not read. The
/// innermost stride must be 1 (unless the innermost extent is 0 or 1), no
/// stride may be negative, and an output's stride may be 0 only in a
/// dimension of extent 0 or 1; inputs may use zero strides to broadcast.
/// The packed forms take the same pointers, inputs then outputs, and the
/// sizes (and strides) as arrays; NAME_packed is what `attnc run` and
/// `attnc bench` call.
///
/// A scalar input (an ABITensor of rank 0: `g: f32`) is passed by value in
/// the place of its pointer, with no strides (`float g`); in the packed
/// forms its entry of `tensors` points to the value and its entry of
/// `strides` is not read. A scalar output is written through a pointer
/// like any tensor (`float *result0`).
///
/// The functions return 0; 1 when a size is negative; 2 when a stride is
/// invalid (outputs untouched on these two); 3 when a run-time check of the
/// lowered code fails (an index out of range, a topk count above its
/// run-time extent, ...), when @__attnc_NAME returns that code: the
/// outputs then hold unspecified values. Outputs must not overlap inputs,
/// other outputs or themselves (the latter is not checked).
///
/// Compilation goes through two rewrites:
///  - before bufferization, `addDestinationPassingEntry` adds
///    `func.func @__attnc_NAME(memref inputs..., memref outputs...)` (a
///    scalar input as its element type) that calls @NAME on the inputs and
///    materializes its results in the outputs (a scalar result stored into
///    a rank-0 memref), so that results are written in place into the
///    caller's buffers. Later passes may make it return an i32 code (0, or
///    3 when a run-time check fails) instead of nothing. Its
///    memrefs have the layout of getEntryMemRefType: dynamic strides, a unit
///    innermost stride and a dynamic offset, so that one compiled body
///    serves both dense and strided callers;
///  - after lowering to the LLVM dialect, `addCWrappers` adds the four C
///    functions, which check the sizes (and strides), compute every extent
///    (and dense stride) and call @__attnc_NAME with its expanded memref
///    descriptors, returning its code when it returns one.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_TARGET_CPU_ENTRYABI_H
#define ATTNC_TARGET_CPU_ENTRYABI_H

#include "attnc/Frontend/Type.h"
#include "attnc/Runtime/EntrySignature.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"

#include <string>
#include <vector>

namespace mlir::attnc::cpu {

using ::attnc::DimExpr;
using ::attnc::ElemType;

/// The plain description of an entry, shared with the callers of a built
/// library.
using ::attnc::runtime::ABITensor;
using ::attnc::runtime::EntrySignature;

/// The C type of an element (`float`, `int32_t`, `uint8_t` for i1).
const char *getCType(ElemType elem);

/// The memref type a tensor of `type` has at a function boundary, and so in
/// the C interface: the same shape and element type with dynamic strides, a
/// unit innermost stride and a dynamic offset,
/// `memref<?x8x?x64xf32, strided<[?, ?, ?, 1], offset: ?>>`. The unit
/// innermost stride keeps rows contiguous for vector loads.
MemRefType getEntryMemRefType(RankedTensorType type,
                              Attribute memorySpace = {});

/// Adds @__attnc_NAME (see the file comment) and makes @NAME private, so
/// that inlining and bufferization write the results in place. Fails with
/// an error on the op when @NAME does not match the signature.
LogicalResult addDestinationPassingEntry(ModuleOp module,
                                         const EntrySignature &entry);

/// Adds the C functions @NAME, @NAME_packed, @NAME_strided and
/// @NAME_packed_strided to an LLVM-dialect module that holds the lowered
/// @__attnc_NAME, which returns nothing or an i32 code. Fails with an error
/// when @__attnc_NAME does not match the signature.
LogicalResult addCWrappers(ModuleOp module, const EntrySignature &entry);

/// The C header declaring every entry of `entries`, with its layouts,
/// strides and error codes documented. `libraryName` names the header and
/// its include guard.
std::string writeHeader(const std::vector<EntrySignature> &entries,
                        const std::string &libraryName);

/// The machine-readable form of the same entries (EntryDescription.cpp):
/// JSON that `attnc build` writes as NAME.json beside NAME.h, for callers
/// such as the Python package that must not parse C.
std::string writeDescription(const std::vector<EntrySignature> &entries,
                             const std::string &libraryName);

} // namespace mlir::attnc::cpu

#endif // ATTNC_TARGET_CPU_ENTRYABI_H
