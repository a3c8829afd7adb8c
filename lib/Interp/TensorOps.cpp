//===- TensorOps.cpp - The tensor dialect ---------------------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The tensor ops: construction (empty, splat, generate), element access
/// (dim, extract, insert), slices (extract_slice, insert_slice; the
/// parallel_insert_slice of scf.forall is in SCFOps.cpp) and reshapes
/// (cast, expand_shape, collapse_shape, concat). Tensors are row-major, so a
/// reshape keeps the data as it is and changes only the shape.
///
//===----------------------------------------------------------------------===//

#include "InterpreterImpl.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace attnc {
namespace interp {

FailureOr<std::vector<int64_t>> slicePositions(Operation *op,
                                               ArrayRef<int64_t> destShape,
                                               ArrayRef<int64_t> offsets,
                                               ArrayRef<int64_t> sizes,
                                               ArrayRef<int64_t> strides) {
  size_t rank = destShape.size();
  if (offsets.size() != rank || sizes.size() != rank ||
      strides.size() != rank) {
    opError(op) << "has a slice whose rank does not match the tensor's";
    return failure();
  }
  for (size_t d = 0; d < rank; ++d) {
    bool ok = offsets[d] >= 0 && sizes[d] >= 0 && strides[d] >= 1 &&
              (sizes[d] == 0 ||
               offsets[d] + (sizes[d] - 1) * strides[d] < destShape[d]);
    if (!ok) {
      opError(op) << "slice out of bounds: dimension " << d << " of size "
                  << destShape[d] << " with offset " << offsets[d] << ", size "
                  << sizes[d] << ", stride " << strides[d];
      return failure();
    }
  }
  Tensor shapeOnly;
  shapeOnly.shape.assign(destShape.begin(), destShape.end());
  std::vector<int64_t> positions;
  SmallVector<int64_t> destIndex(rank);
  (void)forEachIndex(sizes, [&](ArrayRef<int64_t> index) {
    // dest[offset + index * stride] for each index of the slice.
    for (size_t d = 0; d < rank; ++d)
      destIndex[d] = offsets[d] + index[d] * strides[d];
    positions.push_back(shapeOnly.offset(destIndex));
    return success();
  });
  return positions;
}

/// Checks that `indices` address an element of `t`.
static LogicalResult checkIndices(Operation *op, const Tensor &t,
                                  ArrayRef<int64_t> indices) {
  bool ok = indices.size() == t.shape.size();
  for (size_t d = 0; ok && d < indices.size(); ++d)
    ok = indices[d] >= 0 && indices[d] < t.shape[d];
  if (ok)
    return success();
  auto diag = opError(op) << "index [";
  llvm::interleaveComma(indices, diag);
  diag << "] out of bounds of shape [";
  llvm::interleaveComma(t.shape, diag);
  return diag << "]";
}

static FailureOr<SmallVector<int64_t>>
getIndexValues(Interpreter &interp, Operation *op, ValueRange values) {
  SmallVector<int64_t> result;
  for (Value v : values) {
    FailureOr<int64_t> i = interp.getInt(op, v);
    if (failed(i))
      return failure();
    result.push_back(*i);
  }
  return result;
}

/// tensor.empty: a tensor of the type's shape. Its contents are undefined
/// in the IR; the interpreter fills it with zeros.
static LogicalResult runEmpty(Interpreter &interp, tensor::EmptyOp op) {
  FailureOr<std::vector<int64_t>> shape =
      interp.getShape(op, op.getType(), op.getDynamicSizes());
  if (failed(shape))
    return failure();
  return interp.bind(op, op.getResult(),
                     makeTensor(kindOf(op.getType()), *shape));
}

/// tensor.splat: r[i...] = s for every index of the type's shape.
static LogicalResult runSplat(Interpreter &interp, tensor::SplatOp op) {
  auto type = cast<RankedTensorType>(op.getType());
  FailureOr<std::vector<int64_t>> shape =
      interp.getShape(op, type, op.getDynamicSizes());
  FailureOr<double> value = interp.getScalar(op, op.getInput());
  if (failed(shape) || failed(value))
    return failure();
  Tensor result = makeTensor(kindOf(type), *shape);
  for (double &x : result.data)
    x = *value;
  return interp.bind(op, op.getResult(), std::move(result));
}

/// tensor.from_elements: the operands in row-major order.
static LogicalResult runFromElements(Interpreter &interp,
                                     tensor::FromElementsOp op) {
  auto type = op.getType();
  Tensor result = makeTensor(kindOf(type), type.getShape());
  for (auto [i, v] : llvm::enumerate(op.getElements())) {
    FailureOr<double> x = interp.getScalar(op, v);
    if (failed(x))
      return failure();
    result.data[i] = *x;
  }
  return interp.bind(op, op.getResult(), std::move(result));
}

/// tensor.generate: r[i...] = body(i...) for every index of the shape.
static LogicalResult runGenerate(Interpreter &interp, tensor::GenerateOp op) {
  FailureOr<std::vector<int64_t>> shape =
      interp.getShape(op, op.getType(), op.getDynamicExtents());
  if (failed(shape))
    return failure();
  Tensor result = makeTensor(kindOf(op.getType()), *shape);
  if (failed(forEachIndex(*shape, [&](ArrayRef<int64_t> index) {
        std::vector<TensorRef> args;
        for (int64_t i : index)
          args.push_back(share(makeScalar(ElemKind::Int, double(i))));
        FailureOr<std::vector<TensorRef>> yielded =
            interp.runRegion(op.getBody(), op, args);
        if (failed(yielded))
          return failure();
        result.data[result.offset(index)] = (*yielded)[0]->data[0];
        return success();
      })))
    return failure();
  return interp.bind(op, op.getResult(), std::move(result));
}

/// tensor.dim: the size of dimension d.
static LogicalResult runDim(Interpreter &interp, tensor::DimOp op) {
  FailureOr<TensorRef> source = interp.get(op, op.getSource());
  FailureOr<int64_t> d = interp.getInt(op, op.getIndex());
  if (failed(source) || failed(d))
    return failure();
  if (*d < 0 || *d >= static_cast<int64_t>((*source)->shape.size()))
    return opError(op) << "dimension " << *d << " out of bounds of rank "
                       << (*source)->shape.size();
  return interp.bind(op, op.getResult(),
                     makeScalar(ElemKind::Int, double((*source)->shape[*d])));
}

/// tensor.extract: t[i...].
static LogicalResult runExtract(Interpreter &interp, tensor::ExtractOp op) {
  FailureOr<TensorRef> source = interp.get(op, op.getTensor());
  FailureOr<SmallVector<int64_t>> indices =
      getIndexValues(interp, op, op.getIndices());
  if (failed(source) || failed(indices) ||
      failed(checkIndices(op, **source, *indices)))
    return failure();
  return interp.bind(op, op.getResult(),
                     makeScalar((*source)->kind,
                                (*source)->data[(*source)->offset(*indices)]));
}

/// tensor.insert: a copy of dest with dest[i...] = s.
static LogicalResult runInsert(Interpreter &interp, tensor::InsertOp op) {
  FailureOr<TensorRef> dest = interp.get(op, op.getDest());
  FailureOr<double> scalar = interp.getScalar(op, op.getScalar());
  FailureOr<SmallVector<int64_t>> indices =
      getIndexValues(interp, op, op.getIndices());
  if (failed(dest) || failed(scalar) || failed(indices) ||
      failed(checkIndices(op, **dest, *indices)))
    return failure();
  Tensor result = **dest;
  result.data[result.offset(*indices)] = *scalar;
  return interp.bind(op, op.getResult(), std::move(result));
}

/// tensor.extract_slice: r[i...] = t[offset + i * stride] over the sizes;
/// a rank-reducing slice drops unit dimensions, which keeps the row-major
/// data as it is.
static LogicalResult runExtractSlice(Interpreter &interp,
                                     tensor::ExtractSliceOp op) {
  FailureOr<TensorRef> source = interp.get(op, op.getSource());
  FailureOr<SmallVector<int64_t>> offsets =
      interp.getInts(op, op.getMixedOffsets());
  FailureOr<SmallVector<int64_t>> sizes =
      interp.getInts(op, op.getMixedSizes());
  FailureOr<SmallVector<int64_t>> strides =
      interp.getInts(op, op.getMixedStrides());
  if (failed(source) || failed(offsets) || failed(sizes) || failed(strides))
    return failure();
  FailureOr<std::vector<int64_t>> positions =
      slicePositions(op, (*source)->shape, *offsets, *sizes, *strides);
  if (failed(positions))
    return failure();
  llvm::SmallBitVector dropped = op.getDroppedDims();
  std::vector<int64_t> shape;
  for (size_t d = 0; d < sizes->size(); ++d)
    if (!dropped.test(d))
      shape.push_back((*sizes)[d]);
  Tensor result = makeTensor((*source)->kind, shape);
  for (size_t i = 0; i < positions->size(); ++i)
    result.data[i] = (*source)->data[(*positions)[i]];
  return interp.bind(op, op.getResult(), std::move(result));
}

/// tensor.insert_slice: a copy of dest with dest[offset + i * stride] =
/// source[i...] over the sizes (the source may be rank-reduced).
static LogicalResult runInsertSlice(Interpreter &interp,
                                    tensor::InsertSliceOp op) {
  FailureOr<TensorRef> source = interp.get(op, op.getSource());
  FailureOr<TensorRef> dest = interp.get(op, op.getDest());
  FailureOr<SmallVector<int64_t>> offsets =
      interp.getInts(op, op.getMixedOffsets());
  FailureOr<SmallVector<int64_t>> sizes =
      interp.getInts(op, op.getMixedSizes());
  FailureOr<SmallVector<int64_t>> strides =
      interp.getInts(op, op.getMixedStrides());
  if (failed(source) || failed(dest) || failed(offsets) || failed(sizes) ||
      failed(strides))
    return failure();
  FailureOr<std::vector<int64_t>> positions =
      slicePositions(op, (*dest)->shape, *offsets, *sizes, *strides);
  if (failed(positions))
    return failure();
  if (static_cast<int64_t>(positions->size()) != (*source)->numElements())
    return opError(op) << "inserts " << (*source)->numElements()
                       << " elements into a slice of " << positions->size();
  Tensor result = **dest;
  for (size_t i = 0; i < positions->size(); ++i)
    result.data[(*positions)[i]] = (*source)->data[i];
  return interp.bind(op, op.getResult(), std::move(result));
}

/// tensor.cast: the same tensor; bind checks that its sizes match the
/// static sizes of the new type.
static LogicalResult runCast(Interpreter &interp, tensor::CastOp op) {
  FailureOr<TensorRef> source = interp.get(op, op.getSource());
  if (failed(source))
    return failure();
  return interp.bind(op, op.getResult(), *source);
}

/// tensor.expand_shape: the same data with the output shape (each source
/// dimension split into its reassociation group).
static LogicalResult runExpandShape(Interpreter &interp,
                                    tensor::ExpandShapeOp op) {
  FailureOr<TensorRef> source = interp.get(op, op.getSrc());
  FailureOr<SmallVector<int64_t>> shape =
      interp.getInts(op, op.getMixedOutputShape());
  if (failed(source) || failed(shape))
    return failure();
  for (auto [d, group] : llvm::enumerate(op.getReassociationIndices())) {
    int64_t product = 1;
    for (int64_t r : group)
      product *= (*shape)[r];
    if (product != (*source)->shape[d])
      return opError(op) << "expands dimension " << d << " of size "
                         << (*source)->shape[d] << " into sizes of product "
                         << product;
  }
  Tensor result = **source;
  result.shape.assign(shape->begin(), shape->end());
  return interp.bind(op, op.getResult(), std::move(result));
}

/// tensor.collapse_shape: the same data; each result dimension is the
/// product of its reassociation group of source dimensions.
static LogicalResult runCollapseShape(Interpreter &interp,
                                      tensor::CollapseShapeOp op) {
  FailureOr<TensorRef> source = interp.get(op, op.getSrc());
  if (failed(source))
    return failure();
  std::vector<int64_t> shape;
  for (const ReassociationIndices &group : op.getReassociationIndices()) {
    int64_t product = 1;
    for (int64_t r : group)
      product *= (*source)->shape[r];
    shape.push_back(product);
  }
  Tensor result = **source;
  result.shape = shape;
  return interp.bind(op, op.getResult(), std::move(result));
}

/// tensor.concat: the operands laid end to end along `dim`.
static LogicalResult runConcat(Interpreter &interp, tensor::ConcatOp op) {
  FailureOr<std::vector<TensorRef>> inputs = interp.getOperands(op);
  if (failed(inputs))
    return failure();
  int64_t dim = static_cast<int64_t>(op.getDim());
  std::vector<int64_t> shape = (*inputs)[0]->shape;
  shape[dim] = 0;
  for (const TensorRef &t : *inputs) {
    for (size_t d = 0; d < shape.size(); ++d)
      if (static_cast<int64_t>(d) != dim && t->shape[d] != shape[d])
        return opError(op) << "concatenates tensors whose dimension " << d
                           << " differs";
    shape[dim] += t->shape[dim];
  }
  Tensor result = makeTensor((*inputs)[0]->kind, shape);
  int64_t start = 0;
  for (const TensorRef &t : *inputs) {
    // r[..., start + i, ...] = t[..., i, ...]
    (void)forEachIndex(t->shape, [&](ArrayRef<int64_t> index) {
      SmallVector<int64_t> at(index);
      at[dim] += start;
      result.data[result.offset(at)] = t->data[t->offset(index)];
      return success();
    });
    start += t->shape[dim];
  }
  return interp.bind(op, op.getResult(), std::move(result));
}

std::optional<LogicalResult> runTensorOp(Interpreter &interp, Operation *op) {
  if (auto o = dyn_cast<tensor::EmptyOp>(op))
    return runEmpty(interp, o);
  if (auto o = dyn_cast<tensor::SplatOp>(op))
    return runSplat(interp, o);
  if (auto o = dyn_cast<tensor::FromElementsOp>(op))
    return runFromElements(interp, o);
  if (auto o = dyn_cast<tensor::GenerateOp>(op))
    return runGenerate(interp, o);
  if (auto o = dyn_cast<tensor::DimOp>(op))
    return runDim(interp, o);
  if (auto o = dyn_cast<tensor::ExtractOp>(op))
    return runExtract(interp, o);
  if (auto o = dyn_cast<tensor::InsertOp>(op))
    return runInsert(interp, o);
  if (auto o = dyn_cast<tensor::ExtractSliceOp>(op))
    return runExtractSlice(interp, o);
  if (auto o = dyn_cast<tensor::InsertSliceOp>(op))
    return runInsertSlice(interp, o);
  if (auto o = dyn_cast<tensor::CastOp>(op))
    return runCast(interp, o);
  if (auto o = dyn_cast<tensor::ExpandShapeOp>(op))
    return runExpandShape(interp, o);
  if (auto o = dyn_cast<tensor::CollapseShapeOp>(op))
    return runCollapseShape(interp, o);
  if (auto o = dyn_cast<tensor::ConcatOp>(op))
    return runConcat(interp, o);
  return std::nullopt;
}

} // namespace interp
} // namespace attnc
