//===- AttendGen.cpp - attend to attn.attention -----------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// `out[b, h, i] = attend j < M { score f(dot(q[b, h, i], k[b, h / G, j]));
/// mask m; normalize n; value v[b, h / G, j] }` over rank-4 tensors becomes
/// `attn.attention`: `f` with the dot product replaced by `%s` is the score
/// region, `m` the mask region. `out[b, h] = attend ...` over a rank-3 query
/// is the decode step: the query gets a unit length and loses it again.
///
//===----------------------------------------------------------------------===//

#include "MLIRGenImpl.h"

#include "dialects/Attn/AttnOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "llvm/Support/Casting.h"

using namespace attnc;
using namespace attnc::mlirgen;
using llvm::dyn_cast;
using llvm::dyn_cast_or_null;

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

bool FnGen::genAttend(const IndexedDefStmt &def, const AttendExpr &attend) {
  auto reject = [&]() {
    unsupported(attend.getLoc(), kAttendForm);
    return false;
  };
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
                          int64_t &group) -> const Binding * {
    size_t arity = n2.empty() ? 2 : 3;
    auto *sub = dyn_cast_or_null<SubscriptExpr>(e);
    if (!sub || sub->indices.size() != arity)
      return nullptr;
    const std::string *base = nameOf(sub->base.get());
    const Binding *p = base ? lookup(*base) : nullptr;
    if (!p || p->type.isGroup() || p->type.getRank() != arity + 1)
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
  const Binding *q = matchOperand(dot->args[0].get(), b, i, qGroup);
  const Binding *k = matchOperand(dot->args[1].get(), b, j, kGroup);
  const Binding *v = matchOperand(attend.value.get(), b, j, vGroup);
  if (!q || !k || !v || qGroup != 1 || kGroup != vGroup)
    return reject();
  if (kGroup != 1) {
    std::optional<int64_t> hq = q->type.getShape()[1].getConstant();
    std::optional<int64_t> hkv = k->type.getShape()[1].getConstant();
    if (!hq || !hkv || *hkv == 0 || *hq != *hkv * kGroup)
      return reject();
  }

  auto outType = mlir::dyn_cast<mlir::RankedTensorType>(
      mlirType(resolve(*def.checkedType)));
  if (!outType || outType.getRank() != (decode ? 3 : 4))
    return reject();
  mlir::Value query = q->values.front();
  mlir::RankedTensorType resultType = outType;
  // [B, Hq, D] -> [B, Hq, 1, D] and back for the decode form.
  llvm::SmallVector<mlir::ReassociationIndices> unitN = {{0}, {1}, {2, 3}};
  if (decode) {
    auto qType = mlir::cast<mlir::RankedTensorType>(query.getType());
    auto expanded = mlir::RankedTensorType::get(
        {qType.getDimSize(0), qType.getDimSize(1), 1, qType.getDimSize(2)},
        qType.getElementType());
    query = mlir::tensor::ExpandShapeOp::create(builder, loc(attend.getLoc()),
                                                expanded, query, unitN);
    resultType = mlir::RankedTensorType::get({outType.getDimSize(0),
                                              outType.getDimSize(1), 1,
                                              outType.getDimSize(2)},
                                             outType.getElementType());
  }
  mlir::Type elem = outType.getElementType();
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
      bias = gen(*attend.normalizer.bias, Env());
      if (!bias)
        return false;
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
      k->values.front(), v->values.front(), bias,
      /*block_mask=*/mlir::Value(), /*block_sizes=*/nullptr);

  mlir::Type indexType = builder.getIndexType();
  mlir::Type scoreType =
      mlir::cast<mlir::RankedTensorType>(q->values.front().getType())
          .getElementType();
  if (attend.score.get() != dot) {
    mlir::Block *block = new mlir::Block();
    op.getScore().push_back(block);
    Env env;
    env.dot = dot;
    env.dotValue = block->addArgument(scoreType, l);
    for (const std::string *n : {&b, &h, &i, &j}) {
      mlir::Value arg = block->addArgument(indexType, l);
      if (!n->empty())
        env.indices[*n] = arg;
    }
    mlir::OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToEnd(block);
    mlir::Value s = gen(*attend.score, env);
    if (!s)
      return false;
    s = coerce(s, scoreType, loc(attend.score->getLoc()));
    mlir::attnc::attn::YieldOp::create(builder, l, mlir::ValueRange{s});
  }
  if (attend.mask) {
    mlir::Block *block = new mlir::Block();
    op.getMask().push_back(block);
    Env env;
    for (const std::string *n : {&b, &h, &i, &j}) {
      mlir::Value arg = block->addArgument(indexType, l);
      if (!n->empty())
        env.indices[*n] = arg;
    }
    mlir::OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToEnd(block);
    mlir::Value m = gen(*attend.mask, env);
    if (!m)
      return false;
    m = coerce(m, builder.getI1Type(), loc(attend.mask->getLoc()));
    mlir::attnc::attn::YieldOp::create(builder, l, mlir::ValueRange{m});
  }
  mlir::Value result = op.getOutput();
  if (decode)
    result = mlir::tensor::CollapseShapeOp::create(builder, l, outType, result,
                                                   unitN);
  frame().names[def.name] = Binding{resolve(*def.checkedType), {result}};
  return true;
}
