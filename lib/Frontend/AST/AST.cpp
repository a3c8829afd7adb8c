//===- AST.cpp - Abstract syntax tree of the attnc language ---------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The out-of-line parts of AST.h: printing constant values and operator
/// spellings, and the ScanExpr constructor and destructor (which need the
/// complete Stmt type).
///
//===----------------------------------------------------------------------===//

#include "attnc/Frontend/AST.h"

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
