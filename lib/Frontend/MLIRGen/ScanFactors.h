//===- ScanFactors.h - The chunkwise factors of a linear scan ---*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
//
// Where ScanLinearity.h classifies a scan's updates, this reads off the
// factors of the forms that `attn-chunk-scans` lowers chunkwise, as
// sub-expressions of the user's step:
//
//   linear: M_t = diag(a_t) M_{t-1} + beta_t k_t v_t^T
//   delta:  M_t = a_t (I - beta_t k_t k_t^T) M_{t-1} + beta_t k_t v_t^T
//
// with M the key-major matrix state (the user's S, or S^T when S is
// [V, K]), the emit M_t^T q_t, possibly divided by z_t . q_t with a
// normalizer z_t = a_t z_{t-1} + k_t. MLIRGen evaluates the factors in the
// attn.scan `factors` region; the body stays the semantics.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_FRONTEND_MLIRGEN_SCANFACTORS_H
#define ATTNC_LIB_FRONTEND_MLIRGEN_SCANFACTORS_H

#include "attnc/Frontend/AST.h"

#include <optional>
#include <string>
#include <vector>

namespace attnc::mlirgen {

/// A vector factor: an expression of type f32[D], or, in an indexed update
/// (`S[d, e] = ...`), a scalar expression of the index `index`.
struct VectorFactor {
  const Expr *expr = nullptr;
  std::string index;
};

struct ScanFactors {
  enum class Recurrence { Linear, Delta };
  enum class Decay { None, Scalar, Vector };
  enum class Role { KeyValue, ValueKey, Normalizer };

  Recurrence recurrence = Recurrence::Linear;
  Decay decay = Decay::None;
  VectorFactor query, key, value;
  /// The per-key gate (Decay::Vector).
  VectorFactor gate;
  /// Scalar factors whose product is the scalar decay (or scales the gate).
  std::vector<const Expr *> decayScalars;
  /// Scalar factors whose product is beta_t (none: beta_t = 1).
  std::vector<const Expr *> betaScalars;
  /// One role per declared state, in declaration order.
  std::vector<Role> roles;
};

/// The factors of `scan`, or why it has none of the chunkwise forms (to
/// follow "this scan is not lowered chunkwise: ").
std::optional<ScanFactors> findScanFactors(const ScanExpr &scan,
                                           std::string &whyNot);

} // namespace attnc::mlirgen

#endif // ATTNC_LIB_FRONTEND_MLIRGEN_SCANFACTORS_H
