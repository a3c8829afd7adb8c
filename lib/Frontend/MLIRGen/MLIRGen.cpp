//===- MLIRGen.cpp - Checked AST to attn + upstream IR ----------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Each `fn` becomes a `func.func` over ranked tensors (constant dims
/// static, size symbols dynamic); each `arch` becomes a `func.func` too
/// (ArchGen.cpp). This file holds the module and function level, the
/// statements, and the mapping of checked types and sizes to MLIR. The
/// module is verified; after any error no module is returned.
///
/// Statements:
///   x[i, j] = scalar           tensor.generate
///   x[i, j] = tensor-valued    scf.forall with tensor.parallel_insert_slice
///   x[b, h, i] = attend ...    attn.attention (AttendGen.cpp)
///   y[b, h, t] = scan ...      attn.scan (ScanGen.cpp)
///   name = e                   the value of e, bound to the name
///
//===----------------------------------------------------------------------===//

#include "attnc/Frontend/MLIRGen.h"

#include "ArchGen.h"
#include "MLIRGenImpl.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Verifier.h"

#include "llvm/Support/Casting.h"

using namespace attnc;
using namespace attnc::mlirgen;
using llvm::dyn_cast;
using llvm::isa;

//===----------------------------------------------------------------------===//
// Diagnostics, types and sizes
//===----------------------------------------------------------------------===//

mlir::Value FnGen::unsupported(const Location &l, const llvm::Twine &what) {
  return error(l, "not supported yet: " + what);
}

mlir::Value FnGen::error(const Location &l, const llvm::Twine &what) {
  mlir::emitError(loc(l)) << what.str();
  failed = true;
  return {};
}

mlir::Type FnGen::elemType(ElemType t) {
  switch (t) {
  case ElemType::F16:
    return builder.getF16Type();
  case ElemType::BF16:
    return builder.getBF16Type();
  case ElemType::F32:
    return builder.getF32Type();
  case ElemType::F64:
    return builder.getF64Type();
  case ElemType::I1:
    return builder.getI1Type();
  case ElemType::I32:
    return builder.getI32Type();
  case ElemType::I64:
    return builder.getI64Type();
  }
  return builder.getF32Type();
}

ValueType FnGen::resolve(const ValueType &t) {
  if (frame().subst.empty())
    return t;
  return t.substitute(frame().subst);
}

std::optional<ValueType> FnGen::typeOf(const Expr &e, const Env &env) {
  if (!e.type)
    return std::nullopt;
  ValueType t = resolve(*e.type);
  if (t.isGroup()) {
    if (!env.member || *env.member >= t.getMembers().size())
      return std::nullopt;
    return t.getMembers()[*env.member].second;
  }
  return t;
}

mlir::Type FnGen::mlirType(const ValueType &t) {
  mlir::Type elem = elemType(t.getElemType());
  if (t.isScalar())
    return elem;
  llvm::SmallVector<int64_t> shape;
  for (const DimExpr &d : t.getShape())
    shape.push_back(d.getConstant().value_or(mlir::ShapedType::kDynamic));
  return mlir::RankedTensorType::get(shape, elem);
}

mlir::Value FnGen::dimValue(const DimExpr &d, const Location &l) {
  mlir::Location ml = loc(l);
  if (std::optional<int64_t> c = d.getConstant())
    return mlir::arith::ConstantIndexOp::create(builder, ml, *c);
  // A polynomial over symbols and quotient atoms.
  std::function<mlir::Value(const std::string &)> atom;
  atom = [&](const std::string &name) -> mlir::Value {
    if (auto *q = d.getQuotient(name)) {
      mlir::Value num = dimValue(*q->first, l);
      mlir::Value den = num ? dimValue(*q->second, l) : mlir::Value();
      if (!den)
        return {};
      return mlir::arith::FloorDivSIOp::create(builder, ml, num, den);
    }
    auto it = sizes.find(name);
    if (it == sizes.end())
      return unsupported(l, "the size '" + name +
                                "' does not appear in a parameter's shape");
    return mlir::tensor::DimOp::create(builder, ml, it->second.first,
                                       it->second.second);
  };
  mlir::Value sum;
  for (const auto &[mono, coeff] : d.getTerms()) {
    mlir::Value term = mlir::arith::ConstantIndexOp::create(builder, ml, coeff);
    if (coeff == 1 && !mono.empty())
      term = {};
    for (const std::string &name : mono) {
      mlir::Value a = atom(name);
      if (!a)
        return {};
      term = term ? mlir::arith::MulIOp::create(builder, ml, term, a) : a;
    }
    sum = sum ? mlir::arith::AddIOp::create(builder, ml, sum, term) : term;
  }
  return sum ? sum : mlir::arith::ConstantIndexOp::create(builder, ml, 0);
}

