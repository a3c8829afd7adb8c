//===- attnc.cpp - The attnc compiler driver --------------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The `attnc` command line: a thin layer over the front-end libraries
/// (parseFile, checkModule, printAST, printSignatures, mlirGen). See
/// DESIGN.md §9.
///
///   attnc check [--set NAME=VALUE]... [--print-shapes] FILE...
///   attnc emit --emit=ast|mlir [--set NAME=VALUE]... [--debug-info] [-o OUT]
///              FILE
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

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/PrettyStackTrace.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
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

/// Everything the command line asked for.
struct Invocation {
  enum class Command { Check, Emit };
  Command command = Command::Check;
  std::vector<std::string> files;
  CheckOptions checkOptions;
  /// `--set` names in the order given, for the "unknown constant" check.
  std::vector<std::string> setNames;
  bool printShapes = false;
  bool debugInfo = false;
  std::optional<std::string> emit;
  std::optional<std::string> output;
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
  attnc help | --help | -h
  attnc --version

COMMANDS:
  check         Parse and check each FILE (and the files it imports).
                Diagnostics go to stderr as 'file:line:col: error: message'.
  emit          Parse and check one FILE, then print it at the stage named by
                --emit.
  help          Print this help.

OPTIONS:
  --set NAME=VALUE
                Override every compile-time constant named NAME: each
                '<NAME = default>' parameter of a fn, block or arch, and a
                top-level 'const NAME = ...'. VALUE is an integer (64, -1) or
                a float (0.5, 1e-5). May be repeated; the last one for a NAME
                wins. A NAME that no FILE defines is a usage error.
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
  -h, --help    Print this help.
  --version     Print the version.

EXIT STATUS:
  0  success
  1  an error in an input file, or a file that cannot be read or written
  2  usage error: unknown command or option, missing value or FILE, bad --set
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
  else if (command.starts_with("-"))
    return fail("expected a command before '" + command + "'");
  else
    return fail("unknown command '" + command + "'");
  bool isEmit = inv.command == Invocation::Command::Emit;

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
    } else if (!isEmit && arg == "--print-shapes") {
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

/// Parses every input, validates the `--set` names against the constants
/// the parsed files define, then checks each one. Returns an exit code.
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
    for (const std::string &name : inv.setNames) {
      if (defined.contains(name))
        continue;
      std::string where;
      for (const Input &input : inputs)
        where += (where.empty() ? "" : ", ") + input.path;
      return usageError("--set " + name + ": no constant named '" + name +
                        "' in " + where);
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

/// Lowers a checked module to MLIR and prints it into `text`. Errors are
/// printed like the front end's, with the source line and a caret.
static int emitMLIR(const Module &module, bool debugInfo, std::string &text) {
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
  llvm::raw_string_ostream os(text);
  ir->print(os, mlir::OpPrintingFlags().enableDebugInfo(debugInfo));
  // As mlir-opt prints it, so that emitted IR and attnc-opt's output of it
  // are byte for byte the same.
  os << '\n';
  return kExitSuccess;
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
  }
  return kExitUsageError;
}
