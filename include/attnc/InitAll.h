//===- InitAll.h - Register the dialects and passes of attnc ----*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// One place that knows which dialects, interfaces and passes the attnc tools
/// load, so attnc and attnc-opt agree.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_INITALL_H
#define ATTNC_INITALL_H

namespace mlir {
class DialectRegistry;

namespace attnc {

/// Inserts the attn dialect and the upstream dialects attnc uses (func, arith,
/// math, tensor, linalg, scf, affine, memref, bufferization, vector, gpu,
/// nvvm, llvm), with the bufferization interface models of those dialects.
void registerAllDialects(DialectRegistry &registry);

/// Registers the upstream dialect extensions (e.g. the func inliner and the
/// convert-to-llvm interfaces) and the LLVM IR translations of the GPU
/// dialects, which gpu-module-to-binary needs.
void registerAllExtensions(DialectRegistry &registry);

/// Registers the passes attnc-opt exposes: the upstream passes and the attn-*
/// passes of attnc/Transforms/Passes.h.
void registerAllPasses();

} // namespace attnc
} // namespace mlir

#endif // ATTNC_INITALL_H
