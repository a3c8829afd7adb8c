//===- EntrySignature.h - The C signature of a compiled entry ---*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// What a caller of a built library must know about one entry: its tensors
/// in C argument order, their element types and shapes as formulas of the
/// run-time sizes. Plain data, free of MLIR, so that every caller (the
/// driver, the search, NAME.json's writer) shares it; the C functions
/// themselves are described in attnc/Target/CPU/EntryABI.h.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_RUNTIME_ENTRYSIGNATURE_H
#define ATTNC_RUNTIME_ENTRYSIGNATURE_H

#include "attnc/Frontend/Type.h"

#include <string>
#include <vector>

namespace attnc::runtime {

/// One tensor crossing the C interface (rank 0: a scalar).
struct ABITensor {
  std::string name;
  ElemType elem = ElemType::F32;
  std::vector<DimExpr> shape;
};

/// The C signature of one entry.
struct EntrySignature {
  std::string name;
  std::vector<ABITensor> inputs, outputs;
  /// The run-time size symbols, in ABI order.
  std::vector<std::string> sizes;
};

} // namespace attnc::runtime

#endif // ATTNC_RUNTIME_ENTRYSIGNATURE_H
