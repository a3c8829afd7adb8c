//===- ExprGen.cpp - Expressions to IR --------------------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Expressions, in the representation described in MLIRGenImpl.h:
///   scalar arithmetic, math      arith / math on scalars
///   element-wise tensor trees    one tensor.generate per maximal tree; its
///                                tensor leaves are computed first and read
///                                with tensor.extract (numpy broadcasting)
///   t[i, j] / partial t[i]       tensor.extract / tensor.extract_slice
///   a @ b, dot                   linalg.matvec / vecmat / matmul /
///                                batch_matmul, linalg.dot
///   softmax, transpose           linalg.softmax, linalg.transpose
///   layernorm, rmsnorm, l2norm   linalg.reduce over the last dim and a
///                                tensor.generate
///   sum(x), mean(x), ...         linalg.reduce over every dim
///   sum(i < N) e, ...            scf.for carrying the accumulator
///   argmax/argmin/topk/topp      the scores over the reduced index as a
///                                tensor.generate, then attn.argmax /
///                                attn.topk / attn.topp
///   gather, pool, conv1d         attn.gather, attn.pool, attn.conv1d
///   user function calls          inlined in a new frame
///
//===----------------------------------------------------------------------===//

#include "MLIRGenImpl.h"

#include "dialects/Attn/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/Casting.h"

#include <cmath>
#include <limits>

using namespace attnc;
using namespace attnc::mlirgen;
using llvm::dyn_cast;
using llvm::isa;

namespace attn = mlir::attnc::attn;

/// Element-wise built-ins: applied to tensors element by element.
static bool isElementwiseBuiltin(const CallExpr &call) {
  static const char *const kNames[] = {
      "tanh",  "exp",  "log",   "sqrt",  "rsqrt", "sigmoid", "softplus",
      "silu",  "gelu", "elu",   "sin",   "cos",   "abs",     "relu",
      "floor", "ceil", "where", "float", "int"};
  if (llvm::is_contained(kNames, call.callee))
    return true;
  return (call.callee == "min" || call.callee == "max") &&
         call.args.size() == 2;
}

/// Whether `e` is computed element by element from its operands.
static bool isElementwise(const Expr &e) {
  if (isa<UnaryExpr>(&e))
    return true;
  if (auto *bin = dyn_cast<BinaryExpr>(&e))
    return bin->op != BinaryOp::MatMul;
  if (auto *call = dyn_cast<CallExpr>(&e))
    return isElementwiseBuiltin(*call);
  return false;
}

static llvm::SmallVector<const Expr *, 3> operandsOf(const Expr &e) {
  if (auto *un = dyn_cast<UnaryExpr>(&e))
    return {un->operand.get()};
  if (auto *bin = dyn_cast<BinaryExpr>(&e))
    return {bin->lhs.get(), bin->rhs.get()};
  llvm::SmallVector<const Expr *, 3> ops;
  if (auto *call = dyn_cast<CallExpr>(&e))
    for (const ExprPtr &a : call->args)
      ops.push_back(a.get());
  return ops;
}

std::optional<int64_t> FnGen::constInt(const Expr &e) {
  if (auto *lit = dyn_cast<IntLitExpr>(&e))
    return lit->value;
  if (auto *name = dyn_cast<NameExpr>(&e)) {
    auto it = frame().consts.find(name->name);
    if (it != frame().consts.end() && it->second.isInt)
      return it->second.intValue;
  }
  return std::nullopt;
}

mlir::Value FnGen::genExtent(const Expr &e) {
  // Extents are size expressions, which Sema evaluates without typing them:
  // integers, constants, size symbols and + - * / of those.
  mlir::Location l = loc(e.getLoc());
  if (std::optional<int64_t> c = constInt(e))
    return mlir::arith::ConstantIndexOp::create(builder, l, *c);
  if (auto *name = dyn_cast<NameExpr>(&e))
    return dimValue(DimExpr::symbol(name->name).substitute(frame().subst),
                    e.getLoc());
  auto *bin = dyn_cast<BinaryExpr>(&e);
  if (!bin || !(bin->op == BinaryOp::Add || bin->op == BinaryOp::Sub ||
                bin->op == BinaryOp::Mul || bin->op == BinaryOp::Div))
    return unsupported(e.getLoc(), "this extent");
  mlir::Value x = genExtent(*bin->lhs);
  mlir::Value y = x ? genExtent(*bin->rhs) : mlir::Value();
  if (!y)
    return {};
  switch (bin->op) {
  case BinaryOp::Add:
    return mlir::arith::AddIOp::create(builder, l, x, y);
  case BinaryOp::Sub:
    return mlir::arith::SubIOp::create(builder, l, x, y);
  case BinaryOp::Mul:
    return mlir::arith::MulIOp::create(builder, l, x, y);
  default:
    return mlir::arith::FloorDivSIOp::create(builder, l, x, y);
  }
}

//===----------------------------------------------------------------------===//
// Dispatch
//===----------------------------------------------------------------------===//

mlir::Value FnGen::gen(const Expr &e, const Env &env) {
  if (auto it = env.replaced.find(&e); it != env.replaced.end())
    return it->second;
  mlir::Location l = loc(e.getLoc());
  std::optional<ValueType> type = typeOf(e, env);
  if (!type) {
    if (e.type && e.type->isGroup())
      return unsupported(e.getLoc(), "a group value here (" + e.type->str() +
                                         "); use one of its members");
    return error(e.getLoc(), "internal error: an expression without a type");
  }
  if (auto *lit = dyn_cast<IntLitExpr>(&e))
    return constValue(ConstValue::ofInt(lit->value), mlirType(*type), l);
  if (auto *lit = dyn_cast<FloatLitExpr>(&e))
    return constValue(ConstValue::ofFloat(lit->value), mlirType(*type), l);
  if (auto *lit = dyn_cast<BoolLitExpr>(&e))
    return mlir::arith::ConstantOp::create(builder, l,
                                           builder.getBoolAttr(lit->value));
  if (auto *name = dyn_cast<NameExpr>(&e))
    return genName(*name, env);
  if (auto *sub = dyn_cast<SubscriptExpr>(&e))
    return genSubscript(*sub, env);
  if (auto *member = dyn_cast<MemberExpr>(&e)) {
    const ValueType *group =
        member->base->type ? &*member->base->type : nullptr;
    if (!group || !group->isGroup())
      return error(e.getLoc(), "internal error: a member of a non-group");
    const auto &members = group->getMembers();
    auto it = llvm::find_if(
        members, [&](const auto &m) { return m.first == member->member; });
    Env inner = env;
    inner.member = unsigned(it - members.begin());
    return gen(*member->base, inner);
  }
  if (auto *lit = dyn_cast<GroupLitExpr>(&e)) {
    const ValueType &group = *e.type;
    const std::string &name = group.getMembers()[*env.member].first;
    for (const GroupLitExpr::Field &f : lit->fields)
      if (f.name == name) {
        Env inner = env;
        inner.member.reset();
        return gen(*f.value, inner);
      }
    return error(e.getLoc(), "internal error: a missing group member");
  }
  if (isElementwise(e)) {
    if (!type->isScalar())
      return genElementwise(e, env);
    llvm::SmallVector<mlir::Value, 3> ops;
    // A `where`'s branches see its condition: a run-time check in a branch
    // holds only where that branch is taken.
    auto *call = dyn_cast<CallExpr>(&e);
    bool isWhere = call && call->callee == "where";
    for (const Expr *op : operandsOf(e)) {
      Env inner = env;
      if (!(op->type && op->type->isGroup()))
        inner.member.reset();
      if (isWhere && ops.size() > 0)
        guards.push_back({coerce(ops[0], builder.getI1Type(), loc(e.getLoc())),
                          ops.size() == 1});
      mlir::Value v = gen(*op, inner);
      if (isWhere && ops.size() > 0)
        guards.pop_back();
      if (!v)
        return {};
      ops.push_back(v);
    }
    return applyScalar(e, ops, mlirType(*type));
  }
  if (auto *bin = dyn_cast<BinaryExpr>(&e))
    return genMatMul(*bin, env);
  if (auto *call = dyn_cast<CallExpr>(&e)) {
    if (call->callee == "grad")
      return genGrad(*call, env);
    auto fn = fns.find(call->callee);
    if (fn != fns.end())
      return genUserCall(*call, *fn->second, env);
    return genBuiltin(*call, env);
  }
  if (auto *red = dyn_cast<ReduceExpr>(&e))
    return genReduce(*red, env);
  if (auto *attend = dyn_cast<AttendExpr>(&e)) {
    // Computed before the statement (hoistNestedAttends): read it at the
    // current indices.
    auto it = hoistedAttends.find(attend);
    if (it == hoistedAttends.end())
      return unsupported(e.getLoc(), "an attend here");
    llvm::SmallVector<mlir::Value> indices;
    for (const std::string &name : it->second.second) {
      auto index = env.indices.find(name);
      if (index == env.indices.end())
        return error(e.getLoc(), "internal error: an attend's index");
      indices.push_back(index->second);
    }
    return sliceAt(it->second.first, indices, e, env);
  }
  return unsupported(e.getLoc(), "scan inside an expression (define it on "
                                 "its own: out[b, h, t] = scan ...)");
}

