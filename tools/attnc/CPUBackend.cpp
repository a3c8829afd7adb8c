//===- CPUBackend.cpp - Compile entries for the CPU and call them ---------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The pieces of CPUBackend.h: entry signatures, the CPU compilation
/// pipeline, and loading a compiled library.
///
//===----------------------------------------------------------------------===//

#include "CPUBackend.h"

#include "attnc/Target/CPU/Linker.h"
#include "attnc/Target/CPU/ObjectEmitter.h"
#include "attnc/Target/CPU/Pipeline.h"
#include "attnc/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <dlfcn.h>

#include <functional>
#include <map>

using namespace attnc;
using namespace attnc::driver;
namespace cpu = mlir::attnc::cpu;

std::vector<const Decl *> attnc::driver::getEntries(const Module &module) {
  std::vector<const Decl *> entries;
  for (const DeclPtr &decl : module.decls)
    if ((llvm::isa<FnDecl>(decl.get()) || llvm::isa<ArchDecl>(decl.get())) &&
        decl->getLoc().file == module.mainFile)
      entries.push_back(decl.get());
  return entries;
}

static ElemType elemTypeOf(mlir::Type type) {
  if (type.isF16())
    return ElemType::F16;
  if (type.isBF16())
    return ElemType::BF16;
  if (type.isF32())
    return ElemType::F32;
  if (type.isF64())
    return ElemType::F64;
  if (type.isInteger(1))
    return ElemType::I1;
  if (type.isInteger(32))
    return ElemType::I32;
  return ElemType::I64;
}

int attnc::driver::getEntryInputs(const Decl *entry, mlir::ModuleOp ir,
                                  std::vector<EntryTensor> &inputs) {
  auto func = ir.lookupSymbol<mlir::func::FuncOp>(entry->getName());
  if (!func)
    return inputError("internal error: no func.func @" + entry->getName());
  const std::vector<Param> &sourceParams =
      llvm::isa<FnDecl>(entry) ? llvm::cast<FnDecl>(entry)->params
                               : llvm::cast<ArchDecl>(entry)->params;
  // A group parameter is passed member by member, as MLIRGen flattens it:
  // `W: {W1: ..., W2: ...}` takes the inputs `W.W1` and `W.W2`.
  std::function<void(const std::string &, const ValueType &)> add =
      [&](const std::string &name, const ValueType &type) {
        if (type.isTensor()) {
          inputs.push_back({name, type});
          return;
        }
        for (const auto &[member, memberType] : type.getMembers())
          add(name + "." + member, memberType);
      };
  for (const Param &param : sourceParams) {
    if (!param.checkedType)
      return inputError("internal error: the parameter '" + param.name +
                        "' of '" + entry->getName() + "' has no type");
    add(param.name, *param.checkedType);
  }
  for (unsigned i = inputs.size(); i < func.getNumArguments(); ++i) {
    auto path = func.getArgAttrOfType<mlir::StringAttr>(i, "attn.param");
    auto type =
        mlir::dyn_cast<mlir::RankedTensorType>(func.getArgumentTypes()[i]);
    if (!path || !type || !type.hasStaticShape())
      return inputError("internal error: argument " + llvm::Twine(i) + " of @" +
                        entry->getName() +
                        " is neither a parameter nor a weight");
    std::vector<DimExpr> shape;
    for (int64_t extent : type.getShape())
      shape.push_back(DimExpr::constant(extent));
    inputs.push_back(
        {path.getValue().str(),
         ValueType::tensor(elemTypeOf(type.getElementType()), shape)});
  }
  if (inputs.size() != func.getNumArguments())
    return inputError("internal error: @" + entry->getName() + " has " +
                      llvm::Twine(func.getNumArguments()) + " arguments for " +
                      llvm::Twine(inputs.size()) + " parameters");
  return kExitSuccess;
}

std::vector<std::string> attnc::driver::getResultNames(const Decl *entry,
                                                       size_t numResults) {
  std::vector<std::string> names(numResults);
  if (llvm::isa<ArchDecl>(entry)) {
    if (numResults == 1)
      names[0] = "output";
  } else {
    const auto *fn = llvm::cast<FnDecl>(entry);
    const ReturnStmt *ret = nullptr;
    for (const StmtPtr &stmt : fn->body)
      if (const auto *r = llvm::dyn_cast<ReturnStmt>(stmt.get()))
        ret = r;
    if (ret && ret->values.size() == numResults)
      for (size_t i = 0; i < numResults; ++i)
        if (const auto *name = llvm::dyn_cast<NameExpr>(ret->values[i].get()))
          names[i] = name->name;
  }
  std::map<std::string, int> uses;
  for (const std::string &name : names)
    ++uses[name];
  for (size_t i = 0; i < numResults; ++i)
    if (names[i].empty() || uses[names[i]] > 1)
      names[i] = "result" + std::to_string(i);
  // A source name `result1` next to an unnamed second result: number all.
  std::map<std::string, int> final;
  for (const std::string &name : names)
    if (++final[name] > 1) {
      for (size_t i = 0; i < numResults; ++i)
        names[i] = "result" + std::to_string(i);
      break;
    }
  return names;
}

