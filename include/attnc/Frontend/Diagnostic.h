//===- Diagnostic.h - Front-end diagnostics ---------------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Errors and notes with a source position, printed the way MLIR's
/// SourceMgrDiagnosticHandler prints them, so front-end and IR diagnostics
/// look the same:
///
///   file.attn:3:7: error: unknown name 'qq'
///     out = qq
///           ^
///
/// Plain C++: the parser island and the checker both report through it.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_FRONTEND_DIAGNOSTIC_H
#define ATTNC_FRONTEND_DIAGNOSTIC_H

#include "attnc/Frontend/AST.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace attnc {

enum class Severity { Error, Warning, Note };

struct Diagnostic {
  Severity severity = Severity::Error;
  Location loc;
  std::string message;
};

/// Collects diagnostics and prints each as it is reported, with its source
/// line and a caret. Notes attach to the error reported just before them.
class DiagnosticEngine {
public:
  /// Prints to stderr by default.
  DiagnosticEngine();
  /// Sends each formatted diagnostic to `sink` instead (unit tests).
  explicit DiagnosticEngine(std::function<void(const std::string &)> sink);

  /// Registers a file's text so diagnostics can quote its lines.
  void addSource(const std::string &file, std::string contents);

  void error(const Location &loc, const std::string &message);
  void warning(const Location &loc, const std::string &message);
  void note(const Location &loc, const std::string &message);

  unsigned getNumErrors() const { return numErrors; }
  bool hasErrors() const { return numErrors != 0; }
  const std::vector<Diagnostic> &getDiagnostics() const { return diags; }

  /// After this many errors, further ones are counted but not printed.
  static constexpr unsigned kMaxPrintedErrors = 30;

private:
  void report(Severity severity, const Location &loc,
              const std::string &message);
  std::string format(const Diagnostic &diag) const;

  std::function<void(const std::string &)> sink;
  std::map<std::string, std::vector<std::string>> sourceLines;
  std::vector<Diagnostic> diags;
  unsigned numErrors = 0;
  bool suppressNotes = false;
};

} // namespace attnc

#endif // ATTNC_FRONTEND_DIAGNOSTIC_H
