//===- IndexRange.cpp - Proving subscripts within their dimensions --------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
//
// Interval bounds of integer index expressions, as polynomials over the
// sizes, and the facts that `where` conditions and attend masks add. A
// subscript is InRange when its bounds alone prove it, Guarded when the
// facts of the guards around it do (its value is used only where it is in
// range, but the back ends may evaluate it elsewhere: they clamp it), and
// Checked otherwise (clamped and checked at run time).
//
// Sizes are taken to be at least 1: an index into a dimension of size 0 is
// never evaluated, since every loop over that dimension is empty.
//
//===----------------------------------------------------------------------===//

#include "Checker.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Casting.h"

#include <algorithm>
#include <functional>

using namespace attnc;
using namespace attnc::sema;
using llvm::dyn_cast;
using llvm::isa;

/// Candidate bounds kept per side: enough for a few facts about one value.
static constexpr size_t kMaxBounds = 6;

/// Whether `e` >= 0 for all sizes >= 1: after substituting s = s' + 1 for
/// each size s, every coefficient is non-negative (quotient atoms such as
/// `(N / 64)` are >= 0 themselves).
static bool isNonNegative(const DimExpr &e) {
  std::map<std::string, DimExpr> shift;
  for (const std::string &s : e.getSymbols())
    if (!e.getQuotient(s))
      shift[s] = DimExpr::symbol(s) + DimExpr::constant(1);
  DimExpr shifted = e.substitute(shift);
  return llvm::all_of(shifted.getTerms(),
                      [](const auto &term) { return term.second >= 0; });
}

static void addBound(std::vector<DimExpr> &bounds, const DimExpr &b) {
  if (bounds.size() < kMaxBounds && !llvm::is_contained(bounds, b))
    bounds.push_back(b);
}

/// Every pairwise combination of two bound lists.
template <typename F>
static std::vector<DimExpr> combine(const std::vector<DimExpr> &x,
                                    const std::vector<DimExpr> &y, F f) {
  std::vector<DimExpr> out;
  for (const DimExpr &a : x)
    for (const DimExpr &b : y)
      addBound(out, f(a, b));
  return out;
}

static std::vector<DimExpr> scale(const std::vector<DimExpr> &x, int64_t k) {
  std::vector<DimExpr> out;
  for (const DimExpr &a : x)
    addBound(out, a * DimExpr::constant(k));
  return out;
}

/// The candidates of `x` and `y` that they share, and `pick` of each pair
/// of constants: bounds valid for both values.
template <typename F>
static std::vector<DimExpr> sharedBounds(const std::vector<DimExpr> &x,
                                         const std::vector<DimExpr> &y,
                                         F pick) {
  std::vector<DimExpr> out;
  for (const DimExpr &a : x) {
    if (llvm::is_contained(y, a))
      addBound(out, a);
    for (const DimExpr &b : y)
      if (a.getConstant() && b.getConstant())
        addBound(out,
                 DimExpr::constant(pick(*a.getConstant(), *b.getConstant())));
  }
  return out;
}

/// A lower bound valid for both of two values (`min`, a `where`): a shared
/// candidate, the smaller of two constants, or 0 when both are >= 0.
static std::vector<DimExpr> commonLower(const std::vector<DimExpr> &x,
                                        const std::vector<DimExpr> &y) {
  std::vector<DimExpr> out =
      sharedBounds(x, y, [](int64_t a, int64_t b) { return std::min(a, b); });
  if (llvm::any_of(x, isNonNegative) && llvm::any_of(y, isNonNegative))
    addBound(out, DimExpr::constant(0));
  return out;
}

/// An upper bound valid for both: a shared candidate, the larger constant,
/// or a candidate of one side that is >= one of the other's for every size.
static std::vector<DimExpr> commonUpper(const std::vector<DimExpr> &x,
                                        const std::vector<DimExpr> &y) {
  std::vector<DimExpr> out =
      sharedBounds(x, y, [](int64_t a, int64_t b) { return std::max(a, b); });
  // a >= b for every size: a bounds both.
  for (const DimExpr &a : x)
    for (const DimExpr &b : y)
      if (isNonNegative(a - b))
        addBound(out, a);
  for (const DimExpr &b : y)
    for (const DimExpr &a : x)
      if (isNonNegative(b - a))
        addBound(out, b);
  return out;
}

