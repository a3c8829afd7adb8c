//===- EntryABI.cpp - The C interface of compiled entries -----------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The destination-passing entry, the C wrappers and the header of the C
/// interface described in EntryABI.h.
///
//===----------------------------------------------------------------------===//

#include "attnc/Target/CPU/EntryABI.h"

#include "RuntimeChecks.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::attnc::cpu;

static std::string implName(const EntrySignature &entry) {
  return "__attnc_" + entry.name;
}

/// Whether argument `k` (inputs then outputs) of `entry` is a scalar input,
/// which the C functions take by value.
static bool isByValueInput(const EntrySignature &entry, size_t k) {
  return k < entry.inputs.size() && entry.inputs[k].shape.empty();
}

const char *mlir::attnc::cpu::getCType(ElemType elem) {
  switch (elem) {
  case ElemType::F16:
  case ElemType::BF16:
    return "uint16_t";
  case ElemType::F32:
    return "float";
  case ElemType::F64:
    return "double";
  case ElemType::I1:
    return "uint8_t";
  case ElemType::I32:
    return "int32_t";
  case ElemType::I64:
    return "int64_t";
  }
  return "void";
}

MemRefType mlir::attnc::cpu::getEntryMemRefType(RankedTensorType type,
                                                Attribute memorySpace) {
  SmallVector<int64_t> strides(type.getRank(), ShapedType::kDynamic);
  if (!strides.empty())
    strides.back() = 1;
  auto layout =
      StridedLayoutAttr::get(type.getContext(), ShapedType::kDynamic, strides);
  return MemRefType::get(type.getShape(), type.getElementType(), layout,
                         memorySpace);
}

//===----------------------------------------------------------------------===//
// Destination passing
//===----------------------------------------------------------------------===//

LogicalResult
mlir::attnc::cpu::addDestinationPassingEntry(ModuleOp module,
                                             const EntrySignature &entry) {
  auto func = module.lookupSymbol<func::FuncOp>(entry.name);
  if (!func)
    return module.emitError("no func.func @") << entry.name;
  FunctionType type = func.getFunctionType();
  if (type.getNumInputs() != entry.inputs.size() ||
      type.getNumResults() != entry.outputs.size())
    return func.emitError("the C interface of @")
           << entry.name << " expects " << entry.inputs.size() << " inputs and "
           << entry.outputs.size() << " outputs";
  // Tensors become memrefs with the layout of getEntryMemRefType; a scalar
  // (rank-0) input is passed by value, a scalar result is stored into a
  // rank-0 memref.
  SmallVector<Type> argTypes;
  for (auto [i, t] : llvm::enumerate(
           llvm::concat<const Type>(type.getInputs(), type.getResults()))) {
    auto tensor = dyn_cast<RankedTensorType>(t);
    if (isByValueInput(entry, i)) {
      Type elem = tensor ? tensor.getElementType() : t;
      if ((tensor && tensor.getRank() != 0) || !elem.isIntOrFloat())
        return func.emitError("the C interface of @")
               << entry.name << " passes '" << entry.inputs[i].name
               << "' by value, but @" << entry.name << " takes " << t;
      argTypes.push_back(elem);
      continue;
    }
    if (!tensor && t.isIntOrFloat() && i >= type.getNumInputs())
      tensor = RankedTensorType::get({}, t);
    if (!tensor)
      return func.emitError("not supported yet: a C interface for @")
             << entry.name << ", which takes or returns " << t;
    argTypes.push_back(getEntryMemRefType(tensor));
  }

  OpBuilder b(module.getBodyRegion());
  b.setInsertionPointToEnd(module.getBody());
  Location loc = func.getLoc();
  auto impl = func::FuncOp::create(b, loc, implName(entry),
                                   b.getFunctionType(argTypes, {}));
  Block *body = impl.addEntryBlock();
  b.setInsertionPointToStart(body);
  SmallVector<Value> inputs;
  for (unsigned i = 0; i < type.getNumInputs(); ++i) {
    Value arg = body->getArgument(i);
    Type t = type.getInput(i);
    if (!isByValueInput(entry, i))
      inputs.push_back(bufferization::ToTensorOp::create(b, loc, t, arg,
                                                         /*restrict=*/true));
    else if (isa<RankedTensorType>(t))
      inputs.push_back(tensor::FromElementsOp::create(b, loc, t, arg));
    else
      inputs.push_back(arg);
  }
  auto call = func::CallOp::create(b, loc, func, inputs);
  for (unsigned i = 0; i < type.getNumResults(); ++i) {
    Value out = body->getArgument(type.getNumInputs() + i);
    if (type.getResult(i).isIntOrFloat()) {
      memref::StoreOp::create(b, loc, call.getResult(i), out, ValueRange());
      continue;
    }
    auto materialize = bufferization::MaterializeInDestinationOp::create(
        b, loc, call.getResult(i), out);
    materialize.setRestrict(true);
    materialize.setWritable(true);
  }
  func::ReturnOp::create(b, loc);
  func.setPrivate();
  return success();
}

