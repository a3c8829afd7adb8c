//===- Sema.cpp - Name resolution, type and shape checking ----------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Declarations, constants, types, function bodies, statements and
/// expressions. Built-ins are in Builtins.cpp, architectures in
/// ArchChecker.cpp.
///
//===----------------------------------------------------------------------===//

#include "Checker.h"

#include "attnc/Frontend/Limits.h"
#include "attnc/Frontend/Sema.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Casting.h"

#include <cmath>
#include <functional>
#include <limits>
#include <set>

using namespace attnc;
using namespace attnc::sema;
using llvm::dyn_cast;
using llvm::isa;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

std::string sema::joinNames(const std::vector<std::string> &names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i)
    s += (i ? ", " : "") + names[i];
  return s;
}

std::string sema::ordinal(size_t n) {
  static const char *suffixes[] = {"th", "st", "nd", "rd"};
  size_t mod100 = n % 100, mod10 = n % 10;
  const char *suffix =
      (mod100 >= 11 && mod100 <= 13) || mod10 > 3 ? "th" : suffixes[mod10];
  return std::to_string(n) + suffix;
}

std::string sema::showConsts(const std::map<std::string, ConstValue> &consts) {
  std::string s;
  for (const auto &[name, value] : consts)
    s += (s.empty() ? "" : ", ") + name + " = " + value.str();
  return s;
}

static bool isNumeric(const ValueType &t) {
  return t.isTensor() && t.getElemType() != ElemType::I1;
}

ElemType Checker::promote(ElemType a, ElemType b) {
  if (isFloat(a) && isFloat(b)) {
    auto rank = [](ElemType t) {
      return t == ElemType::F64 ? 3 : t == ElemType::F32 ? 2 : 1;
    };
    // Neither half format holds the other (f16 has the precision, bf16 the
    // range): their common type is f32, as in PyTorch.
    if (rank(a) == 1 && rank(b) == 1 && a != b)
      return ElemType::F32;
    return rank(a) >= rank(b) ? a : b;
  }
  if (isFloat(a))
    return a;
  if (isFloat(b))
    return b;
  if (a == ElemType::I64 || b == ElemType::I64)
    return ElemType::I64;
  if (a == ElemType::I1 && b == ElemType::I1)
    return ElemType::I1;
  return ElemType::I32;
}

std::optional<std::vector<DimExpr>>
Checker::broadcast(const std::vector<DimExpr> &a,
                   const std::vector<DimExpr> &b) {
  size_t rank = std::max(a.size(), b.size());
  std::vector<DimExpr> result(rank);
  for (size_t i = 0; i < rank; ++i) {
    const DimExpr *da = i < a.size() ? &a[a.size() - 1 - i] : nullptr;
    const DimExpr *db = i < b.size() ? &b[b.size() - 1 - i] : nullptr;
    DimExpr &out = result[rank - 1 - i];
    if (!da)
      out = *db;
    else if (!db)
      out = *da;
    else if (*da == *db || db->getConstant() == 1)
      out = *da;
    else if (da->getConstant() == 1)
      out = *db;
    else
      return std::nullopt;
  }
  return result;
}

void Checker::warnTruncatingDivision(const Expr &expr) {
  const auto *div = dyn_cast<BinaryExpr>(&expr);
  if (!div || div->op != BinaryOp::Div || !expr.type ||
      !expr.type->isTensor() || !isInteger(expr.type->getElemType()))
    return;
  warning(expr.getLoc(), "integer division truncates before the result "
                         "becomes a float; write a float operand (e.g. "
                         "8.0) or float(...) for a real quotient");
}

//===----------------------------------------------------------------------===//
// Scopes
//===----------------------------------------------------------------------===//

void Checker::popScope() {
  resolvePendingIndices();
  scopes.pop_back();
}

Symbol *Checker::lookup(const std::string &name) {
  for (auto it = scopes.rbegin(); it != scopes.rend(); ++it)
    if (auto found = it->find(name); found != it->end())
      return &found->second;
  if (auto found = globalScope.find(name); found != globalScope.end())
    return &found->second;
  return nullptr;
}

Symbol *Checker::declare(const std::string &name, Symbol symbol) {
  for (auto it = scopes.rbegin(); it != scopes.rend(); ++it) {
    if (auto found = it->find(name); found != it->end()) {
      error(symbol.loc, "redefinition of '" + name + "'");
      note(found->second.loc, "'" + name + "' was first defined here");
      return nullptr;
    }
  }
  closedIndices.erase(name);
  if (scopes.empty())
    pushScope();
  return &(scopes.back()[name] = std::move(symbol));
}

void Checker::unknownName(const Location &loc, const std::string &name) {
  if (auto closed = closedIndices.find(name); closed != closedIndices.end()) {
    // One report per name and function: the first use says it all.
    if (!fnStack.empty() && !fnStack.back().reportedIndices.insert(name).second)
      return;
    error(loc,
          "index '" + name + "' is used outside the expression that binds it");
    note(closed->second, "'" + name +
                             "' is bound here; bind it again on the left of "
                             "this definition, e.g. 'x[" +
                             name + ", ...] = ...'");
    return;
  }
  // A top-level constant that has no value yet: defined below, or in a
  // cycle of constants.
  if (auto g = globals.find(name); g != globals.end() &&
                                   isa<ConstDecl>(g->second) &&
                                   !globalScope.count(name)) {
    error(loc, "constant '" + name +
                   "' is used before its value is known; a constant may use "
                   "only the constants defined above it");
    note(g->second->getLoc(), "'" + name + "' is defined here");
    return;
  }
  // Suggest a visible name one or two edits away.
  std::string best;
  unsigned bestDistance = 3;
  auto consider = [&](const std::string &candidate) {
    unsigned d = llvm::StringRef(name).edit_distance(candidate);
    if (d > 0 && d < bestDistance && d < name.size()) {
      bestDistance = d;
      best = candidate;
    }
  };
  for (const auto &scope : scopes)
    for (const auto &[candidate, symbol] : scope)
      consider(candidate);
  for (const auto &[candidate, symbol] : globalScope)
    consider(candidate);
  for (const auto &[candidate, decl] : globals)
    consider(candidate);
  std::string message = "unknown name '" + name + "'";
  if (!best.empty())
    message += "; did you mean '" + best + "'?";
  error(loc, message);
}

//===----------------------------------------------------------------------===//
// Constants and dimensions
//===----------------------------------------------------------------------===//

std::nullopt_t Checker::overflow(const Expr &expr) {
  error(expr.getLoc(), "'" + show(expr) +
                           "' overflows: compile-time integers are 64-bit "
                           "(from -2^63 to 2^63 - 1)");
  return std::nullopt;
}