Checker::Range Checker::rangeOf(const Expr &expr, bool useFacts) {
  Range r;
  if (useFacts)
    for (const std::map<std::string, Range> &facts : guardFacts) {
      auto it = facts.find(show(expr));
      if (it == facts.end())
        continue;
      for (const DimExpr &b : it->second.lo)
        addBound(r.lo, b);
      for (const DimExpr &b : it->second.hi)
        addBound(r.hi, b);
    }
  auto add = [&](const Range &x) {
    for (const DimExpr &b : x.lo)
      addBound(r.lo, b);
    for (const DimExpr &b : x.hi)
      addBound(r.hi, b);
    return r;
  };

  if (auto *name = dyn_cast<NameExpr>(&expr)) {
    Symbol *s = lookup(name->name);
    if (s && s->kind == Symbol::Kind::Index && s->dim)
      return add({{DimExpr::constant(0)}, {*s->dim - DimExpr::constant(1)}});
  }
  // Sizes, constants and arithmetic on them.
  if (!isa<SubscriptExpr>(expr))
    if (std::optional<DimExpr> d = evalDim(expr, false, /*quiet=*/true))
      return add({{*d}, {*d}});

  if (auto *u = dyn_cast<UnaryExpr>(&expr); u && u->op == UnaryOp::Neg) {
    Range x = rangeOf(*u->operand, useFacts);
    return add({scale(x.hi, -1), scale(x.lo, -1)});
  }
  if (auto *bin = dyn_cast<BinaryExpr>(&expr)) {
    auto constRhs = [&]() -> std::optional<int64_t> {
      if (std::optional<DimExpr> d = evalDim(*bin->rhs, false, true))
        return d->getConstant();
      return std::nullopt;
    };
    Range x = rangeOf(*bin->lhs, useFacts);
    switch (bin->op) {
    case BinaryOp::Add: {
      Range y = rangeOf(*bin->rhs, useFacts);
      auto plus = [](const DimExpr &a, const DimExpr &b) { return a + b; };
      return add({combine(x.lo, y.lo, plus), combine(x.hi, y.hi, plus)});
    }
    case BinaryOp::Sub: {
      Range y = rangeOf(*bin->rhs, useFacts);
      auto minus = [](const DimExpr &a, const DimExpr &b) { return a - b; };
      return add({combine(x.lo, y.hi, minus), combine(x.hi, y.lo, minus)});
    }
    case BinaryOp::Mul: {
      std::optional<int64_t> k = constRhs();
      if (!k)
        break;
      return add(*k >= 0 ? Range{scale(x.lo, *k), scale(x.hi, *k)}
                         : Range{scale(x.hi, *k), scale(x.lo, *k)});
    }
    case BinaryOp::Div: {
      // Floor division by a positive constant is monotone.
      std::optional<int64_t> k = constRhs();
      if (!k || *k <= 0)
        break;
      Range q;
      for (const DimExpr &b : x.lo)
        addBound(q.lo, b.floorDiv(DimExpr::constant(*k)));
      for (const DimExpr &b : x.hi)
        addBound(q.hi, b.floorDiv(DimExpr::constant(*k)));
      return add(q);
    }
    case BinaryOp::Mod: {
      // The remainder takes the sign of the dividend.
      std::optional<DimExpr> m = evalDim(*bin->rhs, false, true);
      if (!m || !isNonNegative(*m - DimExpr::constant(1)))
        break;
      DimExpr top = *m - DimExpr::constant(1);
      bool nonNeg = llvm::any_of(x.lo, isNonNegative);
      return add({{nonNeg ? DimExpr::constant(0) : DimExpr() - top}, {top}});
    }
    default:
      break;
    }
    return r;
  }
  if (auto *call = dyn_cast<CallExpr>(&expr)) {
    if ((call->callee == "min" || call->callee == "max") &&
        call->args.size() == 2) {
      Range x = rangeOf(*call->args[0], useFacts);
      Range y = rangeOf(*call->args[1], useFacts);
      Range m;
      bool isMin = call->callee == "min";
      // min(x, y) <= x and <= y; max(x, y) >= x and >= y.
      m.lo = isMin ? commonLower(x.lo, y.lo) : x.lo;
      m.hi = isMin ? x.hi : commonUpper(x.hi, y.hi);
      for (const DimExpr &b : isMin ? y.hi : y.lo)
        addBound(isMin ? m.hi : m.lo, b);
      return add(m);
    }
    if (call->callee == "where" && call->args.size() == 3) {
      pushGuard(*call->args[0], true);
      Range x = rangeOf(*call->args[1], useFacts);
      popGuard();
      pushGuard(*call->args[0], false);
      Range y = rangeOf(*call->args[2], useFacts);
      popGuard();
      return add({commonLower(x.lo, y.lo), commonUpper(x.hi, y.hi)});
    }
  }
  return r;
}

