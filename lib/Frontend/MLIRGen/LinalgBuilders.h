//===- LinalgBuilders.h - Small builders for linalg on tensors --*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The few shapes of upstream linalg / tensor IR that ArchGen emits again and
/// again: init tensors with run-time sizes, zero fills, element-wise and
/// last-dimension reductions as `linalg.generic`, matmuls, transposes and
/// reshapes. Each helper takes the sizes as OpFoldResults, so static sizes
/// stay static and dynamic ones come from `tensor.dim`.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_FRONTEND_MLIRGEN_LINALGBUILDERS_H
#define ATTNC_LIB_FRONTEND_MLIRGEN_LINALGBUILDERS_H

#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

namespace attnc::lgen {

using Sizes = llvm::SmallVector<mlir::OpFoldResult>;

/// Computes the scalar a `linalg.generic` body yields from its block
/// arguments (the inputs' elements, then the output's).
using BodyFn = llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                              mlir::ValueRange)>;

/// The sizes of a ranked tensor: constants where static, `tensor.dim`
/// otherwise.
Sizes sizesOf(mlir::OpBuilder &b, mlir::Location loc, mlir::Value tensor);

/// The tensor type with these sizes (dynamic where a size is a value).
mlir::RankedTensorType typeOf(llvm::ArrayRef<mlir::OpFoldResult> sizes,
                              mlir::Type elem);

/// `tensor.empty` with these sizes.
mlir::Value empty(mlir::OpBuilder &b, mlir::Location loc,
                  llvm::ArrayRef<mlir::OpFoldResult> sizes, mlir::Type elem);

/// `tensor.empty` + `linalg.fill` with 0.
mlir::Value zeros(mlir::OpBuilder &b, mlir::Location loc,
                  llvm::ArrayRef<mlir::OpFoldResult> sizes, mlir::Type elem);

/// An `arith.constant` of a float (or integer) element type.
mlir::Value scalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Type elem,
                   double value);

/// Affine maps over `rank` loops: all dims, all but the last, only the last,
/// all but the first.
mlir::AffineMap identityMap(mlir::MLIRContext *ctx, unsigned rank);
mlir::AffineMap dropLastMap(mlir::MLIRContext *ctx, unsigned rank);
mlir::AffineMap lastOnlyMap(mlir::MLIRContext *ctx, unsigned rank);
mlir::AffineMap dropFirstMap(mlir::MLIRContext *ctx, unsigned rank);

/// An all-parallel `linalg.generic` writing into `init` (identity map) and
/// reading `inputs` through `inputMaps`.
mlir::Value mapInto(mlir::OpBuilder &b, mlir::Location loc,
                    mlir::ValueRange inputs,
                    llvm::ArrayRef<mlir::AffineMap> inputMaps, mlir::Value init,
                    BodyFn body);

/// An element-wise `linalg.generic` over inputs of one shape (the first's),
/// into a fresh `tensor.empty` of `elem` (the first input's when null).
mlir::Value map(mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange inputs,
                BodyFn body, mlir::Type elem = nullptr);

/// A sum-like reduction over the last of the loops of `inputs.front()`:
/// `linalg.generic` with parallel loops then one reduction loop, into a
/// zero-filled tensor of all but the last size. The body gets the inputs'
/// elements then the accumulator and returns the new accumulator.
mlir::Value reduceLast(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::ValueRange inputs,
                       llvm::ArrayRef<mlir::AffineMap> inputMaps, BodyFn body);

/// `linalg.transpose`: dimension i of the result is dimension perm[i] of x.
mlir::Value transpose(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                      llvm::ArrayRef<int64_t> perm);

/// `tensor.collapse_shape`.
mlir::Value collapse(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                     llvm::ArrayRef<mlir::ReassociationIndices> groups);

/// `tensor.expand_shape` to `sizes`.
mlir::Value expand(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                   llvm::ArrayRef<mlir::ReassociationIndices> groups,
                   llvm::ArrayRef<mlir::OpFoldResult> sizes);

/// `tensor.cast` when the types differ.
mlir::Value castTo(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                   mlir::Type type);

/// `linalg.matmul` of [M, K] by [K, N] into a zero-filled [M, N].
mlir::Value matmul(mlir::OpBuilder &b, mlir::Location loc, mlir::Value lhs,
                   mlir::Value rhs);

/// `linalg.batch_matmul` of [B, M, K] by [B, K, N] into a zero-filled
/// [B, M, N].
mlir::Value batchMatmul(mlir::OpBuilder &b, mlir::Location loc, mlir::Value lhs,
                        mlir::Value rhs);

} // namespace attnc::lgen

#endif // ATTNC_LIB_FRONTEND_MLIRGEN_LINALGBUILDERS_H
