//===- Diagnostic.cpp - Front-end diagnostics -----------------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Formats diagnostics the way llvm::SourceMgr (and so MLIR's
/// SourceMgrDiagnosticHandler) does: `file:line:col: error: message`, the
/// source line, and a caret under the column.
///
//===----------------------------------------------------------------------===//

#include "attnc/Frontend/Diagnostic.h"

#include "llvm/Support/raw_ostream.h"

using namespace attnc;

DiagnosticEngine::DiagnosticEngine()
    : sink([](const std::string &text) {
        llvm::errs() << text;
        llvm::errs().flush();
      }) {}

DiagnosticEngine::DiagnosticEngine(
    std::function<void(const std::string &)> sink)
    : sink(std::move(sink)) {}

void DiagnosticEngine::addSource(const std::string &file,
                                 std::string contents) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= contents.size()) {
    size_t end = contents.find('\n', start);
    if (end == std::string::npos)
      end = contents.size();
    std::string line = contents.substr(start, end - start);
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  sourceLines[file] = std::move(lines);
}

void DiagnosticEngine::error(const Location &loc, const std::string &message) {
  report(Severity::Error, loc, message);
}

void DiagnosticEngine::warning(const Location &loc,
                               const std::string &message) {
  report(Severity::Warning, loc, message);
}

void DiagnosticEngine::note(const Location &loc, const std::string &message) {
  report(Severity::Note, loc, message);
}

void DiagnosticEngine::report(Severity severity, const Location &loc,
                              const std::string &message) {
  Diagnostic diag{severity, loc, message};
  bool print = true;
  if (severity == Severity::Error) {
    ++numErrors;
    if (numErrors == kMaxPrintedErrors + 1 && sink)
      sink("error: too many errors emitted, stopping now\n");
    print = numErrors <= kMaxPrintedErrors;
    // Notes follow the fate of the error they belong to.
    suppressNotes = !print;
  } else if (numErrors > kMaxPrintedErrors) {
    print = false;
  } else if (severity == Severity::Note) {
    print = !suppressNotes;
  }
  if (print && sink)
    sink(format(diag));
  diags.push_back(std::move(diag));
}

/// True for the bytes that continue a UTF-8 sequence: the caret line counts
/// characters, as the columns do.
static bool isContinuationByte(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

std::string DiagnosticEngine::format(const Diagnostic &diag) const {
  const char *kind = "error";
  if (diag.severity == Severity::Warning)
    kind = "warning";
  else if (diag.severity == Severity::Note)
    kind = "note";

  std::string text;
  if (!diag.loc.file.empty()) {
    text += diag.loc.file;
    if (diag.loc.line != 0) {
      text += ":" + std::to_string(diag.loc.line);
      if (diag.loc.col != 0)
        text += ":" + std::to_string(diag.loc.col);
    }
    text += ": ";
  }
  text += kind;
  text += ": ";
  text += diag.message;
  text += "\n";

  if (diag.loc.line == 0)
    return text;
  auto it = sourceLines.find(diag.loc.file);
  if (it == sourceLines.end() || diag.loc.line > it->second.size())
    return text;
  const std::string &line = it->second[diag.loc.line - 1];
  text += line;
  text += "\n";
  if (diag.loc.col == 0)
    return text;

  // Spaces up to the column (tabs stay tabs so the caret lines up whatever
  // the tab width), then the caret.
  std::string caret;
  unsigned col = 1;
  for (size_t i = 0; i < line.size() && col < diag.loc.col; ++i) {
    if (isContinuationByte(line[i]))
      continue;
    caret += line[i] == '\t' ? '\t' : ' ';
    ++col;
  }
  for (; col < diag.loc.col; ++col)
    caret += ' ';
  text += caret;
  text += "^\n";
  return text;
}