std::optional<ConstValue> Checker::evalConst(const Expr &expr) {
  if (const auto *e = dyn_cast<IntLitExpr>(&expr))
    return ConstValue::ofInt(e->value);
  if (const auto *e = dyn_cast<FloatLitExpr>(&expr))
    return ConstValue::ofFloat(e->value);
  if (const auto *e = dyn_cast<NameExpr>(&expr)) {
    Symbol *symbol = lookup(e->name);
    if (!symbol) {
      unknownName(e->getLoc(), e->name);
      return std::nullopt;
    }
    if (symbol->kind == Symbol::Kind::Const && symbol->value)
      return symbol->value;
    if (symbol->kind == Symbol::Kind::DimLet && symbol->dim &&
        symbol->dim->getConstant())
      return ConstValue::ofInt(*symbol->dim->getConstant());
    error(e->getLoc(), "'" + e->name +
                           "' has no compile-time value here; constants "
                           "are numbers or other constants");
    return std::nullopt;
  }
  if (const auto *e = dyn_cast<UnaryExpr>(&expr)) {
    if (e->op != UnaryOp::Neg) {
      error(e->getLoc(), "'!' is not allowed in a compile-time constant");
      return std::nullopt;
    }
    std::optional<ConstValue> v = evalConst(*e->operand);
    if (!v)
      return std::nullopt;
    if (v->isInt && v->intValue == std::numeric_limits<int64_t>::min())
      return overflow(expr);
    return v->isInt ? ConstValue::ofInt(-v->intValue)
                    : ConstValue::ofFloat(-v->floatValue);
  }
  if (const auto *e = dyn_cast<BinaryExpr>(&expr)) {
    std::optional<ConstValue> a = evalConst(*e->lhs);
    std::optional<ConstValue> b = evalConst(*e->rhs);
    if (!a || !b)
      return std::nullopt;
    bool ints = a->isInt && b->isInt;
    int64_t r = 0;
    switch (e->op) {
    case BinaryOp::Add:
      if (ints && __builtin_add_overflow(a->intValue, b->intValue, &r))
        return overflow(expr);
      return ints ? ConstValue::ofInt(r)
                  : ConstValue::ofFloat(a->asDouble() + b->asDouble());
    case BinaryOp::Sub:
      if (ints && __builtin_sub_overflow(a->intValue, b->intValue, &r))
        return overflow(expr);
      return ints ? ConstValue::ofInt(r)
                  : ConstValue::ofFloat(a->asDouble() - b->asDouble());
    case BinaryOp::Mul:
      if (ints && __builtin_mul_overflow(a->intValue, b->intValue, &r))
        return overflow(expr);
      return ints ? ConstValue::ofInt(r)
                  : ConstValue::ofFloat(a->asDouble() * b->asDouble());
    case BinaryOp::Div:
      if (b->asDouble() == 0) {
        error(e->getLoc(), "division by zero in a compile-time constant");
        return std::nullopt;
      }
      if (ints && b->intValue == -1) {
        if (a->intValue == std::numeric_limits<int64_t>::min())
          return overflow(expr);
        return ConstValue::ofInt(-a->intValue);
      }
      if (ints) {
        if (a->intValue % b->intValue != 0) {
          error(e->getLoc(), "'" + show(*e) + "' is not exact: " + a->str() +
                                 " is not divisible by " + b->str() +
                                 "; write a float (e.g. 1.0) for a real "
                                 "quotient");
          return std::nullopt;
        }
        return ConstValue::ofInt(a->intValue / b->intValue);
      }
      return ConstValue::ofFloat(a->asDouble() / b->asDouble());
    case BinaryOp::Pow:
      if (ints && b->intValue >= 0) {
        // |a| <= 1 never overflows; any other base does within 64 factors.
        int64_t base = a->intValue, n = b->intValue;
        if (base == 0 || base == 1)
          return ConstValue::ofInt(n == 0 ? 1 : base);
        if (base == -1)
          return ConstValue::ofInt(n % 2 == 0 ? 1 : -1);
        r = 1;
        for (int64_t i = 0; i < n; ++i)
          if (__builtin_mul_overflow(r, base, &r))
            return overflow(expr);
        return ConstValue::ofInt(r);
      }
      return ConstValue::ofFloat(std::pow(a->asDouble(), b->asDouble()));
    default:
      break;
    }
  }
  error(expr.getLoc(),
        "'" + show(expr) + "' is not a compile-time constant expression");
  return std::nullopt;
}

std::optional<DimExpr> Checker::evalDim(const Expr &expr, bool declareSizes,
                                        bool quiet) {
  if (const auto *e = dyn_cast<IntLitExpr>(&expr))
    return DimExpr::constant(e->value);
  if (const auto *e = dyn_cast<NameExpr>(&expr)) {
    Symbol *symbol = lookup(e->name);
    if (!symbol) {
      if (declareSizes) {
        Symbol size;
        size.kind = Symbol::Kind::Size;
        size.loc = e->getLoc();
        size.type = ValueType::tensor(ElemType::I32);
        size.dim = DimExpr::symbol(e->name);
        declare(e->name, size);
        return size.dim;
      }
      if (!quiet)
        unknownName(e->getLoc(), e->name);
      return std::nullopt;
    }
    switch (symbol->kind) {
    case Symbol::Kind::Const:
      if (symbol->value && !symbol->value->isInt) {
        if (!quiet)
          error(e->getLoc(), "constant '" + e->name + "' is " +
                                 symbol->value->str() +
                                 ", not an integer, so it cannot be a "
                                 "dimension");
        return std::nullopt;
      }
      return symbol->dim;
    case Symbol::Kind::Size:
    case Symbol::Kind::DimLet:
      return symbol->dim;
    case Symbol::Kind::Index:
    case Symbol::Kind::Value:
      if (!quiet)
        error(e->getLoc(), "'" + e->name +
                               "' is not a size: dimensions are integer "
                               "expressions of constants and sizes");
      return std::nullopt;
    }
  }
  if (const auto *e = dyn_cast<UnaryExpr>(&expr)) {
    if (e->op == UnaryOp::Neg) {
      std::optional<DimExpr> d = evalDim(*e->operand, declareSizes, quiet);
      if (!d)
        return std::nullopt;
      DimExpr negated = DimExpr::constant(-1) * *d;
      if (!negated.hasOverflowed())
        return negated;
      if (!quiet)
        overflow(*e);
      return std::nullopt;
    }
    if (quiet)
      return std::nullopt;
  }
  if (const auto *e = dyn_cast<BinaryExpr>(&expr)) {
    bool arith = e->op == BinaryOp::Add || e->op == BinaryOp::Sub ||
                 e->op == BinaryOp::Mul || e->op == BinaryOp::Div ||
                 e->op == BinaryOp::Mod;
    if (arith) {
      std::optional<DimExpr> a = evalDim(*e->lhs, declareSizes, quiet);
      std::optional<DimExpr> b = evalDim(*e->rhs, declareSizes, quiet);
      if (!a || !b)
        return std::nullopt;
      // An operand that overflowed was reported where it did.
      auto checked = [&](DimExpr d) -> std::optional<DimExpr> {
        if (d.hasOverflowed()) {
          if (!quiet)
            overflow(*e);
          return std::nullopt;
        }
        return d;
      };
      switch (e->op) {
      case BinaryOp::Add:
        return checked(*a + *b);
      case BinaryOp::Sub:
        return checked(*a - *b);
      case BinaryOp::Mul:
        return checked(*a * *b);
      case BinaryOp::Div:
      case BinaryOp::Mod: {
        std::optional<int64_t> ca = a->getConstant(), cb = b->getConstant();
        if (cb == 0) {
          error(e->getLoc(), "division by zero in '" + show(*e) + "'");
          return std::nullopt;
        }
        if (e->op == BinaryOp::Mod) {
          if (ca && cb)
            return DimExpr::constant(*cb == -1 ? 0 : *ca % *cb);
          if (!quiet)
            error(e->getLoc(),
                  "'%' in a dimension needs compile-time operands");
          return std::nullopt;
        }
        // A dimension must divide exactly: `Hq / Hkv` with 32 and 6 heads is
        // a bad head grouping, not a rounding.
        if (ca && cb && *cb != -1 && *ca % *cb != 0) {
          error(e->getLoc(), "'" + show(*e) +
                                 "' is not exact: " + std::to_string(*ca) +
                                 " is not divisible by " + std::to_string(*cb));
          return std::nullopt;
        }
        return checked(a->floorDiv(*b));
      }
      default:
        break;
      }
    }
  }
  if (!quiet)
    error(expr.getLoc(), "'" + show(expr) +
                             "' is not a dimension: dimensions are integer "
                             "expressions of constants and sizes");
  return std::nullopt;
}

std::optional<ValueType> Checker::resolveType(const TypeExpr &type,
                                              bool declareSizes) {
  if (const auto *t = dyn_cast<TensorTypeExpr>(&type)) {
    if (t->dims.size() > kMaxRank) {
      error(t->getLoc(), "a tensor of rank " + std::to_string(t->dims.size()) +
                             "; the limit is " + std::to_string(kMaxRank));
      return std::nullopt;
    }
    std::vector<DimExpr> dims;
    bool ok = true;
    int64_t elements = 1; // of the constant dimensions
    for (const ExprPtr &dimExpr : t->dims) {
      std::optional<DimExpr> d = evalDim(*dimExpr, declareSizes);
      if (!d) {
        ok = false;
        continue;
      }
      if (std::optional<int64_t> c = d->getConstant(); c && *c <= 0) {
        error(dimExpr->getLoc(), "dimension '" + show(*dimExpr) + "' is " +
                                     std::to_string(*c) +
                                     "; dimensions must be positive");
        ok = false;
      } else if (c && (__builtin_mul_overflow(elements, *c, &elements) ||
                       elements > kMaxElements)) {
        error(dimExpr->getLoc(),
              "the constant dimensions of this tensor, up to '" +
                  show(*dimExpr) + "' (" + std::to_string(*c) +
                  "), multiply to more than the limit of 2^34 = " +
                  std::to_string(kMaxElements) + " elements");
        ok = false;
        elements = 1;
      }
      dims.push_back(*d);
    }
    if (!ok)
      return std::nullopt;
    return ValueType::tensor(t->elem, std::move(dims));
  }
  if (const auto *t = dyn_cast<GroupTypeExpr>(&type)) {
    std::vector<std::pair<std::string, ValueType>> members;
    std::map<std::string, Location> seen;
    bool ok = true;
    for (const GroupTypeExpr::Member &m : t->members) {
      if (auto prev = seen.find(m.name); prev != seen.end()) {
        error(m.loc, "duplicate member '" + m.name + "' in group type");
        note(prev->second, "'" + m.name + "' was first declared here");
        ok = false;
        continue;
      }
      seen[m.name] = m.loc;
      std::optional<ValueType> mt = resolveType(*m.type, declareSizes);
      if (!mt) {
        ok = false;
        continue;
      }
      if (mt->isGroup()) {
        error(m.loc, "group member '" + m.name +
                         "' is itself a group; groups hold tensors");
        ok = false;
        continue;
      }
      members.emplace_back(m.name, *mt);
    }
    if (!ok)
      return std::nullopt;
    return ValueType::group(std::move(members));
  }
  const auto &named = llvm::cast<NamedTypeExpr>(type);
  auto it = globals.find(named.name);
  auto *alias = it == globals.end() ? nullptr : dyn_cast<TypeDecl>(it->second);
  if (!alias) {
    error(named.getLoc(), "unknown type '" + named.name + "'");
    return std::nullopt;
  }
  for (const Decl *active : activeDecls) {
    if (active == alias) {
      error(named.getLoc(), "type '" + named.name + "' refers to itself");
      return std::nullopt;
    }
  }
  activeDecls.push_back(alias);
  std::optional<ValueType> result = resolveType(*alias->type, declareSizes);
  activeDecls.pop_back();
  return result;
}

