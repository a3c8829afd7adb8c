//===- ScanLinearity.cpp - The algebraic form of a scan's step ------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
//
// See ScanLinearity.h. An update `S = e` is split into the terms of its top
// level sum; the terms that read no state form B_t, and each term that does
// is classified as a piece of A_t:
//
//   S, S[d, e]                         identity
//   c * P, P * c, P / c   (c free)     P scaled: by a scalar, or by a tensor
//                                      (elementwise or per-row: a gate)
//   P @ M, M @ P          (M free)     P times I - low rank (M = eye(D) -
//                                      c * outer(a, b), or diag(w) - ...),
//                                      else a dense A_t
//   outer(P, b), outer(a, P)           a rank-one update of the state
//
// and the pieces combine: one identity, scale or gate piece, plus rank-one
// pieces, is a low-rank transition; anything else affine is "affine".
// Locals computed from the states (`Sk = S @ k`) are read through their
// definitions.
//
//===----------------------------------------------------------------------===//

#include "ScanLinearity.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Casting.h"

using namespace attnc;
using namespace attnc::mlirgen;
using llvm::dyn_cast;
using llvm::isa;

llvm::StringRef mlirgen::toString(Transition t) {
  switch (t) {
  case Transition::Identity:
    return "identity";
  case Transition::ScalarDecay:
    return "scalar_decay";
  case Transition::DiagonalGate:
    return "diagonal_gate";
  case Transition::LowRank:
    return "low_rank";
  case Transition::Affine:
    return "affine";
  case Transition::NonLinear:
    return "nonlinear";
  }
  return "nonlinear";
}

llvm::StringRef mlirgen::toString(EmitForm e) {
  switch (e) {
  case EmitForm::Linear:
    return "linear";
  case EmitForm::Ratio:
    return "ratio";
  case EmitForm::NonLinear:
    return "nonlinear";
  }
  return "nonlinear";
}

bool ScanForm::isAffine() const {
  return llvm::none_of(states, [](const StateForm &s) {
    return s.transition == Transition::NonLinear;
  });
}

namespace {

/// A piece of A_t: what one term of an update does to the state.
enum class Piece { Identity, Scaled, Gated, RankOne, LowRank, Affine, Other };

struct Classified {
  Piece piece;
  std::string reason; // for Affine and Other
};

class Analyzer {
public:
  llvm::StringSet<> states;
  /// Locals computed from the states, by name.
  llvm::StringMap<const Expr *> dependent;

  /// Whether `e` reads a state, directly or through a dependent local.
  bool reads(const Expr &e) const {
    if (auto *n = dyn_cast<NameExpr>(&e))
      return states.contains(n->name) || dependent.contains(n->name);
    bool found = false;
    forEachChild(
        e, [&](const Expr &c) { found = found || reads(c); },
        [&](const Stmt &) { found = true; });
    return found;
  }

  /// Whether `e` reads the name `name`.
  static bool readsName(const Expr &e, llvm::StringRef name) {
    if (auto *n = dyn_cast<NameExpr>(&e))
      return n->name == name;
    bool found = false;
    forEachChild(
        e, [&](const Expr &c) { found = found || readsName(c, name); },
        [&](const Stmt &) {});
    return found;
  }

