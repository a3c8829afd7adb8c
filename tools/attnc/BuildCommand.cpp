//===- BuildCommand.cpp - attnc build -------------------------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// `attnc build FILE --target=cpu -o libNAME.so`: compiles every entry of
/// FILE (or the one --entry names) into a shared library and writes NAME.h,
/// its C header, next to it. Both files are written through temporaries
/// renamed into place.
///
//===----------------------------------------------------------------------===//

#include "CPUBackend.h"
#include "Driver.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace attnc;
using namespace attnc::driver;
namespace cpu = mlir::attnc::cpu;

/// `libNAME.so` -> `NAME`.
static std::string getLibraryName(llvm::StringRef soPath) {
  llvm::StringRef stem = llvm::sys::path::stem(soPath);
  stem.consume_front("lib");
  return stem.str();
}

int attnc::driver::runBuild(const Invocation &inv) {
  std::vector<Input> inputs;
  if (int rc = runFrontend(inv, inputs))
    return rc;
  const Module &module = *inputs.front().module;

  std::vector<const Decl *> entries;
  for (const Decl *decl : getEntries(module))
    if (!inv.entry || decl->getName() == *inv.entry)
      entries.push_back(decl);
  if (entries.empty())
    return usageError(
        inv.entry ? "--entry " + *inv.entry +
                        ": no fn or arch of that name in " + inv.files.front()
                  : inv.files.front() + " defines no fn or arch to build");

  std::string name = getLibraryName(*inv.output);
  if (name.empty())
    return usageError("-o " + *inv.output + ": the library needs a name");
  llvm::SmallString<256> headerPath(*inv.output);
  llvm::sys::path::remove_filename(headerPath);
  llvm::sys::path::append(headerPath, name + ".h");

  return withMLIR(module, [&](mlir::ModuleOp ir) -> int {
    std::vector<cpu::EntrySignature> sigs;
    for (const Decl *entry : entries) {
      cpu::EntrySignature sig;
      if (int rc = getEntrySignature(entry, ir, sig))
        return rc;
      sigs.push_back(std::move(sig));
    }
    if (int rc = compileForCPU(inv, ir, sigs, *inv.output))
      return rc;
    std::string header = cpu::writeHeader(sigs, name);
    llvm::Error err =
        llvm::writeToOutput(headerPath, [&](llvm::raw_ostream &os) {
          os << header;
          return llvm::Error::success();
        });
    if (err)
      return inputError("cannot write '" + headerPath +
                        "': " + llvm::toString(std::move(err)));
    return kExitSuccess;
  });
}
