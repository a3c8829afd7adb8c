//===- InterpreterImpl.h - Internals of the interpreter ---------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// What the per-dialect files of the interpreter share: the value
/// environment (`Interpreter`), index iteration and the integer helpers.
/// Each dialect file exports one `run<Dialect>Op` that returns std::nullopt
/// for an op that is not its own, so Interpreter::runOp can try them in turn.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_INTERP_INTERPRETERIMPL_H
#define ATTNC_LIB_INTERP_INTERPRETERIMPL_H

#include "attnc/Interp/Interpreter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseMap.h"

#include <memory>
#include <optional>

namespace attnc {
namespace interp {

/// Tensors are shared between the environment and the handlers, so that a
/// handler can keep its operands while the regions it runs bind new values
/// (and so that passing a tensor through a block argument copies nothing).
using TensorRef = std::shared_ptr<const Tensor>;

/// Integers are exact in a double up to 2^53.
constexpr double kMaxExactInt = 9007199254740992.0;

/// The kind of the elements of `type` (a shaped type's element type, or
/// the scalar type itself): floats are Float, i1 is Bool, other integers and
/// index are Int.
ElemKind kindOf(mlir::Type type);
/// The bit width of an integer or index type (index is 64 bits).
unsigned intWidth(mlir::Type type);
/// The low `width` bits of `bits` read as a signed (two's complement) value.
int64_t wrapSigned(uint64_t bits, unsigned width);
/// The low `width` bits of `bits` read as an unsigned value.
uint64_t wrapUnsigned(uint64_t bits, unsigned width);

/// A zero-filled tensor.
Tensor makeTensor(ElemKind kind, llvm::ArrayRef<int64_t> shape);
/// A rank-0 tensor holding `value`.
Tensor makeScalar(ElemKind kind, double value);
TensorRef share(Tensor tensor);

/// Calls `body` with every index of `shape`, in row-major order (the last
/// index moves fastest), stopping at the first failure. A shape with a zero
/// extent has no index; rank 0 has exactly one (the empty index).
mlir::LogicalResult forEachIndex(
    llvm::ArrayRef<int64_t> shape,
    llvm::function_ref<mlir::LogicalResult(llvm::ArrayRef<int64_t>)> body);

/// The row-major positions, in a tensor of shape `destShape`, of the slice
/// with these offsets, sizes and strides (one each per dimension), in the
/// slice's own row-major order; an error at `op` if it is out of bounds.
mlir::FailureOr<std::vector<int64_t>>
slicePositions(mlir::Operation *op, llvm::ArrayRef<int64_t> destShape,
               llvm::ArrayRef<int64_t> offsets, llvm::ArrayRef<int64_t> sizes,
               llvm::ArrayRef<int64_t> strides);

/// Starts an error at `op`'s location, naming the op.
mlir::InFlightDiagnostic opError(mlir::Operation *op);

/// The state of one function's interpretation: the value of every SSA value
/// computed so far. Regions are interpreted by recursion through runBlock.
class Interpreter {
public:
  explicit Interpreter(unsigned callDepth = 0) : callDepth(callDepth) {}

  /// Interprets `func` on `args` (a func.call from `caller`, or the entry
  /// point when `caller` is the function itself).
  mlir::FailureOr<std::vector<TensorRef>>
  callFunction(mlir::Operation *caller, mlir::func::FuncOp func,
               llvm::ArrayRef<TensorRef> args);

  /// Binds `args` to the arguments of `block` and runs every op but the
  /// terminator. `owner` is the op that holds the region (for errors).
  mlir::LogicalResult runOps(mlir::Block &block, mlir::Operation *owner,
                             llvm::ArrayRef<TensorRef> args);
  /// runOps, then returns the values of the terminator's operands.
  mlir::FailureOr<std::vector<TensorRef>>
  runBlock(mlir::Block &block, mlir::Operation *owner,
           llvm::ArrayRef<TensorRef> args);
  /// runBlock on the single block of `region`.
  mlir::FailureOr<std::vector<TensorRef>>
  runRegion(mlir::Region &region, mlir::Operation *owner,
            llvm::ArrayRef<TensorRef> args);

  /// Interprets one (non-terminator) op, binding its results.
  mlir::LogicalResult runOp(mlir::Operation *op);

  /// The value of `value`, computed earlier; an error at `op` if there is
  /// none.
  mlir::FailureOr<TensorRef> get(mlir::Operation *op, mlir::Value value);
  /// The values of all operands of `op`.
  mlir::FailureOr<std::vector<TensorRef>> getOperands(mlir::Operation *op);
  /// The value of a scalar integer or index operand.
  mlir::FailureOr<int64_t> getInt(mlir::Operation *op, mlir::Value value);
  /// The value of a scalar operand (of any element kind).
  mlir::FailureOr<double> getScalar(mlir::Operation *op, mlir::Value value);
  /// A static attribute or a dynamic index value.
  mlir::FailureOr<int64_t> getInt(mlir::Operation *op,
                                  mlir::OpFoldResult value);
  mlir::FailureOr<llvm::SmallVector<int64_t>>
  getInts(mlir::Operation *op, llvm::ArrayRef<mlir::OpFoldResult> values);
  /// The shape of a value of `type` whose dynamic dimensions are
  /// `dynamicSizes`, in order (tensor.empty, tensor.generate, ...).
  mlir::FailureOr<std::vector<int64_t>> getShape(mlir::Operation *op,
                                                 mlir::RankedTensorType type,
                                                 mlir::ValueRange dynamicSizes);

  /// Binds `value` to `tensor` after checking that the tensor's rank and
  /// sizes match the value's static type (an error at `op` otherwise); the
  /// element kind is taken from the type.
  mlir::LogicalResult bind(mlir::Operation *op, mlir::Value value,
                           TensorRef tensor);
  mlir::LogicalResult bind(mlir::Operation *op, mlir::Value value,
                           Tensor tensor) {
    return bind(op, value, share(std::move(tensor)));
  }
  /// Binds the results of `op` in order.
  mlir::LogicalResult bindResults(mlir::Operation *op,
                                  llvm::ArrayRef<TensorRef> results);
  mlir::LogicalResult bindResults(mlir::Operation *op,
                                  std::vector<Tensor> results) {
    std::vector<TensorRef> refs;
    for (Tensor &t : results)
      refs.push_back(share(std::move(t)));
    return bindResults(op, refs);
  }

  /// The iteration point of each enclosing linalg op being interpreted,
  /// innermost last; linalg.index reads the last one.
  std::vector<std::vector<int64_t>> linalgPoints;

private:
  llvm::DenseMap<mlir::Value, TensorRef> env;
  unsigned callDepth;
};

/// The per-dialect interpreters: each returns std::nullopt when `op` is not
/// one of its ops, and otherwise interprets it and binds its results.
std::optional<mlir::LogicalResult> runArithMathOp(Interpreter &interp,
                                                  mlir::Operation *op);
std::optional<mlir::LogicalResult> runTensorOp(Interpreter &interp,
                                               mlir::Operation *op);
std::optional<mlir::LogicalResult> runLinalgOp(Interpreter &interp,
                                               mlir::Operation *op);
std::optional<mlir::LogicalResult> runSCFOp(Interpreter &interp,
                                            mlir::Operation *op);
std::optional<mlir::LogicalResult> runAttnOp(Interpreter &interp,
                                             mlir::Operation *op);

} // namespace interp
} // namespace attnc

#endif // ATTNC_LIB_INTERP_INTERPRETERIMPL_H
