//===- Differentiate.cpp - Expand attn.grad into reverse mode -------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The attn-differentiate pass: source-to-source reverse-mode automatic
/// differentiation of `attn.grad` loss regions.
///
/// For each `attn.grad` (innermost first), at the position of the op:
///
///  1. Activity. A value of the loss region is *active* when it is a float
///     scalar or float tensor that depends on a region argument (through
///     operands, or through values an op's regions capture). Values defined
///     above the grad op are constants. Only active ops need adjoint rules;
///     an active op without one is an error naming the op.
///  2. Forward sweep. The region's ops are cloned with the arguments mapped
///     to the `wrt` operands (`fwd` maps every original value to its clone;
///     the rules read forward values through it).
///  3. Reverse sweep. The adjoint of the yielded loss is 1. The ops are
///     visited in reverse order; each active op with an adjoint calls the
///     rule of its kind, which emits the vector-Jacobian product and adds it
///     into the adjoints of its active operands (`accumulate`: a value used
///     several times sums its contributions).
///  4. The grad's results are replaced with the adjoints of the region
///     arguments (zero tensors where the loss does not depend on one).
///
/// Element-wise code is a `tensor.generate` whose body computes a scalar
/// from `tensor.extract`s of captured tensors and captured scalars. Each
/// such read (a *leaf*) gets one new generate over the same shape whose body
/// re-computes the forward body and differentiates it symbolically with a
/// nested scalar sweep seeded by `ybar[i]`, yielding the contribution
/// `ybar[i] * d(body)/d(leaf)` at every point `i`. Reads at the generate's
/// own indices take that tensor as the adjoint; broadcast reads (indices
/// that are a subset of the generate's, or constants) sum it over the
/// missing dimensions with `linalg.reduce` and place it back; captured
/// scalars sum it over every dimension.
///
/// Tensor adjoints are built from ops the interpreter and the back ends run:
/// `tensor.generate` for element-wise products, `linalg.reduce` for sums,
/// `linalg.transpose`, `linalg.generic` contractions for the matmul family,
/// `tensor.insert_slice` for slices and `linalg.fill` for zeros.
///
//===----------------------------------------------------------------------===//

#include "attnc/Transforms/Passes.h"

#include "dialects/Attn/AttnDialect.h"
#include "dialects/Attn/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

namespace mlir {
namespace attnc {
#define GEN_PASS_DEF_ATTNDIFFERENTIATEPASS
#include "attnc/Transforms/Passes.h.inc"
} // namespace attnc
} // namespace mlir

using namespace mlir;
using namespace mlir::attnc;

namespace {

/// True for float scalars and ranked tensors of floats: the only values that
/// carry adjoints.
bool isFloatLike(Type type) {
  if (isa<FloatType>(type))
    return true;
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && isa<FloatType>(tensor.getElementType());
}

/// Emits error "attn-differentiate cannot differentiate 'NAME'" at `op`.
LogicalResult unsupported(Operation *op, StringRef why = {}) {
  InFlightDiagnostic diag = op->emitError()
                            << "attn-differentiate cannot differentiate '"
                            << op->getName() << "'";
  if (!why.empty())
    diag << ": " << why;
  return failure();
}

/// The body of a linalg.reduce with one input: the combining op (arith.addf
/// or arith.maximumf of the two block arguments), or null.
Operation *reductionCombiner(linalg::ReduceOp op) {
  Block &body = op.getCombiner().front();
  if (body.getOperations().size() != 2 || body.getNumArguments() != 2)
    return nullptr;
  Operation *combiner = &body.front();
  if (!isa<arith::AddFOp, arith::MaximumFOp>(combiner))
    return nullptr;
  if (!llvm::is_contained(combiner->getOperands(), body.getArgument(0)) ||
      !llvm::is_contained(combiner->getOperands(), body.getArgument(1)))
    return nullptr;
  if (body.getTerminator()->getOperand(0) != combiner->getResult(0))
    return nullptr;
  return combiner;
}

/// The reverse-mode sweep over one block of original ops. The top-level
/// instance differentiates a loss region; nested instances differentiate a
/// tensor.generate body with respect to one leaf.
class Differentiator {
public:
  Differentiator(OpBuilder &b, IRMapping &fwd) : b(b), fwd(fwd) {}

  /// Marks the values of `ops` that depend on an active value as active
  /// (ops in order; `seeds` are active to begin with).
  void computeActivity(Block &block, ValueRange seeds);
  /// Runs the adjoint rules of the active ops of `block` in reverse order,
  /// skipping the ops that define a value of `stop`.
  LogicalResult reverseSweep(Block &block, ValueRange stop = {});

  bool isActive(Value v) const { return active.contains(v); }
  /// The adjoint of original value `v`, or null when none reached it.
  Value adjointOf(Value v) const { return adjoints.lookup(v); }
  /// Adds `contribution` into the adjoint of original value `v` (a no-op for
  /// inactive values).
  void accumulate(Value v, Value contribution);
  void setAdjoint(Value v, Value adjoint) { adjoints[v] = adjoint; }

