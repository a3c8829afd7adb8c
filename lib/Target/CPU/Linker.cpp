//===- Linker.cpp - Object file to a shared library -----------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Runs the system C compiler driver as a linker. The output is first linked
/// to a unique temporary name next to the requested path and then renamed
/// over it, so a reader never sees a half-written library.
///
//===----------------------------------------------------------------------===//

#include "attnc/Target/CPU/Linker.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

#ifndef ATTNC_OPENMP_LIB_DIR
#define ATTNC_OPENMP_LIB_DIR "/usr/lib/llvm-22/lib"
#endif

using namespace mlir;

StringRef mlir::attnc::cpu::getOpenMPRuntimeDir() {
  return ATTNC_OPENMP_LIB_DIR;
}

namespace {

/// The C compiler driver: $ATTNC_CC (a path or a name on PATH), else `cc`.
std::string findDriver(std::string &error) {
  std::string name = "cc";
  if (std::optional<std::string> env = llvm::sys::Process::GetEnv("ATTNC_CC");
      env && !env->empty())
    name = *env;
  if (name.find('/') != std::string::npos) {
    if (!llvm::sys::fs::can_execute(name)) {
      error = "ATTNC_CC='" + name + "' is not executable";
      return "";
    }
    return name;
  }
  llvm::ErrorOr<std::string> path = llvm::sys::findProgramByName(name);
  if (!path) {
    error = "cannot find the C compiler driver '" + name +
            "' on PATH (set ATTNC_CC)";
    return "";
  }
  return *path;
}

} // namespace

LogicalResult mlir::attnc::cpu::linkSharedLibrary(ArrayRef<char> object,
                                                  StringRef outputPath,
                                                  bool openmp,
                                                  std::string &error) {
  std::string driver = findDriver(error);
  if (driver.empty())
    return failure();

  // The object file.
  int objFd;
  SmallString<128> objPath;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("attnc", "o", objFd, objPath)) {
    error = "cannot create a temporary object file: " + ec.message();
    return failure();
  }
  llvm::FileRemover objRemover(objPath);
  {
    llvm::raw_fd_ostream os(objFd, /*shouldClose=*/true);
    os.write(object.data(), object.size());
    os.close();
    if (os.has_error()) {
      error =
          "cannot write " + objPath.str().str() + ": " + os.error().message();
      os.clear_error();
      return failure();
    }
  }

  // The driver's output (for the error message).
  SmallString<128> logPath;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("attnc-link", "log", logPath)) {
    error = "cannot create a temporary log file: " + ec.message();
    return failure();
  }
  llvm::FileRemover logRemover(logPath);

  // The library, under a unique name in the output's directory so that the
  // final rename stays within one file system (and is atomic).
  SmallString<128> model(outputPath);
  model += ".tmp%%%%%%";
  SmallString<128> tmpPath;
  int tmpFd;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueFile(model, tmpFd, tmpPath)) {
    error = "cannot create a temporary file next to " + outputPath.str() +
            ": " + ec.message();
    return failure();
  }
  llvm::sys::Process::SafelyCloseFileDescriptor(tmpFd);
  llvm::FileRemover tmpRemover(tmpPath);

  std::string ompDir = getOpenMPRuntimeDir().str();
  SmallVector<std::string> args = {
      driver, "-shared", "-o", tmpPath.str().str(), objPath.str().str(), "-lm"};
  if (openmp) {
    args.push_back("-L" + ompDir);
    args.push_back("-Wl,-rpath," + ompDir);
    args.push_back("-lomp");
  }
  SmallVector<StringRef> argRefs(args.begin(), args.end());
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(logPath),
                                          StringRef(logPath)};
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(driver, argRefs, /*Env=*/std::nullopt,
                                     redirects, /*SecondsToWait=*/0,
                                     /*MemoryLimit=*/0, &execError);
  if (rc != 0) {
    std::string command = llvm::join(args, " ");
    error =
        "link command failed (" +
        (execError.empty() ? "exit code " + std::to_string(rc) : execError) +
        "): " + command;
    if (llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> log =
            llvm::MemoryBuffer::getFile(logPath))
      error += "\n" + (*log)->getBuffer().str();
    return failure();
  }

  if (std::error_code ec = llvm::sys::fs::rename(tmpPath, outputPath)) {
    error = "cannot rename " + tmpPath.str().str() + " to " + outputPath.str() +
            ": " + ec.message();
    return failure();
  }
  tmpRemover.releaseFile();
  return success();
}