int attnc::driver::getEntrySignature(const Decl *entry, mlir::ModuleOp ir,
                                     cpu::EntrySignature &signature) {
  signature.name = entry->getName();
  std::vector<EntryTensor> inputs;
  if (int rc = getEntryInputs(entry, ir, inputs))
    return rc;
  llvm::StringSet<> seenSizes, names;
  for (const EntryTensor &t : inputs) {
    signature.inputs.push_back(
        {t.name, t.type.getElemType(), t.type.getShape()});
    names.insert(t.name);
    for (const DimExpr &dim : t.type.getShape())
      for (const std::string &symbol : dim.getSymbols())
        if (seenSizes.insert(symbol).second)
          signature.sizes.push_back(symbol);
  }
  std::vector<ValueType> results;
  if (const auto *fn = llvm::dyn_cast<FnDecl>(entry))
    results = fn->checkedResults;
  else if (const auto *arch = llvm::dyn_cast<ArchDecl>(entry);
           arch && arch->checkedResult)
    results = {*arch->checkedResult};
  std::vector<std::string> resultNames = getResultNames(entry, results.size());
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].isTensor())
      return inputError("not supported yet: compiling '" + entry->getName() +
                        "', which returns a group");
    // An output named like an input gets a suffix, so that the C
    // parameters differ.
    std::string name = resultNames[i];
    while (names.contains(name))
      name += "_out";
    names.insert(name);
    signature.outputs.push_back(
        {name, results[i].getElemType(), results[i].getShape()});
  }
  return kExitSuccess;
}

int attnc::driver::compileForCPU(const Invocation &inv, mlir::ModuleOp ir,
                                 const std::vector<cpu::EntrySignature> &sigs,
                                 const std::string &soPath) {
  // --timing: a tree of the steps below, printed on stderr when `timing`
  // goes out of scope.
  mlir::DefaultTimingManager timing;
  timing.setEnabled(inv.timing);
  timing.setDisplayMode(mlir::DefaultTimingManager::DisplayMode::Tree);
  mlir::TimingScope root = timing.getRootScope();

  // attn ops to upstream loops; Titans' grad first.
  mlir::PassManager lower(ir.getContext());
  cpu::buildLowerAttnPipeline(lower);
  mlir::TimingScope lowerTiming = root.nest("lower attn ops");
  lower.enableTiming(lowerTiming);
  if (mlir::failed(lower.run(ir)))
    return kExitInputError;
  lowerTiming.stop();

  // The C entries, then everything down to the LLVM dialect.
  for (const cpu::EntrySignature &sig : sigs)
    if (mlir::failed(cpu::addDestinationPassingEntry(ir, sig)))
      return kExitInputError;
  // Only the C entries are exported; what they do not call is dropped.
  llvm::StringSet<> exported;
  for (const cpu::EntrySignature &sig : sigs)
    exported.insert("__attnc_" + sig.name);
  for (auto func : ir.getOps<mlir::func::FuncOp>())
    if (!exported.contains(func.getSymName()))
      func.setPrivate();
  mlir::PassManager pm(ir.getContext());
  pm.addPass(mlir::createInlinerPass());
  pm.addPass(mlir::createSymbolDCEPass());
  pm.addPass(mlir::createCanonicalizerPass());
  cpu::buildLowerToLLVMPipeline(pm, cpu::LowerToLLVMOptions());
  if (getenv("ATTNC_DEBUG_IR")) {
    ir.getContext()->disableMultithreading();
    pm.enableIRPrinting();
  }
  mlir::TimingScope toLLVMTiming = root.nest("lower to the LLVM dialect");
  pm.enableTiming(toLLVMTiming);
  if (mlir::failed(pm.run(ir)))
    return kExitInputError;
  toLLVMTiming.stop();
  for (const cpu::EntrySignature &sig : sigs)
    if (mlir::failed(cpu::addCWrappers(ir, sig)))
      return kExitInputError;

  cpu::CodegenOptions codegen;
  codegen.cpu = inv.cpu;
  llvm::SmallVector<char> object;
  std::string error;
  if (mlir::failed(cpu::emitObjectFile(ir, codegen, object, error,
                                       root.nest("emit the object file"))))
    return inputError("code generation failed: " + error);
  mlir::TimingScope linkTiming = root.nest("link");
  if (mlir::failed(
          cpu::linkSharedLibrary(object, soPath, /*openmp=*/true, error)))
    return inputError("linking '" + soPath + "' failed: " + error);
  return kExitSuccess;
}

std::unique_ptr<LoadedLibrary> LoadedLibrary::load(const std::string &path,
                                                   std::string &error) {
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *message = dlerror();
    error = message ? message : "dlopen failed";
    return nullptr;
  }
  return std::unique_ptr<LoadedLibrary>(new LoadedLibrary(handle));
}

LoadedLibrary::~LoadedLibrary() { dlclose(handle); }

LoadedLibrary::PackedFn
LoadedLibrary::getPacked(const std::string &name) const {
  return reinterpret_cast<PackedFn>(dlsym(handle, (name + "_packed").c_str()));
}
