//===- Options.cpp - The attnc command line ---------------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The usage text and the hand-written argument parser (llvm::cl exits with
/// 1 on usage errors; DESIGN.md §9 asks for 2).
///
//===----------------------------------------------------------------------===//

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

using namespace attnc;
using namespace attnc::driver;

#ifndef ATTNC_VERSION
#define ATTNC_VERSION "unknown"
#endif

namespace {

/// The stages this build can emit; the planned ones are reported as
/// "not supported yet".
constexpr llvm::StringLiteral kSupportedEmits[] = {"ast", "mlir"};
constexpr llvm::StringLiteral kSupportedEmitList = "ast, mlir";
constexpr llvm::StringLiteral kPlannedEmits[] = {"linalg", "llvm", "ptx"};

/// The back ends `run` can use; the planned ones are "not supported yet".
constexpr llvm::StringLiteral kSupportedBackends[] = {"interp", "cpu"};
constexpr llvm::StringLiteral kSupportedBackendList = "interp, cpu";
constexpr llvm::StringLiteral kPlannedBackends[] = {"gpu", "cuda"};
} // namespace

static constexpr llvm::StringLiteral kUsage =
    R"(OVERVIEW: attnc - a compiler for attention and sequence models

USAGE:
  attnc check [--set NAME=VALUE]... [--print-shapes] [--lower] [--remarks]
              FILE...
  attnc emit --emit=ast|mlir [--set NAME=VALUE]... [--debug-info]
             [--remarks] [-o OUT] FILE
  attnc run --backend=interp|cpu [--entry NAME] [--set NAME=VALUE]...
            [--input NAME=FILE.npy]... [--seed S] [--output-dir DIR]
            [--compare=interp [--tolerance T]] [--cpu=CPU] [--scan-chunk=C|off]
            [--timing] FILE
  attnc build --target=cpu -o libNAME.so [--entry NAME] [--set NAME=VALUE]...
              [--cpu=CPU] [--scan-chunk=C|off] [--timing] FILE
  attnc bench [--entry NAME] [--set NAME=VALUE]... [--threads T]
              [--repeat R] [--json] [--seed S] [--cpu=CPU]
              [--scan-chunk=C|off] [--timing] FILE
  attnc help | --help | -h
  attnc --version

