//===- ArchGen.cpp - Blocks and architectures to IR -------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Lowers every checked `arch` to one `func.func` of upstream linalg, tensor,
/// arith and math ops on tensors. The walk mirrors the shape walk of
/// lib/Frontend/Sema/ArchChecker.cpp: a list of values (one tensor, or
/// q, k, v after `project_qkv`) is pushed through the pipeline; blocks are
/// inlined at every use with their constants, `repeat(L)` is unrolled.
///
/// Every terminal instance owns its learned weights, which become function
/// arguments after the arch's inputs, in pipeline order. Each carries the
/// argument attribute `attn.param = "<path>"`, a dotted path built as
///
///   path   := ARCH ('.' scope)* '.' term '.' weight
///   scope  := BLOCK               a block use
///           | 'repeat' '.' i      iteration i (from 0) of a `repeat`
///           | 'branch' '.' i      arm i (from 0) of a `branch`
///           | 'residual'          the body of a `residual`
///   term   := the terminal's name (`linear`, `rmsnorm`, `project_qkv`, ...)
///   weight := 'weight' | 'bias' | 'scale'     (project_qkv: 'q.weight',
///             'q.bias', 'k.weight', 'k.bias', 'v.weight', 'v.bias')
///
/// Within one scope the second and later uses of a name get `_1`, `_2`, ...
/// (`linear`, `linear_1`), so every path is unique. `seq` and `route` add no
/// scope. For example, `tiny_lm.repeat.1.decoder_layer.residual_1.linear.bias`
/// is the bias of the second linear of the second residual of the second
/// decoder layer.
///
/// Weight layouts: linear W [Din, Dout] (y = x W + b), bias [Dout]; norm
/// scale and bias [D]; pos_enc [dims 1.. of the input] (none when one of
/// them is a run-time size: the sinusoidal encoding); embed [V, D].
///
//===----------------------------------------------------------------------===//

#include "ArchGen.h"
#include "LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Casting.h"

#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

using namespace attnc;
using llvm::dyn_cast;
using llvm::dyn_cast_or_null;
using mlir::FailureOr;
using mlir::OpBuilder;
using mlir::OpFoldResult;
using mlir::Value;

namespace {

using Values = llvm::SmallVector<Value, 3>;
using Consts = std::map<std::string, ConstValue>;

/// A naming scope for weights: its dotted path and the names used in it.
struct Scope {
  std::string path;
  std::map<std::string, unsigned> counts;
  std::set<std::string> taken;

  /// `base` the first time, then `base_1`, `base_2`, ... (skipping names
  /// already taken, e.g. by a block called `linear_1`).
  std::string child(const std::string &base) {
    unsigned &n = counts[base];
    std::string name;
    do
      name = n == 0 ? base : base + "_" + std::to_string(n);
    while (++n, !taken.insert(name).second);
    return name;
  }
};

class ArchGen {
public:
  ArchGen(mlir::ModuleOp target, const Module &module)
      : target(target), ctx(target.getContext()), b(ctx) {
    for (const DeclPtr &decl : module.decls) {
      globals[decl->getName()] = decl.get();
      if (auto *c = dyn_cast<ConstDecl>(decl.get()); c && c->checkedValue)
        globalConsts[c->getName()] = *c->checkedValue;
    }
    // Sema applies `--set NAME=V` to every constant NAME that a use does not
    // give. The overrides are not part of the checked AST; recover them from
    // the constants of archs and functions whose checked value differs from
    // the written default.
    auto recover = [&](const std::vector<ConstParam> &params,
                       const Consts &checked) {
      for (const ConstParam &p : params) {
        auto it = checked.find(p.name);
        if (it != checked.end() && p.defaultValue &&
            (it->second.isInt != p.defaultValue->isInt ||
             it->second.asDouble() != p.defaultValue->asDouble()))
          overrides[p.name] = it->second;
      }
    };
    for (const DeclPtr &decl : module.decls) {
      if (auto *a = dyn_cast<ArchDecl>(decl.get()))
        recover(a->constParams, a->checkedConsts);
      else if (auto *f = dyn_cast<FnDecl>(decl.get()))
        recover(f->constParams, f->checkedConsts);
    }
  }

  mlir::LogicalResult genArch(const ArchDecl &arch);

private:
  mlir::ModuleOp target;
  mlir::MLIRContext *ctx;
  OpBuilder b;
  std::map<std::string, const Decl *> globals;
  Consts globalConsts, overrides;

  // State of the arch being generated.
  mlir::Block *entry = nullptr;
  std::vector<std::string> weightPaths;
  std::vector<const BlockDecl *> activeBlocks;
  /// Each size symbol of the arch's inputs: the argument and dimension that
  /// hold it.
  std::map<std::string, std::pair<unsigned, int64_t>> sizeSymbols;

  mlir::Location loc(const Location &l) {
    return mlir::FileLineColLoc::get(ctx, l.file, l.line, l.col);
  }
  mlir::LogicalResult unsupported(const Location &l, const llvm::Twine &what) {
    mlir::emitError(loc(l)) << "not supported yet: " << what;
    return mlir::failure();
  }

  std::optional<ConstValue> evalConst(const Expr &e, const Consts &consts);
  FailureOr<int64_t> constInt(const Expr &e, const Consts &consts,
                              const char *what);
  /// A size argument (`col2im`'s H and W): a compile-time integer, or an
  /// expression of the arch inputs' size symbols, computed at run time.
  FailureOr<OpFoldResult> size(const Expr &e, const Consts &consts,
                               const char *what);
  std::optional<Value> runtimeSize(const Expr &e, const Consts &consts);
  mlir::LogicalResult bindBlockConsts(const BlockDecl &block, const Term &use,
                                      const Consts &outer, Consts &out);

  /// A new function argument holding a learned weight.
  Value weight(const std::string &path, llvm::ArrayRef<int64_t> shape,
               mlir::Type elem, const Location &l);

  FailureOr<Values> genPipeline(const Pipeline &p, Values in,
                                const Consts &consts, Scope &scope);
  FailureOr<Values> genStage(const Stage &s, Values in, const Consts &consts,
                             Scope &scope);
  FailureOr<Values> genTerm(const Term &t, Values in, const Consts &consts,
                            Scope &scope);
  FailureOr<Values> genFnLayer(const FnDecl &fn, const Term &t, Values in,
                               const Consts &consts);
  FailureOr<Value> genBuiltin(const Term &t, Value x, const Consts &consts,
                              Scope &scope, Values &extra);
  FailureOr<Value> genCombine(const Term &comb, llvm::ArrayRef<Value> outs,
                              const Consts &consts);

  FailureOr<Value> linear(Value x, int64_t dout, const std::string &path,
                          const Location &l);
  FailureOr<Value> norm(Value x, bool rms, const std::string &path,
                        const Location &l);
  Value activation(const std::string &name, Value x, mlir::Location l);
  Value sinusoid(Value x, mlir::Location l);
  /// `size / n` (exact: the checker proved it divides), static when `size`
  /// is.
  OpFoldResult divide(OpFoldResult size, int64_t n, mlir::Location l);
};

} // namespace

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

