//===- Type.h - Value types and symbolic dimensions -------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The types the checker infers: tensors of an element type with symbolic
/// dimensions, and groups of named tensors (the state of a Titans memory).
/// Plain C++: no MLIR or ANTLR types.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_FRONTEND_TYPE_H
#define ATTNC_FRONTEND_TYPE_H

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace attnc {

/// Element types of the language. `i1` is the type of masks and comparisons.
enum class ElemType { F16, BF16, F32, F64, I1, I32, I64 };

/// The spelling of an element type in the language (`f32`).
const char *toString(ElemType type);
/// Parses `f32`, `i1`, ... ; nullopt for anything else.
std::optional<ElemType> parseElemType(const std::string &spelling);
bool isFloat(ElemType type);
bool isInteger(ElemType type); // i32 and i64, not i1

/// A dimension: a polynomial with integer coefficients over atoms. An atom is
/// a symbol (`N`, a run-time size) or an opaque quotient (`N / BS`) that could
/// not be simplified. Compile-time constants are substituted before a DimExpr
/// is built, so two dims are equal exactly when their polynomials are.
class DimExpr {
public:
  DimExpr() = default; // the constant 0
  static DimExpr constant(int64_t value);
  static DimExpr symbol(const std::string &name);

  /// The value if the dimension is a compile-time constant.
  std::optional<int64_t> getConstant() const;
  bool isConstant() const { return getConstant().has_value(); }

  DimExpr operator+(const DimExpr &rhs) const;
  DimExpr operator-(const DimExpr &rhs) const;
  DimExpr operator*(const DimExpr &rhs) const;
  /// Floor division. Exact when every coefficient is divisible by a constant
  /// divisor; otherwise the quotient becomes an opaque atom.
  DimExpr floorDiv(const DimExpr &rhs) const;
  /// Replaces each symbol by a dimension (instantiating a generic function).
  DimExpr substitute(const std::map<std::string, DimExpr> &bindings) const;
  /// The symbols this dimension mentions, atoms of quotients included.
  std::vector<std::string> getSymbols() const;

  /// The polynomial: monomial (sorted atom names) -> coefficient.
  const std::map<std::vector<std::string>, int64_t> &getTerms() const {
    return terms;
  }
  /// For a quotient atom, its numerator and divisor; null for a symbol.
  const std::pair<std::shared_ptr<DimExpr>, std::shared_ptr<DimExpr>> *
  getQuotient(const std::string &atom) const {
    auto it = quotients.find(atom);
    return it == quotients.end() ? nullptr : &it->second;
  }

  /// Whether a coefficient left int64 in the arithmetic that built this
  /// dimension (then the terms are meaningless; the checker reports it).
  bool hasOverflowed() const { return overflowed; }

  bool operator==(const DimExpr &rhs) const { return terms == rhs.terms; }
  bool operator!=(const DimExpr &rhs) const { return !(*this == rhs); }

  /// Readable form: `N`, `128`, `2*N + 1`, `(N / 64)`.
  std::string str() const;

private:
  /// Monomial (sorted atom names, with repetition) -> coefficient; no zeros.
  std::map<std::vector<std::string>, int64_t> terms;
  bool overflowed = false;
  /// Quotient atoms by name, for substitution: name -> (numerator, divisor).
  std::map<std::string,
           std::pair<std::shared_ptr<DimExpr>, std::shared_ptr<DimExpr>>>
      quotients;
};

/// The type of a value: a tensor (rank 0 is a scalar) or a group of named
/// members (each itself a type), in declaration order.
class ValueType {
public:
  enum class Kind { Tensor, Group };

  ValueType() = default;
  static ValueType tensor(ElemType elem, std::vector<DimExpr> shape = {});
  static ValueType
  group(std::vector<std::pair<std::string, ValueType>> members);

  Kind getKind() const { return kind; }
  bool isTensor() const { return kind == Kind::Tensor; }
  bool isGroup() const { return kind == Kind::Group; }
  bool isScalar() const { return isTensor() && shape.empty(); }

  ElemType getElemType() const { return elem; }
  const std::vector<DimExpr> &getShape() const { return shape; }
  size_t getRank() const { return shape.size(); }
  const std::vector<std::pair<std::string, ValueType>> &getMembers() const {
    return members;
  }
  /// The member named `name`, or null.
  const ValueType *getMember(const std::string &name) const;

  ValueType withElemType(ElemType newElem) const;
  ValueType withShape(std::vector<DimExpr> newShape) const;
  ValueType substitute(const std::map<std::string, DimExpr> &bindings) const;

  bool operator==(const ValueType &rhs) const;
  bool operator!=(const ValueType &rhs) const { return !(*this == rhs); }

  /// `f32[B, H, N, 64]`, `i1`, `{W1: f32[64, 32], W2: f32[32, 64]}`.
  std::string str() const;
  /// Just the shape: `[B, H, N, 64]`.
  std::string shapeStr() const;

private:
  Kind kind = Kind::Tensor;
  ElemType elem = ElemType::F32;
  std::vector<DimExpr> shape;
  std::vector<std::pair<std::string, ValueType>> members;
};

} // namespace attnc

#endif // ATTNC_FRONTEND_TYPE_H