mlir::Value FnGen::genName(const NameExpr &e, const Env &env) {
  mlir::Location l = loc(e.getLoc());
  auto idx = env.indices.find(e.name);
  if (idx != env.indices.end())
    return idx->second;
  if (const Binding *b = lookup(e.name)) {
    if (b->type.isGroup()) {
      if (!env.member || *env.member >= b->values.size())
        return unsupported(e.getLoc(), "the group '" + e.name + "' here");
      return b->values[*env.member];
    }
    return b->values.front();
  }
  if (frame().poisoned.contains(e.name))
    return {};
  std::optional<ValueType> type = typeOf(e, env);
  auto c = frame().consts.find(e.name);
  if (c != frame().consts.end())
    return constValue(c->second, mlirType(*type), l);
  // A size symbol used as a value, such as `log(N)`.
  DimExpr size = DimExpr::symbol(e.name).substitute(frame().subst);
  std::vector<std::string> symbols = size.getSymbols();
  if (llvm::all_of(symbols, [&](const std::string &s) {
        return sizes.count(s) || size.getQuotient(s);
      })) {
    mlir::Value v = dimValue(size, e.getLoc());
    return v ? coerce(v, mlirType(*type), l) : v;
  }
  return unsupported(e.getLoc(), "the value '" + e.name + "' here");
}

mlir::Value FnGen::genSubscript(const SubscriptExpr &e, const Env &env) {
  mlir::Location l = loc(e.getLoc());
  auto *name = dyn_cast<NameExpr>(e.base.get());
  if (name && frame().poisoned.contains(name->name))
    return {};
  mlir::Value base = gen(*e.base, env);
  if (!base)
    return {};
  llvm::SmallVector<mlir::Value> indices;
  for (auto [k, index] : llvm::enumerate(e.indices)) {
    Env inner = env;
    inner.member.reset();
    mlir::Value v = gen(*index, inner);
    if (!v)
      return {};
    v = coerce(v, builder.getIndexType(), l);
    IndexSafety safety =
        k < e.safety.size() ? e.safety[k] : IndexSafety::Checked;
    if (safety != IndexSafety::InRange)
      v = boundedIndex(e, k, base, v, safety == IndexSafety::Checked);
    indices.push_back(v);
  }
  return sliceAt(base, indices, e, env);
}

/// Whether `v` can be used at the builder's insertion point: no op isolated
/// from above (a kernel region) lies between.
static bool isVisibleAt(mlir::Value v, mlir::OpBuilder &builder) {
  mlir::Region *target = v.getParentRegion();
  for (mlir::Region *r = builder.getInsertionBlock()->getParent(); r;
       r = r->getParentRegion()) {
    if (r == target)
      return true;
    mlir::Operation *owner = r->getParentOp();
    if (!owner || owner->hasTrait<mlir::OpTrait::IsIsolatedFromAbove>())
      return false;
  }
  return false;
}

mlir::Value FnGen::boundedIndex(const SubscriptExpr &e, size_t k,
                                mlir::Value base, mlir::Value index,
                                bool check) {
  const Expr &indexExpr = *e.indices[k];
  mlir::Location l = loc(indexExpr.getLoc());
  auto type = mlir::cast<mlir::RankedTensorType>(base.getType());
  mlir::Value size =
      type.isDynamicDim(k)
          ? mlir::tensor::DimOp::create(builder, l, base, k).getResult()
          : mlir::arith::ConstantIndexOp::create(builder, l, type.getDimSize(k))
                .getResult();
  mlir::Value zero = mlir::arith::ConstantIndexOp::create(builder, l, 0);
  mlir::Value one = mlir::arith::ConstantIndexOp::create(builder, l, 1);
  if (check) {
    mlir::Value atLeastZero = mlir::arith::CmpIOp::create(
        builder, l, mlir::arith::CmpIPredicate::sge, index, zero);
    mlir::Value belowSize = mlir::arith::CmpIOp::create(
        builder, l, mlir::arith::CmpIPredicate::slt, index, size);
    mlir::Value ok =
        mlir::arith::AndIOp::create(builder, l, atLeastZero, belowSize);
    std::string sizeText = k < e.base->type->getShape().size()
                               ? e.base->type->getShape()[k].str()
                               : std::string("?");
    checkUnlessGuarded(ok, l,
                       "index '" + show(indexExpr) + "' of '" + show(*e.base) +
                           "' is out of range of dimension " +
                           std::to_string(k) + " (size " + sizeText + ")");
  }
  // Clamped into the dimension: no read outside it, even where the value
  // is evaluated but not used.
  mlir::Value last = mlir::arith::SubIOp::create(builder, l, size, one);
  mlir::Value low = mlir::arith::MaxSIOp::create(builder, l, index, zero);
  return mlir::arith::MinSIOp::create(builder, l, low, last);
}

void FnGen::checkUnlessGuarded(mlir::Value ok, mlir::Location l,
                               const llvm::Twine &what) {
  // Holds, or not used: an enclosing `where` picks the other branch.
  for (auto [guard, holds] : guards) {
    if (!isVisibleAt(guard, builder))
      continue;
    mlir::Value unused = guard;
    if (holds)
      unused = mlir::arith::XOrIOp::create(
          builder, l, guard,
          mlir::arith::ConstantOp::create(builder, l,
                                          builder.getBoolAttr(true)));
    ok = mlir::arith::OrIOp::create(builder, l, ok, unused);
  }
  mlir::cf::AssertOp::create(builder, l, ok, what.str());
}

mlir::Value FnGen::safeDivisor(const BinaryExpr &e, mlir::Value x,
                               mlir::Value y) {
  llvm::APInt c;
  if (mlir::matchPattern(y, mlir::m_ConstantInt(&c)) && !c.isZero() &&
      !c.isAllOnes())
    return y;
  mlir::Location l = loc(e.getLoc());
  auto type = mlir::cast<mlir::IntegerType>(y.getType());
  auto constant = [&](const llvm::APInt &v) -> mlir::Value {
    return mlir::arith::ConstantOp::create(builder, l,
                                           builder.getIntegerAttr(type, v));
  };
  unsigned width = type.getWidth();
  mlir::Value zero = constant(llvm::APInt(width, 0));
  mlir::Value isZero = mlir::arith::CmpIOp::create(
      builder, l, mlir::arith::CmpIPredicate::eq, y, zero);
  mlir::Value xIsMin = mlir::arith::CmpIOp::create(
      builder, l, mlir::arith::CmpIPredicate::eq, x,
      constant(llvm::APInt::getSignedMinValue(width)));
  mlir::Value yIsMinusOne =
      mlir::arith::CmpIOp::create(builder, l, mlir::arith::CmpIPredicate::eq, y,
                                  constant(llvm::APInt::getAllOnes(width)));
  mlir::Value overflows =
      mlir::arith::AndIOp::create(builder, l, xIsMin, yIsMinusOne);
  mlir::Value bad = mlir::arith::OrIOp::create(builder, l, isZero, overflows);
  mlir::Value ok = mlir::arith::XOrIOp::create(
      builder, l, bad,
      mlir::arith::ConstantOp::create(builder, l, builder.getBoolAttr(true)));
  const char *what = e.op == BinaryOp::Mod ? "remainder" : "division";
  checkUnlessGuarded(ok, l,
                     std::string("integer ") + what + " '" + show(e) +
                         "' by zero (or of the smallest integer by -1)");
  return mlir::arith::SelectOp::create(builder, l, bad,
                                       constant(llvm::APInt(width, 1)), y);
}

