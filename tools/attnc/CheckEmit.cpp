//===- CheckEmit.cpp - attnc check and attnc emit ---------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The front end every command runs (parse, check, lower to MLIR) and the
/// `check` and `emit` commands.
///
//===----------------------------------------------------------------------===//

#include "CPUBackend.h"
#include "Driver.h"

#include "attnc/Frontend/ASTPrinter.h"
#include "attnc/Frontend/Diagnostic.h"
#include "attnc/Frontend/MLIRGen.h"
#include "attnc/Frontend/Parse.h"
#include "attnc/Frontend/Sema.h"
#include "attnc/InitAll.h"
#include "attnc/Interp/Interpreter.h"
#include "attnc/Support/Npy.h"
#include "attnc/Support/Random.h"
#include "attnc/Target/CPU/Pipeline.h"
#include "attnc/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/PrettyStackTrace.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

using namespace attnc;
using namespace attnc::driver;

/// Reports a library failure that came without a diagnostic. This is a bug
/// in the front end; say so rather than exit 1 silently.
static void reportSilentFailure(const Input &input, llvm::StringRef stage) {
  if (input.diags->hasErrors())
    return;
  llvm::errs() << "attnc: internal error: " << input.path << ": the " << stage
               << " failed without reporting an error\n";
}

/// Adds the names used in the dimensions of `type` to `names`.
static void collectDimNames(const Module &module, const TypeExpr *type,
                            llvm::StringSet<> &names, int depth = 0) {
  // Aliases of aliases: the depth bounds a cycle, which Sema reports.
  if (!type || depth > 64)
    return;
  std::function<void(const Expr *)> visit = [&](const Expr *e) {
    if (!e)
      return;
    if (const auto *name = llvm::dyn_cast<NameExpr>(e))
      names.insert(name->name);
    else if (const auto *binary = llvm::dyn_cast<BinaryExpr>(e)) {
      visit(binary->lhs.get());
      visit(binary->rhs.get());
    } else if (const auto *unary = llvm::dyn_cast<UnaryExpr>(e))
      visit(unary->operand.get());
  };
  if (const auto *tensor = llvm::dyn_cast<TensorTypeExpr>(type)) {
    for (const ExprPtr &dim : tensor->dims)
      visit(dim.get());
  } else if (const auto *group = llvm::dyn_cast<GroupTypeExpr>(type)) {
    for (const GroupTypeExpr::Member &member : group->members)
      collectDimNames(module, member.type.get(), names, depth + 1);
  } else if (const auto *named = llvm::dyn_cast<NamedTypeExpr>(type)) {
    for (const DeclPtr &decl : module.decls)
      if (const auto *alias = llvm::dyn_cast<TypeDecl>(decl.get()))
        if (alias->getName() == named->name)
          collectDimNames(module, alias->type.get(), names, depth + 1);
  }
}

/// The names in the parameter types of every fn and arch of `module`: the
/// size symbols `run --set` may give a value (and some constants).
static llvm::StringSet<> getParamDimNames(const Module &module) {
  llvm::StringSet<> names;
  for (const DeclPtr &decl : module.decls) {
    const std::vector<Param> *params = nullptr;
    if (const auto *fn = llvm::dyn_cast<FnDecl>(decl.get()))
      params = &fn->params;
    else if (const auto *arch = llvm::dyn_cast<ArchDecl>(decl.get()))
      params = &arch->params;
    if (params)
      for (const Param &param : *params)
        collectDimNames(module, param.type.get(), names);
  }
  return names;
}

int attnc::driver::runFrontend(const Invocation &inv,
                               std::vector<Input> &inputs) {
  bool allParsed = true;
  for (const std::string &path : inv.files) {
    Input input;
    input.path = path;
    input.diags = std::make_unique<DiagnosticEngine>();
    input.module = parseFile(path, *input.diags);
    if (!input.module) {
      reportSilentFailure(input, "parser");
      allParsed = false;
    }
    inputs.push_back(std::move(input));
  }

  // A --set NAME that no file defines is a usage error. When a file did not
  // parse it might have defined NAME, and the run fails with 1 anyway.
  if (allParsed && !inv.setNames.empty()) {
    llvm::StringSet<> defined;
    for (const Input &input : inputs)
      for (const std::string &name : getOverridableConstants(*input.module))
        defined.insert(name);
    bool isRun = inv.command == Invocation::Command::Run ||
                 inv.command == Invocation::Command::Build ||
                 inv.command == Invocation::Command::Bench;
    if (isRun)
      for (const Input &input : inputs)
        for (const auto &name : getParamDimNames(*input.module))
          defined.insert(name.getKey());
    for (const std::string &name : inv.setNames) {
      if (defined.contains(name))
        continue;
      std::string where;
      for (const Input &input : inputs)
        where += (where.empty() ? "" : ", ") + input.path;
      return usageError("--set " + name + ": no " +
                        (isRun ? "constant or size" : "constant") + " named '" +
                        name + "' in " + where);
    }
  }

  bool allOk = allParsed;
  for (Input &input : inputs) {
    if (!input.module)
      continue;
    input.ok = checkModule(*input.module, *input.diags, inv.checkOptions);
    if (!input.ok)
      reportSilentFailure(input, "checker");
    allOk &= input.ok;
  }
  return allOk ? kExitSuccess : kExitInputError;
}