  /// Zeros of the type of original value `v` (sizes read from its clone).
  Value zerosLike(Value v);

private:
  Location loc() const { return currentLoc; }
  Value forward(Value v) const { return fwd.lookupOrDefault(v); }

  // Building blocks.
  Value floatConst(Type type, double value);
  Value indexConst(int64_t value);
  SmallVector<Value> dynamicSizes(Value tensor);
  Value zeros(RankedTensorType type, ValueRange dynSizes);
  Value add(Value lhs, Value rhs);
  /// A tensor.generate of `type` (dynamic sizes `dynSizes`) whose element
  /// at `ivs` is `fn(ivs)`.
  Value generate(RankedTensorType type, ValueRange dynSizes,
                 function_ref<Value(ValueRange ivs)> fn);
  /// The sum of tensor `t` over `dims` (linalg.reduce), or `t` if none.
  Value reduceSum(Value t, ArrayRef<int64_t> dims);
  /// The sum of all elements of tensor `t`, as a scalar.
  Value sumAll(Value t);

  // One rule per op kind. `ybar` is the adjoint of the op's (only float)
  // result.
  LogicalResult dispatch(Operation *op);
  LogicalResult adjointArith(Operation *op, Value ybar);
  LogicalResult adjointMath(Operation *op, Value ybar);
  LogicalResult adjointExtract(tensor::ExtractOp op, Value ybar);
  LogicalResult adjointExtractSlice(tensor::ExtractSliceOp op, Value ybar);
  LogicalResult adjointCast(tensor::CastOp op, Value ybar);
  LogicalResult adjointFill(linalg::FillOp op, Value ybar);
  LogicalResult adjointTranspose(linalg::TransposeOp op, Value ybar);
  LogicalResult adjointContraction(linalg::LinalgOp op, Value ybar);
  LogicalResult adjointReduce(linalg::ReduceOp op, Value ybar);
  LogicalResult adjointSoftmax(linalg::SoftmaxOp op, Value ybar);
  LogicalResult adjointGenerate(tensor::GenerateOp op, Value ybar);
  /// The contribution `ybar[i] * d(body)/d(leaf)` of one leaf of `op`, a
  /// tensor of the generate's type.
  FailureOr<Value> generateLeafContribution(tensor::GenerateOp op, Value ybar,
                                            Value leaf);

  OpBuilder &b;
  IRMapping &fwd;
  Location currentLoc = b.getUnknownLoc();
  llvm::DenseSet<Value> active;
  llvm::DenseMap<Value, Value> adjoints;
};

} // namespace

//===----------------------------------------------------------------------===//
// Activity and the sweep
//===----------------------------------------------------------------------===//

void Differentiator::computeActivity(Block &block, ValueRange seeds) {
  for (Value seed : seeds)
    active.insert(seed);
  for (Operation &op : block.without_terminator()) {
    bool dependsOnActive =
        llvm::any_of(op.getOperands(), [&](Value v) { return isActive(v); });
    if (!dependsOnActive && op.getNumRegions())
      op.walk([&](Operation *nested) {
        for (Value v : nested->getOperands())
          dependsOnActive |= isActive(v);
      });
    if (!dependsOnActive)
      continue;
    for (Value result : op.getResults())
      if (isFloatLike(result.getType()))
        active.insert(result);
  }
}

LogicalResult Differentiator::reverseSweep(Block &block, ValueRange stop) {
  for (Operation &op : llvm::reverse(block.without_terminator())) {
    if (llvm::none_of(op.getResults(), [&](Value r) { return isActive(r); }))
      continue;
    if (llvm::any_of(op.getResults(),
                     [&](Value r) { return llvm::is_contained(stop, r); }))
      continue;
    currentLoc = op.getLoc();
    if (failed(dispatch(&op)))
      return failure();
  }
  return success();
}