COMMANDS:
  check         Parse and check each FILE (and the files it imports), and
                lower each fn and arch to MLIR as 'emit --emit=mlir' does,
                so what check accepts lowers. Diagnostics go to stderr as
                'file:line:col: error: message'. With --lower, also lower
                it as 'build' does, short of code generation.
  emit          Parse and check one FILE, then print it at the stage named by
                --emit.
  run           Parse, check and lower one FILE as 'emit --emit=mlir' does,
                then run one fn or arch (or each, see --entry) on .npy or
                seeded random inputs and write each result
                as a .npy file. Prints one line per result on stdout:
                  NAME: shape [D0, D1, ...] mean M max_abs A
                (M and A in C's %.6g; an empty result has mean nan).
  build         Compile every fn and arch of FILE (or the --entry one) for
                the CPU into the shared library libNAME.so, and write its C
                header NAME.h next to it: one function per entry taking
                pointers to dense row-major tensors and the run-time sizes,
                and a packed form. See the header's comments. An entry NAME
                whose scans can resume also gets NAME_step: NAME's inputs
                plus each scan state S as S_in, NAME's outputs plus the
                final states as S_out (one call per token decodes); a note
                says why an entry with a scan has none.
  bench         Compile one entry (as 'run --backend=cpu'), run it once to
                warm up, then R times on seeded inputs, and print the median
                and minimum time and the peak RSS (--json: one JSON object).
  help          Print this help.

OPTIONS:
  --set NAME=VALUE
                Override every compile-time constant named NAME: each
                '<NAME = default>' parameter of a fn, block or arch, and a
                top-level 'const NAME = ...'. VALUE is an integer (64, -1) or
                a float (0.5, 1e-5). May be repeated; the last one for a NAME
                wins. A NAME that no FILE defines is a usage error.
                (run, bench) NAME may also be a size symbol of the
                parameters (the 'N' of 'x: f32[B, N, 64]'): VALUE, a
                non-negative integer, is its extent in every entry run that
                has that size; one that is neither a constant nor a size of
                any entry run is a usage error. A size that neither
                --set nor an --input gives is 8, rounded up to a multiple of
                every constant the entry divides it by (N in 'N / BS'); a
                note on stderr lists these defaults.
  --print-shapes
                (check) Print the inferred signature of every definition and
                the shapes of the tensors it defines on stdout. With several
                FILEs, each file's output follows a '// FILE' line.
  --lower       (check) After checking, lower every fn and arch of FILE
                to MLIR and through the attn lowering passes of 'build' (no
                bufferization or code generation), and report what is not
                supported yet at its source position; exit 1 if anything
                is. Each entry is lowered with what it uses, so every entry
                is reported, each diagnostic once.
  --remarks     (check, emit) Also print remarks on stderr, at the source:
                why a scan has no chunkwise-parallel form (its update or
                emit is not linear in the state, and which part).
  --emit=ast    (emit) Print the checked syntax tree, one node per line with
                its position and type.
  --emit=mlir   (emit) Print the program as MLIR: one func.func per fn and
                per arch, in the attn dialect and upstream linalg, tensor,
                scf, arith and math. Constructs that are not lowered yet are
                reported as 'not supported yet'.
  --debug-info  (emit=mlir) Also print each op's location: the
                file:line:col of the source construct it comes from.
  -o OUT        (emit) Write to OUT instead of stdout. (build) The library,
                libNAME.so. OUT is written to a temporary file that is
                renamed into place, and is left untouched when there are
                errors.
  --backend=interp|cpu
                (run) 'interp': the float64 reference interpreter, every op
                in double precision, one at a time. 'cpu': compile the entry
                as 'build' does into a temporary library and call it (inputs
                rounded to the parameters' element types).
  --compare=interp
                (run --backend=cpu) Also run the interpreter on the same
                inputs and print, per result, 'NAME: max_abs_err E
                max_rel_err R' (R relative to the largest magnitude).
  --tolerance T (run --compare=interp) Exit with 1 when a max_rel_err
                exceeds T.
  --target=cpu  (build) The target; 'cuda' is not supported yet.
  --cpu=CPU     (run, build, bench) The LLVM CPU to compile for: 'native'
                (default, the host with its features), 'haswell',
                'x86-64-v3', ...
  --scan-chunk=C|off
                (run, build, bench) Time steps per chunk of the
                chunkwise-parallel form of linear scans (a multiple of 16 in
                [16, 256]; default 64); 'off' runs every scan step by step.
  --timing      (run, build, bench) Print on stderr how long each step of
                the CPU compilation took: every MLIR pass, the translation
                to LLVM IR, LLVM's optimization, code generation and the
                link.
  --threads T   (bench) OpenMP threads (default: the runtime's, one per
                core).
  --repeat R    (bench) Timed runs (default 5).
  --json        (bench) Print one JSON object per entry.
  --entry NAME  (run) The fn or arch to run. Without it, every fn and arch
                of FILE runs, in order, and each result is named
                ENTRY.NAME; --input then needs --entry. NAME_step runs the
                step entry of NAME (see build); an error says why when
                NAME has none. (run, build, bench) Only NAME and what it
                uses (the fns it calls, the fns and blocks it uses as
                layers) are lowered, so a definition elsewhere in FILE that
                does not lower yet is no obstacle.
  --input NAME=FILE.npy
                (run) The value of the parameter NAME (for an arch's weights,
                its attn.param path, as 'emit --emit=mlir' prints it). FILE is
                a C-order .npy array of dtype <f4 or <f8 for float
                parameters, <i4 or <i8 for integer ones and |b1 for i1; a
                0-d array for a scalar parameter ('g: f32'). The
                extents of the entry's size symbols are read from the shapes.
  --seed S      (run) Seed of the inputs not given by --input (default 0).
                Each one is drawn from its own SplitMix64 stream, seeded with
                S xor the 64-bit FNV-1a hash of its NAME, so adding an
                --input does not change the others: float tensors are
                standard normal (Box-Muller, rounded to float32 for f32),
                integer tensors (ids) uniform in [0, E) where E is the
                smallest extent of any parameter of the entry, at most 16,
                i1 tensors fair coins,
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

ENVIRONMENT:
  ATTNC_DEBUG_IR
                When set, diagnostics from the MLIR stages also print the op
                they are attached to ('see current operation'), and the CPU
                compilation prints the IR after every pass on stderr.

EXIT STATUS:
  0  success
  1  an error in an input file, or a file that cannot be read or written;
     (run --backend=cpu, bench) a failed run-time check of the compiled
     code (an index out of range, ...): no result is written
  2  usage error: unknown command or option, missing value or FILE, bad --set,
     (run) unknown --entry or --input NAME, a size without a value
)";

static void printUsage(llvm::raw_ostream &os) { os << kUsage; }

static void printVersion(llvm::raw_ostream &os) {
  os << "attnc version " << ATTNC_VERSION << "\n";
  os << "  LLVM version " << LLVM_VERSION_STRING << "\n";
}

/// Reports a usage error and returns the usage exit code.
int attnc::driver::usageError(const llvm::Twine &message) {
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

ParseResult attnc::driver::parseArgs(llvm::ArrayRef<const char *> args) {
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
  else if (command == "build")
    inv.command = Invocation::Command::Build;
  else if (command == "bench")
    inv.command = Invocation::Command::Bench;
  else if (command.starts_with("-"))
    return fail("expected a command before '" + command + "'");
  else
    return fail("unknown command '" + command + "'");
  bool isEmit = inv.command == Invocation::Command::Emit;
  bool isRun = inv.command == Invocation::Command::Run;
  bool isBuild = inv.command == Invocation::Command::Build;
  bool isBench = inv.command == Invocation::Command::Bench;
  // Commands that compile for the CPU, and those that pick entries.
  bool compiles = isRun || isBuild || isBench;

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
    } else if (compiles && valueOption("--entry")) {
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
    } else if ((isRun || isBench) && valueOption("--seed")) {
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
    } else if (inv.command == Invocation::Command::Check && arg == "--lower") {
      inv.lower = true;
    } else if (isEmit && arg == "--debug-info") {
      inv.debugInfo = true;
    } else if ((isEmit || inv.command == Invocation::Command::Check) &&
               arg == "--remarks") {
      inv.remarks = true;
    } else if (isEmit && valueOption("--emit")) {
      if (missing)
        return fail("missing value after '--emit'");
      inv.emit = value.str();
    } else if (compiles && arg == "--timing") {
      inv.timing = true;
    } else if (compiles && valueOption("--scan-chunk")) {
      unsigned parsed = 0;
      if (value == "off")
        inv.scanChunk = 0;
      else if (missing || value.getAsInteger(10, parsed) || parsed < 16 ||
               parsed > 256 || parsed % 16 != 0)
        return fail("--scan-chunk=" + value +
                    ": expected 'off' or a multiple of 16 in [16, 256]");
      else
        inv.scanChunk = parsed;
    } else if (compiles && valueOption("--cpu")) {
      if (missing || value.empty())
        return fail("missing value after '--cpu'");
      inv.cpu = value.str();
    } else if (isBuild && valueOption("--target")) {
      if (missing || value.empty())
        return fail("missing value after '--target'");
      inv.target = value.str();
    } else if (isRun && valueOption("--compare")) {
      if (missing || value.empty())
        return fail("missing value after '--compare'");
      if (value != "interp")
        return fail("--compare=" + value + ": only 'interp' is supported");
      inv.compare = value.str();
    } else if (isBench &&
               (valueOption("--threads") || valueOption("--repeat"))) {
      bool threads = arg.starts_with("--threads");
      unsigned parsed = 0;
      if (missing || value.getAsInteger(10, parsed) || parsed == 0 ||
          parsed > 4096)
        return fail(llvm::Twine(threads ? "--threads" : "--repeat") +
                    " needs a positive integer");
      (threads ? inv.threads : inv.repeat) = parsed;
    } else if (isRun && valueOption("--tolerance")) {
      double tolerance = 0;
      if (missing || value.getAsDouble(tolerance) || !(tolerance >= 0))
        return fail("--tolerance needs a non-negative number");
      inv.tolerance = tolerance;
    } else if (isBench && arg == "--json") {
      inv.json = true;
    } else if ((isEmit || isBuild) && valueOption("-o")) {
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

  if (isBuild) {
    if (!inv.target)
      return fail("'build' needs --target=cpu");
    if (*inv.target == "cuda")
      return fail("not supported yet: --target=cuda (this build targets: cpu)");
    if (*inv.target != "cpu")
      return fail("unknown --target value '" + *inv.target +
                  "' (this build targets: cpu)");
    if (!inv.output)
      return fail("'build' needs -o libNAME.so");
    if (!llvm::StringRef(*inv.output).ends_with(".so"))
      return fail("-o " + *inv.output + ": the library must be named *.so");
    if (inv.files.size() > 1)
      return fail("'build' takes one FILE, got " +
                  llvm::Twine(inv.files.size()));
  }
  if (isBench && inv.files.size() > 1)
    return fail("'bench' takes one FILE, got " + llvm::Twine(inv.files.size()));
  if (inv.compare && inv.backend != "cpu")
    return fail("--compare=interp needs --backend=cpu");
  if (inv.tolerance && !inv.compare)
    return fail("--tolerance needs --compare=interp");

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
