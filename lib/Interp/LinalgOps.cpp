//===- LinalgOps.cpp - The linalg dialect ---------------------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The linalg ops on tensors. fill, the matrix products with their default
/// indexing maps, transpose, softmax, reduce and map are written out as
/// loops. Every other structured op (linalg.generic, a matmul with
/// user-defined indexing_maps, an integer matmul, broadcast, ...) goes
/// through runStructured, which is the definition of a structured op:
/// iterate the loop space, read each operand at its indexing map's image of
/// the point, run the body, write the yielded values to the outputs at their
/// maps' images (so a reduction accumulates into the output).
///
//===----------------------------------------------------------------------===//

#include "InterpreterImpl.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/AffineMap.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace attnc {
namespace interp {

//===----------------------------------------------------------------------===//
// Affine maps
//===----------------------------------------------------------------------===//

/// The value of `expr` at the loop point `dims` (no symbols).
static FailureOr<int64_t> evalExpr(Operation *op, AffineExpr expr,
                                   ArrayRef<int64_t> dims) {
  if (auto c = dyn_cast<AffineConstantExpr>(expr))
    return c.getValue();
  if (auto d = dyn_cast<AffineDimExpr>(expr))
    return dims[d.getPosition()];
  auto bin = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!bin) {
    opError(op) << "has an indexing map with symbols";
    return failure();
  }
  FailureOr<int64_t> a = evalExpr(op, bin.getLHS(), dims);
  FailureOr<int64_t> b = evalExpr(op, bin.getRHS(), dims);
  if (failed(a) || failed(b))
    return failure();
  switch (expr.getKind()) {
  case AffineExprKind::Add:
    return *a + *b;
  case AffineExprKind::Mul:
    return *a * *b;
  default:
    break;
  }
  if (*b <= 0) {
    opError(op) << "has an indexing map that divides by " << *b;
    return failure();
  }
  int64_t floorDiv = *a / *b - ((*a % *b != 0 && *a < 0) ? 1 : 0);
  switch (expr.getKind()) {
  case AffineExprKind::FloorDiv: // floor(a / b)
    return floorDiv;
  case AffineExprKind::CeilDiv: // ceil(a / b)
    return floorDiv + ((*a % *b != 0) ? 1 : 0);
  case AffineExprKind::Mod: // a - b * floor(a / b), in [0, b)
    return *a - *b * floorDiv;
  default:
    opError(op) << "has an unknown affine expression";
    return failure();
  }
}

/// The row-major offset in `t` of `map` applied to `point`; an error at `op`
/// when it is out of bounds.
static FailureOr<int64_t> mapOffset(Operation *op, AffineMap map,
                                    ArrayRef<int64_t> point, const Tensor &t) {
  if (map.getNumResults() != t.shape.size()) {
    opError(op) << "has an indexing map of " << map.getNumResults()
                << " results for an operand of rank " << t.shape.size();
    return failure();
  }
  SmallVector<int64_t> index;
  for (auto [d, expr] : llvm::enumerate(map.getResults())) {
    FailureOr<int64_t> i = evalExpr(op, expr, point);
    if (failed(i))
      return failure();
    if (*i < 0 || *i >= t.shape[d]) {
      opError(op) << "indexing map reads index " << *i << " of dimension " << d
                  << " of size " << t.shape[d];
      return failure();
    }
    index.push_back(*i);
  }
  return t.offset(index);
}

//===----------------------------------------------------------------------===//
// The general structured op
//===----------------------------------------------------------------------===//

