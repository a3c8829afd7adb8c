//===- Driver.h - The attnc driver's shared pieces --------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// What the commands of `attnc` share: the exit codes, the parsed command
/// line, and the front end (parse, check, lower to MLIR) every command runs.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_TOOLS_ATTNC_DRIVER_H
#define ATTNC_TOOLS_ATTNC_DRIVER_H

#include "attnc/Frontend/AST.h"
#include "attnc/Frontend/Diagnostic.h"
#include "attnc/Frontend/Sema.h"

#include "mlir/IR/BuiltinOps.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/Twine.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace attnc::driver {

/// The process exit codes (DESIGN.md §9).
enum ExitCode : int {
  kExitSuccess = 0,
  kExitInputError = 1,
  kExitUsageError = 2,
};

/// Everything the command line asked for.
struct Invocation {
  enum class Command { Check, Emit, Run, Build, Bench };
  Command command = Command::Check;
  std::vector<std::string> files;
  CheckOptions checkOptions;
  /// `--set` names in the order given, for the "unknown constant" check.
  std::vector<std::string> setNames;
  bool printShapes = false;
  /// `check --lower`: also lower each entry as `build` does, short of code
  /// generation.
  bool lower = false;
  bool debugInfo = false;
  /// `--remarks`: print the remarks of the lowering (why a scan has no
  /// chunkwise-parallel form); dropped otherwise.
  bool remarks = false;
  std::optional<std::string> emit;
  std::optional<std::string> output;
  /// `run`: the fn or arch to run, the back end, `--input NAME=FILE` in the
  /// order given, the seed of the random inputs and where results go.
  std::optional<std::string> entry;
  std::optional<std::string> backend;
  std::vector<std::pair<std::string, std::string>> inputs;
  uint64_t seed = 0;
  std::string outputDir = ".";
  /// `build`, `run --backend=cpu`, `bench`: the target, the LLVM CPU name
  /// ("native": the host), `--compare=interp`, and bench's thread count
  /// (0: the OpenMP default), repetitions and JSON output.
  std::optional<std::string> target;
  std::string cpu = "native";
  std::optional<std::string> compare;
  /// `--tolerance`: the largest max_rel_err --compare accepts (exit 1 above).
  std::optional<double> tolerance;
  unsigned threads = 0;
  unsigned repeat = 5;
  bool json = false;
  /// `--timing`: print how long each compilation step took, on stderr.
  bool timing = false;
  /// `--scan-chunk`: time steps per chunk of the chunkwise-parallel scans
  /// (0: `off`, every scan step by step).
  int64_t scanChunk = 64;
};

/// Parse result: either an invocation to run or an exit code (help and
/// version print and exit 0; usage errors exit 2).
struct ParseResult {
  std::optional<Invocation> invocation;
  int exitCode = kExitSuccess;
};

/// Parses the command line. Options may come before or after the FILEs;
/// `--` ends the options.
ParseResult parseArgs(llvm::ArrayRef<const char *> args);

/// Reports a usage error and returns the usage exit code (2).
int usageError(const llvm::Twine &message);
/// Reports an error in the input and returns its exit code (1).
int inputError(const llvm::Twine &message);

/// One input file on its way through the front end.
struct Input {
  std::string path;
  std::unique_ptr<DiagnosticEngine> diags;
  std::unique_ptr<Module> module;
  bool ok = false;
};

/// Parses every input, validates the `--set` names against the constants
/// the parsed files define (for `run`, also against the size symbols of the
/// parameters), then checks each one. Returns an exit code.
int runFrontend(const Invocation &inv, std::vector<Input> &inputs);

/// Lowers a checked module to MLIR and hands it to `use`, whose exit code it
/// returns. Errors, of the lowering and of `use`, are printed like the front
/// end's, with the source line and a caret, without the op they are
/// attached to (unless ATTNC_DEBUG_IR is set).
int withMLIR(Module &module, llvm::function_ref<int(mlir::ModuleOp)> use);

/// Whether withMLIR prints remarks (`--remarks`); off by default.
void setShowRemarks(bool show);

/// withMLIR, lowering only the fns and archs `roots` (all of them when
/// empty) and what they use: the fns they call, the fns and blocks an arch
/// uses as layers. A definition elsewhere that does not lower is then no
/// obstacle. `module` is whole again before `use` runs. With `reported`, a
/// diagnostic whose location and message it holds is not printed again,
/// and each printed one is added.
int withMLIR(Module &module, llvm::ArrayRef<const Decl *> roots,
             llvm::function_ref<int(mlir::ModuleOp)> use,
             std::set<std::string> *reported = nullptr);

int runCheck(const Invocation &inv);
int runEmit(const Invocation &inv);
int runRun(const Invocation &inv);
int runBuild(const Invocation &inv);
int runBench(const Invocation &inv);

} // namespace attnc::driver

#endif // ATTNC_TOOLS_ATTNC_DRIVER_H