void Checker::bindConstParams(const std::vector<ConstParam> &params,
                              const std::vector<ConstArg> *args,
                              const Location &useLoc,
                              std::map<std::string, ConstValue> &values) {
  std::map<std::string, const ConstArg *> given;
  if (args) {
    size_t position = 0;
    for (const ConstArg &arg : *args) {
      if (arg.name.empty()) {
        if (position >= params.size()) {
          error(arg.loc, "too many constant arguments: " +
                             std::to_string(params.size()) + " expected");
          return;
        }
        given[params[position++].name] = &arg;
        continue;
      }
      bool known = false;
      for (const ConstParam &p : params)
        known |= p.name == arg.name;
      if (!known) {
        error(arg.loc, "there is no constant named '" + arg.name + "' here");
        continue;
      }
      given[arg.name] = &arg;
    }
  }
  for (const ConstParam &p : params) {
    if (auto g = given.find(p.name); g != given.end()) {
      if (std::optional<ConstValue> v = evalConst(*g->second->value))
        values[p.name] = *v;
    } else if (auto o = options.overrides.find(p.name);
               o != options.overrides.end()) {
      values[p.name] = o->second;
    } else if (p.defaultValue) {
      values[p.name] = *p.defaultValue;
    } else if (args) {
      error(useLoc, "no value for constant '" + p.name + "'");
      note(p.loc, "'" + p.name + "' is declared here without a default");
    }
  }
}

//===----------------------------------------------------------------------===//
// Functions
//===----------------------------------------------------------------------===//

Symbol sema::makeConstSymbol(const std::string &name, const Location &loc,
                             std::optional<ConstValue> value) {
  Symbol s;
  s.kind = Symbol::Kind::Const;
  s.loc = loc;
  s.value = value;
  if (!value) {
    // No value yet (a generic helper): an integer known only by name.
    s.type = ValueType::tensor(ElemType::I32);
    s.dim = DimExpr::symbol(name);
    return s;
  }
  s.type = ValueType::tensor(value->isInt ? ElemType::I32 : ElemType::F32);
  if (value->isInt)
    s.dim = DimExpr::constant(value->intValue);
  return s;
}

void Checker::declareConsts(const std::vector<ConstParam> &params,
                            const std::map<std::string, ConstValue> &values) {
  for (const ConstParam &p : params) {
    auto v = values.find(p.name);
    declare(p.name,
            makeConstSymbol(p.name, p.loc,
                            v == values.end()
                                ? std::nullopt
                                : std::optional<ConstValue>(v->second)));
  }
}

Symbol *Checker::declareIndex(const std::string &name, const Location &loc,
                              std::optional<DimExpr> extent,
                              const Location &extentLoc) {
  // Like a dimension, an extent must be positive: `i < 0` has no index.
  bool poisoned = false;
  if (std::optional<int64_t> c = extent ? extent->getConstant() : std::nullopt;
      c && *c <= 0) {
    error(extentLoc, "the extent of '" + name + "' is " + std::to_string(*c) +
                         "; extents must be positive, as dimensions are");
    poisoned = true;
  }
  Symbol s;
  s.kind = Symbol::Kind::Index;
  s.loc = loc;
  s.type = ValueType::tensor(ElemType::I32);
  // A bad extent was reported; a placeholder keeps the body checkable.
  s.dim = extent.value_or(DimExpr::symbol("?"));
  s.extentLoc = extentLoc;
  s.poisoned = poisoned;
  return declare(name, s);
}

std::optional<FnInstance>
Checker::checkFunction(FnDecl &fn,
                       const std::map<std::string, ConstValue> &consts,
                       bool annotate) {
  // A function sees only globals: set the caller's scopes aside.
  std::deque<std::map<std::string, Symbol>> savedScopes;
  std::swap(savedScopes, scopes);
  std::map<std::string, Location> savedClosed;
  std::swap(savedClosed, closedIndices);
  bool savedAnnotating = annotating;
  annotating = annotate;
  unsigned errorsBefore = numErrors;
  activeDecls.push_back(&fn);
  fnStack.push_back(FnContext{&fn, {}});

  pushScope();
  declareConsts(fn.constParams, consts);
  FnInstance instance;
  if (fn.params.size() > kMaxParams)
    error(fn.params[kMaxParams].loc,
          "'" + fn.getName() + "' has " + std::to_string(fn.params.size()) +
              " parameters; the limit is " + std::to_string(kMaxParams) +
              " (pass many tensors as one with a leading dimension)");
  for (Param &p : fn.params) {
    std::optional<ValueType> t = resolveType(*p.type, /*declareSizes=*/true);
    Symbol s;
    s.kind = Symbol::Kind::Value;
    s.loc = p.loc;
    s.type = t.value_or(ValueType::tensor(ElemType::F32));
    s.poisoned = !t;
    declare(p.name, s);
    if (t) {
      instance.params.push_back(*t);
      if (annotate)
        p.checkedType = t;
    }
  }
  checkBody(fn.body, /*inScan=*/false, &instance.results, fn.getLoc());
  if (annotate) {
    fn.checkedConsts = consts;
    fn.checkedResults = instance.results;
  }

  fnStack.pop_back();
  activeDecls.pop_back();
  annotating = savedAnnotating;
  std::swap(savedScopes, scopes);
  std::swap(savedClosed, closedIndices);
  if (numErrors != errorsBefore)
    return std::nullopt;
  return instance;
}

std::optional<FnInstance> Checker::checkFunctionGeneric(FnDecl &fn) {
  if (auto done = genericFns.find(&fn); done != genericFns.end())
    return done->second;
  std::map<std::string, ConstValue> consts;
  bindConstParams(fn.constParams, nullptr, fn.getLoc(), consts);
  std::optional<FnInstance> result = checkFunction(fn, consts, true);
  genericFns[&fn] = result;
  return result;
}