LogicalResult Differentiator::dispatch(Operation *op) {
  // An active op whose result does not reach the loss needs no rule, but is
  // still checked, so that an unsupported op fails whether or not it does.
  Value ybar = op->getNumResults() == 1 ? adjointOf(op->getResult(0)) : Value();
  auto run = [&](auto rule) -> LogicalResult {
    if (!ybar)
      return success();
    return rule();
  };
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp,
            arith::NegFOp, arith::MaximumFOp, arith::MinimumFOp,
            arith::MaxNumFOp, arith::MinNumFOp, arith::SelectOp, arith::ExtFOp,
            arith::TruncFOp>([&](Operation *op) {
        if (!isa<FloatType>(op->getResult(0).getType()))
          return unsupported(op, "only scalar operands are supported");
        return run([&] { return adjointArith(op, ybar); });
      })
      .Case<math::ExpOp, math::LogOp, math::SqrtOp, math::RsqrtOp, math::TanhOp,
            math::SinOp, math::CosOp, math::PowFOp, math::FPowIOp, math::AbsFOp,
            math::ErfOp, math::ExpM1Op, math::Log1pOp>([&](Operation *op) {
        if (!isa<FloatType>(op->getResult(0).getType()))
          return unsupported(op, "only scalar operands are supported");
        return run([&] { return adjointMath(op, ybar); });
      })
      .Case([&](tensor::ExtractOp op) {
        return run([&] { return adjointExtract(op, ybar); });
      })
      .Case([&](tensor::ExtractSliceOp op) {
        return run([&] { return adjointExtractSlice(op, ybar); });
      })
      .Case([&](tensor::CastOp op) {
        return run([&] { return adjointCast(op, ybar); });
      })
      .Case([&](linalg::FillOp op) {
        return run([&] { return adjointFill(op, ybar); });
      })
      .Case([&](linalg::TransposeOp op) {
        return run([&] { return adjointTranspose(op, ybar); });
      })
      .Case<linalg::MatvecOp, linalg::VecmatOp, linalg::MatmulOp,
            linalg::BatchMatmulOp, linalg::DotOp>([&](Operation *op) {
        auto linalgOp = cast<linalg::LinalgOp>(op);
        if (!linalg::isaContractionOpInterface(linalgOp) ||
            !linalgOp.hasPureTensorSemantics() ||
            linalgOp.getNumDpsInputs() != 2 ||
            !llvm::all_of(linalgOp.getIndexingMapsArray(), [](AffineMap m) {
              return m.isProjectedPermutation();
            }))
          return unsupported(op, "not a float multiply-add contraction");
        return run([&] { return adjointContraction(linalgOp, ybar); });
      })
      .Case([&](linalg::ReduceOp op) {
        if (op.getInputs().size() != 1 || !reductionCombiner(op))
          return unsupported(op,
                             "only single-input arith.addf and arith.maximumf "
                             "reductions are supported");
        return run([&] { return adjointReduce(op, ybar); });
      })
      .Case([&](linalg::SoftmaxOp op) {
        return run([&] { return adjointSoftmax(op, ybar); });
      })
      .Case([&](tensor::GenerateOp op) {
        return run([&] { return adjointGenerate(op, ybar); });
      })
      .Case<tensor::EmptyOp, arith::ConstantOp>(
          [](Operation *) { return success(); })
      .Default([](Operation *op) { return unsupported(op); });
}

void Differentiator::accumulate(Value v, Value contribution) {
  if (!isActive(v) || !contribution)
    return;
  if (contribution.getType() != v.getType())
    contribution = tensor::CastOp::create(b, loc(), v.getType(), contribution);
  auto it = adjoints.find(v);
  if (it == adjoints.end()) {
    adjoints[v] = contribution;
    return;
  }
  it->second = add(it->second, contribution);
}

//===----------------------------------------------------------------------===//
// Building blocks
//===----------------------------------------------------------------------===//

Value Differentiator::floatConst(Type type, double value) {
  return arith::ConstantOp::create(b, loc(), type, b.getFloatAttr(type, value));
}

Value Differentiator::indexConst(int64_t value) {
  return arith::ConstantIndexOp::create(b, loc(), value);
}

SmallVector<Value> Differentiator::dynamicSizes(Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      sizes.push_back(tensor::DimOp::create(b, loc(), tensor, d));
  return sizes;
}

Value Differentiator::zeros(RankedTensorType type, ValueRange dynSizes) {
  Value empty = tensor::EmptyOp::create(b, loc(), type, dynSizes);
  Value zero = floatConst(type.getElementType(), 0.0);
  return linalg::FillOp::create(b, loc(), zero, empty).getResult(0);
}

Value Differentiator::zerosLike(Value v) {
  Value f = forward(v);
  if (auto type = dyn_cast<RankedTensorType>(f.getType()))
    return zeros(type, dynamicSizes(f));
  return floatConst(f.getType(), 0.0);
}

Value Differentiator::add(Value lhs, Value rhs) {
  if (isa<FloatType>(lhs.getType()))
    return arith::AddFOp::create(b, loc(), lhs, rhs);
  auto type = cast<RankedTensorType>(lhs.getType());
  return generate(type, dynamicSizes(lhs), [&](ValueRange ivs) -> Value {
    Value l = tensor::ExtractOp::create(b, loc(), lhs, ivs);
    Value r = tensor::ExtractOp::create(b, loc(), rhs, ivs);
    return arith::AddFOp::create(b, loc(), l, r);
  });
}

Value Differentiator::generate(RankedTensorType type, ValueRange dynSizes,
                               function_ref<Value(ValueRange ivs)> fn) {
  auto op = tensor::GenerateOp::create(
      b, loc(), type, dynSizes, [](OpBuilder &, Location, ValueRange) {});
  Block &body = op.getBody().front();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(&body);
  Value element = fn(body.getArguments());
  tensor::YieldOp::create(b, loc(), element);
  return op.getResult();
}

