//===- MLIRGen.cpp - Checked AST to attn + upstream IR ----------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// MLIRGen v0: each `fn` becomes a `func.func` over ranked tensors. Scalar
/// indexed definitions become `tensor.generate`; the canonical attend form
/// becomes `attn.attention` with score and mask regions. Every other
/// construct is reported as "not supported yet" at its source location, and
/// no module is returned after an error.
///
//===----------------------------------------------------------------------===//

#include "attnc/Frontend/MLIRGen.h"

#include "ArchGen.h"

#include "dialects/Attn/AttnDialect.h"
#include "dialects/Attn/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Casting.h"

#include <map>
#include <optional>
#include <string>

using namespace attnc;
using llvm::dyn_cast;
using llvm::dyn_cast_or_null;
using llvm::isa;

namespace {

/// A tensor value of the function being built, with its checked type.
struct TensorValue {
  mlir::Value value;
  ValueType type;
};

/// The names in scope of a scalar expression: index variables (as `index`)
/// and, inside a score region, the dot product replaced by `%s`.
struct ScalarEnv {
  std::map<std::string, mlir::Value> indices;
  const Expr *dot = nullptr;
  mlir::Value dotValue;
};

class MLIRGenImpl {
public:
  explicit MLIRGenImpl(mlir::MLIRContext &context)
      : context(context), builder(&context) {}

  mlir::OwningOpRef<mlir::ModuleOp> gen(const Module &module);

private:
  mlir::MLIRContext &context;
  mlir::OpBuilder builder;
  bool failed = false;

  // Per-function state.
  const FnDecl *fn = nullptr;
  llvm::StringMap<TensorValue> tensors;
  /// Size symbol -> (parameter value, dim index) of its first occurrence.
  llvm::StringMap<std::pair<mlir::Value, unsigned>> sizes;
  /// Compile-time constants: the function's and local `G = Hq / Hkv`.
  std::map<std::string, ConstValue> consts;
  /// Top-level `const NAME = value`s.
  std::map<std::string, ConstValue> globalConsts;
  /// Tensors whose definition failed: uses report nothing more.
  llvm::StringSet<> poisoned;

  mlir::Location loc(const Location &l) {
    return mlir::FileLineColLoc::get(&context, l.file, l.line, l.col);
  }
  /// Reports "not supported yet: what" at `l`; returns a null value.
  mlir::Value unsupported(const Location &l, const llvm::Twine &what) {
    mlir::emitError(loc(l)) << "not supported yet: " << what.str();
    failed = true;
    return {};
  }
  mlir::LogicalResult unsupportedStmt(const Location &l,
                                      const llvm::Twine &what) {
    unsupported(l, what);
    return mlir::failure();
  }

  mlir::Type elemType(ElemType t);
  std::optional<mlir::RankedTensorType> tensorType(const ValueType &t,
                                                   const Location &l);
  mlir::Type scalarType(const Expr &e) {
    return elemType(e.type ? e.type->getElemType() : ElemType::F32);
  }

  mlir::Value coerce(mlir::Value v, mlir::Type to, mlir::Location l);
  mlir::Value sizeValue(const std::string &symbol, const Location &l);
  mlir::Value dimValue(const DimExpr &d, const Location &l);
  mlir::Value constValue(const ConstValue &c, mlir::Type t, mlir::Location l);

  void genFn(const FnDecl &decl);
  mlir::LogicalResult genStmt(const Stmt &stmt);
  mlir::LogicalResult genGenerate(const IndexedDefStmt &def);
  mlir::LogicalResult genAttend(const IndexedDefStmt &def,
                                const AttendExpr &attend);
  mlir::Value genScalar(const Expr &e, const ScalarEnv &env);
  mlir::Value genCall(const CallExpr &call, const ScalarEnv &env);
  mlir::Value genBinary(const BinaryExpr &bin, const ScalarEnv &env);

  std::optional<int64_t> constInt(const Expr &e);
  const Param *findParam(const std::string &name);
};

} // namespace

mlir::Type MLIRGenImpl::elemType(ElemType t) {
  switch (t) {
  case ElemType::F16:
    return builder.getF16Type();
  case ElemType::BF16:
    return builder.getBF16Type();
  case ElemType::F32:
    return builder.getF32Type();
  case ElemType::F64:
    return builder.getF64Type();
  case ElemType::I1:
    return builder.getI1Type();
  case ElemType::I32:
    return builder.getI32Type();
  case ElemType::I64:
    return builder.getI64Type();
  }
  return builder.getF32Type();
}

