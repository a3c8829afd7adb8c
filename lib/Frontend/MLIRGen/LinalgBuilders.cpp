//===- LinalgBuilders.cpp - Small builders for linalg on tensors ----------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

using namespace mlir;
using namespace attnc;

lgen::Sizes lgen::sizesOf(OpBuilder &b, Location loc, Value tensor) {
  return tensor::getMixedSizes(b, loc, tensor);
}

RankedTensorType lgen::typeOf(ArrayRef<OpFoldResult> sizes, Type elem) {
  SmallVector<int64_t> shape;
  for (OpFoldResult s : sizes)
    shape.push_back(getConstantIntValue(s).value_or(ShapedType::kDynamic));
  return RankedTensorType::get(shape, elem);
}

Value lgen::empty(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                  Type elem) {
  return tensor::EmptyOp::create(b, loc, sizes, elem);
}

Value lgen::scalar(OpBuilder &b, Location loc, Type elem, double value) {
  if (auto ft = dyn_cast<FloatType>(elem))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(ft, value));
  return arith::ConstantOp::create(b, loc,
                                   b.getIntegerAttr(elem, int64_t(value)));
}

Value lgen::zeros(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                  Type elem) {
  Value init = empty(b, loc, sizes, elem);
  Value zero = scalar(b, loc, elem, 0.0);
  return linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{init})
      ->getResult(0);
}

AffineMap lgen::identityMap(MLIRContext *ctx, unsigned rank) {
  return AffineMap::getMultiDimIdentityMap(rank, ctx);
}

AffineMap lgen::dropLastMap(MLIRContext *ctx, unsigned rank) {
  SmallVector<AffineExpr> exprs;
  for (unsigned i = 0; i + 1 < rank; ++i)
    exprs.push_back(getAffineDimExpr(i, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

AffineMap lgen::lastOnlyMap(MLIRContext *ctx, unsigned rank) {
  return AffineMap::get(rank, 0, {getAffineDimExpr(rank - 1, ctx)}, ctx);
}

AffineMap lgen::dropFirstMap(MLIRContext *ctx, unsigned rank) {
  SmallVector<AffineExpr> exprs;
  for (unsigned i = 1; i < rank; ++i)
    exprs.push_back(getAffineDimExpr(i, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

/// A `linalg.generic` with one output whose body yields `body`'s value.
static Value generic(OpBuilder &b, Location loc, ValueRange inputs,
                     ArrayRef<AffineMap> inputMaps, Value init,
                     AffineMap initMap, ArrayRef<utils::IteratorType> iterators,
                     lgen::BodyFn body) {
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(initMap);
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value result = body(nb, nl, args);
        linalg::YieldOp::create(nb, nl, ValueRange{result});
      });
  return op->getResult(0);
}

Value lgen::mapInto(OpBuilder &b, Location loc, ValueRange inputs,
                    ArrayRef<AffineMap> inputMaps, Value init, BodyFn body) {
  unsigned rank = cast<RankedTensorType>(init.getType()).getRank();
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return generic(b, loc, inputs, inputMaps, init,
                 identityMap(b.getContext(), rank), iterators, body);
}

Value lgen::map(OpBuilder &b, Location loc, ValueRange inputs, BodyFn body,
                Type elem) {
  auto type = cast<RankedTensorType>(inputs.front().getType());
  Value init = empty(b, loc, sizesOf(b, loc, inputs.front()),
                     elem ? elem : type.getElementType());
  SmallVector<AffineMap> maps(inputs.size(),
                              identityMap(b.getContext(), type.getRank()));
  return mapInto(b, loc, inputs, maps, init, body);
}

Value lgen::reduceLast(OpBuilder &b, Location loc, ValueRange inputs,
                       ArrayRef<AffineMap> inputMaps, BodyFn body) {
  auto type = cast<RankedTensorType>(inputs.front().getType());
  unsigned rank = type.getRank();
  Sizes sizes = sizesOf(b, loc, inputs.front());
  sizes.pop_back();
  Value init = zeros(b, loc, sizes, type.getElementType());
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  iterators.back() = utils::IteratorType::reduction;
  return generic(b, loc, inputs, inputMaps, init,
                 dropLastMap(b.getContext(), rank), iterators, body);
}

Value lgen::transpose(OpBuilder &b, Location loc, Value x,
                      ArrayRef<int64_t> perm) {
  Sizes in = sizesOf(b, loc, x), out;
  for (int64_t p : perm)
    out.push_back(in[p]);
  Value init =
      empty(b, loc, out, cast<RankedTensorType>(x.getType()).getElementType());
  return linalg::TransposeOp::create(b, loc, x, init, perm)->getResult(0);
}

Value lgen::collapse(OpBuilder &b, Location loc, Value x,
                     ArrayRef<ReassociationIndices> groups) {
  return tensor::CollapseShapeOp::create(b, loc, x, groups);
}

Value lgen::expand(OpBuilder &b, Location loc, Value x,
                   ArrayRef<ReassociationIndices> groups,
                   ArrayRef<OpFoldResult> sizes) {
  Type elem = cast<RankedTensorType>(x.getType()).getElementType();
  return tensor::ExpandShapeOp::create(b, loc, typeOf(sizes, elem), x, groups,
                                       sizes);
}

Value lgen::castTo(OpBuilder &b, Location loc, Value x, Type type) {
  if (x.getType() == type)
    return x;
  return tensor::CastOp::create(b, loc, type, x);
}

Value lgen::matmul(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  Sizes l = sizesOf(b, loc, lhs), r = sizesOf(b, loc, rhs);
  Type elem = cast<RankedTensorType>(lhs.getType()).getElementType();
  Value init = zeros(b, loc, {l[0], r[1]}, elem);
  return linalg::MatmulOp::create(b, loc, TypeRange{init.getType()},
                                  ValueRange{lhs, rhs}, ValueRange{init})
      ->getResult(0);
}

Value lgen::batchMatmul(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  Sizes l = sizesOf(b, loc, lhs), r = sizesOf(b, loc, rhs);
  Type elem = cast<RankedTensorType>(lhs.getType()).getElementType();
  Value init = zeros(b, loc, {l[0], l[1], r[2]}, elem);
  return linalg::BatchMatmulOp::create(b, loc, TypeRange{init.getType()},
                                       ValueRange{lhs, rhs}, ValueRange{init})
      ->getResult(0);
}
