//===- ArchGen.cpp - Blocks and architectures to IR -------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "ArchGen.h"

#include "mlir/IR/Diagnostics.h"

#include "llvm/Support/Casting.h"

using namespace attnc;

mlir::LogicalResult attnc::genArchs(mlir::ModuleOp target,
                                    const Module &module) {
  bool ok = true;
  for (const DeclPtr &decl : module.decls) {
    if (!llvm::isa<BlockDecl, ArchDecl>(decl.get()))
      continue;
    const Location &l = decl->getLoc();
    mlir::emitError(
        mlir::FileLineColLoc::get(target.getContext(), l.file, l.line, l.col))
        << "not supported yet: "
        << (llvm::isa<BlockDecl>(decl.get()) ? "block declarations"
                                             : "arch declarations");
    ok = false;
  }
  return mlir::success(ok);
}
