//===- Builtins.cpp - Types of built-in functions and reductions ----------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The shape and type rule of every built-in function (docs/Language.md,
/// "Built-in functions") and of the reductions `op(i < N[, param]) body`.
///
//===----------------------------------------------------------------------===//

#include "Checker.h"

#include "llvm/Support/Casting.h"

#include <functional>

using namespace attnc;
using namespace attnc::sema;
using llvm::dyn_cast;

namespace {
enum class Rule {
  FloatUnary, // tanh(x): same shape, float
  SameUnary,  // abs(x): same shape and type
  MinMax,     // max(a, b) element-wise; max(x) reduces everything
  Where,      // where(c, a, b)
  Dot,        // dot(a, b): contract the last dims
  Outer,      // outer(a, b): [M] x [N] -> [M, N]
  Transpose,  // transpose(m): swap the last two dims
  Eye,        // eye(n): [n, n] identity
  FullReduce, // sum(x), mean(x), prod(x), any(x), all(x)
  LastDim,    // softmax(x), layernorm(x), rmsnorm(x), l2norm(x)
  Gather,     // gather(x, idx)
  Pool,       // pool(x, BS)
  Conv1d,     // conv1d(x, w)
  Cast,       // float(x), int(x)
  Grad,       // grad(loss, X...)
};

struct Builtin {
  const char *name;
  Rule rule;
  unsigned minArgs, maxArgs;
};

const Builtin kBuiltins[] = {
    {"tanh", Rule::FloatUnary, 1, 1},
    {"exp", Rule::FloatUnary, 1, 1},
    {"log", Rule::FloatUnary, 1, 1},
    {"sqrt", Rule::FloatUnary, 1, 1},
    {"rsqrt", Rule::FloatUnary, 1, 1},
    {"sigmoid", Rule::FloatUnary, 1, 1},
    {"softplus", Rule::FloatUnary, 1, 1},
    {"silu", Rule::FloatUnary, 1, 1},
    {"gelu", Rule::FloatUnary, 1, 1},
    {"elu", Rule::FloatUnary, 1, 1},
    {"sin", Rule::FloatUnary, 1, 1},
    {"cos", Rule::FloatUnary, 1, 1},
    {"abs", Rule::SameUnary, 1, 1},
    {"relu", Rule::SameUnary, 1, 1},
    {"floor", Rule::SameUnary, 1, 1},
    {"ceil", Rule::SameUnary, 1, 1},
    {"min", Rule::MinMax, 1, 2},
    {"max", Rule::MinMax, 1, 2},
    {"where", Rule::Where, 3, 3},
    {"dot", Rule::Dot, 2, 2},
    {"outer", Rule::Outer, 2, 2},
    {"transpose", Rule::Transpose, 1, 1},
    {"eye", Rule::Eye, 1, 1},
    {"sum", Rule::FullReduce, 1, 1},
    {"mean", Rule::FullReduce, 1, 1},
    {"prod", Rule::FullReduce, 1, 1},
    {"any", Rule::FullReduce, 1, 1},
    {"all", Rule::FullReduce, 1, 1},
    {"softmax", Rule::LastDim, 1, 1},
    {"layernorm", Rule::LastDim, 1, 1},
    {"rmsnorm", Rule::LastDim, 1, 1},
    {"l2norm", Rule::LastDim, 1, 1},
    {"gather", Rule::Gather, 2, 2},
    {"pool", Rule::Pool, 2, 2},
    {"conv1d", Rule::Conv1d, 2, 2},
    {"float", Rule::Cast, 1, 1},
    {"int", Rule::Cast, 1, 1},
    {"grad", Rule::Grad, 2, 64},
};

const Builtin *findBuiltin(const std::string &name) {
  for (const Builtin &b : kBuiltins)
    if (name == b.name)
      return &b;
  return nullptr;
}

bool isNumericTensor(const ValueType &t) {
  return t.isTensor() && t.getElemType() != ElemType::I1;
}

ElemType floatOf(ElemType t) { return isFloat(t) ? t : ElemType::F32; }
} // namespace

bool Checker::isBuiltin(const std::string &name) {
  return findBuiltin(name) != nullptr;
}

