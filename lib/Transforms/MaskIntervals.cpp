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
/// tile" and "true at some point of the tile", each float value read from
/// data a range [lo, hi] (NaN when a NaN may occur). The rules are the
/// textbook ones; the only care is that every rule is sound (may
/// over-approximates, must under-approximates), so that a tile is skipped
/// only when it is empty and unmasked only when it is full.
///
/// Data reads. A tensor.extract gets the range of the values it reads on
/// the tile: from TileReads::known (computed per query tile and per key
/// tile by BlockLists.h's first phase), or by reducing the tensor over the
/// box of its index intervals (r05's keep[b, h, i / BS, j / BS]: a tile
/// covers a few blocks). Equality of two id ranges is "may" when they
/// overlap and "must" when both are the same single value. Values derived
/// from data are "tainted": arithmetic on them is checked for signed
/// overflow (64-bit, and of the op's own width), because data can be
/// anything; a range that may wrap makes the tile inexact.
///
/// Exactness. TileVisibility::exact accumulates what the classification
/// assumes: the region's cf.assert conditions hold on the whole tile (a
/// skipped or unmasked tile does not run them), and every box was small
/// enough and in bounds. Where it is false the tile is partial: the
/// per-element mask runs, with its checks, as it did before.
///
//===----------------------------------------------------------------------===//

#include "MaskIntervals.h"

#include "dialects/Attn/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "llvm/ADT/DenseSet.h"

#include <limits>
#include <optional>

using namespace mlir;
using namespace mlir::attnc;

//===----------------------------------------------------------------------===//
// Ranges of read values
//===----------------------------------------------------------------------===//

bool mlir::attnc::isBoundableReadType(Type type) {
  if (type.isIndex() || isa<FloatType>(type))
    return true;
  auto intType = dyn_cast<IntegerType>(type);
  return intType && intType.isSignless() && intType.getWidth() <= 64;
}

ReadRange mlir::attnc::emitEmptyRange(OpBuilder &b, Location loc, Type type) {
  if (auto f = dyn_cast<FloatType>(type)) {
    double inf = std::numeric_limits<double>::infinity();
    return {arith::ConstantOp::create(b, loc, f, b.getFloatAttr(f, inf)),
            arith::ConstantOp::create(b, loc, f, b.getFloatAttr(f, -inf))};
  }
  if (type.isInteger(1))
    return {arith::ConstantIntOp::create(b, loc, type, 1),
            arith::ConstantIntOp::create(b, loc, type, 0)};
  unsigned width = type.isIndex() ? 64 : type.getIntOrFloatBitWidth();
  APInt max = APInt::getSignedMaxValue(width);
  APInt min = APInt::getSignedMinValue(width);
  return {arith::ConstantOp::create(b, loc, type, b.getIntegerAttr(type, max)),
          arith::ConstantOp::create(b, loc, type, b.getIntegerAttr(type, min))};
}

ReadRange mlir::attnc::emitRangeUnion(OpBuilder &b, Location loc,
                                      ReadRange range, Value x) {
  Type type = x.getType();
  if (isa<FloatType>(type))
    return {arith::MinimumFOp::create(b, loc, range.lo, x),
            arith::MaximumFOp::create(b, loc, range.hi, x)};
  if (type.isInteger(1))
    return {arith::AndIOp::create(b, loc, range.lo, x),
            arith::OrIOp::create(b, loc, range.hi, x)};
  return {arith::MinSIOp::create(b, loc, range.lo, x),
          arith::MaxSIOp::create(b, loc, range.hi, x)};
}

Value mlir::attnc::emitIsSingleValue(OpBuilder &b, Location loc,
                                     ReadRange range) {
  Type type = range.lo.getType();
  if (auto f = dyn_cast<FloatType>(type)) {
    auto bits = b.getIntegerType(f.getWidth());
    Value lo = arith::BitcastOp::create(b, loc, bits, range.lo);
    Value hi = arith::BitcastOp::create(b, loc, bits, range.hi);
    Value same =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lo, hi);
    Value number = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::ORD,
                                         range.lo, range.lo);
    return arith::AndIOp::create(b, loc, same, number);
  }
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, range.lo,
                               range.hi);
}

//===----------------------------------------------------------------------===//
// The interval evaluation
//===----------------------------------------------------------------------===//

