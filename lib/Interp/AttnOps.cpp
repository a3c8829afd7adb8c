//===- AttnOps.cpp - The attn dialect -------------------------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The attn ops, each as the loops of its description in AttnOps.td:
/// attention (score and mask regions, the four normalizers, GQA, block
/// masks, log-sum-exp), scan (per batch index, a sequential loop over time
/// with chunk-start states), the selections (topk, topp, argmax), gather,
/// pool and conv1d. attn.grad is an error: --attn-differentiate expands it
/// before interpretation.
///
//===----------------------------------------------------------------------===//

#include "InterpreterImpl.h"

#include "dialects/Attn/AttnOps.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::attnc;

namespace attnc {
namespace interp {

static TensorRef indexScalar(int64_t i) {
  return share(makeScalar(ElemKind::Int, double(i)));
}

/// The shape without its last dimension, and the last dimension.
static std::pair<std::vector<int64_t>, int64_t> splitRows(const Tensor &t) {
  std::vector<int64_t> rows(t.shape.begin(), t.shape.end() - 1);
  return {rows, t.shape.back()};
}

//===----------------------------------------------------------------------===//
// attn.attention
//===----------------------------------------------------------------------===//

/// attn.attention, for every (b, h, i), with Gk_p = H / Hk_p, Gv = H / Hv:
///   visible_j = mask(b, h, i, j) and block_mask[b, h, i / BQ, j / BK]
///   s_j = score(q_1[b, h, i] . k_1[b, h / Gk_1, j], ..., b, h, i, j)
///   w_j = softmax: exp(s_j - max s) / sum_j' exp(s_j' - max s)
///         sigmoid: 1 / (1 + exp(-(s_j + bias)))
///         sum:     s_j / sum_j' s_j'  (0 when the sum is 0)
///         none:    s_j
///   o[b, h, i] = sum_{visible j} w_j * v[b, h / Gv, j]  (0 for no visible j)
///   lse[b, h, i] = max s + log sum_j exp(s_j - max s) (-inf for none)
static LogicalResult runAttention(Interpreter &interp, attn::AttentionOp op) {
  unsigned numDots = op.getNumDots();
  std::vector<TensorRef> queries, keys;
  for (unsigned p = 0; p < numDots; ++p) {
    FailureOr<TensorRef> q = interp.get(op, op.getQueries()[p]);
    FailureOr<TensorRef> k = interp.get(op, op.getKeys()[p]);
    if (failed(q) || failed(k))
      return failure();
    queries.push_back(*q);
    keys.push_back(*k);
  }
  FailureOr<TensorRef> vRef = interp.get(op, op.getValue());
  FailureOr<TensorRef> rowRef = interp.get(op, op.getRowShapeSource());
  if (failed(vRef) || failed(rowRef))
    return failure();
  const Tensor &v = **vRef, &row = **rowRef;
  if (row.shape.size() != 4 || v.shape.size() != 4)
    return opError(op) << "expects rank-4 queries, keys and value";
  int64_t nb = row.shape[0], hq = row.shape[1], n = row.shape[2];
  int64_t hv = v.shape[1], m = v.shape[2], dv = v.shape[3];
  if (v.shape[0] != nb)
    return opError(op) << "has query and value of mismatched batch sizes";
  if (hv <= 0 || hq % hv != 0)
    return opError(op) << "has " << hq << " query heads, not a multiple of the "
                       << hv << " value heads";
  std::vector<int64_t> keyGroups;
  for (unsigned p = 0; p < numDots; ++p) {
    const Tensor &q = *queries[p], &k = *keys[p];
    if (q.shape.size() != 4 || k.shape.size() != 4)
      return opError(op) << "expects rank-4 queries, keys and value";
    int64_t hk = k.shape[1];
    if (q.shape[0] != nb || q.shape[1] != hq || q.shape[2] != n ||
        k.shape[0] != nb || k.shape[2] != m || k.shape[3] != q.shape[3])
      return opError(op) << "has queries, keys and value of mismatched sizes";
    if (hk <= 0 || hq % hk != 0)
      return opError(op) << "has " << hq << " query heads, not a multiple of "
                         << "the " << hk << " key heads";
    keyGroups.push_back(hq / hk);
  }
  int64_t valueGroup = hq / hv;

  double bias = 0;
  if (Value biasValue = op.getBias()) {
    FailureOr<double> b = interp.getScalar(op, biasValue);
    if (failed(b))
      return failure();
    bias = *b;
  }
  TensorRef blockMask;
  int64_t bq = 1, bk = 1;
  if (Value blockMaskValue = op.getBlockMask()) {
    FailureOr<TensorRef> bm = interp.get(op, blockMaskValue);
    if (failed(bm))
      return failure();
    blockMask = *bm;
    std::optional<ArrayRef<int64_t>> sizes = op.getBlockSizes();
    if (!sizes || sizes->size() != 2 || (*sizes)[0] <= 0 || (*sizes)[1] <= 0)
      return opError(op) << "has a block_mask without two positive "
                            "block_sizes";
    bq = (*sizes)[0];
    bk = (*sizes)[1];
    if (blockMask->shape.size() != 4 || blockMask->shape[0] != nb ||
        blockMask->shape[1] != hq)
      return opError(op) << "has a block_mask whose shape is not [B, Hq, "
                            "NBq, NBk]";
  }
  attn::Normalizer normalizer = op.getNormalizer();
  bool withLse = op.getWithLse();
  if (withLse && normalizer != attn::Normalizer::Softmax)
    return opError(op) << "has with_lse without the softmax normalizer";

  Tensor out = makeTensor(ElemKind::Float, {nb, hq, n, dv});
  Tensor lse = makeTensor(ElemKind::Float, {nb, hq, n});
  std::vector<double> scores(m);
  std::vector<bool> visible(m);
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t h = 0; h < hq; ++h) {
      for (int64_t i = 0; i < n; ++i) {
        // The visible keys and their scores.
        for (int64_t j = 0; j < m; ++j) {
          std::vector<TensorRef> indices = {indexScalar(b), indexScalar(h),
                                            indexScalar(i), indexScalar(j)};
          bool isVisible = true;
          if (!op.getMask().empty()) {
            FailureOr<std::vector<TensorRef>> yielded =
                interp.runRegion(op.getMask(), op, indices);
            if (failed(yielded))
              return failure();
            isVisible = (*yielded)[0]->data[0] != 0;
          }
          if (isVisible && blockMask) {
            int64_t bi = i / bq, bj = j / bk;
            if (bi >= blockMask->shape[2] || bj >= blockMask->shape[3])
              return opError(op) << "reads block_mask block (" << bi << ", "
                                 << bj << ") out of bounds";
            isVisible = blockMask->data[blockMask->offset({b, h, bi, bj})] != 0;
          }
          visible[j] = isVisible;
          if (!isVisible)
            continue;
          std::vector<TensorRef> args;
          for (unsigned p = 0; p < numDots; ++p) {
            const Tensor &q = *queries[p], &k = *keys[p];
            int64_t hk = h / keyGroups[p];
            double dot = 0;
            for (int64_t c = 0; c < q.shape[3]; ++c)
              dot += q.data[q.offset({b, h, i, c})] *
                     k.data[k.offset({b, hk, j, c})];
            args.push_back(share(makeScalar(ElemKind::Float, dot)));
          }
          if (op.getScore().empty()) {
            scores[j] = args.front()->data[0];
            continue;
          }
          args.insert(args.end(), indices.begin(), indices.end());
          FailureOr<std::vector<TensorRef>> yielded =
              interp.runRegion(op.getScore(), op, args);
          if (failed(yielded))
            return failure();
          scores[j] = (*yielded)[0]->data[0];
        }
        // The weights of the visible keys.
        std::vector<double> weights(m, 0.0);
        double max = -std::numeric_limits<double>::infinity();
        double total = 0;
        bool any = false;
        for (int64_t j = 0; j < m; ++j) {
          if (!visible[j])
            continue;
          any = true;
          max = std::max(max, scores[j]);
          total += scores[j];
        }
        double expSum = 0;
        if (normalizer == attn::Normalizer::Softmax && any)
          for (int64_t j = 0; j < m; ++j)
            if (visible[j])
              expSum += std::exp(scores[j] - max);
        for (int64_t j = 0; j < m; ++j) {
          if (!visible[j])
            continue;
          switch (normalizer) {
          case attn::Normalizer::Softmax:
            weights[j] = std::exp(scores[j] - max) / expSum;
            break;
          case attn::Normalizer::Sigmoid:
            weights[j] = 1.0 / (1.0 + std::exp(-(scores[j] + bias)));
            break;
          case attn::Normalizer::Sum:
            // Scores summing to 0 (no visible key) give 0, as compiled.
            weights[j] = total == 0 ? 0 : scores[j] / total;
            break;
          case attn::Normalizer::None:
            weights[j] = scores[j];
            break;
          }
        }
        lse.data[lse.offset({b, h, i})] =
            any ? max + std::log(expSum)
                : -std::numeric_limits<double>::infinity();
        // The weighted sum of the values.
        int64_t hvIndex = h / valueGroup;
        for (int64_t c = 0; c < dv; ++c) {
          double acc = 0;
          for (int64_t j = 0; j < m; ++j)
            if (visible[j])
              acc += weights[j] * v.data[v.offset({b, hvIndex, j, c})];
          out.data[out.offset({b, h, i, c})] = acc;
        }
      }
    }
  }
  std::vector<TensorRef> results = {share(std::move(out))};
  if (op->getNumResults() == 2)
    results.push_back(share(std::move(lse)));
  return interp.bindResults(op, results);
}