std::optional<std::vector<ValueType>>
Checker::applyFunction(FnDecl &fn, const std::vector<ConstArg> *constArgs,
                       const std::vector<ValueType> &args,
                       const std::vector<Location> &argLocs,
                       const Location &useLoc) {
  for (const Decl *active : activeDecls) {
    if (active == &fn) {
      error(useLoc, "recursive use of '" + fn.getName() + "' is not supported");
      return std::nullopt;
    }
  }
  std::optional<FnInstance> generic = checkFunctionGeneric(fn);
  if (!generic)
    return std::nullopt; // Its errors are already reported.

  std::map<std::string, ConstValue> consts;
  bindConstParams(fn.constParams, constArgs, useLoc, consts);
  std::optional<FnInstance> instance = generic;
  if (showConsts(consts) != showConsts(fn.checkedConsts)) {
    auto key = std::make_pair(&fn, showConsts(consts));
    auto cached = fnInstances.find(key);
    if (cached == fnInstances.end()) {
      unsigned before = numErrors;
      std::optional<FnInstance> inst = checkFunction(fn, consts, false);
      if (numErrors != before)
        note(useLoc,
             "in '" + fn.getName() + "' used here with " + showConsts(consts));
      cached = fnInstances.emplace(key, inst).first;
    }
    instance = cached->second;
    if (!instance)
      return std::nullopt;
  }

  if (args.size() != instance->params.size()) {
    error(useLoc, "'" + fn.getName() + "' takes " +
                      std::to_string(instance->params.size()) +
                      " argument(s), but " + std::to_string(args.size()) +
                      " are given");
    note(fn.getLoc(), "'" + fn.getName() + "' is declared here");
    return std::nullopt;
  }

  // Unify each parameter's dims with the argument's: a parameter dim that is
  // a lone size binds on first sight; everything else must match.
  std::map<std::string, DimExpr> bindings;
  std::function<bool(const ValueType &, const ValueType &, size_t)> unify =
      [&](const ValueType &param, const ValueType &arg, size_t i) -> bool {
    const Location &loc = argLocs[std::min(i, argLocs.size() - 1)];
    const Param &decl = fn.params[i];
    std::string what =
        "the " + ordinal(i + 1) + " argument of '" + fn.getName() + "'";
    if (param.isGroup() != arg.isGroup()) {
      error(loc, what + " is " + arg.str() + ", but parameter '" + decl.name +
                     "' is " + param.str());
      note(decl.loc, "'" + decl.name + "' is declared here");
      return false;
    }
    if (param.isGroup()) {
      if (param.getMembers().size() != arg.getMembers().size()) {
        error(loc, what + " is " + arg.str() + ", but parameter '" + decl.name +
                       "' is " + param.str());
        return false;
      }
      for (const auto &[name, memberType] : param.getMembers()) {
        const ValueType *argMember = arg.getMember(name);
        if (!argMember) {
          error(loc, what + " has no member '" + name + "' (parameter '" +
                         decl.name + "' is " + param.str() + ")");
          return false;
        }
        if (!unify(memberType, *argMember, i))
          return false;
      }
      return true;
    }
    bool elemOk =
        param.getElemType() == arg.getElemType() ||
        (isFloat(param.getElemType()) && isNumeric(arg)) ||
        (isInteger(param.getElemType()) && isInteger(arg.getElemType()));
    if (!elemOk || param.getRank() != arg.getRank()) {
      error(loc, what + " is " + arg.str() + ", but parameter '" + decl.name +
                     "' is " + param.str());
      note(decl.loc, "'" + decl.name + "' is declared here");
      return false;
    }
    for (size_t d = 0; d < param.getRank(); ++d) {
      const DimExpr &pd = param.getShape()[d];
      const DimExpr &ad = arg.getShape()[d];
      std::vector<std::string> symbols = pd.getSymbols();
      if (symbols.size() == 1 && pd == DimExpr::symbol(symbols[0]) &&
          !bindings.count(symbols[0])) {
        bindings[symbols[0]] = ad;
        continue;
      }
      DimExpr expected = pd.substitute(bindings);
      if (expected != ad) {
        error(loc, what + " has shape " + arg.shapeStr() + ", but parameter '" +
                       decl.name + "' (" + param.str() + ") needs " +
                       param.substitute(bindings).shapeStr() + " here");
        note(decl.loc, "'" + decl.name + "' is declared here");
        return false;
      }
    }
    return true;
  };
  for (size_t i = 0; i < args.size(); ++i)
    if (!unify(instance->params[i], args[i], i))
      return std::nullopt;

  std::vector<ValueType> results;
  for (const ValueType &r : instance->results)
    results.push_back(r.substitute(bindings));
  return results;
}