/// Mirrors Checker::evalConst, without diagnostics: Sema has already
/// reported every malformed constant.
std::optional<ConstValue> ArchGen::evalConst(const Expr &expr,
                                             const Consts &consts) {
  if (const auto *e = dyn_cast<IntLitExpr>(&expr))
    return ConstValue::ofInt(e->value);
  if (const auto *e = dyn_cast<FloatLitExpr>(&expr))
    return ConstValue::ofFloat(e->value);
  if (const auto *e = dyn_cast<NameExpr>(&expr)) {
    if (auto it = consts.find(e->name); it != consts.end())
      return it->second;
    return std::nullopt;
  }
  if (const auto *e = dyn_cast<UnaryExpr>(&expr)) {
    std::optional<ConstValue> v = evalConst(*e->operand, consts);
    if (!v || e->op != UnaryOp::Neg)
      return std::nullopt;
    return v->isInt ? ConstValue::ofInt(-v->intValue)
                    : ConstValue::ofFloat(-v->floatValue);
  }
  if (const auto *e = dyn_cast<BinaryExpr>(&expr)) {
    std::optional<ConstValue> x = evalConst(*e->lhs, consts);
    std::optional<ConstValue> y = evalConst(*e->rhs, consts);
    if (!x || !y)
      return std::nullopt;
    bool ints = x->isInt && y->isInt;
    switch (e->op) {
    case BinaryOp::Add:
      return ints ? ConstValue::ofInt(x->intValue + y->intValue)
                  : ConstValue::ofFloat(x->asDouble() + y->asDouble());
    case BinaryOp::Sub:
      return ints ? ConstValue::ofInt(x->intValue - y->intValue)
                  : ConstValue::ofFloat(x->asDouble() - y->asDouble());
    case BinaryOp::Mul:
      return ints ? ConstValue::ofInt(x->intValue * y->intValue)
                  : ConstValue::ofFloat(x->asDouble() * y->asDouble());
    case BinaryOp::Div:
      if (y->asDouble() == 0)
        return std::nullopt;
      if (ints)
        return x->intValue % y->intValue == 0
                   ? std::optional(ConstValue::ofInt(x->intValue / y->intValue))
                   : std::nullopt;
      return ConstValue::ofFloat(x->asDouble() / y->asDouble());
    case BinaryOp::Pow:
      if (ints && y->intValue >= 0) {
        int64_t r = 1;
        for (int64_t i = 0; i < y->intValue && i < 64; ++i)
          r *= x->intValue;
        return ConstValue::ofInt(r);
      }
      return ConstValue::ofFloat(std::pow(x->asDouble(), y->asDouble()));
    default:
      return std::nullopt;
    }
  }
  return std::nullopt;
}

FailureOr<int64_t> ArchGen::constInt(const Expr &e, const Consts &consts,
                                     const char *what) {
  std::optional<ConstValue> v = evalConst(e, consts);
  if (v && v->isInt)
    return v->intValue;
  std::string text = llvm::isa<NameExpr>(e)
                         ? "'" + llvm::cast<NameExpr>(e).name + "'"
                         : "this value";
  return unsupported(e.getLoc(), text + " as " + what +
                                     ": it has no compile-time integer value "
                                     "here (run-time sizes cannot size "
                                     "weights)");
}

std::optional<Value> ArchGen::runtimeSize(const Expr &expr,
                                          const Consts &consts) {
  mlir::Location ml = loc(expr.getLoc());
  if (std::optional<ConstValue> v = evalConst(expr, consts))
    return v->isInt ? std::optional<Value>(mlir::arith::ConstantIndexOp::create(
                          b, ml, v->intValue))
                    : std::nullopt;
  if (const auto *e = dyn_cast<NameExpr>(&expr)) {
    auto it = sizeSymbols.find(e->name);
    if (it == sizeSymbols.end())
      return std::nullopt;
    return mlir::tensor::DimOp::create(
               b, ml, entry->getArgument(it->second.first), it->second.second)
        .getResult();
  }
  const auto *e = dyn_cast<BinaryExpr>(&expr);
  if (!e)
    return std::nullopt;
  std::optional<Value> x = runtimeSize(*e->lhs, consts);
  std::optional<Value> y = x ? runtimeSize(*e->rhs, consts) : std::nullopt;
  if (!y)
    return std::nullopt;
  using namespace mlir::arith;
  switch (e->op) {
  case BinaryOp::Add:
    return AddIOp::create(b, ml, *x, *y).getResult();
  case BinaryOp::Sub:
    return SubIOp::create(b, ml, *x, *y).getResult();
  case BinaryOp::Mul:
    return MulIOp::create(b, ml, *x, *y).getResult();
  case BinaryOp::Div:
    return DivUIOp::create(b, ml, *x, *y).getResult();
  default:
    return std::nullopt;
  }
}

FailureOr<OpFoldResult> ArchGen::size(const Expr &e, const Consts &consts,
                                      const char *what) {
  std::optional<ConstValue> v = evalConst(e, consts);
  if (v && v->isInt)
    return OpFoldResult(b.getIndexAttr(v->intValue));
  if (std::optional<Value> r = runtimeSize(e, consts))
    return OpFoldResult(*r);
  return unsupported(e.getLoc(),
                     llvm::Twine("this value as ") + what +
                         ": it is neither a compile-time integer nor an "
                         "expression of the architecture inputs' sizes");
}

/// Mirrors Checker::bindConstParams: positional, then named arguments (in
/// the caller's constants), then `--set` overrides, then defaults.
mlir::LogicalResult ArchGen::bindBlockConsts(const BlockDecl &block,
                                             const Term &use,
                                             const Consts &outer, Consts &out) {
  out = globalConsts;
  std::map<std::string, const ConstArg *> given;
  size_t position = 0;
  for (const ConstArg &arg : use.constArgs) {
    if (!arg.name.empty())
      given[arg.name] = &arg;
    else if (position < block.constParams.size())
      given[block.constParams[position++].name] = &arg;
  }
  for (const ConstParam &p : block.constParams) {
    if (auto g = given.find(p.name); g != given.end()) {
      std::optional<ConstValue> v = evalConst(*g->second->value, outer);
      if (!v)
        return unsupported(g->second->loc,
                           "the constant argument '" + p.name +
                               "': it has no compile-time value here");
      out[p.name] = *v;
    } else if (auto o = overrides.find(p.name); o != overrides.end()) {
      out[p.name] = o->second;
    } else if (p.defaultValue) {
      out[p.name] = *p.defaultValue;
    } else {
      return unsupported(use.loc, "block '" + block.getName() +
                                      "' without a value for '" + p.name + "'");
    }
  }
  return mlir::success();
}