mlir::Value FnGen::checkedFloatToInt(const CallExpr &e, mlir::Value x,
                                     mlir::IntegerType to) {
  // NaN and values outside `to` are the interpreter's error; fptosi would
  // give poison.
  mlir::Location l = loc(e.getLoc());
  auto fty = mlir::cast<mlir::FloatType>(x.getType());
  double bound = std::ldexp(1.0, to.getWidth() - 1);
  auto fconst = [&](double v) -> mlir::Value {
    return mlir::arith::ConstantOp::create(builder, l,
                                           builder.getFloatAttr(fty, v));
  };
  // Ordered comparisons: false for NaN.
  mlir::Value aboveLow = mlir::arith::CmpFOp::create(
      builder, l, mlir::arith::CmpFPredicate::OGE, x, fconst(-bound));
  mlir::Value belowHigh = mlir::arith::CmpFOp::create(
      builder, l, mlir::arith::CmpFPredicate::OLT, x, fconst(bound));
  mlir::Value ok = mlir::arith::AndIOp::create(builder, l, aboveLow, belowHigh);
  checkUnlessGuarded(ok, l,
                     "'" + show(e) + "' of a value that is NaN or outside i" +
                         std::to_string(to.getWidth()));
  mlir::Value safe =
      mlir::arith::SelectOp::create(builder, l, ok, x, fconst(0.0));
  return mlir::arith::FPToSIOp::create(builder, l, to, safe);
}

mlir::Value FnGen::sliceAt(mlir::Value base,
                           llvm::ArrayRef<mlir::Value> indices, const Expr &e,
                           const Env &env) {
  mlir::Location l = loc(e.getLoc());
  auto baseType = mlir::dyn_cast<mlir::RankedTensorType>(base.getType());
  if (!baseType)
    return error(e.getLoc(), "internal error: a subscript of a scalar");
  if (indices.size() == size_t(baseType.getRank()))
    return mlir::tensor::ExtractOp::create(builder, l, base, indices);
  // A partial subscript: the rank-reduced slice of the remaining dims.
  llvm::SmallVector<mlir::OpFoldResult> offsets, sizesOut, strides;
  llvm::SmallVector<int64_t> resultShape;
  for (mlir::Value v : indices) {
    offsets.push_back(v);
    sizesOut.push_back(builder.getIndexAttr(1));
  }
  for (int64_t d = indices.size(); d < baseType.getRank(); ++d) {
    offsets.push_back(builder.getIndexAttr(0));
    resultShape.push_back(baseType.getDimSize(d));
    if (baseType.isDynamicDim(d))
      sizesOut.push_back(
          mlir::tensor::DimOp::create(builder, l, base, d).getResult());
    else
      sizesOut.push_back(builder.getIndexAttr(baseType.getDimSize(d)));
  }
  strides.assign(offsets.size(), builder.getIndexAttr(1));
  auto sliceType =
      mlir::RankedTensorType::get(resultShape, baseType.getElementType());
  mlir::Value slice = mlir::tensor::ExtractSliceOp::create(
      builder, l, sliceType, base, offsets, sizesOut, strides);
  std::optional<ValueType> type = typeOf(e, env);
  mlir::Value v = convert(slice, mlirType(*type), l);
  return v ? v : slice;
}

//===----------------------------------------------------------------------===//
// Scalar operations
//===----------------------------------------------------------------------===//

/// The type both operands of `lhs op rhs` are computed in: the float type if
/// either is a float, else the wider integer (index counts as i64).
static mlir::Type commonType(mlir::OpBuilder &b, mlir::Type x, mlir::Type y) {
  if (x == y)
    return x;
  auto fx = mlir::dyn_cast<mlir::FloatType>(x);
  auto fy = mlir::dyn_cast<mlir::FloatType>(y);
  if (fx && fy)
    return fx.getWidth() >= fy.getWidth() ? x : y;
  if (fx)
    return x;
  if (fy)
    return y;
  unsigned wx = x.isIndex() ? 64 : x.getIntOrFloatBitWidth();
  unsigned wy = y.isIndex() ? 64 : y.getIntOrFloatBitWidth();
  return b.getIntegerType(std::max(wx, wy));
}

/// A small integer exponent, for math.fpowi / math.ipowi.
static std::optional<int64_t> integerExponent(const Expr &e) {
  if (auto *lit = dyn_cast<IntLitExpr>(&e))
    return lit->value;
  if (auto *lit = dyn_cast<FloatLitExpr>(&e))
    if (lit->value == std::floor(lit->value) && std::fabs(lit->value) < 64)
      return int64_t(lit->value);
  return std::nullopt;
}