  /// Whether `e` is affine in the states.
  bool affine(const Expr &e, unsigned depth = 0) const {
    if (!reads(e))
      return true;
    if (depth > 32)
      return false;
    if (auto *n = dyn_cast<NameExpr>(&e))
      return states.contains(n->name) ||
             affine(*dependent.lookup(n->name), depth + 1);
    if (auto *s = dyn_cast<SubscriptExpr>(&e))
      return affine(*s->base, depth + 1) &&
             llvm::none_of(s->indices,
                           [&](const ExprPtr &i) { return reads(*i); });
    if (auto *m = dyn_cast<MemberExpr>(&e))
      return affine(*m->base, depth + 1);
    if (auto *u = dyn_cast<UnaryExpr>(&e))
      return u->op == UnaryOp::Neg && affine(*u->operand, depth + 1);
    if (auto *b = dyn_cast<BinaryExpr>(&e)) {
      switch (b->op) {
      case BinaryOp::Add:
      case BinaryOp::Sub:
        return affine(*b->lhs, depth + 1) && affine(*b->rhs, depth + 1);
      case BinaryOp::Mul:
      case BinaryOp::MatMul:
        return (!reads(*b->lhs) && affine(*b->rhs, depth + 1)) ||
               (affine(*b->lhs, depth + 1) && !reads(*b->rhs));
      case BinaryOp::Div:
        return affine(*b->lhs, depth + 1) && !reads(*b->rhs);
      default:
        return false;
      }
    }
    if (auto *c = dyn_cast<CallExpr>(&e)) {
      if (c->callee == "transpose")
        return affine(*c->args[0], depth + 1);
      if (c->callee == "outer" || c->callee == "dot")
        return (affine(*c->args[0], depth + 1) && !reads(*c->args[1])) ||
               (!reads(*c->args[0]) && affine(*c->args[1], depth + 1));
      return false;
    }
    if (auto *g = dyn_cast<GroupLitExpr>(&e))
      return llvm::all_of(g->fields, [&](const GroupLitExpr::Field &f) {
        return affine(*f.value, depth + 1);
      });
    return false;
  }

  /// Why `e` is not affine, for remarks: the first offending construct.
  std::string whyNot(const Expr &e) const {
    if (auto *n = dyn_cast<NameExpr>(&e))
      if (const Expr *def = dependent.lookup(n->name))
        return "'" + n->name + "' = " + show(*def) + ", which " + whyNot(*def);
    if (auto *c = dyn_cast<CallExpr>(&e)) {
      if (c->callee == "grad")
        return "takes a gradient with respect to the state";
      if (c->callee != "transpose" && c->callee != "outer" &&
          c->callee != "dot")
        return "applies '" + c->callee + "' to the state";
    }
    if (auto *b = dyn_cast<BinaryExpr>(&e)) {
      if (reads(*b->lhs) && reads(*b->rhs) && b->op != BinaryOp::Add &&
          b->op != BinaryOp::Sub)
        return "multiplies two values that both depend on the state ('" +
               show(e) + "')";
      for (const Expr *side : {b->lhs.get(), b->rhs.get()})
        if (!affine(*side))
          return whyNot(*side);
    }
    bool inChild = false;
    std::string reason;
    forEachChild(
        e,
        [&](const Expr &c) {
          if (!inChild && !affine(c)) {
            inChild = true;
            reason = whyNot(c);
          }
        },
        [](const Stmt &) {});
    return inChild ? reason : "is not affine in the state ('" + show(e) + "')";
  }

  /// The terms of `e`'s top-level sum.
  static void terms(const Expr &e, std::vector<const Expr *> &out) {
    if (auto *b = dyn_cast<BinaryExpr>(&e);
        b && (b->op == BinaryOp::Add || b->op == BinaryOp::Sub)) {
      terms(*b->lhs, out);
      terms(*b->rhs, out);
      return;
    }
    if (auto *u = dyn_cast<UnaryExpr>(&e); u && u->op == UnaryOp::Neg) {
      terms(*u->operand, out);
      return;
    }
    out.push_back(&e);
  }

  /// `eye(D) - c * outer(a, b)` or `diag(w) - ...`, all free of states.
  bool isIdentityMinusLowRank(const Expr &m) const {
    auto *b = dyn_cast<BinaryExpr>(&m);
    if (!b || b->op != BinaryOp::Sub || reads(m))
      return false;
    auto *head = dyn_cast<CallExpr>(b->lhs.get());
    if (!head || (head->callee != "eye" && head->callee != "diag"))
      return false;
    const Expr *rest = b->rhs.get();
    while (auto *mul = dyn_cast<BinaryExpr>(rest)) {
      if (mul->op != BinaryOp::Mul)
        return false;
      bool lhsScalar = mul->lhs->type && mul->lhs->type->isScalar();
      rest = lhsScalar ? mul->rhs.get() : mul->lhs.get();
    }
    auto *outer = dyn_cast<CallExpr>(rest);
    return outer && outer->callee == "outer";
  }

