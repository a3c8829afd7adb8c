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
/// its C header, next to it. Every entry whose scans can resume also gets
/// its step entry NAME_step (attnc/Transforms/StepEntry.h); --entry
/// NAME_step builds that one alone. Both files are written through temporaries
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

/// The paragraph on step entries added to the header's opening comment.
static const char kStepEntryDoc[] =
    "/*\n"
    " * Step entries. NAME_step, for an entry whose recurrences (scans)\n"
    " * can resume, takes NAME's inputs plus each scan state S as S_in and\n"
    " * returns NAME's outputs plus the final states as S_out, all shaped\n"
    " * [batch..., state...]. It runs NAME from the states given instead of\n"
    " * the initial ones: called on the first N1 tokens from the initial\n"
    " * states (zeros where the source initializes them to 0) and then on\n"
    " * the next N2 tokens from the S_out it returned, it gives the outputs\n"
    " * and final states of one call on the N1 + N2 tokens; with N = 1 it\n"
    " * is one decode step. S_out may not alias S_in: decode with two\n"
    " * state buffers, swapped after every call.\n"
    " */\n";

int attnc::driver::runBuild(const Invocation &inv) {
  std::vector<Input> inputs;
  if (int rc = runFrontend(inv, inputs))
    return rc;
  Module &module = *inputs.front().module;

  // --entry NAME builds NAME; --entry NAME_step, NAME's step entry; no
  // --entry, every entry and the step entry of each that has one.
  std::vector<const Decl *> entries;
  bool onlyStep = false;
  for (const Decl *decl : getEntries(module))
    if (!inv.entry || decl->getName() == *inv.entry)
      entries.push_back(decl);
  if (entries.empty() && inv.entry &&
      llvm::StringRef(*inv.entry).ends_with("_step"))
    for (const Decl *decl : getEntries(module))
      if (decl->getName() + "_step" == *inv.entry) {
        entries.push_back(decl);
        onlyStep = true;
      }
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

  // --entry: only that entry and what it uses are lowered.
  std::vector<const Decl *> roots;
  if (inv.entry)
    roots = entries;
  return withMLIR(module, roots, [&](mlir::ModuleOp ir) -> int {
    std::vector<cpu::EntrySignature> sigs;
    bool anyStep = false;
    for (const Decl *entry : entries) {
      if (!onlyStep) {
        cpu::EntrySignature sig;
        if (int rc = getEntrySignature(entry, ir, sig))
          return rc;
        sigs.push_back(std::move(sig));
        if (inv.entry)
          continue;
      }
      // The step entry: an error when --entry asks for it, a note when
      // the entry has a scan that cannot resume.
      std::string reason;
      std::optional<EntryPoint> step = addStepEntry(entry, ir, reason);
      if (!step) {
        if (onlyStep)
          return inputError("--entry " + *inv.entry + ": " + reason);
        if (hasRecurrence(entry, ir))
          llvm::errs() << "attnc: note: no " << entry->getName()
                       << "_step: " << reason << "\n";
        continue;
      }
      cpu::EntrySignature sig;
      if (int rc = getEntrySignature(*step, ir, sig))
        return rc;
      sigs.push_back(std::move(sig));
      anyStep = true;
    }
    if (int rc = compileForCPU(inv, ir, sigs, *inv.output))
      return rc;
    std::string header = cpu::writeHeader(sigs, name);
    // The step entries' paragraph goes after the opening comment.
    size_t includes = header.find("#ifndef ");
    if (anyStep && includes != std::string::npos)
      header.insert(includes, kStepEntryDoc);
    llvm::Error err =
        llvm::writeToOutput(headerPath, [&](llvm::raw_ostream &os) {
          os << header;
          return llvm::Error::success();
        });
    if (err)
      return inputError("cannot write '" + headerPath +
                        "': " + llvm::toString(std::move(err)));
    // NAME.json: the same entries for callers that do not parse C.
    llvm::SmallString<256> descriptionPath(headerPath);
    llvm::sys::path::replace_extension(descriptionPath, ".json");
    err = llvm::writeToOutput(descriptionPath, [&](llvm::raw_ostream &os) {
      os << cpu::writeDescription(sigs, name);
      return llvm::Error::success();
    });
    if (err)
      return inputError("cannot write '" + descriptionPath +
                        "': " + llvm::toString(std::move(err)));
    return kExitSuccess;
  });
}