/// Lowers each entry of `module` with what it uses (see withMLIR) to MLIR
/// and, for `check --lower`, through the attn lowering passes, reporting
/// every diagnostic once. Plain `check` does the first part, so that what
/// it accepts is what MLIRGen lowers. Returns an exit code.
static int lowerEntries(Module &module, bool passes) {
  std::set<std::string> reported;
  int rc = kExitSuccess;
  for (const Decl *entry : getEntries(module)) {
    int entryRC = withMLIR(
        module, {entry},
        [&](mlir::ModuleOp ir) {
          if (!passes)
            return kExitSuccess;
          mlir::PassManager pm(ir.getContext());
          mlir::attnc::cpu::buildLowerAttnPipeline(pm);
          return mlir::failed(pm.run(ir)) ? kExitInputError : kExitSuccess;
        },
        &reported);
    rc = std::max(rc, entryRC);
  }
  return rc;
}

int attnc::driver::runCheck(const Invocation &inv) {
  std::vector<Input> inputs;
  int rc = runFrontend(inv, inputs);
  if (rc == kExitUsageError)
    return rc;
  for (Input &input : inputs)
    if (input.ok)
      rc = std::max(rc, lowerEntries(*input.module, inv.lower));
  if (inv.printShapes) {
    for (const Input &input : inputs) {
      if (!input.ok)
        continue;
      if (inputs.size() > 1)
        llvm::outs() << "// " << input.path << "\n";
      llvm::outs() << printSignatures(*input.module);
    }
    llvm::outs().flush();
  }
  return rc;
}

//===----------------------------------------------------------------------===//
// Lowering to MLIR
//===----------------------------------------------------------------------===//

namespace {
/// The fns, blocks and archs that some roots use, transitively: the fns a
/// fn calls, and the fns and blocks an arch or block uses as layers.
class ReachableDecls {
public:
  explicit ReachableDecls(const Module &module) {
    for (const DeclPtr &decl : module.decls)
      if (llvm::isa<FnDecl, BlockDecl, ArchDecl>(decl.get()))
        byName[decl->getName()].push_back(decl.get());
  }

  void addRoot(const Decl *decl) {
    if (!decl || !reached.insert(decl).second)
      return;
    if (const auto *fn = llvm::dyn_cast<FnDecl>(decl))
      for (const StmtPtr &stmt : fn->body)
        visit(*stmt);
    else if (const auto *block = llvm::dyn_cast<BlockDecl>(decl))
      visit(block->body);
    else if (const auto *arch = llvm::dyn_cast<ArchDecl>(decl))
      visit(arch->body);
  }

  bool contains(const Decl *decl) const { return reached.contains(decl); }

private:
  void use(const std::string &name) {
    auto it = byName.find(name);
    if (it != byName.end())
      for (const Decl *decl : it->second)
        addRoot(decl);
  }

  void visit(const Expr *e) {
    if (!e)
      return;
    if (const auto *call = llvm::dyn_cast<CallExpr>(e))
      use(call->callee);
    forEachChild(
        *e, [&](const Expr &child) { visit(&child); },
        [&](const Stmt &stmt) { visit(stmt); });
  }

  void visit(const Stmt &stmt) {
    if (const auto *def = llvm::dyn_cast<IndexedDefStmt>(&stmt))
      visit(def->value.get());
    else if (const auto *let = llvm::dyn_cast<LetStmt>(&stmt))
      visit(let->value.get());
    else if (const auto *state = llvm::dyn_cast<StateDeclStmt>(&stmt))
      visit(state->init.get());
    else if (const auto *emit = llvm::dyn_cast<EmitStmt>(&stmt))
      visit(emit->value.get());
    else if (const auto *ret = llvm::dyn_cast<ReturnStmt>(&stmt))
      for (const ExprPtr &value : ret->values)
        visit(value.get());
  }

  void visit(const Term &term) {
    use(term.name);
    for (const ExprPtr &arg : term.args)
      visit(arg.get());
  }

  void visit(const Pipeline &pipeline) {
    for (const StagePtr &stage : pipeline) {
      if (const auto *residual = llvm::dyn_cast<ResidualStage>(stage.get())) {
        visit(residual->body);
      } else if (const auto *repeat =
                     llvm::dyn_cast<RepeatStage>(stage.get())) {
        visit(repeat->count.get());
        visit(repeat->body);
      } else if (const auto *seq = llvm::dyn_cast<SeqStage>(stage.get())) {
        for (const Pipeline &part : seq->parts)
          visit(part);
      } else if (const auto *branch =
                     llvm::dyn_cast<BranchStage>(stage.get())) {
        visit(branch->fanout);
        for (const Pipeline &part : branch->branches)
          visit(part);
        visit(branch->combiner);
      } else if (const auto *route = llvm::dyn_cast<RouteStage>(stage.get())) {
        visit(route->pre);
        visit(route->body);
        visit(route->post);
      } else if (const auto *term = llvm::dyn_cast<TermStage>(stage.get())) {
        visit(term->term);
      }
    }
  }