//===----------------------------------------------------------------------===//
// Architectures
//===----------------------------------------------------------------------===//

Value ArchGen::weight(const std::string &path, llvm::ArrayRef<int64_t> shape,
                      mlir::Type elem, const Location &l) {
  weightPaths.push_back(path);
  return entry->addArgument(mlir::RankedTensorType::get(shape, elem), loc(l));
}

static mlir::Type elemType(OpBuilder &b, ElemType t) {
  switch (t) {
  case ElemType::F16:
    return b.getF16Type();
  case ElemType::BF16:
    return b.getBF16Type();
  case ElemType::F32:
    return b.getF32Type();
  case ElemType::F64:
    return b.getF64Type();
  case ElemType::I1:
    return b.getI1Type();
  case ElemType::I32:
    return b.getI32Type();
  case ElemType::I64:
    return b.getI64Type();
  }
  return b.getF32Type();
}

/// The tensor type of a checked type: constant dims static, symbolic ones
/// dynamic. Groups have no tensor type.
static std::optional<mlir::RankedTensorType> tensorType(OpBuilder &b,
                                                        const ValueType &t) {
  if (!t.isTensor())
    return std::nullopt;
  llvm::SmallVector<int64_t> shape;
  for (const DimExpr &d : t.getShape())
    shape.push_back(d.getConstant().value_or(mlir::ShapedType::kDynamic));
  return mlir::RankedTensorType::get(shape, elemType(b, t.getElemType()));
}

mlir::LogicalResult ArchGen::genArch(const ArchDecl &arch) {
  if (!arch.checkedResult)
    return unsupported(arch.getLoc(), "an architecture without a checked "
                                      "result type");
  if (target.lookupSymbol(arch.getName()))
    return unsupported(arch.getLoc(), "architecture '" + arch.getName() +
                                          "' shares its name with a function");
  llvm::SmallVector<mlir::Type> inputTypes;
  for (const Param &p : arch.params) {
    std::optional<mlir::RankedTensorType> t =
        p.checkedType ? tensorType(b, *p.checkedType) : std::nullopt;
    if (!t)
      return unsupported(p.loc, "the architecture input '" + p.name + "'");
    inputTypes.push_back(*t);
  }
  std::optional<mlir::RankedTensorType> resultType =
      tensorType(b, *arch.checkedResult);
  if (!resultType)
    return unsupported(arch.getLoc(), "a group-valued architecture result");

  b.setInsertionPointToEnd(target.getBody());
  auto func = mlir::func::FuncOp::create(b, loc(arch.getLoc()), arch.getName(),
                                         b.getFunctionType(inputTypes, {}));
  entry = func.addEntryBlock();
  weightPaths.clear();
  activeBlocks.clear();
  sizeSymbols.clear();
  for (auto [i, p] : llvm::enumerate(arch.params))
    for (auto [d, dim] : llvm::enumerate(p.checkedType->getShape())) {
      std::vector<std::string> symbols = dim.getSymbols();
      if (symbols.size() == 1 && dim == DimExpr::symbol(symbols.front()))
        sizeSymbols.try_emplace(symbols.front(), i, d);
    }
  b.setInsertionPointToEnd(entry);

  Consts consts = globalConsts;
  for (const auto &[name, value] : arch.checkedConsts)
    consts[name] = value;
  Scope scope{arch.getName(), {}, {}};
  Values input(entry->getArguments().begin(), entry->getArguments().end());
  FailureOr<Values> out = genPipeline(arch.body, input, consts, scope);
  if (mlir::succeeded(out) && out->size() != 1)
    out = FailureOr<Values>(unsupported(
        arch.getLoc(), "an architecture that ends with several values"));
  if (mlir::failed(out)) {
    func.erase();
    return mlir::failure();
  }
  Value result = lgen::castTo(b, loc(arch.getLoc()), out->front(), *resultType);
  mlir::func::ReturnOp::create(b, loc(arch.getLoc()), result);

  func.setFunctionType(
      b.getFunctionType(entry->getArgumentTypes(), {*resultType}));
  for (auto [i, path] : llvm::enumerate(weightPaths))
    func.setArgAttr(inputTypes.size() + i, "attn.param", b.getStringAttr(path));
  return mlir::success();
}

//===----------------------------------------------------------------------===//
// Stages
//===----------------------------------------------------------------------===//

FailureOr<Values> ArchGen::genPipeline(const Pipeline &pipeline, Values in,
                                       const Consts &consts, Scope &scope) {
  for (const StagePtr &stage : pipeline) {
    FailureOr<Values> out = genStage(*stage, in, consts, scope);
    if (mlir::failed(out))
      return mlir::failure();
    in = *out;
  }
  return in;
}

