//===- MaskIntervals.h - Classify mask tiles by interval evaluation -*- C++
//-*-//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Evaluates an attention mask region over a whole (query tile, key tile)
/// at once, with interval arithmetic, to decide whether the tile is empty
/// (no key visible to any query), full (every key visible to every query)
/// or partial. The evaluation is emitted as IR, because tile bounds depend
/// on run-time sequence lengths; what is decided at compile time is the
/// classification rule, derived from the region's ops.
///
/// Reads of data in the mask (a `tensor.extract` of document ids or of a
/// block-selection tensor) are bounded at run time too, by the range of the
/// values they take over the tile (TileReads, and BlockLists.h for the
/// first phase that computes those ranges).
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_TRANSFORMS_MASKINTERVALS_H
#define ATTNC_LIB_TRANSFORMS_MASKINTERVALS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Region.h"
#include "mlir/IR/Value.h"

#include "llvm/ADT/DenseMap.h"

namespace mlir::attnc {

/// The run-time classification of one tile: `mayBeVisible` is false when the
/// tile is empty, `mustBeVisible` true when it is full. `exact` is true when
/// every run-time check of the region (its cf.asserts) holds on the whole
/// tile and every data read was bounded; where it is false the tile is
/// classified partial (may true, must false), so that the per-element mask
/// runs the checks. All three are i1 values; `exact` is null when the
/// classification assumes nothing (always exact).
struct TileVisibility {
  Value mayBeVisible;
  Value mustBeVisible;
  Value exact;
};

/// The values one data read takes over a tile, in the read's element type:
/// the least and the greatest. For i1, `lo` is "all true" and `hi` "any
/// true"; for floats they come from minimumf/maximumf, so a NaN anywhere
/// makes both NaN.
struct ReadRange {
  Value lo, hi;
};

/// Whether reads of `elementType` can be bounded: i1, integers up to 64
/// bits, index and floats.
bool isBoundableReadType(Type elementType);

/// The range of no value, the neutral element of emitRangeUnion: (true,
/// false) for i1, (max, min) for integers, (+inf, -inf) for floats.
ReadRange emitEmptyRange(OpBuilder &builder, Location loc, Type elementType);

/// `range` extended by the value `x`.
ReadRange emitRangeUnion(OpBuilder &builder, Location loc, ReadRange range,
                         Value x);

/// i1: whether every value of `range` is the same one (floats: the same
/// bits, and not NaN, so that -0 and +0 are different values).
Value emitIsSingleValue(OpBuilder &builder, Location loc, ReadRange range);

/// How the data reads of a mask (its tensor.extract ops of tensors defined
/// outside the region) are bounded on a tile.
struct TileReads {
  /// Ranges computed before the evaluation, by the tensor.extract op of the
  /// mask region they bound (BlockLists.h: per query tile, per key tile).
  llvm::DenseMap<Operation *, ReadRange> known;
  /// A read not in `known` whose indices all have intervals is reduced over
  /// the box of those intervals, with loops, when the box holds at most
  /// this many elements (a run-time test; a larger box leaves the tile
  /// inexact). 0: never.
  int64_t maxBoxVolume = 0;
  /// Out: the range of every read the evaluation bounded (known or boxed).
  llvm::DenseMap<Operation *, ReadRange> bounded;
};

/// Emits, at the builder's insertion point, the classification of the tile
/// `b x h x [iLo, iHi] x [jLo, jHi]` (inclusive bounds, index values) under
/// `mask`, a region `(%b, %h, %i, %j: index) -> i1` ending in attn.yield.
///
/// Integers are bounded by intervals through constants, index casts, add,
/// sub, mul, min, max and floor/trunc division by a positive constant;
/// comparisons give "must"/"may" from the operand intervals; and/or/xor-with-
/// true and select combine them. With `reads`, a tensor.extract gets the
/// range of its values on the tile: an interval for integers, (all, any)
/// for i1, a float interval compared by cmpf. Arithmetic on read values is
/// checked for overflow (the tile is inexact where it may wrap). Anything
/// else (an unsigned comparison, a remainder) is unknown, which makes the
/// tile partial: always correct, only slower. Returns the classification;
/// when the region is empty, every key is visible (full).
TileVisibility emitTileVisibility(OpBuilder &builder, Location loc,
                                  Region &mask, Value b, Value h, Value iLo,
                                  Value iHi, Value jLo, Value jHi,
                                  TileReads *reads = nullptr);

} // namespace mlir::attnc

#endif // ATTNC_LIB_TRANSFORMS_MASKINTERVALS_H