  std::map<std::string, std::vector<const Decl *>> byName;
  llvm::SmallPtrSet<const Decl *, 16> reached;
};

/// While alive, `module` holds only the declarations of `reachable` and
/// those that are not fns, blocks or archs (constants, types): what
/// lowering some entries needs. The others are put back, in their order,
/// on destruction; no declaration moves in memory.
class DeclSelection {
public:
  DeclSelection(Module &module, const ReachableDecls &reachable)
      : module(module), all(std::move(module.decls)) {
    module.decls.clear();
    for (DeclPtr &decl : all)
      if (!llvm::isa<FnDecl, BlockDecl, ArchDecl>(decl.get()) ||
          reachable.contains(decl.get()))
        module.decls.push_back(std::move(decl));
  }
  ~DeclSelection() {
    size_t next = 0;
    for (DeclPtr &decl : all)
      if (!decl)
        decl = std::move(module.decls[next++]);
    module.decls = std::move(all);
  }
  DeclSelection(const DeclSelection &) = delete;
  DeclSelection &operator=(const DeclSelection &) = delete;

private:
  Module &module;
  std::vector<DeclPtr> all;
};
} // namespace

/// Whether diagnostics show the op they are attached to and the IR dumps
/// of ATTNC_DEBUG_IR (see docs/Testing.md).
static bool isDebuggingIR() { return getenv("ATTNC_DEBUG_IR") != nullptr; }

int attnc::driver::withMLIR(Module &module,
                            llvm::function_ref<int(mlir::ModuleOp)> use) {
  return withMLIR(module, {}, use);
}

static bool showRemarks = false;
void attnc::driver::setShowRemarks(bool show) { showRemarks = show; }

int attnc::driver::withMLIR(Module &module, llvm::ArrayRef<const Decl *> roots,
                            llvm::function_ref<int(mlir::ModuleOp)> use,
                            std::set<std::string> *reported) {
  mlir::DialectRegistry registry;
  mlir::attnc::registerAllDialects(registry);
  mlir::attnc::registerAllExtensions(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // A diagnostic says where in the source, not which op: no "see current
  // operation" dump of generic IR unless debugging.
  context.printOpOnDiagnostic(isDebuggingIR());
  llvm::SourceMgr sourceMgr;
  for (const std::string &file : module.files) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
        llvm::MemoryBuffer::getFile(file);
    if (buffer)
      sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
  }
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  // Registered last, so called first: drops a diagnostic already reported.
  if (reported)
    context.getDiagEngine().registerHandler(
        [reported](mlir::Diagnostic &diag) -> mlir::LogicalResult {
          std::string key;
          llvm::raw_string_ostream os(key);
          os << diag.getLocation() << ": " << diag.str();
          return mlir::success(!reported->insert(key).second);
        });
  // Registered last, so called first: remarks only under --remarks.
  context.getDiagEngine().registerHandler(
      [](mlir::Diagnostic &diag) -> mlir::LogicalResult {
        return mlir::success(diag.getSeverity() ==
                                 mlir::DiagnosticSeverity::Remark &&
                             !showRemarks);
      });
  mlir::OwningOpRef<mlir::ModuleOp> ir;
  if (roots.empty()) {
    ir = mlirGen(context, module);
  } else {
    ReachableDecls reachable(module);
    for (const Decl *root : roots)
      reachable.addRoot(root);
    DeclSelection selection(module, reachable);
    ir = mlirGen(context, module);
  }
  if (!ir)
    return kExitInputError;
  return use(*ir);
}

/// Lowers a checked module to MLIR and prints it into `text`.
static int emitMLIR(Module &module, bool debugInfo, std::string &text) {
  return withMLIR(module, [&](mlir::ModuleOp ir) {
    llvm::raw_string_ostream os(text);
    ir->print(os, mlir::OpPrintingFlags().enableDebugInfo(debugInfo));
    // As mlir-opt prints it, so that emitted IR and attnc-opt's output of it
    // are byte for byte the same.
    os << '\n';
    return kExitSuccess;
  });
}

int attnc::driver::runEmit(const Invocation &inv) {
  std::vector<Input> inputs;
  if (int rc = runFrontend(inv, inputs))
    return rc;
  std::string text;
  if (*inv.emit == "mlir") {
    if (int rc = emitMLIR(*inputs.front().module, inv.debugInfo, text))
      return rc;
  } else {
    text = printAST(*inputs.front().module);
  }
  if (!inv.output || *inv.output == "-") {
    llvm::outs() << text;
    llvm::outs().flush();
    return kExitSuccess;
  }
  // writeToOutput writes a temporary next to OUT and renames it into place,
  // so OUT is never half-written.
  llvm::Error err =
      llvm::writeToOutput(*inv.output, [&](llvm::raw_ostream &os) {
        os << text;
        return llvm::Error::success();
      });
  if (err) {
    llvm::errs() << "attnc: error: cannot write '" << *inv.output
                 << "': " << llvm::toString(std::move(err)) << "\n";
    return kExitInputError;
  }
  return kExitSuccess;
}
