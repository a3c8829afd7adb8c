//===- StridedExpandShape.h - expand_shape of strided memrefs ---*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_TARGET_CPU_STRIDEDEXPANDSHAPE_H
#define ATTNC_LIB_TARGET_CPU_STRIDEDEXPANDSHAPE_H

#include "mlir/Pass/Pass.h"

#include <memory>

namespace mlir::attnc::cpu {

/// `--attnc-cpu-strided-expand-shape`: rewrites each memref.expand_shape
/// that `--attnc-cpu-contiguous-expand-shape` leaves (a source or result
/// with a non-identity layout, as function arguments have since they take
/// `strided<[?, ..., 1], offset: ?>` memrefs) into
/// memref.extract_strided_metadata + memref.reinterpret_cast. Splitting a
/// dimension of stride s into extents [n0, ..., nk] gives the strides
/// [s * n1 * ... * nk, ..., s * nk, s], and the offset stays. MLIR 22's
/// expand-strided-metadata crashes on an expand_shape whose reassociation
/// group has two dynamic sizes; this pass leaves it none.
std::unique_ptr<Pass> createStridedExpandShapePass();

} // namespace mlir::attnc::cpu

#endif // ATTNC_LIB_TARGET_CPU_STRIDEDEXPANDSHAPE_H
