//===- attnc.cpp - The attnc compiler driver --------------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The `attnc` command line: a thin layer over the front-end libraries
/// (parseFile, checkModule, printAST, printSignatures, mlirGen) and the
/// float64 interpreter (interp::run). See DESIGN.md §9.
///
///   attnc check [--set NAME=VALUE]... [--print-shapes] FILE...
///   attnc emit --emit=ast|mlir [--set NAME=VALUE]... [--debug-info] [-o OUT]
///              FILE
///   attnc run --backend=interp [--entry NAME] [--set NAME=VALUE]...
///             [--input NAME=FILE.npy]... [--seed S] [--output-dir DIR] FILE
///
/// Exit codes: 0 success, 1 an error in the input, 2 a usage error. The
/// arguments are parsed by hand because llvm::cl exits with 1 on usage errors.
///
//===----------------------------------------------------------------------===//

#include "attnc/Frontend/ASTPrinter.h"
#include "attnc/Frontend/Diagnostic.h"
#include "attnc/Frontend/MLIRGen.h"
#include "attnc/Frontend/Parse.h"
#include "attnc/Frontend/Sema.h"
#include "attnc/InitAll.h"
#include "attnc/Interp/Interpreter.h"
#include "attnc/Support/Npy.h"
#include "attnc/Support/Random.h"
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

#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#ifndef ATTNC_VERSION
#define ATTNC_VERSION "unknown"
#endif

using namespace attnc;

namespace {

/// The process exit codes (DESIGN.md §9).
enum ExitCode : int {
  kExitSuccess = 0,
  kExitInputError = 1,
  kExitUsageError = 2,
};

/// The stages this build can emit; the planned ones are reported as
/// "not supported yet".
constexpr llvm::StringLiteral kSupportedEmits[] = {"ast", "mlir"};
constexpr llvm::StringLiteral kSupportedEmitList = "ast, mlir";
constexpr llvm::StringLiteral kPlannedEmits[] = {"linalg", "llvm", "ptx"};

/// The back ends `run` can use; the planned ones are "not supported yet".
constexpr llvm::StringLiteral kSupportedBackends[] = {"interp"};
constexpr llvm::StringLiteral kSupportedBackendList = "interp";
constexpr llvm::StringLiteral kPlannedBackends[] = {"cpu", "gpu", "cuda"};

/// Everything the command line asked for.
struct Invocation {
  enum class Command { Check, Emit, Run };
  Command command = Command::Check;
  std::vector<std::string> files;
  CheckOptions checkOptions;
  /// `--set` names in the order given, for the "unknown constant" check.
  std::vector<std::string> setNames;
  bool printShapes = false;
  bool debugInfo = false;
  std::optional<std::string> emit;
  std::optional<std::string> output;
  /// `run`: the fn or arch to run, the back end, `--input NAME=FILE` in the
  /// order given, the seed of the random inputs and where results go.
  std::optional<std::string> entry;
  std::optional<std::string> backend;
  std::vector<std::pair<std::string, std::string>> inputs;
  uint64_t seed = 0;
  std::string outputDir = ".";
};

/// Thrown-free result of argument parsing: either an invocation to run or an
/// exit code (help and version print and exit 0; usage errors exit 2).
struct ParseResult {
  std::optional<Invocation> invocation;
  int exitCode = kExitSuccess;
};

} // namespace

static constexpr llvm::StringLiteral kUsage =
    R"(OVERVIEW: attnc - a compiler for attention and sequence models

USAGE:
  attnc check [--set NAME=VALUE]... [--print-shapes] FILE...
  attnc emit --emit=ast|mlir [--set NAME=VALUE]... [--debug-info] [-o OUT]
             FILE
  attnc run --backend=interp [--entry NAME] [--set NAME=VALUE]...
            [--input NAME=FILE.npy]... [--seed S] [--output-dir DIR] FILE
  attnc help | --help | -h
  attnc --version

