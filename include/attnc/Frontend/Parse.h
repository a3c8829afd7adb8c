//===- Parse.h - Parsing attnc source into the AST --------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The entry points of the parser island (lib/Frontend/Parse, built with
/// exceptions for ANTLR). Only AST and diagnostic types cross this boundary.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_FRONTEND_PARSE_H
#define ATTNC_FRONTEND_PARSE_H

#include "attnc/Frontend/AST.h"
#include "attnc/Frontend/Diagnostic.h"

#include <memory>
#include <string>

namespace attnc {

/// Reads and parses `path` and, transitively, every file it imports (each
/// once; paths are relative to the importing file). Reports syntax errors,
/// unreadable or missing files, cyclic imports, invalid UTF-8 and empty files
/// to `diags`. Returns null when any error was reported.
std::unique_ptr<Module> parseFile(const std::string &path,
                                  DiagnosticEngine &diags);

/// Parses `text` as if it were the contents of a file named `name`. Imports
/// are resolved relative to the directory of `name`.
std::unique_ptr<Module> parseString(const std::string &name,
                                    const std::string &text,
                                    DiagnosticEngine &diags);

} // namespace attnc

#endif // ATTNC_FRONTEND_PARSE_H