/// Any linalg structured op on tensors (see the file comment). The size of
/// loop d is the size of an operand dimension indexed by plain `d`.
static LogicalResult runStructured(Interpreter &interp, linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics())
    return opError(op) << "is not on tensors";
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  std::vector<TensorRef> inputs;
  for (Value v : op.getDpsInputs()) {
    FailureOr<TensorRef> t = interp.get(op, v);
    if (failed(t))
      return failure();
    inputs.push_back(*t);
  }
  std::vector<Tensor> outs;
  for (Value v : op.getDpsInits()) {
    FailureOr<TensorRef> t = interp.get(op, v);
    if (failed(t))
      return failure();
    outs.push_back(**t);
  }
  if (maps.size() != inputs.size() + outs.size())
    return opError(op) << "has " << maps.size() << " indexing maps for "
                       << inputs.size() + outs.size() << " operands";
  auto operandShape = [&](size_t k) -> ArrayRef<int64_t> {
    return k < inputs.size() ? ArrayRef<int64_t>(inputs[k]->shape)
                             : ArrayRef<int64_t>(outs[k - inputs.size()].shape);
  };
  std::vector<int64_t> ranges(op.getNumLoops(), -1);
  for (size_t k = 0; k < maps.size(); ++k) {
    ArrayRef<int64_t> shape = operandShape(k);
    if (maps[k].getNumResults() != shape.size())
      return opError(op) << "has an indexing map of " << maps[k].getNumResults()
                         << " results for an operand of rank " << shape.size();
    for (auto [r, expr] : llvm::enumerate(maps[k].getResults())) {
      auto dim = dyn_cast<AffineDimExpr>(expr);
      if (!dim)
        continue;
      int64_t &range = ranges[dim.getPosition()];
      if (range != -1 && range != shape[r])
        return opError(op) << "has loop d" << dim.getPosition()
                           << " of two sizes, " << range << " and " << shape[r];
      range = shape[r];
    }
  }
  for (auto [d, range] : llvm::enumerate(ranges))
    if (range == -1)
      return opError(op) << "cannot infer the size of loop d" << d;

  Block &body = op->getRegion(0).front();
  if (failed(forEachIndex(ranges, [&](ArrayRef<int64_t> point) {
        std::vector<TensorRef> args;
        SmallVector<int64_t> outOffsets;
        for (size_t k = 0; k < inputs.size(); ++k) {
          FailureOr<int64_t> at = mapOffset(op, maps[k], point, *inputs[k]);
          if (failed(at))
            return failure();
          args.push_back(
              share(makeScalar(inputs[k]->kind, inputs[k]->data[*at])));
        }
        for (size_t k = 0; k < outs.size(); ++k) {
          FailureOr<int64_t> at =
              mapOffset(op, maps[inputs.size() + k], point, outs[k]);
          if (failed(at))
            return failure();
          outOffsets.push_back(*at);
          args.push_back(share(makeScalar(outs[k].kind, outs[k].data[*at])));
        }
        interp.linalgPoints.emplace_back(point.begin(), point.end());
        FailureOr<std::vector<TensorRef>> yielded =
            interp.runBlock(body, op, args);
        interp.linalgPoints.pop_back();
        if (failed(yielded))
          return failure();
        if (yielded->size() != outs.size())
          return LogicalResult(opError(op)
                               << "yields " << yielded->size() << " values for "
                               << outs.size() << " outputs");
        for (size_t k = 0; k < outs.size(); ++k)
          outs[k].data[outOffsets[k]] = (*yielded)[k]->data[0];
        return success();
      })))
    return failure();
  return interp.bindResults(op, std::move(outs));
}

//===----------------------------------------------------------------------===//
// Named ops written out
//===----------------------------------------------------------------------===//

/// linalg.fill: out[i...] = value.
static LogicalResult runFill(Interpreter &interp, linalg::FillOp op) {
  FailureOr<double> value = interp.getScalar(op, op.getInputs()[0]);
  FailureOr<TensorRef> init = interp.get(op, op.getOutputs()[0]);
  if (failed(value) || failed(init))
    return failure();
  Tensor result = **init;
  for (double &x : result.data)
    x = *value;
  return interp.bind(op, op->getResult(0), std::move(result));
}

/// The float matrix products with their default indexing maps, as loops
/// that add to the output in the order k = 0, 1, ...
static std::optional<LogicalResult> runProduct(Interpreter &interp,
                                               linalg::LinalgOp op) {
  if (!isa<linalg::MatmulOp, linalg::BatchMatmulOp, linalg::MatvecOp,
           linalg::VecmatOp, linalg::DotOp>(op))
    return std::nullopt;
  if (op.hasUserDefinedMaps() ||
      !isa<FloatType>(getElementTypeOrSelf(op->getResult(0).getType())))
    return std::nullopt;
  FailureOr<TensorRef> a = interp.get(op, op.getDpsInputs()[0]);
  FailureOr<TensorRef> b = interp.get(op, op.getDpsInputs()[1]);
  FailureOr<TensorRef> c = interp.get(op, op.getDpsInits()[0]);
  if (failed(a) || failed(b) || failed(c))
    return failure();
  const Tensor &A = **a, &B = **b;
  Tensor C = **c;
  auto mismatch = [&]() {
    return LogicalResult(opError(op) << "has operands of mismatched sizes");
  };
  if (isa<linalg::MatmulOp>(op)) {
    // C[i, j] += sum_k A[i, k] * B[k, j]
    int64_t m = A.shape[0], kk = A.shape[1], n = B.shape[1];
    if (B.shape[0] != kk || C.shape[0] != m || C.shape[1] != n)
      return mismatch();
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        for (int64_t k = 0; k < kk; ++k)
          C.data[i * n + j] += A.data[i * kk + k] * B.data[k * n + j];
  } else if (isa<linalg::BatchMatmulOp>(op)) {
    // C[b, i, j] += sum_k A[b, i, k] * B[b, k, j]
    int64_t nb = A.shape[0], m = A.shape[1], kk = A.shape[2], n = B.shape[2];
    if (B.shape[0] != nb || B.shape[1] != kk || C.shape[0] != nb ||
        C.shape[1] != m || C.shape[2] != n)
      return mismatch();
    for (int64_t bi = 0; bi < nb; ++bi)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j)
          for (int64_t k = 0; k < kk; ++k)
            C.data[(bi * m + i) * n + j] +=
                A.data[(bi * m + i) * kk + k] * B.data[(bi * kk + k) * n + j];
  } else if (isa<linalg::MatvecOp>(op)) {
    // y[i] += sum_j A[i, j] * x[j]
    int64_t m = A.shape[0], n = A.shape[1];
    if (B.shape[0] != n || C.shape[0] != m)
      return mismatch();
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        C.data[i] += A.data[i * n + j] * B.data[j];
  } else if (isa<linalg::VecmatOp>(op)) {
    // y[j] += sum_i x[i] * A[i, j]
    int64_t m = B.shape[0], n = B.shape[1];
    if (A.shape[0] != m || C.shape[0] != n)
      return mismatch();
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < m; ++i)
        C.data[j] += A.data[i] * B.data[i * n + j];
  } else {
    // r += sum_i a[i] * b[i]
    if (A.shape[0] != B.shape[0])
      return mismatch();
    for (int64_t i = 0; i < A.shape[0]; ++i)
      C.data[0] += A.data[i] * B.data[i];
  }
  return interp.bind(op, op->getResult(0), std::move(C));
}