mlir::Value FnGen::applyScalar(const Expr &node,
                               llvm::ArrayRef<mlir::Value> ops, mlir::Type t) {
  mlir::Location l = loc(node.getLoc());
  bool isFloatT = mlir::isa<mlir::FloatType>(t);
  auto fconst = [&](double v) {
    return constValue(ConstValue::ofFloat(v), t, l);
  };
  if (auto *un = dyn_cast<UnaryExpr>(&node)) {
    if (un->op == UnaryOp::Not) {
      mlir::Value v = coerce(ops[0], builder.getI1Type(), l);
      mlir::Value one = mlir::arith::ConstantOp::create(
          builder, l, builder.getBoolAttr(true));
      return mlir::arith::XOrIOp::create(builder, l, v, one);
    }
    mlir::Value v = coerce(ops[0], t, l);
    if (isFloatT)
      return mlir::arith::NegFOp::create(builder, l, v);
    return mlir::arith::SubIOp::create(
        builder, l, constValue(ConstValue::ofInt(0), t, l), v);
  }
  if (auto *bin = dyn_cast<BinaryExpr>(&node)) {
    mlir::Value x = ops[0], y = ops[1];
    if (bin->op == BinaryOp::And || bin->op == BinaryOp::Or) {
      x = coerce(x, builder.getI1Type(), l);
      y = coerce(y, builder.getI1Type(), l);
      if (bin->op == BinaryOp::And)
        return mlir::arith::AndIOp::create(builder, l, x, y);
      return mlir::arith::OrIOp::create(builder, l, x, y);
    }
    bool isCmp = bin->op == BinaryOp::Lt || bin->op == BinaryOp::Le ||
                 bin->op == BinaryOp::Gt || bin->op == BinaryOp::Ge ||
                 bin->op == BinaryOp::Eq || bin->op == BinaryOp::Ne;
    if (bin->op == BinaryOp::Pow) {
      x = coerce(x, t, l);
      std::optional<int64_t> n = integerExponent(*bin->rhs);
      if (n) {
        mlir::Value exp =
            constValue(ConstValue::ofInt(*n), builder.getI32Type(), l);
        if (isFloatT)
          return mlir::math::FPowIOp::create(builder, l, x, exp);
        return mlir::math::IPowIOp::create(builder, l, x, coerce(exp, t, l));
      }
      if (!isFloatT)
        return unsupported(bin->getLoc(), "integer '^' by a variable");
      return mlir::math::PowFOp::create(builder, l, x, coerce(y, t, l));
    }
    mlir::Type ct = isCmp ? commonType(builder, x.getType(), y.getType()) : t;
    x = coerce(x, ct, l);
    y = coerce(y, ct, l);
    bool isFloat = mlir::isa<mlir::FloatType>(ct);
    if (isCmp) {
      // Ordered float comparisons (false on NaN) but for `!=`, which is true
      // on NaN as in C; signed integer comparisons.
      struct Predicates {
        BinaryOp op;
        mlir::arith::CmpFPredicate f;
        mlir::arith::CmpIPredicate i;
      };
      using F = mlir::arith::CmpFPredicate;
      using I = mlir::arith::CmpIPredicate;
      static const Predicates kPredicates[] = {
          {BinaryOp::Lt, F::OLT, I::slt}, {BinaryOp::Le, F::OLE, I::sle},
          {BinaryOp::Gt, F::OGT, I::sgt}, {BinaryOp::Ge, F::OGE, I::sge},
          {BinaryOp::Eq, F::OEQ, I::eq},  {BinaryOp::Ne, F::UNE, I::ne}};
      const Predicates *p = llvm::find_if(
          kPredicates, [&](const Predicates &e) { return e.op == bin->op; });
      if (isFloat)
        return mlir::arith::CmpFOp::create(builder, l, p->f, x, y);
      return mlir::arith::CmpIOp::create(builder, l, p->i, x, y);
    }
    switch (bin->op) {
    case BinaryOp::Add:
      if (isFloat)
        return mlir::arith::AddFOp::create(builder, l, x, y);
      return mlir::arith::AddIOp::create(builder, l, x, y);
    case BinaryOp::Sub:
      if (isFloat)
        return mlir::arith::SubFOp::create(builder, l, x, y);
      return mlir::arith::SubIOp::create(builder, l, x, y);
    case BinaryOp::Mul:
      if (isFloat)
        return mlir::arith::MulFOp::create(builder, l, x, y);
      return mlir::arith::MulIOp::create(builder, l, x, y);
    case BinaryOp::Div:
      if (isFloat)
        return mlir::arith::DivFOp::create(builder, l, x, y);
      // The language's integer division is floor division.
      return mlir::arith::FloorDivSIOp::create(builder, l, x,
                                               safeDivisor(*bin, x, y));
    case BinaryOp::Mod:
      if (isFloat)
        return mlir::arith::RemFOp::create(builder, l, x, y);
      return mlir::arith::RemSIOp::create(builder, l, x,
                                          safeDivisor(*bin, x, y));
    default:
      break;
    }
    return unsupported(bin->getLoc(),
                       std::string("the operator '") + toString(bin->op) + "'");
  }

  auto &call = llvm::cast<CallExpr>(node);
  const std::string &f = call.callee;
  if (f == "where") {
    mlir::Value cond = coerce(ops[0], builder.getI1Type(), l);
    mlir::Value x = coerce(ops[1], t, l), y = coerce(ops[2], t, l);
    return mlir::arith::SelectOp::create(builder, l, cond, x, y);
  }
  if (f == "min" || f == "max") {
    mlir::Value x = coerce(ops[0], t, l), y = coerce(ops[1], t, l);
    if (isFloatT)
      return f == "max"
                 ? mlir::arith::MaximumFOp::create(builder, l, x, y).getResult()
                 : mlir::arith::MinimumFOp::create(builder, l, x, y)
                       .getResult();
    return f == "max"
               ? mlir::arith::MaxSIOp::create(builder, l, x, y).getResult()
               : mlir::arith::MinSIOp::create(builder, l, x, y).getResult();
  }
  if (f == "int" && mlir::isa<mlir::FloatType>(ops[0].getType()) &&
      mlir::isa<mlir::IntegerType>(t))
    return checkedFloatToInt(call, ops[0], mlir::cast<mlir::IntegerType>(t));
  mlir::Value x = coerce(ops[0], t, l);
  if (f == "float" || f == "int")
    return x;
  if (f == "abs")
    return isFloatT ? mlir::math::AbsFOp::create(builder, l, x).getResult()
                    : mlir::math::AbsIOp::create(builder, l, x).getResult();
  if (f == "relu") {
    mlir::Value zero =
        isFloatT ? fconst(0.0) : constValue(ConstValue::ofInt(0), t, l);
    return isFloatT
               ? mlir::arith::MaximumFOp::create(builder, l, x, zero)
                     .getResult()
               : mlir::arith::MaxSIOp::create(builder, l, x, zero).getResult();
  }
  if (!isFloatT) {
    if (f == "floor" || f == "ceil")
      return x;
    return unsupported(call.getLoc(), "'" + f + "' of integers");
  }
  auto sigmoid = [&](mlir::Value v) -> mlir::Value {
    // sigmoid(v) = 1 / (1 + exp(-v)).
    mlir::Value e = mlir::math::ExpOp::create(
        builder, l, mlir::arith::NegFOp::create(builder, l, v));
    mlir::Value den = mlir::arith::AddFOp::create(builder, l, fconst(1.0), e);
    return mlir::arith::DivFOp::create(builder, l, fconst(1.0), den);
  };
  if (f == "tanh")
    return mlir::math::TanhOp::create(builder, l, x);
  if (f == "exp")
    return mlir::math::ExpOp::create(builder, l, x);
  if (f == "log")
    return mlir::math::LogOp::create(builder, l, x);
  if (f == "sqrt")
    return mlir::math::SqrtOp::create(builder, l, x);
  if (f == "rsqrt")
    return mlir::math::RsqrtOp::create(builder, l, x);
  if (f == "sin")
    return mlir::math::SinOp::create(builder, l, x);
  if (f == "cos")
    return mlir::math::CosOp::create(builder, l, x);
  if (f == "floor")
    return mlir::math::FloorOp::create(builder, l, x);
  if (f == "ceil")
    return mlir::math::CeilOp::create(builder, l, x);
  if (f == "sigmoid")
    return sigmoid(x);
  if (f == "silu")
    return mlir::arith::MulFOp::create(builder, l, x, sigmoid(x));
  if (f == "softplus") {
    // log(1 + exp(x)) as x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)): the
    // direct form's exp overflows to inf in f32 for x > 88, where
    // softplus(x) is about x. Selects rather than max and abs, so that the
    // derivative at 0 is the true 1/2 (attn-differentiate).
    mlir::Value pos = mlir::arith::CmpFOp::create(
        builder, l, mlir::arith::CmpFPredicate::OGT, x, fconst(0.0));
    mlir::Value negX = mlir::arith::NegFOp::create(builder, l, x);
    mlir::Value negAbs =
        mlir::arith::SelectOp::create(builder, l, pos, negX, x);
    mlir::Value e = mlir::math::ExpOp::create(builder, l, negAbs);
    mlir::Value tail = mlir::math::Log1pOp::create(builder, l, e);
    mlir::Value sum = mlir::arith::AddFOp::create(builder, l, x, tail);
    return mlir::arith::SelectOp::create(builder, l, pos, sum, tail);
  }
  if (f == "elu") { // x > 0 ? x : exp(x) - 1
    mlir::Value pos = mlir::arith::CmpFOp::create(
        builder, l, mlir::arith::CmpFPredicate::OGT, x, fconst(0.0));
    mlir::Value em1 = mlir::math::ExpM1Op::create(builder, l, x);
    return mlir::arith::SelectOp::create(builder, l, pos, x, em1);
  }
  if (f == "gelu") { // exact: x / 2 * (1 + erf(x / sqrt(2)))
    mlir::Value s = mlir::arith::MulFOp::create(builder, l, x,
                                                fconst(1.0 / std::sqrt(2.0)));
    mlir::Value erf = mlir::math::ErfOp::create(builder, l, s);
    mlir::Value onePlus =
        mlir::arith::AddFOp::create(builder, l, fconst(1.0), erf);
    mlir::Value half = mlir::arith::MulFOp::create(builder, l, x, fconst(0.5));
    return mlir::arith::MulFOp::create(builder, l, half, onePlus);
  }
  return unsupported(call.getLoc(), "the call '" + f + "'");
}

//===----------------------------------------------------------------------===//
// Element-wise tensor trees
//===----------------------------------------------------------------------===//