std::optional<mlir::RankedTensorType>
MLIRGenImpl::tensorType(const ValueType &t, const Location &l) {
  if (t.isGroup()) {
    unsupported(l, "group values (" + t.str() + ")");
    return std::nullopt;
  }
  llvm::SmallVector<int64_t> shape;
  for (const DimExpr &d : t.getShape())
    shape.push_back(d.getConstant().value_or(mlir::ShapedType::kDynamic));
  return mlir::RankedTensorType::get(shape, elemType(t.getElemType()));
}

mlir::Value MLIRGenImpl::coerce(mlir::Value v, mlir::Type to,
                                mlir::Location l) {
  mlir::Type from = v.getType();
  if (from == to)
    return v;
  if (from.isIndex()) {
    if (to.isInteger())
      return mlir::arith::IndexCastOp::create(builder, l, to, v);
    v = mlir::arith::IndexCastOp::create(builder, l, builder.getI64Type(), v);
    from = v.getType();
  }
  if (from.isInteger()) {
    if (to.isIndex())
      return mlir::arith::IndexCastOp::create(builder, l, to, v);
    if (mlir::isa<mlir::FloatType>(to)) {
      if (from.isInteger(1))
        return mlir::arith::UIToFPOp::create(builder, l, to, v);
      return mlir::arith::SIToFPOp::create(builder, l, to, v);
    }
    unsigned fw = from.getIntOrFloatBitWidth(), tw = to.getIntOrFloatBitWidth();
    if (fw < tw) {
      if (from.isInteger(1))
        return mlir::arith::ExtUIOp::create(builder, l, to, v);
      return mlir::arith::ExtSIOp::create(builder, l, to, v);
    }
    return mlir::arith::TruncIOp::create(builder, l, to, v);
  }
  if (mlir::isa<mlir::FloatType>(from)) {
    if (to.isIndex()) {
      v = mlir::arith::FPToSIOp::create(builder, l, builder.getI64Type(), v);
      return mlir::arith::IndexCastOp::create(builder, l, to, v);
    }
    if (to.isInteger())
      return mlir::arith::FPToSIOp::create(builder, l, to, v);
    if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
      return mlir::arith::ExtFOp::create(builder, l, to, v);
    return mlir::arith::TruncFOp::create(builder, l, to, v);
  }
  return v;
}

mlir::Value MLIRGenImpl::constValue(const ConstValue &c, mlir::Type t,
                                    mlir::Location l) {
  if (auto ft = mlir::dyn_cast<mlir::FloatType>(t))
    return mlir::arith::ConstantOp::create(
        builder, l, builder.getFloatAttr(ft, c.asDouble()));
  if (t.isIndex())
    return mlir::arith::ConstantIndexOp::create(builder, l, c.intValue);
  return mlir::arith::ConstantOp::create(builder, l,
                                         builder.getIntegerAttr(t, c.intValue));
}

mlir::Value MLIRGenImpl::sizeValue(const std::string &symbol,
                                   const Location &l) {
  auto it = sizes.find(symbol);
  if (it == sizes.end())
    return unsupported(l, "the size '" + symbol +
                              "' does not appear in a parameter's shape");
  return mlir::tensor::DimOp::create(builder, loc(l), it->second.first,
                                     it->second.second);
}

mlir::Value MLIRGenImpl::dimValue(const DimExpr &d, const Location &l) {
  if (std::optional<int64_t> c = d.getConstant())
    return mlir::arith::ConstantIndexOp::create(builder, loc(l), *c);
  std::vector<std::string> symbols = d.getSymbols();
  if (symbols.size() == 1 && d == DimExpr::symbol(symbols.front()))
    return sizeValue(symbols.front(), l);
  return unsupported(l, "the run-time size expression '" + d.str() + "'");
}

const Param *MLIRGenImpl::findParam(const std::string &name) {
  for (const Param &p : fn->params)
    if (p.name == name)
      return &p;
  return nullptr;
}

