//===- ObjectEmitter.h - LLVM dialect module to an object file --*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Translates a module of LLVM dialect ops (the output of
/// buildLowerToLLVMPipeline) to LLVM IR, optimizes it with the LLVM O3
/// pipeline (loop and SLP vectorization on) for the host or a named CPU, and
/// emits a position-independent ELF object file in memory, or the optimized
/// LLVM IR as text.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_TARGET_CPU_OBJECTEMITTER_H
#define ATTNC_TARGET_CPU_OBJECTEMITTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "mlir/Support/Timing.h"

#include <string>

namespace mlir {
namespace attnc {
namespace cpu {

/// Options of the LLVM back end.
struct CodegenOptions {
  /// LLVM CPU name: "native" (or empty) is the host CPU with its detected
  /// features; otherwise e.g. "haswell", "x86-64-v3", "skylake-avx512".
  std::string cpu = "native";
  /// Extra LLVM target features, e.g. "+avx2,-avx512f"; appended to those of
  /// the host when cpu is "native".
  std::string features;
  /// LLVM optimization level, 0 to 3.
  unsigned optLevel = 3;
};

/// The number of 16-lane f32 vectors that the vector micro-kernels may keep
/// per register block on `opts`' CPU: 2 with AVX-512 (32 registers of 16
/// lanes), else 1 (AVX2's 16 registers of 8 lanes hold half as many). An
/// unknown CPU gets 1; createTargetMachine reports it.
int64_t microKernelVectors(const CodegenOptions &opts);

/// Translates `llvmDialectModule` to LLVM IR, optimizes it and writes an
/// object file for the host triple into `object`. On failure returns failure
/// and sets `error`. The translation, the LLVM pipeline and code generation
/// are timed as children of `timing` (a no-op scope by default).
LogicalResult emitObjectFile(ModuleOp llvmDialectModule,
                             const CodegenOptions &opts,
                             SmallVectorImpl<char> &object, std::string &error,
                             TimingScope timing = TimingScope());

/// As emitObjectFile, but writes the optimized LLVM IR as text into `text`.
LogicalResult emitLLVMIRText(ModuleOp llvmDialectModule,
                             const CodegenOptions &opts, std::string &text,
                             std::string &error);

} // namespace cpu
} // namespace attnc
} // namespace mlir

#endif // ATTNC_TARGET_CPU_OBJECTEMITTER_H