  /// The piece `e` contributes to A_t of `state` (whose indexed update has
  /// left-hand indices `lhs`).
  Classified classify(const Expr &e, const std::string &state,
                      const std::vector<std::string> &lhs,
                      unsigned depth = 0) const {
    if (depth > 32 || !affine(e))
      return {Piece::Other, whyNot(e)};
    if (auto *n = dyn_cast<NameExpr>(&e)) {
      if (n->name == state)
        return {Piece::Identity, ""};
      if (states.contains(n->name))
        return {Piece::Affine, "reads the state '" + n->name + "'"};
      return classify(*dependent.lookup(n->name), state, lhs, depth + 1);
    }
    if (auto *s = dyn_cast<SubscriptExpr>(&e)) {
      auto *base = dyn_cast<NameExpr>(s->base.get());
      bool same = base && base->name == state &&
                  s->indices.size() == lhs.size() &&
                  llvm::all_of(llvm::zip(s->indices, lhs), [](auto p) {
                    auto *i = dyn_cast<NameExpr>(std::get<0>(p).get());
                    return i && i->name == std::get<1>(p);
                  });
      if (same)
        return {Piece::Identity, ""};
      return {Piece::Affine, "reads '" + show(e) +
                                 "', not the state at the "
                                 "updated element"};
    }
    if (auto *u = dyn_cast<UnaryExpr>(&e))
      return classify(*u->operand, state, lhs, depth + 1);
    if (auto *b = dyn_cast<BinaryExpr>(&e)) {
      if (b->op == BinaryOp::Add || b->op == BinaryOp::Sub) {
        Transition t = combine(e, state, lhs, depth + 1).transition;
        switch (t) {
        case Transition::Identity:
          return {Piece::Identity, ""};
        case Transition::ScalarDecay:
          return {Piece::Scaled, ""};
        case Transition::DiagonalGate:
          return {Piece::Gated, ""};
        case Transition::LowRank:
          return {Piece::LowRank, ""};
        default:
          return {Piece::Affine, "a sum of several transitions"};
        }
      }
      bool lhsReads = reads(*b->lhs);
      const Expr &inner = lhsReads ? *b->lhs : *b->rhs;
      const Expr &factor = lhsReads ? *b->rhs : *b->lhs;
      Classified p = classify(inner, state, lhs, depth + 1);
      if (p.piece == Piece::Other || p.piece == Piece::Affine)
        return p;
      if (b->op == BinaryOp::Mul || b->op == BinaryOp::Div) {
        // A scalar, and the same for every element of an indexed update
        // (`alpha[b, h, t, d] * S[d, e]` is a per-row gate).
        bool scalar = factor.type && factor.type->isScalar() &&
                      llvm::none_of(lhs, [&](const std::string &i) {
                        return readsName(factor, i);
                      });
        if (p.piece == Piece::Identity || p.piece == Piece::Scaled)
          return {scalar ? Piece::Scaled : Piece::Gated, ""};
        return p; // a gate keeps a gate, low-rank or rank-one piece so
      }
      if (b->op == BinaryOp::MatMul) {
        if (p.piece == Piece::RankOne)
          return p;
        if (isIdentityMinusLowRank(factor) && p.piece != Piece::LowRank)
          return {Piece::LowRank, ""};
        return {Piece::Affine, "multiplies the state by the dense matrix '" +
                                   show(factor) + "'"};
      }
      return {Piece::Affine, "'" + show(e) + "'"};
    }
    if (auto *c = dyn_cast<CallExpr>(&e)) {
      if (c->callee == "outer") {
        // outer(P, b) with P any affine form of the state (S @ k, S @ k - v)
        // and b free, or the other way round: a rank-one update.
        return {Piece::RankOne, ""};
      }
      return {Piece::Affine, "'" + c->callee + "' of the state"};
    }
    return {Piece::Affine, "'" + show(e) + "'"};
  }