mlir::Value FnGen::genElementwise(const Expr &root, const Env &env) {
  // Leaves: maximal sub-expressions that are scalars or not element-wise.
  // They are computed once, before the tensor.generate.
  llvm::DenseMap<const Expr *, mlir::Value> leaves;
  std::function<bool(const Expr &)> collect = [&](const Expr &e) -> bool {
    std::optional<ValueType> t = typeOf(e, env);
    Env inner = env;
    if (!(e.type && e.type->isGroup()))
      inner.member.reset();
    if (t && !t->isScalar() && isElementwise(e) && !env.replaced.count(&e)) {
      for (const Expr *op : operandsOf(e))
        if (!collect(*op))
          return false;
      return true;
    }
    mlir::Value v = gen(e, inner);
    leaves[&e] = v;
    return bool(v);
  };
  if (!collect(root))
    return {};

  std::optional<ValueType> type = typeOf(root, env);
  mlir::Location l = loc(root.getLoc());
  llvm::SmallVector<mlir::Value> dyn;
  if (!dynamicSizes(*type, root.getLoc(), dyn))
    return {};
  auto resultType = mlir::cast<mlir::RankedTensorType>(mlirType(*type));
  auto op = mlir::tensor::GenerateOp::create(
      builder, l, resultType, dyn,
      [](mlir::OpBuilder &, mlir::Location, mlir::ValueRange) {});
  mlir::Block &body = op.getBody().front();
  mlir::OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(&body);
  int64_t rank = resultType.getRank();

  std::function<mlir::Value(const Expr &)> eval =
      [&](const Expr &e) -> mlir::Value {
    auto leaf = leaves.find(&e);
    if (leaf != leaves.end()) {
      mlir::Value v = leaf->second;
      auto t = mlir::dyn_cast<mlir::RankedTensorType>(v.getType());
      if (!t)
        return v;
      // Trailing-aligned broadcasting: a static 1 reads index 0.
      llvm::SmallVector<mlir::Value> indices;
      for (int64_t d = 0; d < t.getRank(); ++d) {
        int64_t rd = rank - t.getRank() + d;
        if (t.getDimSize(d) == 1 && resultType.getDimSize(rd) != 1)
          indices.push_back(
              mlir::arith::ConstantIndexOp::create(builder, l, 0));
        else
          indices.push_back(body.getArgument(rd));
      }
      return mlir::tensor::ExtractOp::create(builder, l, v, indices);
    }
    llvm::SmallVector<mlir::Value, 3> ops;
    for (const Expr *op : operandsOf(e)) {
      mlir::Value v = eval(*op);
      if (!v)
        return {};
      ops.push_back(v);
    }
    std::optional<ValueType> t = typeOf(e, env);
    return applyScalar(e, ops, elemType(t->getElemType()));
  };
  mlir::Value v = eval(root);
  if (!v)
    return {};
  mlir::tensor::YieldOp::create(builder, l,
                                coerce(v, resultType.getElementType(), l));
  return op.getResult();
}

//===----------------------------------------------------------------------===//
// Contractions and built-ins
//===----------------------------------------------------------------------===//

mlir::Value FnGen::genMatMul(const BinaryExpr &e, const Env &env) {
  Env inner = env;
  inner.member.reset();
  mlir::Value a = gen(*e.lhs, inner);
  mlir::Value b = a ? gen(*e.rhs, inner) : mlir::Value();
  if (!b)
    return {};
  std::optional<ValueType> type = typeOf(e, env);
  auto ta = mlir::cast<mlir::RankedTensorType>(a.getType());
  auto tb = mlir::cast<mlir::RankedTensorType>(b.getType());
  if (ta.getElementType() != tb.getElementType() ||
      ta.getElementType() != elemType(type->getElemType()))
    return unsupported(e.getLoc(), "'@' of different element types");
  mlir::Value init = filled(*type, 0.0, e.getLoc());
  if (!init)
    return {};
  mlir::Location l = loc(e.getLoc());
  int64_t ra = ta.getRank(), rb = tb.getRank();
  if (ra == 2 && rb == 1)
    return mlir::linalg::MatvecOp::create(builder, l, mlir::ValueRange{a, b},
                                          mlir::ValueRange{init})
        .getResult(0);
  if (ra == 1 && rb == 2)
    return mlir::linalg::VecmatOp::create(builder, l, mlir::ValueRange{a, b},
                                          mlir::ValueRange{init})
        .getResult(0);
  if (ra == 2 && rb == 2)
    return mlir::linalg::MatmulOp::create(builder, l, mlir::ValueRange{a, b},
                                          mlir::ValueRange{init})
        .getResult(0);
  if (ra == 3 && rb == 3)
    return mlir::linalg::BatchMatmulOp::create(
               builder, l, mlir::ValueRange{a, b}, mlir::ValueRange{init})
        .getResult(0);
  return unsupported(e.getLoc(), "'@' of tensors of ranks " +
                                     std::to_string(ra) + " and " +
                                     std::to_string(rb));
}

/// The neutral element of a reduction.
static double identityOf(llvm::StringRef op) {
  if (op == "max" || op == "any")
    return op == "any" ? 0.0 : -std::numeric_limits<double>::infinity();
  if (op == "min")
    return std::numeric_limits<double>::infinity();
  if (op == "prod" || op == "all")
    return 1.0;
  return 0.0;
}

/// acc op v for the reductions sum, mean, max, min, prod, any and all.
static mlir::Value combine(mlir::OpBuilder &b, mlir::Location l,
                           llvm::StringRef op, mlir::Value acc, mlir::Value v) {
  bool isFloat = mlir::isa<mlir::FloatType>(acc.getType());
  if (op == "sum" || op == "mean")
    return isFloat ? mlir::arith::AddFOp::create(b, l, acc, v).getResult()
                   : mlir::arith::AddIOp::create(b, l, acc, v).getResult();
  if (op == "prod")
    return isFloat ? mlir::arith::MulFOp::create(b, l, acc, v).getResult()
                   : mlir::arith::MulIOp::create(b, l, acc, v).getResult();
  if (op == "max")
    return isFloat ? mlir::arith::MaximumFOp::create(b, l, acc, v).getResult()
                   : mlir::arith::MaxSIOp::create(b, l, acc, v).getResult();
  if (op == "min")
    return isFloat ? mlir::arith::MinimumFOp::create(b, l, acc, v).getResult()
                   : mlir::arith::MinSIOp::create(b, l, acc, v).getResult();
  if (op == "any")
    return mlir::arith::OrIOp::create(b, l, acc, v);
  return mlir::arith::AndIOp::create(b, l, acc, v);
}

/// A constant of `t` (float or integer) for the reduction identities; the
/// integer infinities are the type's limits.
static mlir::Value identityConst(mlir::OpBuilder &b, mlir::Location l,
                                 mlir::Type t, double v) {
  if (auto ft = mlir::dyn_cast<mlir::FloatType>(t))
    return mlir::arith::ConstantOp::create(b, l, b.getFloatAttr(ft, v));
  unsigned w = t.getIntOrFloatBitWidth();
  llvm::APInt value(w, int64_t(v), /*isSigned=*/true);
  if (std::isinf(v))
    value = v > 0 ? llvm::APInt::getSignedMaxValue(w)
                  : llvm::APInt::getSignedMinValue(w);
  if (w == 1)
    value = llvm::APInt(1, v != 0.0);
  return mlir::arith::ConstantOp::create(b, l, b.getIntegerAttr(t, value));
}