/// grad(loss, X1, ...): X must be states of the enclosing scan.
static std::optional<ValueType> checkGrad(Checker &c, CallExpr &expr) {
  std::optional<ValueType> loss = c.checkExpr(*expr.args[0]);
  bool inScan = !c.fnStack.empty() && !c.fnStack.back().scans.empty();
  if (!inScan) {
    c.error(expr.getLoc(), "grad is only allowed inside a scan, where it "
                           "differentiates with respect to the scan's state");
    return std::nullopt;
  }
  bool ok = loss.has_value();
  if (loss && !(loss->isScalar() && isFloat(loss->getElemType()))) {
    c.error(expr.args[0]->getLoc(),
            "grad needs a scalar float loss, but the loss is " + loss->str());
    ok = false;
  }
  std::vector<std::pair<std::string, ValueType>> members;
  for (size_t i = 1; i < expr.args.size(); ++i) {
    auto *name = dyn_cast<NameExpr>(expr.args[i].get());
    Symbol *s = name ? c.lookup(name->name) : nullptr;
    if (!name || !s || !s->isState ||
        !c.fnStack.back().scans.back().states.count(name->name)) {
      c.error(expr.args[i]->getLoc(),
              "grad differentiates with respect to a state of the enclosing "
              "scan, but '" +
                  show(*expr.args[i]) + "' is not one");
      ok = false;
      continue;
    }
    if (c.annotating)
      expr.args[i]->type = s->type;
    members.emplace_back(name->name, s->type);
  }
  if (!ok)
    return std::nullopt;
  if (members.size() == 1)
    return members.front().second;
  return ValueType::group(std::move(members));
}