Value Differentiator::reduceSum(Value t, ArrayRef<int64_t> dims) {
  if (dims.empty())
    return t;
  auto type = cast<RankedTensorType>(t.getType());
  SmallVector<int64_t> shape;
  SmallVector<Value> dynSizes;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (llvm::is_contained(dims, d))
      continue;
    shape.push_back(type.getDimSize(d));
    if (type.isDynamicDim(d))
      dynSizes.push_back(tensor::DimOp::create(b, loc(), t, d));
  }
  Value init =
      zeros(RankedTensorType::get(shape, type.getElementType()), dynSizes);
  auto reduce = linalg::ReduceOp::create(
      b, loc(), ValueRange{t}, ValueRange{init}, dims,
      [](OpBuilder &nb, Location l, ValueRange args) {
        Value sum = arith::AddFOp::create(nb, l, args[0], args[1]);
        linalg::YieldOp::create(nb, l, sum);
      });
  return reduce.getResult(0);
}

Value Differentiator::sumAll(Value t) {
  auto type = cast<RankedTensorType>(t.getType());
  Value sum =
      reduceSum(t, llvm::to_vector(llvm::seq<int64_t>(0, type.getRank())));
  return tensor::ExtractOp::create(b, loc(), sum, ValueRange{});
}

//===----------------------------------------------------------------------===//
// Scalar rules: arith and math
//===----------------------------------------------------------------------===//

LogicalResult Differentiator::adjointArith(Operation *op, Value ybar) {
  Location l = loc();
  auto mul = [&](Value x, Value y) -> Value {
    return arith::MulFOp::create(b, l, x, y);
  };
  auto div = [&](Value x, Value y) -> Value {
    return arith::DivFOp::create(b, l, x, y);
  };
  auto neg = [&](Value x) -> Value { return arith::NegFOp::create(b, l, x); };
  auto zero = [&] { return floatConst(ybar.getType(), 0.0); };
  Value y = forward(op->getResult(0));
  auto operand = [&](unsigned i) { return op->getOperand(i); };
  auto fwdOperand = [&](unsigned i) { return forward(op->getOperand(i)); };

  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](arith::AddFOp) {
        accumulate(operand(0), ybar);
        accumulate(operand(1), ybar);
        return success();
      })
      .Case([&](arith::SubFOp) {
        accumulate(operand(0), ybar);
        if (isActive(operand(1)))
          accumulate(operand(1), neg(ybar));
        return success();
      })
      .Case([&](arith::MulFOp) {
        if (isActive(operand(0)))
          accumulate(operand(0), mul(ybar, fwdOperand(1)));
        if (isActive(operand(1)))
          accumulate(operand(1), mul(ybar, fwdOperand(0)));
        return success();
      })
      .Case([&](arith::DivFOp) {
        // d(a/b)/da = 1/b, d(a/b)/db = -(a/b)/b.
        if (isActive(operand(0)))
          accumulate(operand(0), div(ybar, fwdOperand(1)));
        if (isActive(operand(1)))
          accumulate(operand(1), neg(div(mul(ybar, y), fwdOperand(1))));
        return success();
      })
      .Case([&](arith::NegFOp) {
        accumulate(operand(0), neg(ybar));
        return success();
      })
      .Case<arith::MaximumFOp, arith::MinimumFOp, arith::MaxNumFOp,
            arith::MinNumFOp>([&](Operation *op) {
        // Subgradient: all of it to the selected operand (the first on
        // ties).
        bool isMax = isa<arith::MaximumFOp, arith::MaxNumFOp>(op);
        Value takesFirst = arith::CmpFOp::create(
            b, l, isMax ? arith::CmpFPredicate::OGE : arith::CmpFPredicate::OLE,
            fwdOperand(0), fwdOperand(1));
        if (isActive(operand(0)))
          accumulate(operand(0),
                     arith::SelectOp::create(b, l, takesFirst, ybar, zero()));
        if (isActive(operand(1)))
          accumulate(operand(1),
                     arith::SelectOp::create(b, l, takesFirst, zero(), ybar));
        return success();
      })
      .Case([&](arith::SelectOp select) {
        Value cond = forward(select.getCondition());
        if (isActive(select.getTrueValue()))
          accumulate(select.getTrueValue(),
                     arith::SelectOp::create(b, l, cond, ybar, zero()));
        if (isActive(select.getFalseValue()))
          accumulate(select.getFalseValue(),
                     arith::SelectOp::create(b, l, cond, zero(), ybar));
        return success();
      })
      .Case([&](arith::ExtFOp ext) {
        accumulate(ext.getIn(),
                   arith::TruncFOp::create(b, l, ext.getIn().getType(), ybar));
        return success();
      })
      .Case([&](arith::TruncFOp trunc) {
        accumulate(trunc.getIn(),
                   arith::ExtFOp::create(b, l, trunc.getIn().getType(), ybar));
        return success();
      })
      .Default([](Operation *op) { return unsupported(op); });
}