//===----------------------------------------------------------------------===//
// attn.scan
//===----------------------------------------------------------------------===//

/// The trailing dimensions of `type` after `skip` leading ones, dynamic
/// ones as 0 (the shape of an emit or state that was never computed).
static std::vector<int64_t> trailingShape(Type type, unsigned skip) {
  std::vector<int64_t> shape;
  ArrayRef<int64_t> all = cast<RankedTensorType>(type).getShape();
  for (size_t d = skip; d < all.size(); ++d)
    shape.push_back(ShapedType::isDynamic(all[d]) ? 0 : all[d]);
  return shape;
}

/// attn.scan, for every batch index (b...) in row-major order:
///   S_0 = init(b...);  C_t = S_{C * floor(t / C)}   (the chunk-start states)
///   (e_t, S_{t+1}) = body(b..., t, S_t..., [C_t... when C > 1])
///   output[b..., t] = e_t;  finals[b...] = S_length
/// Emits and states are appended in that order, which is the row-major
/// layout of [batch..., length, emit...] and [batch..., state...].
static LogicalResult runScan(Interpreter &interp, attn::ScanOp op) {
  SmallVector<int64_t> batch;
  for (Value size : op.getBatchSizes()) {
    FailureOr<int64_t> s = interp.getInt(op, size);
    if (failed(s))
      return failure();
    if (*s < 0)
      return opError(op) << "has a negative batch size " << *s;
    batch.push_back(*s);
  }
  FailureOr<int64_t> length = interp.getInt(op, op.getLength());
  if (failed(length))
    return failure();
  if (*length < 0)
    return opError(op) << "has a negative length " << *length;
  int64_t chunk = static_cast<int64_t>(op.getChunk());
  unsigned numStates = op.getNumStates();
  unsigned numBatch = batch.size();

  std::optional<std::vector<int64_t>> emitShape;
  std::vector<std::optional<std::vector<int64_t>>> stateShapes(numStates);
  std::vector<double> output;
  std::vector<std::vector<double>> finals(numStates);

  auto checkShape = [&](std::optional<std::vector<int64_t>> &known,
                        const Tensor &t, StringRef what) {
    if (!known)
      known = t.shape;
    else if (*known != t.shape)
      return LogicalResult(opError(op)
                           << "computed " << what << " of different shapes");
    return success();
  };

  if (failed(forEachIndex(batch, [&](ArrayRef<int64_t> index) {
        std::vector<TensorRef> batchArgs;
        for (int64_t b : index)
          batchArgs.push_back(indexScalar(b));
        FailureOr<std::vector<TensorRef>> init =
            interp.runRegion(op.getInit(), op, batchArgs);
        if (failed(init))
          return failure();
        if (init->size() != numStates)
          return LogicalResult(opError(op) << "init yields " << init->size()
                                           << " states, not " << numStates);
        std::vector<TensorRef> states = std::move(*init);
        std::vector<TensorRef> chunkStart = states;
        for (int64_t t = 0; t < *length; ++t) {
          if (chunk > 1 && t % chunk == 0)
            chunkStart = states;
          std::vector<TensorRef> args = batchArgs;
          args.push_back(indexScalar(t));
          args.insert(args.end(), states.begin(), states.end());
          if (chunk > 1)
            args.insert(args.end(), chunkStart.begin(), chunkStart.end());
          FailureOr<std::vector<TensorRef>> yielded =
              interp.runRegion(op.getBody(), op, args);
          if (failed(yielded))
            return failure();
          if (yielded->size() != numStates + 1)
            return LogicalResult(opError(op)
                                 << "body yields " << yielded->size() - 1
                                 << " states, not " << numStates);
          const Tensor &emit = *(*yielded)[0];
          if (failed(checkShape(emitShape, emit, "emits")))
            return failure();
          output.insert(output.end(), emit.data.begin(), emit.data.end());
          states.assign(yielded->begin() + 1, yielded->end());
        }
        for (unsigned s = 0; s < numStates; ++s) {
          if (failed(checkShape(stateShapes[s], *states[s], "states")))
            return failure();
          finals[s].insert(finals[s].end(), states[s]->data.begin(),
                           states[s]->data.end());
        }
        return success();
      })))
    return failure();

  std::vector<TensorRef> results;
  Tensor out;
  out.shape.assign(batch.begin(), batch.end());
  out.shape.push_back(*length);
  std::vector<int64_t> emit =
      emitShape ? *emitShape
                : trailingShape(op.getOutput().getType(), numBatch + 1);
  out.shape.insert(out.shape.end(), emit.begin(), emit.end());
  out.data = std::move(output);
  results.push_back(share(std::move(out)));
  for (unsigned s = 0; s < numStates; ++s) {
    Tensor fin;
    fin.shape.assign(batch.begin(), batch.end());
    std::vector<int64_t> state =
        stateShapes[s] ? *stateShapes[s]
                       : trailingShape(op.getFinals()[s].getType(), numBatch);
    fin.shape.insert(fin.shape.end(), state.begin(), state.end());
    fin.data = std::move(finals[s]);
    results.push_back(share(std::move(fin)));
  }
  return interp.bindResults(op, results);
}

