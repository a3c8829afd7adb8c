//===- Type.cpp - Value types and symbolic dimensions ---------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "attnc/Frontend/Type.h"

#include <algorithm>
#include <set>
#include <sstream>

using namespace attnc;

//===----------------------------------------------------------------------===//
// ElemType
//===----------------------------------------------------------------------===//

const char *attnc::toString(ElemType type) {
  switch (type) {
  case ElemType::F16:
    return "f16";
  case ElemType::BF16:
    return "bf16";
  case ElemType::F32:
    return "f32";
  case ElemType::F64:
    return "f64";
  case ElemType::I1:
    return "i1";
  case ElemType::I32:
    return "i32";
  case ElemType::I64:
    return "i64";
  }
  return "?";
}

std::optional<ElemType> attnc::parseElemType(const std::string &spelling) {
  for (ElemType t : {ElemType::F16, ElemType::BF16, ElemType::F32,
                     ElemType::F64, ElemType::I1, ElemType::I32, ElemType::I64})
    if (spelling == toString(t))
      return t;
  return std::nullopt;
}

bool attnc::isFloat(ElemType type) {
  return type == ElemType::F16 || type == ElemType::BF16 ||
         type == ElemType::F32 || type == ElemType::F64;
}

bool attnc::isInteger(ElemType type) {
  return type == ElemType::I32 || type == ElemType::I64;
}

//===----------------------------------------------------------------------===//
// DimExpr
//===----------------------------------------------------------------------===//

DimExpr DimExpr::constant(int64_t value) {
  DimExpr d;
  if (value != 0)
    d.terms[{}] = value;
  return d;
}

DimExpr DimExpr::symbol(const std::string &name) {
  DimExpr d;
  d.terms[{name}] = 1;
  return d;
}

std::optional<int64_t> DimExpr::getConstant() const {
  if (terms.empty())
    return 0;
  if (terms.size() == 1 && terms.begin()->first.empty())
    return terms.begin()->second;
  return std::nullopt;
}

DimExpr DimExpr::operator+(const DimExpr &rhs) const {
  DimExpr r = *this;
  r.overflowed |= rhs.overflowed;
  for (const auto &[mono, coeff] : rhs.terms) {
    int64_t c = 0;
    r.overflowed |= __builtin_add_overflow(r.terms[mono], coeff, &c);
    r.terms[mono] = c;
    if (c == 0)
      r.terms.erase(mono);
  }
  r.quotients.insert(rhs.quotients.begin(), rhs.quotients.end());
  return r;
}

DimExpr DimExpr::operator-(const DimExpr &rhs) const {
  return *this + rhs * constant(-1);
}

DimExpr DimExpr::operator*(const DimExpr &rhs) const {
  DimExpr r;
  r.overflowed = overflowed || rhs.overflowed;
  for (const auto &[ma, ca] : terms) {
    for (const auto &[mb, cb] : rhs.terms) {
      std::vector<std::string> mono = ma;
      mono.insert(mono.end(), mb.begin(), mb.end());
      std::sort(mono.begin(), mono.end());
      int64_t product = 0, c = 0;
      r.overflowed |= __builtin_mul_overflow(ca, cb, &product);
      r.overflowed |= __builtin_add_overflow(r.terms[mono], product, &c);
      r.terms[mono] = c;
      if (c == 0)
        r.terms.erase(mono);
    }
  }
  r.quotients = quotients;
  r.quotients.insert(rhs.quotients.begin(), rhs.quotients.end());
  return r;
}

static int64_t floorDivInt(int64_t a, int64_t b) {
  if (b == -1) // INT64_MIN / -1 traps; wrap instead.
    return int64_t(0 - uint64_t(a));
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    --q;
  return q;
}

DimExpr DimExpr::floorDiv(const DimExpr &rhs) const {
  // The result has overflowed when an operand has.
  auto keep = [&](DimExpr d) {
    d.overflowed |= overflowed || rhs.overflowed;
    return d;
  };
  std::optional<int64_t> divisor = rhs.getConstant();
  if (divisor && *divisor == 0)
    return *this; // Callers report division by zero before dividing.
  if (divisor && *divisor == 1)
    return *this;
  // -2^63 / -1 does not fit: a product that records it.
  if (divisor && *divisor == -1)
    return *this * constant(-1);
  if (std::optional<int64_t> value = getConstant(); value && divisor)
    return keep(constant(floorDivInt(*value, *divisor)));
  if (*this == rhs)
    return keep(constant(1));

  // Exact division by a constant, or by a single monomial that divides every
  // term (N*D / D = N).
  if (rhs.terms.size() == 1) {
    const auto &[dmono, dcoeff] = *rhs.terms.begin();
    DimExpr r;
    bool exact = true;
    for (const auto &[mono, coeff] : terms) {
      if (coeff % dcoeff != 0) {
        exact = false;
        break;
      }
      std::vector<std::string> rest = mono;
      for (const std::string &atom : dmono) {
        auto it = std::find(rest.begin(), rest.end(), atom);
        if (it == rest.end()) {
          exact = false;
          break;
        }
        rest.erase(it);
      }
      if (!exact)
        break;
      r.terms[rest] = coeff / dcoeff;
    }
    if (exact) {
      r.quotients = quotients;
      return keep(r);
    }
  }

  // Otherwise the quotient is an opaque atom, remembered for substitution.
  std::string name = "(" + str() + " / " + rhs.str() + ")";
  DimExpr r = symbol(name);
  r.quotients = quotients;
  r.quotients.insert(rhs.quotients.begin(), rhs.quotients.end());
  r.quotients[name] = {std::make_shared<DimExpr>(*this),
                       std::make_shared<DimExpr>(rhs)};
  return keep(r);
}