std::optional<ValueType> Checker::checkBuiltinCall(CallExpr &expr) {
  const Builtin &b = *findBuiltin(expr.callee);
  const Location &loc = expr.getLoc();
  std::string name = "'" + expr.callee + "'";
  if (!expr.constArgs.empty()) {
    error(expr.constArgs.front().loc,
          "built-in " + name + " takes no constant arguments");
    return std::nullopt;
  }
  if (expr.args.size() < b.minArgs || expr.args.size() > b.maxArgs) {
    std::string expected =
        b.minArgs == b.maxArgs ? std::to_string(b.minArgs)
        : b.maxArgs == 64
            ? std::to_string(b.minArgs) + " or more"
            : std::to_string(b.minArgs) + " or " + std::to_string(b.maxArgs);
    error(loc, name + " takes " + expected + " argument(s), but " +
                   std::to_string(expr.args.size()) + " are given");
    return std::nullopt;
  }
  if (b.rule == Rule::Grad)
    return checkGrad(*this, expr);

  // eye(n) and pool(x, n) take a compile-time size, not a value.
  std::optional<DimExpr> sizeArg;
  if (b.rule == Rule::Eye || b.rule == Rule::Pool) {
    Expr &sizeExpr = *expr.args.back();
    sizeArg = evalDim(sizeExpr);
    if (!sizeArg)
      return std::nullopt;
    if (std::optional<int64_t> c = sizeArg->getConstant(); c && *c <= 0) {
      error(sizeExpr.getLoc(),
            name + " needs a positive size, but it is " + std::to_string(*c));
      return std::nullopt;
    }
  }

  std::vector<ValueType> args;
  size_t numValueArgs =
      expr.args.size() - (b.rule == Rule::Eye || b.rule == Rule::Pool);
  bool ok = true;
  for (size_t i = 0; i < numValueArgs; ++i) {
    // Each branch of a `where` is used only where its condition says.
    bool guarded = b.rule == Rule::Where && i > 0;
    if (guarded)
      pushGuard(*expr.args[0], i == 1);
    std::optional<ValueType> t = checkExpr(*expr.args[i]);
    if (guarded)
      popGuard();
    if (t && t->isGroup()) {
      error(expr.args[i]->getLoc(), name + " needs tensors, but its " +
                                        ordinal(i + 1) +
                                        " argument is a group " + t->str());
      t.reset();
    }
    ok &= t.has_value();
    if (t)
      args.push_back(*t);
  }
  if (!ok)
    return std::nullopt;

  auto needNumbers = [&](size_t i) {
    if (isNumericTensor(args[i]))
      return true;
    error(expr.args[i]->getLoc(), name + " needs numbers, but its " +
                                      ordinal(i + 1) + " argument is " +
                                      args[i].str());
    return false;
  };
  auto needRank = [&](size_t i, size_t rank, bool atLeast) {
    size_t r = args[i].getRank();
    if (atLeast ? r >= rank : r == rank)
      return true;
    error(expr.args[i]->getLoc(),
          name + " needs a tensor of rank " + (atLeast ? "at least " : "") +
              std::to_string(rank) + " as its " + ordinal(i + 1) +
              " argument, but it is " + args[i].str());
    return false;
  };

  switch (b.rule) {
  case Rule::FloatUnary:
    if (!needNumbers(0))
      return std::nullopt;
    warnTruncatingDivision(*expr.args[0]);
    return args[0].withElemType(floatOf(args[0].getElemType()));
  case Rule::SameUnary:
    if (!needNumbers(0))
      return std::nullopt;
    return args[0];
  case Rule::MinMax:
    for (size_t i = 0; i < args.size(); ++i)
      if (!needNumbers(i))
        return std::nullopt;
    if (args.size() == 1)
      return ValueType::tensor(args[0].getElemType());
    if (auto shape = broadcast(args[0].getShape(), args[1].getShape()))
      return ValueType::tensor(
          promote(args[0].getElemType(), args[1].getElemType()), *shape);
    error(loc, name + " cannot broadcast " + args[0].str() + " and " +
                   args[1].str());
    return std::nullopt;
  case Rule::Where: {
    if (args[0].getElemType() != ElemType::I1) {
      error(expr.args[0]->getLoc(),
            "the condition of 'where' must be i1 (boolean), but it is " +
                args[0].str());
      return std::nullopt;
    }
    auto shape = broadcast(args[0].getShape(), args[1].getShape());
    if (shape)
      shape = broadcast(*shape, args[2].getShape());
    bool sameKind = (args[1].getElemType() == ElemType::I1) ==
                    (args[2].getElemType() == ElemType::I1);
    if (!shape || !sameKind) {
      error(loc, "'where' cannot combine " + args[0].str() + ", " +
                     args[1].str() + " and " + args[2].str());
      return std::nullopt;
    }
    return ValueType::tensor(
        promote(args[1].getElemType(), args[2].getElemType()), *shape);
  }
  case Rule::Dot: {
    if (!needNumbers(0) || !needNumbers(1) || !needRank(0, 1, true) ||
        !needRank(1, 1, true))
      return std::nullopt;
    const auto &sa = args[0].getShape(), &sb = args[1].getShape();
    if (sa.back() != sb.back()) {
      error(loc, "'dot' needs equal last dimensions, but it is given " +
                     args[0].str() + " and " + args[1].str());
      return std::nullopt;
    }
    auto shape =
        broadcast({sa.begin(), sa.end() - 1}, {sb.begin(), sb.end() - 1});
    if (!shape) {
      error(loc, "'dot' cannot broadcast " + args[0].str() + " and " +
                     args[1].str());
      return std::nullopt;
    }
    return ValueType::tensor(
        promote(args[0].getElemType(), args[1].getElemType()), *shape);
  }
  case Rule::Outer:
    if (!needNumbers(0) || !needNumbers(1) || !needRank(0, 1, false) ||
        !needRank(1, 1, false))
      return std::nullopt;
    return ValueType::tensor(
        promote(args[0].getElemType(), args[1].getElemType()),
        {args[0].getShape()[0], args[1].getShape()[0]});
  case Rule::Transpose: {
    if (!needRank(0, 2, true))
      return std::nullopt;
    std::vector<DimExpr> shape = args[0].getShape();
    std::swap(shape[shape.size() - 1], shape[shape.size() - 2]);
    return args[0].withShape(shape);
  }
  case Rule::Eye:
    return ValueType::tensor(ElemType::F32, {*sizeArg, *sizeArg});
  case Rule::FullReduce: {
    bool logical = expr.callee == "any" || expr.callee == "all";
    if (logical && args[0].getElemType() != ElemType::I1) {
      error(expr.args[0]->getLoc(), name +
                                        " needs i1 (boolean) values, but "
                                        "it is given " +
                                        args[0].str());
      return std::nullopt;
    }
    if (!logical && !needNumbers(0))
      return std::nullopt;
    ElemType elem = args[0].getElemType();
    if (expr.callee == "mean")
      elem = floatOf(elem);
    return ValueType::tensor(elem);
  }
  case Rule::LastDim:
    if (!needNumbers(0) || !needRank(0, 1, true))
      return std::nullopt;
    return args[0].withElemType(floatOf(args[0].getElemType()));
  case Rule::Gather: {
    if (!needRank(0, 1, true))
      return std::nullopt;
    if (!isInteger(args[1].getElemType())) {
      error(expr.args[1]->getLoc(),
            "the indices of 'gather' must be integers, but they are " +
                args[1].str());
      return std::nullopt;
    }
    std::vector<DimExpr> shape = args[1].getShape();
    shape.insert(shape.end(), args[0].getShape().begin() + 1,
                 args[0].getShape().end());
    return args[0].withShape(shape);
  }
  case Rule::Pool: {
    if (!needNumbers(0) || !needRank(0, 1, true))
      return std::nullopt;
    std::vector<DimExpr> shape = args[0].getShape();
    std::optional<int64_t> n = shape[0].getConstant(),
                           bs = sizeArg->getConstant();
    if (n && bs && *n % *bs != 0) {
      error(loc, "'pool' cannot split " + std::to_string(*n) +
                     " rows into blocks of " + std::to_string(*bs));
      return std::nullopt;
    }
    shape[0] = shape[0].floorDiv(*sizeArg);
    return ValueType::tensor(floatOf(args[0].getElemType()), shape);
  }
  case Rule::Conv1d: {
    if (!needNumbers(0) || !needNumbers(1) || !needRank(0, 2, false) ||
        !needRank(1, 2, false))
      return std::nullopt;
    if (args[0].getShape()[1] != args[1].getShape()[1]) {
      error(loc, "'conv1d' is depthwise: the channels of " + args[0].str() +
                     " and of the filter " + args[1].str() + " differ");
      return std::nullopt;
    }
    return args[0].withElemType(
        promote(args[0].getElemType(), args[1].getElemType()));
  }
  case Rule::Cast:
    return args[0].withElemType(expr.callee == "float" ? ElemType::F32
                                                       : ElemType::I32);
  case Rule::Grad:
    break;
  }
  return std::nullopt;
}