namespace {

/// An inclusive range of index values (or, for floats, of float values).
struct Interval {
  Value lo, hi;
  bool isPoint() const { return lo == hi; }
};

/// Truth over a tile: `must` (everywhere) and `may` (somewhere), both i1.
struct Truth {
  Value must, may;
};

/// The width of the integer (or index) type `type` in bits.
static unsigned widthOf(Type type) {
  return type.isIndex() ? 64 : type.getIntOrFloatBitWidth();
}

class IntervalEmitter {
public:
  IntervalEmitter(OpBuilder &builder, Location loc, TileReads *reads)
      : b(builder), loc(loc), reads(reads) {}

  void setInterval(Value v, Interval range) { ints[v] = range; }

  /// Evaluates the region's ops in order and returns the yielded truth.
  Truth evaluate(Block &block) {
    for (Operation &op : block.without_terminator())
      visit(op);
    auto yield = cast<attn::YieldOp>(block.getTerminator());
    return getTruth(yield.getValues().front());
  }

  Region *region = nullptr;
  /// What the classification assumes, a conjunction (null: nothing).
  Value exact;

private:
  Value constIndex(int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
  Value constBool(bool v) {
    return arith::ConstantIntOp::create(b, loc, b.getI1Type(), v);
  }
  Value andI(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value orI(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  // The conjunction and disjunction of values built by the caller in a
  // braced list. The list's elements are built in order, which a call's
  // arguments are not (GCC and clang order them differently), so the IR is
  // the same whichever compiler built attnc.
  Value andAll(ArrayRef<Value> xs) {
    Value r = xs.front();
    for (Value x : xs.drop_front())
      r = andI(r, x);
    return r;
  }
  Value orAll(ArrayRef<Value> xs) {
    Value r = xs.front();
    for (Value x : xs.drop_front())
      r = orI(r, x);
    return r;
  }
  Value notI(Value x) {
    return arith::XOrIOp::create(b, loc, x, constBool(true));
  }
  Value cmp(arith::CmpIPredicate pred, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, pred, x, y);
  }
  Value cmpF(arith::CmpFPredicate pred, Value x, Value y) {
    return arith::CmpFOp::create(b, loc, pred, x, y);
  }
  Value minI(Value x, Value y) { return arith::MinSIOp::create(b, loc, x, y); }
  Value maxI(Value x, Value y) { return arith::MaxSIOp::create(b, loc, x, y); }
  /// Adds `condition` to what the classification assumes.
  void assume(Value condition) {
    exact = exact ? andI(exact, condition) : condition;
  }

  Truth unknownTruth() { return {constBool(false), constBool(true)}; }

  /// `v` at the emission point when it is the same for every element:
  /// defined outside the region, or computed inside it by pure ops from
  /// such values and constants (a tensor.dim of an outside tensor). Null
  /// otherwise.
  Value getUniform(Value v) {
    if (isOutside(v))
      return v;
    auto it = uniforms.find(v);
    if (it != uniforms.end())
      return it->second;
    Operation *def = v.getDefiningOp();
    if (def && def->hasTrait<OpTrait::ConstantLike>()) {
      Value c = b.clone(*def)->getResult(cast<OpResult>(v).getResultNumber());
      uniforms[v] = c;
      return c;
    }
    return Value();
  }

  /// Clones `op` at the emission point when its operands are uniform (and
  /// it is pure, regionless and not a constant, which is read as is).
  void visitUniform(Operation &op) {
    if (op.getNumRegions() != 0 || op.hasTrait<OpTrait::ConstantLike>() ||
        !isPure(&op) || op.getNumResults() == 0)
      return;
    IRMapping mapping;
    for (Value operand : op.getOperands()) {
      Value u = getUniform(operand);
      if (!u)
        return;
      mapping.map(operand, u);
    }
    Operation *clone = b.clone(op, mapping);
    for (auto [result, cloned] :
         llvm::zip(op.getResults(), clone->getResults()))
      uniforms[result] = cloned;
  }

  /// The interval of an integer value: from the map, a constant, or a value
  /// defined outside the region (a point). Unknown values give nullopt.
  std::optional<Interval> getInterval(Value v) {
    auto it = ints.find(v);
    if (it != ints.end())
      return it->second;
    if (auto u = uniforms.find(v); u != uniforms.end())
      v = u->second;
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

  /// The interval of a float value: read from data, a constant, or a value
  /// from outside the region.
  std::optional<Interval> getFloatInterval(Value v) {
    auto it = floats.find(v);
    if (it != floats.end())
      return it->second;
    if (!isa<FloatType>(v.getType()))
      return std::nullopt;
    if (auto u = uniforms.find(v); u != uniforms.end())
      v = u->second;
    FloatAttr constant;
    if (matchPattern(v, m_Constant(&constant))) {
      Value c = arith::ConstantOp::create(b, loc, v.getType(), constant);
      return Interval{c, c};
    }
    if (isOutside(v))
      return Interval{v, v};
    return std::nullopt;
  }

  Truth getTruth(Value v) {
    auto it = truths.find(v);
    if (it != truths.end())
      return it->second;
    if (auto u = uniforms.find(v); u != uniforms.end())
      return {u->second, u->second};
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

  /// The positive constant `v` is, if it is one.
  std::optional<int64_t> positiveConstant(Value v) {
    APInt c;
    if (matchPattern(v, m_ConstantInt(&c)) && c.getSExtValue() > 0)
      return c.getSExtValue();
    return std::nullopt;
  }

  bool isTainted(Operation &op) {
    return llvm::any_of(op.getOperands(),
                        [&](Value v) { return tainted.contains(v); });
  }

  //===--------------------------------------------------------------------===//
  // Arithmetic on data, checked
  //===--------------------------------------------------------------------===//

  Value toI64(Value v) {
    return arith::IndexCastOp::create(b, loc, b.getI64Type(), v);
  }
  Value toIndex(Value v) {
    if (v.getType().isIndex())
      return v;
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  }
  /// x + y (or x - y) on index values; when `checked`, assumes that it does
  /// not overflow 64 bits: ((x ^ r) & (y ^ r)) >= 0 for a sum, ((x ^ y) &
  /// (x ^ r)) >= 0 for a difference.
  Value addOrSub(Value x, Value y, bool sub, bool checked) {
    Value r = sub ? arith::SubIOp::create(b, loc, x, y).getResult()
                  : arith::AddIOp::create(b, loc, x, y).getResult();
    if (!checked)
      return r;
    Value x64 = toI64(x), y64 = toI64(y), r64 = toI64(r);
    auto xorI = [&](Value p, Value q) {
      return arith::XOrIOp::create(b, loc, p, q);
    };
    Value t = sub ? andAll({xorI(x64, y64), xorI(x64, r64)})
                  : andAll({xorI(x64, r64), xorI(y64, r64)});
    Value zero = arith::ConstantIntOp::create(b, loc, b.getI64Type(), 0);
    assume(cmp(arith::CmpIPredicate::sge, t, zero));
    return r;
  }
  /// x * y on index values; when `checked`, assumes that the 128-bit
  /// product's high half is the sign of its low half.
  Value mul(Value x, Value y, bool checked) {
    if (!checked)
      return arith::MulIOp::create(b, loc, x, y);
    Value x64 = toI64(x), y64 = toI64(y);
    auto ext = arith::MulSIExtendedOp::create(b, loc, x64, y64);
    Value c63 = arith::ConstantIntOp::create(b, loc, b.getI64Type(), 63);
    Value sign = arith::ShRSIOp::create(b, loc, ext.getLow(), c63);
    assume(cmp(arith::CmpIPredicate::eq, ext.getHigh(), sign));
    return toIndex(ext.getLow());
  }
  /// Assumes that [lo, hi] fits the signed range of the integer type `type`
  /// (nothing for 64 bits, which the checks above cover).
  void assumeFits(Interval x, Type type, bool nonNegative = false) {
    unsigned width = widthOf(type);
    Value lowest =
        nonNegative
            ? constIndex(0)
            : constIndex(width >= 64 ? std::numeric_limits<int64_t>::min()
                                     : -(int64_t(1) << (width - 1)));
    Value inRange = cmp(arith::CmpIPredicate::sge, x.lo, lowest);
    if (width < 64)
      inRange = andI(inRange, cmp(arith::CmpIPredicate::sle, x.hi,
                                  constIndex((int64_t(1) << (width - 1)) - 1)));
    assume(inRange);
  }

  //===--------------------------------------------------------------------===//
  // Comparisons
  //===--------------------------------------------------------------------===//

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
      Value mustEq = andAll({cmp(P::eq, x->lo, x->hi), cmp(P::eq, y->lo, y->hi),
                             cmp(P::eq, x->lo, y->lo)});
      // Equal somewhere: the ranges overlap.
      Value mayEq =
          andAll({cmp(P::sle, x->lo, y->hi), cmp(P::sle, y->lo, x->hi)});
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

  /// cmpf on float ranges. A range holding a NaN has NaN bounds: "must"
  /// uses ordered comparisons (false on NaN), "may" unordered ones (true on
  /// NaN), which is sound for the ordered and the unordered predicates.
  void visitCmpF(arith::CmpFOp op) {
    std::optional<Interval> x = getFloatInterval(op.getLhs());
    std::optional<Interval> y = getFloatInterval(op.getRhs());
    if (!x || !y) {
      truths[op] = unknownTruth();
      return;
    }
    using P = arith::CmpFPredicate;
    auto mustEqual = [&] {
      return andAll({cmpF(P::OEQ, x->lo, x->hi), cmpF(P::OEQ, y->lo, y->hi),
                     cmpF(P::OEQ, x->lo, y->lo)});
    };
    Truth t;
    switch (op.getPredicate()) {
    case P::OLT:
    case P::ULT:
      t = {cmpF(P::OLT, x->hi, y->lo), cmpF(P::ULT, x->lo, y->hi)};
      break;
    case P::OLE:
    case P::ULE:
      t = {cmpF(P::OLE, x->hi, y->lo), cmpF(P::ULE, x->lo, y->hi)};
      break;
    case P::OGT:
    case P::UGT:
      t = {cmpF(P::OGT, x->lo, y->hi), cmpF(P::UGT, x->hi, y->lo)};
      break;
    case P::OGE:
    case P::UGE:
      t = {cmpF(P::OGE, x->lo, y->hi), cmpF(P::UGE, x->hi, y->lo)};
      break;
    case P::OEQ:
    case P::UEQ:
      t = {mustEqual(),
           andAll({cmpF(P::ULE, x->lo, y->hi), cmpF(P::ULE, y->lo, x->hi)})};
      break;
    case P::ONE:
    case P::UNE:
      t = {orAll({cmpF(P::OLT, x->hi, y->lo), cmpF(P::OLT, y->hi, x->lo)}),
           notI(mustEqual())};
      break;
    default:
      t = unknownTruth();
      break;
    }
    truths[op] = t;
  }

  //===--------------------------------------------------------------------===//
  // Data reads
  //===--------------------------------------------------------------------===//

  /// The range of `op`'s values over the box of its index intervals, by
  /// loops over the box (point dimensions are not looped over), when every
  /// index has an interval inside its dimension and the box holds at most
  /// maxBoxVolume elements; the tile is inexact otherwise.
  std::optional<ReadRange> boxRange(tensor::ExtractOp op) {
    Value tensor = op.getTensor();
    if (reads->maxBoxVolume <= 0 || !isOutside(tensor))
      return std::nullopt;
    SmallVector<Interval> box;
    for (Value index : op.getIndices()) {
      std::optional<Interval> range = getInterval(index);
      if (!range)
        return std::nullopt;
      box.push_back(*range);
    }
    using P = arith::CmpIPredicate;
    auto tensorType = cast<RankedTensorType>(tensor.getType());
    Value zero = constIndex(0), one = constIndex(1);
    Value maxVolume = constIndex(reads->maxBoxVolume);
    Value ok = constBool(true), volume = one;
    for (auto [d, range] : llvm::enumerate(box)) {
      Value dim = tensorType.isDynamicDim(d)
                      ? tensor::DimOp::create(b, loc, tensor, d).getResult()
                      : constIndex(tensorType.getDimSize(d));
      ok =
          andAll({ok, cmp(P::sge, range.lo, zero), cmp(P::slt, range.hi, dim)});
      if (range.isPoint())
        continue;
      // Each extent and each partial volume is at most maxVolume where ok,
      // so that the products cannot wrap.
      Value extent = arith::AddIOp::create(
          b, loc, arith::SubIOp::create(b, loc, range.hi, range.lo), one);
      ok = andAll({ok, cmp(P::sle, range.lo, range.hi),
                   cmp(P::sle, extent, maxVolume)});
      volume = arith::MulIOp::create(b, loc, volume, extent);
      ok = andI(ok, cmp(P::sle, volume, maxVolume));
    }
    assume(ok);
    Type type = op.getType();
    auto reduceBox = [&](OpBuilder &nb, Location) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
      SmallVector<Value> indices(box.size());
      std::function<ReadRange(unsigned, ReadRange)> nest =
          [&](unsigned d, ReadRange acc) -> ReadRange {
        if (d == box.size())
          return emitRangeUnion(
              b, loc, acc, tensor::ExtractOp::create(b, loc, tensor, indices));
        if (box[d].isPoint()) {
          indices[d] = box[d].lo;
          return nest(d + 1, acc);
        }
        auto forOp = scf::ForOp::create(
            b, loc, box[d].lo, arith::AddIOp::create(b, loc, box[d].hi, one),
            one, ValueRange{acc.lo, acc.hi});
        {
          OpBuilder::InsertionGuard inner(b);
          b.setInsertionPointToStart(forOp.getBody());
          indices[d] = forOp.getInductionVar();
          ReadRange next = nest(
              d + 1, {forOp.getRegionIterArg(0), forOp.getRegionIterArg(1)});
          scf::YieldOp::create(b, loc, ValueRange{next.lo, next.hi});
        }
        return {forOp.getResult(0), forOp.getResult(1)};
      };
      ReadRange range = nest(0, emitEmptyRange(b, loc, type));
      scf::YieldOp::create(b, loc, ValueRange{range.lo, range.hi});
    };
    auto empty = [&](OpBuilder &nb, Location) {
      ReadRange range = emitEmptyRange(nb, loc, type);
      scf::YieldOp::create(nb, loc, ValueRange{range.lo, range.hi});
    };
    auto ifOk = scf::IfOp::create(b, loc, ok, reduceBox, empty);
    return ReadRange{ifOk.getResult(0), ifOk.getResult(1)};
  }

  void visitExtract(tensor::ExtractOp op) {
    Type type = op.getType();
    if (!reads || !isBoundableReadType(type))
      return;
    std::optional<ReadRange> range;
    auto it = reads->known.find(op);
    if (it != reads->known.end())
      range = it->second;
    else
      range = boxRange(op);
    if (!range)
      return;
    reads->bounded[op] = *range;
    Value result = op.getResult();
    if (type.isInteger(1)) {
      truths[result] = {range->lo, range->hi};
    } else if (isa<FloatType>(type)) {
      floats[result] = {range->lo, range->hi};
    } else {
      ints[result] = {toIndex(range->lo), toIndex(range->hi)};
      tainted.insert(result);
    }
  }

  //===--------------------------------------------------------------------===//
  // The other ops
  //===--------------------------------------------------------------------===//

  void visit(Operation &op) {
    // The same for every element: one value, cloned (the interval rules
    // below would only rebuild it as a point).
    if (!isa<tensor::ExtractOp>(op)) {
      visitUniform(op);
      if (op.getNumResults() != 0 && uniforms.count(op.getResult(0)))
        return;
    }
    if (auto c = dyn_cast<arith::CmpIOp>(op))
      return visitCmp(c);
    if (auto c = dyn_cast<arith::CmpFOp>(op))
      return visitCmpF(c);
    if (auto e = dyn_cast<tensor::ExtractOp>(op))
      return visitExtract(e);
    // A check the per-element mask would run: the tile is exact only where
    // it holds everywhere.
    if (auto a = dyn_cast<cf::AssertOp>(op))
      return assume(getTruth(a.getArg()).must);
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
        Value must = orAll({andI(c.must, x.must), andI(notI(c.may), y.must),
                            andI(x.must, y.must)});
        Value may = orAll({andI(c.may, x.may), andI(notI(c.must), y.may)});
        truths[result] = {must, may};
      }
      return;
    }
    if (!result.getType().isIndex() && !result.getType().isInteger())
      return;
    // Values computed from data are checked for wrap-around. Below 33 bits
    // the operands are values of the op's type (the checks of the ops and
    // casts before), whose sums and products fit 64 bits: only the range
    // of the result's type is checked.
    bool checked = isTainted(op);
    bool checked64 = checked && widthOf(result.getType()) > 32;
    auto operand = [&](unsigned i) { return getInterval(op.getOperand(i)); };
    std::optional<Interval> range;
    if (isa<arith::IndexCastOp, arith::IndexCastUIOp, arith::ExtSIOp>(op)) {
      range = operand(0);
      // A narrowing cast must not truncate, a zero-extension must see no
      // negative value.
      bool unsignedCast = isa<arith::IndexCastUIOp>(op);
      if (range && checked &&
          (unsignedCast ||
           widthOf(result.getType()) < widthOf(op.getOperand(0).getType())))
        assumeFits(*range, result.getType(), unsignedCast);
      checked = false;
    } else if (isa<arith::AddIOp, arith::SubIOp>(op)) {
      std::optional<Interval> x = operand(0), y = operand(1);
      bool sub = isa<arith::SubIOp>(op);
      if (x && y && x->isPoint() && y->isPoint()) {
        Value p = addOrSub(x->lo, y->lo, sub, checked64);
        range = {p, p};
      } else if (x && y) {
        range = {addOrSub(x->lo, sub ? y->hi : y->lo, sub, checked64),
                 addOrSub(x->hi, sub ? y->lo : y->hi, sub, checked64)};
      }
    } else if (isa<arith::MulIOp>(op)) {
      std::optional<Interval> x = operand(0), y = operand(1);
      if (x && y && x->isPoint() && y->isPoint()) {
        Value p = mul(x->lo, y->lo, checked64);
        range = {p, p};
      } else if (x && y) {
        Value p[] = {mul(x->lo, y->lo, checked64), mul(x->lo, y->hi, checked64),
                     mul(x->hi, y->lo, checked64),
                     mul(x->hi, y->hi, checked64)};
        Value lo01 = minI(p[0], p[1]), lo23 = minI(p[2], p[3]);
        Value lo = minI(lo01, lo23);
        Value hi01 = maxI(p[0], p[1]), hi23 = maxI(p[2], p[3]);
        range = {lo, maxI(hi01, hi23)};
      }
    } else if (isa<arith::MinSIOp, arith::MaxSIOp>(op)) {
      std::optional<Interval> x = operand(0), y = operand(1);
      checked = false;
      if (x && y)
        range = isa<arith::MinSIOp>(op)
                    ? Interval{minI(x->lo, y->lo), minI(x->hi, y->hi)}
                    : Interval{maxI(x->lo, y->lo), maxI(x->hi, y->hi)};
    } else if (isa<arith::FloorDivSIOp, arith::DivSIOp>(op)) {
      // Division by a positive constant is monotone (and cannot wrap).
      std::optional<Interval> x = operand(0);
      std::optional<int64_t> divisor = positiveConstant(op.getOperand(1));
      checked = false;
      if (x && divisor) {
        Value c = constIndex(*divisor);
        auto div = [&](Value v) -> Value {
          if (isa<arith::FloorDivSIOp>(op))
            return arith::FloorDivSIOp::create(b, loc, v, c);
          return arith::DivSIOp::create(b, loc, v, c);
        };
        Value lo = div(x->lo);
        range = x->isPoint() ? Interval{lo, lo} : Interval{lo, div(x->hi)};
      }
    } else if (auto s = dyn_cast<arith::SelectOp>(op)) {
      std::optional<Interval> x = getInterval(s.getTrueValue());
      std::optional<Interval> y = getInterval(s.getFalseValue());
      checked = false;
      if (x && y)
        range = {minI(x->lo, y->lo), maxI(x->hi, y->hi)};
    }
    if (!range)
      return;
    if (checked)
      assumeFits(*range, result.getType());
    ints[result] = *range;
    if (isTainted(op))
      tainted.insert(result);
  }

  OpBuilder &b;
  Location loc;
  TileReads *reads;
  llvm::DenseMap<Value, Interval> ints, floats;
  /// Uniform values of the region and their clones (getUniform).
  llvm::DenseMap<Value, Value> uniforms;
  llvm::DenseMap<Value, Truth> truths;
  /// Integer values computed from data reads.
  llvm::DenseSet<Value> tainted;
};

} // namespace

TileVisibility mlir::attnc::emitTileVisibility(OpBuilder &builder, Location loc,
                                               Region &mask, Value b, Value h,
                                               Value iLo, Value iHi, Value jLo,
                                               Value jHi, TileReads *reads) {
  if (mask.empty()) {
    Value t =
        arith::ConstantIntOp::create(builder, loc, builder.getI1Type(), 1);
    return {t, t, Value()};
  }
  IntervalEmitter emitter(builder, loc, reads);
  emitter.region = &mask;
  Block &block = mask.front();
  emitter.setInterval(block.getArgument(0), {b, b});
  emitter.setInterval(block.getArgument(1), {h, h});
  emitter.setInterval(block.getArgument(2), {iLo, iHi});
  emitter.setInterval(block.getArgument(3), {jLo, jHi});
  Truth t = emitter.evaluate(block);
  Value exact = emitter.exact;
  if (!exact)
    return {t.may, t.must, Value()};
  // An inexact tile is partial: visited, with the per-element mask.
  Value inexact = arith::XOrIOp::create(
      builder, loc, exact,
      arith::ConstantIntOp::create(builder, loc, builder.getI1Type(), 1));
  return {arith::OrIOp::create(builder, loc, t.may, inexact),
          arith::AndIOp::create(builder, loc, t.must, exact), exact};
}