FailureOr<Values> ArchGen::genStage(const Stage &stage, Values in,
                                    const Consts &consts, Scope &scope) {
  const Location &l = stage.getLoc();
  mlir::Location ml = loc(l);
  switch (stage.getKind()) {
  case Stage::Kind::Term:
    return genTerm(llvm::cast<TermStage>(stage).term, in, consts, scope);
  case Stage::Kind::Seq:
    for (const Pipeline &part : llvm::cast<SeqStage>(stage).parts) {
      FailureOr<Values> out = genPipeline(part, in, consts, scope);
      if (mlir::failed(out))
        return mlir::failure();
      in = *out;
    }
    return in;
  case Stage::Kind::Route: {
    // The checker allows only routing terms before and after the body;
    // they are ordinary terms here.
    auto &route = llvm::cast<RouteStage>(stage);
    for (const Pipeline *p : {&route.pre, &route.body, &route.post}) {
      FailureOr<Values> out = genPipeline(*p, in, consts, scope);
      if (mlir::failed(out))
        return mlir::failure();
      in = *out;
    }
    return in;
  }
  case Stage::Kind::Residual: {
    // x + p(x): branch(clone(2), [p, identity], add).
    if (in.size() != 1)
      return unsupported(l, "'residual' over several values");
    Scope inner{scope.path + "." + scope.child("residual"), {}, {}};
    FailureOr<Values> body =
        genPipeline(llvm::cast<ResidualStage>(stage).body, in, consts, inner);
    if (mlir::failed(body))
      return mlir::failure();
    if (body->size() != 1)
      return unsupported(l, "a residual body that produces several values");
    Value x = in.front();
    Value y = lgen::castTo(b, ml, body->front(), x.getType());
    return Values{lgen::map(
        b, ml, {y, x},
        [](OpBuilder &nb, mlir::Location nl, mlir::ValueRange a) {
          return mlir::arith::AddFOp::create(nb, nl, a[0], a[1]).getResult();
        })};
  }
  case Stage::Kind::Repeat: {
    auto &repeat = llvm::cast<RepeatStage>(stage);
    FailureOr<int64_t> n = constInt(*repeat.count, consts, "a repeat count");
    if (mlir::failed(n))
      return mlir::failure();
    std::string base = scope.path + "." + scope.child("repeat");
    for (int64_t i = 0; i < *n; ++i) {
      Scope inner{base + "." + std::to_string(i), {}, {}};
      FailureOr<Values> out = genPipeline(repeat.body, in, consts, inner);
      if (mlir::failed(out))
        return mlir::failure();
      if (out->size() != in.size())
        return unsupported(l, "a repeated body that changes the values");
      // The checker proved the shape is kept; keep the types exact.
      for (size_t k = 0; k < in.size(); ++k)
        in[k] = lgen::castTo(b, ml, (*out)[k], in[k].getType());
    }
    return in;
  }
  case Stage::Kind::Branch: {
    auto &branch = llvm::cast<BranchStage>(stage);
    if (in.size() != 1)
      return unsupported(l, "'branch' over several values");
    Value x = in.front();
    auto xType = llvm::cast<mlir::RankedTensorType>(x.getType());
    const Term &fan = branch.fanout;
    size_t n = branch.branches.size();
    Values parts;
    if (fan.name == "clone") {
      parts.assign(n, x);
    } else if (fan.name == "group" && fan.args.size() == 2) {
      FailureOr<int64_t> d = constInt(*fan.args[0], consts, "a dimension");
      if (mlir::failed(d))
        return mlir::failure();
      if (*d < 0 || *d >= xType.getRank() || n == 0)
        return unsupported(fan.loc, "this 'group' fan-out");
      // n equal slices of dimension d.
      lgen::Sizes sizes = lgen::sizesOf(b, ml, x);
      OpFoldResult part;
      if (std::optional<int64_t> c = mlir::getConstantIntValue(sizes[*d]))
        part = b.getIndexAttr(*c / int64_t(n));
      else
        part = mlir::arith::DivUIOp::create(
                   b, ml, llvm::cast<Value>(sizes[*d]),
                   mlir::arith::ConstantIndexOp::create(b, ml, n))
                   .getResult();
      for (size_t i = 0; i < n; ++i) {
        lgen::Sizes offsets(xType.getRank(), b.getIndexAttr(0));
        lgen::Sizes strides(xType.getRank(), b.getIndexAttr(1));
        lgen::Sizes partSizes = sizes;
        partSizes[*d] = part;
        if (std::optional<int64_t> c = mlir::getConstantIntValue(part))
          offsets[*d] = b.getIndexAttr(*c * int64_t(i));
        else
          offsets[*d] = mlir::arith::MulIOp::create(
                            b, ml, llvm::cast<Value>(part),
                            mlir::arith::ConstantIndexOp::create(b, ml, i))
                            .getResult();
        parts.push_back(mlir::tensor::ExtractSliceOp::create(
            b, ml, x, offsets, partSizes, strides));
      }
    } else {
      return unsupported(fan.loc, "the fan-out '" + fan.name + "'");
    }
    std::string base = scope.path + "." + scope.child("branch");
    llvm::SmallVector<Value> outs;
    for (size_t i = 0; i < n; ++i) {
      Scope inner{base + "." + std::to_string(i), {}, {}};
      FailureOr<Values> out =
          genPipeline(branch.branches[i], {parts[i]}, consts, inner);
      if (mlir::failed(out))
        return mlir::failure();
      if (out->size() != 1)
        return unsupported(l, "a branch that produces several values");
      outs.push_back(out->front());
    }
    FailureOr<Value> combined = genCombine(branch.combiner, outs, consts);
    if (mlir::failed(combined))
      return mlir::failure();
    return Values{*combined};
  }
  }
  return unsupported(l, "this stage");
}

FailureOr<Value> ArchGen::genCombine(const Term &comb,
                                     llvm::ArrayRef<Value> outs,
                                     const Consts &consts) {
  mlir::Location ml = loc(comb.loc);
  if (comb.name == "add" || comb.name == "mul") {
    bool add = comb.name == "add";
    Values inputs;
    for (Value v : outs)
      inputs.push_back(lgen::castTo(b, ml, v, outs.front().getType()));
    return lgen::map(
        b, ml, inputs,
        [&](OpBuilder &nb, mlir::Location nl, mlir::ValueRange a) {
          Value acc = a[0];
          for (size_t i = 1; i < inputs.size(); ++i)
            acc =
                add ? mlir::arith::AddFOp::create(nb, nl, acc, a[i]).getResult()
                    : mlir::arith::MulFOp::create(nb, nl, acc, a[i])
                          .getResult();
          return acc;
        });
  }
  if (comb.name == "cat" && comb.args.size() == 1) {
    FailureOr<int64_t> d = constInt(*comb.args[0], consts, "a dimension");
    if (mlir::failed(d))
      return mlir::failure();
    if (outs.size() == 1)
      return outs.front();
    return mlir::tensor::ConcatOp::create(b, ml, *d, outs).getResult();
  }
  if (comb.name == "dot_product" || comb.name == "scaled_dot_product") {
    if (outs.size() != 2)
      return unsupported(comb.loc, "'" + comb.name + "' of " +
                                       std::to_string(outs.size()) +
                                       " branches");
    auto a = llvm::cast<mlir::RankedTensorType>(outs[0].getType());
    int64_t rank = a.getRank();
    // [..., M, K] by [..., K, N]. The IR contract that
    // attn-recognize-attention matches on rank 3: a zero-filled
    // linalg.batch_matmul, then (scaled) an all-parallel linalg.generic that
    // multiplies by an arith.constant 1/sqrt(K) defined in its body. Rank 2
    // is a linalg.matmul; higher ranks fold the leading dimensions into one
    // batch dimension and unfold the result.
    Value s;
    if (rank == 2) {
      s = lgen::matmul(b, ml, outs[0], outs[1]);
    } else if (rank == 3) {
      s = lgen::batchMatmul(b, ml, outs[0], outs[1]);
    } else {
      lgen::Sizes as = lgen::sizesOf(b, ml, outs[0]);
      lgen::Sizes bs = lgen::sizesOf(b, ml, outs[1]);
      mlir::ReassociationIndices lead;
      for (int64_t i = 0; i + 2 < rank; ++i)
        lead.push_back(i);
      llvm::SmallVector<mlir::ReassociationIndices> groups = {
          lead, {rank - 2}, {rank - 1}};
      Value lhs = lgen::collapse(b, ml, outs[0], groups);
      Value rhs = lgen::collapse(b, ml, outs[1], groups);
      lgen::Sizes outSizes(as.begin(), as.end() - 1);
      outSizes.push_back(bs.back());
      s = lgen::expand(b, ml, lgen::batchMatmul(b, ml, lhs, rhs), groups,
                       outSizes);
    }
    if (comb.name == "dot_product")
      return s;
    auto sType = llvm::cast<mlir::RankedTensorType>(s.getType());
    mlir::Type elem = sType.getElementType();
    int64_t k = a.getDimSize(rank - 1);
    // A run-time K: 1/sqrt(K) computed once, outside the generic.
    Value runtimeScale;
    if (mlir::ShapedType::isDynamic(k)) {
      using namespace mlir::arith;
      Value kIndex = mlir::tensor::DimOp::create(b, ml, outs[0], rank - 1);
      Value kInt = IndexCastUIOp::create(b, ml, b.getI64Type(), kIndex);
      Value kFloat = UIToFPOp::create(b, ml, elem, kInt);
      runtimeScale = mlir::math::RsqrtOp::create(b, ml, kFloat);
    }
    double scale = runtimeScale ? 0.0 : 1.0 / std::sqrt(double(k));
    Value init = lgen::empty(b, ml, lgen::sizesOf(b, ml, s), elem);
    return lgen::mapInto(
        b, ml, {s}, {lgen::identityMap(ctx, rank)}, init,
        [&](OpBuilder &nb, mlir::Location nl, mlir::ValueRange args) {
          Value c =
              runtimeScale ? runtimeScale : lgen::scalar(nb, nl, elem, scale);
          return mlir::arith::MulFOp::create(nb, nl, args[0], c).getResult();
        });
  }
  return unsupported(comb.loc, "the combiner '" + comb.name + "'");
}