LogicalResult Differentiator::adjointMath(Operation *op, Value ybar) {
  Location l = loc();
  Type type = ybar.getType();
  auto mul = [&](Value x, Value y) -> Value {
    return arith::MulFOp::create(b, l, x, y);
  };
  auto div = [&](Value x, Value y) -> Value {
    return arith::DivFOp::create(b, l, x, y);
  };
  auto c = [&](double v) { return floatConst(type, v); };
  Value x = forward(op->getOperand(0));
  Value y = forward(op->getResult(0));
  Value in = op->getOperand(0);

  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](math::ExpOp) {
        accumulate(in, mul(ybar, y));
        return success();
      })
      .Case([&](math::LogOp) {
        accumulate(in, div(ybar, x));
        return success();
      })
      .Case([&](math::SqrtOp) {
        // d sqrt(x) = 0.5 / sqrt(x).
        accumulate(in, div(mul(ybar, c(0.5)), y));
        return success();
      })
      .Case([&](math::RsqrtOp) {
        // d x^(-1/2) = -0.5 * x^(-1/2) / x.
        accumulate(in, div(mul(mul(ybar, c(-0.5)), y), x));
        return success();
      })
      .Case([&](math::TanhOp) {
        Value one = c(1.0);
        Value oneMinusY2 = arith::SubFOp::create(b, l, one, mul(y, y));
        accumulate(in, mul(ybar, oneMinusY2));
        return success();
      })
      .Case([&](math::SinOp) {
        accumulate(in, mul(ybar, math::CosOp::create(b, l, x)));
        return success();
      })
      .Case([&](math::CosOp) {
        Value negSin =
            arith::NegFOp::create(b, l, math::SinOp::create(b, l, x));
        accumulate(in, mul(ybar, negSin));
        return success();
      })
      .Case([&](math::PowFOp pow) {
        // d a^p/da = p * a^(p - 1), d a^p/dp = a^p * log(a).
        Value p = forward(pow.getRhs());
        if (isActive(pow.getLhs())) {
          Value pm1 = arith::SubFOp::create(b, l, p, c(1.0));
          Value d = mul(p, math::PowFOp::create(b, l, x, pm1));
          accumulate(pow.getLhs(), mul(ybar, d));
        }
        if (isActive(pow.getRhs()))
          accumulate(pow.getRhs(),
                     mul(ybar, mul(y, math::LogOp::create(b, l, x))));
        return success();
      })
      .Case([&](math::FPowIOp pow) {
        // d a^n/da = n * a^(n - 1) (the exponent is an integer).
        Value n = forward(pow.getRhs());
        Value one = arith::ConstantOp::create(b, l, n.getType(),
                                              b.getIntegerAttr(n.getType(), 1));
        Value nm1 = arith::SubIOp::create(b, l, n, one);
        Value nf = arith::SIToFPOp::create(b, l, type, n);
        Value d = mul(nf, math::FPowIOp::create(b, l, x, nm1));
        accumulate(in, mul(ybar, d));
        return success();
      })
      .Case([&](math::AbsFOp) {
        // Subgradient 1 at 0.
        Value negative =
            arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, x, c(0.0));
        Value negYbar = arith::NegFOp::create(b, l, ybar);
        accumulate(in, arith::SelectOp::create(b, l, negative, negYbar, ybar));
        return success();
      })
      .Case([&](math::ErfOp) {
        // d erf(x) = 2/sqrt(pi) * exp(-x^2).
        Value e =
            math::ExpOp::create(b, l, arith::NegFOp::create(b, l, mul(x, x)));
        accumulate(in, mul(ybar, mul(c(2.0 * llvm::numbers::inv_sqrtpi), e)));
        return success();
      })
      .Case([&](math::ExpM1Op) {
        accumulate(in, mul(ybar, arith::AddFOp::create(b, l, y, c(1.0))));
        return success();
      })
      .Case([&](math::Log1pOp) {
        accumulate(in, div(ybar, arith::AddFOp::create(b, l, x, c(1.0))));
        return success();
      })
      .Default([](Operation *op) { return unsupported(op); });
}

//===----------------------------------------------------------------------===//
// Tensor rules
//===----------------------------------------------------------------------===//

LogicalResult Differentiator::adjointExtract(tensor::ExtractOp op, Value ybar) {
  Value source = op.getTensor();
  auto type = cast<RankedTensorType>(source.getType());
  if (type.getRank() == 0) {
    Value empty = tensor::EmptyOp::create(b, loc(), type, ValueRange{});
    accumulate(source,
               linalg::FillOp::create(b, loc(), ybar, empty).getResult(0));
    return success();
  }
  // x[idx] read once: the adjoint is ybar at idx and zero elsewhere.
  SmallVector<Value> indices =
      llvm::map_to_vector(op.getIndices(), [&](Value v) { return forward(v); });
  Value zero = floatConst(ybar.getType(), 0.0);
  Value adjoint =
      generate(type, dynamicSizes(forward(source)), [&](ValueRange ivs) {
        Value all;
        for (auto [iv, index] : llvm::zip(ivs, indices)) {
          Value eq = arith::CmpIOp::create(b, loc(), arith::CmpIPredicate::eq,
                                           iv, index);
          all = all ? arith::AndIOp::create(b, loc(), all, eq).getResult() : eq;
        }
        return arith::SelectOp::create(b, loc(), all, ybar, zero).getResult();
      });
  accumulate(source, adjoint);
  return success();
}

