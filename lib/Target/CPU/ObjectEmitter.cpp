//===- ObjectEmitter.cpp - LLVM dialect module to an object file ----------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// LLVM dialect -> llvm::Module (translateModuleToLLVMIR) -> the new-PM O3
/// pipeline with loop and SLP vectorization -> an ELF object (PIC) in memory,
/// through a TargetMachine for the host triple and the requested CPU.
///
//===----------------------------------------------------------------------===//

#include "attnc/Target/CPU/ObjectEmitter.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/OptimizationLevel.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <memory>
#include <mutex>

using namespace mlir;
using namespace mlir::attnc::cpu;

namespace {

void initializeNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

/// The CPU name and feature string for `opts`: the host's own for "native".
std::pair<std::string, std::string> resolveCPU(const CodegenOptions &opts) {
  std::string cpu = opts.cpu;
  SmallVector<std::string> features;
  if (cpu.empty() || cpu == "native") {
    cpu = llvm::sys::getHostCPUName().str();
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      features.push_back((feature.second ? "+" : "-") + feature.first().str());
    // StringMap order is unspecified; keep the string deterministic.
    llvm::sort(features);
  }
  if (!opts.features.empty())
    features.push_back(opts.features);
  return {cpu, llvm::join(features, ",")};
}

/// Translates, retargets and optimizes `module`. Returns the TargetMachine
/// used (for code generation) or null with `error` set.
std::unique_ptr<llvm::TargetMachine>
translateAndOptimize(ModuleOp module, const CodegenOptions &opts,
                     llvm::LLVMContext &llvmContext,
                     std::unique_ptr<llvm::Module> &llvmModule,
                     std::string &error, TimingScope &timing) {
  initializeNativeTarget();

  MLIRContext *context = module.getContext();
  registerBuiltinDialectTranslation(*context);
  registerLLVMDialectTranslation(*context);
  registerOpenMPDialectTranslation(*context);

  TimingScope translateTiming = timing.nest("translate to LLVM IR");
  llvmModule = translateModuleToLLVMIR(module, llvmContext);
  translateTiming.stop();
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return nullptr;
  }

  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  auto [cpu, features] = resolveCPU(opts);
  // Check the CPU name first: the TargetMachine would only print a warning
  // and fall back to the generic CPU.
  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      target->createMCSubtargetInfo(triple, "", ""));
  if (sti && !sti->isCPUStringValid(cpu)) {
    error = "unknown CPU '" + cpu + "' for " + triple.str();
    return nullptr;
  }
  llvm::CodeGenOptLevel cgLevel =
      opts.optLevel == 0   ? llvm::CodeGenOptLevel::None
      : opts.optLevel == 1 ? llvm::CodeGenOptLevel::Less
      : opts.optLevel == 2 ? llvm::CodeGenOptLevel::Default
                           : llvm::CodeGenOptLevel::Aggressive;
  std::unique_ptr<llvm::TargetMachine> tm(
      target->createTargetMachine(triple, cpu, features, llvm::TargetOptions(),
                                  llvm::Reloc::PIC_, std::nullopt, cgLevel));
  if (!tm) {
    error = "no LLVM target machine for " + triple.str() + " cpu " + cpu;
    return nullptr;
  }

  llvmModule->setTargetTriple(triple);
  llvmModule->setDataLayout(tm->createDataLayout());
  // The vectorizers query TTI per function, which reads these attributes.
  for (llvm::Function &f : *llvmModule) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", cpu);
    if (!features.empty())
      f.addFnAttr("target-features", features);
  }

  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions pto;
  pto.LoopVectorization = opts.optLevel >= 2;
  pto.SLPVectorization = opts.optLevel >= 2;
  pto.LoopUnrolling = opts.optLevel >= 2;
  llvm::PassBuilder pb(tm.get(), pto);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel level =
      opts.optLevel == 0   ? llvm::OptimizationLevel::O0
      : opts.optLevel == 1 ? llvm::OptimizationLevel::O1
      : opts.optLevel == 2 ? llvm::OptimizationLevel::O2
                           : llvm::OptimizationLevel::O3;
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(level);
  TimingScope optimizeTiming = timing.nest("LLVM optimization");
  mpm.run(*llvmModule, mam);
  optimizeTiming.stop();

  if (llvm::verifyModule(*llvmModule, &llvm::errs())) {
    error = "the optimized LLVM module does not verify";
    return nullptr;
  }
  return tm;
}

} // namespace

LogicalResult mlir::attnc::cpu::emitObjectFile(ModuleOp llvmDialectModule,
                                               const CodegenOptions &opts,
                                               SmallVectorImpl<char> &object,
                                               std::string &error,
                                               TimingScope timing) {
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule;
  std::unique_ptr<llvm::TargetMachine> tm = translateAndOptimize(
      llvmDialectModule, opts, llvmContext, llvmModule, error, timing);
  if (!tm)
    return failure();

  object.clear();
  llvm::raw_svector_ostream os(object);
  llvm::legacy::PassManager codegen;
  if (tm->addPassesToEmitFile(codegen, os, nullptr,
                              llvm::CodeGenFileType::ObjectFile)) {
    error = "the LLVM target cannot emit object files";
    return failure();
  }
  TimingScope codegenTiming = timing.nest("LLVM code generation");
  codegen.run(*llvmModule);
  return success();
}

LogicalResult mlir::attnc::cpu::emitLLVMIRText(ModuleOp llvmDialectModule,
                                               const CodegenOptions &opts,
                                               std::string &text,
                                               std::string &error) {
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule;
  TimingScope noTiming;
  if (!translateAndOptimize(llvmDialectModule, opts, llvmContext, llvmModule,
                            error, noTiming))
    return failure();
  text.clear();
  llvm::raw_string_ostream os(text);
  llvmModule->print(os, nullptr);
  return success();
}
