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

#include <algorithm>
#include <vector>

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
  // Split the line into characters (UTF-8 sequences), made printable: control
  // bytes would garble a terminal.
  const std::string &line = it->second[diag.loc.line - 1];
  std::vector<std::string> chars;
  for (size_t i = 0; i < line.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (isContinuationByte(line[i]) && !chars.empty()) {
      chars.back() += line[i];
      continue;
    }
    chars.push_back((c < 0x20 && c != '\t') || c == 0x7F
                        ? std::string("?")
                        : std::string(1, line[i]));
  }

  // Quote at most a window of the line around the caret, so that a huge
  // generated line does not flood the terminal.
  constexpr size_t kWindow = 80;
  size_t caretIndex = diag.loc.col == 0 ? 0 : diag.loc.col - 1;
  size_t begin = 0, end = chars.size();
  if (chars.size() > 2 * kWindow) {
    begin = caretIndex > kWindow ? caretIndex - kWindow : 0;
    end = std::min(chars.size(), begin + 2 * kWindow);
  }
  std::string quoted = begin > 0 ? "..." : "";
  std::string caret = begin > 0 ? "   " : "";
  for (size_t i = begin; i < end; ++i) {
    quoted += chars[i];
    // Spaces up to the column (tabs stay tabs so the caret lines up whatever
    // the tab width), then the caret.
    if (i < caretIndex)
      caret += chars[i] == "\t" ? '\t' : ' ';
  }
  if (end < chars.size())
    quoted += "...";
  text += quoted;
  text += "\n";
  if (diag.loc.col == 0)
    return text;
  for (size_t i = std::max(end, begin); i < caretIndex; ++i)
    caret += ' ';
  text += caret;
  text += "^\n";
  return text;
}
