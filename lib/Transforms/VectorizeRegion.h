//===- VectorizeRegion.h - Clone an element-wise region on vectors -*- C++ -*-//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The score and mask regions of attn.attention compute one element from
/// scalars `(s, b, h, i, j)`. The CPU kernels evaluate them on a whole
/// vector of keys at once: `s` and `j` vary along the vector, `b`, `h` and
/// `i` do not. Ops that read only uniform values are cloned as they are (a
/// slope read with tensor.extract at `h` stays one scalar load); ops that
/// read a varying value must be element-wise mappable (arith, math) and get
/// their vector form, with uniform operands broadcast.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_TRANSFORMS_VECTORIZEREGION_H
#define ATTNC_LIB_TRANSFORMS_VECTORIZEREGION_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Region.h"
#include "mlir/IR/Value.h"

namespace mlir::attnc {

/// Whether the single-block region `region` can be cloned on vectors when
/// the block arguments flagged in `varying` vary along the vector: every op
/// that depends on a varying value is element-wise mappable, has no region,
/// and yields scalars. An empty region is vectorizable.
bool isVectorizableRegion(Region &region, ArrayRef<bool> varying);

/// Clones `region` (which must be vectorizable for the same arguments) at the
/// builder's insertion point with its arguments bound to `args`; varying ones
/// are vectors of `width` lanes, the others scalars. Returns the value the
/// region's terminator yields first, broadcast to a vector of `width` lanes
/// when it turned out uniform.
Value cloneRegionOnVectors(OpBuilder &builder, Location loc, Region &region,
                           ValueRange args, int64_t width);

} // namespace mlir::attnc

#endif // ATTNC_LIB_TRANSFORMS_VECTORIZEREGION_H
