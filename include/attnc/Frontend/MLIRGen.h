//===- MLIRGen.h - Checked AST to attn + upstream IR ------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Lowers a checked AST (see Sema.h) to a module of `func.func`s built from
/// the attn, tensor, arith and math dialects. v0 covers indexed definitions
/// of scalars (tensor.generate) and the canonical attend form
/// (attn.attention); everything else is reported as "not supported yet".
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_FRONTEND_MLIRGEN_H
#define ATTNC_FRONTEND_MLIRGEN_H

#include "attnc/Frontend/AST.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace attnc {

/// Builds the IR of a checked module. The context must have the attn, func,
/// arith, math and tensor dialects loaded. Returns null after reporting every
/// error it finds through `mlir::emitError`; never returns a module that does
/// not verify.
mlir::OwningOpRef<mlir::ModuleOp> mlirGen(mlir::MLIRContext &context,
                                          const Module &module);

} // namespace attnc

#endif // ATTNC_FRONTEND_MLIRGEN_H
