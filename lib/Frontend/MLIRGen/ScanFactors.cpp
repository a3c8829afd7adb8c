//===- ScanFactors.cpp - The chunkwise factors of a linear scan -----------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
//
// See ScanFactors.h. The update of the matrix state is split into its
// top-level terms: exactly one reads the state, exactly one does not (B_t).
// The state term is peeled, product by product, into free scalar factors
// (the decay), at most one per-key gate (`a[b, h, t, d] * S[d, e]`) and at
// most one `eye(D) - c * outer(k, k)` on one side (the delta rule); B_t is
// free scalar factors (beta) times `outer(x, y)`, or, indexed, a factor of
// each index. The emit's `transpose(S) @ q` or `S @ q` fixes which side of S
// holds the keys, and everything must agree with it. Expressions are
// compared by their printed form (`show`), which is exact for the checked
// AST. Anything else is left to the step-by-step lowering, with a reason.
//
//===----------------------------------------------------------------------===//

#include "ScanFactors.h"
#include "ScanLinearity.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Casting.h"

#include <algorithm>
#include <functional>

using namespace attnc;
using namespace attnc::mlirgen;
using llvm::dyn_cast;

namespace {

/// Whether `e` reads one of `names`.
bool readsAny(const Expr &e, const llvm::StringSet<> &names) {
  if (auto *n = dyn_cast<NameExpr>(&e))
    return names.contains(n->name);
  bool found = false;
  forEachChild(
      e, [&](const Expr &c) { found = found || readsAny(c, names); },
      [&](const Stmt &) { found = true; });
  return found;
}

bool readsName(const Expr &e, llvm::StringRef name) {
  llvm::StringSet<> names;
  names.insert(name);
  return readsAny(e, names);
}

bool isScalar(const Expr &e) { return e.type && e.type->isScalar(); }

/// The printed forms of `exprs`, sorted: equal for equal products.
std::vector<std::string> shown(const std::vector<const Expr *> &exprs) {
  std::vector<std::string> out;
  for (const Expr *e : exprs)
    out.push_back(show(*e));
  std::sort(out.begin(), out.end());
  return out;
}

/// The top-level terms of a sum, with their signs.
void signedTerms(const Expr &e, bool negative,
                 std::vector<std::pair<const Expr *, bool>> &out) {
  if (auto *b = dyn_cast<BinaryExpr>(&e);
      b && (b->op == BinaryOp::Add || b->op == BinaryOp::Sub)) {
    signedTerms(*b->lhs, negative, out);
    signedTerms(*b->rhs, negative != (b->op == BinaryOp::Sub), out);
    return;
  }
  if (auto *u = dyn_cast<UnaryExpr>(&e); u && u->op == UnaryOp::Neg) {
    signedTerms(*u->operand, !negative, out);
    return;
  }
  out.push_back({&e, negative});
}

/// The factors of a product `f_1 * f_2 * ...`.
void productFactors(const Expr &e, std::vector<const Expr *> &out) {
  if (auto *b = dyn_cast<BinaryExpr>(&e); b && b->op == BinaryOp::Mul) {
    productFactors(*b->lhs, out);
    productFactors(*b->rhs, out);
    return;
  }
  out.push_back(&e);
}

class Matcher {
public:
  Matcher(const ScanExpr &scan) : scan(scan) {}

  std::optional<ScanFactors> run(std::string &why);

private:
  const ScanExpr &scan;
  /// The states, and the locals computed from them.
  llvm::StringSet<> stateLike;
  std::string why;

  bool fail(std::string reason) {
    if (why.empty())
      why = std::move(reason);
    return false;
  }

  /// What the state term `S`, scaled and multiplied, holds.
  struct Peeled {
    std::vector<const Expr *> scalars;
    /// A gate and the lhs index it reads.
    VectorFactor gate;
    /// `eye(D) - c * outer(k, k)`: c's factors and k, and on which side.
    const Expr *deltaKey = nullptr;
    std::vector<const Expr *> deltaBeta;
    bool deltaOnRight = false;
  };