LogicalResult Differentiator::adjointExtractSlice(tensor::ExtractSliceOp op,
                                                  Value ybar) {
  auto map = [&](ArrayRef<OpFoldResult> list) {
    return llvm::map_to_vector(list, [&](OpFoldResult ofr) -> OpFoldResult {
      if (auto v = dyn_cast<Value>(ofr))
        return forward(v);
      return ofr;
    });
  };
  Value dest = zerosLike(op.getSource());
  Value adjoint = tensor::InsertSliceOp::create(
      b, loc(), ybar, dest, map(op.getMixedOffsets()), map(op.getMixedSizes()),
      map(op.getMixedStrides()));
  accumulate(op.getSource(), adjoint);
  return success();
}

LogicalResult Differentiator::adjointCast(tensor::CastOp op, Value ybar) {
  accumulate(op.getSource(), ybar);
  return success();
}

LogicalResult Differentiator::adjointFill(linalg::FillOp op, Value ybar) {
  // Every element is the scalar; the init is overwritten.
  Value value = op.getInputs()[0];
  if (isActive(value))
    accumulate(value, sumAll(ybar));
  return success();
}

LogicalResult Differentiator::adjointTranspose(linalg::TransposeOp op,
                                               Value ybar) {
  ArrayRef<int64_t> perm = op.getPermutation();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = i;
  Value init = zerosLike(op.getInput());
  Value adjoint =
      linalg::TransposeOp::create(b, loc(), ybar, init, inverse)->getResult(0);
  accumulate(op.getInput(), adjoint);
  return success();
}

LogicalResult Differentiator::adjointContraction(linalg::LinalgOp op,
                                                 Value ybar) {
  // y[mY] = init[mY] + sum a[mA] * b[mB]. The adjoint of input k is the
  // contraction of ybar with the other input over the loops k does not
  // index: kbar[mK] = sum ybar[mY] * other[mO], a linalg.generic with the
  // op's own indexing maps.
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  unsigned numLoops = op.getNumLoops();
  OpOperand *init = op.getDpsInitOperand(0);
  accumulate(init->get(), ybar);
  for (unsigned k = 0; k < 2; ++k) {
    Value operand = op.getDpsInputOperand(k)->get();
    if (!isActive(operand))
      continue;
    Value other = forward(op.getDpsInputOperand(1 - k)->get());
    AffineMap mapK = maps[k];
    SmallVector<utils::IteratorType> iterators(numLoops,
                                               utils::IteratorType::reduction);
    for (AffineExpr e : mapK.getResults())
      iterators[cast<AffineDimExpr>(e).getPosition()] =
          utils::IteratorType::parallel;
    Value out = zerosLike(operand);
    auto generic = linalg::GenericOp::create(
        b, loc(), TypeRange{out.getType()}, ValueRange{ybar, other},
        ValueRange{out}, ArrayRef<AffineMap>{maps[2], maps[1 - k], mapK},
        iterators, [](OpBuilder &nb, Location l, ValueRange args) {
          Value prod = arith::MulFOp::create(nb, l, args[0], args[1]);
          Value sum = arith::AddFOp::create(nb, l, args[2], prod);
          linalg::YieldOp::create(nb, l, sum);
        });
    accumulate(operand, generic.getResult(0));
  }
  return success();
}

LogicalResult Differentiator::adjointReduce(linalg::ReduceOp op, Value ybar) {
  Value input = op.getInputs()[0];
  Value init = op.getInits()[0];
  ArrayRef<int64_t> dims = op.getDimensions();
  Value x = forward(input);
  Value y = forward(op.getResult(0));
  auto inputType = cast<RankedTensorType>(x.getType());
  // The indices of the result that input point `ivs` reduces into.
  auto keptIndices = [&](ValueRange ivs) {
    SmallVector<Value> kept;
    for (auto [d, iv] : llvm::enumerate(ivs))
      if (!llvm::is_contained(dims, static_cast<int64_t>(d)))
        kept.push_back(iv);
    return kept;
  };

  if (isa<arith::AddFOp>(reductionCombiner(op))) {
    // Sum: broadcast ybar back over the reduced dimensions.
    accumulate(init, ybar);
    if (isActive(input))
      accumulate(
          input, generate(inputType, dynamicSizes(x), [&](ValueRange ivs) {
            return tensor::ExtractOp::create(b, loc(), ybar, keptIndices(ivs))
                .getResult();
          }));
    return success();
  }

  // Max: ybar goes to the maximal elements, shared equally among ties.
  if (isActive(init))
    return unsupported(op, "a maximum reduction into a differentiated init");
  if (!isActive(input))
    return success();
  Type elemType = inputType.getElementType();
  Value one = floatConst(elemType, 1.0);
  Value zero = floatConst(elemType, 0.0);
  auto isMax = [&](ValueRange ivs) -> Value {
    Value xi = tensor::ExtractOp::create(b, loc(), x, ivs);
    Value yi = tensor::ExtractOp::create(b, loc(), y, keptIndices(ivs));
    return arith::CmpFOp::create(b, loc(), arith::CmpFPredicate::OEQ, xi, yi);
  };
  Value hits = generate(inputType, dynamicSizes(x), [&](ValueRange ivs) {
    return arith::SelectOp::create(b, loc(), isMax(ivs), one, zero).getResult();
  });
  Value counts = reduceSum(hits, dims);
  accumulate(input, generate(inputType, dynamicSizes(x), [&](ValueRange ivs) {
               SmallVector<Value> kept = keptIndices(ivs);
               Value g = tensor::ExtractOp::create(b, loc(), ybar, kept);
               Value n = tensor::ExtractOp::create(b, loc(), counts, kept);
               Value share = arith::DivFOp::create(b, loc(), g, n);
               return arith::SelectOp::create(b, loc(), isMax(ivs), share, zero)
                   .getResult();
             }));
  return success();
}