std::optional<ValueType> Checker::checkReduce(ReduceExpr &expr) {
  static const char *const ops[] = {"sum",    "mean", "max", "min",
                                    "prod",   "any",  "all", "argmax",
                                    "argmin", "topk", "topp"};
  bool known = false;
  for (const char *op : ops)
    known |= expr.op == op;
  if (!known) {
    std::vector<std::string> names(std::begin(ops), std::end(ops));
    error(expr.getLoc(), "unknown reduction '" + expr.op +
                             "'; reductions are " + joinNames(names));
    return std::nullopt;
  }
  bool takesParam = expr.op == "topk" || expr.op == "topp";
  if (takesParam && !expr.param) {
    error(expr.getLoc(), "'" + expr.op +
                             "' needs a second argument: " + expr.op + "(" +
                             expr.index + " < " + show(*expr.extent) +
                             (expr.op == "topk" ? ", K)" : ", mass)"));
    return std::nullopt;
  }
  if (!takesParam && expr.param) {
    error(expr.param->getLoc(), "'" + expr.op + "' takes no second argument");
    return std::nullopt;
  }

  std::optional<DimExpr> extent = evalDim(*expr.extent);
  bool ok = extent.has_value();
  std::optional<DimExpr> k;
  if (expr.op == "topk") {
    k = evalDim(*expr.param);
    ok &= k.has_value();
    if (k && k->getConstant() && *k->getConstant() <= 0) {
      error(expr.param->getLoc(),
            "'topk' needs a positive count, but it is " + k->str());
      ok = false;
    }
    if (k && extent && k->getConstant() && extent->getConstant() &&
        *k->getConstant() > *extent->getConstant()) {
      error(expr.param->getLoc(), "'topk' selects " + k->str() + " of only " +
                                      extent->str() + " candidates");
      ok = false;
    }
  } else if (expr.op == "topp") {
    std::optional<ValueType> mass = checkExpr(*expr.param);
    if (mass && !(mass->isScalar() && isNumericTensor(*mass))) {
      error(expr.param->getLoc(),
            "the mass of 'topp' must be a scalar number, but it is " +
                mass->str());
      ok = false;
    }
    ok &= mass.has_value();
  }

  pushScope();
  ok &= declareIndex(expr.index, expr.indexLoc, extent,
                     expr.extent->getLoc()) != nullptr;
  std::optional<ValueType> body = checkExpr(*expr.body);
  popScope();
  closedIndices[expr.index] = expr.indexLoc;
  if (!ok || !body)
    return std::nullopt;

  std::string name = "'" + expr.op + "'";
  bool logical = expr.op == "any" || expr.op == "all";
  bool selects = expr.op == "argmax" || expr.op == "argmin" ||
                 expr.op == "topk" || expr.op == "topp";
  if (body->isGroup() || (logical != (body->getElemType() == ElemType::I1))) {
    error(expr.body->getLoc(), "the body of " + name + " must be " +
                                   (logical ? "i1 (boolean)" : "numbers") +
                                   ", but it is " + body->str());
    return std::nullopt;
  }
  if (selects && !body->isScalar()) {
    error(expr.body->getLoc(), "the body of " + name +
                                   " must be a scalar score, but it is " +
                                   body->str());
    return std::nullopt;
  }
  if (expr.op == "argmax" || expr.op == "argmin")
    return ValueType::tensor(ElemType::I32);
  if (expr.op == "topk")
    return ValueType::tensor(ElemType::I32, {*k});
  if (expr.op == "topp")
    return ValueType::tensor(ElemType::I1, {*extent});
  if (expr.op == "mean")
    return body->withElemType(floatOf(body->getElemType()));
  return body;
}
