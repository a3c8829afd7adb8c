//===- EmitMLIR.cpp - Fuzz the front end down to verified MLIR ------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// libFuzzer target: source text -> parse -> check -> MLIRGen -> verify, as
/// `attnc emit --emit=mlir` runs them. A program the checker accepts must
/// lower to a module that verifies: a verifier error (a diagnostic of the
/// form "'op.name' op ...") after a successful check is a finding, as is a
/// failure without a diagnostic, a crash, a sanitizer report or a hang.
/// MLIRGen's own diagnostics (unsupported constructs) are not.
///
//===----------------------------------------------------------------------===//

#include "attnc/Frontend/Diagnostic.h"
#include "attnc/Frontend/MLIRGen.h"
#include "attnc/Frontend/Parse.h"
#include "attnc/Frontend/Sema.h"
#include "attnc/InitAll.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  attnc::DiagnosticEngine diags([](const std::string &) {});
  std::unique_ptr<attnc::Module> module =
      attnc::parseString("fuzz.attn", text, diags);
  if (!module || !attnc::checkModule(*module, diags))
    return 0;

  // A context per input, as the driver has: nothing carries over.
  static mlir::DialectRegistry *registry = [] {
    auto *r = new mlir::DialectRegistry();
    mlir::attnc::registerAllDialects(*r);
    mlir::attnc::registerAllExtensions(*r);
    return r;
  }();
  mlir::MLIRContext context(*registry, mlir::MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  context.printOpOnDiagnostic(false);
  bool anyError = false;
  std::string verifierError;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    if (diag.getSeverity() != mlir::DiagnosticSeverity::Error)
      return mlir::success();
    anyError = true;
    std::string message = diag.str();
    if (verifierError.empty() && llvm::StringRef(message).starts_with("'") &&
        llvm::StringRef(message).contains("' op "))
      verifierError = message;
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> ir = attnc::mlirGen(context, *module);
  if (ir && mlir::failed(mlir::verify(*ir))) {
    fprintf(stderr, "MLIRGen returned a module that does not verify\n");
    abort();
  }
  if (!verifierError.empty()) {
    fprintf(stderr, "a checked program lowered to invalid IR: %s\n",
            verifierError.c_str());
    abort();
  }
  if (!ir && !anyError) {
    fprintf(stderr, "MLIRGen failed without a diagnostic\n");
    abort();
  }
  return 0;
}