void Checker::pushGuard(const Expr &cond, bool holds) {
  std::map<std::string, Range> facts;
  // `a < b` (or its negation, as the comparison it means) bounds both sides.
  std::function<void(const Expr &, bool)> learn = [&](const Expr &c, bool h) {
    if (auto *u = dyn_cast<UnaryExpr>(&c); u && u->op == UnaryOp::Not)
      return learn(*u->operand, !h);
    auto *bin = dyn_cast<BinaryExpr>(&c);
    if (!bin)
      return;
    if ((bin->op == BinaryOp::And && h) || (bin->op == BinaryOp::Or && !h)) {
      learn(*bin->lhs, h);
      learn(*bin->rhs, h);
      return;
    }
    BinaryOp op = bin->op;
    const Expr *a = bin->lhs.get(), *b = bin->rhs.get();
    // Everything as a <= b + slack or equality.
    if (op == BinaryOp::Gt || op == BinaryOp::Ge) {
      std::swap(a, b);
      op = op == BinaryOp::Gt ? BinaryOp::Lt : BinaryOp::Le;
    }
    if (!h) {
      // !(a < b) is b <= a; !(a <= b) is b < a.
      if (op == BinaryOp::Lt || op == BinaryOp::Le) {
        std::swap(a, b);
        op = op == BinaryOp::Lt ? BinaryOp::Le : BinaryOp::Lt;
      } else {
        return; // !(a == b) says nothing about bounds
      }
    }
    int64_t slack = op == BinaryOp::Lt ? 1 : 0;
    if (op != BinaryOp::Lt && op != BinaryOp::Le && op != BinaryOp::Eq)
      return;
    // The facts themselves are taken without facts: no circular proofs.
    Range ra = rangeOf(*a, false), rb = rangeOf(*b, false);
    Range &fa = facts[show(*a)], &fb = facts[show(*b)];
    for (const DimExpr &x : rb.hi)
      addBound(fa.hi, x - DimExpr::constant(slack));
    for (const DimExpr &x : ra.lo)
      addBound(fb.lo, x + DimExpr::constant(slack));
    if (op == BinaryOp::Eq) {
      for (const DimExpr &x : rb.lo)
        addBound(fa.lo, x);
      for (const DimExpr &x : ra.hi)
        addBound(fb.hi, x);
    }
  };
  learn(cond, holds);
  guardFacts.push_back(std::move(facts));
}

IndexSafety Checker::classifyIndex(const Expr &index, const DimExpr &dim) {
  auto proves = [&](const Range &r) {
    return llvm::any_of(r.lo, isNonNegative) &&
           llvm::any_of(r.hi, [&](const DimExpr &hi) {
             return isNonNegative(dim - DimExpr::constant(1) - hi);
           });
  };
  if (proves(rangeOf(index, /*useFacts=*/false)))
    return IndexSafety::InRange;
  if (proves(rangeOf(index, /*useFacts=*/true)))
    return IndexSafety::Guarded;
  return IndexSafety::Checked;
}

/// The indices `e` reads whose extents are not known yet.
static void collectUnknownIndices(Checker &c, const Expr &e,
                                  std::vector<std::string> &out) {
  if (auto *name = dyn_cast<NameExpr>(&e)) {
    Symbol *s = c.lookup(name->name);
    if (s && s->kind == Symbol::Kind::Index && !s->dim &&
        !llvm::is_contained(out, name->name))
      out.push_back(name->name);
  }
  forEachChild(
      e, [&](const Expr &child) { collectUnknownIndices(c, child, out); },
      [](const Stmt &) {});
}

void Checker::noteIndexSafety(SubscriptExpr &expr, size_t k,
                              const DimExpr &dim) {
  std::vector<std::string> unknown;
  collectUnknownIndices(*this, *expr.indices[k], unknown);
  if (!unknown.empty()) {
    pendingIndices.push_back({&expr, k, dim, guardFacts, std::move(unknown)});
    return;
  }
  // The weakest result over every instance of a generic function.
  expr.safety[k] =
      std::max(expr.safety[k], classifyIndex(*expr.indices[k], dim));
}

void Checker::resolvePendingIndices() {
  std::vector<PendingIndex> keep;
  for (PendingIndex &p : pendingIndices) {
    bool ready = llvm::all_of(p.unknown, [&](const std::string &name) {
      Symbol *s = lookup(name);
      return !s || s->dim || (!scopes.empty() && scopes.back().count(name));
    });
    if (!ready) {
      keep.push_back(std::move(p));
      continue;
    }
    std::swap(guardFacts, p.facts);
    IndexSafety s = classifyIndex(*p.expr->indices[p.k], p.dim);
    std::swap(guardFacts, p.facts);
    p.expr->safety[p.k] = std::max(p.expr->safety[p.k], s);
  }
  pendingIndices = std::move(keep);
}