LogicalResult Differentiator::adjointSoftmax(linalg::SoftmaxOp op, Value ybar) {
  // xbar = y * (ybar - sum_d(y * ybar)).
  Value input = op.getInput();
  Value y = forward(op.getResult()[0]);
  int64_t dim = op.getDimension();
  auto type = cast<RankedTensorType>(y.getType());
  SmallVector<Value> sizes = dynamicSizes(y);
  Value prod = generate(type, sizes, [&](ValueRange ivs) {
    Value yi = tensor::ExtractOp::create(b, loc(), y, ivs);
    Value gi = tensor::ExtractOp::create(b, loc(), ybar, ivs);
    return arith::MulFOp::create(b, loc(), yi, gi).getResult();
  });
  Value sums = reduceSum(prod, {dim});
  accumulate(input, generate(type, sizes, [&](ValueRange ivs) {
               SmallVector<Value> kept(ivs.begin(), ivs.end());
               kept.erase(kept.begin() + dim);
               Value yi = tensor::ExtractOp::create(b, loc(), y, ivs);
               Value gi = tensor::ExtractOp::create(b, loc(), ybar, ivs);
               Value s = tensor::ExtractOp::create(b, loc(), sums, kept);
               Value diff = arith::SubFOp::create(b, loc(), gi, s);
               return arith::MulFOp::create(b, loc(), yi, diff).getResult();
             }));
  return success();
}

//===----------------------------------------------------------------------===//
// tensor.generate
//===----------------------------------------------------------------------===//

/// How a leaf `tensor.extract` inside a generate body indexes its tensor:
/// per tensor dimension, the generate dimension it reads (or -1 for a
/// constant index, held in `constants`).
struct ExtractPattern {
  SmallVector<int64_t> genDims;
  SmallVector<int64_t> constants;
};

static FailureOr<ExtractPattern> matchExtract(tensor::ExtractOp extract,
                                              Block &body, std::string &why) {
  ExtractPattern pattern;
  llvm::SmallDenseSet<int64_t> seen;
  for (Value index : extract.getIndices()) {
    auto arg = dyn_cast<BlockArgument>(index);
    if (arg && arg.getOwner() == &body) {
      if (!seen.insert(arg.getArgNumber()).second) {
        why = "it reads a tensor with a repeated index";
        return failure();
      }
      pattern.genDims.push_back(arg.getArgNumber());
      pattern.constants.push_back(0);
      continue;
    }
    if (std::optional<int64_t> c = getConstantIntValue(index)) {
      pattern.genDims.push_back(-1);
      pattern.constants.push_back(*c);
      continue;
    }
    why = "it reads a tensor at an index that is neither an index of the "
          "generate nor a constant";
    return failure();
  }
  return pattern;
}

