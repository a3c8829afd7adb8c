//===- MaskIntervals.cpp - Classify mask tiles by interval evaluation -----===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Interval evaluation of attention mask regions (see MaskIntervals.h). Each
/// integer value of the region gets an inclusive range [lo, hi] of index
/// values, each i1 value a pair (must, may): "true at every point of the
/// tile" and "true at some point of the tile". The rules are the textbook
/// ones; the only care is that every rule is sound (may over-approximates,
/// must under-approximates), so that a tile is skipped only when it is
/// empty and unmasked only when it is full.
///
//===----------------------------------------------------------------------===//

#include "MaskIntervals.h"

#include "dialects/Attn/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"

#include "llvm/ADT/DenseMap.h"

#include <optional>

using namespace mlir;
using namespace mlir::attnc;

namespace {

/// An inclusive range of index values.
struct Interval {
  Value lo, hi;
};

/// Truth over a tile: `must` (everywhere) and `may` (somewhere), both i1.
struct Truth {
  Value must, may;
};

class IntervalEmitter {
public:
  IntervalEmitter(OpBuilder &builder, Location loc) : b(builder), loc(loc) {}

  void setInterval(Value v, Interval range) { ints[v] = range; }

  /// Evaluates the region's ops in order and returns the yielded truth.
  Truth evaluate(Block &block) {
    for (Operation &op : block.without_terminator())
      visit(op);
    auto yield = cast<attn::YieldOp>(block.getTerminator());
    return getTruth(yield.getValues().front());
  }

private:
  Value constIndex(int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
  Value constBool(bool v) {
    return arith::ConstantIntOp::create(b, loc, b.getI1Type(), v);
  }
  Value andI(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value orI(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value notI(Value x) {
    return arith::XOrIOp::create(b, loc, x, constBool(true));
  }
  Value cmp(arith::CmpIPredicate pred, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, pred, x, y);
  }
  Value minI(Value x, Value y) { return arith::MinSIOp::create(b, loc, x, y); }
  Value maxI(Value x, Value y) { return arith::MaxSIOp::create(b, loc, x, y); }

  Truth unknownTruth() { return {constBool(false), constBool(true)}; }

  /// The interval of an integer value: from the map, a constant, or a value
  /// defined outside the region (a point). Unknown values give nullopt.
  std::optional<Interval> getInterval(Value v) {
    auto it = ints.find(v);
    if (it != ints.end())
      return it->second;
    APInt constant;
    if (matchPattern(v, m_ConstantInt(&constant))) {
      Value c = constIndex(constant.getSExtValue());
      return Interval{c, c};
    }
    if (isOutside(v) && (v.getType().isIndex() || v.getType().isInteger())) {
      Value p = v.getType().isIndex()
                    ? v
                    : arith::IndexCastOp::create(b, loc, b.getIndexType(), v)
                          .getResult();
      return Interval{p, p};
    }
    return std::nullopt;
  }

  Truth getTruth(Value v) {
    auto it = truths.find(v);
    if (it != truths.end())
      return it->second;
    APInt constant;
    if (matchPattern(v, m_ConstantInt(&constant))) {
      Value c = constBool(!constant.isZero());
      return {c, c};
    }
    if (isOutside(v))
      return {v, v};
    return unknownTruth();
  }

  bool isOutside(Value v) {
    return !v.getParentRegion() || !inRegion(v.getParentRegion());
  }
  bool inRegion(Region *r) {
    for (; r; r = r->getParentRegion())
      if (r == region)
        return true;
    return false;
  }

public:
  Region *region = nullptr;

private:
  /// The positive constant `v` is, if it is one.
  std::optional<int64_t> positiveConstant(Value v) {
    APInt c;
    if (matchPattern(v, m_ConstantInt(&c)) && c.getSExtValue() > 0)
      return c.getSExtValue();
    return std::nullopt;
  }

  void visitCmp(arith::CmpIOp op) {
    std::optional<Interval> x = getInterval(op.getLhs());
    std::optional<Interval> y = getInterval(op.getRhs());
    if (!x || !y) {
      truths[op] = unknownTruth();
      return;
    }
    using P = arith::CmpIPredicate;
    Truth t;
    switch (op.getPredicate()) {
    case P::slt: // x < y
      t = {cmp(P::slt, x->hi, y->lo), cmp(P::slt, x->lo, y->hi)};
      break;
    case P::sle:
      t = {cmp(P::sle, x->hi, y->lo), cmp(P::sle, x->lo, y->hi)};
      break;
    case P::sgt:
      t = {cmp(P::sgt, x->lo, y->hi), cmp(P::sgt, x->hi, y->lo)};
      break;
    case P::sge:
      t = {cmp(P::sge, x->lo, y->hi), cmp(P::sge, x->hi, y->lo)};
      break;
    case P::eq:
    case P::ne: {
      // Equal everywhere: both are the same single point.
      Value mustEq =
          andI(andI(cmp(P::eq, x->lo, x->hi), cmp(P::eq, y->lo, y->hi)),
               cmp(P::eq, x->lo, y->lo));
      // Equal somewhere: the ranges overlap.
      Value mayEq = andI(cmp(P::sle, x->lo, y->hi), cmp(P::sle, y->lo, x->hi));
      t = op.getPredicate() == P::eq ? Truth{mustEq, mayEq}
                                     : Truth{notI(mayEq), notI(mustEq)};
      break;
    }
    default:
      // Unsigned comparisons of possibly negative differences: unknown.
      t = unknownTruth();
      break;
    }
    truths[op] = t;
  }

  void visit(Operation &op) {
    if (auto c = dyn_cast<arith::CmpIOp>(op))
      return visitCmp(c);
    if (op.getNumResults() != 1)
      return;
    Value result = op.getResult(0);
    if (result.getType().isInteger(1)) {
      if (auto a = dyn_cast<arith::AndIOp>(op)) {
        Truth x = getTruth(a.getLhs()), y = getTruth(a.getRhs());
        truths[result] = {andI(x.must, y.must), andI(x.may, y.may)};
      } else if (auto o = dyn_cast<arith::OrIOp>(op)) {
        Truth x = getTruth(o.getLhs()), y = getTruth(o.getRhs());
        truths[result] = {orI(x.must, y.must), orI(x.may, y.may)};
      } else if (auto x = dyn_cast<arith::XOrIOp>(op)) {
        // Only negation (xor with true) has a sound rule.
        APInt c;
        Value other;
        if (matchPattern(x.getRhs(), m_ConstantInt(&c)))
          other = x.getLhs();
        else if (matchPattern(x.getLhs(), m_ConstantInt(&c)))
          other = x.getRhs();
        if (other && !c.isZero()) {
          Truth t = getTruth(other);
          truths[result] = {notI(t.may), notI(t.must)};
        } else if (other) {
          truths[result] = getTruth(other);
        }
      } else if (auto s = dyn_cast<arith::SelectOp>(op)) {
        Truth c = getTruth(s.getCondition());
        Truth x = getTruth(s.getTrueValue()), y = getTruth(s.getFalseValue());
        Value must = orI(orI(andI(c.must, x.must), andI(notI(c.may), y.must)),
                         andI(x.must, y.must));
        Value may = orI(andI(c.may, x.may), andI(notI(c.must), y.may));
        truths[result] = {must, may};
      }
      return;
    }
    if (!result.getType().isIndex() && !result.getType().isInteger())
      return;
    auto operand = [&](unsigned i) { return getInterval(op.getOperand(i)); };
    if (isa<arith::IndexCastOp, arith::IndexCastUIOp, arith::ExtSIOp>(op)) {
      if (std::optional<Interval> x = operand(0))
        ints[result] = *x;
    } else if (isa<arith::AddIOp>(op)) {
      std::optional<Interval> x = operand(0), y = operand(1);
      if (x && y)
        ints[result] = {arith::AddIOp::create(b, loc, x->lo, y->lo),
                        arith::AddIOp::create(b, loc, x->hi, y->hi)};
    } else if (isa<arith::SubIOp>(op)) {
      std::optional<Interval> x = operand(0), y = operand(1);
      if (x && y)
        ints[result] = {arith::SubIOp::create(b, loc, x->lo, y->hi),
                        arith::SubIOp::create(b, loc, x->hi, y->lo)};
    } else if (isa<arith::MulIOp>(op)) {
      std::optional<Interval> x = operand(0), y = operand(1);
      if (x && y) {
        Value p[] = {arith::MulIOp::create(b, loc, x->lo, y->lo),
                     arith::MulIOp::create(b, loc, x->lo, y->hi),
                     arith::MulIOp::create(b, loc, x->hi, y->lo),
                     arith::MulIOp::create(b, loc, x->hi, y->hi)};
        ints[result] = {minI(minI(p[0], p[1]), minI(p[2], p[3])),
                        maxI(maxI(p[0], p[1]), maxI(p[2], p[3]))};
      }
    } else if (isa<arith::MinSIOp, arith::MaxSIOp>(op)) {
      std::optional<Interval> x = operand(0), y = operand(1);
      if (x && y)
        ints[result] = isa<arith::MinSIOp>(op)
                           ? Interval{minI(x->lo, y->lo), minI(x->hi, y->hi)}
                           : Interval{maxI(x->lo, y->lo), maxI(x->hi, y->hi)};
    } else if (isa<arith::FloorDivSIOp, arith::DivSIOp>(op)) {
      // Division by a positive constant is monotone.
      std::optional<Interval> x = operand(0);
      std::optional<int64_t> divisor = positiveConstant(op.getOperand(1));
      if (x && divisor) {
        Value c = constIndex(*divisor);
        auto div = [&](Value v) -> Value {
          if (isa<arith::FloorDivSIOp>(op))
            return arith::FloorDivSIOp::create(b, loc, v, c);
          return arith::DivSIOp::create(b, loc, v, c);
        };
        ints[result] = {div(x->lo), div(x->hi)};
      }
    } else if (auto s = dyn_cast<arith::SelectOp>(op)) {
      std::optional<Interval> x = getInterval(s.getTrueValue());
      std::optional<Interval> y = getInterval(s.getFalseValue());
      if (x && y)
        ints[result] = {minI(x->lo, y->lo), maxI(x->hi, y->hi)};
    }
  }

  OpBuilder &b;
  Location loc;
  llvm::DenseMap<Value, Interval> ints;
  llvm::DenseMap<Value, Truth> truths;
};

} // namespace

TileVisibility mlir::attnc::emitTileVisibility(OpBuilder &builder, Location loc,
                                               Region &mask, Value b, Value h,
                                               Value iLo, Value iHi, Value jLo,
                                               Value jHi) {
  if (mask.empty()) {
    Value t =
        arith::ConstantIntOp::create(builder, loc, builder.getI1Type(), 1);
    return {t, t};
  }
  IntervalEmitter emitter(builder, loc);
  emitter.region = &mask;
  Block &block = mask.front();
  emitter.setInterval(block.getArgument(0), {b, b});
  emitter.setInterval(block.getArgument(1), {h, h});
  emitter.setInterval(block.getArgument(2), {iLo, iHi});
  emitter.setInterval(block.getArgument(3), {jLo, jHi});
  Truth t = emitter.evaluate(block);
  return {t.may, t.must};
}
