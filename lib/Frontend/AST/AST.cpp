//===- AST.cpp - Abstract syntax tree of the attnc language ---------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The out-of-line parts of AST.h: printing constant values and operator
/// spellings, the ScanExpr constructor and destructor (which need the
/// complete Stmt type), and the walk over an expression's children.
///
//===----------------------------------------------------------------------===//

#include "attnc/Frontend/AST.h"

#include "llvm/Support/Casting.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace attnc;

/// The shortest `%g` form of `value` that reads back as the same double,
/// with `.0` appended when it would otherwise look like an integer.
static std::string formatDouble(double value) {
  if (std::isnan(value))
    return "nan";
  if (std::isinf(value))
    return value < 0 ? "-inf" : "inf";
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value)
      break;
  }
  std::string text = buf;
  if (text.find_first_of(".e") == std::string::npos)
    text += ".0";
  return text;
}

std::string ConstValue::str() const {
  if (isInt)
    return std::to_string(intValue);
  return formatDouble(floatValue);
}

const char *attnc::toString(UnaryOp op) {
  switch (op) {
  case UnaryOp::Neg:
    return "-";
  case UnaryOp::Not:
    return "!";
  }
  return "?";
}

const char *attnc::toString(BinaryOp op) {
  switch (op) {
  case BinaryOp::Add:
    return "+";
  case BinaryOp::Sub:
    return "-";
  case BinaryOp::Mul:
    return "*";
  case BinaryOp::Div:
    return "/";
  case BinaryOp::Mod:
    return "%";
  case BinaryOp::MatMul:
    return "@";
  case BinaryOp::Pow:
    return "^";
  case BinaryOp::Lt:
    return "<";
  case BinaryOp::Le:
    return "<=";
  case BinaryOp::Gt:
    return ">";
  case BinaryOp::Ge:
    return ">=";
  case BinaryOp::Eq:
    return "==";
  case BinaryOp::Ne:
    return "!=";
  case BinaryOp::And:
    return "&&";
  case BinaryOp::Or:
    return "||";
  }
  return "?";
}

const char *attnc::toString(Normalizer::Kind kind) {
  switch (kind) {
  case Normalizer::Kind::Softmax:
    return "softmax";
  case Normalizer::Kind::Sigmoid:
    return "sigmoid";
  case Normalizer::Kind::Sum:
    return "sum";
  case Normalizer::Kind::None:
    return "none";
  }
  return "?";
}

ScanExpr::ScanExpr(Location loc, std::string index, Location indexLoc,
                   ExprPtr extent, ExprPtr chunk, std::vector<StmtPtr> body)
    : Expr(Kind::Scan, std::move(loc)), index(std::move(index)),
      indexLoc(std::move(indexLoc)), extent(std::move(extent)),
      chunk(std::move(chunk)), body(std::move(body)) {}

ScanExpr::~ScanExpr() = default;

void attnc::forEachChild(const Expr &e,
                         llvm::function_ref<void(const Expr &)> onExpr,
                         llvm::function_ref<void(const Stmt &)> onStmt) {
  auto visit = [&](const Expr *child) {
    if (child)
      onExpr(*child);
  };
  if (const auto *sub = llvm::dyn_cast<SubscriptExpr>(&e)) {
    visit(sub->base.get());
    for (const ExprPtr &index : sub->indices)
      visit(index.get());
  } else if (const auto *member = llvm::dyn_cast<MemberExpr>(&e)) {
    visit(member->base.get());
  } else if (const auto *unary = llvm::dyn_cast<UnaryExpr>(&e)) {
    visit(unary->operand.get());
  } else if (const auto *binary = llvm::dyn_cast<BinaryExpr>(&e)) {
    visit(binary->lhs.get());
    visit(binary->rhs.get());
  } else if (const auto *call = llvm::dyn_cast<CallExpr>(&e)) {
    for (const ExprPtr &arg : call->args)
      visit(arg.get());
  } else if (const auto *reduce = llvm::dyn_cast<ReduceExpr>(&e)) {
    visit(reduce->param.get());
    visit(reduce->body.get());
  } else if (const auto *group = llvm::dyn_cast<GroupLitExpr>(&e)) {
    for (const GroupLitExpr::Field &field : group->fields)
      visit(field.value.get());
  } else if (const auto *attend = llvm::dyn_cast<AttendExpr>(&e)) {
    visit(attend->score.get());
    visit(attend->mask.get());
    visit(attend->normalizer.bias.get());
    visit(attend->value.get());
  } else if (const auto *scan = llvm::dyn_cast<ScanExpr>(&e)) {
    for (const StmtPtr &stmt : scan->body)
      onStmt(*stmt);
  }
}