COMMANDS:
  check         Parse and check each FILE (and the files it imports).
                Diagnostics go to stderr as 'file:line:col: error: message'.
  emit          Parse and check one FILE, then print it at the stage named by
                --emit.
  run           Parse, check and lower one FILE as 'emit --emit=mlir' does,
                then run one fn or arch on .npy inputs and write each result
                as a .npy file. Prints one line per result on stdout:
                  NAME: shape [D0, D1, ...] mean M max_abs A
                (M and A in C's %.6g; an empty result has mean nan).
  help          Print this help.

OPTIONS:
  --set NAME=VALUE
                Override every compile-time constant named NAME: each
                '<NAME = default>' parameter of a fn, block or arch, and a
                top-level 'const NAME = ...'. VALUE is an integer (64, -1) or
                a float (0.5, 1e-5). May be repeated; the last one for a NAME
                wins. A NAME that no FILE defines is a usage error.
                (run) NAME may also be a size symbol of the entry's
                parameters (the 'N' of 'x: f32[B, N, 64]'): VALUE, a
                non-negative integer, is its extent.
  --print-shapes
                (check) Print the inferred signature of every definition and
                the shapes of the tensors it defines on stdout. With several
                FILEs, each file's output follows a '// FILE' line.
  --emit=ast    (emit) Print the checked syntax tree, one node per line with
                its position and type.
  --emit=mlir   (emit) Print the program as MLIR: one func.func per fn and
                per arch, in the attn dialect and upstream linalg, tensor,
                scf, arith and math. Constructs that are not lowered yet are
                reported as 'not supported yet'.
  --debug-info  (emit=mlir) Also print each op's location: the
                file:line:col of the source construct it comes from.
  -o OUT        (emit) Write to OUT instead of stdout. OUT is written to a
                temporary file that is renamed into place, and is left
                untouched when there are errors.
  --backend=interp
                (run) Run on the float64 reference interpreter: every op in
                double precision, one at a time. Required; no other back end
                is built yet.
  --entry NAME  (run) The fn or arch to run; needed when FILE defines more
                than one.
  --input NAME=FILE.npy
                (run) The value of the parameter NAME (for an arch's weights,
                its attn.param path, as 'emit --emit=mlir' prints it). FILE is
                a C-order .npy array of dtype <f4 or <f8 for float
                parameters, <i4 or <i8 for integer ones and |b1 for i1. The
                extents of the entry's size symbols are read from the shapes.
  --seed S      (run) Seed of the inputs not given by --input (default 0).
                Each one is drawn from its own SplitMix64 stream, seeded with
                S xor the 64-bit FNV-1a hash of its NAME, so adding an
                --input does not change the others: float tensors are
                standard normal (Box-Muller, rounded to float32 for f32),
                integer tensors uniform in [0, 16), i1 tensors fair coins,
                and float parameters named alpha, beta, gamma, eta, theta, g
                or gate uniform in the open interval (0, 1).
  --output-dir DIR
                (run) Where the results go (default: the current directory;
                created when missing). Each result is written to NAME.npy
                through a temporary file renamed into place, as <f8 for
                floats, <i8 for integers and |b1 for i1. NAME is the name of
                the returned value in the source; an arch's result is
                'output'; a result that is an expression, or a name returned
                twice, is 'resultI' (I counting results from 0).
  -h, --help    Print this help.
  --version     Print the version.

EXIT STATUS:
  0  success
  1  an error in an input file, or a file that cannot be read or written
  2  usage error: unknown command or option, missing value or FILE, bad --set,
     (run) unknown --entry or --input NAME, a size without a value
)";

static void printUsage(llvm::raw_ostream &os) { os << kUsage; }

static void printVersion(llvm::raw_ostream &os) {
  os << "attnc version " << ATTNC_VERSION << "\n";
  os << "  LLVM version " << LLVM_VERSION_STRING << "\n";
}

/// Reports a usage error and returns the usage exit code.
static int usageError(const llvm::Twine &message) {
  llvm::errs() << "attnc: error: " << message << "\n";
  llvm::errs() << "attnc: see 'attnc --help'\n";
  return kExitUsageError;
}

/// Parses a `--set` VALUE: a decimal integer, else a finite decimal float.
static std::optional<ConstValue> parseConstValue(llvm::StringRef text) {
  // getAsInteger and getAsDouble take a '-' sign but not a '+' one.
  llvm::StringRef digits = text.starts_with("+") ? text.drop_front() : text;
  static const llvm::Regex intRe("^[+-]?[0-9]+$");
  static const llvm::Regex floatRe(
      "^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?$");
  if (intRe.match(text)) {
    int64_t value;
    if (digits.getAsInteger(10, value))
      return std::nullopt; // Out of range.
    return ConstValue::ofInt(value);
  }
  if (floatRe.match(text)) {
    double value;
    if (digits.getAsDouble(value) || !std::isfinite(value))
      return std::nullopt;
    return ConstValue::ofFloat(value);
  }
  return std::nullopt;
}