//===----------------------------------------------------------------------===//
// Terms
//===----------------------------------------------------------------------===//

FailureOr<Values> ArchGen::genTerm(const Term &term, Values in,
                                   const Consts &consts, Scope &scope) {
  auto global = globals.find(term.name);
  const Decl *decl = global == globals.end() ? nullptr : global->second;
  if (auto *fn = dyn_cast_or_null<FnDecl>(decl))
    return genFnLayer(*fn, term, in, consts);
  if (auto *block = dyn_cast_or_null<BlockDecl>(decl)) {
    for (const BlockDecl *active : activeBlocks)
      if (active == block)
        return unsupported(term.loc,
                           "recursive use of block '" + term.name + "'");
    Consts inner;
    if (mlir::failed(bindBlockConsts(*block, term, consts, inner)))
      return mlir::failure();
    Scope blockScope{scope.path + "." + scope.child(term.name), {}, {}};
    activeBlocks.push_back(block);
    FailureOr<Values> out = genPipeline(block->body, in, inner, blockScope);
    activeBlocks.pop_back();
    return out;
  }
  if (decl)
    return unsupported(term.loc, "'" + term.name + "' as a layer");
  if (in.size() != 1)
    return unsupported(term.loc, "'" + term.name + "' over several values");
  Values extra;
  FailureOr<Value> out = genBuiltin(term, in.front(), consts, scope, extra);
  if (mlir::failed(out))
    return mlir::failure();
  Values result{*out};
  result.append(extra.begin(), extra.end());
  return result;
}

FailureOr<Values> ArchGen::genFnLayer(const FnDecl &fn, const Term &term,
                                      Values in, const Consts &consts) {
  mlir::Location ml = loc(term.loc);
  auto callee = target.lookupSymbol<mlir::func::FuncOp>(fn.getName());
  if (!callee)
    return unsupported(term.loc,
                       "the function '" + fn.getName() + "' as a layer");
  // The module holds the function for its own constants only.
  size_t position = 0;
  for (const ConstArg &arg : term.constArgs) {
    std::string name = arg.name;
    if (name.empty() && position < fn.constParams.size())
      name = fn.constParams[position++].name;
    std::optional<ConstValue> v = evalConst(*arg.value, consts);
    auto it = fn.checkedConsts.find(name);
    if (!v || it == fn.checkedConsts.end() ||
        v->asDouble() != it->second.asDouble())
      return unsupported(arg.loc, "the function '" + fn.getName() +
                                      "' as a layer with constants other "
                                      "than its own");
  }
  mlir::FunctionType type = callee.getFunctionType();
  if (type.getNumInputs() != in.size() || fn.params.size() != in.size() ||
      fn.checkedResults.size() != type.getNumResults())
    return unsupported(term.loc, "the function '" + fn.getName() +
                                     "' as a layer with these values");
  // Bind the function's size symbols to the static sizes of the values, to
  // give the results the static sizes the checker inferred.
  std::map<std::string, DimExpr> bindings;
  Values args;
  for (size_t i = 0; i < in.size(); ++i) {
    auto t = llvm::dyn_cast<mlir::RankedTensorType>(in[i].getType());
    const Param &p = fn.params[i];
    if (t && p.checkedType && p.checkedType->isTensor() &&
        p.checkedType->getRank() == size_t(t.getRank())) {
      for (auto [k, d] : llvm::enumerate(p.checkedType->getShape())) {
        std::vector<std::string> symbols = d.getSymbols();
        if (symbols.size() == 1 && d == DimExpr::symbol(symbols.front()) &&
            !t.isDynamicDim(k))
          bindings.emplace(symbols.front(), DimExpr::constant(t.getDimSize(k)));
      }
    }
    if (!mlir::tensor::CastOp::areCastCompatible(in[i].getType(),
                                                 type.getInput(i)))
      return unsupported(term.loc, "the function '" + fn.getName() +
                                       "' as a layer with these values");
    args.push_back(lgen::castTo(b, ml, in[i], type.getInput(i)));
  }
  auto call = mlir::func::CallOp::create(b, ml, callee, args);
  Values out;
  for (auto [i, r] : llvm::enumerate(call.getResults())) {
    std::optional<mlir::RankedTensorType> refined =
        tensorType(b, fn.checkedResults[i].substitute(bindings));
    if (refined &&
        mlir::tensor::CastOp::areCastCompatible(r.getType(), *refined))
      out.push_back(lgen::castTo(b, ml, r, *refined));
    else
      out.push_back(r);
  }
  return out;
}

FailureOr<Value> ArchGen::linear(Value x, int64_t dout, const std::string &path,
                                 const Location &l) {
  mlir::Location ml = loc(l);
  auto type = llvm::cast<mlir::RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  int64_t din = rank ? type.getDimSize(rank - 1) : 0;
  if (rank == 0 || mlir::ShapedType::isDynamic(din))
    return unsupported(l, "'linear' over a run-time feature size");
  mlir::Type elem = type.getElementType();
  Value w = weight(path + ".weight", {din, dout}, elem, l);
  Value bias = weight(path + ".bias", {dout}, elem, l);
  // Fold the leading dimensions into one, multiply, unfold.
  lgen::Sizes outSizes = lgen::sizesOf(b, ml, x);
  outSizes.back() = b.getIndexAttr(dout);
  Value y;
  if (rank == 1) {
    Value x2 = lgen::expand(b, ml, x, {{0, 1}},
                            {b.getIndexAttr(1), b.getIndexAttr(din)});
    y = lgen::collapse(b, ml, lgen::matmul(b, ml, x2, w), {{0, 1}});
  } else if (rank == 2) {
    y = lgen::matmul(b, ml, x, w);
  } else {
    mlir::ReassociationIndices lead;
    for (int64_t i = 0; i + 1 < rank; ++i)
      lead.push_back(i);
    Value x2 = lgen::collapse(b, ml, x, {lead, {rank - 1}});
    y = lgen::expand(b, ml, lgen::matmul(b, ml, x2, w), {lead, {rank - 1}},
                     outSizes);
  }
  Value init = lgen::empty(b, ml, outSizes, elem);
  return lgen::mapInto(
      b, ml, {y, bias},
      {lgen::identityMap(ctx, rank), lgen::lastOnlyMap(ctx, rank)}, init,
      [](OpBuilder &nb, mlir::Location nl, mlir::ValueRange a) {
        return mlir::arith::AddFOp::create(nb, nl, a[0], a[1]).getResult();
      });
}