/// linalg.transpose: out[i_0, ..., i_n] = in[j] with j[perm[d]] = i_d.
static LogicalResult runTranspose(Interpreter &interp, linalg::TransposeOp op) {
  FailureOr<TensorRef> input = interp.get(op, op.getInput());
  FailureOr<TensorRef> init = interp.get(op, op.getInit());
  if (failed(input) || failed(init))
    return failure();
  ArrayRef<int64_t> perm = op.getPermutation();
  Tensor result = **init;
  for (size_t d = 0; d < perm.size(); ++d)
    if (result.shape[d] != (*input)->shape[perm[d]])
      return opError(op) << "has an output of mismatched size in dimension "
                         << d;
  SmallVector<int64_t> from(perm.size());
  (void)forEachIndex(result.shape, [&](ArrayRef<int64_t> index) {
    for (size_t d = 0; d < perm.size(); ++d)
      from[perm[d]] = index[d];
    result.data[result.offset(index)] = (*input)->data[(*input)->offset(from)];
    return success();
  });
  return interp.bind(op, op->getResult(0), std::move(result));
}

/// linalg.softmax: out = exp(x - max_d x) / sum_d exp(x - max_d x) along
/// `dimension` d.
static LogicalResult runSoftmax(Interpreter &interp, linalg::SoftmaxOp op) {
  FailureOr<TensorRef> input = interp.get(op, op.getInput());
  if (failed(input))
    return failure();
  const Tensor &x = **input;
  int64_t dim = static_cast<int64_t>(op.getDimension());
  if (dim < 0 || dim >= static_cast<int64_t>(x.shape.size()))
    return opError(op) << "has dimension " << dim << " out of bounds";
  Tensor result = makeTensor(ElemKind::Float, x.shape);
  // Every "row": the indices with the softmax dimension held at 0.
  std::vector<int64_t> rows = x.shape;
  rows[dim] = 1;
  int64_t n = x.shape[dim];
  (void)forEachIndex(rows, [&](ArrayRef<int64_t> row) {
    SmallVector<int64_t> at(row);
    auto element = [&](int64_t j) {
      at[dim] = j;
      return x.offset(at);
    };
    double max = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < n; ++j)
      max = std::max(max, x.data[element(j)]);
    double sum = 0;
    for (int64_t j = 0; j < n; ++j)
      sum += std::exp(x.data[element(j)] - max);
    for (int64_t j = 0; j < n; ++j)
      result.data[element(j)] = std::exp(x.data[element(j)] - max) / sum;
    return success();
  });
  return interp.bind(op, op->getResult(0), std::move(result));
}