/// Handles one `--set NAME=VALUE` argument.
static int addSet(Invocation &inv, llvm::StringRef arg) {
  static const llvm::Regex nameRe("^[A-Za-z_][A-Za-z0-9_]*$");
  auto [name, value] = arg.split('=');
  if (name.size() == arg.size())
    return usageError("--set " + arg + ": expected NAME=VALUE");
  if (!nameRe.match(name))
    return usageError("--set " + arg + ": '" + name +
                      "' is not a valid constant name");
  std::optional<ConstValue> parsed = parseConstValue(value);
  if (!parsed)
    return usageError("--set " + arg + ": '" + value +
                      "' is not an integer or a float");
  if (!inv.checkOptions.overrides.count(name.str()))
    inv.setNames.push_back(name.str());
  inv.checkOptions.overrides[name.str()] = *parsed;
  return kExitSuccess;
}

/// Parses the command line. Options may come before or after the FILEs;
/// `--` ends the options.
static ParseResult parseArgs(llvm::ArrayRef<const char *> args) {
  ParseResult result;
  auto fail = [&](const llvm::Twine &message) {
    result.exitCode = usageError(message);
    return result;
  };

  if (args.empty())
    return fail("no command given");

  llvm::StringRef command = args.front();
  if (command == "--help" || command == "-h" || command == "help") {
    printUsage(llvm::outs());
    return result;
  }
  if (command == "--version") {
    printVersion(llvm::outs());
    return result;
  }

  Invocation inv;
  if (command == "check")
    inv.command = Invocation::Command::Check;
  else if (command == "emit")
    inv.command = Invocation::Command::Emit;
  else if (command == "run")
    inv.command = Invocation::Command::Run;
  else if (command.starts_with("-"))
    return fail("expected a command before '" + command + "'");
  else
    return fail("unknown command '" + command + "'");
  bool isEmit = inv.command == Invocation::Command::Emit;
  bool isRun = inv.command == Invocation::Command::Run;

  // Help anywhere wins over everything else, as in most tools.
  for (llvm::StringRef arg : args.drop_front()) {
    if (arg == "--")
      break;
    if (arg == "--help" || arg == "-h") {
      printUsage(llvm::outs());
      return result;
    }
  }

  bool optionsDone = false;
  for (size_t i = 1; i < args.size(); ++i) {
    llvm::StringRef arg = args[i];
    if (optionsDone || !arg.starts_with("-")) {
      inv.files.push_back(arg.str());
      continue;
    }
    if (arg == "--") {
      optionsDone = true;
      continue;
    }

    // An option with a value, as `NAME VALUE` or `NAME=VALUE`. Returns false
    // when `arg` is another option; sets `missing` when VALUE is absent.
    llvm::StringRef value;
    bool missing = false;
    auto valueOption = [&](llvm::StringRef name) {
      if (arg == name) {
        missing = i + 1 >= args.size();
        if (!missing)
          value = args[++i];
        return true;
      }
      if (arg.starts_with(name) &&
          arg.drop_front(name.size()).starts_with("=")) {
        value = arg.drop_front(name.size() + 1);
        return true;
      }
      return false;
    };

    if (valueOption("--set")) {
      if (missing)
        return fail("missing value after '--set' (expected NAME=VALUE)");
      if (int rc = addSet(inv, value)) {
        result.exitCode = rc;
        return result;
      }
    } else if (isRun && valueOption("--entry")) {
      if (missing || value.empty())
        return fail("missing value after '--entry'");
      inv.entry = value.str();
    } else if (isRun && valueOption("--backend")) {
      if (missing || value.empty())
        return fail("missing value after '--backend'");
      inv.backend = value.str();
    } else if (isRun && valueOption("--input")) {
      if (missing)
        return fail("missing value after '--input' (expected NAME=FILE)");
      auto [name, file] = value.split('=');
      if (name.size() == value.size() || name.empty() || file.empty())
        return fail("--input " + value + ": expected NAME=FILE");
      for (const auto &given : inv.inputs)
        if (given.first == name)
          return fail("--input " + name + " is given twice");
      inv.inputs.emplace_back(name.str(), file.str());
    } else if (isRun && valueOption("--seed")) {
      if (missing)
        return fail("missing value after '--seed'");
      if (value.getAsInteger(10, inv.seed))
        return fail("--seed " + value +
                    ": expected a non-negative integer below 2^64");
    } else if (isRun && valueOption("--output-dir")) {
      if (missing)
        return fail("missing value after '--output-dir'");
      if (value.empty())
        return fail("empty directory name after '--output-dir'");
      inv.outputDir = value.str();
    } else if (inv.command == Invocation::Command::Check &&
               arg == "--print-shapes") {
      inv.printShapes = true;
    } else if (isEmit && arg == "--debug-info") {
      inv.debugInfo = true;
    } else if (isEmit && valueOption("--emit")) {
      if (missing)
        return fail("missing value after '--emit'");
      inv.emit = value.str();
    } else if (isEmit && valueOption("-o")) {
      if (missing)
        return fail("missing value after '-o'");
      if (value.empty())
        return fail("empty file name after '-o'");
      inv.output = value.str();
    } else {
      return fail("unknown option '" + arg + "' for '" + command + "'");
    }
  }

  if (inv.files.empty())
    return fail("missing FILE for '" + command + "'");

  if (isEmit) {
    if (!inv.emit)
      return fail("'emit' needs --emit=STAGE (this build emits: " +
                  kSupportedEmitList + ")");
    if (!llvm::is_contained(kSupportedEmits, *inv.emit)) {
      if (llvm::is_contained(kPlannedEmits, *inv.emit))
        return fail("not supported yet: --emit=" + *inv.emit +
                    " (this build emits: " + kSupportedEmitList + ")");
      return fail("unknown --emit value '" + *inv.emit +
                  "' (this build emits: " + kSupportedEmitList + ")");
    }
    if (inv.files.size() > 1)
      return fail("'emit' takes one FILE, got " +
                  llvm::Twine(inv.files.size()));
  }

  if (isRun) {
    if (!inv.backend)
      return fail("'run' needs --backend=BACKEND (this build runs: " +
                  kSupportedBackendList + ")");
    if (!llvm::is_contained(kSupportedBackends, *inv.backend)) {
      if (llvm::is_contained(kPlannedBackends, *inv.backend))
        return fail("not supported yet: --backend=" + *inv.backend +
                    " (this build runs: " + kSupportedBackendList + ")");
      return fail("unknown --backend value '" + *inv.backend +
                  "' (this build runs: " + kSupportedBackendList + ")");
    }
    if (inv.files.size() > 1)
      return fail("'run' takes one FILE, got " + llvm::Twine(inv.files.size()));
  }

  result.invocation = std::move(inv);
  return result;
}