//===----------------------------------------------------------------------===//
// Selections
//===----------------------------------------------------------------------===//

/// The positions of `row` (C values from `values[start]`) from the largest
/// value down, ties to the lower index; NaN ranks below every number.
static std::vector<int64_t> rankDescending(const std::vector<double> &values,
                                           int64_t start, int64_t c) {
  std::vector<int64_t> order;
  std::vector<bool> taken(c, false);
  for (int64_t r = 0; r < c; ++r) {
    int64_t best = -1;
    for (int64_t j = 0; j < c; ++j) {
      if (taken[j])
        continue;
      // Strictly greater only, so the lower index wins ties.
      if (best == -1 || values[start + j] > values[start + best] ||
          (std::isnan(values[start + best]) && !std::isnan(values[start + j])))
        best = j;
    }
    taken[best] = true;
    order.push_back(best);
  }
  return order;
}

/// attn.topk: r[..., 0..k) = the indices of the k largest x[..., :], in
/// decreasing order of value, ties to the lower index.
static LogicalResult runTopK(Interpreter &interp, attn::TopKOp op) {
  FailureOr<TensorRef> input = interp.get(op, op.getInput());
  if (failed(input))
    return failure();
  if ((*input)->shape.empty())
    return opError(op) << "expects an input of rank at least 1";
  auto [rows, c] = splitRows(**input);
  int64_t k = static_cast<int64_t>(op.getK());
  if (k > c)
    return opError(op) << "selects k = " << k << " of " << c << " values";
  std::vector<int64_t> shape = rows;
  shape.push_back(k);
  Tensor result = makeTensor(ElemKind::Int, shape);
  int64_t numRows = result.numElements() / std::max<int64_t>(k, 1);
  for (int64_t r = 0; r < numRows; ++r) {
    std::vector<int64_t> order = rankDescending((*input)->data, r * c, c);
    for (int64_t i = 0; i < k; ++i)
      result.data[r * k + i] = double(order[i]);
  }
  return interp.bind(op, op.getResult(), std::move(result));
}