//===----------------------------------------------------------------------===//
// C wrappers
//===----------------------------------------------------------------------===//

namespace {
/// Emits the i64 arithmetic of the extents in an llvm.func body.
class ExtentEmitter {
public:
  ExtentEmitter(OpBuilder &b, Location loc, const EntrySignature &entry,
                ValueRange sizes)
      : b(b), loc(loc), entry(entry), sizes(sizes) {}

  Value constant(int64_t v) {
    return LLVM::ConstantOp::create(b, loc, b.getI64Type(),
                                    b.getI64IntegerAttr(v));
  }

  /// The value of `dim`, a polynomial over the size symbols; null (with
  /// `error` set) for a symbol that is not a size of the entry.
  Value emit(const DimExpr &dim, std::string &error) {
    Value sum = constant(0);
    for (const auto &[monomial, coefficient] : dim.getTerms()) {
      Value term = constant(coefficient);
      for (const std::string &atom : monomial) {
        Value factor = emitAtom(dim, atom, error);
        if (!factor)
          return nullptr;
        term = LLVM::MulOp::create(b, loc, term, factor);
      }
      sum = LLVM::AddOp::create(b, loc, sum, term);
    }
    return sum;
  }

private:
  Value emitAtom(const DimExpr &dim, const std::string &atom,
                 std::string &error) {
    if (const auto *quotient = dim.getQuotient(atom)) {
      Value num = emit(*quotient->first, error);
      Value den = num ? emit(*quotient->second, error) : nullptr;
      if (!den)
        return nullptr;
      // Sizes are non-negative, so truncation is the floor the checker
      // means.
      return LLVM::SDivOp::create(b, loc, num, den);
    }
    auto it = llvm::find(entry.sizes, atom);
    if (it == entry.sizes.end()) {
      error = "the extent '" + dim.str() + "' uses '" + atom +
              "', which is not a size of '" + entry.name + "'";
      return nullptr;
    }
    return sizes[it - entry.sizes.begin()];
  }

  OpBuilder &b;
  Location loc;
  const EntrySignature &entry;
  ValueRange sizes;
};
} // namespace

/// The error codes of the C functions; kCheckFailed comes from the lowered
/// @__attnc_NAME, when it returns one.
enum : int32_t {
  kOk = 0,
  kBadSize = 1,
  kBadStride = 2,
  kCheckFailed = mlir::attnc::cpu::kCheckFailedCode
};

/// The LLVM type of a scalar input in the C functions, the type of
/// getCType: uint8_t for i1, uint16_t for the 16-bit floats.
static Type getCScalarType(MLIRContext *ctx, ElemType elem) {
  switch (elem) {
  case ElemType::F16:
  case ElemType::BF16:
    return IntegerType::get(ctx, 16);
  case ElemType::F32:
    return Float32Type::get(ctx);
  case ElemType::F64:
    return Float64Type::get(ctx);
  case ElemType::I1:
    return IntegerType::get(ctx, 8);
  case ElemType::I32:
    return IntegerType::get(ctx, 32);
  case ElemType::I64:
    return IntegerType::get(ctx, 64);
  }
  return IntegerType::get(ctx, 64);
}