mlir::Value FnGen::genFullReduce(const CallExpr &call, mlir::Value x,
                                 const ValueType &t) {
  // op(x) over every element: linalg.reduce to a rank-0 tensor.
  mlir::Location l = loc(call.getLoc());
  auto xt = mlir::cast<mlir::RankedTensorType>(x.getType());
  mlir::Type elem = elemType(t.getElemType());
  llvm::StringRef op = call.callee;
  if (xt.getElementType() != elem)
    return unsupported(call.getLoc(), "'" + call.callee + "' of integers");
  auto scalarTensor = mlir::RankedTensorType::get({}, elem);
  mlir::Value empty = mlir::tensor::EmptyOp::create(builder, l, scalarTensor,
                                                    mlir::ValueRange());
  mlir::Value init =
      mlir::linalg::FillOp::create(
          builder, l, identityConst(builder, l, elem, identityOf(op)), empty)
          .getResult(0);
  llvm::SmallVector<int64_t> dims;
  for (int64_t d = 0; d < xt.getRank(); ++d)
    dims.push_back(d);
  auto reduce = mlir::linalg::ReduceOp::create(
      builder, l, mlir::ValueRange{x}, mlir::ValueRange{init}, dims,
      [&](mlir::OpBuilder &b, mlir::Location bl, mlir::ValueRange args) {
        mlir::linalg::YieldOp::create(b, bl,
                                      combine(b, bl, op, args[1], args[0]));
      });
  mlir::Value r = mlir::tensor::ExtractOp::create(
      builder, l, reduce.getResult(0), mlir::ValueRange());
  if (op != "mean")
    return r;
  mlir::Value count = mlir::arith::ConstantIndexOp::create(builder, l, 1);
  for (int64_t d = 0; d < xt.getRank(); ++d)
    count = mlir::arith::MulIOp::create(
        builder, l, count, mlir::tensor::DimOp::create(builder, l, x, d));
  return mlir::arith::DivFOp::create(builder, l, r, coerce(count, elem, l));
}

mlir::Value FnGen::genNorm(const CallExpr &call, mlir::Value x,
                           const ValueType &t, const Env &env) {
  // Over the last dim D of x, with eps = 1e-5 under the square roots of
  // layernorm and rmsnorm:
  //   l2norm:    x / sqrt(sum x^2)
  //   rmsnorm:   x / sqrt(sum x^2 / D + eps)
  //   layernorm: (x - m) / sqrt(sum (x - m)^2 / D + eps), m = sum x / D
  mlir::Location l = loc(call.getLoc());
  auto xt = mlir::cast<mlir::RankedTensorType>(x.getType());
  mlir::Type elem = xt.getElementType();
  if (!mlir::isa<mlir::FloatType>(elem) || elem != elemType(t.getElemType()))
    return unsupported(call.getLoc(), "'" + call.callee + "' of integers");
  int64_t rank = xt.getRank();
  bool l2 = call.callee == "l2norm";
  // The row length as a float, for the means (not needed by l2norm).
  mlir::Value d;
  if (!l2)
    d = coerce(mlir::tensor::DimOp::create(builder, l, x, rank - 1).getResult(),
               elem, l);
  auto fconst = [&](double v) {
    return constValue(ConstValue::ofFloat(v), elem, l);
  };
  // Row tensors [..., D] -> [...].
  llvm::SmallVector<int64_t> rowShape(xt.getShape().drop_back());
  auto rowType = mlir::RankedTensorType::get(rowShape, elem);
  llvm::SmallVector<mlir::Value> rowDyn;
  for (int64_t i = 0; i + 1 < rank; ++i)
    if (xt.isDynamicDim(i))
      rowDyn.push_back(mlir::tensor::DimOp::create(builder, l, x, i));
  auto rowSum = [&](mlir::Value input,
                    std::function<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                              mlir::Value)>
                        f) -> mlir::Value {
    mlir::Value empty =
        mlir::tensor::EmptyOp::create(builder, l, rowType, rowDyn);
    mlir::Value init =
        mlir::linalg::FillOp::create(builder, l, fconst(0.0), empty)
            .getResult(0);
    return mlir::linalg::ReduceOp::create(
               builder, l, mlir::ValueRange{input}, mlir::ValueRange{init},
               llvm::ArrayRef<int64_t>{rank - 1},
               [&](mlir::OpBuilder &b, mlir::Location bl,
                   mlir::ValueRange args) {
                 mlir::Value v = f(b, bl, args[0]);
                 mlir::linalg::YieldOp::create(
                     b, bl,
                     mlir::arith::AddFOp::create(b, bl, args[1], v)
                         .getResult());
               })
        .getResult(0);
  };
  auto rowIndices = [&](mlir::ValueRange indices) {
    return llvm::SmallVector<mlir::Value>(indices.drop_back());
  };

  mlir::Value mean;
  if (call.callee == "layernorm") {
    mlir::Value sum = rowSum(
        x, [](mlir::OpBuilder &, mlir::Location, mlir::Value v) { return v; });
    mean = mlir::tensor::GenerateOp::create(
        builder, l, rowType, rowDyn,
        [&](mlir::OpBuilder &b, mlir::Location bl, mlir::ValueRange idx) {
          mlir::Value s = mlir::tensor::ExtractOp::create(b, bl, sum, idx);
          mlir::tensor::YieldOp::create(
              b, bl, mlir::arith::DivFOp::create(b, bl, s, d).getResult());
        });
  }
  // The centered input (layernorm) or x itself.
  mlir::Value centered = x;
  llvm::SmallVector<mlir::Value> xDyn;
  for (int64_t i = 0; i < rank; ++i)
    if (xt.isDynamicDim(i))
      xDyn.push_back(mlir::tensor::DimOp::create(builder, l, x, i));
  if (mean)
    centered = mlir::tensor::GenerateOp::create(
        builder, l, xt, xDyn,
        [&](mlir::OpBuilder &b, mlir::Location bl, mlir::ValueRange idx) {
          mlir::Value v = mlir::tensor::ExtractOp::create(b, bl, x, idx);
          mlir::Value m =
              mlir::tensor::ExtractOp::create(b, bl, mean, rowIndices(idx));
          mlir::tensor::YieldOp::create(
              b, bl, mlir::arith::SubFOp::create(b, bl, v, m).getResult());
        });
  mlir::Value sumSq = rowSum(
      centered, [](mlir::OpBuilder &b, mlir::Location bl, mlir::Value v) {
        return mlir::arith::MulFOp::create(b, bl, v, v).getResult();
      });
  mlir::Value eps = l2 ? mlir::Value() : fconst(1e-5);
  return mlir::tensor::GenerateOp::create(
      builder, l, xt, xDyn,
      [&](mlir::OpBuilder &b, mlir::Location bl, mlir::ValueRange idx) {
        mlir::Value v = mlir::tensor::ExtractOp::create(b, bl, centered, idx);
        mlir::Value s =
            mlir::tensor::ExtractOp::create(b, bl, sumSq, rowIndices(idx));
        if (!l2) {
          s = mlir::arith::DivFOp::create(b, bl, s, d);
          s = mlir::arith::AddFOp::create(b, bl, s, eps);
        }
        mlir::Value r = mlir::math::RsqrtOp::create(b, bl, s);
        mlir::tensor::YieldOp::create(
            b, bl, mlir::arith::MulFOp::create(b, bl, v, r).getResult());
      });
}