bool FnGen::dynamicSizes(const ValueType &t, const Location &l,
                         llvm::SmallVectorImpl<mlir::Value> &out) {
  for (const DimExpr &d : t.getShape()) {
    if (d.isConstant())
      continue;
    mlir::Value v = dimValue(d, l);
    if (!v)
      return false;
    out.push_back(v);
  }
  return true;
}

mlir::Value FnGen::coerce(mlir::Value v, mlir::Type to, mlir::Location l) {
  mlir::Type from = v.getType();
  if (from == to)
    return v;
  if (from.isIndex()) {
    if (to.isInteger())
      return mlir::arith::IndexCastOp::create(builder, l, to, v);
    v = mlir::arith::IndexCastOp::create(builder, l, builder.getI64Type(), v);
    from = v.getType();
  }
  if (from.isInteger()) {
    if (to.isIndex())
      return mlir::arith::IndexCastOp::create(builder, l, to, v);
    if (mlir::isa<mlir::FloatType>(to)) {
      if (from.isInteger(1))
        return mlir::arith::UIToFPOp::create(builder, l, to, v);
      return mlir::arith::SIToFPOp::create(builder, l, to, v);
    }
    unsigned fw = from.getIntOrFloatBitWidth(), tw = to.getIntOrFloatBitWidth();
    if (to.isInteger(1)) {
      // A truth value: non-zero.
      mlir::Value zero = mlir::arith::ConstantOp::create(
          builder, l, builder.getIntegerAttr(from, 0));
      return mlir::arith::CmpIOp::create(
          builder, l, mlir::arith::CmpIPredicate::ne, v, zero);
    }
    if (fw < tw) {
      if (from.isInteger(1))
        return mlir::arith::ExtUIOp::create(builder, l, to, v);
      return mlir::arith::ExtSIOp::create(builder, l, to, v);
    }
    return mlir::arith::TruncIOp::create(builder, l, to, v);
  }
  if (mlir::isa<mlir::FloatType>(from)) {
    if (to.isIndex()) {
      v = mlir::arith::FPToSIOp::create(builder, l, builder.getI64Type(), v);
      return mlir::arith::IndexCastOp::create(builder, l, to, v);
    }
    if (to.isInteger())
      return mlir::arith::FPToSIOp::create(builder, l, to, v);
    if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
      return mlir::arith::ExtFOp::create(builder, l, to, v);
    return mlir::arith::TruncFOp::create(builder, l, to, v);
  }
  return v;
}

mlir::Value FnGen::convert(mlir::Value v, mlir::Type to, mlir::Location l) {
  if (v.getType() == to)
    return v;
  auto fromT = mlir::dyn_cast<mlir::RankedTensorType>(v.getType());
  auto toT = mlir::dyn_cast<mlir::RankedTensorType>(to);
  if (fromT && toT && fromT.getElementType() == toT.getElementType() &&
      fromT.getRank() == toT.getRank())
    return mlir::tensor::CastOp::create(builder, l, toT, v);
  if (!fromT && !toT)
    return coerce(v, to, l);
  return {};
}

mlir::Value FnGen::constValue(const ConstValue &c, mlir::Type t,
                              mlir::Location l) {
  if (auto ft = mlir::dyn_cast<mlir::FloatType>(t))
    return mlir::arith::ConstantOp::create(
        builder, l, builder.getFloatAttr(ft, c.asDouble()));
  if (t.isIndex())
    return mlir::arith::ConstantIndexOp::create(builder, l, c.intValue);
  return mlir::arith::ConstantOp::create(builder, l,
                                         builder.getIntegerAttr(t, c.intValue));
}