/// Adds `int32_t NAME(T *tensors..., int64_t sizes...)` (dense) or, when
/// `strided`, `int32_t NAME_strided(T *tensor, const int64_t *strides, ...,
/// int64_t sizes...)`, a scalar input taking the place of its pointer (and
/// strides) by value: checks the sizes (and strides), computes each
/// descriptor and calls `impl`, returning its code when it returns one.
static FailureOr<LLVM::LLVMFuncOp> addWrapper(ModuleOp module,
                                              LLVM::LLVMFuncOp impl,
                                              const EntrySignature &entry,
                                              bool strided) {
  MLIRContext *ctx = module.getContext();
  Location loc = impl.getLoc();
  Type ptr = LLVM::LLVMPointerType::get(ctx);
  Type i64 = IntegerType::get(ctx, 64);
  Type i32 = IntegerType::get(ctx, 32);
  Type i1 = IntegerType::get(ctx, 1);
  Type implResult = impl.getFunctionType().getReturnType();
  bool returnsCode = !isa<LLVM::LLVMVoidType>(implResult);
  if (returnsCode && !implResult.isInteger(32))
    return impl.emitError("the lowered @")
           << implName(entry) << " returns " << implResult
           << ", not an i32 code or nothing";
  std::vector<const ABITensor *> tensors;
  for (const ABITensor &t : entry.inputs)
    tensors.push_back(&t);
  for (const ABITensor &t : entry.outputs)
    tensors.push_back(&t);
  size_t numTensors = tensors.size();

  // Each tensor's first parameter: a pointer (and its strides), or a
  // scalar input's value.
  SmallVector<Type> params;
  std::vector<size_t> firstParam;
  for (size_t k = 0; k < numTensors; ++k) {
    firstParam.push_back(params.size());
    if (isByValueInput(entry, k)) {
      params.push_back(getCScalarType(ctx, tensors[k]->elem));
      continue;
    }
    params.push_back(ptr);
    if (strided)
      params.push_back(ptr);
  }
  size_t numTensorParams = params.size();
  params.append(entry.sizes.size(), i64);
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module.getBody());
  auto wrapper = LLVM::LLVMFuncOp::create(
      b, loc, strided ? entry.name + "_strided" : entry.name,
      LLVM::LLVMFunctionType::get(i32, params));
  Block *body = wrapper.addEntryBlock(b);
  Block *badSize = b.createBlock(&wrapper.getBody());
  Block *good = b.createBlock(&wrapper.getBody());
  ValueRange sizes = body->getArguments().drop_front(numTensorParams);
  auto i64Constant = [&](int64_t v) -> Value {
    return LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(v));
  };
  auto returnCode = [&](int32_t code) {
    LLVM::ReturnOp::create(
        b, loc,
        LLVM::ConstantOp::create(b, loc, i32, b.getI32IntegerAttr(code))
            .getResult());
  };

  b.setInsertionPointToStart(badSize);
  returnCode(kBadSize);

  // A negative size is an error code, before anything is touched.
  b.setInsertionPointToStart(body);
  Value zero64 = i64Constant(0);
  Value anyNegative =
      LLVM::ConstantOp::create(b, loc, i1, b.getBoolAttr(false));
  for (Value size : sizes)
    anyNegative = LLVM::OrOp::create(
        b, loc, anyNegative,
        LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::slt, size, zero64));
  LLVM::CondBrOp::create(b, loc, anyNegative, badSize, good);

  // The expanded descriptors: allocated, aligned, offset, sizes, strides;
  // the values of scalar inputs.
  b.setInsertionPointToStart(good);
  ExtentEmitter extents(b, loc, entry, sizes);
  Value one64 = extents.constant(1);
  Value zero = extents.constant(0);
  Value badStride = LLVM::ConstantOp::create(b, loc, i1, b.getBoolAttr(false));
  SmallVector<Value> args;
  for (size_t k = 0; k < numTensors; ++k) {
    Value base = body->getArgument(firstParam[k]);
    if (isByValueInput(entry, k)) {
      // uint8_t to i1, uint16_t to f16 or bf16; other types as they are.
      if (args.size() >= impl.getNumArguments())
        break; // Reported below.
      Type want = impl.getArgumentTypes()[args.size()];
      Value value = base;
      if (want.isInteger(1))
        value = LLVM::ICmpOp::create(
            b, loc, LLVM::ICmpPredicate::ne, base,
            LLVM::ConstantOp::create(b, loc, base.getType(),
                                     b.getIntegerAttr(base.getType(), 0)));
      else if (want != base.getType())
        value = LLVM::BitcastOp::create(b, loc, want, base);
      args.push_back(value);
      continue;
    }
    args.append({base, base, zero});
    SmallVector<Value> dims;
    for (const DimExpr &dim : tensors[k]->shape) {
      std::string error;
      Value v = extents.emit(dim, error);
      if (!v)
        return impl.emitError("cannot export '")
               << entry.name << "': " << error;
      dims.push_back(v);
    }
    size_t rank = dims.size();
    SmallVector<Value> strides(rank);
    Value stride = one64;
    for (size_t d = rank; d-- > 0;) {
      strides[d] = stride;
      stride = LLVM::MulOp::create(b, loc, stride, dims[d]);
    }
    if (strided && rank > 0) {
      // The caller's strides, or the dense ones (stored in a stack array)
      // for a null pointer.
      Value given = body->getArgument(firstParam[k] + 1);
      Value dense = LLVM::AllocaOp::create(b, loc, ptr, i64,
                                           extents.constant(int64_t(rank)));
      for (size_t d = 0; d < rank; ++d) {
        Value at = LLVM::GEPOp::create(b, loc, ptr, i64, dense,
                                       ArrayRef<LLVM::GEPArg>{int32_t(d)});
        LLVM::StoreOp::create(b, loc, strides[d], at);
      }
      Value null = LLVM::ZeroOp::create(b, loc, ptr);
      Value isNull =
          LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, given, null);
      Value from = LLVM::SelectOp::create(b, loc, isNull, dense, given);
      bool isOutput = k >= entry.inputs.size();
      for (size_t d = 0; d < rank; ++d) {
        Value at = LLVM::GEPOp::create(b, loc, ptr, i64, from,
                                       ArrayRef<LLVM::GEPArg>{int32_t(d)});
        Value s = LLVM::LoadOp::create(b, loc, i64, at);
        // No negative strides; a unit innermost one; for an output, no zero
        // stride where two indices would write one element.
        Value wide = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::sgt,
                                          dims[d], one64);
        Value bad =
            LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::slt, s, zero);
        if (d + 1 == rank)
          bad = LLVM::OrOp::create(
              b, loc, bad,
              LLVM::AndOp::create(b, loc, wide,
                                  LLVM::ICmpOp::create(b, loc,
                                                       LLVM::ICmpPredicate::ne,
                                                       s, one64)));
        else if (isOutput)
          bad = LLVM::OrOp::create(
              b, loc, bad,
              LLVM::AndOp::create(b, loc, wide,
                                  LLVM::ICmpOp::create(b, loc,
                                                       LLVM::ICmpPredicate::eq,
                                                       s, zero)));
        badStride = LLVM::OrOp::create(b, loc, badStride, bad);
        // The layout's innermost stride is the static 1.
        strides[d] = d + 1 == rank ? one64 : s;
      }
    }
    args.append(dims.begin(), dims.end());
    args.append(strides.begin(), strides.end());
  }
  if (impl.getNumArguments() != args.size())
    return impl.emitError("the lowered @")
           << implName(entry) << " takes " << impl.getNumArguments()
           << " arguments, not the " << args.size()
           << " of its memref descriptors";
  Block *call = good;
  if (strided) {
    Block *bad = b.createBlock(&wrapper.getBody());
    returnCode(kBadStride);
    call = b.createBlock(&wrapper.getBody());
    b.setInsertionPointToEnd(good);
    LLVM::CondBrOp::create(b, loc, badStride, bad, call);
  }
  b.setInsertionPointToEnd(call);
  auto callOp = LLVM::CallOp::create(b, loc, impl, args);
  // A lowered entry with run-time checks returns 0 or kCheckFailed.
  if (returnsCode)
    LLVM::ReturnOp::create(b, loc, callOp.getResult());
  else
    returnCode(kOk);
  return wrapper;
}

