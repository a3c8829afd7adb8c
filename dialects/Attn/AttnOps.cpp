//===- AttnOps.cpp - Operations of the attn dialect -----------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Verifiers of the attn ops. Static dimensions must agree; a dynamic
/// dimension agrees with anything. Every message below has a case in
/// test/Dialect/Attn/invalid.mlir.
///
//===----------------------------------------------------------------------===//

#include "dialects/Attn/AttnOps.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::attnc::attn;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Formats a shape as `[2, ?, 64]`.
static std::string formatShape(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << '[';
  llvm::interleaveComma(shape, os, [&](int64_t d) {
    if (ShapedType::isDynamic(d))
      os << '?';
    else
      os << d;
  });
  os << ']';
  return s;
}

/// True when both sizes are static and differ.
static bool conflicts(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}

/// `a / b` rounded up, dynamic when either is dynamic.
static int64_t ceilDivDim(int64_t a, int64_t b) {
  if (ShapedType::isDynamic(a) || ShapedType::isDynamic(b))
    return ShapedType::kDynamic;
  return llvm::divideCeil(a, b);
}

/// The attn.yield ending the single block of `region`, or null.
static YieldOp getYield(Region &region) {
  if (region.empty() || region.front().empty())
    return nullptr;
  return dyn_cast<YieldOp>(&region.front().back());
}

/// Checks that a rank equals `expected`; names the operand in the message.
static LogicalResult verifyRank(Operation *op, StringRef name,
                                RankedTensorType type, int64_t expected) {
  if (type.getRank() != expected)
    return op->emitOpError()
           << name << " rank (" << type.getRank() << ") must be " << expected;
  return success();
}

/// Checks that `type` has rank at least 1 (the selection ops reduce over
/// its last dimension).
static LogicalResult verifyHasLastDim(Operation *op, RankedTensorType type) {
  if (type.getRank() < 1)
    return op->emitOpError("input must have rank at least 1");
  return success();
}

//===----------------------------------------------------------------------===//
// Custom directives
//===----------------------------------------------------------------------===//

/// Parses the normalizer as a bare keyword: `softmax`.
static ParseResult parseNormalizer(OpAsmParser &parser, NormalizerAttr &attr) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<Normalizer> normalizer = symbolizeNormalizer(keyword);
  if (!normalizer)
    return parser.emitError(loc, "expected a normalizer (softmax, sigmoid, "
                                 "sum or none), got '")
           << keyword << "'";
  attr = NormalizerAttr::get(parser.getContext(), *normalizer);
  return success();
}