  bool peel(const Expr &e, const std::string &state,
            const std::vector<std::string> &lhs, Peeled &out);
  bool matchDeltaMatrix(const Expr &m, Peeled &out);
};

bool Matcher::matchDeltaMatrix(const Expr &m, Peeled &out) {
  auto *sub = dyn_cast<BinaryExpr>(&m);
  auto *eye = sub ? dyn_cast<CallExpr>(sub->lhs.get()) : nullptr;
  if (!sub || sub->op != BinaryOp::Sub || !eye || eye->callee != "eye")
    return fail("it multiplies the state by '" + show(m) +
                "', not by 'eye(D) - beta * outer(k, k)'");
  std::vector<const Expr *> factors;
  productFactors(*sub->rhs, factors);
  const CallExpr *outer = nullptr;
  for (const Expr *f : factors) {
    auto *c = dyn_cast<CallExpr>(f);
    if (c && c->callee == "outer" && !outer)
      outer = c;
    else if (isScalar(*f))
      out.deltaBeta.push_back(f);
    else
      return fail("'" + show(m) + "' is not 'eye(D) - beta * outer(k, k)'");
  }
  if (!outer || show(*outer->args[0]) != show(*outer->args[1]))
    return fail("'" + show(m) +
                "' is not 'eye(D) - beta * outer(k, k)' with the same k "
                "twice");
  out.deltaKey = outer->args[0].get();
  return true;
}

bool Matcher::peel(const Expr &e, const std::string &state,
                   const std::vector<std::string> &lhs, Peeled &out) {
  if (auto *n = dyn_cast<NameExpr>(&e)) {
    if (n->name == state && lhs.empty())
      return true;
    return fail("the update reads '" + n->name + "', computed from a state");
  }
  if (auto *s = dyn_cast<SubscriptExpr>(&e)) {
    auto *base = dyn_cast<NameExpr>(s->base.get());
    bool same = base && base->name == state &&
                s->indices.size() == lhs.size() &&
                llvm::all_of(llvm::zip(s->indices, lhs), [](auto p) {
                  auto *i = dyn_cast<NameExpr>(std::get<0>(p).get());
                  return i && i->name == std::get<1>(p);
                });
    return same || fail("the update reads '" + show(e) +
                        "', not the state at the updated element");
  }
  auto *b = dyn_cast<BinaryExpr>(&e);
  if (!b || (b->op != BinaryOp::Mul && b->op != BinaryOp::MatMul))
    return fail("the state term '" + show(e) + "' is not a product");
  bool lhsReads = readsAny(*b->lhs, stateLike);
  const Expr &inner = lhsReads ? *b->lhs : *b->rhs;
  const Expr &factor = lhsReads ? *b->rhs : *b->lhs;
  if (readsAny(factor, stateLike))
    return fail("it multiplies two values computed from states");
  if (b->op == BinaryOp::MatMul) {
    if (out.deltaKey)
      return fail("the state is multiplied by two matrices");
    out.deltaOnRight = lhsReads;
    if (!matchDeltaMatrix(factor, out))
      return false;
    return peel(inner, state, lhs, out);
  }
  // A scalar, or a gate: a factor of exactly one of the updated indices.
  llvm::SmallVector<std::string> indices;
  for (const std::string &i : lhs)
    if (readsName(factor, i))
      indices.push_back(i);
  if (!isScalar(factor))
    return fail("it multiplies the state by the tensor '" + show(factor) + "'");
  if (indices.empty()) {
    out.scalars.push_back(&factor);
  } else if (indices.size() == 1 && !out.gate.expr) {
    out.gate = VectorFactor{&factor, std::string(indices.front())};
  } else {
    return fail("the gate '" + show(factor) +
                "' is not a per-row or per-column gate");
  }
  return peel(inner, state, lhs, out);
}

std::optional<ScanFactors> Matcher::run(std::string &whyNot) {
  auto failed = [&]() -> std::optional<ScanFactors> {
    whyNot = why.empty() ? "its step is not of a form it knows" : why;
    return std::nullopt;
  };

  // States: one matrix, perhaps one normalizer.
  std::vector<const StateDeclStmt *> decls;
  for (const StmtPtr &s : scan.body)
    if (auto *d = dyn_cast<StateDeclStmt>(s.get())) {
      decls.push_back(d);
      stateLike.insert(d->name);
    }
  if (decls.empty() || decls.size() > 2) {
    fail("it has " + std::to_string(decls.size()) +
         " states (one matrix and at most one normalizer are lowered)");
    return failed();
  }

  // Statements: free locals, one update per state, the emit.
  std::map<std::string, std::pair<const Expr *, std::vector<std::string>>>
      updates;
  const Expr *emit = nullptr;
  for (const StmtPtr &s : scan.body) {
    if (llvm::isa<StateDeclStmt>(s.get()))
      continue;
    if (auto *e = dyn_cast<EmitStmt>(s.get())) {
      emit = e->value.get();
      continue;
    }
    std::optional<StepDefinition> def = getStepDefinition(*s);
    if (!def || !def->value) {
      fail("its step has a statement it does not know");
      return failed();
    }
    const std::string *name = def->name;
    const Expr *value = def->value;
    const std::vector<std::string> &lhs = def->indices;
    bool isState = llvm::any_of(
        decls, [&](const StateDeclStmt *d) { return d->name == *name; });
    if (isState) {
      if (updates.count(*name)) {
        fail("'" + *name + "' is updated twice in a step");
        return failed();
      }
      updates[*name] = {value, lhs};
    } else if (readsAny(*value, stateLike)) {
      fail("the local '" + *name + "' is computed from a state");
      return failed();
    }
  }
  if (!emit)
    return failed();

  // The emit: M^T q or S q, perhaps over dot(z, q).
  ScanFactors out;
  const Expr *numerator = emit, *normalizerQuery = nullptr;
  std::string normalizer;
  if (auto *div = dyn_cast<BinaryExpr>(emit); div && div->op == BinaryOp::Div) {
    numerator = div->lhs.get();
    auto *dot = dyn_cast<CallExpr>(div->rhs.get());
    if (!dot || dot->callee != "dot") {
      fail("the emit divides by '" + show(*div->rhs) +
           "', not by 'dot(z, q)' of a state z");
      return failed();
    }
    for (int side = 0; side < 2; ++side)
      if (auto *n = dyn_cast<NameExpr>(dot->args[side].get());
          n && stateLike.contains(n->name)) {
        normalizer = n->name;
        normalizerQuery = dot->args[1 - side].get();
      }
    if (normalizer.empty()) {
      fail("the emit divides by '" + show(*div->rhs) +
           "', not by 'dot(z, q)' of a state z");
      return failed();
    }
  }
  auto *mm = dyn_cast<BinaryExpr>(numerator);
  if (!mm || mm->op != BinaryOp::MatMul || readsAny(*mm->rhs, stateLike)) {
    fail("the emit '" + show(*emit) + "' is not 'transpose(S) @ q' or 'S @ q'");
    return failed();
  }
  std::string matrix;
  bool keyMajor = false;
  if (auto *n = dyn_cast<NameExpr>(mm->lhs.get())) {
    matrix = n->name;
  } else if (auto *t = dyn_cast<CallExpr>(mm->lhs.get());
             t && t->callee == "transpose") {
    if (auto *n = dyn_cast<NameExpr>(t->args[0].get())) {
      matrix = n->name;
      keyMajor = true;
    }
  }
  if (matrix.empty() || !updates.count(matrix) || matrix == normalizer) {
    fail("the emit '" + show(*emit) +
         "' is not 'transpose(S) @ q' or 'S @ q' of a state S");
    return failed();
  }
  out.query = {mm->rhs.get(), ""};
  if (normalizerQuery && show(*normalizerQuery) != show(*mm->rhs)) {
    fail("the emit's numerator and denominator use different queries");
    return failed();
  }
  if (decls.size() == 2 && normalizer.empty()) {
    fail("it has a second state that the emit does not divide by");
    return failed();
  }

  // The matrix update: one state term, one free term.
  auto [value, lhs] = updates[matrix];
  std::vector<std::pair<const Expr *, bool>> terms;
  signedTerms(*value, false, terms);
  const Expr *stateTerm = nullptr, *freeTerm = nullptr;
  for (auto [term, negative] : terms) {
    bool reads = readsAny(*term, stateLike);
    const Expr *&slot = reads ? stateTerm : freeTerm;
    if (slot || negative) {
      fail("the update of '" + matrix +
           "' is not one decayed state term plus one added outer product");
      return failed();
    }
    slot = term;
  }
  if (!stateTerm || !freeTerm) {
    fail("the update of '" + matrix +
         "' is not one decayed state term plus one added outer product");
    return failed();
  }
  if (!lhs.empty() && lhs.size() != 2) {
    fail("the update of '" + matrix + "' is indexed by " +
         std::to_string(lhs.size()) + " indices");
    return failed();
  }
  Peeled peeled;
  if (!peel(*stateTerm, matrix, lhs, peeled))
    return failed();
  if (peeled.deltaKey && peeled.deltaOnRight == keyMajor) {
    fail(std::string("the delta rule's 'eye(D) - beta * outer(k, k)' is on "
                     "the ") +
         (keyMajor ? "value" : "key") + " side of '" + matrix +
         "' (the emit reads its keys on the other)");
    return failed();
  }
  std::string keyIndex, valueIndex;
  if (!lhs.empty()) {
    keyIndex = keyMajor ? lhs[0] : lhs[1];
    valueIndex = keyMajor ? lhs[1] : lhs[0];
  }
  if (peeled.gate.expr && peeled.gate.index != keyIndex) {
    fail("the gate '" + show(*peeled.gate.expr) +
         "' is on the value side of '" + matrix + "'");
    return failed();
  }

  // B_t: scalars times outer(key, value), or indexed factors.
  std::vector<const Expr *> factors, beta;
  productFactors(*freeTerm, factors);
  const Expr *key = nullptr, *val = nullptr;
  for (const Expr *f : factors) {
    auto *outer = dyn_cast<CallExpr>(f);
    if (lhs.empty() && outer && outer->callee == "outer" && !key) {
      key = outer->args[keyMajor ? 0 : 1].get();
      val = outer->args[keyMajor ? 1 : 0].get();
      continue;
    }
    bool k = !keyIndex.empty() && readsName(*f, keyIndex);
    bool v = !valueIndex.empty() && readsName(*f, valueIndex);
    if (!isScalar(*f) || (k && v) || (k && key) || (v && val)) {
      fail("the added term '" + show(*freeTerm) + "' of the update of '" +
           matrix + "' is not an outer product");
      return failed();
    }
    (k ? key : v ? val : beta.emplace_back()) = f;
  }
  if (!key || !val) {
    fail("the added term '" + show(*freeTerm) + "' of the update of '" +
         matrix + "' is not an outer product");
    return failed();
  }
  out.key = {key, keyIndex};
  out.value = {val, valueIndex};
  out.betaScalars = beta;
  out.decayScalars = peeled.scalars;
  out.gate = peeled.gate;
  out.decay = peeled.gate.expr         ? ScanFactors::Decay::Vector
              : peeled.scalars.empty() ? ScanFactors::Decay::None
                                       : ScanFactors::Decay::Scalar;
  if (peeled.deltaKey) {
    out.recurrence = ScanFactors::Recurrence::Delta;
    if (!keyIndex.empty()) {
      fail("not supported yet: the delta rule written as an indexed update");
      return failed();
    }
    if (show(*peeled.deltaKey) != show(*key) ||
        shown(peeled.deltaBeta) != shown(beta)) {
      fail("the delta rule's 'eye(D) - beta * outer(k, k)' and the added "
           "'beta * outer(v, k)' differ in beta or k");
      return failed();
    }
    if (out.decay == ScanFactors::Decay::Vector) {
      fail("not supported yet: the delta rule with a per-key gate");
      return failed();
    }
  }

  // The normalizer: z = (same decay) * z + key.
  for (const StateDeclStmt *d : decls) {
    if (d->name == matrix) {
      out.roles.push_back(keyMajor ? ScanFactors::Role::KeyValue
                                   : ScanFactors::Role::ValueKey);
      continue;
    }
    out.roles.push_back(ScanFactors::Role::Normalizer);
    auto [zValue, zLhs] = updates[d->name];
    if (!zValue || !zLhs.empty() || !keyIndex.empty() ||
        out.recurrence == ScanFactors::Recurrence::Delta || !beta.empty()) {
      fail("the normalizer '" + d->name +
           "' is not 'z = a * z + k' beside 'S = a * S + outer(k, v)'");
      return failed();
    }
    std::vector<std::pair<const Expr *, bool>> zTerms;
    signedTerms(*zValue, false, zTerms);
    Peeled zPeeled;
    bool ok = zTerms.size() == 2 && !zTerms[0].second && !zTerms[1].second;
    if (ok) {
      const Expr *zState = zTerms[0].first, *zFree = zTerms[1].first;
      if (!readsAny(*zState, stateLike))
        std::swap(zState, zFree);
      ok = !readsAny(*zFree, stateLike) &&
           peel(*zState, d->name, {}, zPeeled) && !zPeeled.deltaKey &&
           !zPeeled.gate.expr &&
           shown(zPeeled.scalars) == shown(peeled.scalars) &&
           show(*zFree) == show(*key);
    }
    if (!ok) {
      why.clear();
      fail("the normalizer '" + d->name +
           "' is not 'z = a * z + k' with the decay and keys of '" + matrix +
           "'");
      return failed();
    }
  }
  return out;
}

} // namespace

std::optional<ScanFactors> mlirgen::findScanFactors(const ScanExpr &scan,
                                                    std::string &whyNot) {
  return Matcher(scan).run(whyNot);
}