DimExpr
DimExpr::substitute(const std::map<std::string, DimExpr> &bindings) const {
  DimExpr r;
  r.overflowed = overflowed;
  for (const auto &[mono, coeff] : terms) {
    DimExpr product = constant(coeff);
    for (const std::string &atom : mono) {
      if (auto q = quotients.find(atom); q != quotients.end()) {
        product = product * q->second.first->substitute(bindings).floorDiv(
                                q->second.second->substitute(bindings));
      } else if (auto b = bindings.find(atom); b != bindings.end()) {
        product = product * b->second;
      } else {
        product = product * symbol(atom);
      }
    }
    r = r + product;
  }
  return r;
}

std::vector<std::string> DimExpr::getSymbols() const {
  std::set<std::string> names;
  for (const auto &[mono, coeff] : terms) {
    for (const std::string &atom : mono) {
      if (auto q = quotients.find(atom); q != quotients.end()) {
        for (const std::string &s : q->second.first->getSymbols())
          names.insert(s);
        for (const std::string &s : q->second.second->getSymbols())
          names.insert(s);
      } else {
        names.insert(atom);
      }
    }
  }
  return {names.begin(), names.end()};
}

std::string DimExpr::str() const {
  if (terms.empty())
    return "0";
  // Highest degree first, the constant last: `2*N + 1`.
  std::vector<std::pair<std::vector<std::string>, int64_t>> ordered(
      terms.begin(), terms.end());
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto &a, const auto &b) {
                     return a.first.size() > b.first.size();
                   });
  std::ostringstream os;
  bool first = true;
  for (const auto &[mono, coeff] : ordered) {
    int64_t c = coeff;
    if (!first) {
      os << (c < 0 ? " - " : " + ");
      c = c < 0 ? -c : c;
    } else if (c < 0 && !mono.empty()) {
      os << "-";
      c = -c;
    }
    if (mono.empty()) {
      os << c;
    } else {
      if (c != 1)
        os << c << "*";
      for (size_t i = 0; i < mono.size(); ++i)
        os << (i ? "*" : "") << mono[i];
    }
    first = false;
  }
  return os.str();
}

//===----------------------------------------------------------------------===//
// ValueType
//===----------------------------------------------------------------------===//

ValueType ValueType::tensor(ElemType elem, std::vector<DimExpr> shape) {
  ValueType t;
  t.kind = Kind::Tensor;
  t.elem = elem;
  t.shape = std::move(shape);
  return t;
}

ValueType
ValueType::group(std::vector<std::pair<std::string, ValueType>> members) {
  ValueType t;
  t.kind = Kind::Group;
  t.members = std::move(members);
  return t;
}

const ValueType *ValueType::getMember(const std::string &name) const {
  for (const auto &[memberName, type] : members)
    if (memberName == name)
      return &type;
  return nullptr;
}

ValueType ValueType::withElemType(ElemType newElem) const {
  ValueType t = *this;
  t.elem = newElem;
  return t;
}

ValueType ValueType::withShape(std::vector<DimExpr> newShape) const {
  ValueType t = *this;
  t.shape = std::move(newShape);
  return t;
}

ValueType
ValueType::substitute(const std::map<std::string, DimExpr> &bindings) const {
  ValueType t = *this;
  for (DimExpr &d : t.shape)
    d = d.substitute(bindings);
  for (auto &member : t.members)
    member.second = member.second.substitute(bindings);
  return t;
}

bool ValueType::operator==(const ValueType &rhs) const {
  if (kind != rhs.kind)
    return false;
  if (kind == Kind::Group)
    return members == rhs.members;
  return elem == rhs.elem && shape == rhs.shape;
}

std::string ValueType::shapeStr() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + shape[i].str();
  return s + "]";
}

std::string ValueType::str() const {
  if (kind == Kind::Group) {
    std::string s = "{";
    for (size_t i = 0; i < members.size(); ++i)
      s += (i ? ", " : "") + members[i].first + ": " + members[i].second.str();
    return s + "}";
  }
  if (shape.empty())
    return toString(elem);
  return toString(elem) + shapeStr();
}
