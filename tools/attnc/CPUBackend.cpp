//===- CPUBackend.cpp - Compile entries for the CPU and call them ---------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The pieces of CPUBackend.h: entry signatures, the CPU compilation
/// pipeline.
///
//===----------------------------------------------------------------------===//

#include "CPUBackend.h"

#include "attnc/Frontend/MLIRGen.h"
#include "attnc/Target/CPU/Linker.h"
#include "attnc/Target/CPU/ObjectEmitter.h"
#include "attnc/Target/CPU/Pipeline.h"
#include "attnc/Transforms/Passes.h"
#include "attnc/Transforms/StepEntry.h"

#include "dialects/Attn/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

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
      if (const auto *fn = llvm::dyn_cast<FnDecl>(decl.get());
          !fn || isInstantiable(*fn))
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

/// The inputs of the fn or arch itself.
static int getDeclInputs(const Decl *entry, mlir::ModuleOp ir,
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

/// The result names of the fn or arch itself (see getResultNames).
static std::vector<std::string> getDeclResultNames(const Decl *entry,
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

int attnc::driver::getEntryInputs(const EntryPoint &entry, mlir::ModuleOp ir,
                                  std::vector<EntryTensor> &inputs) {
  if (int rc = getDeclInputs(entry.decl, ir, inputs))
    return rc;
  if (entry.isStep())
    for (const EntryTensor &state : *entry.states)
      inputs.push_back({state.name + "_in", state.type});
  return kExitSuccess;
}

std::vector<std::string> attnc::driver::getResultNames(const EntryPoint &point,
                                                       size_t numResults) {
  size_t numStates = point.isStep() ? point.states->size() : 0;
  if (numStates > numResults)
    numStates = numResults;
  std::vector<std::string> names =
      getDeclResultNames(point.decl, numResults - numStates);
  for (size_t i = 0; i < numStates; ++i)
    names.push_back((*point.states)[i].name + "_out");
  return names;
}

int attnc::driver::getEntrySignature(const EntryPoint &point, mlir::ModuleOp ir,
                                     cpu::EntrySignature &signature) {
  const Decl *entry = point.decl;
  signature.name = point.getName();
  std::vector<EntryTensor> inputs;
  if (int rc = getEntryInputs(point, ir, inputs))
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
  if (point.isStep())
    for (const EntryTensor &state : *point.states)
      results.push_back(state.type);
  std::vector<std::string> resultNames = getResultNames(point, results.size());
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

//===----------------------------------------------------------------------===//
// Step entries
//===----------------------------------------------------------------------===//

std::string EntryPoint::getName() const {
  return isStep() ? mlir::attnc::getStepEntryName(decl->getName())
                  : decl->getName();
}

/// The scans at the top level of @NAME, in order.
static std::vector<mlir::attnc::attn::ScanOp>
getTopLevelScans(mlir::func::FuncOp func) {
  std::vector<mlir::attnc::attn::ScanOp> scans;
  if (func && !func.isDeclaration())
    for (mlir::Operation &op : func.getBody().front())
      if (auto scan = mlir::dyn_cast<mlir::attnc::attn::ScanOp>(op))
        scans.push_back(scan);
  return scans;
}

bool attnc::driver::hasRecurrence(const Decl *entry, mlir::ModuleOp ir) {
  return !getTopLevelScans(
              ir.lookupSymbol<mlir::func::FuncOp>(entry->getName()))
              .empty();
}

static void collectScans(const Expr *e, std::vector<const ScanExpr *> &scans);

static void collectScans(const Stmt &stmt,
                         std::vector<const ScanExpr *> &scans) {
  if (const auto *def = llvm::dyn_cast<IndexedDefStmt>(&stmt))
    collectScans(def->value.get(), scans);
  else if (const auto *let = llvm::dyn_cast<LetStmt>(&stmt))
    collectScans(let->value.get(), scans);
  else if (const auto *ret = llvm::dyn_cast<ReturnStmt>(&stmt))
    for (const ExprPtr &value : ret->values)
      collectScans(value.get(), scans);
}

/// The scans of an expression, outermost first.
static void collectScans(const Expr *e, std::vector<const ScanExpr *> &scans) {
  if (!e)
    return;
  if (const auto *scan = llvm::dyn_cast<ScanExpr>(e))
    scans.push_back(scan);
  forEachChild(
      *e, [&](const Expr &child) { collectScans(&child, scans); },
      [&](const Stmt &stmt) { collectScans(stmt, scans); });
}

/// The names of the states of `scan`, flattened as MLIRGen flattens them: a
/// group state `W` is `W.W1`, `W.W2`, ...
static std::vector<std::string> getStateNames(const ScanExpr &scan) {
  std::vector<std::string> names;
  std::function<void(const std::string &, const ValueType &)> add =
      [&](const std::string &name, const ValueType &type) {
        if (type.isTensor()) {
          names.push_back(name);
          return;
        }
        for (const auto &[member, memberType] : type.getMembers())
          add(name + "." + member, memberType);
      };
  for (const StmtPtr &stmt : scan.body)
    if (const auto *state = llvm::dyn_cast<StateDeclStmt>(stmt.get())) {
      if (state->checkedType)
        add(state->name, *state->checkedType);
      else
        names.push_back(state->name);
    }
  return names;
}

/// The extent `size` (an operand of @NAME's top level) as a polynomial of
/// the entry's size symbols: a constant or an extent of an input.
static std::optional<DimExpr>
getSizeExpr(mlir::Value size, mlir::func::FuncOp func,
            const std::vector<EntryTensor> &inputs) {
  if (std::optional<int64_t> c = mlir::getConstantIntValue(size))
    return DimExpr::constant(*c);
  auto dim = size.getDefiningOp<mlir::tensor::DimOp>();
  if (!dim)
    return std::nullopt;
  auto arg = mlir::dyn_cast<mlir::BlockArgument>(dim.getSource());
  std::optional<int64_t> index = dim.getConstantIndex();
  if (!arg || arg.getOwner() != &func.getBody().front() || !index ||
      arg.getArgNumber() >= inputs.size())
    return std::nullopt;
  const std::vector<DimExpr> &shape =
      inputs[arg.getArgNumber()].type.getShape();
  if (*index < 0 || static_cast<size_t>(*index) >= shape.size())
    return std::nullopt;
  return shape[*index];
}

std::optional<EntryPoint> attnc::driver::addStepEntry(const Decl *entry,
                                                      mlir::ModuleOp ir,
                                                      std::string &reason) {
  std::string what =
      "not supported yet: a step entry for '" + entry->getName() + "'";
  auto func = ir.lookupSymbol<mlir::func::FuncOp>(entry->getName());
  std::vector<mlir::attnc::attn::ScanOp> scans = getTopLevelScans(func);
  if (scans.empty()) {
    reason = what + ", which has no scan at its top level";
    return std::nullopt;
  }
  // getDeclInputs reports its (internal) errors itself.
  std::vector<EntryTensor> inputs;
  if (getDeclInputs(entry, ir, inputs)) {
    reason = "internal error: no inputs for '" + entry->getName() + "'";
    return std::nullopt;
  }

  // The time symbol: the length of the first scan, a size of the inputs;
  // each input's time axis is where it has that symbol alone.
  std::optional<DimExpr> length =
      getSizeExpr(scans.front().getLength(), func, inputs);
  std::vector<std::string> symbols =
      length ? length->getSymbols() : std::vector<std::string>();
  if (!length || symbols.size() != 1 ||
      !(*length == DimExpr::symbol(symbols.front()))) {
    reason = what + ": its scan runs over " +
             (length ? "'" + length->str() + "'" : std::string("a length")) +
             ", not over a run-time size of its inputs";
    return std::nullopt;
  }
  const std::string &time = symbols.front();
  std::vector<int64_t> axes;
  for (const EntryTensor &input : inputs) {
    int64_t axis = mlir::attnc::kNoTimeAxis;
    for (auto [d, dim] : llvm::enumerate(input.type.getShape())) {
      if (!llvm::is_contained(dim.getSymbols(), time))
        continue;
      axis = axis == mlir::attnc::kNoTimeAxis && dim == DimExpr::symbol(time)
                 ? static_cast<int64_t>(d)
                 : mlir::attnc::kMixedTimeAxis;
    }
    axes.push_back(axis);
  }
  // Arch weights and other arguments past the inputs do not run over time.
  axes.resize(func.getNumArguments(), mlir::attnc::kNoTimeAxis);

  // The state names, from the source scan at the same location.
  std::vector<const ScanExpr *> sourceScans;
  if (const auto *fn = llvm::dyn_cast<FnDecl>(entry))
    for (const StmtPtr &stmt : fn->body)
      collectScans(*stmt, sourceScans);
  EntryPoint point(entry);
  point.states.emplace();
  llvm::StringSet<> used;
  for (auto [s, scan] : llvm::enumerate(scans)) {
    std::vector<std::string> names;
    if (auto loc = mlir::dyn_cast<mlir::FileLineColLoc>(scan.getLoc()))
      for (const ScanExpr *source : sourceScans)
        if (source->getLoc().line == loc.getLine() &&
            source->getLoc().col == loc.getColumn())
          names = getStateNames(*source);
    if (names.size() != scan.getNumStates()) {
      names.clear();
      for (unsigned i = 0; i < scan.getNumStates(); ++i)
        names.push_back("state" + std::to_string(i));
    }
    std::vector<DimExpr> batch;
    for (mlir::Value size : scan.getBatchSizes()) {
      std::optional<DimExpr> extent = getSizeExpr(size, func, inputs);
      if (!extent) {
        reason = what + ": a batch extent of its scan is not a size of its "
                        "inputs";
        return std::nullopt;
      }
      batch.push_back(*extent);
    }
    for (auto [i, final] : llvm::enumerate(scan.getFinals())) {
      auto type = mlir::cast<mlir::RankedTensorType>(final.getType());
      std::vector<DimExpr> shape = batch;
      for (int64_t extent : type.getShape().drop_front(batch.size())) {
        if (mlir::ShapedType::isDynamic(extent)) {
          reason =
              what + ": the state '" + names[i] + "' has a run-time extent";
          return std::nullopt;
        }
        shape.push_back(DimExpr::constant(extent));
      }
      // Two scans with a state of one name: the later ones are numbered.
      std::string name = names[i];
      if (!used.insert(name).second)
        name += "_" + std::to_string(s);
      used.insert(name);
      point.states->push_back(
          {name, ValueType::tensor(elemTypeOf(type.getElementType()), shape)});
    }
  }

  if (mlir::failed(mlir::attnc::createStepEntry(func, axes, reason)))
    return std::nullopt;
  return point;
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
  cpu::CodegenOptions codegen;
  codegen.cpu = inv.cpu;
  cpu::LowerAttnOptions attnOpts;
  attnOpts.scanChunk = inv.scanChunk;
  attnOpts.scanBlockVectors = cpu::microKernelVectors(codegen);
  cpu::buildLowerAttnPipeline(lower, attnOpts);
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