bool attnc::structurallyEqual(const Expr &a, const Expr &b) {
  if (a.getKind() != b.getKind())
    return false;
  auto same = [](const ExprPtr &x, const ExprPtr &y) {
    if (!x || !y)
      return !x && !y;
    return structurallyEqual(*x, *y);
  };
  auto sameList = [&](const std::vector<ExprPtr> &x,
                      const std::vector<ExprPtr> &y) {
    if (x.size() != y.size())
      return false;
    for (size_t k = 0; k < x.size(); ++k)
      if (!same(x[k], y[k]))
        return false;
    return true;
  };
  using llvm::cast;
  switch (a.getKind()) {
  case Expr::Kind::IntLit:
    return cast<IntLitExpr>(a).value == cast<IntLitExpr>(b).value;
  case Expr::Kind::FloatLit:
    return cast<FloatLitExpr>(a).value == cast<FloatLitExpr>(b).value;
  case Expr::Kind::BoolLit:
    return cast<BoolLitExpr>(a).value == cast<BoolLitExpr>(b).value;
  case Expr::Kind::Name:
    return cast<NameExpr>(a).name == cast<NameExpr>(b).name;
  case Expr::Kind::Subscript: {
    const auto &x = cast<SubscriptExpr>(a), &y = cast<SubscriptExpr>(b);
    return same(x.base, y.base) && sameList(x.indices, y.indices);
  }
  case Expr::Kind::Member: {
    const auto &x = cast<MemberExpr>(a), &y = cast<MemberExpr>(b);
    return x.member == y.member && same(x.base, y.base);
  }
  case Expr::Kind::Unary: {
    const auto &x = cast<UnaryExpr>(a), &y = cast<UnaryExpr>(b);
    return x.op == y.op && same(x.operand, y.operand);
  }
  case Expr::Kind::Binary: {
    const auto &x = cast<BinaryExpr>(a), &y = cast<BinaryExpr>(b);
    return x.op == y.op && same(x.lhs, y.lhs) && same(x.rhs, y.rhs);
  }
  case Expr::Kind::Call: {
    const auto &x = cast<CallExpr>(a), &y = cast<CallExpr>(b);
    if (x.callee != y.callee || x.constArgs.size() != y.constArgs.size())
      return false;
    for (size_t k = 0; k < x.constArgs.size(); ++k)
      if (x.constArgs[k].name != y.constArgs[k].name ||
          !same(x.constArgs[k].value, y.constArgs[k].value))
        return false;
    return sameList(x.args, y.args);
  }
  case Expr::Kind::Reduce: {
    const auto &x = cast<ReduceExpr>(a), &y = cast<ReduceExpr>(b);
    return x.op == y.op && x.index == y.index && same(x.extent, y.extent) &&
           same(x.param, y.param) && same(x.body, y.body);
  }
  case Expr::Kind::GroupLit:
  case Expr::Kind::Attend:
  case Expr::Kind::Scan:
    return false;
  }
  return false;
}

using llvm::dyn_cast;
using llvm::isa;

std::string attnc::show(const Expr &expr) {
  if (const auto *e = dyn_cast<IntLitExpr>(&expr))
    return std::to_string(e->value);
  if (const auto *e = dyn_cast<FloatLitExpr>(&expr))
    return std::isinf(e->value) ? "inf" : ConstValue::ofFloat(e->value).str();
  if (const auto *e = dyn_cast<BoolLitExpr>(&expr))
    return e->value ? "true" : "false";
  if (const auto *e = dyn_cast<NameExpr>(&expr))
    return e->name;
  if (const auto *e = dyn_cast<SubscriptExpr>(&expr)) {
    std::string s = show(*e->base) + "[";
    for (size_t i = 0; i < e->indices.size(); ++i)
      s += (i ? ", " : "") + show(*e->indices[i]);
    return s + "]";
  }
  if (const auto *e = dyn_cast<MemberExpr>(&expr))
    return show(*e->base) + "." + e->member;
  if (const auto *e = dyn_cast<UnaryExpr>(&expr))
    return std::string(toString(e->op)) + show(*e->operand);
  if (const auto *e = dyn_cast<BinaryExpr>(&expr))
    return show(*e->lhs) + " " + toString(e->op) + " " + show(*e->rhs);
  if (const auto *e = dyn_cast<CallExpr>(&expr)) {
    std::string s = e->callee + "(";
    for (size_t i = 0; i < e->args.size(); ++i)
      s += (i ? ", " : "") + show(*e->args[i]);
    return s + ")";
  }
  if (const auto *e = dyn_cast<ReduceExpr>(&expr))
    return e->op + "(" + e->index + " < " + show(*e->extent) + ") ...";
  if (isa<AttendExpr>(&expr))
    return "attend ...";
  if (isa<ScanExpr>(&expr))
    return "scan ...";
  return "...";
}