/// attn.topp: per row, take entries largest first (ties to the lower index)
/// until their sum reaches `mass`; those are selected (all of them when the
/// row total is below `mass`, none when mass <= 0).
static LogicalResult runTopP(Interpreter &interp, attn::TopPOp op) {
  FailureOr<TensorRef> input = interp.get(op, op.getInput());
  FailureOr<double> mass = interp.getScalar(op, op.getMass());
  if (failed(input) || failed(mass))
    return failure();
  if ((*input)->shape.empty())
    return opError(op) << "expects an input of rank at least 1";
  auto [rows, c] = splitRows(**input);
  Tensor result = makeTensor(ElemKind::Bool, (*input)->shape);
  int64_t numRows = c == 0 ? 0 : result.numElements() / c;
  for (int64_t r = 0; r < numRows; ++r) {
    double sum = 0;
    for (int64_t j : rankDescending((*input)->data, r * c, c)) {
      if (sum >= *mass)
        break;
      result.data[r * c + j] = 1;
      sum += (*input)->data[r * c + j];
    }
  }
  return interp.bind(op, op.getResult(), std::move(result));
}

/// attn.argmax: r[...] = the index of the largest x[..., :], ties to the
/// lowest.
static LogicalResult runArgMax(Interpreter &interp, attn::ArgMaxOp op) {
  FailureOr<TensorRef> input = interp.get(op, op.getInput());
  if (failed(input))
    return failure();
  if ((*input)->shape.empty())
    return opError(op) << "expects an input of rank at least 1";
  auto [rows, c] = splitRows(**input);
  if (c == 0)
    return opError(op) << "takes the argmax of an empty row";
  Tensor result = makeTensor(ElemKind::Int, rows);
  for (int64_t r = 0; r < result.numElements(); ++r)
    result.data[r] = double(rankDescending((*input)->data, r * c, c)[0]);
  return interp.bind(op, op.getResult(), std::move(result));
}