mlir::Value FnGen::genBuiltin(const CallExpr &call, const Env &env) {
  mlir::Location l = loc(call.getLoc());
  std::optional<ValueType> type = typeOf(call, env);
  const std::string &f = call.callee;
  Env inner = env;
  inner.member.reset();

  if (f == "eye") {
    mlir::Type elem = elemType(type->getElemType());
    llvm::SmallVector<mlir::Value> dyn;
    if (!dynamicSizes(*type, call.getLoc(), dyn))
      return {};
    return mlir::tensor::GenerateOp::create(
        builder, l, mlir::cast<mlir::RankedTensorType>(mlirType(*type)), dyn,
        [&](mlir::OpBuilder &b, mlir::Location bl, mlir::ValueRange idx) {
          mlir::Value same = mlir::arith::CmpIOp::create(
              b, bl, mlir::arith::CmpIPredicate::eq, idx[0], idx[1]);
          mlir::Value one = constValue(ConstValue::ofFloat(1.0), elem, bl);
          mlir::Value zero = constValue(ConstValue::ofFloat(0.0), elem, bl);
          mlir::tensor::YieldOp::create(
              b, bl,
              mlir::arith::SelectOp::create(b, bl, same, one, zero)
                  .getResult());
        });
  }

  llvm::SmallVector<mlir::Value, 3> args;
  size_t numTensorArgs = f == "pool" ? 1 : call.args.size();
  for (size_t i = 0; i < numTensorArgs; ++i) {
    mlir::Value v = gen(*call.args[i], inner);
    if (!v)
      return {};
    args.push_back(v);
  }
  auto tensorArg = [&](size_t i) {
    return mlir::dyn_cast<mlir::RankedTensorType>(args[i].getType());
  };

  if (f == "dot") {
    auto ta = tensorArg(0), tb = tensorArg(1);
    if (!ta || !tb || ta.getRank() != 1 || tb.getRank() != 1 ||
        !type->isScalar())
      return unsupported(call.getLoc(), "batched 'dot' (use sum over an "
                                        "index)");
    if (ta.getElementType() != tb.getElementType())
      return unsupported(call.getLoc(), "'dot' of different element types");
    mlir::Type elem = ta.getElementType();
    auto scalarTensor = mlir::RankedTensorType::get({}, elem);
    mlir::Value empty = mlir::tensor::EmptyOp::create(builder, l, scalarTensor,
                                                      mlir::ValueRange());
    mlir::Value init =
        mlir::linalg::FillOp::create(
            builder, l, constValue(ConstValue::ofFloat(0.0), elem, l), empty)
            .getResult(0);
    mlir::Value dot = mlir::linalg::DotOp::create(
                          builder, l, mlir::ValueRange{args[0], args[1]},
                          mlir::ValueRange{init})
                          .getResult(0);
    mlir::Value r =
        mlir::tensor::ExtractOp::create(builder, l, dot, mlir::ValueRange());
    return coerce(r, mlirType(*type), l);
  }
  if (f == "outer") {
    llvm::SmallVector<mlir::Value> dyn;
    if (!dynamicSizes(*type, call.getLoc(), dyn))
      return {};
    mlir::Type elem = elemType(type->getElemType());
    return mlir::tensor::GenerateOp::create(
        builder, l, mlir::cast<mlir::RankedTensorType>(mlirType(*type)), dyn,
        [&](mlir::OpBuilder &b, mlir::Location bl, mlir::ValueRange idx) {
          mlir::Value x = mlir::tensor::ExtractOp::create(
              b, bl, args[0], mlir::ValueRange{idx[0]});
          mlir::Value y = mlir::tensor::ExtractOp::create(
              b, bl, args[1], mlir::ValueRange{idx[1]});
          mlir::Value xe = coerce(x, elem, bl), ye = coerce(y, elem, bl);
          mlir::Value p = mlir::arith::MulFOp::create(b, bl, xe, ye);
          mlir::tensor::YieldOp::create(b, bl, p);
        });
  }
  if (f == "transpose") {
    int64_t rank = tensorArg(0).getRank();
    llvm::SmallVector<int64_t> perm;
    for (int64_t d = 0; d < rank; ++d)
      perm.push_back(d);
    std::swap(perm[rank - 1], perm[rank - 2]);
    mlir::Value init = emptyTensor(*type, call.getLoc());
    if (!init)
      return {};
    return mlir::linalg::TransposeOp::create(builder, l, args[0], init, perm)
        .getResult()[0];
  }
  if (f == "softmax") {
    if (tensorArg(0).getElementType() != elemType(type->getElemType()))
      return unsupported(call.getLoc(), "'softmax' of integers");
    mlir::Value init = emptyTensor(*type, call.getLoc());
    if (!init)
      return {};
    return mlir::linalg::SoftmaxOp::create(builder, l, init.getType(), args[0],
                                           init, tensorArg(0).getRank() - 1)
        .getResult()[0];
  }
  if (f == "layernorm" || f == "rmsnorm" || f == "l2norm")
    return genNorm(call, args[0], *type, env);
  if ((f == "sum" || f == "mean" || f == "prod" || f == "any" || f == "all" ||
       f == "min" || f == "max") &&
      args.size() == 1)
    return genFullReduce(call, args[0], *type);
  if (f == "gather")
    return attn::GatherOp::create(builder, l, mlirType(*type), args[0],
                                  args[1]);
  if (f == "pool") {
    std::optional<int64_t> bs = constInt(*call.args[1]);
    if (!bs || *bs <= 0)
      return unsupported(call.args[1]->getLoc(),
                         "a 'pool' block size that is not a constant");
    if (tensorArg(0).getElementType() != elemType(type->getElemType()))
      return unsupported(call.getLoc(), "'pool' of integers");
    return attn::PoolOp::create(builder, l, mlirType(*type), args[0], *bs);
  }
  if (f == "conv1d") {
    if (tensorArg(0).getElementType() != tensorArg(1).getElementType())
      return unsupported(call.getLoc(), "'conv1d' of different element types");
    return attn::Conv1DOp::create(builder, l, args[0].getType(), args[0],
                                  args[1]);
  }
  return unsupported(call.getLoc(), "the call '" + f + "'");
}

//===----------------------------------------------------------------------===//
// Reductions over an index
//===----------------------------------------------------------------------===//

mlir::Value FnGen::genReduce(const ReduceExpr &red, const Env &env) {
  mlir::Location l = loc(red.getLoc());
  std::optional<ValueType> type = typeOf(red, env);
  Env inner = env;
  inner.member.reset();
  mlir::Value extent = genExtent(*red.extent);
  if (!extent)
    return {};
  const std::string &op = red.op;

  if (op == "argmax" || op == "argmin" || op == "topk" || op == "topp") {
    // The scores over the reduced index, then the selection op.
    std::optional<ValueType> bodyType = typeOf(*red.body, inner);
    mlir::Type scoreElem = elemType(bodyType->getElemType());
    if (!mlir::isa<mlir::FloatType>(scoreElem))
      scoreElem = builder.getF32Type();
    std::optional<int64_t> staticExtent = mlir::getConstantIntValue(extent);
    auto scoresType = mlir::RankedTensorType::get(
        {staticExtent ? *staticExtent : mlir::ShapedType::kDynamic}, scoreElem);
    llvm::SmallVector<mlir::Value> scoresDyn;
    if (!staticExtent)
      scoresDyn.push_back(extent);
    auto scores = mlir::tensor::GenerateOp::create(
        builder, l, scoresType, scoresDyn,
        [](mlir::OpBuilder &, mlir::Location, mlir::ValueRange) {});
    {
      mlir::OpBuilder::InsertionGuard guard(builder);
      mlir::Block &body = scores.getBody().front();
      builder.setInsertionPointToEnd(&body);
      Env bodyEnv = inner;
      bodyEnv.indices[red.index] = body.getArgument(0);
      mlir::Value v = gen(*red.body, bodyEnv);
      if (!v)
        return {};
      v = coerce(v, scoreElem, l);
      if (op == "argmin") // argmin x = argmax -x
        v = mlir::arith::NegFOp::create(builder, l, v);
      mlir::tensor::YieldOp::create(builder, l, v);
    }
    if (op == "argmax" || op == "argmin") {
      mlir::Value idx = attn::ArgMaxOp::create(
          builder, l, mlir::RankedTensorType::get({}, builder.getI32Type()),
          scores.getResult());
      mlir::Value r =
          mlir::tensor::ExtractOp::create(builder, l, idx, mlir::ValueRange());
      return coerce(r, mlirType(*type), l);
    }
    if (op == "topk") {
      std::optional<int64_t> k = type->getShape()[0].getConstant();
      if (!k)
        return unsupported(red.param->getLoc(),
                           "a 'topk' count that is not a constant");
      // The checker rejects k > extent when both are known; a run-time
      // extent is checked here, before the selection.
      if (!staticExtent) {
        mlir::Location pl = loc(red.param->getLoc());
        mlir::Value enough = mlir::arith::CmpIOp::create(
            builder, pl, mlir::arith::CmpIPredicate::sge, extent,
            mlir::arith::ConstantIndexOp::create(builder, pl, *k));
        checkUnlessGuarded(enough, pl,
                           "'topk' selects " + std::to_string(*k) +
                               " of only " + show(*red.extent) + " candidates");
      }
      mlir::Value idx = attn::TopKOp::create(
          builder, l, mlir::RankedTensorType::get({*k}, builder.getI32Type()),
          scores.getResult(), *k);
      return convert(idx, mlirType(*type), l);
    }
    mlir::Value mass = gen(*red.param, inner);
    if (!mass)
      return {};
    mlir::Value sel = attn::TopPOp::create(
        builder, l,
        mlir::RankedTensorType::get(scoresType.getShape(), builder.getI1Type()),
        scores.getResult(), coerce(mass, scoreElem, l));
    return convert(sel, mlirType(*type), l);
  }

  // sum, mean, max, min, prod, any, all: an scf.for carrying the
  // accumulator (a scalar, or a tensor for tensor-valued bodies).
  mlir::Type accType = mlirType(*type);
  mlir::Type elem = elemType(type->getElemType());
  mlir::Value init;
  if (type->isScalar()) {
    init = identityConst(builder, l, elem, identityOf(op));
  } else {
    mlir::Value empty = emptyTensor(*type, red.getLoc());
    if (!empty)
      return {};
    init =
        mlir::linalg::FillOp::create(
            builder, l, identityConst(builder, l, elem, identityOf(op)), empty)
            .getResult(0);
  }
  mlir::Value zero = mlir::arith::ConstantIndexOp::create(builder, l, 0);
  mlir::Value one = mlir::arith::ConstantIndexOp::create(builder, l, 1);
  auto loop = mlir::scf::ForOp::create(builder, l, zero, extent, one,
                                       mlir::ValueRange{init});
  {
    mlir::OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(loop.getBody());
    Env bodyEnv = env;
    bodyEnv.indices[red.index] = loop.getInductionVar();
    mlir::Value v = gen(*red.body, bodyEnv);
    if (!v)
      return {};
    mlir::Value acc = loop.getRegionIterArgs()[0];
    mlir::Value next;
    if (type->isScalar()) {
      next = combine(builder, l, op, acc, coerce(v, elem, l));
    } else {
      v = convert(v, accType, l);
      if (!v)
        return unsupported(red.body->getLoc(), "this reduction body's type");
      llvm::SmallVector<mlir::Value> dyn;
      if (!dynamicSizes(*type, red.getLoc(), dyn))
        return {};
      next = mlir::tensor::GenerateOp::create(
          builder, l, mlir::cast<mlir::RankedTensorType>(accType), dyn,
          [&](mlir::OpBuilder &b, mlir::Location bl, mlir::ValueRange idx) {
            mlir::Value a = mlir::tensor::ExtractOp::create(b, bl, acc, idx);
            mlir::Value x = mlir::tensor::ExtractOp::create(b, bl, v, idx);
            mlir::tensor::YieldOp::create(b, bl, combine(b, bl, op, a, x));
          });
    }
    mlir::scf::YieldOp::create(builder, l, next);
  }
  mlir::Value r = loop.getResult(0);
  if (op != "mean")
    return r;
  mlir::Value n = coerce(extent, elem, l);
  if (type->isScalar())
    return mlir::arith::DivFOp::create(builder, l, r, n);
  llvm::SmallVector<mlir::Value> dyn;
  if (!dynamicSizes(*type, red.getLoc(), dyn))
    return {};
  return mlir::tensor::GenerateOp::create(
      builder, l, mlir::cast<mlir::RankedTensorType>(accType), dyn,
      [&](mlir::OpBuilder &b, mlir::Location bl, mlir::ValueRange idx) {
        mlir::Value a = mlir::tensor::ExtractOp::create(b, bl, r, idx);
        mlir::tensor::YieldOp::create(
            b, bl, mlir::arith::DivFOp::create(b, bl, a, n).getResult());
      });
}