LogicalResult Differentiator::adjointGenerate(tensor::GenerateOp op,
                                              Value ybar) {
  Block &body = op.getBody().front();
  auto fail = [&](const Twine &why) {
    return op.emitError()
           << "attn-differentiate cannot differentiate this tensor.generate: "
           << why;
  };
  // The leaves: reads of active tensors and active captured scalars.
  llvm::SetVector<Value> leaves;
  for (Operation &inner : body) {
    if (inner.getNumRegions())
      return unsupported(&inner);
    for (Value operand : inner.getOperands()) {
      if (operand.getParentBlock() == &body || !isActive(operand))
        continue;
      if (isa<FloatType>(operand.getType())) {
        leaves.insert(operand);
        continue;
      }
      if (auto extract = dyn_cast<tensor::ExtractOp>(inner)) {
        std::string why;
        if (failed(matchExtract(extract, body, why)))
          return fail(why);
        leaves.insert(extract.getResult());
        continue;
      }
      if (!isa<tensor::DimOp>(inner))
        return fail(Twine("it uses a differentiated tensor in '") +
                    inner.getName().getStringRef() + "'");
    }
  }

  for (Value leaf : leaves) {
    FailureOr<Value> contribution = generateLeafContribution(op, ybar, leaf);
    if (failed(contribution))
      return failure();
    auto genType = cast<RankedTensorType>(contribution->getType());
    auto extract = leaf.getDefiningOp<tensor::ExtractOp>();
    if (!extract || extract->getBlock() != &body) {
      // A captured scalar: the sum over every point.
      accumulate(leaf, sumAll(*contribution));
      continue;
    }
    std::string why;
    ExtractPattern pattern = *matchExtract(extract, body, why);
    // Sum over the generate dimensions the read does not use.
    SmallVector<int64_t> reduced;
    for (int64_t d = 0; d < genType.getRank(); ++d)
      if (!llvm::is_contained(pattern.genDims, d))
        reduced.push_back(d);
    Value summed = reduceSum(*contribution, reduced);
    // The kept generate dimensions in increasing order; the source is read
    // back directly when its dimensions are exactly these.
    SmallVector<int64_t> kept;
    for (int64_t d = 0; d < genType.getRank(); ++d)
      if (!llvm::is_contained(reduced, d))
        kept.push_back(d);
    Value source = extract.getTensor();
    if (ArrayRef<int64_t>(pattern.genDims) == ArrayRef<int64_t>(kept)) {
      accumulate(source, summed);
      continue;
    }
    // Otherwise place it: permuted dimensions, and constant indices get
    // the sum at that index and zero elsewhere.
    Value fwdSource = forward(source);
    auto sourceType = cast<RankedTensorType>(fwdSource.getType());
    Value zero = floatConst(sourceType.getElementType(), 0.0);
    accumulate(
        source,
        generate(sourceType, dynamicSizes(fwdSource), [&](ValueRange ivs) {
          SmallVector<Value> at(kept.size());
          Value inRange;
          for (auto [d, iv] : llvm::enumerate(ivs)) {
            if (pattern.genDims[d] >= 0) {
              at[llvm::find(kept, pattern.genDims[d]) - kept.begin()] = iv;
              continue;
            }
            Value eq =
                arith::CmpIOp::create(b, loc(), arith::CmpIPredicate::eq, iv,
                                      indexConst(pattern.constants[d]));
            inRange =
                inRange
                    ? arith::AndIOp::create(b, loc(), inRange, eq).getResult()
                    : eq;
          }
          Value v = tensor::ExtractOp::create(b, loc(), summed, at);
          if (!inRange)
            return v;
          return arith::SelectOp::create(b, loc(), inRange, v, zero)
              .getResult();
        }));
  }
  return success();
}

FailureOr<Value> Differentiator::generateLeafContribution(tensor::GenerateOp op,
                                                          Value ybar,
                                                          Value leaf) {
  Block &body = op.getBody().front();
  auto fwdOp =
      cast<tensor::GenerateOp>(forward(op.getResult()).getDefiningOp());
  auto type = cast<RankedTensorType>(op.getType());
  LogicalResult status = success();
  Value result = generate(type, fwdOp.getDynamicExtents(), [&](ValueRange ivs) {
    // Re-compute the body at `ivs`, then sweep it back from ybar[ivs].
    IRMapping inner = fwd;
    for (auto [arg, iv] : llvm::zip(body.getArguments(), ivs))
      inner.map(arg, iv);
    for (Operation &bodyOp : body.without_terminator())
      b.clone(bodyOp, inner);
    Differentiator nested(b, inner);
    nested.currentLoc = currentLoc;
    nested.computeActivity(body, leaf);
    Value yielded = body.getTerminator()->getOperand(0);
    Value seed = tensor::ExtractOp::create(b, loc(), ybar, ivs);
    if (nested.isActive(yielded))
      nested.setAdjoint(yielded, seed);
    status = nested.reverseSweep(body, leaf);
    Value d = nested.adjointOf(leaf);
    return d ? d : floatConst(type.getElementType(), 0.0);
  });
  if (failed(status))
    return failure();
  return result;
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

/// Replaces `grad` by its forward and reverse sweeps.
static LogicalResult expandGrad(attn::GradOp grad) {
  OpBuilder b(grad);
  Block &body = grad.getLoss().front();
  IRMapping fwd;
  for (auto [arg, wrt] : llvm::zip(body.getArguments(), grad.getWrt()))
    fwd.map(arg, wrt);
  for (Operation &op : body.without_terminator())
    b.clone(op, fwd);

  Differentiator diff(b, fwd);
  diff.computeActivity(body, body.getArguments());
  Value loss = body.getTerminator()->getOperand(0);
  if (diff.isActive(loss)) {
    Value one = arith::ConstantOp::create(b, grad.getLoc(), loss.getType(),
                                          b.getFloatAttr(loss.getType(), 1.0));
    diff.setAdjoint(loss, one);
  }
  if (failed(diff.reverseSweep(body)))
    return failure();

  SmallVector<Value> gradients;
  for (BlockArgument arg : body.getArguments()) {
    Value adjoint = diff.adjointOf(arg);
    gradients.push_back(adjoint ? adjoint : diff.zerosLike(arg));
  }
  grad.replaceAllUsesWith(gradients);
  grad.erase();
  return success();
}

namespace {
struct AttnDifferentiatePass
    : attnc::impl::AttnDifferentiatePassBase<AttnDifferentiatePass> {
  void runOnOperation() override {
    // Post-order: a grad nested in another grad's loss is expanded first.
    SmallVector<attn::GradOp> grads;
    getOperation()->walk([&](attn::GradOp grad) { grads.push_back(grad); });
    for (attn::GradOp grad : grads)
      if (failed(expandGrad(grad)))
        return signalPassFailure();
  }
};
} // namespace
