//===- ContiguousExpandShape.h - expand_shape as reinterpret_cast -*- C++ -*-//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_TARGET_CPU_CONTIGUOUSEXPANDSHAPE_H
#define ATTNC_LIB_TARGET_CPU_CONTIGUOUSEXPANDSHAPE_H

#include "mlir/Pass/Pass.h"

#include <memory>

namespace mlir::attnc::cpu {

/// `--attnc-cpu-contiguous-expand-shape`: rewrites each memref.expand_shape
/// of an identity-layout (contiguous) memref into a memref.reinterpret_cast
/// with row-major strides. MLIR 22's expand-strided-metadata crashes on an
/// expand_shape whose reassociation group has two dynamic sizes
/// (`memref<?x64xf32>` into `memref<?x?x64xf32>`, as the heads of an
/// einspace tree give); on contiguous sources the cast is the same view.
std::unique_ptr<Pass> createContiguousExpandShapePass();

} // namespace mlir::attnc::cpu

#endif // ATTNC_LIB_TARGET_CPU_CONTIGUOUSEXPANDSHAPE_H