namespace {
/// One input file on its way through the front end.
struct Input {
  std::string path;
  std::unique_ptr<DiagnosticEngine> diags;
  std::unique_ptr<Module> module;
  bool ok = false;
};
} // namespace

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

/// Parses every input, validates the `--set` names against the constants
/// the parsed files define (for `run`, also against the size symbols of the
/// parameters), then checks each one. Returns an exit code.
static int runFrontend(const Invocation &inv, std::vector<Input> &inputs) {
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
    bool isRun = inv.command == Invocation::Command::Run;
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

static int runCheck(const Invocation &inv) {
  std::vector<Input> inputs;
  int rc = runFrontend(inv, inputs);
  if (rc == kExitUsageError)
    return rc;
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

/// Lowers a checked module to MLIR and hands it to `use`, whose exit code it
/// returns. Errors, of the lowering and of `use`, are printed like the front
/// end's, with the source line and a caret.
static int withMLIR(const Module &module,
                    llvm::function_ref<int(mlir::ModuleOp)> use) {
  mlir::DialectRegistry registry;
  mlir::attnc::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  for (const std::string &file : module.files) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
        llvm::MemoryBuffer::getFile(file);
    if (buffer)
      sourceMgr.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
  }
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  mlir::OwningOpRef<mlir::ModuleOp> ir = mlirGen(context, module);
  if (!ir)
    return kExitInputError;
  return use(*ir);
}

/// Lowers a checked module to MLIR and prints it into `text`.
static int emitMLIR(const Module &module, bool debugInfo, std::string &text) {
  return withMLIR(module, [&](mlir::ModuleOp ir) {
    llvm::raw_string_ostream os(text);
    ir->print(os, mlir::OpPrintingFlags().enableDebugInfo(debugInfo));
    // As mlir-opt prints it, so that emitted IR and attnc-opt's output of it
    // are byte for byte the same.
    os << '\n';
    return kExitSuccess;
  });
}

static int runEmit(const Invocation &inv) {
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

//===----------------------------------------------------------------------===//
// attnc run
//===----------------------------------------------------------------------===//

namespace {
/// One argument of the entry's func.func: a parameter of the source, or one
/// of an arch's weights (named by its attn.param path).
struct RunParam {
  std::string name;
  ValueType type;
  /// The value, from --input or drawn at random; set by prepareArgs.
  interp::Tensor value;
  /// The --input file, if one was given.
  std::optional<std::string> file;
  npy::Array array;
};

/// Where a size symbol got its value, for the "bound twice" error.
struct SizeBinding {
  int64_t value;
  std::string origin;
};
} // namespace

/// Reports an input error of `run` (exit code 1).
static int inputError(const llvm::Twine &message) {
  llvm::errs() << "attnc: error: " << message << "\n";
  return kExitInputError;
}

/// `f`, `g` for a list, with the article-free quoting of other errors.
static std::string joinQuoted(llvm::ArrayRef<std::string> names) {
  std::string out;
  for (const std::string &name : names)
    out += (out.empty() ? "'" : ", '") + name + "'";
  return out;
}

/// The fn and arch declarations of the main file: the possible entries.
static std::vector<const Decl *> getEntries(const Module &module) {
  std::vector<const Decl *> entries;
  for (const DeclPtr &decl : module.decls)
    if ((llvm::isa<FnDecl>(decl.get()) || llvm::isa<ArchDecl>(decl.get())) &&
        decl->getLoc().file == module.mainFile)
      entries.push_back(decl.get());
  return entries;
}

/// The symbol of a dimension that is just one size symbol (`N`), else empty.
static std::string getSoleSymbol(const DimExpr &dim) {
  const auto &terms = dim.getTerms();
  if (terms.size() != 1 || terms.begin()->first.size() != 1 ||
      terms.begin()->second != 1)
    return "";
  const std::string &atom = terms.begin()->first.front();
  return dim.getQuotient(atom) ? "" : atom;
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

static interp::ElemKind kindOf(ElemType elem) {
  if (elem == ElemType::I1)
    return interp::ElemKind::Bool;
  return isInteger(elem) ? interp::ElemKind::Int : interp::ElemKind::Float;
}

/// Parameters drawn uniformly from (0, 1) instead of N(0, 1).
static bool isGateName(llvm::StringRef name) {
  return llvm::is_contained(
      {"alpha", "beta", "gamma", "eta", "theta", "g", "gate"}, name);
}

/// Fills `param.value` with seeded random values (see `--seed` in --help).
static void drawRandom(RunParam &param, uint64_t seed) {
  SplitMix64 rng(seed ^ fnv1a64(param.name));
  ElemType elem = param.type.getElemType();
  interp::Tensor &t = param.value;
  int64_t count = t.numElements();
  t.data.resize(count);
  for (double &x : t.data) {
    if (elem == ElemType::I1)
      x = static_cast<double>(rng.next() >> 63);
    else if (isInteger(elem))
      x = static_cast<double>(rng.below(16));
    else if (isGateName(param.name))
      x = rng.uniformOpen();
    else
      x = rng.normal();
    if (elem == ElemType::F32)
      x = static_cast<float>(x);
  }
}

/// Whether an .npy dtype can be the value of a parameter of type `elem`.
static bool acceptsDType(ElemType elem, npy::DType dtype) {
  if (elem == ElemType::I1)
    return dtype == npy::DType::Bool;
  if (isInteger(elem))
    return dtype == npy::DType::I32 || dtype == npy::DType::I64;
  return dtype == npy::DType::F32 || dtype == npy::DType::F64;
}

static const char *expectedDTypes(ElemType elem) {
  if (elem == ElemType::I1)
    return "'|b1'";
  if (isInteger(elem))
    return "'<i4' or '<i8'";
  return "'<f4' or '<f8'";
}

/// Binds the entry's size symbols (from --set, then from the shapes of the
/// --input arrays), checks every given array against its parameter's type
/// and gives every parameter its value. Returns an exit code.
static int prepareArgs(const Invocation &inv, llvm::StringRef entry,
                       const std::vector<std::string> &constants,
                       std::vector<RunParam> &params) {
  // The size symbols of the entry.
  llvm::StringSet<> symbols;
  for (const RunParam &param : params)
    for (const DimExpr &dim : param.type.getShape())
      for (const std::string &symbol : dim.getSymbols())
        symbols.insert(symbol);

  std::map<std::string, SizeBinding> sizes;
  for (const std::string &name : inv.setNames) {
    if (!symbols.contains(name)) {
      if (llvm::is_contained(constants, name))
        continue;
      return usageError("--set " + name + ": '" + name +
                        "' is neither a constant nor a size of '" + entry +
                        "'");
    }
    const ConstValue &value = inv.checkOptions.overrides.at(name);
    if (!value.isInt || value.intValue < 0)
      return usageError("--set " + name + "=" + value.str() + ": the size '" +
                        name + "' must be a non-negative integer");
    sizes[name] = {value.intValue, "--set " + name + "=" + value.str()};
  }

  // Read the given arrays and bind the symbols their shapes show.
  for (RunParam &param : params) {
    if (!param.file)
      continue;
    std::string error;
    if (!npy::readFile(*param.file, param.array, error))
      return inputError("input '" + param.name + "': " + error);
    ElemType elem = param.type.getElemType();
    std::string shape = npy::shapeToString(param.array.shape);
    std::string what = "input '" + param.name + "': the array in '" +
                       *param.file + "' (shape " + shape + ", dtype '" +
                       npy::getDescr(param.array.dtype) + "')";
    if (!acceptsDType(elem, param.array.dtype))
      return inputError(what + " does not fit '" + param.name + ": " +
                        param.type.str() + "': expected dtype " +
                        expectedDTypes(elem));
    if (param.array.shape.size() != param.type.getRank())
      return inputError(what + " does not fit '" + param.name + ": " +
                        param.type.str() + "': expected rank " +
                        llvm::Twine(param.type.getRank()));
    for (size_t d = 0; d < param.type.getRank(); ++d) {
      std::string symbol = getSoleSymbol(param.type.getShape()[d]);
      if (symbol.empty())
        continue;
      int64_t extent = param.array.shape[d];
      auto [it, inserted] = sizes.try_emplace(
          symbol, SizeBinding{extent, "input '" + param.name + "' (shape " +
                                          shape + ")"});
      if (!inserted && it->second.value != extent)
        return inputError(
            what + " gives " + symbol + " = " + llvm::Twine(extent) + " in '" +
            param.name + ": " + param.type.str() + "', but " + symbol + " = " +
            llvm::Twine(it->second.value) + " from " + it->second.origin);
    }
  }

  // Every dimension must now have a value.
  std::map<std::string, DimExpr> bindings;
  for (const auto &[name, binding] : sizes)
    bindings[name] = DimExpr::constant(binding.value);
  for (RunParam &param : params) {
    std::vector<int64_t> shape;
    for (const DimExpr &dim : param.type.getShape()) {
      std::optional<int64_t> extent = dim.substitute(bindings).getConstant();
      if (!extent) {
        for (const std::string &symbol : dim.getSymbols())
          if (!sizes.count(symbol))
            return usageError("no value for the size '" + symbol + "' of '" +
                              param.name + ": " + param.type.str() +
                              "' (use --set " + symbol +
                              "=... or give an input)");
        return inputError("the extent '" + dim.str() + "' of '" + param.name +
                          "' is not an integer");
      }
      if (*extent < 0)
        return inputError("the extent " + dim.str() + " of '" + param.name +
                          "' is " + llvm::Twine(*extent) +
                          ", below zero, with these sizes");
      shape.push_back(*extent);
    }
    param.value.kind = kindOf(param.type.getElemType());
    if (param.file) {
      if (param.array.shape != shape)
        return inputError("input '" + param.name + "': the shape " +
                          npy::shapeToString(param.array.shape) + " of '" +
                          *param.file + "' does not match '" + param.name +
                          ": " + param.type.str() +
                          "' = " + npy::shapeToString(shape));
      param.value.shape = shape;
      param.value.data = std::move(param.array.data);
      if (param.type.getElemType() == ElemType::I32)
        for (double x : param.value.data)
          if (x < -2147483648.0 || x > 2147483647.0)
            return inputError("input '" + param.name + "': the value " +
                              llvm::Twine(static_cast<int64_t>(x)) + " in '" +
                              *param.file + "' does not fit i32");
      continue;
    }
    param.value.shape = shape;
    drawRandom(param, inv.seed);
  }
  return kExitSuccess;
}

/// Runs `attn-differentiate` when `ir` holds an attn.grad.
static int differentiate(mlir::ModuleOp ir) {
  mlir::Operation *grad = nullptr;
  ir.walk([&](mlir::Operation *op) {
    if (op->getName().getStringRef() != "attn.grad")
      return mlir::WalkResult::advance();
    grad = op;
    return mlir::WalkResult::interrupt();
  });
  if (!grad)
    return kExitSuccess;
  mlir::PassManager pm(ir.getContext());
  pm.addPass(mlir::attnc::createAttnDifferentiatePass());
  if (mlir::failed(pm.run(ir)))
    return kExitInputError;
  return kExitSuccess;
}

/// The file names of the results: the returned names of a fn, `output` for
/// an arch, `resultI` for an expression or a repeated name.
static std::vector<std::string> getResultNames(const Decl *entry,
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

/// `NAME: shape [2, 3] mean 0.5 max_abs 1.25`.
static void printSummary(llvm::raw_ostream &os, llvm::StringRef name,
                         const interp::Tensor &t) {
  double sum = 0, maxAbs = 0;
  for (double x : t.data) {
    sum += x;
    // NaN propagates into max_abs as it does into the mean.
    if (std::isnan(x) || std::fabs(x) > maxAbs)
      maxAbs = std::isnan(maxAbs) ? maxAbs : std::fabs(x);
  }
  double mean = t.data.empty() ? std::nan("") : sum / t.data.size();
  os << name << ": shape " << npy::shapeToString(t.shape) << " mean "
     << llvm::format("%.6g", mean) << " max_abs "
     << llvm::format("%.6g", maxAbs) << "\n";
}

static int writeResult(const std::string &path, const interp::Tensor &t) {
  npy::Array array;
  array.dtype = t.kind == interp::ElemKind::Float ? npy::DType::F64
                : t.kind == interp::ElemKind::Int ? npy::DType::I64
                                                  : npy::DType::Bool;
  array.shape = t.shape;
  array.data = t.data;
  std::string bytes, error;
  if (!npy::encode(array, bytes, error))
    return inputError("cannot write '" + path + "': " + error);
  llvm::Error err = llvm::writeToOutput(path, [&](llvm::raw_ostream &os) {
    os << bytes;
    return llvm::Error::success();
  });
  if (err)
    return inputError("cannot write '" + path +
                      "': " + llvm::toString(std::move(err)));
  return kExitSuccess;
}

static int runRun(const Invocation &inv) {
  std::vector<Input> inputs;
  if (int rc = runFrontend(inv, inputs))
    return rc;
  const Module &module = *inputs.front().module;

  // The entry: --entry NAME, else the only fn or arch of FILE.
  std::vector<const Decl *> entries = getEntries(module);
  std::vector<std::string> entryNames;
  for (const Decl *decl : entries)
    entryNames.push_back(decl->getName());
  const Decl *entry = nullptr;
  if (inv.entry) {
    for (const DeclPtr &decl : module.decls)
      if ((llvm::isa<FnDecl>(decl.get()) || llvm::isa<ArchDecl>(decl.get())) &&
          decl->getName() == *inv.entry)
        entry = decl.get();
    if (!entry)
      return usageError("--entry " + *inv.entry + ": no fn or arch named '" +
                        *inv.entry + "' in " + inv.files.front() +
                        (entryNames.empty()
                             ? std::string()
                             : " (entries: " + joinQuoted(entryNames) + ")"));
  } else if (entries.size() == 1) {
    entry = entries.front();
  } else if (entries.empty()) {
    return usageError(inv.files.front() + " defines no fn or arch to run");
  } else {
    return usageError(inv.files.front() +
                      " defines several fns and archs: choose one with "
                      "--entry NAME (entries: " +
                      joinQuoted(entryNames) + ")");
  }
  const std::vector<Param> &sourceParams =
      llvm::isa<FnDecl>(entry) ? llvm::cast<FnDecl>(entry)->params
                               : llvm::cast<ArchDecl>(entry)->params;
  std::vector<std::string> constants = getOverridableConstants(module);

  return withMLIR(module, [&](mlir::ModuleOp ir) -> int {
    auto func = ir.lookupSymbol<mlir::func::FuncOp>(entry->getName());
    if (!func)
      return inputError("internal error: no func.func @" + entry->getName() +
                        " in the IR of " + inv.files.front());

    // The func's arguments: the source parameters, then an arch's weights.
    std::vector<RunParam> params;
    for (const Param &param : sourceParams) {
      if (!param.checkedType || !param.checkedType->isTensor())
        return inputError("not supported yet: running '" + entry->getName() +
                          "', whose parameter '" + param.name + "' is a group");
      params.push_back({param.name, *param.checkedType, {}, {}, {}});
    }
    for (unsigned i = params.size(); i < func.getNumArguments(); ++i) {
      auto path = func.getArgAttrOfType<mlir::StringAttr>(i, "attn.param");
      auto type =
          mlir::dyn_cast<mlir::RankedTensorType>(func.getArgumentTypes()[i]);
      if (!path || !type || !type.hasStaticShape())
        return inputError("internal error: argument " + llvm::Twine(i) +
                          " of @" + entry->getName() +
                          " is neither a parameter nor a weight");
      std::vector<DimExpr> shape;
      for (int64_t extent : type.getShape())
        shape.push_back(DimExpr::constant(extent));
      params.push_back(
          {path.getValue().str(),
           ValueType::tensor(elemTypeOf(type.getElementType()), shape),
           {},
           {},
           {}});
    }
    if (params.size() != func.getNumArguments())
      return inputError("internal error: @" + entry->getName() + " has " +
                        llvm::Twine(func.getNumArguments()) +
                        " arguments for " + llvm::Twine(params.size()) +
                        " parameters");

    for (const auto &[name, file] : inv.inputs) {
      auto it = llvm::find_if(
          params, [&](const RunParam &p) { return p.name == name; });
      if (it == params.end()) {
        std::vector<std::string> names;
        for (const RunParam &param : params)
          names.push_back(param.name);
        return usageError("--input " + name + ": '" + entry->getName() +
                          "' has no parameter named '" + name +
                          "' (parameters: " + joinQuoted(names) + ")");
      }
      it->file = file;
    }
    if (int rc = prepareArgs(inv, entry->getName(), constants, params))
      return rc;

    if (int rc = differentiate(ir))
      return rc;
    // The pass may have replaced the function.
    func = ir.lookupSymbol<mlir::func::FuncOp>(entry->getName());
    if (!func)
      return inputError("internal error: attn-differentiate removed @" +
                        entry->getName());

    std::vector<interp::Tensor> args;
    for (RunParam &param : params)
      args.push_back(std::move(param.value));
    mlir::FailureOr<std::vector<interp::Tensor>> results =
        interp::run(func, args);
    if (mlir::failed(results))
      return kExitInputError;

    if (std::error_code ec = llvm::sys::fs::create_directories(inv.outputDir))
      return inputError("cannot create the output directory '" + inv.outputDir +
                        "': " + ec.message());
    std::vector<std::string> names = getResultNames(entry, results->size());
    for (size_t i = 0; i < results->size(); ++i) {
      llvm::SmallString<256> path(inv.outputDir);
      llvm::sys::path::append(path, names[i] + ".npy");
      if (int rc = writeResult(std::string(path), (*results)[i]))
        return rc;
      printSummary(llvm::outs(), names[i], (*results)[i]);
    }
    llvm::outs().flush();
    return kExitSuccess;
  });
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  // A crash is a bug in attnc, not in LLVM: say where to report it.
  llvm::setBugReportMsg("PLEASE report this attnc crash to the attnc "
                        "maintainers, with the input and the stack dump.\n");
  llvm::SmallVector<const char *> args(argv + 1, argv + argc);
  ParseResult parsed = parseArgs(args);
  if (!parsed.invocation)
    return parsed.exitCode;
  const Invocation &inv = *parsed.invocation;
  switch (inv.command) {
  case Invocation::Command::Check:
    return runCheck(inv);
  case Invocation::Command::Emit:
    return runEmit(inv);
  case Invocation::Command::Run:
    return runRun(inv);
  }
  return kExitUsageError;
}