mlir::Value FnGen::emptyTensor(const ValueType &t, const Location &l) {
  llvm::SmallVector<mlir::Value> dyn;
  if (!dynamicSizes(t, l, dyn))
    return {};
  auto type = mlir::cast<mlir::RankedTensorType>(mlirType(t));
  return mlir::tensor::EmptyOp::create(builder, loc(l), type.getShape(),
                                       type.getElementType(), dyn);
}

mlir::Value FnGen::filled(const ValueType &t, double value, const Location &l) {
  mlir::Type elem = elemType(t.getElemType());
  mlir::Value c =
      constValue(isFloat(t.getElemType()) ? ConstValue::ofFloat(value)
                                          : ConstValue::ofInt(int64_t(value)),
                 elem, loc(l));
  if (t.isScalar())
    return c;
  mlir::Value empty = emptyTensor(t, l);
  if (!empty)
    return {};
  return mlir::linalg::FillOp::create(builder, loc(l), c, empty).getResult(0);
}

//===----------------------------------------------------------------------===//
// Functions
//===----------------------------------------------------------------------===//

bool FnGen::genFn(const FnDecl &decl) {
  sizes.clear();
  frames.clear();
  callResults.clear();
  frames.emplace_back();
  frame().consts = globalConsts;
  for (const auto &[name, value] : decl.checkedConsts)
    frame().consts[name] = value;

  // Group parameters are passed member by member.
  llvm::SmallVector<mlir::Type> argTypes, resultTypes;
  for (const Param &p : decl.params) {
    if (!p.checkedType)
      return false;
    if (p.checkedType->isGroup()) {
      for (const auto &member : p.checkedType->getMembers())
        argTypes.push_back(mlirType(member.second));
      continue;
    }
    argTypes.push_back(mlirType(*p.checkedType));
  }
  for (const ValueType &r : decl.checkedResults) {
    if (r.isGroup()) {
      unsupported(decl.getLoc(), "returning a group (" + r.str() + ")");
      return false;
    }
    resultTypes.push_back(mlirType(r));
  }

  builder.setInsertionPointToEnd(module.getBody());
  auto func = mlir::func::FuncOp::create(
      builder, loc(decl.getLoc()), decl.getName(),
      builder.getFunctionType(argTypes, resultTypes));
  mlir::Block *entry = func.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  unsigned argNo = 0;
  for (const Param &p : decl.params) {
    Binding binding{*p.checkedType, {}};
    auto record = [&](const ValueType &t, mlir::Value arg) {
      binding.values.push_back(arg);
      for (auto [dim, d] : llvm::enumerate(t.getShape())) {
        std::vector<std::string> symbols = d.getSymbols();
        if (symbols.size() == 1 && d == DimExpr::symbol(symbols.front()) &&
            !sizes.count(symbols.front()))
          sizes[symbols.front()] = {arg, unsigned(dim)};
      }
    };
    unsigned count =
        p.checkedType->isGroup() ? p.checkedType->getMembers().size() : 1;
    for (unsigned m = 0; m < count; ++m) {
      mlir::BlockArgument arg = entry->getArgument(argNo++);
      arg.setLoc(loc(p.loc));
      record(p.checkedType->isGroup() ? p.checkedType->getMembers()[m].second
                                      : *p.checkedType,
             arg);
    }
    frame().names[p.name] = std::move(binding);
  }

  bool ok = true;
  for (const StmtPtr &stmt : decl.body)
    ok &= genStmt(*stmt, Env());
  if (!ok || failed) {
    // Never leave a half-built function behind.
    func.erase();
    return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

bool FnGen::genStmt(const Stmt &stmt, const Env &env) {
  bool hoisted = hoistNestedAttends(stmt, env);
  if (auto *def = dyn_cast<IndexedDefStmt>(&stmt)) {
    if (hoisted && genIndexedDef(*def, env))
      return true;
    frame().poisoned.insert(def->name);
    return false;
  }
  if (auto *let = dyn_cast<LetStmt>(&stmt)) {
    if (hoisted && genLet(*let, env))
      return true;
    for (const LetStmt::Name &n : let->names)
      frame().poisoned.insert(n.name);
    return false;
  }
  if (!hoisted)
    return false;
  if (auto *ret = dyn_cast<ReturnStmt>(&stmt)) {
    auto func = mlir::cast<mlir::func::FuncOp>(
        builder.getInsertionBlock()->getParentOp());
    llvm::ArrayRef<mlir::Type> resultTypes = func.getResultTypes();
    llvm::SmallVector<mlir::Value> values;
    for (auto [i, e] : llvm::enumerate(ret->values)) {
      mlir::Value v = gen(*e, env);
      if (!v)
        return false;
      if (i < resultTypes.size())
        v = convert(v, resultTypes[i], loc(e->getLoc()));
      if (!v) {
        unsupported(e->getLoc(), "this returned value's type");
        return false;
      }
      values.push_back(v);
    }
    mlir::func::ReturnOp::create(builder, loc(ret->getLoc()), values);
    return true;
  }
  // State declarations and emits are handled by genScan; Sema rejects them
  // anywhere else.
  unsupported(stmt.getLoc(), isa<StateDeclStmt>(&stmt)
                                 ? "state declarations outside a scan"
                                 : "emit outside a scan");
  return false;
}

bool FnGen::genLet(const LetStmt &let, const Env &outer) {
  // `G = Hq / Hkv`: a compile-time integer, usable in subscripts.
  if (let.names.size() == 1 && let.checkedDim && let.checkedDim->isConstant()) {
    frame().consts[let.names.front().name] =
        ConstValue::ofInt(*let.checkedDim->getConstant());
    return true;
  }
  if (let.names.size() == 1) {
    if (!let.value->type)
      return false;
    if (auto *scan = dyn_cast<ScanExpr>(let.value.get()))
      return genScan(let.names.front().name, {}, *scan, *let.value->type);
    if (auto *attend = dyn_cast<AttendExpr>(let.value.get())) {
      ValueType type = resolve(*let.value->type);
      mlir::Value v =
          genAttend(*attend, {}, {}, elemType(type.getElemType()), outer);
      if (v)
        v = convert(v, mlirType(type), loc(let.getLoc()));
      if (!v)
        return false;
      frame().names[let.names.front().name] = Binding{type, {v}};
      return true;
    }
    return bindExpr(let.names.front().name, *let.value->type, *let.value,
                    outer);
  }
  auto *call = dyn_cast<CallExpr>(let.value.get());
  if (!call || call->callee != "grad") {
    // `a, b = f(x)` (or any group value): name i is member i.
    std::optional<ValueType> type =
        let.value->type ? std::optional<ValueType>(resolve(*let.value->type))
                        : std::nullopt;
    if (!type || !type->isGroup() ||
        type->getMembers().size() != let.names.size())
      return false;
    for (auto [i, n] : llvm::enumerate(let.names)) {
      const ValueType &member = type->getMembers()[i].second;
      if (member.isGroup()) {
        unsupported(n.loc, "unpacking a group member that is itself a group");
        return false;
      }
      Env env = outer;
      env.member = i;
      mlir::Value v = gen(*let.value, env);
      if (!v)
        return false;
      frame().names[n.name] = Binding{member, {v}};
    }
    return true;
  }
  // `a, b = grad(loss, A, B)`: one name per gradient.
  for (auto [i, n] : llvm::enumerate(let.names)) {
    const Expr *wrt = call->args[i + 1].get();
    if (!wrt->type)
      return false;
    // The gradient with respect to argument i + 1 has that argument's type;
    // genGrad returns it for env.member = i through a projected call.
    Binding binding{resolve(*wrt->type), {}};
    unsigned members =
        binding.type.isGroup() ? binding.type.getMembers().size() : 1;
    for (unsigned m = 0; m < members; ++m) {
      Env env = outer;
      // Gradients are numbered over the flattened members of all wrt args.
      unsigned flat = 0;
      for (size_t a = 1; a <= i; ++a)
        flat += call->args[a]->type && call->args[a]->type->isGroup()
                    ? call->args[a]->type->getMembers().size()
                    : 1;
      env.member = flat + m;
      mlir::Value v = genGrad(*call, env);
      if (!v)
        return false;
      binding.values.push_back(v);
    }
    frame().names[n.name] = std::move(binding);
  }
  return true;
}

bool FnGen::bindExpr(const std::string &name, const ValueType &checked,
                     const Expr &value, const Env &outer) {
  ValueType type = resolve(checked);
  Binding binding{type, {}};
  unsigned members = type.isGroup() ? type.getMembers().size() : 1;
  for (unsigned m = 0; m < members; ++m) {
    Env env = outer;
    if (type.isGroup())
      env.member = m;
    mlir::Value v = gen(value, env);
    if (!v)
      return false;
    binding.values.push_back(v);
  }
  frame().names[name] = std::move(binding);
  return true;
}

bool FnGen::genIndexedDef(const IndexedDefStmt &def, const Env &env) {
  if (!def.checkedType)
    return false;
  if (auto *attend = dyn_cast<AttendExpr>(def.value.get())) {
    llvm::SmallVector<std::string> names;
    llvm::SmallVector<mlir::Value> sizes;
    for (const IndexDecl &index : def.indices) {
      if (!index.checkedExtent)
        return false;
      mlir::Value size =
          dimValue(index.checkedExtent->substitute(frame().subst), index.loc);
      if (!size)
        return false;
      names.push_back(index.name);
      sizes.push_back(size);
    }
    ValueType type = resolve(*def.checkedType);
    mlir::Value v =
        genAttend(*attend, names, sizes, elemType(type.getElemType()), env);
    if (v)
      v = convert(v, mlirType(type), loc(def.getLoc()));
    if (!v)
      return false;
    frame().names[def.name] = Binding{type, {v}};
    return true;
  }
  if (auto *scan = dyn_cast<ScanExpr>(def.value.get())) {
    if (def.indices.empty() || def.indices.back().name != scan->index) {
      error(def.getLoc(), "internal error: a scan's time index");
      return false;
    }
    llvm::SmallVector<const IndexDecl *> batch;
    for (const IndexDecl &index : llvm::ArrayRef(def.indices).drop_back())
      batch.push_back(&index);
    return genScan(def.name, batch, *scan, *def.checkedType);
  }
  for (const IndexDecl &index : def.indices)
    if (!index.checkedExtent)
      return false;
  ValueType type = resolve(*def.checkedType);
  if (type.isGroup()) {
    unsupported(def.getLoc(), "indexed definitions of groups");
    return false;
  }
  std::optional<ValueType> valueType = typeOf(*def.value, env);
  if (!valueType)
    return false;
  mlir::Value v = valueType->isScalar() ? genGenerate(def, type, env)
                                        : genForall(def, type, env);
  if (!v)
    return false;
  frame().names[def.name] = Binding{type, {v}};
  return true;
}

mlir::Value FnGen::genGenerate(const IndexedDefStmt &def, const ValueType &type,
                               const Env &outer) {
  llvm::SmallVector<mlir::Value> dynExtents;
  if (!dynamicSizes(type, def.getLoc(), dynExtents))
    return {};
  mlir::Location l = loc(def.getLoc());
  auto tensorType = mlir::cast<mlir::RankedTensorType>(mlirType(type));
  auto op = mlir::tensor::GenerateOp::create(
      builder, l, tensorType, dynExtents,
      [](mlir::OpBuilder &, mlir::Location, mlir::ValueRange) {});
  mlir::Block &body = op.getBody().front();
  Env env = outer;
  for (auto [index, arg] : llvm::zip(def.indices, body.getArguments()))
    env.indices[index.name] = arg;
  mlir::OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(&body);
  mlir::Value v = gen(*def.value, env);
  if (!v)
    return {};
  v = coerce(v, tensorType.getElementType(), loc(def.value->getLoc()));
  mlir::tensor::YieldOp::create(builder, l, v);
  return op.getResult();
}

mlir::Value FnGen::genForall(const IndexedDefStmt &def, const ValueType &type,
                             const Env &outer) {
  // x[i...] = e with e a tensor: a parallel loop over i... whose iterations
  // insert their slices [1..., S...] of the result.
  mlir::Location l = loc(def.getLoc());
  size_t numIndices = def.indices.size();
  llvm::SmallVector<mlir::OpFoldResult> bounds;
  for (const IndexDecl &index : def.indices) {
    DimExpr extent = index.checkedExtent->substitute(frame().subst);
    if (std::optional<int64_t> c = extent.getConstant()) {
      bounds.push_back(builder.getIndexAttr(*c));
      continue;
    }
    mlir::Value v = dimValue(extent, index.loc);
    if (!v)
      return {};
    bounds.push_back(v);
  }
  mlir::Value init = emptyTensor(type, def.getLoc());
  if (!init)
    return {};
  auto forall = mlir::scf::ForallOp::create(
      builder, l, bounds, mlir::ValueRange{init}, std::nullopt);
  mlir::Block *body = forall.getBody();
  Env env = outer;
  for (auto [index, iv] : llvm::zip(def.indices, forall.getInductionVars()))
    env.indices[index.name] = iv;
  mlir::OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPoint(forall.getTerminator());
  mlir::Value v = gen(*def.value, env);
  if (!v)
    return {};
  auto sliceType = mlir::RankedTensorType::get(
      mlir::cast<mlir::RankedTensorType>(init.getType())
          .getShape()
          .drop_front(numIndices),
      mlir::cast<mlir::RankedTensorType>(init.getType()).getElementType());
  v = convert(v, sliceType, l);
  if (!v)
    return unsupported(def.value->getLoc(), "this value's type");
  llvm::SmallVector<mlir::OpFoldResult> offsets, sizesOut, strides;
  for (mlir::Value iv : forall.getInductionVars()) {
    offsets.push_back(iv);
    sizesOut.push_back(builder.getIndexAttr(1));
  }
  auto sliceTy = mlir::cast<mlir::RankedTensorType>(v.getType());
  for (int64_t d = 0; d < sliceTy.getRank(); ++d) {
    offsets.push_back(builder.getIndexAttr(0));
    if (sliceTy.isDynamicDim(d))
      sizesOut.push_back(
          mlir::tensor::DimOp::create(builder, l, v, d).getResult());
    else
      sizesOut.push_back(builder.getIndexAttr(sliceTy.getDimSize(d)));
  }
  strides.assign(offsets.size(), builder.getIndexAttr(1));
  builder.setInsertionPointToEnd(forall.getTerminator().getBody());
  mlir::tensor::ParallelInsertSliceOp::create(
      builder, l, v, body->getArguments().back(), offsets, sizesOut, strides);
  return forall.getResult(0);
}

//===----------------------------------------------------------------------===//
// Module
//===----------------------------------------------------------------------===//

bool attnc::isInstantiable(const FnDecl &fn) {
  // A constant without a default is given by each caller (`f<K = 4>(x)`)
  // or by --set: without one, the function is only a template.
  return llvm::all_of(fn.constParams, [&](const ConstParam &c) {
    return fn.checkedConsts.count(c.name) != 0;
  });
}

mlir::OwningOpRef<mlir::ModuleOp> attnc::mlirGen(mlir::MLIRContext &context,
                                                 const Module &module) {
  context.loadDialect<mlir::arith::ArithDialect, mlir::cf::ControlFlowDialect,
                      mlir::func::FuncDialect, mlir::linalg::LinalgDialect,
                      mlir::scf::SCFDialect, mlir::tensor::TensorDialect>();
  Location fileLoc{module.mainFile, 1, 1};
  mlir::OwningOpRef<mlir::ModuleOp> result = mlir::ModuleOp::create(
      mlir::FileLineColLoc::get(&context, fileLoc.file, 1, 1));
  std::map<std::string, ConstValue> globalConsts;
  std::map<std::string, const FnDecl *> fns;
  for (const DeclPtr &decl : module.decls) {
    if (auto *c = dyn_cast<ConstDecl>(decl.get()); c && c->checkedValue)
      globalConsts[c->getName()] = *c->checkedValue;
    if (auto *f = dyn_cast<FnDecl>(decl.get()))
      fns[f->getName()] = f;
  }
  FnGen gen(context, *result, globalConsts, fns);
  bool ok = true;
  for (const DeclPtr &decl : module.decls)
    if (auto *f = dyn_cast<FnDecl>(decl.get()); f && isInstantiable(*f))
      ok &= gen.genFn(*f);
  if (!ok || gen.failed)
    return nullptr;
  // Architectures call the functions as layers: generate them second.
  if (mlir::failed(genArchs(*result, module)))
    return nullptr;
  if (mlir::failed(mlir::verify(*result)))
    return nullptr;
  return result;
}