/// The value of a compile-time integer expression: a literal or a constant.
std::optional<int64_t> MLIRGenImpl::constInt(const Expr &e) {
  if (auto *lit = dyn_cast<IntLitExpr>(&e))
    return lit->value;
  if (auto *name = dyn_cast<NameExpr>(&e)) {
    auto it = consts.find(name->name);
    if (it != consts.end() && it->second.isInt)
      return it->second.intValue;
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Functions and statements
//===----------------------------------------------------------------------===//

mlir::OwningOpRef<mlir::ModuleOp> MLIRGenImpl::gen(const Module &module) {
  Location fileLoc{module.mainFile, 1, 1};
  mlir::OwningOpRef<mlir::ModuleOp> result =
      mlir::ModuleOp::create(loc(fileLoc));
  for (const DeclPtr &decl : module.decls)
    if (auto *c = dyn_cast<ConstDecl>(decl.get()))
      if (c->checkedValue)
        globalConsts[c->getName()] = *c->checkedValue;
  for (const DeclPtr &decl : module.decls) {
    if (auto *f = dyn_cast<FnDecl>(decl.get())) {
      builder.setInsertionPointToEnd(result->getBody());
      genFn(*f);
      continue;
    }
  }
  if (failed)
    return nullptr;
  // Architectures call the functions as layers: generate them second.
  if (mlir::failed(genArchs(*result, module)))
    return nullptr;
  if (mlir::failed(mlir::verify(*result)))
    return nullptr;
  return result;
}

void MLIRGenImpl::genFn(const FnDecl &decl) {
  fn = &decl;
  tensors.clear();
  sizes.clear();
  poisoned.clear();
  consts = globalConsts;
  for (const auto &[name, value] : decl.checkedConsts)
    consts[name] = value;

  llvm::SmallVector<mlir::Type> argTypes, resultTypes;
  bool ok = true;
  for (const Param &p : decl.params) {
    if (!p.checkedType) {
      ok = false;
      continue;
    }
    std::optional<mlir::RankedTensorType> t = tensorType(*p.checkedType, p.loc);
    if (!t) {
      ok = false;
      continue;
    }
    argTypes.push_back(*t);
  }
  for (const ValueType &r : decl.checkedResults) {
    std::optional<mlir::RankedTensorType> t = tensorType(r, decl.getLoc());
    if (!t) {
      ok = false;
      continue;
    }
    resultTypes.push_back(*t);
  }
  if (!ok)
    return;

  auto func = mlir::func::FuncOp::create(
      builder, loc(decl.getLoc()), decl.getName(),
      builder.getFunctionType(argTypes, resultTypes));
  mlir::Block *entry = func.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  for (auto [p, arg] : llvm::zip(decl.params, entry->getArguments())) {
    tensors[p.name] = {arg, *p.checkedType};
    for (auto [dim, d] : llvm::enumerate(p.checkedType->getShape())) {
      std::vector<std::string> symbols = d.getSymbols();
      if (symbols.size() == 1 && d == DimExpr::symbol(symbols.front()) &&
          !sizes.count(symbols.front()))
        sizes[symbols.front()] = {arg, unsigned(dim)};
    }
  }
  for (const StmtPtr &stmt : decl.body)
    if (mlir::failed(genStmt(*stmt)))
      ok = false;
  if (!ok || failed) {
    // Never leave a half-built function behind.
    func.erase();
  }
}

mlir::LogicalResult MLIRGenImpl::genStmt(const Stmt &stmt) {
  if (auto *def = dyn_cast<IndexedDefStmt>(&stmt)) {
    mlir::LogicalResult result = mlir::failure();
    if (auto *attend = dyn_cast<AttendExpr>(def->value.get()))
      result = genAttend(*def, *attend);
    else if (def->value->type && def->value->type->isScalar())
      result = genGenerate(*def);
    else if (isa<ScanExpr>(def->value.get()))
      unsupported(def->value->getLoc(), "scan");
    else if (auto *call = dyn_cast<CallExpr>(def->value.get()))
      unsupported(def->value->getLoc(),
                  "the call '" + call->callee + "' with a non-scalar result");
    else
      unsupported(def->value->getLoc(),
                  "indexed definitions of non-scalar values");
    if (mlir::failed(result))
      poisoned.insert(def->name);
    return result;
  }
  if (auto *let = dyn_cast<LetStmt>(&stmt)) {
    if (let->names.size() == 1 && let->checkedDim &&
        let->checkedDim->isConstant()) {
      consts[let->names.front().name] =
          ConstValue::ofInt(*let->checkedDim->getConstant());
      return mlir::success();
    }
    return unsupportedStmt(let->getLoc(),
                           "local definitions other than compile-time "
                           "integers");
  }
  if (auto *ret = dyn_cast<ReturnStmt>(&stmt)) {
    llvm::SmallVector<mlir::Value> values;
    for (const ExprPtr &e : ret->values) {
      auto *name = dyn_cast<NameExpr>(e.get());
      if (name && poisoned.contains(name->name))
        return mlir::failure();
      if (!name || !tensors.count(name->name))
        return unsupportedStmt(
            e->getLoc(),
            "returning an expression (return the name of a defined tensor)");
      values.push_back(tensors[name->name].value);
    }
    mlir::func::ReturnOp::create(builder, loc(ret->getLoc()), values);
    return mlir::success();
  }
  if (isa<StateDeclStmt>(&stmt))
    return unsupportedStmt(stmt.getLoc(), "state declarations");
  return unsupportedStmt(stmt.getLoc(), "emit statements");
}

mlir::LogicalResult MLIRGenImpl::genGenerate(const IndexedDefStmt &def) {
  if (!def.checkedType)
    return mlir::failure();
  std::optional<mlir::RankedTensorType> type =
      tensorType(*def.checkedType, def.getLoc());
  if (!type)
    return mlir::failure();
  llvm::SmallVector<mlir::Value> dynExtents;
  for (const IndexDecl &index : def.indices) {
    if (!index.checkedExtent)
      return mlir::failure();
    if (index.checkedExtent->isConstant())
      continue;
    mlir::Value v = dimValue(*index.checkedExtent, index.loc);
    if (!v)
      return mlir::failure();
    dynExtents.push_back(v);
  }
  mlir::Location l = loc(def.getLoc());
  auto gen = mlir::tensor::GenerateOp::create(
      builder, l, *type, dynExtents,
      [](mlir::OpBuilder &, mlir::Location, mlir::ValueRange) {});
  mlir::Block &body = gen.getBody().front();
  ScalarEnv env;
  for (auto [index, arg] : llvm::zip(def.indices, body.getArguments()))
    env.indices[index.name] = arg;
  {
    mlir::OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToEnd(&body);
    mlir::Value v = genScalar(*def.value, env);
    if (!v)
      return mlir::failure();
    v = coerce(v, type->getElementType(), loc(def.value->getLoc()));
    mlir::tensor::YieldOp::create(builder, l, v);
  }
  tensors[def.name] = {gen.getResult(), *def.checkedType};
  return mlir::success();
}

//===----------------------------------------------------------------------===//
// attend
//===----------------------------------------------------------------------===//

static const char *kAttendForm =
    "this form of attend (expected score f(dot(q[b, h, i], k[b, h / G, j])) "
    "and value v[b, h / G, j] over rank-4 parameters)";

/// The name if `e` is a plain name.
static const std::string *nameOf(const Expr *e) {
  if (auto *n = dyn_cast_or_null<NameExpr>(e))
    return &n->name;
  return nullptr;
}

/// Collects the calls of `dot` in `e`.
static void collectDots(const Expr *e,
                        llvm::SmallVectorImpl<const CallExpr *> &dots) {
  if (!e)
    return;
  if (auto *c = dyn_cast<CallExpr>(e)) {
    if (c->callee == "dot")
      dots.push_back(c);
    for (const ExprPtr &a : c->args)
      collectDots(a.get(), dots);
  } else if (auto *u = dyn_cast<UnaryExpr>(e)) {
    collectDots(u->operand.get(), dots);
  } else if (auto *b = dyn_cast<BinaryExpr>(e)) {
    collectDots(b->lhs.get(), dots);
    collectDots(b->rhs.get(), dots);
  } else if (auto *s = dyn_cast<SubscriptExpr>(e)) {
    collectDots(s->base.get(), dots);
    for (const ExprPtr &i : s->indices)
      collectDots(i.get(), dots);
  }
}

mlir::LogicalResult MLIRGenImpl::genAttend(const IndexedDefStmt &def,
                                           const AttendExpr &attend) {
  auto reject = [&]() { return unsupportedStmt(attend.getLoc(), kAttendForm); };
  // The decode form `out[b, h] = attend ...` with q[b, h] over a rank-3 q
  // is the canonical form with a unit query length.
  bool decode = def.indices.size() == 2;
  if ((def.indices.size() != 3 && !decode) || !def.checkedType ||
      !attend.score || !attend.value)
    return reject();
  static const std::string kNoIndex;
  const std::string &b = def.indices[0].name, &h = def.indices[1].name,
                    &i = decode ? kNoIndex : def.indices[2].name,
                    &j = attend.index;

  // A rank-4 parameter subscripted [name0, head, name2] (rank 3 and
  // [name0, head] when `n2` is empty), with the head index `h` or `h / G`;
  // returns the parameter and G (1 for `h`).
  auto matchOperand = [&](const Expr *e, const std::string &n0,
                          const std::string &n2,
                          int64_t &group) -> const Param * {
    size_t arity = n2.empty() ? 2 : 3;
    auto *sub = dyn_cast_or_null<SubscriptExpr>(e);
    if (!sub || sub->indices.size() != arity)
      return nullptr;
    const std::string *base = nameOf(sub->base.get());
    const Param *p = base ? findParam(*base) : nullptr;
    if (!p || !p->checkedType || p->checkedType->getRank() != arity + 1)
      return nullptr;
    const std::string *i0 = nameOf(sub->indices[0].get());
    if (!i0 || *i0 != n0)
      return nullptr;
    if (!n2.empty()) {
      const std::string *i2 = nameOf(sub->indices[2].get());
      if (!i2 || *i2 != n2)
        return nullptr;
    }
    const Expr *head = sub->indices[1].get();
    if (const std::string *hn = nameOf(head)) {
      if (*hn != h)
        return nullptr;
      group = 1;
      return p;
    }
    auto *div = dyn_cast<BinaryExpr>(head);
    if (!div || div->op != BinaryOp::Div)
      return nullptr;
    const std::string *hn = nameOf(div->lhs.get());
    std::optional<int64_t> g = constInt(*div->rhs);
    if (!hn || *hn != h || !g || *g <= 0)
      return nullptr;
    group = *g;
    return p;
  };

  llvm::SmallVector<const CallExpr *> dots;
  collectDots(attend.score.get(), dots);
  if (dots.size() != 1 || dots.front()->args.size() != 2)
    return reject();
  const CallExpr *dot = dots.front();
  int64_t qGroup = 0, kGroup = 0, vGroup = 0;
  const Param *q = matchOperand(dot->args[0].get(), b, i, qGroup);
  const Param *k = matchOperand(dot->args[1].get(), b, j, kGroup);
  const Param *v = matchOperand(attend.value.get(), b, j, vGroup);
  if (!q || !k || !v || qGroup != 1 || kGroup != vGroup)
    return reject();
  if (kGroup != 1) {
    std::optional<int64_t> hq = q->checkedType->getShape()[1].getConstant();
    std::optional<int64_t> hkv = k->checkedType->getShape()[1].getConstant();
    if (!hq || !hkv || *hkv == 0 || *hq != *hkv * kGroup)
      return reject();
  }

  std::optional<mlir::RankedTensorType> outType =
      tensorType(*def.checkedType, def.getLoc());
  if (!outType || outType->getRank() != (decode ? 3 : 4))
    return mlir::failure();
  mlir::Value query = tensors[q->name].value;
  mlir::RankedTensorType resultType = *outType;
  // [B, Hq, D] -> [B, Hq, 1, D] and back for the decode form.
  llvm::SmallVector<mlir::ReassociationIndices> unitN = {{0}, {1}, {2, 3}};
  if (decode) {
    auto qType = mlir::cast<mlir::RankedTensorType>(query.getType());
    auto expanded = mlir::RankedTensorType::get(
        {qType.getDimSize(0), qType.getDimSize(1), 1, qType.getDimSize(2)},
        qType.getElementType());
    query = mlir::tensor::ExpandShapeOp::create(builder, loc(attend.getLoc()),
                                                expanded, query, unitN);
    resultType = mlir::RankedTensorType::get({outType->getDimSize(0),
                                              outType->getDimSize(1), 1,
                                              outType->getDimSize(2)},
                                             outType->getElementType());
  }
  mlir::Type elem = outType->getElementType();
  if (!mlir::isa<mlir::FloatType>(elem))
    return reject();

  mlir::Location l = loc(attend.getLoc());
  mlir::Value bias;
  auto normalizer = mlir::attnc::attn::Normalizer::Softmax;
  switch (attend.normalizer.kind) {
  case Normalizer::Kind::Softmax:
    break;
  case Normalizer::Kind::Sigmoid:
    normalizer = mlir::attnc::attn::Normalizer::Sigmoid;
    if (attend.normalizer.bias) {
      bias = genScalar(*attend.normalizer.bias, ScalarEnv());
      if (!bias)
        return mlir::failure();
      bias = coerce(bias, elem, loc(attend.normalizer.bias->getLoc()));
    }
    break;
  case Normalizer::Kind::Sum:
    normalizer = mlir::attnc::attn::Normalizer::Sum;
    break;
  case Normalizer::Kind::None:
    normalizer = mlir::attnc::attn::Normalizer::None;
    break;
  }

  auto op = mlir::attnc::attn::AttentionOp::create(
      builder, l, resultType, /*lse=*/mlir::Type(),
      mlir::attnc::attn::NormalizerAttr::get(&context, normalizer), query,
      tensors[k->name].value, tensors[v->name].value, bias,
      /*block_mask=*/mlir::Value(), /*block_sizes=*/nullptr);

  mlir::Type indexType = builder.getIndexType();
  mlir::Type scoreType =
      mlir::cast<mlir::RankedTensorType>(tensors[q->name].value.getType())
          .getElementType();
  if (attend.score.get() != dot) {
    mlir::Block *block = new mlir::Block();
    op.getScore().push_back(block);
    ScalarEnv env;
    env.dot = dot;
    env.dotValue = block->addArgument(scoreType, l);
    for (const std::string *n : {&b, &h, &i, &j}) {
      mlir::Value arg = block->addArgument(indexType, l);
      if (!n->empty())
        env.indices[*n] = arg;
    }
    mlir::OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToEnd(block);
    mlir::Value s = genScalar(*attend.score, env);
    if (!s)
      return mlir::failure();
    s = coerce(s, scoreType, loc(attend.score->getLoc()));
    mlir::attnc::attn::YieldOp::create(builder, l, mlir::ValueRange{s});
  }
  if (attend.mask) {
    mlir::Block *block = new mlir::Block();
    op.getMask().push_back(block);
    ScalarEnv env;
    for (const std::string *n : {&b, &h, &i, &j}) {
      mlir::Value arg = block->addArgument(indexType, l);
      if (!n->empty())
        env.indices[*n] = arg;
    }
    mlir::OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToEnd(block);
    mlir::Value m = genScalar(*attend.mask, env);
    if (!m)
      return mlir::failure();
    m = coerce(m, builder.getI1Type(), loc(attend.mask->getLoc()));
    mlir::attnc::attn::YieldOp::create(builder, l, mlir::ValueRange{m});
  }
  mlir::Value result = op.getOutput();
  if (decode)
    result = mlir::tensor::CollapseShapeOp::create(builder, l, *outType, result,
                                                   unitN);
  tensors[def.name] = {result, *def.checkedType};
  return mlir::success();
}

//===----------------------------------------------------------------------===//
// Scalar expressions
//===----------------------------------------------------------------------===//

mlir::Value MLIRGenImpl::genScalar(const Expr &e, const ScalarEnv &env) {
  mlir::Location l = loc(e.getLoc());
  if (&e == env.dot)
    return env.dotValue;
  if (e.type && !e.type->isScalar())
    return unsupported(e.getLoc(),
                       "non-scalar values here (" + e.type->str() + ")");
  if (auto *lit = dyn_cast<IntLitExpr>(&e))
    return constValue(ConstValue::ofInt(lit->value), scalarType(e), l);
  if (auto *lit = dyn_cast<FloatLitExpr>(&e))
    return constValue(ConstValue::ofFloat(lit->value), scalarType(e), l);
  if (auto *lit = dyn_cast<BoolLitExpr>(&e))
    return mlir::arith::ConstantOp::create(builder, l,
                                           builder.getBoolAttr(lit->value));
  if (auto *name = dyn_cast<NameExpr>(&e)) {
    auto idx = env.indices.find(name->name);
    if (idx != env.indices.end())
      return idx->second;
    auto c = consts.find(name->name);
    if (c != consts.end())
      return constValue(c->second, scalarType(e), l);
    if (sizes.count(name->name))
      return sizeValue(name->name, e.getLoc());
    auto t = tensors.find(name->name);
    if (t != tensors.end() && t->second.type.getRank() == 0)
      return mlir::tensor::ExtractOp::create(builder, l, t->second.value,
                                             mlir::ValueRange());
    return unsupported(e.getLoc(), "the value '" + name->name + "' here");
  }
  if (auto *sub = dyn_cast<SubscriptExpr>(&e)) {
    const std::string *base = nameOf(sub->base.get());
    if (base && poisoned.contains(*base))
      return {};
    if (!base || !tensors.count(*base))
      return unsupported(e.getLoc(), "subscripts of anything but a parameter "
                                     "or a defined tensor");
    const TensorValue &t = tensors[*base];
    if (t.type.getRank() != sub->indices.size())
      return unsupported(e.getLoc(), "partial subscripts here");
    llvm::SmallVector<mlir::Value> indices;
    for (const ExprPtr &index : sub->indices) {
      mlir::Value v = genScalar(*index, env);
      if (!v)
        return {};
      indices.push_back(coerce(v, builder.getIndexType(), l));
    }
    return mlir::tensor::ExtractOp::create(builder, l, t.value, indices);
  }
  if (auto *un = dyn_cast<UnaryExpr>(&e)) {
    mlir::Value v = genScalar(*un->operand, env);
    if (!v)
      return {};
    if (un->op == UnaryOp::Not) {
      v = coerce(v, builder.getI1Type(), l);
      mlir::Value one = mlir::arith::ConstantOp::create(
          builder, l, builder.getBoolAttr(true));
      return mlir::arith::XOrIOp::create(builder, l, v, one);
    }
    mlir::Type t = scalarType(e);
    v = coerce(v, t, l);
    if (mlir::isa<mlir::FloatType>(t))
      return mlir::arith::NegFOp::create(builder, l, v);
    mlir::Value zero = constValue(ConstValue::ofInt(0), t, l);
    return mlir::arith::SubIOp::create(builder, l, zero, v);
  }
  if (auto *bin = dyn_cast<BinaryExpr>(&e))
    return genBinary(*bin, env);
  if (auto *call = dyn_cast<CallExpr>(&e))
    return genCall(*call, env);
  if (auto *red = dyn_cast<ReduceExpr>(&e))
    return unsupported(e.getLoc(), "the reduction '" + red->op + "'");
  if (isa<AttendExpr>(&e))
    return unsupported(e.getLoc(), "attend inside an expression");
  if (isa<ScanExpr>(&e))
    return unsupported(e.getLoc(), "scan");
  if (isa<MemberExpr>(&e))
    return unsupported(e.getLoc(), "group members");
  return unsupported(e.getLoc(), "group values");
}

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

mlir::Value MLIRGenImpl::genBinary(const BinaryExpr &bin,
                                   const ScalarEnv &env) {
  mlir::Location l = loc(bin.getLoc());
  if (bin.op == BinaryOp::MatMul)
    return unsupported(bin.getLoc(), "'@'");
  mlir::Value x = genScalar(*bin.lhs, env);
  if (!x)
    return {};
  mlir::Value y = genScalar(*bin.rhs, env);
  if (!y)
    return {};
  if (bin.op == BinaryOp::And || bin.op == BinaryOp::Or) {
    x = coerce(x, builder.getI1Type(), l);
    y = coerce(y, builder.getI1Type(), l);
    if (bin.op == BinaryOp::And)
      return mlir::arith::AndIOp::create(builder, l, x, y);
    return mlir::arith::OrIOp::create(builder, l, x, y);
  }
  bool isCmp = bin.op == BinaryOp::Lt || bin.op == BinaryOp::Le ||
               bin.op == BinaryOp::Gt || bin.op == BinaryOp::Ge ||
               bin.op == BinaryOp::Eq || bin.op == BinaryOp::Ne;
  mlir::Type t =
      isCmp ? commonType(builder, x.getType(), y.getType()) : scalarType(bin);
  if (bin.op == BinaryOp::Pow) {
    if (!mlir::isa<mlir::FloatType>(t))
      return unsupported(bin.getLoc(), "integer '^'");
    x = coerce(x, t, l);
    y = coerce(y, t, l);
    return mlir::math::PowFOp::create(builder, l, x, y);
  }
  x = coerce(x, t, l);
  y = coerce(y, t, l);
  bool isFloat = mlir::isa<mlir::FloatType>(t);
  if (isCmp) {
    // Ordered float comparisons (false on NaN) but for `!=`, which is true on
    // NaN as in C; signed integer comparisons.
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
        kPredicates, [&](const Predicates &e) { return e.op == bin.op; });
    if (isFloat)
      return mlir::arith::CmpFOp::create(builder, l, p->f, x, y);
    return mlir::arith::CmpIOp::create(builder, l, p->i, x, y);
  }
  switch (bin.op) {
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
    return mlir::arith::FloorDivSIOp::create(builder, l, x, y);
  case BinaryOp::Mod:
    if (isFloat)
      return mlir::arith::RemFOp::create(builder, l, x, y);
    return mlir::arith::RemSIOp::create(builder, l, x, y);
  default:
    break;
  }
  return unsupported(bin.getLoc(),
                     std::string("the operator '") + toString(bin.op) + "'");
}

mlir::Value MLIRGenImpl::genCall(const CallExpr &call, const ScalarEnv &env) {
  mlir::Location l = loc(call.getLoc());
  static const char *const kUnary[] = {
      "tanh", "exp", "log", "sqrt", "rsqrt", "sigmoid", "abs", "float", "int"};
  static const char *const kBinary[] = {"min", "max"};
  bool known = llvm::is_contained(kUnary, call.callee) ||
               llvm::is_contained(kBinary, call.callee) ||
               call.callee == "where";
  if (!known || !call.constArgs.empty())
    return unsupported(call.getLoc(), "the call '" + call.callee + "'");
  llvm::SmallVector<mlir::Value> args;
  for (const ExprPtr &a : call.args) {
    mlir::Value v = genScalar(*a, env);
    if (!v)
      return {};
    args.push_back(v);
  }
  mlir::Type t = scalarType(call);
  if (call.callee == "where") {
    if (args.size() != 3)
      return unsupported(call.getLoc(), "this call of 'where'");
    mlir::Value c = coerce(args[0], builder.getI1Type(), l);
    return mlir::arith::SelectOp::create(builder, l, c, coerce(args[1], t, l),
                                         coerce(args[2], t, l));
  }
  if (llvm::is_contained(kBinary, call.callee)) {
    if (args.size() != 2)
      return unsupported(call.getLoc(), "this call of '" + call.callee + "'");
    mlir::Value x = coerce(args[0], t, l), y = coerce(args[1], t, l);
    bool isMax = call.callee == "max";
    if (mlir::isa<mlir::FloatType>(t)) {
      if (isMax)
        return mlir::arith::MaximumFOp::create(builder, l, x, y);
      return mlir::arith::MinimumFOp::create(builder, l, x, y);
    }
    if (isMax)
      return mlir::arith::MaxSIOp::create(builder, l, x, y);
    return mlir::arith::MinSIOp::create(builder, l, x, y);
  }
  if (args.size() != 1)
    return unsupported(call.getLoc(), "this call of '" + call.callee + "'");
  mlir::Value x = coerce(args[0], t, l);
  if (call.callee == "float" || call.callee == "int")
    return x;
  if (call.callee == "abs") {
    if (mlir::isa<mlir::FloatType>(t))
      return mlir::math::AbsFOp::create(builder, l, x);
    return mlir::math::AbsIOp::create(builder, l, x);
  }
  if (!mlir::isa<mlir::FloatType>(t))
    return unsupported(call.getLoc(), "'" + call.callee + "' of integers");
  if (call.callee == "tanh")
    return mlir::math::TanhOp::create(builder, l, x);
  if (call.callee == "exp")
    return mlir::math::ExpOp::create(builder, l, x);
  if (call.callee == "log")
    return mlir::math::LogOp::create(builder, l, x);
  if (call.callee == "sqrt")
    return mlir::math::SqrtOp::create(builder, l, x);
  if (call.callee == "rsqrt")
    return mlir::math::RsqrtOp::create(builder, l, x);
  // sigmoid(x) = 1 / (1 + exp(-x)).
  mlir::Value one = constValue(ConstValue::ofFloat(1.0), t, l);
  mlir::Value neg = mlir::arith::NegFOp::create(builder, l, x);
  mlir::Value e = mlir::math::ExpOp::create(builder, l, neg);
  mlir::Value den = mlir::arith::AddFOp::create(builder, l, one, e);
  return mlir::arith::DivFOp::create(builder, l, one, den);
}

mlir::OwningOpRef<mlir::ModuleOp> attnc::mlirGen(mlir::MLIRContext &context,
                                                 const Module &module) {
  return MLIRGenImpl(context).gen(module);
}
