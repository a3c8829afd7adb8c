//===- Interpreter.cpp - The value environment and the dispatch -----------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The core of the reference interpreter: tensors, the environment of SSA
/// values, the interpretation of blocks by recursion, the func dialect and
/// the dispatch of every other op to its dialect's file.
///
//===----------------------------------------------------------------------===//

#include "InterpreterImpl.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;

namespace attnc {
namespace interp {

/// func.call nests this deep at most, so that a recursive program reports
/// an error instead of overflowing the stack.
static constexpr unsigned kMaxCallDepth = 64;

/// The largest tensor a size operand may ask for (2^32 doubles, 32 GiB).
static constexpr double kMaxElements = 4294967296.0;

//===----------------------------------------------------------------------===//
// Tensor and helpers
//===----------------------------------------------------------------------===//

int64_t Tensor::numElements() const {
  int64_t n = 1;
  for (int64_t size : shape)
    n *= size;
  return n;
}

int64_t Tensor::offset(ArrayRef<int64_t> indices) const {
  int64_t result = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    result = result * shape[d] + indices[d];
  return result;
}

ElemKind kindOf(Type type) {
  if (auto shaped = dyn_cast<ShapedType>(type))
    type = shaped.getElementType();
  if (type.isInteger(1))
    return ElemKind::Bool;
  if (type.isIntOrIndex())
    return ElemKind::Int;
  return ElemKind::Float;
}

unsigned intWidth(Type type) {
  if (auto shaped = dyn_cast<ShapedType>(type))
    type = shaped.getElementType();
  if (auto intType = dyn_cast<IntegerType>(type))
    return intType.getWidth();
  return 64;
}

int64_t wrapSigned(uint64_t bits, unsigned width) {
  if (width >= 64)
    return static_cast<int64_t>(bits);
  uint64_t low = bits & ((uint64_t(1) << width) - 1);
  uint64_t sign = uint64_t(1) << (width - 1);
  // (low ^ sign) - sign sign-extends the low `width` bits.
  return static_cast<int64_t>((low ^ sign) - sign);
}

uint64_t wrapUnsigned(uint64_t bits, unsigned width) {
  if (width >= 64)
    return bits;
  return bits & ((uint64_t(1) << width) - 1);
}

Tensor makeTensor(ElemKind kind, ArrayRef<int64_t> shape) {
  Tensor t;
  t.kind = kind;
  t.shape.assign(shape.begin(), shape.end());
  t.data.assign(t.numElements(), 0.0);
  return t;
}

Tensor makeScalar(ElemKind kind, double value) {
  Tensor t;
  t.kind = kind;
  t.data = {value};
  return t;
}

TensorRef share(Tensor tensor) {
  return std::make_shared<const Tensor>(std::move(tensor));
}

LogicalResult
forEachIndex(ArrayRef<int64_t> shape,
             function_ref<LogicalResult(ArrayRef<int64_t>)> body) {
  for (int64_t size : shape)
    if (size <= 0)
      return success();
  SmallVector<int64_t> index(shape.size(), 0);
  while (true) {
    if (failed(body(index)))
      return failure();
    // Advance like an odometer: bump the last index, carry leftwards.
    int d = static_cast<int>(shape.size()) - 1;
    while (d >= 0 && ++index[d] == shape[d])
      index[d--] = 0;
    if (d < 0)
      return success();
  }
}

InFlightDiagnostic opError(Operation *op) {
  return mlir::emitError(op->getLoc()) << "'" << op->getName() << "': ";
}

//===----------------------------------------------------------------------===//
// The environment
//===----------------------------------------------------------------------===//

FailureOr<TensorRef> Interpreter::get(Operation *op, Value value) {
  auto it = env.find(value);
  if (it == env.end()) {
    opError(op) << "uses a value that has not been computed";
    return failure();
  }
  return it->second;
}

FailureOr<std::vector<TensorRef>> Interpreter::getOperands(Operation *op) {
  std::vector<TensorRef> result;
  for (Value operand : op->getOperands()) {
    FailureOr<TensorRef> t = get(op, operand);
    if (failed(t))
      return failure();
    result.push_back(*t);
  }
  return result;
}

FailureOr<int64_t> Interpreter::getInt(Operation *op, Value value) {
  FailureOr<TensorRef> t = get(op, value);
  if (failed(t))
    return failure();
  if (!(*t)->shape.empty() || (*t)->data.size() != 1) {
    opError(op) << "expects a scalar integer operand";
    return failure();
  }
  double v = (*t)->data[0];
  if (v != std::trunc(v) || std::fabs(v) > kMaxExactInt) {
    opError(op) << "integer operand " << v << " is not an exact integer";
    return failure();
  }
  return static_cast<int64_t>(v);
}

FailureOr<double> Interpreter::getScalar(Operation *op, Value value) {
  FailureOr<TensorRef> t = get(op, value);
  if (failed(t))
    return failure();
  if (!(*t)->shape.empty() || (*t)->data.size() != 1) {
    opError(op) << "expects a scalar operand";
    return failure();
  }
  return (*t)->data[0];
}

FailureOr<int64_t> Interpreter::getInt(Operation *op, OpFoldResult value) {
  if (auto attr = dyn_cast<Attribute>(value)) {
    if (auto intAttr = dyn_cast<IntegerAttr>(attr))
      return intAttr.getInt();
    opError(op) << "has a non-integer static size, offset or stride";
    return failure();
  }
  return getInt(op, cast<Value>(value));
}

FailureOr<SmallVector<int64_t>>
Interpreter::getInts(Operation *op, ArrayRef<OpFoldResult> values) {
  SmallVector<int64_t> result;
  for (OpFoldResult value : values) {
    FailureOr<int64_t> v = getInt(op, value);
    if (failed(v))
      return failure();
    result.push_back(*v);
  }
  return result;
}

FailureOr<std::vector<int64_t>> Interpreter::getShape(Operation *op,
                                                      RankedTensorType type,
                                                      ValueRange dynamicSizes) {
  std::vector<int64_t> shape;
  unsigned next = 0;
  for (int64_t size : type.getShape()) {
    if (!ShapedType::isDynamic(size)) {
      shape.push_back(size);
      continue;
    }
    if (next >= dynamicSizes.size()) {
      opError(op) << "has fewer dynamic sizes than its type needs";
      return failure();
    }
    FailureOr<int64_t> v = getInt(op, dynamicSizes[next++]);
    if (failed(v))
      return failure();
    if (*v < 0) {
      opError(op) << "has a negative size " << *v;
      return failure();
    }
    shape.push_back(*v);
  }
  // Refuse sizes that cannot be allocated rather than abort in the
  // allocator (the library has no exceptions).
  double elements = 1;
  for (int64_t size : shape)
    elements *= double(size);
  if (elements > kMaxElements) {
    opError(op) << "has " << elements << " elements, more than the "
                << kMaxElements << " the interpreter allocates";
    return failure();
  }
  return shape;
}

LogicalResult Interpreter::bind(Operation *op, Value value, TensorRef tensor) {
  Type type = value.getType();
  if (auto ranked = dyn_cast<RankedTensorType>(type)) {
    bool ok = ranked.getRank() == static_cast<int64_t>(tensor->shape.size());
    for (int64_t d = 0; ok && d < ranked.getRank(); ++d)
      ok = ranked.isDynamicDim(d) || ranked.getDimSize(d) == tensor->shape[d];
    if (!ok) {
      auto diag = opError(op) << "computed a value of shape [";
      llvm::interleaveComma(tensor->shape, diag);
      diag << "] that does not match its type " << type;
      return failure();
    }
  } else if (isa<ShapedType>(type)) {
    return opError(op) << "produces an unranked or non-tensor shaped value "
                       << type;
  } else if (!tensor->shape.empty()) {
    return opError(op) << "computed a tensor for the scalar type " << type;
  }
  if (static_cast<int64_t>(tensor->data.size()) != tensor->numElements())
    return opError(op) << "computed a tensor whose data does not fit its "
                          "shape";
  ElemKind kind = kindOf(type);
  if (tensor->kind != kind) {
    Tensor copy = *tensor;
    copy.kind = kind;
    tensor = share(std::move(copy));
  }
  env[value] = std::move(tensor);
  return success();
}

LogicalResult Interpreter::bindResults(Operation *op,
                                       ArrayRef<TensorRef> results) {
  if (results.size() != op->getNumResults())
    return opError(op) << "computed " << results.size() << " results, not "
                       << op->getNumResults();
  for (auto [value, tensor] : llvm::zip(op->getResults(), results))
    if (failed(bind(op, value, tensor)))
      return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// Blocks and ops
//===----------------------------------------------------------------------===//

LogicalResult Interpreter::runOps(Block &block, Operation *owner,
                                  ArrayRef<TensorRef> args) {
  if (block.getNumArguments() != args.size())
    return opError(owner) << "region expects " << block.getNumArguments()
                          << " arguments, the interpreter has " << args.size();
  for (auto [arg, tensor] : llvm::zip(block.getArguments(), args))
    if (failed(bind(owner, arg, tensor)))
      return failure();
  for (Operation &op : block.without_terminator())
    if (failed(runOp(&op)))
      return failure();
  return success();
}

FailureOr<std::vector<TensorRef>>
Interpreter::runBlock(Block &block, Operation *owner,
                      ArrayRef<TensorRef> args) {
  if (failed(runOps(block, owner, args)))
    return failure();
  if (!block.mightHaveTerminator()) {
    opError(owner) << "has a block without terminator";
    return failure();
  }
  return getOperands(block.getTerminator());
}

FailureOr<std::vector<TensorRef>>
Interpreter::runRegion(Region &region, Operation *owner,
                       ArrayRef<TensorRef> args) {
  if (!region.hasOneBlock()) {
    opError(owner) << "has a region without exactly one block";
    return failure();
  }
  return runBlock(region.front(), owner, args);
}

FailureOr<std::vector<TensorRef>>
Interpreter::callFunction(Operation *caller, func::FuncOp func,
                          ArrayRef<TensorRef> args) {
  if (func.isExternal()) {
    opError(caller) << "calls the external function @" << func.getName()
                    << ", which has no body";
    return failure();
  }
  if (func.getNumArguments() != args.size()) {
    opError(caller) << "passes " << args.size() << " arguments to @"
                    << func.getName() << ", which takes "
                    << func.getNumArguments();
    return failure();
  }
  return runRegion(func.getBody(), func, args);
}

/// func.call: the results of interpreting the callee (found in the nearest
/// symbol table) on the operands, in a fresh environment.
static LogicalResult runCall(Interpreter &interp, func::CallOp call,
                             unsigned callDepth) {
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
      call, call.getCalleeAttr());
  if (!callee)
    return opError(call) << "calls the unknown function @" << call.getCallee();
  if (callDepth + 1 > kMaxCallDepth)
    return opError(call) << "nests calls deeper than " << kMaxCallDepth;
  FailureOr<std::vector<TensorRef>> args = interp.getOperands(call);
  if (failed(args))
    return failure();
  Interpreter inner(callDepth + 1);
  FailureOr<std::vector<TensorRef>> results =
      inner.callFunction(call, callee, *args);
  if (failed(results))
    return failure();
  return interp.bindResults(call, *results);
}

LogicalResult Interpreter::runOp(Operation *op) {
  if (auto call = dyn_cast<func::CallOp>(op))
    return runCall(*this, call, callDepth);
  for (auto *handler :
       {runArithMathOp, runTensorOp, runLinalgOp, runSCFOp, runAttnOp})
    if (std::optional<LogicalResult> result = handler(*this, op))
      return *result;
  return mlir::emitError(op->getLoc())
         << "the interpreter does not support '" << op->getName() << "'";
}

//===----------------------------------------------------------------------===//
// The entry point
//===----------------------------------------------------------------------===//

FailureOr<std::vector<Tensor>> run(func::FuncOp func, ArrayRef<Tensor> args) {
  std::vector<TensorRef> shared;
  for (const Tensor &arg : args)
    shared.push_back(share(arg));
  Interpreter interp;
  FailureOr<std::vector<TensorRef>> results =
      interp.callFunction(func, func, shared);
  if (failed(results))
    return failure();
  // The returned values were checked against their types when bound, and
  // func.return's operand types are the function's result types.
  std::vector<Tensor> out;
  for (const TensorRef &tensor : *results)
    out.push_back(*tensor);
  return out;
}

} // namespace interp
} // namespace attnc