/// linalg.reduce: out[i without dims] = body(in[i], out[...]) over every
/// index i of the inputs in row-major order, starting from the inits.
static LogicalResult runReduce(Interpreter &interp, linalg::ReduceOp op) {
  std::vector<TensorRef> inputs;
  for (Value v : op.getInputs()) {
    FailureOr<TensorRef> t = interp.get(op, v);
    if (failed(t))
      return failure();
    inputs.push_back(*t);
  }
  std::vector<Tensor> outs;
  for (Value v : op.getInits()) {
    FailureOr<TensorRef> t = interp.get(op, v);
    if (failed(t))
      return failure();
    outs.push_back(**t);
  }
  if (inputs.empty() || outs.size() != inputs.size())
    return opError(op) << "expects as many inits as inputs, at least one";
  ArrayRef<int64_t> dims = op.getDimensions();
  std::vector<int64_t> keptShape;
  for (size_t d = 0; d < inputs[0]->shape.size(); ++d)
    if (!llvm::is_contained(dims, static_cast<int64_t>(d)))
      keptShape.push_back(inputs[0]->shape[d]);
  for (const TensorRef &in : inputs)
    if (in->shape != inputs[0]->shape)
      return opError(op) << "has inputs of different shapes";
  for (const Tensor &out : outs)
    if (out.shape != keptShape)
      return opError(op) << "has an init whose shape is not the input's "
                            "without the reduced dimensions";
  if (failed(forEachIndex(inputs[0]->shape, [&](ArrayRef<int64_t> index) {
        SmallVector<int64_t> kept;
        for (size_t d = 0; d < index.size(); ++d)
          if (!llvm::is_contained(dims, static_cast<int64_t>(d)))
            kept.push_back(index[d]);
        std::vector<TensorRef> args;
        for (const TensorRef &in : inputs)
          args.push_back(
              share(makeScalar(in->kind, in->data[in->offset(index)])));
        for (const Tensor &out : outs)
          args.push_back(
              share(makeScalar(out.kind, out.data[out.offset(kept)])));
        FailureOr<std::vector<TensorRef>> yielded =
            interp.runRegion(op.getCombiner(), op, args);
        if (failed(yielded))
          return failure();
        for (size_t k = 0; k < outs.size(); ++k)
          outs[k].data[outs[k].offset(kept)] = (*yielded)[k]->data[0];
        return success();
      })))
    return failure();
  return interp.bindResults(op, std::move(outs));
}

/// linalg.map: out[i...] = body(in_1[i...], ..., in_n[i...]).
static LogicalResult runMap(Interpreter &interp, linalg::MapOp op) {
  std::vector<TensorRef> inputs;
  for (Value v : op.getInputs()) {
    FailureOr<TensorRef> t = interp.get(op, v);
    if (failed(t))
      return failure();
    inputs.push_back(*t);
  }
  FailureOr<TensorRef> init = interp.get(op, op.getInit());
  if (failed(init))
    return failure();
  Tensor result = **init;
  for (const TensorRef &in : inputs)
    if (in->shape != result.shape)
      return opError(op) << "has an input whose shape is not the init's";
  Block &body = op.getMapper().front();
  if (failed(forEachIndex(result.shape, [&](ArrayRef<int64_t> index) {
        std::vector<TensorRef> args;
        int64_t at = result.offset(index);
        for (const TensorRef &in : inputs)
          args.push_back(share(makeScalar(in->kind, in->data[at])));
        // Newer linalg.map bodies also take the init element.
        if (body.getNumArguments() == inputs.size() + 1)
          args.push_back(share(makeScalar(result.kind, result.data[at])));
        interp.linalgPoints.emplace_back(index.begin(), index.end());
        FailureOr<std::vector<TensorRef>> yielded =
            interp.runBlock(body, op, args);
        interp.linalgPoints.pop_back();
        if (failed(yielded))
          return failure();
        result.data[at] = (*yielded)[0]->data[0];
        return success();
      })))
    return failure();
  return interp.bind(op, op->getResult(0), std::move(result));
}

/// linalg.index: the current iteration index along `dim` of the innermost
/// structured op being interpreted.
static LogicalResult runIndex(Interpreter &interp, linalg::IndexOp op) {
  if (interp.linalgPoints.empty() ||
      op.getDim() >= interp.linalgPoints.back().size())
    return opError(op) << "is not inside a loop of that dimension";
  return interp.bind(
      op, op.getResult(),
      makeScalar(ElemKind::Int,
                 double(interp.linalgPoints.back()[op.getDim()])));
}

std::optional<LogicalResult> runLinalgOp(Interpreter &interp, Operation *op) {
  if (auto o = dyn_cast<linalg::IndexOp>(op))
    return runIndex(interp, o);
  if (auto o = dyn_cast<linalg::SoftmaxOp>(op))
    return runSoftmax(interp, o);
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp)
    return std::nullopt;
  if (!linalgOp.hasPureTensorSemantics())
    return LogicalResult(opError(op) << "is not on tensors");
  if (auto o = dyn_cast<linalg::FillOp>(op))
    return runFill(interp, o);
  if (std::optional<LogicalResult> result = runProduct(interp, linalgOp))
    return result;
  if (auto o = dyn_cast<linalg::TransposeOp>(op))
    return runTranspose(interp, o);
  if (auto o = dyn_cast<linalg::ReduceOp>(op))
    return runReduce(interp, o);
  if (auto o = dyn_cast<linalg::MapOp>(op))
    return runMap(interp, o);
  return runStructured(interp, linalgOp);
}

} // namespace interp
} // namespace attnc