/// Adds `int32_t NAME_packed(void *const *tensors, const int64_t *sizes)`
/// or, for a strided `target`, `int32_t NAME_packed_strided(void *const
/// *tensors, const int64_t *const *strides, const int64_t *sizes)`, which
/// load the arguments of `target` from the arrays (a scalar input's value
/// through its pointer in `tensors`) and call it.
static void addPackedWrapper(ModuleOp module, LLVM::LLVMFuncOp target,
                             const EntrySignature &entry, bool strided) {
  MLIRContext *ctx = module.getContext();
  Location loc = target.getLoc();
  Type ptr = LLVM::LLVMPointerType::get(ctx);
  Type i64 = IntegerType::get(ctx, 64);
  Type i32 = IntegerType::get(ctx, 32);
  size_t numTensors = entry.inputs.size() + entry.outputs.size();
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module.getBody());
  SmallVector<Type> params(strided ? 3 : 2, ptr);
  auto packed = LLVM::LLVMFuncOp::create(
      b, loc, entry.name + (strided ? "_packed_strided" : "_packed"),
      LLVM::LLVMFunctionType::get(i32, params));
  Block *body = packed.addEntryBlock(b);
  b.setInsertionPointToStart(body);
  auto load = [&](Value array, Type type, size_t k) -> Value {
    Value at = LLVM::GEPOp::create(b, loc, ptr, type, array,
                                   ArrayRef<LLVM::GEPArg>{int32_t(k)});
    return LLVM::LoadOp::create(b, loc, type, at);
  };
  // A scalar input's entry in `tensors` points to its value; its entry in
  // `strides` is not read.
  SmallVector<Value> unpacked;
  for (size_t k = 0; k < numTensors; ++k) {
    Value pointer = load(body->getArgument(0), ptr, k);
    if (isByValueInput(entry, k)) {
      Type type = target.getArgumentTypes()[unpacked.size()];
      unpacked.push_back(LLVM::LoadOp::create(b, loc, type, pointer));
      continue;
    }
    unpacked.push_back(pointer);
    if (strided)
      unpacked.push_back(load(body->getArgument(1), ptr, k));
  }
  for (size_t k = 0; k < entry.sizes.size(); ++k)
    unpacked.push_back(load(body->getArgument(strided ? 2 : 1), i64, k));
  auto call = LLVM::CallOp::create(b, loc, target, unpacked);
  LLVM::ReturnOp::create(b, loc, call.getResult());
}