//===----------------------------------------------------------------------===//
// gather, pool, conv1d
//===----------------------------------------------------------------------===//

/// attn.gather: r[k..., r...] = source[indices[k...], r...].
static LogicalResult runGather(Interpreter &interp, attn::GatherOp op) {
  FailureOr<TensorRef> source = interp.get(op, op.getSource());
  FailureOr<TensorRef> indices = interp.get(op, op.getIndices());
  if (failed(source) || failed(indices))
    return failure();
  const Tensor &src = **source;
  if (src.shape.empty())
    return opError(op) << "gathers from a scalar";
  int64_t numRows = src.shape[0];
  int64_t rowSize = numRows == 0 ? 0 : src.numElements() / numRows;
  std::vector<int64_t> shape = (*indices)->shape;
  shape.insert(shape.end(), src.shape.begin() + 1, src.shape.end());
  Tensor result = makeTensor(src.kind, shape);
  for (int64_t k = 0; k < (*indices)->numElements(); ++k) {
    double row = (*indices)->data[k];
    if (row < 0 || row >= numRows)
      return mlir::emitError(op.getLoc())
             << "'gather' reads a row outside its source: index "
             << static_cast<int64_t>(row) << " of " << numRows << " rows";
    for (int64_t e = 0; e < rowSize; ++e)
      result.data[k * rowSize + e] =
          src.data[static_cast<int64_t>(row) * rowSize + e];
  }
  return interp.bind(op, op.getResult(), std::move(result));
}

