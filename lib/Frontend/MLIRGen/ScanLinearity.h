//===- ScanLinearity.h - The algebraic form of a scan's step ----*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
//
// Which state updates of a scan have the form S_t = A_t(S_{t-1}) + B_t, with
// which kind of A_t, and whether the emit is linear in the states: what the
// chunkwise-parallel lowering needs to know (issue 12). Decided on the
// checked AST, where the algebra is still written as the user wrote it
// (`gamma[h] * S + outer(k, v)`); MLIRGen records it on attn.scan.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_FRONTEND_MLIRGEN_SCANLINEARITY_H
#define ATTNC_LIB_FRONTEND_MLIRGEN_SCANLINEARITY_H

#include "attnc/Frontend/AST.h"

#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>
#include <vector>

namespace attnc::mlirgen {

/// The transition A_t of one state.
enum class Transition {
  /// S_t = S_{t-1} + B_t (linear attention).
  Identity,
  /// S_t = a_t S_{t-1} + B_t with a scalar a_t (RetNet, Mamba2/SSD).
  ScalarDecay,
  /// S_t = diag(a_t) S_{t-1} + B_t: an elementwise or per-row gate (GLA,
  /// HGRN, RWKV-6 style).
  DiagonalGate,
  /// S_t = S_{t-1} (I - b_t k_t^T) + B_t, on one side, possibly gated by a
  /// scalar or diagonal decay (DeltaNet, gated DeltaNet, S (diag(w) - a b^T)).
  LowRank,
  /// Affine in the states, but none of the forms above (a dense A_t, or
  /// states that read each other).
  Affine,
  /// Not affine in the states (Titans' gradient step).
  NonLinear,
};

/// How the emit depends on the states.
enum class EmitForm {
  /// Affine in the states (`S @ q`, `transpose(S) @ q`).
  Linear,
  /// A ratio of two affine forms (`transpose(S) @ q / dot(z, q)`).
  Ratio,
  NonLinear,
};

struct StateForm {
  std::string state;
  Transition transition;
  /// Why the transition is Affine or NonLinear ("multiplies the state by ..."),
  /// to follow "the update of 'S' ".
  std::string reason;
};

struct ScanForm {
  std::vector<StateForm> states;
  EmitForm emit = EmitForm::Linear;
  std::string emitReason;
  /// Every update affine in the states (the attn.scan `linear_in_state`).
  bool isAffine() const;
};

/// What a statement of a scan body defines: `x = e` or `x[i, j] = e`.
struct StepDefinition {
  const std::string *name;
  const Expr *value;
  /// The left-hand indices of an indexed definition (none for `x = e`).
  std::vector<std::string> indices;
};

/// The definition `s` makes, if it is one (not a state declaration, an emit
/// or a multi-name let).
std::optional<StepDefinition> getStepDefinition(const Stmt &s);

/// The forms of `scan`'s updates and emit.
ScanForm analyzeScan(const ScanExpr &scan);

/// The attribute spellings: "identity", "scalar_decay", "diagonal_gate",
/// "low_rank", "affine", "nonlinear"; "linear", "ratio", "nonlinear".
llvm::StringRef toString(Transition t);
llvm::StringRef toString(EmitForm e);

} // namespace attnc::mlirgen

#endif // ATTNC_LIB_FRONTEND_MLIRGEN_SCANLINEARITY_H