  /// The transition of an update whose value is `e`.
  StateForm combine(const Expr &e, const std::string &state,
                    const std::vector<std::string> &lhs,
                    unsigned depth = 0) const {
    std::vector<const Expr *> all;
    terms(e, all);
    std::vector<Piece> pieces;
    for (const Expr *term : all) {
      if (!reads(*term))
        continue;
      Classified p = classify(*term, state, lhs, depth);
      if (p.piece == Piece::Other)
        return {state, Transition::NonLinear, p.reason};
      if (p.piece == Piece::Affine)
        return {state, Transition::Affine, p.reason};
      pieces.push_back(p.piece);
    }
    size_t rankOne = llvm::count(pieces, Piece::RankOne);
    if (pieces.empty())
      return {state, Transition::Affine, "the update does not read the state"};
    if (pieces.size() - rankOne != 1)
      return {state, Transition::Affine,
              "the state appears in several terms that are not rank-one "
              "updates"};
    Piece base =
        *llvm::find_if(pieces, [](Piece p) { return p != Piece::RankOne; });
    if (rankOne)
      return base == Piece::LowRank
                 ? StateForm{state, Transition::Affine,
                             "low-rank factors on both sides"}
                 : StateForm{state, Transition::LowRank, ""};
    switch (base) {
    case Piece::Identity:
      return {state, Transition::Identity, ""};
    case Piece::Scaled:
      return {state, Transition::ScalarDecay, ""};
    case Piece::Gated:
      return {state, Transition::DiagonalGate, ""};
    default:
      return {state, Transition::LowRank, ""};
    }
  }
};

} // namespace

std::optional<StepDefinition> mlirgen::getStepDefinition(const Stmt &s) {
  if (auto *d = dyn_cast<IndexedDefStmt>(&s)) {
    StepDefinition def{&d->name, d->value.get(), {}};
    for (const IndexDecl &i : d->indices)
      def.indices.push_back(i.name);
    return def;
  }
  if (auto *l = dyn_cast<LetStmt>(&s); l && l->names.size() == 1)
    return StepDefinition{&l->names.front().name, l->value.get(), {}};
  return std::nullopt;
}

ScanForm mlirgen::analyzeScan(const ScanExpr &scan) {
  Analyzer a;
  for (const StmtPtr &s : scan.body)
    if (auto *decl = dyn_cast<StateDeclStmt>(s.get()))
      a.states.insert(decl->name);
  ScanForm form;
  for (const StmtPtr &s : scan.body) {
    if (auto *emit = dyn_cast<EmitStmt>(s.get())) {
      const Expr &v = *emit->value;
      auto *div = dyn_cast<BinaryExpr>(&v);
      if (a.affine(v)) {
        form.emit = EmitForm::Linear;
      } else if (div && div->op == BinaryOp::Div && a.affine(*div->lhs) &&
                 a.affine(*div->rhs)) {
        form.emit = EmitForm::Ratio;
      } else {
        form.emit = EmitForm::NonLinear;
        form.emitReason = "the emit " + a.whyNot(v);
      }
      continue;
    }
    std::optional<StepDefinition> def = getStepDefinition(*s);
    if (!def || !def->value)
      continue;
    const std::string *name = def->name;
    const Expr *value = def->value;
    const std::vector<std::string> &lhs = def->indices;
    if (a.states.contains(*name)) {
      form.states.push_back(a.combine(*value, *name, lhs));
    } else if (a.reads(*value)) {
      a.dependent[*name] = value;
    }
  }
  return form;
}