LogicalResult mlir::attnc::cpu::addCWrappers(ModuleOp module,
                                             const EntrySignature &entry) {
  auto impl = module.lookupSymbol<LLVM::LLVMFuncOp>(implName(entry));
  if (!impl)
    return module.emitError("no lowered @") << implName(entry);
  for (bool strided : {false, true}) {
    FailureOr<LLVM::LLVMFuncOp> wrapper =
        addWrapper(module, impl, entry, strided);
    if (failed(wrapper))
      return failure();
    addPackedWrapper(module, *wrapper, entry, strided);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// The header
//===----------------------------------------------------------------------===//

static std::string shapeComment(const ABITensor &t) {
  std::string s = std::string(getCType(t.elem)) + " " + t.name;
  for (const DimExpr &dim : t.shape)
    s += "[" + dim.str() + "]";
  return s;
}

static std::string identifier(const std::string &name) {
  std::string out;
  for (char c : name)
    out += llvm::isAlnum(c) ? c : '_';
  return out;
}

std::string
mlir::attnc::cpu::writeHeader(const std::vector<EntrySignature> &entries,
                              const std::string &libraryName) {
  std::string guard = llvm::StringRef(identifier(libraryName)).upper() + "_H";
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "/* " << libraryName << ".h: generated by attnc build. */\n"
     << "/*\n"
     << " * Each entry NAME has four functions. Tensors come inputs first,\n"
     << " * then outputs, with the extents shown in the entry's comment;\n"
     << " * the sizes follow.\n"
     << " *\n"
     << " *   NAME(tensors..., sizes...): every tensor dense, row-major and\n"
     << " *     contiguous.\n"
     << " *   NAME_strided(tensor, strides, ..., sizes...): each tensor with\n"
     << " *     its strides, one per dimension, outermost first, counted in\n"
     << " *     elements: element [i0][i1]...[ik] is at\n"
     << " *     base[i0 * strides[0] + i1 * strides[1] + ... + ik * "
        "strides[k]].\n"
     << " *     The innermost stride must be 1 (unless the innermost extent\n"
     << " *     is 0 or 1); no stride may be negative; inputs may have zero\n"
     << " *     strides (broadcasts), outputs only in dimensions of extent 0\n"
     << " *     or 1. A NULL strides pointer means dense row-major; a rank-0\n"
     << " *     tensor's strides are not read (pass NULL). Views such as\n"
     << " *     transposes and slices are used in place, without a copy.\n"
     << " *   NAME_packed and NAME_packed_strided: the same, with the\n"
     << " *     tensors, the strides pointers and the sizes as arrays.\n"
     << " *\n"
     << " * A scalar input (a rank-0 parameter such as 'g: f32') is passed\n"
     << " * by value, in its tensor's place, with no strides; a scalar\n"
     << " * output is written through a pointer, like a tensor. In the\n"
     << " * packed forms a scalar's entry of the tensors array points to\n"
     << " * its value, and its entry of the strides array is not read.\n"
     << " *\n"
     << " * Each function returns 0 on success, 1 when a size is negative,\n"
     << " * 2 when a stride is invalid (on these errors the outputs are\n"
     << " * untouched), 3 when a run-time check fails: an index out of\n"
     << " * range, a topk count above its run-time extent, ...; the outputs\n"
     << " * then hold unspecified values. Outputs must not overlap inputs,\n"
     << " * each other or themselves (strides that map two indices to one\n"
     << " * element); this is not checked.\n"
     << " */\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n"
     << "#include <stdint.h>\n\n"
     << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  for (const EntrySignature &entry : entries) {
    os << "/* " << entry.name << "\n";
    for (const ABITensor &t : entry.inputs)
      os << " *   in:  " << shapeComment(t)
         << (t.shape.empty() ? " (by value)" : "") << "\n";
    for (const ABITensor &t : entry.outputs)
      os << " *   out: " << shapeComment(t) << "\n";
    if (!entry.sizes.empty())
      os << " *   sizes: " << llvm::join(entry.sizes, ", ") << " (>= 0)\n";
    os << " */\n";
    for (bool strided : {false, true}) {
      os << "int32_t " << entry.name << (strided ? "_strided(" : "(");
      bool first = true;
      auto sep = [&] {
        if (!first)
          os << ",";
        os << "\n    ";
        first = false;
      };
      auto tensor = [&](const ABITensor &t, bool input) {
        sep();
        if (input && t.shape.empty()) {
          os << getCType(t.elem) << " " << identifier(t.name);
          return;
        }
        os << (input ? "const " : "") << getCType(t.elem) << " *"
           << identifier(t.name);
        if (strided) {
          sep();
          os << "const int64_t *" << identifier(t.name) << "_strides";
        }
      };
      for (const ABITensor &t : entry.inputs)
        tensor(t, /*input=*/true);
      for (const ABITensor &t : entry.outputs)
        tensor(t, /*input=*/false);
      for (const std::string &size : entry.sizes) {
        sep();
        os << "int64_t " << size;
      }
      if (first)
        os << "void";
      os << ");\n";
    }
    os << "int32_t " << entry.name
       << "_packed(void *const *tensors, const int64_t *sizes);\n";
    os << "int32_t " << entry.name
       << "_packed_strided(void *const *tensors, const int64_t *const "
          "*strides,\n    const int64_t *sizes);\n\n";
  }
  os << "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << guard << " */\n";
  return text;
}
