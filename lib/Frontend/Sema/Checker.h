//===- Checker.h - The checker's shared state (private) ---------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The state shared by the checker's parts: Sema.cpp (declarations,
/// statements, expressions), Builtins.cpp (built-in functions and
/// reductions) and ArchChecker.cpp (blocks and architectures).
///
/// Errors poison a value (std::nullopt) so that one mistake gives one error:
/// anything computed from a poisoned value is poisoned silently.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_FRONTEND_SEMA_CHECKER_H
#define ATTNC_LIB_FRONTEND_SEMA_CHECKER_H

#include "attnc/Frontend/AST.h"
#include "attnc/Frontend/Diagnostic.h"
#include "attnc/Frontend/Sema.h"

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace attnc {
namespace sema {

/// What a name in scope stands for.
struct Symbol {
  enum class Kind {
    Const,  ///< a compile-time constant (its value may be unknown)
    Size,   ///< a run-time size (B, N, M) introduced by a parameter type
    DimLet, ///< a local bound to a compile-time integer (`G = Hq / Hkv`)
    Value,  ///< a parameter, local or state
    Index,  ///< an index (left of a definition, attend, reduce, scan)
  };
  Kind kind = Kind::Value;
  Location loc;
  ValueType type;                  ///< Value, Index (i32), Const, DimLet
  std::optional<ConstValue> value; ///< Const: its value if known
  std::optional<DimExpr> dim; ///< Size, DimLet, integer Const; Index extent
  bool isState = false;
  /// Its definition had an error: uses are silently poisoned.
  bool poisoned = false;
  /// Index: where its extent was inferred, for notes.
  std::optional<Location> extentLoc;
};

/// A function checked with given constants: its parameter and result types
/// in its own symbols (unified with arguments at each use).
struct FnInstance {
  std::vector<ValueType> params;
  std::vector<ValueType> results;
};

/// One function body (or scan body) being checked.
struct FnContext {
  const FnDecl *fn = nullptr;
  /// Innermost scan: its index name and states, for grad and future reads.
  struct ScanInfo {
    std::string index;
    std::set<std::string> states;
    bool emitted = false;
    Location emitLoc;
    std::optional<ValueType> emitType;
  };
  std::vector<ScanInfo> scans;
  /// Out-of-scope indices already reported in this function.
  std::set<std::string> reportedIndices;
};

class Checker {
public:
  Checker(Module &module, DiagnosticEngine &diags, const CheckOptions &options)
      : module(module), diags(diags), options(options) {}

  bool run();

  //===--------------------------------------------------------------------===//
  // Diagnostics
  //===--------------------------------------------------------------------===//
  void error(const Location &loc, const std::string &message) {
    ++numErrors;
    // A block or function checked at several uses reports a problem once.
    std::string key = loc.file + ":" + std::to_string(loc.line) + ":" +
                      std::to_string(loc.col) + ":" + message;
    lastErrorShown = reported.insert(key).second;
    if (lastErrorShown)
      diags.error(loc, message);
  }
  void warning(const Location &loc, const std::string &message) {
    if (reported
            .insert("w:" + loc.file + ":" + std::to_string(loc.line) + ":" +
                    std::to_string(loc.col))
            .second)
      diags.warning(loc, message);
    lastErrorShown = false;
  }
  /// Warns when `expr`, an integer division, feeds a floating-point result:
  /// `-8 * h / H` truncates before it becomes a float.
  void warnTruncatingDivision(const Expr &expr);
  void note(const Location &loc, const std::string &message) {
    if (lastErrorShown)
      diags.note(loc, message);
  }

  //===--------------------------------------------------------------------===//
  // Scopes
  //===--------------------------------------------------------------------===//
  void pushScope() { scopes.emplace_back(); }
  void popScope();
  Symbol *lookup(const std::string &name);
  /// Declares `name` in the innermost scope; reports a redefinition of a
  /// name in the same function.
  Symbol *declare(const std::string &name, Symbol symbol);
  /// Declares `<...>` constants (unknown values stay symbolic).
  void declareConsts(const std::vector<ConstParam> &params,
                     const std::map<std::string, ConstValue> &values);
  /// Declares the index of an attend, scan or reduction.
  Symbol *declareIndex(const std::string &name, const Location &loc,
                       std::optional<DimExpr> extent,
                       const Location &extentLoc);
  /// Reports an unknown name, explaining indices used outside their binder.
  void unknownName(const Location &loc, const std::string &name);

  //===--------------------------------------------------------------------===//
  // Constants, dimensions, types
  //===--------------------------------------------------------------------===//
  /// Evaluates a compile-time number (const defaults, `const` decls).
  /// Integer arithmetic is checked: a result outside int64 is an error.
  std::optional<ConstValue> evalConst(const Expr &expr);
  /// Reports that `expr` overflows 64-bit integers.
  std::nullopt_t overflow(const Expr &expr);
  /// Evaluates a dimension. With `declareSizes`, unknown names become run-time
  /// sizes (only in parameter types).
  std::optional<DimExpr> evalDim(const Expr &expr, bool declareSizes = false,
                                 bool quiet = false);
  std::optional<ValueType> resolveType(const TypeExpr &type,
                                       bool declareSizes = false);
  /// Binds `<...>` constants: override > explicit argument > default.
  void bindConstParams(const std::vector<ConstParam> &params,
                       const std::vector<ConstArg> *args,
                       const Location &useLoc,
                       std::map<std::string, ConstValue> &values);

  //===--------------------------------------------------------------------===//
  // Functions, statements, expressions (Sema.cpp)
  //===--------------------------------------------------------------------===//
  /// Checks a function body with the given constant values. Returns the
  /// result types, or nullopt after an error.
  std::optional<FnInstance>
  checkFunction(FnDecl &fn, const std::map<std::string, ConstValue> &consts,
                bool annotate);
  /// The generic check of `fn` (default constants), run once.
  std::optional<FnInstance> checkFunctionGeneric(FnDecl &fn);
  bool checkBody(const std::vector<StmtPtr> &body, bool inScan,
                 std::vector<ValueType> *results, const Location &endLoc);
  std::optional<ValueType> checkExpr(Expr &expr);
  std::optional<ValueType> checkExprImpl(Expr &expr);
  std::optional<ValueType> checkSubscript(SubscriptExpr &expr);
  std::optional<ValueType> checkBinary(BinaryExpr &expr);
  std::optional<ValueType> checkAttend(AttendExpr &expr);
  std::optional<ValueType> checkScan(ScanExpr &expr);
  std::optional<ValueType> checkUserCall(CallExpr &expr, FnDecl &fn);
  /// Applies a function to argument types (a call, or a layer in an arch).
  std::optional<std::vector<ValueType>>
  applyFunction(FnDecl &fn, const std::vector<ConstArg> *constArgs,
                const std::vector<ValueType> &args,
                const std::vector<Location> &argLocs, const Location &useLoc);

  /// Numpy-style broadcast of two shapes; nullopt if incompatible.
  static std::optional<std::vector<DimExpr>>
  broadcast(const std::vector<DimExpr> &a, const std::vector<DimExpr> &b);
  /// The element type of arithmetic on `a` and `b` (int to float promotion).
  static ElemType promote(ElemType a, ElemType b);
  /// Checks `value` can be stored in something of type `target`.
  bool checkAssignable(const ValueType &target, const ValueType &value,
                       const Location &loc, const std::string &what,
                       const Location *declLoc);

  //===--------------------------------------------------------------------===//
  // Built-ins (Builtins.cpp)
  //===--------------------------------------------------------------------===//
  static bool isBuiltin(const std::string &name);
  std::optional<ValueType> checkBuiltinCall(CallExpr &expr);
  std::optional<ValueType> checkReduce(ReduceExpr &expr);

  //===--------------------------------------------------------------------===//
  // Architectures (ArchChecker.cpp)
  //===--------------------------------------------------------------------===//
  void checkArch(ArchDecl &arch);
  void checkBlockAlone(BlockDecl &block);
  std::optional<std::vector<ValueType>>
  checkPipeline(Pipeline &pipeline, std::vector<ValueType> input,
                bool annotate);
  std::optional<std::vector<ValueType>>
  checkStage(Stage &stage, std::vector<ValueType> input, bool annotate);
  std::optional<std::vector<ValueType>>
  checkTerm(const Term &term, std::vector<ValueType> input, bool annotate);

  //===--------------------------------------------------------------------===//
  // Index ranges (IndexRange.cpp)
  //===--------------------------------------------------------------------===//
  /// Bounds (inclusive) of an integer expression: polynomials over the
  /// sizes, each of them valid (so any one may prove a subscript in range);
  /// none on a side is unbounded.
  struct Range {
    std::vector<DimExpr> lo, hi;
  };
  /// What can be proven of `index` in a dimension of size `dim`, without
  /// and then with the facts of the enclosing guards.
  IndexSafety classifyIndex(const Expr &index, const DimExpr &dim);
  /// The range of `expr`, with the facts of the guards around it if
  /// `useFacts`.
  Range rangeOf(const Expr &expr, bool useFacts);
  /// Records what `cond` implies where it is `holds` (a `where` branch, the
  /// keys an attend mask keeps) until the matching popGuard.
  void pushGuard(const Expr &cond, bool holds);
  /// Records in `expr.safety[k]` what can be proven of index `k`, now or,
  /// when an index it reads has no extent yet (`where(i > 0, q[i - 1],
  /// q[i])` infers the extent of `i` from the later `q[i]`), when the scope
  /// of that index closes.
  void noteIndexSafety(SubscriptExpr &expr, size_t k, const DimExpr &dim);
  /// Classifies the deferred indices whose extents are now known or whose
  /// scope (the innermost) is closing.
  void resolvePendingIndices();
  void popGuard() { guardFacts.pop_back(); }

  //===--------------------------------------------------------------------===//
  // State
  //===--------------------------------------------------------------------===//
  Module &module;
  DiagnosticEngine &diags;
  const CheckOptions &options;
  unsigned numErrors = 0;
  /// Errors already printed (file:line:col:message), so that a block or
  /// function checked at several uses reports each problem once.
  std::set<std::string> reported;
  /// Whether the last error was printed: its notes follow it.
  bool lastErrorShown = false;

  std::map<std::string, Decl *> globals;
  /// Top-level constants.
  std::map<std::string, Symbol> globalScope;
  /// Scopes of the body being checked (a deque: symbols keep their address
  /// while inner scopes come and go).
  std::deque<std::map<std::string, Symbol>> scopes;
  /// Whether checkExpr records types in the AST (false for instances).
  bool annotating = true;
  /// Indices whose binder has closed: name -> binder location.
  std::map<std::string, Location> closedIndices;
  std::vector<FnContext> fnStack;
  /// Per enclosing guard: expression (as shown) -> the range it implies.
  std::vector<std::map<std::string, Range>> guardFacts;
  struct PendingIndex {
    SubscriptExpr *expr;
    size_t k;
    DimExpr dim;
    std::vector<std::map<std::string, Range>> facts;
    /// The indices it reads whose extents were unknown.
    std::vector<std::string> unknown;
  };
  std::vector<PendingIndex> pendingIndices;
  /// Functions and blocks being checked, to reject recursion.
  std::vector<const Decl *> activeDecls;
  /// Generic checks done (nullopt: it failed, and uses are poisoned).
  std::map<const FnDecl *, std::optional<FnInstance>> genericFns;
  /// Instances with other constants, by function and constants.
  std::map<std::pair<const FnDecl *, std::string>, std::optional<FnInstance>>
      fnInstances;
  /// Block instances, by block, constants and input types.
  std::map<std::string, std::optional<std::vector<ValueType>>> blockInstances;
};

/// The symbol of a compile-time constant with `value`, or a symbolic integer
/// when the value is not known.
Symbol makeConstSymbol(const std::string &name, const Location &loc,
                       std::optional<ConstValue> value);
/// `a`, `b` and `c` as "a, b, c" for messages.
std::string joinNames(const std::vector<std::string> &names);
/// Constants as "H = 8, D = 64" (a cache key and a message fragment).
std::string showConsts(const std::map<std::string, ConstValue> &consts);
/// "1st", "2nd", ... for messages.
std::string ordinal(size_t n);

} // namespace sema
} // namespace attnc

#endif // ATTNC_LIB_FRONTEND_SEMA_CHECKER_H