FailureOr<Value> ArchGen::norm(Value x, bool rms, const std::string &path,
                               const Location &l) {
  mlir::Location ml = loc(l);
  auto type = llvm::cast<mlir::RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  int64_t d = rank ? type.getDimSize(rank - 1) : 0;
  if (rank == 0 || mlir::ShapedType::isDynamic(d))
    return unsupported(l, "a norm over a run-time feature size");
  mlir::Type elem = type.getElementType();
  Value scale = weight(path + ".scale", {d}, elem, l);
  Value shift = rms ? Value() : weight(path + ".bias", {d}, elem, l);
  auto id = lgen::identityMap(ctx, rank);
  auto row = lgen::dropLastMap(ctx, rank);
  auto col = lgen::lastOnlyMap(ctx, rank);
  double invD = 1.0 / double(d), eps = 1e-5;
  using namespace mlir::arith;
  Value init = lgen::empty(b, ml, lgen::sizesOf(b, ml, x), elem);
  if (rms) {
    // y = x * rsqrt(mean(x^2) + eps) * scale
    Value ss = lgen::reduceLast(
        b, ml, {x}, {id},
        [](OpBuilder &nb, mlir::Location nl, mlir::ValueRange a) {
          Value sq = MulFOp::create(nb, nl, a[0], a[0]);
          return AddFOp::create(nb, nl, a[1], sq).getResult();
        });
    return lgen::mapInto(
        b, ml, {x, ss, scale}, {id, row, col}, init,
        [&](OpBuilder &nb, mlir::Location nl, mlir::ValueRange a) {
          Value ms =
              MulFOp::create(nb, nl, a[1], lgen::scalar(nb, nl, elem, invD));
          Value v = AddFOp::create(nb, nl, ms, lgen::scalar(nb, nl, elem, eps));
          Value r = mlir::math::RsqrtOp::create(nb, nl, v);
          Value y = MulFOp::create(nb, nl, a[0], r);
          return MulFOp::create(nb, nl, y, a[2]).getResult();
        });
  }
  // mean = sum(x) / D; var = sum((x - mean)^2) / D;
  // y = (x - mean) * rsqrt(var + eps) * scale + bias
  Value sum = lgen::reduceLast(
      b, ml, {x}, {id},
      [](OpBuilder &nb, mlir::Location nl, mlir::ValueRange a) {
        return AddFOp::create(nb, nl, a[1], a[0]).getResult();
      });
  Value sq = lgen::reduceLast(
      b, ml, {x, sum}, {id, row},
      [&](OpBuilder &nb, mlir::Location nl, mlir::ValueRange a) {
        Value mean =
            MulFOp::create(nb, nl, a[1], lgen::scalar(nb, nl, elem, invD));
        Value c = SubFOp::create(nb, nl, a[0], mean);
        Value c2 = MulFOp::create(nb, nl, c, c);
        return AddFOp::create(nb, nl, a[2], c2).getResult();
      });
  return lgen::mapInto(
      b, ml, {x, sum, sq, scale, shift}, {id, row, row, col, col}, init,
      [&](OpBuilder &nb, mlir::Location nl, mlir::ValueRange a) {
        Value inv = lgen::scalar(nb, nl, elem, invD);
        Value mean = MulFOp::create(nb, nl, a[1], inv);
        Value var = MulFOp::create(nb, nl, a[2], inv);
        Value v = AddFOp::create(nb, nl, var, lgen::scalar(nb, nl, elem, eps));
        Value r = mlir::math::RsqrtOp::create(nb, nl, v);
        Value c = SubFOp::create(nb, nl, a[0], mean);
        Value y = MulFOp::create(nb, nl, MulFOp::create(nb, nl, c, r), a[3]);
        return AddFOp::create(nb, nl, y, a[4]).getResult();
      });
}

/// relu, gelu, silu, leakyrelu, sigmoid and tanh as one element-wise
/// linalg.generic.
Value ArchGen::activation(const std::string &name, Value x, mlir::Location ml) {
  mlir::Type elem =
      llvm::cast<mlir::RankedTensorType>(x.getType()).getElementType();
  using namespace mlir::arith;
  return lgen::map(
      b, ml, {x}, [&](OpBuilder &nb, mlir::Location nl, mlir::ValueRange a) {
        Value v = a[0];
        auto c = [&](double value) {
          return lgen::scalar(nb, nl, elem, value);
        };
        auto sigmoid = [&](Value t) {
          // 1 / (1 + exp(-t))
          Value e =
              mlir::math::ExpOp::create(nb, nl, NegFOp::create(nb, nl, t));
          Value one = c(1.0);
          Value den = AddFOp::create(nb, nl, c(1.0), e);
          return DivFOp::create(nb, nl, one, den).getResult();
        };
        if (name == "relu")
          return MaximumFOp::create(nb, nl, v, c(0.0)).getResult();
        if (name == "leakyrelu") {
          // x > 0 ? x : 0.01 x
          Value pos = CmpFOp::create(nb, nl, CmpFPredicate::OGT, v, c(0.0));
          Value neg = MulFOp::create(nb, nl, v, c(0.01));
          return SelectOp::create(nb, nl, pos, v, neg).getResult();
        }
        if (name == "sigmoid")
          return sigmoid(v);
        if (name == "silu")
          return MulFOp::create(nb, nl, v, sigmoid(v)).getResult();
        if (name == "tanh")
          return mlir::math::TanhOp::create(nb, nl, v).getResult();
        // gelu, exact as in functions (ExprGen.cpp):
        // x / 2 * (1 + erf(x / sqrt(2)))
        Value erf = mlir::math::ErfOp::create(
            nb, nl, MulFOp::create(nb, nl, v, c(1.0 / std::sqrt(2.0))));
        Value half = MulFOp::create(nb, nl, v, c(0.5));
        Value onePlusErf = AddFOp::create(nb, nl, c(1.0), erf);
        return MulFOp::create(nb, nl, half, onePlusErf).getResult();
      });
}

