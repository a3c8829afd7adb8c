//===- CheckSource.cpp - Fuzz the parser and the checker ------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// libFuzzer target: source text -> parse -> check, as `attnc check` runs
/// them (minus MLIRGen, which fuzz/EmitMLIR.cpp covers), then the printers of
/// `--print-shapes` and `--emit=ast`. Any input may be rejected with
/// diagnostics; a crash, a sanitizer report, a hang or a failure without a
/// diagnostic is a finding.
///
//===----------------------------------------------------------------------===//

#include "attnc/Frontend/ASTPrinter.h"
#include "attnc/Frontend/Diagnostic.h"
#include "attnc/Frontend/Parse.h"
#include "attnc/Frontend/Sema.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  attnc::DiagnosticEngine diags([](const std::string &) {});
  std::unique_ptr<attnc::Module> module =
      attnc::parseString("fuzz.attn", text, diags);
  if (!module) {
    if (!diags.hasErrors()) {
      fprintf(stderr, "the parser failed without a diagnostic\n");
      abort();
    }
    return 0;
  }
  if (!attnc::checkModule(*module, diags)) {
    if (!diags.hasErrors()) {
      fprintf(stderr, "the checker failed without a diagnostic\n");
      abort();
    }
    return 0;
  }
  (void)attnc::printSignatures(*module);
  (void)attnc::printAST(*module);
  return 0;
}
