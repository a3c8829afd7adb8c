//===- MLIRGen.h - Checked AST to attn + upstream IR ------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Lowers a checked AST (see Sema.h) to a module of `func.func`s built from
/// the attn dialect and upstream linalg, tensor, scf, arith and math: one
/// per fn that has a value for each of its constants, and one per arch.
/// Constructs that are not lowered yet are reported as "not supported yet"
/// at their source position.
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

/// Whether `fn` has a value for every constant (a default, or --set): a fn
/// without one is a template that only its callers instantiate, and gets no
/// func.func of its own.
bool isInstantiable(const FnDecl &fn);

/// Builds the IR of a checked module. The context must have the attn, func,
/// arith, math and tensor dialects loaded. Returns null after reporting every
/// error it finds through `mlir::emitError`; never returns a module that does
/// not verify.
mlir::OwningOpRef<mlir::ModuleOp> mlirGen(mlir::MLIRContext &context,
                                          const Module &module);

} // namespace attnc

#endif // ATTNC_FRONTEND_MLIRGEN_H