OpFoldResult ArchGen::divide(OpFoldResult size, int64_t n, mlir::Location ml) {
  if (std::optional<int64_t> c = mlir::getConstantIntValue(size))
    return b.getIndexAttr(*c / n);
  return mlir::arith::DivUIOp::create(
             b, ml, llvm::cast<Value>(size),
             mlir::arith::ConstantIndexOp::create(b, ml, n))
      .getResult();
}

/// x + the sinusoidal positional encoding of Vaswani et al. (2017), for
/// x of rank >= 2 with a run-time size after the batch dimension:
///
///   pe[p, f] = sin(p * w(f))        f even
///            = cos(p * w(f - 1))    f odd,    w(f) = 10000^(-f / F)
///
/// where p is the index of dimension 1 (the position), f the row-major index
/// over dimensions 2.. (the feature; 0 for rank 2) and F their product (1
/// for rank 2). For [B, N, D] this is the usual table over N x D.
Value ArchGen::sinusoid(Value x, mlir::Location ml) {
  auto type = llvm::cast<mlir::RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  mlir::Type elem = type.getElementType();
  using namespace mlir::arith;
  lgen::Sizes sizes = lgen::sizesOf(b, ml, x);
  // F and the extents of dimensions 2.. (to linearize f), as index values.
  llvm::SmallVector<Value> extents;
  int64_t staticWidth = 1;
  Value width;
  for (int64_t d = 2; d < rank; ++d) {
    if (!type.isDynamicDim(d)) {
      staticWidth *= type.getDimSize(d);
      extents.push_back(ConstantIndexOp::create(b, ml, type.getDimSize(d)));
      continue;
    }
    extents.push_back(llvm::cast<Value>(sizes[d]));
    width = width ? MulIOp::create(b, ml, width, extents.back()).getResult()
                  : extents.back();
  }
  Value staticPart = ConstantIndexOp::create(b, ml, staticWidth);
  width =
      width ? MulIOp::create(b, ml, width, staticPart).getResult() : staticPart;
  auto toFloat = [&](OpBuilder &nb, mlir::Location nl, Value index) {
    Value i = IndexCastUIOp::create(nb, nl, nb.getI64Type(), index);
    return UIToFPOp::create(nb, nl, elem, i).getResult();
  };
  // -ln(10000) / F, once.
  Value minusLog = lgen::scalar(b, ml, elem, -std::log(1e4));
  Value rate = DivFOp::create(b, ml, minusLog, toFloat(b, ml, width));
  Value init = lgen::empty(b, ml, sizes, elem);
  return lgen::mapInto(
      b, ml, {x}, {lgen::identityMap(ctx, rank)}, init,
      [&](OpBuilder &nb, mlir::Location nl, mlir::ValueRange a) {
        Value p = mlir::linalg::IndexOp::create(nb, nl, 1);
        Value f = rank > 2 ? mlir::linalg::IndexOp::create(nb, nl, 2)
                           : ConstantIndexOp::create(nb, nl, 0).getResult();
        for (int64_t d = 3; d < rank; ++d) {
          Value i = mlir::linalg::IndexOp::create(nb, nl, d);
          f = AddIOp::create(nb, nl, MulIOp::create(nb, nl, f, extents[d - 2]),
                             i);
        }
        Value two = ConstantIndexOp::create(nb, nl, 2);
        Value odd = RemUIOp::create(nb, nl, f, two);
        Value even = SubIOp::create(nb, nl, f, odd);
        // angle = p * exp(even * -ln(10000) / F)
        Value w = mlir::math::ExpOp::create(
            nb, nl, MulFOp::create(nb, nl, toFloat(nb, nl, even), rate));
        Value angle = MulFOp::create(nb, nl, toFloat(nb, nl, p), w);
        Value isOdd = CmpIOp::create(nb, nl, CmpIPredicate::ne, odd,
                                     ConstantIndexOp::create(nb, nl, 0));
        Value cos = mlir::math::CosOp::create(nb, nl, angle);
        Value sin = mlir::math::SinOp::create(nb, nl, angle);
        Value pe = SelectOp::create(nb, nl, isOdd, cos, sin);
        return AddFOp::create(nb, nl, a[0], pe).getResult();
      });
}

