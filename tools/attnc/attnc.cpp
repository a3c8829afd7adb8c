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

#include "Driver.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/PrettyStackTrace.h"

using namespace attnc::driver;

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
  setShowRemarks(inv.remarks);
  switch (inv.command) {
  case Invocation::Command::Check:
    return runCheck(inv);
  case Invocation::Command::Emit:
    return runEmit(inv);
  case Invocation::Command::Run:
    return runRun(inv);
  case Invocation::Command::Build:
    return runBuild(inv);
  case Invocation::Command::Bench:
    return runBench(inv);
  }
  return kExitUsageError;
}
