//===- OptPipeline.cpp - Fuzz the IR parser and the CPU pipeline ----------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// libFuzzer target: MLIR text -> parse and verify (every dialect attnc-opt
/// registers) -> `attnc-opt --attnc-cpu-pipeline=parallel=0`, i.e. the attn
/// lowerings (buildLowerAttnPipeline) and the lowering to the LLVM dialect
/// (buildLowerToLLVMPipeline), with the verifier after each pass. Inputs and
/// passes may fail with diagnostics; crashes, sanitizer reports and hangs
/// are findings. Only our code (the attn dialect, lib/Transforms,
/// lib/Target/CPU) is instrumented for coverage; libMLIR.so is not.
///
//===----------------------------------------------------------------------===//

#include "attnc/InitAll.h"
#include "attnc/Target/CPU/Pipeline.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/Support/SourceMgr.h"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::DialectRegistry *registry = [] {
    auto *r = new mlir::DialectRegistry();
    mlir::attnc::registerAllDialects(*r);
    mlir::attnc::registerAllExtensions(*r);
    mlir::attnc::registerAllPasses();
    return r;
  }();
  mlir::MLIRContext context(*registry, mlir::MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  context.allowUnregisteredDialects(false);
  mlir::ScopedDiagnosticHandler handler(
      &context, [](mlir::Diagnostic &) { return mlir::success(); });

  std::string text(reinterpret_cast<const char *>(data), size);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &context, "fuzz.mlir");
  if (!module)
    return 0;
  mlir::PassManager pm(&context);
  mlir::attnc::cpu::buildLowerAttnPipeline(pm);
  mlir::attnc::cpu::LowerToLLVMOptions opts;
  opts.parallel = false;
  mlir::attnc::cpu::buildLowerToLLVMPipeline(pm, opts);
  (void)pm.run(*module);
  return 0;
}