std::optional<ValueType> Checker::checkUserCall(CallExpr &expr, FnDecl &fn) {
  std::vector<ValueType> args;
  std::vector<Location> locs;
  bool ok = true;
  for (ExprPtr &arg : expr.args) {
    std::optional<ValueType> t = checkExpr(*arg);
    ok &= t.has_value();
    if (t)
      args.push_back(*t);
    locs.push_back(arg->getLoc());
  }
  if (!ok)
    return std::nullopt;
  if (locs.empty())
    locs.push_back(expr.getLoc());
  std::optional<std::vector<ValueType>> results =
      applyFunction(fn, &expr.constArgs, args, locs, expr.getLoc());
  if (!results)
    return std::nullopt;
  if (results->size() == 1)
    return results->front();
  // Several results travel as a group, unpacked by `a, b = f(x)`.
  std::vector<std::pair<std::string, ValueType>> members;
  for (size_t i = 0; i < results->size(); ++i)
    members.emplace_back("r" + std::to_string(i), (*results)[i]);
  return ValueType::group(std::move(members));
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

bool Checker::checkAssignable(const ValueType &target, const ValueType &value,
                              const Location &loc, const std::string &what,
                              const Location *declLoc) {
  auto fail = [&](const std::string &detail) {
    error(loc, what + " " + detail);
    if (declLoc)
      note(*declLoc, "declared here as " + target.str());
    return false;
  };
  if (target.isGroup()) {
    if (value.isScalar() && isNumeric(value))
      return true; // A scalar initializes every member.
    if (!value.isGroup())
      return fail("is " + value.str() + ", but it must be " + target.str());
    std::vector<std::string> want, got;
    for (const auto &m : target.getMembers())
      want.push_back(m.first);
    for (const auto &m : value.getMembers())
      got.push_back(m.first);
    if (want != got)
      return fail("has members {" + joinNames(got) + "}, but it must have {" +
                  joinNames(want) + "}");
    for (const auto &[name, memberType] : target.getMembers())
      if (!checkAssignable(memberType, *value.getMember(name), loc,
                           what + " (member '" + name + "')", declLoc))
        return false;
    return true;
  }
  if (value.isGroup())
    return fail("is a group " + value.str() + ", but it must be " +
                target.str());
  bool elemOk =
      target.getElemType() == value.getElemType() ||
      (isFloat(target.getElemType()) && isNumeric(value)) ||
      (isInteger(target.getElemType()) && isInteger(value.getElemType()));
  if (!elemOk)
    return fail("is " + value.str() + ", but it must be " + target.str());
  if (value.isScalar() || value.getShape() == target.getShape())
    return true;
  return fail("has shape " + value.shapeStr() + ", but it must have shape " +
              target.shapeStr());
}

namespace {
/// Checks one statement list: a function body or a scan body.
class BodyChecker {
public:
  BodyChecker(Checker &c, bool inScan) : c(c), inScan(inScan) {}

  void checkIndexedDef(IndexedDefStmt &stmt);
  void checkLet(LetStmt &stmt);
  void checkStateDecl(StateDeclStmt &stmt);
  void checkEmit(EmitStmt &stmt);

  /// The state named `name` of the innermost scan, if any.
  Symbol *findState(const std::string &name) {
    if (!inScan || c.fnStack.back().scans.empty() ||
        !c.fnStack.back().scans.back().states.count(name))
      return nullptr;
    Symbol *s = c.lookup(name);
    return s && s->isState ? s : nullptr;
  }

private:
  void checkStateElementUpdate(IndexedDefStmt &stmt, Symbol &state);
  Checker &c;
  bool inScan;
};
} // namespace

void BodyChecker::checkStateElementUpdate(IndexedDefStmt &stmt, Symbol &state) {
  const ValueType &type = state.type;
  if (type.isGroup() || stmt.indices.size() > type.getRank()) {
    c.error(stmt.getLoc(),
            "state '" + stmt.name + "' is " + type.str() + "; it cannot take " +
                std::to_string(stmt.indices.size()) + " indices");
    return;
  }
  c.pushScope();
  for (size_t k = 0; k < stmt.indices.size(); ++k) {
    IndexDecl &idx = stmt.indices[k];
    const DimExpr &dim = type.getShape()[k];
    if (idx.extent) {
      std::optional<DimExpr> written = c.evalDim(*idx.extent);
      if (written && *written != dim) {
        c.error(idx.extent->getLoc(),
                "index '" + idx.name + "' is declared with extent " +
                    written->str() + ", but dimension " + std::to_string(k) +
                    " of state '" + stmt.name + "' is " + dim.str());
      }
    }
    Symbol s;
    s.kind = Symbol::Kind::Index;
    s.loc = idx.loc;
    s.type = ValueType::tensor(ElemType::I32);
    s.dim = dim;
    s.extentLoc = state.loc;
    c.declare(idx.name, s);
    idx.checkedExtent = dim;
  }
  std::optional<ValueType> value = c.checkExpr(*stmt.value);
  c.popScope();
  for (const IndexDecl &idx : stmt.indices)
    c.closedIndices[idx.name] = idx.loc;
  if (!value)
    return;
  std::vector<DimExpr> rest(type.getShape().begin() + stmt.indices.size(),
                            type.getShape().end());
  ValueType element = type.withShape(rest);
  if (c.checkAssignable(element, *value, stmt.value->getLoc(),
                        "the update of state '" + stmt.name + "'",
                        &state.loc) &&
      c.annotating)
    stmt.checkedType = type;
}

void BodyChecker::checkIndexedDef(IndexedDefStmt &stmt) {
  if (Symbol *state = findState(stmt.name))
    return checkStateElementUpdate(stmt, *state);

  // `out[b, h, t] = scan t < N {...}`: the last index is the scan's own.
  auto *scan = dyn_cast<ScanExpr>(stmt.value.get());
  bool scanAxis =
      scan && !stmt.indices.empty() && stmt.indices.back().name == scan->index;
  size_t numDeclared = stmt.indices.size() - (scanAxis ? 1 : 0);

  c.pushScope();
  std::vector<Symbol *> indexSymbols;
  for (size_t k = 0; k < numDeclared; ++k) {
    IndexDecl &idx = stmt.indices[k];
    Symbol s;
    s.kind = Symbol::Kind::Index;
    s.loc = idx.loc;
    s.type = ValueType::tensor(ElemType::I32);
    if (idx.extent) {
      s.dim = c.evalDim(*idx.extent);
      s.extentLoc = idx.extent->getLoc();
      if (std::optional<int64_t> n =
              s.dim ? s.dim->getConstant() : std::nullopt;
          n && *n <= 0) {
        c.error(idx.extent->getLoc(),
                "the extent of '" + idx.name + "' is " + std::to_string(*n) +
                    "; extents must be positive, as dimensions "
                    "are");
        s.poisoned = true;
      }
    }
    indexSymbols.push_back(c.declare(idx.name, s));
  }
  std::optional<ValueType> value = c.checkExpr(*stmt.value);

  std::vector<DimExpr> shape;
  bool ok = value.has_value();
  for (size_t k = 0; k < numDeclared; ++k) {
    Symbol *s = indexSymbols[k];
    if (!s) {
      ok = false;
      continue;
    }
    if (!s->dim) {
      // After an error in the value the extent may just be unseen.
      if (!stmt.indices[k].extent && value)
        c.error(stmt.indices[k].loc,
                "cannot infer the extent of index '" + stmt.indices[k].name +
                    "': it is never used directly as a subscript; write '" +
                    stmt.indices[k].name + " < EXTENT'");
      ok = false;
      continue;
    }
    shape.push_back(*s->dim);
    if (c.annotating)
      stmt.indices[k].checkedExtent = s->dim;
  }
  c.popScope();
  for (size_t k = 0; k < numDeclared; ++k)
    c.closedIndices[stmt.indices[k].name] = stmt.indices[k].loc;

  if (value && value->isGroup()) {
    c.error(stmt.value->getLoc(),
            "an indexed definition needs a tensor value, but this is a "
            "group " +
                value->str());
    ok = false;
  }
  if (scanAxis && value && value->isTensor() && c.annotating)
    stmt.indices.back().checkedExtent = value->getShape().front();

  ValueType type = ValueType::tensor(ElemType::F32);
  if (ok) {
    shape.insert(shape.end(), value->getShape().begin(),
                 value->getShape().end());
    type = value->withShape(shape);
    if (c.annotating)
      stmt.checkedType = type;
  }
  Symbol s;
  s.kind = Symbol::Kind::Value;
  s.loc = stmt.getLoc();
  s.type = type;
  s.poisoned = !ok;
  c.declare(stmt.name, s);
}

void BodyChecker::checkLet(LetStmt &stmt) {
  if (stmt.names.size() == 1) {
    const LetStmt::Name &name = stmt.names.front();
    if (Symbol *state = findState(name.name); state && !state->poisoned) {
      std::optional<ValueType> value = c.checkExpr(*stmt.value);
      if (c.annotating)
        stmt.isStateUpdate = true;
      if (!value)
        return;
      if (value->isScalar() && !state->type.isScalar()) {
        c.error(stmt.value->getLoc(),
                "the update of state '" + name.name + "' is a scalar, but '" +
                    name.name + "' is " + state->type.str() +
                    "; a state update must keep its shape");
        c.note(state->loc, "declared here");
        return;
      }
      c.checkAssignable(state->type, *value, stmt.value->getLoc(),
                        "the update of state '" + name.name + "'", &state->loc);
      return;
    }
  }

  std::optional<ValueType> value = c.checkExpr(*stmt.value);
  if (stmt.names.size() == 1) {
    Symbol s;
    s.loc = stmt.names.front().loc;
    s.type = value.value_or(ValueType::tensor(ElemType::F32));
    s.kind = Symbol::Kind::Value;
    s.poisoned = !value;
    // A compile-time integer names a dimension (`G = Hq / Hkv`).
    if (value && value->isScalar() && isInteger(value->getElemType())) {
      if (std::optional<DimExpr> d =
              c.evalDim(*stmt.value, false, /*quiet=*/true)) {
        s.kind = Symbol::Kind::DimLet;
        s.dim = d;
        if (c.annotating)
          stmt.checkedDim = d;
      }
    }
    c.declare(stmt.names.front().name, s);
    return;
  }

  // `a, b = group`: unpack positionally.
  if (value &&
      (!value->isGroup() || value->getMembers().size() != stmt.names.size())) {
    c.error(stmt.value->getLoc(), "cannot unpack " + value->str() + " into " +
                                      std::to_string(stmt.names.size()) +
                                      " names");
    value.reset();
  }
  for (size_t i = 0; i < stmt.names.size(); ++i) {
    Symbol s;
    s.kind = Symbol::Kind::Value;
    s.loc = stmt.names[i].loc;
    s.type = value ? value->getMembers()[i].second
                   : ValueType::tensor(ElemType::F32);
    s.poisoned = !value;
    c.declare(stmt.names[i].name, s);
  }
}

void BodyChecker::checkStateDecl(StateDeclStmt &stmt) {
  std::optional<ValueType> type = c.resolveType(*stmt.type);
  std::optional<ValueType> init = c.checkExpr(*stmt.init);
  Symbol s;
  s.kind = Symbol::Kind::Value;
  s.loc = stmt.getLoc();
  s.isState = true;
  s.type = type.value_or(ValueType::tensor(ElemType::F32));
  s.poisoned = !type;
  if (type && init)
    c.checkAssignable(*type, *init, stmt.init->getLoc(),
                      "the initial value of state '" + stmt.name + "'",
                      nullptr);
  if (type && c.annotating)
    stmt.checkedType = type;
  if (c.declare(stmt.name, s))
    c.fnStack.back().scans.back().states.insert(stmt.name);
}

void BodyChecker::checkEmit(EmitStmt &stmt) {
  FnContext::ScanInfo &scan = c.fnStack.back().scans.back();
  std::optional<ValueType> value = c.checkExpr(*stmt.value);
  if (scan.emitted) {
    c.error(stmt.getLoc(), "a scan emits one value per step, but this is a "
                           "second 'emit'");
    c.note(scan.emitLoc, "the first 'emit' is here");
    return;
  }
  scan.emitted = true;
  scan.emitLoc = stmt.getLoc();
  if (value && value->isGroup()) {
    c.error(stmt.value->getLoc(),
            "a scan must emit a tensor, but this is a group " + value->str());
    return;
  }
  scan.emitType = value;
}

bool Checker::checkBody(const std::vector<StmtPtr> &body, bool inScan,
                        std::vector<ValueType> *results,
                        const Location &endLoc) {
  BodyChecker checker(*this, inScan);
  bool returned = false;
  for (const StmtPtr &stmt : body) {
    if (returned) {
      error(stmt->getLoc(), "statement after 'return' is never executed");
      break;
    }
    switch (stmt->getKind()) {
    case Stmt::Kind::IndexedDef:
      checker.checkIndexedDef(*llvm::cast<IndexedDefStmt>(stmt.get()));
      break;
    case Stmt::Kind::Let:
      checker.checkLet(*llvm::cast<LetStmt>(stmt.get()));
      break;
    case Stmt::Kind::StateDecl:
      if (!inScan) {
        error(stmt->getLoc(),
              "'state' declarations are only allowed inside a scan");
        break;
      }
      checker.checkStateDecl(*llvm::cast<StateDeclStmt>(stmt.get()));
      break;
    case Stmt::Kind::Emit:
      if (!inScan) {
        error(stmt->getLoc(),
              "'emit' is only allowed inside a scan; use 'return'");
        break;
      }
      checker.checkEmit(*llvm::cast<EmitStmt>(stmt.get()));
      break;
    case Stmt::Kind::Return: {
      if (inScan) {
        error(stmt->getLoc(),
              "'return' is not allowed inside a scan; use 'emit'");
        break;
      }
      returned = true;
      for (ExprPtr &value : llvm::cast<ReturnStmt>(stmt.get())->values) {
        std::optional<ValueType> t = checkExpr(*value);
        if (t && results)
          results->push_back(*t);
      }
      break;
    }
    }
  }
  if (!inScan && !returned) {
    error(endLoc,
          "function '" + fnStack.back().fn->getName() + "' has no 'return'");
    return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

std::optional<ValueType> Checker::checkExpr(Expr &expr) {
  std::optional<ValueType> type = checkExprImpl(expr);
  if (type && annotating)
    expr.type = type;
  return type;
}

/// An upper bound (exclusive) of the values an index expression takes, when
/// it can be derived from index extents: `h / G` < ceil(Hq / G).
static std::optional<DimExpr> indexBound(Checker &c, const Expr &expr) {
  if (const auto *e = dyn_cast<IntLitExpr>(&expr))
    return DimExpr::constant(e->value + 1);
  if (const auto *e = dyn_cast<NameExpr>(&expr)) {
    Symbol *s = c.lookup(e->name);
    if (s && s->kind == Symbol::Kind::Index && s->dim)
      return s->dim;
    if (s &&
        (s->kind == Symbol::Kind::Const || s->kind == Symbol::Kind::DimLet) &&
        s->dim)
      return *s->dim + DimExpr::constant(1);
    return std::nullopt;
  }
  const auto *e = dyn_cast<BinaryExpr>(&expr);
  if (!e)
    return std::nullopt;
  std::optional<DimExpr> a = indexBound(c, *e->lhs);
  std::optional<int64_t> k;
  if (std::optional<DimExpr> d = c.evalDim(*e->rhs, false, /*quiet=*/true))
    k = d->getConstant();
  if (!a)
    return std::nullopt;
  switch (e->op) {
  case BinaryOp::Div:
    if (k && *k > 0)
      return (*a + DimExpr::constant(*k - 1)).floorDiv(DimExpr::constant(*k));
    return std::nullopt;
  case BinaryOp::Add:
    if (std::optional<DimExpr> b = indexBound(c, *e->rhs))
      return *a + *b - DimExpr::constant(1);
    return std::nullopt;
  case BinaryOp::Mul:
    if (k && *k > 0)
      return (*a - DimExpr::constant(1)) * DimExpr::constant(*k) +
             DimExpr::constant(1);
    return std::nullopt;
  case BinaryOp::Sub:
    if (k && *k >= 0)
      return *a - DimExpr::constant(*k);
    return std::nullopt;
  default:
    return std::nullopt;
  }
}

std::optional<ValueType> Checker::checkSubscript(SubscriptExpr &expr) {
  std::optional<ValueType> base = checkExpr(*expr.base);
  std::vector<std::optional<ValueType>> indexTypes;
  for (ExprPtr &index : expr.indices)
    indexTypes.push_back(checkExpr(*index));
  if (!base)
    return std::nullopt;
  std::string baseName = show(*expr.base);
  if (base->isGroup()) {
    error(expr.getLoc(), "cannot subscript the group '" + baseName +
                             "'; select a member first, e.g. '" + baseName +
                             "." + base->getMembers().front().first + "[...]'");
    return std::nullopt;
  }
  if (expr.indices.size() > base->getRank()) {
    error(expr.indices[base->getRank()]->getLoc(),
          "too many indices for '" + baseName + "': it is " + base->str() +
              " (rank " + std::to_string(base->getRank()) + "), but " +
              std::to_string(expr.indices.size()) + " indices are given");
    return std::nullopt;
  }
  bool ok = true;
  expr.safety.resize(expr.indices.size(), IndexSafety::InRange);
  auto noteSafety = [&](size_t k) {
    noteIndexSafety(expr, k, base->getShape()[k]);
  };
  for (size_t k = 0; k < expr.indices.size(); ++k) {
    Expr &index = *expr.indices[k];
    const DimExpr &dim = base->getShape()[k];
    if (!indexTypes[k]) {
      ok = false;
      continue;
    }
    if (!indexTypes[k]->isScalar() ||
        !isInteger(indexTypes[k]->getElemType())) {
      error(index.getLoc(), "the " + ordinal(k + 1) + " index of '" + baseName +
                                "' must be an integer scalar, but '" +
                                show(index) + "' is " + indexTypes[k]->str());
      ok = false;
      continue;
    }
    // A bare index takes its extent from the first dimension it indexes.
    if (auto *name = dyn_cast<NameExpr>(&index)) {
      Symbol *s = lookup(name->name);
      if (s && s->kind == Symbol::Kind::Index) {
        if (!s->dim) {
          s->dim = dim;
          s->extentLoc = index.getLoc();
          continue;
        }
        std::optional<int64_t> ce = s->dim->getConstant(),
                               cd = dim.getConstant();
        bool fits = *s->dim == dim || (ce && cd && *ce <= *cd);
        if (!fits) {
          error(index.getLoc(),
                "index '" + name->name + "' ranges over " + s->dim->str() +
                    ", but dimension " + std::to_string(k) + " of '" +
                    baseName + "' (" + base->str() + ") has size " + dim.str());
          if (s->extentLoc)
            note(*s->extentLoc,
                 "the extent of '" + name->name + "' comes from here");
          ok = false;
        }
        continue;
      }
    }
    // Reading ahead of the current step of a scan.
    if (auto *bin = dyn_cast<BinaryExpr>(&index);
        bin && bin->op == BinaryOp::Add && !fnStack.empty() &&
        !fnStack.back().scans.empty()) {
      const std::string &t = fnStack.back().scans.back().index;
      auto *lhsName = dyn_cast<NameExpr>(bin->lhs.get());
      auto *rhsName = dyn_cast<NameExpr>(bin->rhs.get());
      auto *lhsInt = dyn_cast<IntLitExpr>(bin->lhs.get());
      auto *rhsInt = dyn_cast<IntLitExpr>(bin->rhs.get());
      if ((lhsName && lhsName->name == t && rhsInt && rhsInt->value > 0) ||
          (rhsName && rhsName->name == t && lhsInt && lhsInt->value > 0)) {
        error(index.getLoc(),
              "the scan reads the future: '" + baseName + "[..., " +
                  show(index) + "]' is ahead of the current step '" + t + "'");
        ok = false;
        continue;
      }
    }
    if (auto *neg = dyn_cast<UnaryExpr>(&index);
        neg && neg->op == UnaryOp::Neg && isa<IntLitExpr>(neg->operand.get())) {
      error(index.getLoc(),
            "index '" + show(index) + "' is negative; indices count from 0");
      ok = false;
      continue;
    }
    if (auto *lit = dyn_cast<IntLitExpr>(&index)) {
      std::optional<int64_t> cd = dim.getConstant();
      if (lit->value < 0 || (cd && lit->value >= *cd)) {
        error(index.getLoc(), "index " + std::to_string(lit->value) +
                                  " is out of range for dimension " +
                                  std::to_string(k) + " of '" + baseName +
                                  "' (size " + dim.str() + ")");
        ok = false;
      } else {
        noteSafety(k);
      }
      continue;
    }
    if (std::optional<DimExpr> bound = indexBound(*this, index)) {
      std::optional<int64_t> cb = bound->getConstant(), cd = dim.getConstant();
      if (cb && cd && *cb > *cd) {
        error(index.getLoc(), "index '" + show(index) +
                                  "' takes values up to " +
                                  std::to_string(*cb - 1) + ", but dimension " +
                                  std::to_string(k) + " of '" + baseName +
                                  "' has size " + std::to_string(*cd));
        ok = false;
        continue;
      }
    }
    noteSafety(k);
  }
  if (!ok)
    return std::nullopt;
  std::vector<DimExpr> rest(base->getShape().begin() + expr.indices.size(),
                            base->getShape().end());
  return base->withShape(rest);
}

/// The type of `a op b` for arithmetic, comparison and logic on tensors.
static std::optional<ValueType> elementwise(Checker &c, BinaryOp op,
                                            const ValueType &a,
                                            const ValueType &b,
                                            const Location &loc) {
  std::string opName = toString(op);
  bool logic = op == BinaryOp::And || op == BinaryOp::Or;
  bool compare = op == BinaryOp::Lt || op == BinaryOp::Le ||
                 op == BinaryOp::Gt || op == BinaryOp::Ge ||
                 op == BinaryOp::Eq || op == BinaryOp::Ne;
  bool equality = op == BinaryOp::Eq || op == BinaryOp::Ne;
  for (const ValueType *t : {&a, &b}) {
    const char *side = t == &a ? "left" : "right";
    bool isBool = t->getElemType() == ElemType::I1;
    if (logic && !isBool) {
      c.error(loc, "'" + opName + "' needs i1 (boolean) operands, but its " +
                       side + " operand is " + t->str());
      return std::nullopt;
    }
    if (!logic && isBool && !(equality && a.getElemType() == b.getElemType())) {
      c.error(loc, "'" + opName + "' needs numbers, but its " + side +
                       " operand is " + t->str());
      return std::nullopt;
    }
  }
  std::optional<std::vector<DimExpr>> shape =
      Checker::broadcast(a.getShape(), b.getShape());
  if (!shape) {
    c.error(loc, "cannot broadcast " + a.str() + " and " + b.str() + " in '" +
                     opName + "'");
    return std::nullopt;
  }
  ElemType elem = (logic || compare)
                      ? ElemType::I1
                      : Checker::promote(a.getElemType(), b.getElemType());
  return ValueType::tensor(elem, *shape);
}

/// `a @ b`: matrix and vector products, batched over leading dims.
static std::optional<ValueType> matmul(Checker &c, const ValueType &a,
                                       const ValueType &b,
                                       const Location &loc) {
  if (a.getRank() == 0 || b.getRank() == 0) {
    c.error(loc, "'@' needs tensors of rank 1 or more, but it is given " +
                     a.str() + " and " + b.str() + "; use '*' for scalars");
    return std::nullopt;
  }
  if (a.getElemType() == ElemType::I1 || b.getElemType() == ElemType::I1) {
    c.error(loc, "'@' needs numbers, but it is given " + a.str() + " and " +
                     b.str());
    return std::nullopt;
  }
  std::vector<DimExpr> sa = a.getShape(), sb = b.getShape();
  bool vecA = sa.size() == 1, vecB = sb.size() == 1;
  const DimExpr &ka = sa.back();
  const DimExpr &kb = vecB ? sb.back() : sb[sb.size() - 2];
  if (ka != kb) {
    c.error(loc, "'@' cannot multiply " + a.str() + " by " + b.str() +
                     ": the contracted dimensions " + ka.str() + " and " +
                     kb.str() + " differ");
    return std::nullopt;
  }
  std::vector<DimExpr> batchA(sa.begin(), sa.end() - (vecA ? 1 : 2));
  std::vector<DimExpr> batchB(sb.begin(), sb.end() - (vecB ? 1 : 2));
  std::optional<std::vector<DimExpr>> shape =
      Checker::broadcast(batchA, batchB);
  if (!shape) {
    c.error(loc, "'@' cannot broadcast the batch dimensions of " + a.str() +
                     " and " + b.str());
    return std::nullopt;
  }
  if (!vecA)
    shape->push_back(sa[sa.size() - 2]);
  if (!vecB)
    shape->push_back(sb.back());
  return ValueType::tensor(Checker::promote(a.getElemType(), b.getElemType()),
                           *shape);
}

std::optional<ValueType> Checker::checkBinary(BinaryExpr &expr) {
  std::optional<ValueType> a = checkExpr(*expr.lhs);
  std::optional<ValueType> b = checkExpr(*expr.rhs);
  if (!a || !b)
    return std::nullopt;
  const Location &loc = expr.getLoc();
  if (a->isGroup() || b->isGroup()) {
    // Member-wise arithmetic: `eta * S - theta * grad(loss, W)`.
    bool arith = expr.op == BinaryOp::Add || expr.op == BinaryOp::Sub ||
                 expr.op == BinaryOp::Mul || expr.op == BinaryOp::Div;
    const ValueType &group = a->isGroup() ? *a : *b;
    const ValueType &other = a->isGroup() ? *b : *a;
    if (!arith || (other.isTensor() && !other.isScalar())) {
      error(loc, "'" + std::string(toString(expr.op)) + "' cannot combine " +
                     a->str() + " and " + b->str() +
                     "; groups combine member-wise with groups of the same "
                     "members or with scalars");
      return std::nullopt;
    }
    if (other.isGroup() &&
        !checkAssignable(group, other, loc, "the right operand", nullptr))
      return std::nullopt;
    std::vector<std::pair<std::string, ValueType>> members;
    for (const auto &[name, memberType] : group.getMembers()) {
      const ValueType &o = other.isGroup() ? *other.getMember(name) : other;
      std::optional<ValueType> m =
          a->isGroup() ? elementwise(*this, expr.op, memberType, o, loc)
                       : elementwise(*this, expr.op, o, memberType, loc);
      if (!m)
        return std::nullopt;
      members.emplace_back(name, *m);
    }
    return ValueType::group(std::move(members));
  }
  if (expr.op == BinaryOp::MatMul)
    return matmul(*this, *a, *b, loc);
  std::optional<ValueType> result = elementwise(*this, expr.op, *a, *b, loc);
  // An integer power stays an integer only for a literal exponent >= 0:
  // `2 ^ (-h)` is a fraction.
  auto *exponent = dyn_cast<IntLitExpr>(expr.rhs.get());
  if (result && expr.op == BinaryOp::Pow && isInteger(result->getElemType()) &&
      !(exponent && exponent->value >= 0))
    result = result->withElemType(ElemType::F32);
  if (result && isFloat(result->getElemType())) {
    warnTruncatingDivision(*expr.lhs);
    warnTruncatingDivision(*expr.rhs);
  }
  return result;
}

std::optional<ValueType> Checker::checkAttend(AttendExpr &expr) {
  std::optional<DimExpr> extent = evalDim(*expr.extent);
  pushScope();
  bool ok =
      declareIndex(expr.index, expr.indexLoc, extent, expr.extent->getLoc()) &&
      extent;

  // The keys the mask drops are never used: its facts guard the score and
  // the value (not the mask itself, which is evaluated for every key).
  auto pushMask = [&] {
    if (expr.mask)
      pushGuard(*expr.mask, true);
  };
  auto popMask = [&] {
    if (expr.mask)
      popGuard();
  };
  pushMask();
  if (!expr.score) {
    error(expr.getLoc(), "attend has no 'score' clause");
    ok = false;
  } else if (std::optional<ValueType> s = checkExpr(*expr.score)) {
    if (!s->isTensor() || !isNumeric(*s)) {
      error(expr.score->getLoc(),
            "the attend score must be a number, but it is " + s->str());
      ok = false;
    } else if (!s->isScalar()) {
      error(expr.score->getLoc(),
            "the attend score must be a scalar, but it is " + s->str() +
                "; reduce it, e.g. with dot(...)");
      ok = false;
    }
  } else {
    ok = false;
  }

  popMask();
  if (expr.mask) {
    std::optional<ValueType> m = checkExpr(*expr.mask);
    if (m && !(m->isScalar() && m->getElemType() == ElemType::I1)) {
      error(expr.mask->getLoc(), "the attend mask must be a scalar i1 (true "
                                 "keeps key '" +
                                     expr.index + "'), but it is " + m->str());
      ok = false;
    }
    ok &= m.has_value();
  }

  if (expr.normalizer.bias) {
    std::optional<ValueType> b = checkExpr(*expr.normalizer.bias);
    if (b && !(b->isScalar() && isNumeric(*b))) {
      error(expr.normalizer.bias->getLoc(),
            "the sigmoid bias must be a scalar number, but it is " + b->str());
      ok = false;
    }
    ok &= b.has_value();
  }

  std::optional<ValueType> value;
  pushMask();
  if (!expr.value) {
    error(expr.getLoc(), "attend has no 'value' clause");
    ok = false;
  } else if ((value = checkExpr(*expr.value))) {
    if (!isNumeric(*value)) {
      error(expr.value->getLoc(),
            "the attend value must be a tensor of numbers, but it is " +
                value->str());
      ok = false;
    }
  } else {
    ok = false;
  }
  popMask();
  popScope();
  closedIndices[expr.index] = expr.indexLoc;
  if (!ok)
    return std::nullopt;
  ElemType elem =
      isFloat(value->getElemType()) ? value->getElemType() : ElemType::F32;
  return value->withElemType(elem);
}

std::optional<ValueType> Checker::checkScan(ScanExpr &expr) {
  std::optional<DimExpr> extent = evalDim(*expr.extent);
  bool ok = extent.has_value();
  if (expr.chunk) {
    std::optional<DimExpr> chunk = evalDim(*expr.chunk);
    std::optional<int64_t> c = chunk ? chunk->getConstant() : std::nullopt;
    if (chunk && (!c || *c <= 0)) {
      error(expr.chunk->getLoc(), "the chunk size must be a positive "
                                  "compile-time integer, but it is " +
                                      chunk->str());
      ok = false;
    }
    ok &= chunk.has_value();
  }
  pushScope();
  ok &= declareIndex(expr.index, expr.indexLoc, extent,
                     expr.extent->getLoc()) != nullptr;
  fnStack.back().scans.push_back(FnContext::ScanInfo{expr.index, {}});
  unsigned before = numErrors;
  checkBody(expr.body, /*inScan=*/true, nullptr, expr.getLoc());
  FnContext::ScanInfo info = fnStack.back().scans.back();
  fnStack.back().scans.pop_back();
  popScope();
  closedIndices[expr.index] = expr.indexLoc;
  if (!info.emitted) {
    error(expr.getLoc(), "scan has no 'emit': each step must emit a value");
    return std::nullopt;
  }
  if (!ok || numErrors != before || !info.emitType)
    return std::nullopt;
  std::vector<DimExpr> shape = {*extent};
  shape.insert(shape.end(), info.emitType->getShape().begin(),
               info.emitType->getShape().end());
  return info.emitType->withShape(shape);
}

std::optional<ValueType> Checker::checkExprImpl(Expr &expr) {
  switch (expr.getKind()) {
  case Expr::Kind::IntLit: {
    int64_t v = llvm::cast<IntLitExpr>(expr).value;
    bool fits32 = v >= INT32_MIN && v <= INT32_MAX;
    return ValueType::tensor(fits32 ? ElemType::I32 : ElemType::I64);
  }
  case Expr::Kind::FloatLit:
    return ValueType::tensor(ElemType::F32);
  case Expr::Kind::BoolLit:
    return ValueType::tensor(ElemType::I1);
  case Expr::Kind::Name: {
    auto &e = llvm::cast<NameExpr>(expr);
    if (Symbol *s = lookup(e.name)) {
      if (s->poisoned)
        return std::nullopt;
      return s->type;
    }
    if (auto g = globals.find(e.name); g != globals.end()) {
      const char *what = isa<FnDecl>(g->second)      ? "function"
                         : isa<BlockDecl>(g->second) ? "block"
                         : isa<ArchDecl>(g->second)  ? "architecture"
                                                     : "type";
      error(e.getLoc(),
            "'" + e.name + "' is a " + what + ", not a value" +
                (isa<FnDecl>(g->second) ? "; call it as " + e.name + "(...)"
                                        : std::string()));
      return std::nullopt;
    }
    unknownName(e.getLoc(), e.name);
    return std::nullopt;
  }
  case Expr::Kind::Subscript:
    return checkSubscript(llvm::cast<SubscriptExpr>(expr));
  case Expr::Kind::Member: {
    auto &e = llvm::cast<MemberExpr>(expr);
    std::optional<ValueType> base = checkExpr(*e.base);
    if (!base)
      return std::nullopt;
    if (!base->isGroup()) {
      error(e.getLoc(), "'" + show(*e.base) + "' is " + base->str() +
                            ", not a group, so it has no member '" + e.member +
                            "'");
      return std::nullopt;
    }
    if (const ValueType *m = base->getMember(e.member))
      return *m;
    std::vector<std::string> names;
    for (const auto &m : base->getMembers())
      names.push_back(m.first);
    error(e.getLoc(), "'" + show(*e.base) + "' has no member '" + e.member +
                          "'; its members are " + joinNames(names));
    return std::nullopt;
  }
  case Expr::Kind::Unary: {
    auto &e = llvm::cast<UnaryExpr>(expr);
    std::optional<ValueType> t = checkExpr(*e.operand);
    if (!t)
      return std::nullopt;
    if (e.op == UnaryOp::Not) {
      if (t->isTensor() && t->getElemType() == ElemType::I1)
        return t;
      error(e.getLoc(),
            "'!' needs an i1 (boolean) operand, but it is " + t->str());
      return std::nullopt;
    }
    if (t->isGroup() || isNumeric(*t))
      return t;
    error(e.getLoc(), "'-' needs a number, but it is " + t->str());
    return std::nullopt;
  }
  case Expr::Kind::Binary:
    return checkBinary(llvm::cast<BinaryExpr>(expr));
  case Expr::Kind::Call: {
    auto &e = llvm::cast<CallExpr>(expr);
    if (auto g = globals.find(e.callee); g != globals.end()) {
      if (auto *fn = dyn_cast<FnDecl>(g->second))
        return checkUserCall(e, *fn);
      error(e.getLoc(), "'" + e.callee +
                            "' is a block or architecture; use it in an "
                            "architecture, not in a function body");
      return std::nullopt;
    }
    if (isBuiltin(e.callee))
      return checkBuiltinCall(e);
    if (Symbol *s = lookup(e.callee)) {
      error(e.getLoc(), "'" + e.callee + "' is a value, not a function");
      note(s->loc, "'" + e.callee + "' is defined here");
      return std::nullopt;
    }
    error(e.getLoc(), "unknown function '" + e.callee + "'");
    return std::nullopt;
  }
  case Expr::Kind::Reduce:
    return checkReduce(llvm::cast<ReduceExpr>(expr));
  case Expr::Kind::GroupLit: {
    auto &e = llvm::cast<GroupLitExpr>(expr);
    std::vector<std::pair<std::string, ValueType>> members;
    std::map<std::string, Location> seen;
    bool ok = true;
    for (GroupLitExpr::Field &f : e.fields) {
      if (auto prev = seen.find(f.name); prev != seen.end()) {
        error(f.loc, "duplicate member '" + f.name + "' in group value");
        note(prev->second, "'" + f.name + "' was first given here");
        ok = false;
      }
      seen[f.name] = f.loc;
      std::optional<ValueType> t = checkExpr(*f.value);
      if (t && t->isGroup()) {
        error(f.loc, "group member '" + f.name +
                         "' is itself a group; groups hold tensors");
        t.reset();
      }
      ok &= t.has_value();
      if (t)
        members.emplace_back(f.name, *t);
    }
    if (!ok)
      return std::nullopt;
    return ValueType::group(std::move(members));
  }
  case Expr::Kind::Attend:
    return checkAttend(llvm::cast<AttendExpr>(expr));
  case Expr::Kind::Scan:
    return checkScan(llvm::cast<ScanExpr>(expr));
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Module
//===----------------------------------------------------------------------===//

bool Checker::run() {
  // Global names: one definition each.
  for (DeclPtr &decl : module.decls) {
    auto [it, inserted] = globals.emplace(decl->getName(), decl.get());
    if (!inserted) {
      error(decl->getLoc(), "redefinition of '" + decl->getName() + "'");
      note(it->second->getLoc(),
           "'" + decl->getName() + "' was first defined here");
    }
  }

  // Top-level constants, in order; each may use the ones before it.
  for (DeclPtr &decl : module.decls) {
    auto *c = dyn_cast<ConstDecl>(decl.get());
    if (!c || globals[c->getName()] != c)
      continue;
    std::optional<ConstValue> value;
    if (auto o = options.overrides.find(c->getName());
        o != options.overrides.end())
      value = o->second;
    else
      value = evalConst(*c->value);
    c->checkedValue = value;
    Symbol s = makeConstSymbol(c->getName(), c->getLoc(), value);
    if (!value)
      s.poisoned = true;
    globalScope[c->getName()] = s;
  }

  for (DeclPtr &decl : module.decls) {
    if (globals[decl->getName()] != decl.get())
      continue;
    if (auto *fn = dyn_cast<FnDecl>(decl.get()))
      checkFunctionGeneric(*fn);
    else if (auto *block = dyn_cast<BlockDecl>(decl.get()))
      checkBlockAlone(*block);
    else if (auto *arch = dyn_cast<ArchDecl>(decl.get()))
      checkArch(*arch);
    else if (auto *type = dyn_cast<TypeDecl>(decl.get())) {
      // Resolve with free dims as sizes, to report errors inside it once.
      scopes.clear();
      pushScope();
      resolveType(*type->type, /*declareSizes=*/true);
      scopes.clear();
    }
  }
  return numErrors == 0;
}

bool attnc::checkModule(Module &module, DiagnosticEngine &diags,
                        const CheckOptions &options) {
  Checker checker(module, diags, options);
  return checker.run();
}

std::vector<std::string> attnc::getOverridableConstants(const Module &module) {
  std::set<std::string> names;
  for (const DeclPtr &decl : module.decls) {
    if (isa<ConstDecl>(decl.get()))
      names.insert(decl->getName());
    const std::vector<ConstParam> *params = nullptr;
    if (auto *fn = dyn_cast<FnDecl>(decl.get()))
      params = &fn->constParams;
    else if (auto *block = dyn_cast<BlockDecl>(decl.get()))
      params = &block->constParams;
    else if (auto *arch = dyn_cast<ArchDecl>(decl.get()))
      params = &arch->constParams;
    if (params)
      for (const ConstParam &p : *params)
        names.insert(p.name);
  }
  return {names.begin(), names.end()};
}