//===----------------------------------------------------------------------===//
// User function calls
//===----------------------------------------------------------------------===//

mlir::Value FnGen::genUserCall(const CallExpr &call, const FnDecl &callee,
                               const Env &env) {
  if (llvm::is_contained(inlining, &callee))
    return unsupported(call.getLoc(), "recursive calls");
  if (call.args.size() != callee.params.size())
    return error(call.getLoc(), "internal error: a call's arity");
  mlir::Location l = loc(call.getLoc());
  // A call with several results is a group: member r is result r. The
  // callee is inlined once per block; its other results wait in the cache.
  std::optional<ValueType> type = typeOf(call, env);
  bool several = call.type && call.type->isGroup() &&
                 !callee.checkedResults.empty() &&
                 callee.checkedResults.size() > 1;
  std::pair<const CallExpr *, mlir::Block *> key = {
      &call, builder.getInsertionBlock()};
  if (several) {
    if (!env.member)
      return unsupported(call.getLoc(), "a call with several results here "
                                        "(unpack it: a, b = f(x))");
    auto cached = callResults.find(key);
    if (cached != callResults.end()) {
      if (*env.member >= cached->second.size())
        return error(call.getLoc(), "internal error: a call's result");
      return cached->second[*env.member];
    }
  }
  Env inner = env;
  inner.member.reset();

  // The arguments, in the caller's frame.
  Frame next;
  next.consts = globalConsts;
  for (const auto &[name, value] : callee.checkedConsts)
    next.consts[name] = value;
  for (auto [i, arg] : llvm::enumerate(call.constArgs)) {
    std::string name = arg.name;
    if (name.empty() && i < callee.constParams.size())
      name = callee.constParams[i].name;
    std::optional<int64_t> v = constInt(*arg.value);
    if (auto *f = dyn_cast<FloatLitExpr>(arg.value.get()))
      next.consts[name] = ConstValue::ofFloat(f->value);
    else if (v)
      next.consts[name] = ConstValue::ofInt(*v);
    else
      return unsupported(arg.loc, "this constant argument of a call");
  }
  for (auto [p, arg] : llvm::zip(callee.params, call.args)) {
    if (!p.checkedType || !arg->type)
      return {};
    ValueType actual = resolve(*arg->type);
    Binding binding{actual, {}};
    unsigned members = actual.isGroup() ? actual.getMembers().size() : 1;
    for (unsigned m = 0; m < members; ++m) {
      Env argEnv = inner;
      if (actual.isGroup())
        argEnv.member = m;
      mlir::Value v = gen(*arg, argEnv);
      if (!v)
        return {};
      binding.values.push_back(v);
    }
    // Bind the callee's size symbols to the caller's dims.
    auto unify = [&](const ValueType &formal, const ValueType &act) {
      for (auto [fd, ad] : llvm::zip(formal.getShape(), act.getShape())) {
        std::vector<std::string> symbols = fd.getSymbols();
        if (symbols.size() == 1 && fd == DimExpr::symbol(symbols.front()) &&
            !next.subst.count(symbols.front()))
          next.subst[symbols.front()] = ad;
      }
    };
    if (actual.isGroup()) {
      for (auto [fm, am] :
           llvm::zip(p.checkedType->getMembers(), actual.getMembers()))
        unify(fm.second, am.second);
    } else {
      unify(*p.checkedType, actual);
    }
    next.names[p.name] = std::move(binding);
  }

  mlir::Value result;
  {
    frames.push_back(std::move(next));
    inlining.push_back(&callee);
    ScanContext *savedScan = currentScan;
    currentScan = nullptr;
    llvm::scope_exit restore([&] {
      frames.pop_back();
      inlining.pop_back();
      currentScan = savedScan;
    });
    // Parameters take the callee's view of their types.
    for (const Param &p : callee.params)
      frame().names[p.name].type = resolve(*p.checkedType);
    for (const StmtPtr &stmt : callee.body) {
      auto *ret = dyn_cast<ReturnStmt>(stmt.get());
      if (!ret) {
        if (!genStmt(*stmt, Env()))
          return {};
        continue;
      }
      if (several) {
        llvm::SmallVector<mlir::Value> results;
        for (const ExprPtr &value : ret->values) {
          mlir::Value v = gen(*value, Env());
          if (!v)
            return {};
          results.push_back(v);
        }
        callResults[key] = results;
        if (*env.member >= results.size())
          return error(call.getLoc(), "internal error: a call's result");
        result = results[*env.member];
        break;
      }
      if (ret->values.size() != 1)
        return error(call.getLoc(), "internal error: a call's results");
      result = gen(*ret->values.front(), Env());
      break;
    }
  }
  if (!result)
    return {};
  mlir::Value r = convert(result, mlirType(*type), l);
  return r ? r : result;
}