/// Prints the normalizer as a bare keyword.
static void printNormalizer(OpAsmPrinter &printer, Operation *,
                            NormalizerAttr attr) {
  printer << stringifyNormalizer(attr.getValue());
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

/// Parses `%q1, %k1, ..., %qP, %kP, %v : tq1, tk1, ..., tv`: pairs of a
/// query and a key, then the value.
static ParseResult
parseAttentionInputs(OpAsmParser &parser,
                     SmallVectorImpl<OpAsmParser::UnresolvedOperand> &queries,
                     SmallVectorImpl<OpAsmParser::UnresolvedOperand> &keys,
                     OpAsmParser::UnresolvedOperand &value,
                     SmallVectorImpl<Type> &queryTypes,
                     SmallVectorImpl<Type> &keyTypes, Type &valueType) {
  SMLoc loc = parser.getCurrentLocation();
  SmallVector<OpAsmParser::UnresolvedOperand> operands;
  SmallVector<Type> types;
  if (parser.parseOperandList(operands) || parser.parseColonTypeList(types))
    return failure();
  if (operands.size() != types.size())
    return parser.emitError(loc, "expected as many types as operands, got ")
           << types.size() << " for " << operands.size();
  if (operands.size() % 2 != 1)
    return parser.emitError(loc, "expected (query, key) pairs and a value, "
                                 "got ")
           << operands.size() << " operands";
  for (size_t i = 0; i + 1 < operands.size(); i += 2) {
    queries.push_back(operands[i]);
    queryTypes.push_back(types[i]);
    keys.push_back(operands[i + 1]);
    keyTypes.push_back(types[i + 1]);
  }
  value = operands.back();
  valueType = types.back();
  return success();
}

static void printAttentionInputs(OpAsmPrinter &printer, Operation *,
                                 OperandRange queries, OperandRange keys,
                                 Value value, TypeRange queryTypes,
                                 TypeRange keyTypes, Type valueType) {
  for (auto [q, k] : llvm::zip(queries, keys))
    printer << q << ", " << k << ", ";
  printer << value << " : ";
  for (auto [q, k] : llvm::zip(queryTypes, keyTypes))
    printer << q << ", " << k << ", ";
  printer << valueType;
}

/// `big / small` when both are static and `small` is positive, else dynamic.
static int64_t groupSize(int64_t big, int64_t small) {
  if (ShapedType::isDynamic(big) || ShapedType::isDynamic(small) || small <= 0)
    return ShapedType::kDynamic;
  return big / small;
}

int64_t AttentionOp::getKeyGroupSize(unsigned p) {
  return groupSize(
      cast<RankedTensorType>(getRowShapeSource().getType()).getDimSize(1),
      cast<RankedTensorType>(getKeys()[p].getType()).getDimSize(1));
}

int64_t AttentionOp::getValueGroupSize() {
  return groupSize(
      cast<RankedTensorType>(getRowShapeSource().getType()).getDimSize(1),
      getValue().getType().getDimSize(1));
}

/// Verifies the score region: (s_1, ..., s_P, b, h, i, j) -> score.
static LogicalResult verifyScoreRegion(AttentionOp op, Type scoreType) {
  Region &region = op.getScore();
  unsigned numDots = op.getNumDots();
  if (region.empty()) {
    if (numDots != 1)
      return op.emitOpError("an empty score region (the identity score) "
                            "needs exactly one query and key, got ")
             << numDots;
    return success();
  }
  Block &block = region.front();
  unsigned numArgs = numDots + 4;
  if (block.getNumArguments() != numArgs) {
    if (numDots == 1)
      return op.emitOpError("score region must have 5 arguments (s, b, h, i, "
                            "j), got ")
             << block.getNumArguments();
    return op.emitOpError("score region must have ")
           << numArgs << " arguments (" << numDots
           << " dot products, b, h, i, j), got " << block.getNumArguments();
  }
  for (unsigned p = 0; p < numDots; ++p)
    if (block.getArgument(p).getType() != scoreType)
      return op.emitOpError("score region argument ")
             << p << " type (" << block.getArgument(p).getType()
             << ") does not match query element type (" << scoreType << ")";
  for (unsigned i = numDots; i < numArgs; ++i)
    if (!block.getArgument(i).getType().isIndex())
      return op.emitOpError("score region argument ")
             << i << " must be index, got " << block.getArgument(i).getType();
  YieldOp yield = getYield(region);
  if (!yield)
    return op.emitOpError("score region must end with attn.yield");
  if (yield.getValues().size() != 1 ||
      yield.getValues().front().getType() != scoreType)
    return op.emitOpError("score region must yield one value of type ")
           << scoreType;
  return success();
}

/// Verifies the mask region: (b, h, i, j) -> i1.
static LogicalResult verifyMaskRegion(AttentionOp op) {
  Region &region = op.getMask();
  if (region.empty())
    return success();
  Block &block = region.front();
  if (block.getNumArguments() != 4)
    return op.emitOpError("mask region must have 4 arguments (b, h, i, j), "
                          "got ")
           << block.getNumArguments();
  for (unsigned i = 0; i < 4; ++i)
    if (!block.getArgument(i).getType().isIndex())
      return op.emitOpError("mask region argument ")
             << i << " must be index, got " << block.getArgument(i).getType();
  YieldOp yield = getYield(region);
  if (!yield)
    return op.emitOpError("mask region must end with attn.yield");
  if (yield.getValues().size() != 1 ||
      !yield.getValues().front().getType().isInteger(1))
    return op.emitOpError("mask region must yield one value of type i1");
  return success();
}

/// The name of query or key `p` in messages: "query" when there is one,
/// "query 1" ... otherwise.
static std::string operandName(StringRef kind, unsigned p, unsigned count) {
  if (count == 1)
    return kind.str();
  return (kind + " " + Twine(p)).str();
}

LogicalResult AttentionOp::verify() {
  unsigned numDots = getNumDots();
  if (getKeys().size() != numDots)
    return emitOpError("has ")
           << numDots << " queries but " << getKeys().size() << " keys";
  if (numDots == 0 && !getInit())
    return emitOpError("without queries needs outs(%init) for [B, H, N]");
  if (numDots != 0 && getInit())
    return emitOpError("outs(%init) is only for attention without queries");

  auto vTy = getValue().getType();
  auto oTy = getOutput().getType();
  auto rowTy = cast<RankedTensorType>(getRowShapeSource().getType());
  for (unsigned p = 0; p < numDots; ++p) {
    if (failed(verifyRank(*this, operandName("query", p, numDots),
                          cast<RankedTensorType>(getQueries()[p].getType()),
                          4)) ||
        failed(verifyRank(*this, operandName("key", p, numDots),
                          cast<RankedTensorType>(getKeys()[p].getType()), 4)))
      return failure();
  }
  if ((getInit() && failed(verifyRank(*this, "init", rowTy, 4))) ||
      failed(verifyRank(*this, "value", vTy, 4)) ||
      failed(verifyRank(*this, "output", oTy, 4)))
    return failure();

  Type scoreType = getScoreType();
  // [B, H, N|M, D] of each operand; `row` is the first query (or init).
  ArrayRef<int64_t> row = rowTy.getShape(), v = vTy.getShape();
  for (unsigned p = 0; p < numDots; ++p) {
    auto qTy = cast<RankedTensorType>(getQueries()[p].getType());
    auto kTy = cast<RankedTensorType>(getKeys()[p].getType());
    std::string qName = operandName("query", p, numDots);
    std::string kName = operandName("key", p, numDots);
    ArrayRef<int64_t> q = qTy.getShape(), k = kTy.getShape();
    if (qTy.getElementType() != scoreType)
      return emitOpError(qName + " element type (")
             << qTy.getElementType() << ") does not match query element type ("
             << scoreType << ")";
    if (kTy.getElementType() != scoreType)
      return emitOpError(kName + " element type (")
             << kTy.getElementType() << ") does not match query element type ("
             << scoreType << ")";
    if (p > 0 && (conflicts(q[0], row[0]) || conflicts(q[1], row[1]) ||
                  conflicts(q[2], row[2])))
      return emitOpError(qName + " shape ")
             << formatShape(q) << " does not match query 0's [B, H, N] "
             << formatShape(row.take_front(3));
    if (conflicts(k[0], row[0]))
      return emitOpError(kName + " batch size (")
             << k[0] << ") does not match query batch size (" << row[0] << ")";
    if (!ShapedType::isDynamic(row[1]) && !ShapedType::isDynamic(k[1]) &&
        (k[1] == 0 || row[1] % k[1] != 0))
      return emitOpError("query head count (")
             << row[1] << ") is not a multiple of " << kName << " head count ("
             << k[1] << ")";
    if (conflicts(v[2], k[2]))
      return emitOpError("value sequence length (")
             << v[2] << ") does not match " << kName << " sequence length ("
             << k[2] << ")";
    if (conflicts(k[3], q[3]))
      return emitOpError(kName + " head dim (")
             << k[3] << ") does not match " << qName << " head dim (" << q[3]
             << ")";
  }
  if (conflicts(v[0], row[0]))
    return emitOpError("value batch size (")
           << v[0] << ") does not match query batch size (" << row[0] << ")";
  if (!ShapedType::isDynamic(row[1]) && !ShapedType::isDynamic(v[1]) &&
      (v[1] == 0 || row[1] % v[1] != 0))
    return emitOpError("query head count (")
           << row[1] << ") is not a multiple of value head count (" << v[1]
           << ")";

  int64_t batch = ShapedType::isDynamic(row[0]) ? v[0] : row[0];
  SmallVector<int64_t> expected = {batch, row[1], row[2], v[3]};
  if (failed(verifyCompatibleShape(oTy.getShape(), expected)))
    return emitOpError("output shape ")
           << formatShape(oTy.getShape())
           << " does not match [B, Hq, N, Dv] = " << formatShape(expected);

  // Normalizer-specific operands and results.
  if (Value bias = getBias()) {
    if (getNormalizer() != Normalizer::Sigmoid)
      return emitOpError("bias requires the sigmoid normalizer");
    if (bias.getType() != scoreType)
      return emitOpError("bias type (")
             << bias.getType() << ") does not match query element type ("
             << scoreType << ")";
  }
  if (getWithLse()) {
    if (getNormalizer() != Normalizer::Softmax)
      return emitOpError("with_lse requires the softmax normalizer");
    if (!getLse())
      return emitOpError("with_lse requires an lse result");
    ArrayRef<int64_t> lse = getLse().getType().getShape();
    SmallVector<int64_t> lseExpected = {batch, row[1], row[2]};
    if (failed(verifyCompatibleShape(lse, lseExpected)))
      return emitOpError("lse shape ")
             << formatShape(lse)
             << " does not match [B, Hq, N] = " << formatShape(lseExpected);
  } else if (getLse()) {
    return emitOpError("lse result requires with_lse");
  }

  // Run-time block sparsity.
  std::optional<ArrayRef<int64_t>> blockSizes = getBlockSizes();
  if (getBlockMask() && !blockSizes)
    return emitOpError("block_mask requires block_sizes");
  if (blockSizes && !getBlockMask())
    return emitOpError("block_sizes requires block_mask");
  if (Value blockMask = getBlockMask()) {
    auto mTy = cast<RankedTensorType>(blockMask.getType());
    if (failed(verifyRank(*this, "block_mask", mTy, 4)))
      return failure();
    if (blockSizes->size() != 2)
      return emitOpError("block_sizes must have 2 entries [BQ, BK], got ")
             << blockSizes->size();
    if (llvm::any_of(*blockSizes, [](int64_t s) { return s < 1; }))
      return emitOpError("block_sizes must be positive");
    SmallVector<int64_t> maskExpected = {batch, row[1],
                                         ceilDivDim(row[2], (*blockSizes)[0]),
                                         ceilDivDim(v[2], (*blockSizes)[1])};
    if (failed(verifyCompatibleShape(mTy.getShape(), maskExpected)))
      return emitOpError("block_mask shape ")
             << formatShape(mTy.getShape())
             << " does not match [B, Hq, ceil(N / BQ), ceil(M / BK)] = "
             << formatShape(maskExpected);
  }

  if (failed(verifyScoreRegion(*this, scoreType)) ||
      failed(verifyMaskRegion(*this)))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// ScanOp
//===----------------------------------------------------------------------===//

/// The chunkwise factors (see the op's description): attributes and the
/// factors region agree, and the roles fit the states' shapes.
void ScanOp::dropChunkFactors() {
  getFactors().dropAllReferences();
  getFactors().getBlocks().clear();
  removeChunkRecurrenceAttr();
  removeChunkDecayAttr();
  removeChunkBetaAttr();
  removeChunkStatesAttr();
}

LogicalResult ScanOp::verifyFactors(ArrayRef<RankedTensorType> stateTypes) {
  std::optional<StringRef> recurrence = getChunkRecurrence();
  if (!recurrence) {
    if (!getFactors().empty() || getChunkDecay() || getChunkBeta() ||
        getChunkStates())
      return emitOpError("has chunkwise factors without chunk_recurrence");
    return success();
  }
  if (!llvm::is_contained({"linear", "delta"}, *recurrence))
    return emitOpError("has an unknown chunk_recurrence '")
           << *recurrence << "'";
  StringRef decay = getChunkDecay().value_or("");
  if (!llvm::is_contained({"none", "scalar", "vector"}, decay))
    return emitOpError("needs chunk_decay 'none', 'scalar' or 'vector'");
  if (getChunk() != 1)
    return emitOpError("cannot have chunk_recurrence with chunk > 1 (the "
                       "program's own chunks are part of its semantics)");
  std::optional<ArrayAttr> roles = getChunkStates();
  if (!roles || roles->size() != stateTypes.size())
    return emitOpError("needs one chunk_states role per state");
  int64_t keys = -1, values = -1;
  unsigned matrices = 0, normalizers = 0;
  for (auto [role, type] : llvm::zip(*roles, stateTypes)) {
    StringRef r = cast<StringAttr>(role).getValue();
    bool keyMajor = r == "key_value";
    if (keyMajor || r == "value_key") {
      if (type.getRank() != 2 || !type.hasStaticShape())
        return emitOpError("needs a static rank-2 state for role '")
               << r << "'";
      keys = type.getDimSize(keyMajor ? 0 : 1);
      values = type.getDimSize(keyMajor ? 1 : 0);
      ++matrices;
    } else if (r == "normalizer") {
      if (type.getRank() != 1 || !type.hasStaticShape())
        return emitOpError("needs a static rank-1 normalizer state");
      ++normalizers;
    } else {
      return emitOpError("has an unknown chunk_states role '") << r << "'";
    }
  }
  if (matrices != 1 || normalizers > 1)
    return emitOpError("needs one matrix state and at most one normalizer");
  if (getFactors().empty())
    return emitOpError("needs a factors region with chunk_recurrence");
  Block &block = getFactors().front();
  if (block.getNumArguments() != getNumBatchDims() + 1 ||
      llvm::any_of(block.getArgumentTypes(),
                   [](Type t) { return !t.isIndex(); }))
    return emitOpError("factors region must have ")
           << getNumBatchDims() + 1 << " index arguments";
  YieldOp yield = getYield(getFactors());
  if (!yield)
    return emitOpError("factors region must end with attn.yield");
  Type f32 = Float32Type::get(getContext());
  auto vec = [&](int64_t n) { return RankedTensorType::get({n}, f32); };
  SmallVector<Type> expected = {vec(keys), vec(keys), vec(values)};
  if (decay != "none")
    expected.push_back(decay == "vector" ? Type(vec(keys)) : f32);
  if (getChunkBeta())
    expected.push_back(f32);
  if (TypeRange(yield.getValues()) != TypeRange(expected))
    return emitOpError("factors region must yield (q, k, v")
           << (decay != "none" ? ", decay" : "")
           << (getChunkBeta() ? ", beta" : "") << ") of types "
           << TypeRange(expected) << ", got " << TypeRange(yield.getValues());
  for (auto [role, type] : llvm::zip(*roles, stateTypes))
    if (cast<StringAttr>(role).getValue() == "normalizer" &&
        type.getDimSize(0) != keys)
      return emitOpError("needs a normalizer of the key size ") << keys;
  return success();
}

LogicalResult ScanOp::verify() {
  unsigned numBatch = getNumBatchDims();
  unsigned numStates = getNumStates();

  // The front end's analysis of the step (ScanLinearity.cpp).
  if (std::optional<ArrayAttr> transitions = getTransitions()) {
    if (transitions->size() != numStates)
      return emitOpError("has ") << transitions->size() << " transitions for "
                                 << numStates << " states";
    bool nonlinear = false;
    for (Attribute a : *transitions) {
      StringRef t = cast<StringAttr>(a).getValue();
      if (!llvm::is_contained({"identity", "scalar_decay", "diagonal_gate",
                               "low_rank", "affine", "nonlinear"},
                              t))
        return emitOpError("has an unknown transition '") << t << "'";
      nonlinear |= t == "nonlinear";
    }
    if (nonlinear == getLinearInState())
      return emitOpError("must be linear_in_state exactly when no transition "
                         "is 'nonlinear'");
  }
  if (std::optional<StringRef> form = getEmitForm())
    if (!llvm::is_contained({"linear", "ratio", "nonlinear"}, *form))
      return emitOpError("has an unknown emit_form '") << *form << "'";

  // body: (batch indices..., t, states..., [chunk-start states...]), ends
  // with attn.scan_yield.
  Block &body = getBody().front();
  unsigned copies = getChunk() > 1 ? 2 : 1;
  if (body.getNumArguments() != numBatch + 1 + copies * numStates)
    return emitOpError("body region must have ")
           << numBatch + 1 + copies * numStates << " arguments (" << numBatch
           << " batch indices, the time, " << numStates << " states"
           << (copies == 2 ? ", the states at the chunk's start" : "")
           << "), got " << body.getNumArguments();
  for (unsigned i = 0; i <= numBatch; ++i)
    if (!body.getArgument(i).getType().isIndex())
      return emitOpError("body region argument ")
             << i << " must be index, got " << body.getArgument(i).getType();
  SmallVector<RankedTensorType> stateTypes;
  for (unsigned i = 0; i < numStates; ++i) {
    Type t = body.getArgument(numBatch + 1 + i).getType();
    auto rt = dyn_cast<RankedTensorType>(t);
    if (!rt)
      return emitOpError("body region state argument ")
             << i << " must be a ranked tensor, got " << t;
    stateTypes.push_back(rt);
  }
  for (unsigned i = 0; copies == 2 && i < numStates; ++i) {
    Type t = body.getArgument(numBatch + 1 + numStates + i).getType();
    if (t != stateTypes[i])
      return emitOpError("body region chunk-start argument ")
             << i << " must have the state's type " << stateTypes[i] << ", got "
             << t;
  }
  auto scanYield = body.empty() ? nullptr : dyn_cast<ScanYieldOp>(&body.back());
  if (!scanYield)
    return emitOpError("body region must end with attn.scan_yield");
  if (scanYield.getStates().size() != numStates)
    return emitOpError("body region yields ")
           << scanYield.getStates().size() << " states, but the scan has "
           << numStates;
  for (auto [i, v] : llvm::enumerate(scanYield.getStates()))
    if (v.getType() != stateTypes[i])
      return emitOpError("body region yields state ")
             << i << " of type " << v.getType() << ", but the state has type "
             << stateTypes[i];

  // init: (batch indices...) -> states.
  Block &init = getInit().front();
  if (init.getNumArguments() != numBatch ||
      llvm::any_of(init.getArgumentTypes(),
                   [](Type t) { return !t.isIndex(); }))
    return emitOpError("init region must have ")
           << numBatch << " index arguments (the batch indices)";
  YieldOp initYield = getYield(getInit());
  if (!initYield)
    return emitOpError("init region must end with attn.yield");
  if (initYield.getValues().size() != numStates)
    return emitOpError("init region yields ")
           << initYield.getValues().size() << " values, but the scan has "
           << numStates << " states";
  for (auto [i, v] : llvm::enumerate(initYield.getValues()))
    if (v.getType() != stateTypes[i])
      return emitOpError("init region yields state ")
             << i << " of type " << v.getType() << ", but the state has type "
             << stateTypes[i];

  if (failed(verifyFactors(stateTypes)))
    return failure();

  // output: [batch..., length, emit...].
  Type emitType = scanYield.getEmit().getType();
  ArrayRef<int64_t> emitShape;
  Type emitElt = emitType;
  if (auto rt = dyn_cast<RankedTensorType>(emitType)) {
    emitShape = rt.getShape();
    emitElt = rt.getElementType();
  }
  auto outTy = cast<RankedTensorType>(getOutput().getType());
  if (outTy.getRank() !=
          static_cast<int64_t>(numBatch + 1 + emitShape.size()) ||
      outTy.getElementType() != emitElt ||
      failed(verifyCompatibleShape(outTy.getShape().drop_front(numBatch + 1),
                                   emitShape)))
    return emitOpError("output type (")
           << outTy << ") is not [" << numBatch
           << " batch dims, length, emit shape] of element type " << emitElt
           << " for emit type " << emitType;
  ArrayRef<int64_t> outBatch = outTy.getShape().take_front(numBatch);

  // Sizes given by constants must match the static result dimensions.
  SmallVector<Value> sizes(getBatchSizes());
  sizes.push_back(getLength());
  for (auto [i, size] : llvm::enumerate(sizes)) {
    std::optional<int64_t> c = getConstantIntValue(size);
    if (c && conflicts(outTy.getDimSize(i), *c))
      return emitOpError("output dimension ")
             << i << " (" << outTy.getDimSize(i)
             << ") does not match its size operand (" << *c << ")";
  }

  // finals: [batch..., state...].
  for (auto [i, v] : llvm::enumerate(getFinals())) {
    auto ft = cast<RankedTensorType>(v.getType());
    SmallVector<int64_t> expected(outBatch);
    llvm::append_range(expected, stateTypes[i].getShape());
    if (ft.getElementType() != stateTypes[i].getElementType() ||
        failed(verifyCompatibleShape(ft.getShape(), expected)))
      return emitOpError("final state ")
             << i << " type (" << ft
             << ") is not [batch..., state...] = " << formatShape(expected)
             << " of " << stateTypes[i].getElementType();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// TopKOp
//===----------------------------------------------------------------------===//

LogicalResult TopKOp::verify() {
  auto inTy = getInput().getType();
  auto idxTy = getIndices().getType();
  if (failed(verifyHasLastDim(*this, inTy)))
    return failure();
  if (idxTy.getRank() != inTy.getRank())
    return emitOpError("indices rank (")
           << idxTy.getRank() << ") does not match input rank ("
           << inTy.getRank() << ")";
  if (failed(verifyCompatibleShape(idxTy.getShape().drop_back(),
                                   inTy.getShape().drop_back())))
    return emitOpError("indices shape ")
           << formatShape(idxTy.getShape()) << " does not match input shape "
           << formatShape(inTy.getShape()) << " in the leading dimensions";
  int64_t k = getK();
  if (conflicts(idxTy.getShape().back(), k))
    return emitOpError("indices last dimension (")
           << idxTy.getShape().back() << ") does not match k (" << k << ")";
  int64_t c = inTy.getShape().back();
  if (!ShapedType::isDynamic(c) && k > c)
    return emitOpError("k (")
           << k << ") exceeds the input last dimension (" << c << ")";
  return success();
}

//===----------------------------------------------------------------------===//
// TopPOp
//===----------------------------------------------------------------------===//

LogicalResult TopPOp::verify() {
  auto inTy = getInput().getType();
  auto selTy = getSelected().getType();
  if (failed(verifyHasLastDim(*this, inTy)))
    return failure();
  if (failed(verifyCompatibleShape(selTy.getShape(), inTy.getShape())))
    return emitOpError("selected shape ")
           << formatShape(selTy.getShape()) << " does not match input shape "
           << formatShape(inTy.getShape());
  return success();
}

//===----------------------------------------------------------------------===//
// ArgMaxOp
//===----------------------------------------------------------------------===//

LogicalResult ArgMaxOp::verify() {
  auto inTy = getInput().getType();
  auto resTy = getResult().getType();
  if (failed(verifyHasLastDim(*this, inTy)))
    return failure();
  if (failed(
          verifyCompatibleShape(resTy.getShape(), inTy.getShape().drop_back())))
    return emitOpError("result shape ")
           << formatShape(resTy.getShape())
           << " does not match the input shape without its last dimension "
           << formatShape(inTy.getShape().drop_back());
  return success();
}

//===----------------------------------------------------------------------===//
// GatherOp
//===----------------------------------------------------------------------===//

LogicalResult GatherOp::verify() {
  auto srcTy = cast<RankedTensorType>(getSource().getType());
  auto idxTy = getIndices().getType();
  auto resTy = cast<RankedTensorType>(getResult().getType());
  if (srcTy.getRank() < 1)
    return emitOpError("source must have rank at least 1");
  SmallVector<int64_t> expected(idxTy.getShape());
  llvm::append_range(expected, srcTy.getShape().drop_front());
  if (failed(verifyCompatibleShape(resTy.getShape(), expected)))
    return emitOpError("result shape ")
           << formatShape(resTy.getShape())
           << " does not match [indices..., source trailing...] = "
           << formatShape(expected);
  return success();
}

//===----------------------------------------------------------------------===//
// PoolOp
//===----------------------------------------------------------------------===//

LogicalResult PoolOp::verify() {
  auto inTy = getInput().getType();
  auto resTy = getResult().getType();
  int64_t bs = getBlockSize();
  if (inTy.getRank() < 1)
    return emitOpError("input must have rank at least 1");
  int64_t n = inTy.getDimSize(0);
  if (!ShapedType::isDynamic(n) && n % bs != 0)
    return emitOpError("input leading dimension (")
           << n << ") is not a multiple of block_size (" << bs << ")";
  SmallVector<int64_t> expected(inTy.getShape());
  expected[0] = ShapedType::isDynamic(n) ? n : n / bs;
  if (failed(verifyCompatibleShape(resTy.getShape(), expected)))
    return emitOpError("result shape ")
           << formatShape(resTy.getShape()) << " does not match "
           << formatShape(expected);
  return success();
}

//===----------------------------------------------------------------------===//
// Conv1DOp
//===----------------------------------------------------------------------===//

LogicalResult Conv1DOp::verify() {
  auto inTy = getInput().getType();
  auto fTy = getFilter().getType();
  if (failed(verifyRank(*this, "input", inTy, 2)) ||
      failed(verifyRank(*this, "filter", fTy, 2)))
    return failure();
  if (conflicts(fTy.getDimSize(1), inTy.getDimSize(1)))
    return emitOpError("filter channels (")
           << fTy.getDimSize(1) << ") do not match input channels ("
           << inTy.getDimSize(1) << ")";
  return success();
}

//===----------------------------------------------------------------------===//
// GradOp
//===----------------------------------------------------------------------===//

LogicalResult GradOp::verify() {
  if (getWrt().empty())
    return emitOpError("requires at least one wrt operand");
  if (getGradients().size() != getWrt().size())
    return emitOpError("has ") << getGradients().size() << " gradients, but "
                               << getWrt().size() << " wrt operands";
  for (auto [i, w, g] : llvm::enumerate(getWrt(), getGradients()))
    if (w.getType() != g.getType())
      return emitOpError("gradient ")
             << i << " type (" << g.getType()
             << ") does not match wrt operand type (" << w.getType() << ")";
  Block &block = getLoss().front();
  if (!llvm::equal(block.getArgumentTypes(), getWrt().getTypes()))
    return emitOpError("loss region argument types must match the wrt "
                       "operand types");
  YieldOp yield = getYield(getLoss());
  if (!yield)
    return emitOpError("loss region must end with attn.yield");
  if (yield.getValues().size() != 1 ||
      !isa<FloatType>(yield.getValues().front().getType()))
    return emitOpError("loss region must yield one float scalar");
  return success();
}

//===----------------------------------------------------------------------===//
// TableGen'd definitions
//===----------------------------------------------------------------------===//

#define GET_OP_CLASSES
#include "dialects/Attn/AttnOps.cpp.inc"
