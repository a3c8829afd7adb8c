//===- ArchGen.h - Blocks and architectures to IR ---------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The architecture half of MLIRGen: every checked `arch` becomes a
/// `func.func` whose blocks are inlined, with one function argument per
/// weight of every terminal instance. Each weight argument carries
/// `attn.param = "<dotted path>"`; ArchGen.cpp documents the scheme.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_FRONTEND_MLIRGEN_ARCHGEN_H
#define ATTNC_LIB_FRONTEND_MLIRGEN_ARCHGEN_H

#include "attnc/Frontend/AST.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

namespace attnc {

/// Appends one `func.func` per `arch` of `module` to `target`, which already
/// holds the functions of every `fn` (archs call them as layers). Reports
/// errors at the source locations and returns failure after any.
mlir::LogicalResult genArchs(mlir::ModuleOp target, const Module &module);

} // namespace attnc

#endif // ATTNC_LIB_FRONTEND_MLIRGEN_ARCHGEN_H
