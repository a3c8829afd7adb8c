//===- ArithMath.cpp - The arith and math dialects ------------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Element-wise arithmetic: arith.* and math.* on scalars (rank-0 tensors)
/// and, element by element, on tensors of one shape. Floats of every width
/// are held in float64 (extf and truncf change nothing). Integers are held
/// by their signed value at their bit width: every integer result is
/// wrapped to its type's width (two's complement), i1 is 0 or 1, and a
/// value beyond 2^53 in magnitude, which a double cannot hold exactly, is
/// an error.
///
//===----------------------------------------------------------------------===//

#include "InterpreterImpl.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace attnc {
namespace interp {

namespace {
using ElementFn = function_ref<FailureOr<double>(ArrayRef<double>)>;
using FloatUnary = double (*)(double);
using FloatBinary = double (*)(double, double);
} // namespace

/// Applies `fn` to the operands of `op` element by element and binds the
/// single result. The operands are tensors of one shape; a rank-0 operand
/// (arith.select's scalar condition) is used for every element.
static LogicalResult mapElements(Interpreter &interp, Operation *op,
                                 ElementFn fn) {
  FailureOr<std::vector<TensorRef>> operands = interp.getOperands(op);
  if (failed(operands))
    return failure();
  std::vector<int64_t> shape;
  for (const TensorRef &t : *operands) {
    if (t->shape.empty())
      continue;
    if (shape.empty())
      shape = t->shape;
    else if (shape != t->shape)
      return opError(op) << "has operands of different shapes";
  }
  Tensor result = makeTensor(kindOf(op->getResult(0).getType()), shape);
  SmallVector<double> args(operands->size());
  for (int64_t i = 0; i < result.numElements(); ++i) {
    for (size_t k = 0; k < operands->size(); ++k) {
      const Tensor &t = *(*operands)[k];
      args[k] = t.shape.empty() ? t.data[0] : t.data[i];
    }
    FailureOr<double> v = fn(args);
    if (failed(v))
      return failure();
    result.data[i] = *v;
  }
  return interp.bind(op, op->getResult(0), std::move(result));
}

//===----------------------------------------------------------------------===//
// Integer representation
//===----------------------------------------------------------------------===//

/// The signed value of an integer element of `type` (i1 true is -1).
static int64_t loadSigned(double value, Type type) {
  if (intWidth(type) == 1)
    return value != 0 ? -1 : 0;
  return static_cast<int64_t>(value);
}

/// The unsigned value of an integer element of `type` (i1 true is 1).
static uint64_t loadUnsigned(double value, Type type) {
  return wrapUnsigned(static_cast<uint64_t>(loadSigned(value, type)),
                      intWidth(type));
}

/// Wraps `bits` to the width of `type` and returns it as an element: the
/// signed value, or 0/1 for i1. Values beyond 2^53 are an error at `op`.
static FailureOr<double> storeInt(Operation *op, uint64_t bits, Type type) {
  unsigned width = intWidth(type);
  if (width == 1)
    return static_cast<double>(bits & 1);
  int64_t value = wrapSigned(bits, width);
  double result = static_cast<double>(value);
  if (std::fabs(result) > kMaxExactInt) {
    opError(op) << "integer result " << value
                << " is beyond 2^53, which float64 cannot hold exactly";
    return failure();
  }
  return result;
}

//===----------------------------------------------------------------------===//
// arith.constant
//===----------------------------------------------------------------------===//

static FailureOr<double> floatValue(APFloat value) {
  bool lost = false;
  value.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
  return value.convertToDouble();
}

static FailureOr<double> intValue(Operation *op, const APInt &value) {
  if (value.getBitWidth() == 1)
    return value.getBoolValue() ? 1.0 : 0.0;
  if (value.getBitWidth() > 64 && !value.isSignedIntN(64))
    return opError(op) << "has an integer constant wider than 64 bits";
  return storeInt(op, static_cast<uint64_t>(value.getSExtValue()),
                  op->getResult(0).getType());
}

/// arith.constant: the attribute's value (a scalar, or a dense tensor,
/// splat or element by element in row-major order).
static LogicalResult runConstant(Interpreter &interp, arith::ConstantOp op) {
  Attribute attr = op.getValue();
  Type type = op.getType();
  if (auto f = dyn_cast<FloatAttr>(attr))
    return interp.bind(op, op.getResult(),
                       makeScalar(ElemKind::Float, f.getValueAsDouble()));
  if (auto i = dyn_cast<IntegerAttr>(attr)) {
    FailureOr<double> v = intValue(op, i.getValue());
    if (failed(v))
      return failure();
    return interp.bind(op, op.getResult(), makeScalar(kindOf(type), *v));
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  auto tensorType = dyn_cast<RankedTensorType>(type);
  if (!dense || !tensorType || !tensorType.hasStaticShape())
    return opError(op) << "has a constant attribute the interpreter does not "
                          "read: "
                       << attr;
  Tensor result = makeTensor(kindOf(type), tensorType.getShape());
  int64_t i = 0;
  if (isa<FloatType>(tensorType.getElementType())) {
    for (APFloat f : dense.getValues<APFloat>()) {
      FailureOr<double> v = floatValue(f);
      if (failed(v))
        return failure();
      result.data[i++] = *v;
    }
  } else if (tensorType.getElementType().isIntOrIndex()) {
    for (APInt a : dense.getValues<APInt>()) {
      FailureOr<double> v = intValue(op, a);
      if (failed(v))
        return failure();
      result.data[i++] = *v;
    }
  } else {
    return opError(op) << "has a constant of element type "
                       << tensorType.getElementType();
  }
  return interp.bind(op, op.getResult(), std::move(result));
}

//===----------------------------------------------------------------------===//
// Floats
//===----------------------------------------------------------------------===//

/// The one-operand float ops, each with its formula.
static FloatUnary getFloatUnary(Operation *op) {
  if (isa<arith::NegFOp>(op)) // -x
    return [](double x) { return -x; };
  if (isa<arith::ExtFOp, arith::TruncFOp>(op)) // x (all floats are f64)
    return [](double x) { return x; };
  if (isa<math::ExpOp>(op)) // e^x
    return [](double x) { return std::exp(x); };
  if (isa<math::Exp2Op>(op)) // 2^x
    return [](double x) { return std::exp2(x); };
  if (isa<math::ExpM1Op>(op)) // e^x - 1
    return [](double x) { return std::expm1(x); };
  if (isa<math::LogOp>(op)) // ln x
    return [](double x) { return std::log(x); };
  if (isa<math::Log2Op>(op)) // log2 x
    return [](double x) { return std::log2(x); };
  if (isa<math::Log1pOp>(op)) // ln(1 + x)
    return [](double x) { return std::log1p(x); };
  if (isa<math::SqrtOp>(op)) // sqrt x
    return [](double x) { return std::sqrt(x); };
  if (isa<math::RsqrtOp>(op)) // 1 / sqrt x
    return [](double x) { return 1.0 / std::sqrt(x); };
  if (isa<math::TanhOp>(op)) // tanh x
    return [](double x) { return std::tanh(x); };
  if (isa<math::ErfOp>(op)) // erf x = 2/sqrt(pi) int_0^x e^(-t^2) dt
    return [](double x) { return std::erf(x); };
  if (isa<math::SinOp>(op)) // sin x
    return [](double x) { return std::sin(x); };
  if (isa<math::CosOp>(op)) // cos x
    return [](double x) { return std::cos(x); };
  if (isa<math::AbsFOp>(op)) // |x|
    return [](double x) { return std::fabs(x); };
  if (isa<math::FloorOp>(op)) // largest integer <= x
    return [](double x) { return std::floor(x); };
  if (isa<math::CeilOp>(op)) // smallest integer >= x
    return [](double x) { return std::ceil(x); };
  return nullptr;
}

/// IEEE 754-2019 maximum: NaN if either is NaN, and -0 < +0.
static double maximumF(double a, double b) {
  if (std::isnan(a) || std::isnan(b))
    return std::numeric_limits<double>::quiet_NaN();
  if (a == b)
    return std::signbit(a) ? b : a;
  return a > b ? a : b;
}

/// IEEE 754-2019 minimum: NaN if either is NaN, and -0 < +0.
static double minimumF(double a, double b) {
  if (std::isnan(a) || std::isnan(b))
    return std::numeric_limits<double>::quiet_NaN();
  if (a == b)
    return std::signbit(a) ? a : b;
  return a < b ? a : b;
}

/// The two-operand float ops, each with its formula.
static FloatBinary getFloatBinary(Operation *op) {
  if (isa<arith::AddFOp>(op)) // a + b
    return [](double a, double b) { return a + b; };
  if (isa<arith::SubFOp>(op)) // a - b
    return [](double a, double b) { return a - b; };
  if (isa<arith::MulFOp>(op)) // a * b
    return [](double a, double b) { return a * b; };
  if (isa<arith::DivFOp>(op)) // a / b (IEEE: x/0 is +-inf or NaN)
    return [](double a, double b) { return a / b; };
  if (isa<arith::RemFOp>(op)) // a - b * trunc(a / b) (C fmod, LLVM frem)
    return [](double a, double b) { return std::fmod(a, b); };
  if (isa<arith::MaximumFOp>(op)) // max(a, b), NaN-propagating
    return maximumF;
  if (isa<arith::MinimumFOp>(op)) // min(a, b), NaN-propagating
    return minimumF;
  if (isa<arith::MaxNumFOp>(op)) // max(a, b), the other operand if one is NaN
    return [](double a, double b) { return std::fmax(a, b); };
  if (isa<arith::MinNumFOp>(op)) // min(a, b), the other operand if one is NaN
    return [](double a, double b) { return std::fmin(a, b); };
  if (isa<math::PowFOp>(op)) // a^b
    return [](double a, double b) { return std::pow(a, b); };
  return nullptr;
}

/// arith.cmpf: the predicate on (a, b); "o" predicates are false and "u"
/// predicates true when either operand is NaN.
static bool compareFloats(arith::CmpFPredicate predicate, double a, double b) {
  bool unordered = std::isnan(a) || std::isnan(b);
  using P = arith::CmpFPredicate;
  switch (predicate) {
  case P::AlwaysFalse:
    return false;
  case P::OEQ:
    return !unordered && a == b;
  case P::OGT:
    return !unordered && a > b;
  case P::OGE:
    return !unordered && a >= b;
  case P::OLT:
    return !unordered && a < b;
  case P::OLE:
    return !unordered && a <= b;
  case P::ONE:
    return !unordered && a != b;
  case P::ORD:
    return !unordered;
  case P::UEQ:
    return unordered || a == b;
  case P::UGT:
    return unordered || a > b;
  case P::UGE:
    return unordered || a >= b;
  case P::ULT:
    return unordered || a < b;
  case P::ULE:
    return unordered || a <= b;
  case P::UNE:
    return unordered || a != b;
  case P::UNO:
    return unordered;
  case P::AlwaysTrue:
    return true;
  }
  return false;
}

//===----------------------------------------------------------------------===//
// Integers
//===----------------------------------------------------------------------===//

/// arith.cmpi: the predicate on the signed ("s") or unsigned ("u") values.
static bool compareInts(arith::CmpIPredicate predicate, double a, double b,
                        Type type) {
  int64_t sa = loadSigned(a, type), sb = loadSigned(b, type);
  uint64_t ua = loadUnsigned(a, type), ub = loadUnsigned(b, type);
  using P = arith::CmpIPredicate;
  switch (predicate) {
  case P::eq:
    return sa == sb;
  case P::ne:
    return sa != sb;
  case P::slt:
    return sa < sb;
  case P::sle:
    return sa <= sb;
  case P::sgt:
    return sa > sb;
  case P::sge:
    return sa >= sb;
  case P::ult:
    return ua < ub;
  case P::ule:
    return ua <= ub;
  case P::ugt:
    return ua > ub;
  case P::uge:
    return ua >= ub;
  }
  return false;
}

/// Signed division helpers: an error for a zero divisor or a quotient that
/// does not fit the width (min / -1), which are poison in the IR.
static FailureOr<int64_t> checkedDivide(Operation *op, int64_t a, int64_t b,
                                        unsigned width) {
  if (b == 0) {
    opError(op) << "divides by zero";
    return failure();
  }
  if (b == -1 && wrapSigned(static_cast<uint64_t>(-static_cast<uint64_t>(a)),
                            width) != -a) {
    opError(op) << "overflows (the smallest value divided by -1)";
    return failure();
  }
  if (b == -1)
    return -a;
  return a / b;
}

/// The two-operand integer ops on the signed values a, b of `type`; the
/// result is wrapped to the width by storeInt.
static std::optional<FailureOr<uint64_t>> runIntBinary(Operation *op, int64_t a,
                                                       int64_t b, Type type) {
  unsigned width = intWidth(type);
  auto ua = static_cast<uint64_t>(a), ub = static_cast<uint64_t>(b);
  if (isa<arith::AddIOp>(op)) // a + b mod 2^w
    return FailureOr<uint64_t>(ua + ub);
  if (isa<arith::SubIOp>(op)) // a - b mod 2^w
    return FailureOr<uint64_t>(ua - ub);
  if (isa<arith::MulIOp>(op)) // a * b mod 2^w
    return FailureOr<uint64_t>(ua * ub);
  if (isa<arith::AndIOp>(op)) // bitwise a & b
    return FailureOr<uint64_t>(ua & ub);
  if (isa<arith::OrIOp>(op)) // bitwise a | b
    return FailureOr<uint64_t>(ua | ub);
  if (isa<arith::XOrIOp>(op)) // bitwise a ^ b
    return FailureOr<uint64_t>(ua ^ ub);
  if (isa<arith::MaxSIOp>(op)) // max(a, b), signed
    return FailureOr<uint64_t>(static_cast<uint64_t>(std::max(a, b)));
  if (isa<arith::MinSIOp>(op)) // min(a, b), signed
    return FailureOr<uint64_t>(static_cast<uint64_t>(std::min(a, b)));
  if (isa<arith::MaxUIOp>(op)) // max(a, b), unsigned
    return FailureOr<uint64_t>(
        std::max(wrapUnsigned(ua, width), wrapUnsigned(ub, width)));
  if (isa<arith::MinUIOp>(op)) // min(a, b), unsigned
    return FailureOr<uint64_t>(
        std::min(wrapUnsigned(ua, width), wrapUnsigned(ub, width)));
  if (isa<arith::DivSIOp>(op)) { // a / b rounded toward zero
    FailureOr<int64_t> q = checkedDivide(op, a, b, width);
    if (failed(q))
      return FailureOr<uint64_t>(failure());
    return FailureOr<uint64_t>(static_cast<uint64_t>(*q));
  }
  if (isa<arith::FloorDivSIOp>(op)) { // floor(a / b)
    FailureOr<int64_t> q = checkedDivide(op, a, b, width);
    if (failed(q))
      return FailureOr<uint64_t>(failure());
    int64_t floor = *q - ((a % b != 0 && ((a < 0) != (b < 0))) ? 1 : 0);
    return FailureOr<uint64_t>(static_cast<uint64_t>(floor));
  }
  if (isa<arith::RemSIOp>(op)) { // a - b * trunc(a / b), the sign of a
    if (b == 0) {
      opError(op) << "divides by zero";
      return FailureOr<uint64_t>(failure());
    }
    return FailureOr<uint64_t>(b == -1 ? 0 : static_cast<uint64_t>(a % b));
  }
  if (isa<arith::DivUIOp, arith::RemUIOp>(op)) { // unsigned a / b, a mod b
    uint64_t x = wrapUnsigned(ua, width), y = wrapUnsigned(ub, width);
    if (y == 0) {
      opError(op) << "divides by zero";
      return FailureOr<uint64_t>(failure());
    }
    return FailureOr<uint64_t>(isa<arith::DivUIOp>(op) ? x / y : x % y);
  }
  if (isa<math::IPowIOp>(op)) { // a^b mod 2^w; b < 0 gives 1/a^|b| truncated
    if (b < 0) {
      if (a == 0) {
        opError(op) << "raises zero to a negative power";
        return FailureOr<uint64_t>(failure());
      }
      if (a == 1)
        return FailureOr<uint64_t>(1);
      if (a == -1)
        return FailureOr<uint64_t>((b % 2 == 0) ? 1 : ~uint64_t(0));
      return FailureOr<uint64_t>(0);
    }
    uint64_t result = 1, base = ua;
    for (uint64_t e = static_cast<uint64_t>(b); e != 0; e >>= 1) {
      if (e & 1)
        result *= base;
      base *= base;
    }
    return FailureOr<uint64_t>(result);
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Casts
//===----------------------------------------------------------------------===//

/// float -> integer: the value rounded toward zero; NaN or a value outside
/// the target's range (poison in the IR) is an error.
static FailureOr<double> floatToInt(Operation *op, double x, Type type,
                                    bool isSigned) {
  unsigned width = intWidth(type);
  double t = std::trunc(x);
  double lo = isSigned ? -std::ldexp(1.0, width - 1) : 0.0;
  double hi = isSigned ? std::ldexp(1.0, width - 1) : std::ldexp(1.0, width);
  if (std::isnan(x) || t < lo || t >= hi) {
    opError(op) << "converts " << x << ", which is out of the range of "
                << type;
    return failure();
  }
  if (width == 1)
    return t != 0 ? 1.0 : 0.0;
  if (isSigned)
    return storeInt(op, static_cast<uint64_t>(static_cast<int64_t>(t)), type);
  return storeInt(op, static_cast<uint64_t>(t), type);
}

static std::optional<LogicalResult> runCast(Interpreter &interp,
                                            Operation *op) {
  if (!isa<arith::IndexCastOp, arith::IndexCastUIOp, arith::ExtSIOp,
           arith::ExtUIOp, arith::TruncIOp, arith::SIToFPOp, arith::UIToFPOp,
           arith::FPToSIOp, arith::FPToUIOp>(op))
    return std::nullopt;
  Type from = getElementTypeOrSelf(op->getOperand(0).getType());
  Type to = getElementTypeOrSelf(op->getResult(0).getType());
  return mapElements(interp, op, [&](ArrayRef<double> a) -> FailureOr<double> {
    // index_cast, extsi, trunci: the signed value, wrapped to the
    // target width (sign extension or truncation).
    if (isa<arith::IndexCastOp, arith::ExtSIOp, arith::TruncIOp>(op))
      return storeInt(op, static_cast<uint64_t>(loadSigned(a[0], from)), to);
    // index_castui, extui: the unsigned value, wrapped (zero extension
    // or truncation).
    if (isa<arith::IndexCastUIOp, arith::ExtUIOp>(op))
      return storeInt(op, loadUnsigned(a[0], from), to);
    // sitofp: the signed value as a float.
    if (isa<arith::SIToFPOp>(op))
      return static_cast<double>(loadSigned(a[0], from));
    // uitofp: the unsigned value as a float.
    if (isa<arith::UIToFPOp>(op))
      return static_cast<double>(loadUnsigned(a[0], from));
    // fptosi / fptoui: rounded toward zero, in range.
    return floatToInt(op, a[0], to, isa<arith::FPToSIOp>(op));
  });
}

//===----------------------------------------------------------------------===//
// Dispatch
//===----------------------------------------------------------------------===//

std::optional<LogicalResult> runArithMathOp(Interpreter &interp,
                                            Operation *op) {
  if (auto constant = dyn_cast<arith::ConstantOp>(op))
    return runConstant(interp, constant);
  if (FloatUnary f = getFloatUnary(op))
    return mapElements(
        interp, op,
        [&](ArrayRef<double> a) -> FailureOr<double> { return f(a[0]); });
  if (FloatBinary f = getFloatBinary(op))
    return mapElements(
        interp, op,
        [&](ArrayRef<double> a) -> FailureOr<double> { return f(a[0], a[1]); });
  // math.fpowi: x^n for a float x and an integer n.
  if (isa<math::FPowIOp>(op))
    return mapElements(interp, op,
                       [&](ArrayRef<double> a) -> FailureOr<double> {
                         return std::pow(a[0], a[1]);
                       });
  // arith.cmpf: 1 when the predicate holds, else 0.
  if (auto cmp = dyn_cast<arith::CmpFOp>(op))
    return mapElements(
        interp, op, [&](ArrayRef<double> a) -> FailureOr<double> {
          return compareFloats(cmp.getPredicate(), a[0], a[1]) ? 1.0 : 0.0;
        });
  // arith.cmpi: 1 when the predicate holds, else 0.
  if (auto cmp = dyn_cast<arith::CmpIOp>(op)) {
    Type type = getElementTypeOrSelf(cmp.getLhs().getType());
    return mapElements(
        interp, op, [&](ArrayRef<double> a) -> FailureOr<double> {
          return compareInts(cmp.getPredicate(), a[0], a[1], type) ? 1.0 : 0.0;
        });
  }
  // arith.select: c ? a : b (c a scalar, or one per element).
  if (isa<arith::SelectOp>(op))
    return mapElements(interp, op,
                       [&](ArrayRef<double> a) -> FailureOr<double> {
                         return a[0] != 0 ? a[1] : a[2];
                       });
  // math.absi: |a| mod 2^w (the smallest value is its own absolute value).
  if (isa<math::AbsIOp>(op)) {
    Type type = getElementTypeOrSelf(op->getResult(0).getType());
    return mapElements(interp, op,
                       [&](ArrayRef<double> a) -> FailureOr<double> {
                         int64_t v = loadSigned(a[0], type);
                         uint64_t bits = static_cast<uint64_t>(v);
                         return storeInt(op, v < 0 ? -bits : bits, type);
                       });
  }
  if (std::optional<LogicalResult> cast = runCast(interp, op))
    return cast;
  if (op->getNumOperands() == 2 && op->getNumResults() == 1 &&
      isa<arith::ArithDialect, math::MathDialect>(op->getDialect())) {
    Type type = getElementTypeOrSelf(op->getResult(0).getType());
    if (!type.isIntOrIndex())
      return std::nullopt;
    // Probe whether this is one of the integer ops before mapping.
    if (!runIntBinary(op, 1, 1, type))
      return std::nullopt;
    return mapElements(
        interp, op, [&](ArrayRef<double> a) -> FailureOr<double> {
          std::optional<FailureOr<uint64_t>> bits = runIntBinary(
              op, loadSigned(a[0], type), loadSigned(a[1], type), type);
          if (failed(*bits))
            return failure();
          return storeInt(op, **bits, type);
        });
  }
  return std::nullopt;
}

} // namespace interp
} // namespace attnc