/// attn.pool: r[I, r...] = mean_{i < bs} x[I * bs + i, r...].
static LogicalResult runPool(Interpreter &interp, attn::PoolOp op) {
  FailureOr<TensorRef> input = interp.get(op, op.getInput());
  if (failed(input))
    return failure();
  const Tensor &x = **input;
  int64_t bs = static_cast<int64_t>(op.getBlockSize());
  if (x.shape.empty() || x.shape[0] % bs != 0)
    return mlir::emitError(op.getLoc())
           << "'pool' needs a first dimension that is a multiple of " << bs
           << (x.shape.empty() ? std::string()
                               : ", not " + std::to_string(x.shape[0]));
  int64_t rowSize = x.shape[0] == 0 ? 0 : x.numElements() / x.shape[0];
  std::vector<int64_t> shape = x.shape;
  shape[0] /= bs;
  Tensor result = makeTensor(ElemKind::Float, shape);
  for (int64_t blk = 0; blk < shape[0]; ++blk)
    for (int64_t e = 0; e < rowSize; ++e) {
      double sum = 0;
      for (int64_t i = 0; i < bs; ++i)
        sum += x.data[(blk * bs + i) * rowSize + e];
      result.data[blk * rowSize + e] = sum / double(bs);
    }
  return interp.bind(op, op.getResult(), std::move(result));
}

/// attn.conv1d: r[n, c] = sum_{k < K} w[k, c] * x[n - K + 1 + k, c], where
/// a negative row reads 0.
static LogicalResult runConv1D(Interpreter &interp, attn::Conv1DOp op) {
  FailureOr<TensorRef> input = interp.get(op, op.getInput());
  FailureOr<TensorRef> filter = interp.get(op, op.getFilter());
  if (failed(input) || failed(filter))
    return failure();
  const Tensor &x = **input, &w = **filter;
  if (x.shape.size() != 2 || w.shape.size() != 2 || x.shape[1] != w.shape[1])
    return opError(op) << "expects input [N, C] and filter [K, C]";
  int64_t n = x.shape[0], c = x.shape[1], kk = w.shape[0];
  Tensor result = makeTensor(ElemKind::Float, x.shape);
  for (int64_t row = 0; row < n; ++row)
    for (int64_t ch = 0; ch < c; ++ch) {
      double sum = 0;
      for (int64_t k = 0; k < kk; ++k) {
        int64_t from = row - kk + 1 + k;
        if (from >= 0)
          sum += w.data[k * c + ch] * x.data[from * c + ch];
      }
      result.data[row * c + ch] = sum;
    }
  return interp.bind(op, op.getResult(), std::move(result));
}

std::optional<LogicalResult> runAttnOp(Interpreter &interp, Operation *op) {
  if (auto o = dyn_cast<attn::AttentionOp>(op))
    return runAttention(interp, o);
  if (auto o = dyn_cast<attn::ScanOp>(op))
    return runScan(interp, o);
  if (auto o = dyn_cast<attn::TopKOp>(op))
    return runTopK(interp, o);
  if (auto o = dyn_cast<attn::TopPOp>(op))
    return runTopP(interp, o);
  if (auto o = dyn_cast<attn::ArgMaxOp>(op))
    return runArgMax(interp, o);
  if (auto o = dyn_cast<attn::GatherOp>(op))
    return runGather(interp, o);
  if (auto o = dyn_cast<attn::PoolOp>(op))
    return runPool(interp, o);
  if (auto o = dyn_cast<attn::Conv1DOp>(op))
    return runConv1D(interp, o);
  if (isa<attn::GradOp>(op))
    return LogicalResult(mlir::emitError(op->getLoc())
                         << "attn.grad must be expanded by "
                            "--attn-differentiate before it is interpreted");
  return std::nullopt;
}

} // namespace interp
} // namespace attnc
