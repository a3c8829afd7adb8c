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

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
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
  auto memrefOf = [](Type t) -> MemRefType {
    auto tensor = dyn_cast<RankedTensorType>(t);
    return tensor ? MemRefType::get(tensor.getShape(), tensor.getElementType())
                  : MemRefType();
  };
  SmallVector<Type> argTypes;
  for (Type t : llvm::concat<const Type>(type.getInputs(), type.getResults())) {
    MemRefType memref = memrefOf(t);
    if (!memref)
      return func.emitError("not supported yet: a C interface for @")
             << entry.name << ", which takes or returns " << t;
    argTypes.push_back(memref);
  }

  OpBuilder b(module.getBodyRegion());
  b.setInsertionPointToEnd(module.getBody());
  Location loc = func.getLoc();
  auto impl = func::FuncOp::create(b, loc, implName(entry),
                                   b.getFunctionType(argTypes, {}));
  Block *body = impl.addEntryBlock();
  b.setInsertionPointToStart(body);
  SmallVector<Value> inputs;
  for (unsigned i = 0; i < type.getNumInputs(); ++i)
    inputs.push_back(bufferization::ToTensorOp::create(
        b, loc, type.getInput(i), body->getArgument(i), /*restrict=*/true));
  auto call = func::CallOp::create(b, loc, func, inputs);
  for (unsigned i = 0; i < type.getNumResults(); ++i) {
    auto materialize = bufferization::MaterializeInDestinationOp::create(
        b, loc, call.getResult(i), body->getArgument(type.getNumInputs() + i));
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

LogicalResult mlir::attnc::cpu::addCWrappers(ModuleOp module,
                                             const EntrySignature &entry) {
  MLIRContext *ctx = module.getContext();
  auto impl = module.lookupSymbol<LLVM::LLVMFuncOp>(implName(entry));
  if (!impl)
    return module.emitError("no lowered @") << implName(entry);
  Location loc = impl.getLoc();
  Type ptr = LLVM::LLVMPointerType::get(ctx);
  Type i64 = IntegerType::get(ctx, 64);
  Type i32 = IntegerType::get(ctx, 32);
  size_t numTensors = entry.inputs.size() + entry.outputs.size();

  // int32_t NAME(T *tensors..., int64_t sizes...)
  SmallVector<Type> params(numTensors, ptr);
  params.append(entry.sizes.size(), i64);
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module.getBody());
  auto wrapper = LLVM::LLVMFuncOp::create(
      b, loc, entry.name, LLVM::LLVMFunctionType::get(i32, params));
  Block *body = wrapper.addEntryBlock(b);
  Block *bad = b.createBlock(&wrapper.getBody());
  Block *good = b.createBlock(&wrapper.getBody());
  ValueRange sizes = body->getArguments().drop_front(numTensors);

  b.setInsertionPointToStart(bad);
  LLVM::ReturnOp::create(
      b, loc,
      LLVM::ConstantOp::create(b, loc, i32, b.getI32IntegerAttr(1))
          .getResult());

  // A negative size is an error code, before anything is touched.
  b.setInsertionPointToStart(body);
  Value zero64 = LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(0));
  Value anyNegative =
      LLVM::ConstantOp::create(b, loc, b.getI1Type(), b.getBoolAttr(false));
  for (Value size : sizes)
    anyNegative = LLVM::OrOp::create(
        b, loc, anyNegative,
        LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::slt, size, zero64));
  LLVM::CondBrOp::create(b, loc, anyNegative, bad, good);

  // The expanded descriptors: allocated, aligned, offset, sizes, strides.
  b.setInsertionPointToStart(good);
  ExtentEmitter extents(b, loc, entry, sizes);
  SmallVector<Value> args;
  std::vector<const ABITensor *> tensors;
  for (const ABITensor &t : entry.inputs)
    tensors.push_back(&t);
  for (const ABITensor &t : entry.outputs)
    tensors.push_back(&t);
  for (size_t k = 0; k < tensors.size(); ++k) {
    Value base = body->getArgument(k);
    args.append({base, base, extents.constant(0)});
    SmallVector<Value> dims;
    for (const DimExpr &dim : tensors[k]->shape) {
      std::string error;
      Value v = extents.emit(dim, error);
      if (!v)
        return impl.emitError("cannot export '")
               << entry.name << "': " << error;
      dims.push_back(v);
    }
    SmallVector<Value> strides(dims.size());
    Value stride = extents.constant(1);
    for (size_t d = dims.size(); d-- > 0;) {
      strides[d] = stride;
      stride = LLVM::MulOp::create(b, loc, stride, dims[d]);
    }
    args.append(dims.begin(), dims.end());
    args.append(strides.begin(), strides.end());
  }
  if (impl.getNumArguments() != args.size())
    return impl.emitError("the lowered @")
           << implName(entry) << " takes " << impl.getNumArguments()
           << " arguments, not the " << args.size()
           << " of its memref descriptors";
  LLVM::CallOp::create(b, loc, impl, args);
  LLVM::ReturnOp::create(
      b, loc,
      LLVM::ConstantOp::create(b, loc, i32, b.getI32IntegerAttr(0))
          .getResult());

  // int32_t NAME_packed(void *const *tensors, const int64_t *sizes)
  b.setInsertionPointToEnd(module.getBody());
  auto packed =
      LLVM::LLVMFuncOp::create(b, loc, entry.name + "_packed",
                               LLVM::LLVMFunctionType::get(i32, {ptr, ptr}));
  Block *packedBody = packed.addEntryBlock(b);
  b.setInsertionPointToStart(packedBody);
  SmallVector<Value> unpacked;
  for (size_t k = 0; k < numTensors; ++k) {
    Value at = LLVM::GEPOp::create(b, loc, ptr, ptr, packedBody->getArgument(0),
                                   ArrayRef<LLVM::GEPArg>{int32_t(k)});
    unpacked.push_back(LLVM::LoadOp::create(b, loc, ptr, at));
  }
  for (size_t k = 0; k < entry.sizes.size(); ++k) {
    Value at = LLVM::GEPOp::create(b, loc, ptr, i64, packedBody->getArgument(1),
                                   ArrayRef<LLVM::GEPArg>{int32_t(k)});
    unpacked.push_back(LLVM::LoadOp::create(b, loc, i64, at));
  }
  auto call = LLVM::CallOp::create(b, loc, wrapper, unpacked);
  LLVM::ReturnOp::create(b, loc, call.getResult());
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
     << " * Every tensor is dense, row-major and contiguous, with the extents\n"
     << " * shown in its comment. Each function returns 0, or 1 when a size "
        "is\n"
     << " * negative (the outputs are then untouched). Outputs may not alias\n"
     << " * inputs. The packed form takes the tensors (inputs, then outputs)\n"
     << " * and the sizes as arrays, in the same order.\n"
     << " */\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n"
     << "#include <stdint.h>\n\n"
     << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  for (const EntrySignature &entry : entries) {
    os << "/* " << entry.name << "\n";
    for (const ABITensor &t : entry.inputs)
      os << " *   in:  " << shapeComment(t) << "\n";
    for (const ABITensor &t : entry.outputs)
      os << " *   out: " << shapeComment(t) << "\n";
    if (!entry.sizes.empty())
      os << " *   sizes: " << llvm::join(entry.sizes, ", ") << " (>= 0)\n";
    os << " */\n";
    os << "int32_t " << entry.name << "(";
    bool first = true;
    auto sep = [&] {
      if (!first)
        os << ",";
      os << "\n    ";
      first = false;
    };
    for (const ABITensor &t : entry.inputs) {
      sep();
      os << "const " << getCType(t.elem) << " *" << identifier(t.name);
    }
    for (const ABITensor &t : entry.outputs) {
      sep();
      os << getCType(t.elem) << " *" << identifier(t.name);
    }
    for (const std::string &size : entry.sizes) {
      sep();
      os << "int64_t " << size;
    }
    if (first)
      os << "void";
    os << ");\n";
    os << "int32_t " << entry.name
       << "_packed(void *const *tensors, const int64_t *sizes);\n\n";
  }
  os << "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << guard << " */\n";
  return text;
}
