//===- Sema.h - Name resolution, type and shape checking --------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The checker: resolves names, gives every constant its value (default or
/// `--set` override), infers element types and symbolic shapes of every
/// expression, checks index ranges, state updates, attention and scan
/// clauses, calls of built-in and user functions, and the shape flow through
/// blocks and architectures. It annotates the AST in place (the `checked*`
/// and `type` fields) and reports every error it can recover from.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_FRONTEND_SEMA_H
#define ATTNC_FRONTEND_SEMA_H

#include "attnc/Frontend/AST.h"
#include "attnc/Frontend/Diagnostic.h"

#include <map>
#include <string>

namespace attnc {

struct CheckOptions {
  /// `--set NAME=VALUE`: replaces the value of every compile-time constant
  /// named NAME (top-level `const` and `<NAME = ...>` parameters alike).
  std::map<std::string, ConstValue> overrides;
};

/// Checks `module`, annotating it. Returns true when no error was reported.
bool checkModule(Module &module, DiagnosticEngine &diags,
                 const CheckOptions &options = {});

/// Names of the constants `--set` can override in `module` (for the
/// driver's "unknown constant" usage error).
std::vector<std::string> getOverridableConstants(const Module &module);

} // namespace attnc

#endif // ATTNC_FRONTEND_SEMA_H