FailureOr<Value> ArchGen::genBuiltin(const Term &term, Value x,
                                     const Consts &consts, Scope &scope,
                                     Values &extra) {
  const Location &l = term.loc;
  mlir::Location ml = loc(l);
  const std::string &name = term.name;
  auto type = llvm::dyn_cast<mlir::RankedTensorType>(x.getType());
  if (!type)
    return unsupported(l, "'" + name + "' on this value");
  int64_t rank = type.getRank();
  auto path = [&]() { return scope.path + "." + scope.child(name); };

  if (name == "identity")
    return x;
  if (name == "linear") {
    int64_t dout = rank ? type.getDimSize(rank - 1) : 0;
    if (!term.args.empty()) {
      FailureOr<int64_t> d = constInt(*term.args[0], consts, "a layer width");
      if (mlir::failed(d))
        return mlir::failure();
      dout = *d;
    }
    if (mlir::ShapedType::isDynamic(dout))
      return unsupported(l, "'linear' over a run-time feature size");
    return linear(x, dout, path(), l);
  }
  if (name == "norm" || name == "layernorm" || name == "rmsnorm")
    return norm(x, name == "rmsnorm", path(), l);
  if (name == "softmax") {
    if (rank == 0)
      return unsupported(l, "'softmax' of a scalar");
    Value init =
        lgen::empty(b, ml, lgen::sizesOf(b, ml, x), type.getElementType());
    return mlir::linalg::SoftmaxOp::create(b, ml, mlir::TypeRange{type}, x,
                                           init, uint64_t(rank - 1))
        ->getResult(0);
  }
  if (name == "relu" || name == "gelu" || name == "silu" ||
      name == "leakyrelu" || name == "sigmoid" || name == "tanh")
    return activation(name, x, ml);
  if (name == "permute") {
    llvm::SmallVector<int64_t> perm;
    for (const ExprPtr &arg : term.args) {
      FailureOr<int64_t> p = constInt(*arg, consts, "a dimension");
      if (mlir::failed(p))
        return mlir::failure();
      perm.push_back(*p);
    }
    return lgen::transpose(b, ml, x, perm);
  }
  if (name == "pos_enc") {
    // With static sizes after the batch dimension: a learned table over
    // them, added to x. Otherwise the fixed sinusoidal encoding.
    llvm::SmallVector<int64_t> shape(type.getShape().begin() + 1,
                                     type.getShape().end());
    if (llvm::any_of(shape, mlir::ShapedType::isDynamic))
      return sinusoid(x, ml);
    Value table = weight(path() + ".weight", shape, type.getElementType(), l);
    Value init =
        lgen::empty(b, ml, lgen::sizesOf(b, ml, x), type.getElementType());
    return lgen::mapInto(
        b, ml, {x, table},
        {lgen::identityMap(ctx, rank), lgen::dropFirstMap(ctx, rank)}, init,
        [](OpBuilder &nb, mlir::Location nl, mlir::ValueRange a) {
          return mlir::arith::AddFOp::create(nb, nl, a[0], a[1]).getResult();
        });
  }
  if (name == "embed" && term.args.size() == 2) {
    FailureOr<int64_t> v = constInt(*term.args[0], consts, "a vocabulary size");
    if (mlir::failed(v))
      return mlir::failure();
    FailureOr<int64_t> d = constInt(*term.args[1], consts, "a layer width");
    if (mlir::failed(d))
      return mlir::failure();
    if (!type.getElementType().isSignlessInteger())
      return unsupported(l, "'embed' of non-integer ids");
    mlir::Type f32 = b.getF32Type();
    Value table = weight(path() + ".weight", {*v, *d}, f32, l);
    // out[i.., e] = table[ids[i..], e]
    llvm::SmallVector<int64_t> shape(type.getShape());
    shape.push_back(*d);
    llvm::SmallVector<Value> dynamic;
    for (int64_t i = 0; i < rank; ++i)
      if (type.isDynamicDim(i))
        dynamic.push_back(mlir::tensor::DimOp::create(b, ml, x, i));
    return mlir::tensor::GenerateOp::create(
               b, ml, mlir::RankedTensorType::get(shape, f32), dynamic,
               [&](OpBuilder &nb, mlir::Location nl, mlir::ValueRange ivs) {
                 Value id = mlir::tensor::ExtractOp::create(
                     nb, nl, x, ivs.take_front(rank));
                 Value row = mlir::arith::IndexCastOp::create(
                     nb, nl, nb.getIndexType(), id);
                 Value e = mlir::tensor::ExtractOp::create(
                     nb, nl, table, mlir::ValueRange{row, ivs.back()});
                 mlir::tensor::YieldOp::create(nb, nl, e);
               })
        .getResult();
  }
  if (name == "project_qkv" && !term.args.empty() && term.args.size() <= 2) {
    FailureOr<int64_t> h = constInt(*term.args[0], consts, "a head count");
    if (mlir::failed(h))
      return mlir::failure();
    FailureOr<int64_t> hkv = h;
    if (term.args.size() == 2 &&
        mlir::failed(hkv = constInt(*term.args[1], consts, "a head count")))
      return mlir::failure();
    int64_t d = rank == 3 ? type.getDimSize(2) : mlir::ShapedType::kDynamic;
    if (mlir::ShapedType::isDynamic(d) || *h <= 0 || d % *h != 0)
      return unsupported(l, "'project_qkv' over a run-time model width");
    int64_t dh = d / *h;
    std::string base = path();
    // [B, N, Hx * Dh] -> [B, N, Hx, Dh] -> [B, Hx, N, Dh]
    auto heads = [&](const char *which, int64_t n) -> FailureOr<Value> {
      FailureOr<Value> y = linear(x, n * dh, base + "." + which, l);
      if (mlir::failed(y))
        return mlir::failure();
      lgen::Sizes s = lgen::sizesOf(b, ml, x);
      Value e =
          lgen::expand(b, ml, *y, {{0}, {1}, {2, 3}},
                       {s[0], s[1], b.getIndexAttr(n), b.getIndexAttr(dh)});
      return lgen::transpose(b, ml, e, {0, 2, 1, 3});
    };
    FailureOr<Value> q = heads("q", *h);
    if (mlir::failed(q))
      return mlir::failure();
    FailureOr<Value> k = heads("k", *hkv);
    if (mlir::failed(k))
      return mlir::failure();
    FailureOr<Value> v = heads("v", *hkv);
    if (mlir::failed(v))
      return mlir::failure();
    extra = {*k, *v};
    return *q;
  }
  if (name == "merge_heads" && rank == 4) {
    // [B, H, N, Dh] -> [B, N, H, Dh] -> [B, N, H * Dh]
    Value t = lgen::transpose(b, ml, x, {0, 2, 1, 3});
    return lgen::collapse(b, ml, t, {{0}, {1}, {2, 3}});
  }
  if (name == "im2col" && rank == 4 && term.args.size() == 1) {
    FailureOr<int64_t> k = constInt(*term.args[0], consts, "a patch size");
    if (mlir::failed(k))
      return mlir::failure();
    // [B, C, H, W] -> [B, C, H/k, k, W/k, k] -> [B, H/k, W/k, C, k, k]
    //   -> [B, (H/k)(W/k), C k k]
    lgen::Sizes s = lgen::sizesOf(b, ml, x);
    Value e =
        lgen::expand(b, ml, x, {{0}, {1}, {2, 3}, {4, 5}},
                     {s[0], s[1], divide(s[2], *k, ml), b.getIndexAttr(*k),
                      divide(s[3], *k, ml), b.getIndexAttr(*k)});
    Value t = lgen::transpose(b, ml, e, {0, 2, 4, 1, 3, 5});
    return lgen::collapse(b, ml, t, {{0}, {1, 2}, {3, 4, 5}});
  }
  if (name == "col2im" && rank == 3 && term.args.size() == 3) {
    FailureOr<int64_t> k = constInt(*term.args[0], consts, "a patch size");
    if (mlir::failed(k))
      return mlir::failure();
    FailureOr<OpFoldResult> hh = size(*term.args[1], consts, "an image height");
    if (mlir::failed(hh))
      return mlir::failure();
    FailureOr<OpFoldResult> ww = size(*term.args[2], consts, "an image width");
    if (mlir::failed(ww))
      return mlir::failure();
    // [B, (H/k)(W/k), C k k] -> [B, H/k, W/k, C, k, k]
    //   -> [B, C, H/k, k, W/k, k] -> [B, C, H, W]
    lgen::Sizes s = lgen::sizesOf(b, ml, x);
    Value e = lgen::expand(b, ml, x, {{0}, {1, 2}, {3, 4, 5}},
                           {s[0], divide(*hh, *k, ml), divide(*ww, *k, ml),
                            divide(s[2], *k * *k, ml), b.getIndexAttr(*k),
                            b.getIndexAttr(*k)});
    Value t = lgen::transpose(b, ml, e, {0, 3, 1, 4, 2, 5});
    return lgen::collapse(b, ml, t, {{0}, {1}, {2, 3}, {4, 5}});
  }
  return unsupported(l, "the layer '" + name + "' here");
}

//===----------------------------------------------------------------------===//
// Entry point
//===----------------------------------------------------------------------===//

mlir::LogicalResult attnc::genArchs(mlir::ModuleOp target,
                                    const Module &module) {
  ArchGen gen(target, module);
  bool ok = true;
  for (const DeclPtr &decl : module.decls)
    if (auto *arch = dyn_cast<ArchDecl>(decl.get()))
      ok &= mlir::succeeded(gen.genArch(*arch));
  return mlir::success(ok);
}
