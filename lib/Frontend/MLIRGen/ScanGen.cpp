//===- ScanGen.cpp - scan to attn.scan, grad to attn.grad -------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// `y[b, h, t] = scan t < N [chunk C] { state S: T = init; ...; emit e }`
/// becomes `attn.scan batch(B, H) length(N) [chunk C]`: the state
/// initializers fill the `init` region, the step the `body` region. Group
/// states are flattened member by member. With `chunk C > 1` the body also
/// receives the states as of the start of the step's chunk, which is what
/// `grad` reads: the language defines every gradient at step t to be taken
/// at the chunk-start states (at the step-start states without `chunk`).
///
/// `grad(loss, X...)` becomes `attn.grad`: its loss region recomputes the
/// loss from the statements it depends on, with the states at their
/// chunk-start values and the X as the region's arguments.
///
/// `linear_in_state`, `transitions` and `emit_form` record the algebraic
/// form of the step (ScanLinearity.cpp).
///
//===----------------------------------------------------------------------===//

#include "MLIRGenImpl.h"
#include "ScanFactors.h"
#include "ScanLinearity.h"

#include "dialects/Attn/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/Casting.h"

using namespace attnc;
using namespace attnc::mlirgen;
using llvm::dyn_cast;
using llvm::isa;

namespace attn = mlir::attnc::attn;

/// Calls `f` on `e` and every sub-expression, not entering nested scans.
static void walk(const Expr &e, const std::function<void(const Expr &)> &f) {
  f(e);
  if (auto *u = dyn_cast<UnaryExpr>(&e)) {
    walk(*u->operand, f);
  } else if (auto *b = dyn_cast<BinaryExpr>(&e)) {
    walk(*b->lhs, f);
    walk(*b->rhs, f);
  } else if (auto *s = dyn_cast<SubscriptExpr>(&e)) {
    walk(*s->base, f);
    for (const ExprPtr &i : s->indices)
      walk(*i, f);
  } else if (auto *m = dyn_cast<MemberExpr>(&e)) {
    walk(*m->base, f);
  } else if (auto *c = dyn_cast<CallExpr>(&e)) {
    for (const ExprPtr &a : c->args)
      walk(*a, f);
  } else if (auto *r = dyn_cast<ReduceExpr>(&e)) {
    walk(*r->extent, f);
    if (r->param)
      walk(*r->param, f);
    walk(*r->body, f);
  } else if (auto *g = dyn_cast<GroupLitExpr>(&e)) {
    for (const GroupLitExpr::Field &field : g->fields)
      walk(*field.value, f);
  } else if (auto *a = dyn_cast<AttendExpr>(&e)) {
    for (const ExprPtr *p :
         {&a->extent, &a->score, &a->mask, &a->normalizer.bias, &a->value})
      if (*p)
        walk(**p, f);
  }
}

/// The names `e` reads.
static llvm::StringSet<> namesIn(const Expr &e) {
  llvm::StringSet<> names;
  walk(e, [&](const Expr &x) {
    if (auto *n = dyn_cast<NameExpr>(&x))
      names.insert(n->name);
  });
  return names;
}

/// The name a statement of a scan body defines, if any.
static const std::string *definedName(const Stmt &s) {
  if (auto *d = dyn_cast<IndexedDefStmt>(&s))
    return &d->name;
  if (auto *l = dyn_cast<LetStmt>(&s); l && l->names.size() == 1)
    return &l->names.front().name;
  return nullptr;
}

static const Expr *definedValue(const Stmt &s) {
  if (auto *d = dyn_cast<IndexedDefStmt>(&s))
    return d->value.get();
  if (auto *l = dyn_cast<LetStmt>(&s))
    return l->value.get();
  return nullptr;
}

//===----------------------------------------------------------------------===//
// scan
//===----------------------------------------------------------------------===//

bool FnGen::genScan(const std::string &name,
                    llvm::ArrayRef<const IndexDecl *> batch,
                    const ScanExpr &scan, const ValueType &checked) {
  mlir::Location l = loc(scan.getLoc());

  // Sizes: batch extents and the length.
  llvm::SmallVector<mlir::Value> batchSizes;
  for (const IndexDecl *index : batch) {
    if (!index->checkedExtent)
      return false;
    mlir::Value v =
        dimValue(index->checkedExtent->substitute(frame().subst), index->loc);
    if (!v)
      return false;
    batchSizes.push_back(v);
  }
  mlir::Value length = genExtent(*scan.extent);
  if (!length)
    return false;
  int64_t chunk = 1;
  if (scan.chunk) {
    std::optional<int64_t> c = constInt(*scan.chunk);
    if (!c || *c < 1) {
      unsupported(scan.chunk->getLoc(), "a chunk length that is not a "
                                        "positive constant");
      return false;
    }
    chunk = *c;
  }

  // States, flattened; the emitted value's type.
  std::vector<const StateDeclStmt *> decls;
  const EmitStmt *emit = nullptr;
  for (const StmtPtr &s : scan.body) {
    if (auto *d = dyn_cast<StateDeclStmt>(s.get()))
      decls.push_back(d);
    if (auto *e = dyn_cast<EmitStmt>(s.get()))
      emit = e;
  }
  if (!emit || !emit->value->type) {
    error(scan.getLoc(), "internal error: a scan without emit");
    return false;
  }
  llvm::SmallVector<mlir::Type> stateTypes;
  std::vector<ValueType> stateValueTypes;
  for (const StateDeclStmt *d : decls) {
    if (!d->checkedType)
      return false;
    ValueType t = resolve(*d->checkedType);
    if (t.isGroup()) {
      for (const auto &m : t.getMembers())
        stateValueTypes.push_back(m.second);
    } else {
      stateValueTypes.push_back(t);
    }
  }
  for (const ValueType &t : stateValueTypes) {
    if (t.isScalar()) {
      unsupported(scan.getLoc(), "scalar states (declare f32[1])");
      return false;
    }
    stateTypes.push_back(mlirType(t));
  }
  ValueType emitValueType = resolve(*emit->value->type);
  if (emitValueType.isGroup()) {
    unsupported(emit->getLoc(), "emitting a group");
    return false;
  }
  mlir::Type emitType = mlirType(emitValueType);
  auto dimsOf = [](mlir::Type t) {
    if (auto rt = mlir::dyn_cast<mlir::RankedTensorType>(t))
      return llvm::SmallVector<int64_t>(rt.getShape());
    return llvm::SmallVector<int64_t>();
  };
  auto elemOf = [](mlir::Type t) {
    if (auto rt = mlir::dyn_cast<mlir::RankedTensorType>(t))
      return rt.getElementType();
    return t;
  };
  llvm::SmallVector<int64_t> batchShape;
  for (mlir::Value v : batchSizes) {
    std::optional<int64_t> c = mlir::getConstantIntValue(v);
    batchShape.push_back(c ? *c : mlir::ShapedType::kDynamic);
  }
  std::optional<int64_t> lengthConst = mlir::getConstantIntValue(length);
  llvm::SmallVector<int64_t> outShape = batchShape;
  outShape.push_back(lengthConst ? *lengthConst : mlir::ShapedType::kDynamic);
  llvm::append_range(outShape, dimsOf(emitType));
  llvm::SmallVector<mlir::Type> resultTypes = {
      mlir::RankedTensorType::get(outShape, elemOf(emitType))};
  for (mlir::Type t : stateTypes) {
    llvm::SmallVector<int64_t> shape = batchShape;
    llvm::append_range(shape, dimsOf(t));
    resultTypes.push_back(mlir::RankedTensorType::get(shape, elemOf(t)));
  }

  // The algebraic form of the step, for the chunkwise-parallel lowering; a
  // remark says why a scan has none (shown by `--remarks`).
  ScanForm form = analyzeScan(scan);
  llvm::SmallVector<mlir::Attribute> transitions;
  for (const StateDeclStmt *decl : decls) {
    // The last update of each state (a state never updated is constant);
    // each member of a group state has the group's.
    Transition t = Transition::Identity;
    for (const StateForm &f : form.states)
      if (f.state == decl->name)
        t = f.transition;
    ValueType type = resolve(*decl->checkedType);
    size_t members = type.isGroup() ? type.getMembers().size() : 1;
    transitions.append(members, builder.getStringAttr(toString(t)));
  }
  for (const StateForm &f : form.states)
    if (f.transition == Transition::NonLinear ||
        f.transition == Transition::Affine)
      mlir::emitRemark(l) << "this scan has no chunkwise-parallel form: "
                          << "the update of '" << f.state << "' " << f.reason;
  if (form.emit == EmitForm::NonLinear)
    mlir::emitRemark(l) << "this scan has no chunkwise-parallel form: "
                        << form.emitReason;
  // The factors of a chunkwise form (ScanFactors.h), evaluated in the
  // `factors` region after the body.
  std::optional<ScanFactors> factors;
  bool classified = llvm::none_of(form.states, [](const StateForm &f) {
    return f.transition == Transition::Affine ||
           f.transition == Transition::NonLinear;
  });
  if (classified && form.emit != EmitForm::NonLinear) {
    std::string why;
    if (chunk == 1)
      factors = findScanFactors(scan, why);
    else
      why = "it has its own chunks (part of its semantics)";
    if (!factors)
      mlir::emitRemark(l) << "this scan is not lowered chunkwise: " << why;
  }
  auto op =
      attn::ScanOp::create(builder, l, resultTypes, batchSizes, length,
                           builder.getI64IntegerAttr(chunk),
                           form.isAffine() ? builder.getUnitAttr() : nullptr,
                           builder.getArrayAttr(transitions),
                           builder.getStringAttr(toString(form.emit)), nullptr,
                           nullptr, nullptr, nullptr);
  mlir::Type indexType = builder.getIndexType();

  // Names declared in the scan are local to it.
  llvm::StringMap<Binding> savedNames = frame().names;
  llvm::scope_exit restoreNames([&] { frame().names = std::move(savedNames); });

  // init: (batch indices...) -> the initial states.
  {
    mlir::Block *block = new mlir::Block();
    op.getInit().push_back(block);
    Env env;
    for (const IndexDecl *index : batch)
      env.indices[index->name] = block->addArgument(indexType, l);
    mlir::OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToEnd(block);
    llvm::SmallVector<mlir::Value> inits;
    size_t flat = 0;
    for (const StateDeclStmt *d : decls) {
      ValueType t = resolve(*d->checkedType);
      unsigned members = t.isGroup() ? t.getMembers().size() : 1;
      std::optional<ValueType> initType =
          d->init->type ? resolve(*d->init->type) : std::optional<ValueType>();
      for (unsigned m = 0; m < members; ++m, ++flat) {
        Env memberEnv = env;
        if (initType && initType->isGroup())
          memberEnv.member = m;
        mlir::Value v = gen(*d->init, memberEnv);
        if (!v)
          return false;
        if (!mlir::isa<mlir::RankedTensorType>(v.getType())) {
          // A scalar initializer fills the whole state.
          mlir::Value empty = emptyTensor(stateValueTypes[flat], d->getLoc());
          if (!empty)
            return false;
          v = coerce(v, elemOf(stateTypes[flat]), loc(d->init->getLoc()));
          v = mlir::linalg::FillOp::create(builder, loc(d->getLoc()), v, empty)
                  .getResult(0);
        }
        mlir::Value c = convert(v, stateTypes[flat], loc(d->getLoc()));
        if (!c) {
          unsupported(d->init->getLoc(), "this initial state's type");
          return false;
        }
        inits.push_back(c);
      }
    }
    attn::YieldOp::create(builder, l, inits);
  }

  // body: (batch indices..., t, states..., [chunk-start states...]).
  mlir::Block *block = new mlir::Block();
  op.getBody().push_back(block);
  Env env;
  for (const IndexDecl *index : batch)
    env.indices[index->name] = block->addArgument(indexType, l);
  env.indices[scan.index] = block->addArgument(indexType, l);
  ScanContext ctx;
  ctx.scan = &scan;
  llvm::SmallVector<mlir::Value> stateArgs, chunkArgs;
  for (mlir::Type t : stateTypes)
    stateArgs.push_back(block->addArgument(t, l));
  if (chunk > 1)
    for (mlir::Type t : stateTypes)
      chunkArgs.push_back(block->addArgument(t, l));
  else
    chunkArgs = stateArgs;
  size_t flat = 0;
  for (const StateDeclStmt *d : decls) {
    ValueType t = resolve(*d->checkedType);
    unsigned members = t.isGroup() ? t.getMembers().size() : 1;
    Binding current{t, {}}, start{t, {}};
    for (unsigned m = 0; m < members; ++m, ++flat) {
      current.values.push_back(stateArgs[flat]);
      start.values.push_back(chunkArgs[flat]);
    }
    frame().names[d->name] = current;
    ctx.chunkStart[d->name] = start;
    ctx.states.push_back(d->name);
  }

  ScanContext *savedScan = currentScan;
  currentScan = &ctx;
  llvm::scope_exit restoreScan([&] { currentScan = savedScan; });
  gradCache.clear();
  mlir::OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(block);
  mlir::Value emitted;
  for (const StmtPtr &s : scan.body) {
    if (isa<StateDeclStmt>(s.get()))
      continue;
    if (auto *e = dyn_cast<EmitStmt>(s.get())) {
      if (!hoistNestedAttends(*e, env))
        return false;
      emitted = gen(*e->value, env);
      if (!emitted)
        return false;
      emitted = convert(emitted, emitType, loc(e->getLoc()));
      if (!emitted) {
        unsupported(e->value->getLoc(), "this emitted value's type");
        return false;
      }
      continue;
    }
    if (!genStmt(*s, env))
      return false;
    if (const std::string *name = definedName(*s)) {
      if (ctx.chunkStart.count(*name))
        ctx.updated.insert(*name);
    }
    ctx.before.push_back(s.get());
  }
  // The next states, converted to the declared types.
  llvm::SmallVector<mlir::Value> next;
  flat = 0;
  for (const std::string &name : ctx.states) {
    const Binding *b = lookup(name);
    for (mlir::Value v : b->values) {
      mlir::Value c = convert(v, stateTypes[flat++], l);
      if (!c) {
        unsupported(scan.getLoc(), "the type of the state '" + name + "'");
        return false;
      }
      next.push_back(c);
    }
  }
  attn::ScanYieldOp::create(builder, l, emitted, next);
  if (factors) {
    frame().names = savedNames;
    if (!genScanFactors(op, batch, scan, *factors, stateTypes))
      return false;
  }
  restoreNames.release();
  frame().names = std::move(savedNames);
  frame().names[name] = Binding{resolve(checked), {op.getOutput()}};
  return true;
}

/// The values of `f` at one step: a tensor of `extent` f32, from a vector
/// expression, or a tensor.generate over `f.index` of a scalar one.
mlir::Value FnGen::genVectorFactor(const VectorFactor &f, int64_t extent,
                                   const Env &env) {
  mlir::Location l = loc(f.expr->getLoc());
  auto type = mlir::RankedTensorType::get({extent}, builder.getF32Type());
  if (f.index.empty()) {
    mlir::Value v = gen(*f.expr, env);
    auto rt = v ? mlir::dyn_cast<mlir::RankedTensorType>(v.getType())
                : mlir::RankedTensorType();
    if (!rt || rt.getShape() != type.getShape())
      return {};
    return convert(v, type, l);
  }
  auto op = mlir::tensor::GenerateOp::create(
      builder, l, type, mlir::ValueRange{},
      [](mlir::OpBuilder &, mlir::Location, mlir::ValueRange) {});
  mlir::Block &body = op.getBody().front();
  Env inner = env;
  inner.indices[f.index] = body.getArgument(0);
  mlir::OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(&body);
  mlir::Value v = gen(*f.expr, inner);
  if (!v || !mlir::isa<mlir::FloatType>(v.getType()))
    return {};
  mlir::tensor::YieldOp::create(builder, l, coerce(v, builder.getF32Type(), l));
  return op.getResult();
}

/// The product of scalar factors, as f32 (1 for none).
mlir::Value FnGen::genScalarProduct(llvm::ArrayRef<const Expr *> factors,
                                    mlir::Location l, const Env &env) {
  mlir::Type f32 = builder.getF32Type();
  mlir::Value product;
  for (const Expr *e : factors) {
    mlir::Value v = gen(*e, env);
    if (!v || !mlir::isa<mlir::FloatType>(v.getType()))
      return {};
    v = coerce(v, f32, loc(e->getLoc()));
    product = product ? mlir::arith::MulFOp::create(builder, l, product, v) : v;
  }
  if (!product)
    product = mlir::arith::ConstantOp::create(builder, l, f32,
                                              builder.getF32FloatAttr(1.0f));
  return product;
}

bool FnGen::genScanFactors(attn::ScanOp op,
                           llvm::ArrayRef<const IndexDecl *> batch,
                           const ScanExpr &scan, const ScanFactors &factors,
                           llvm::ArrayRef<mlir::Type> stateTypes) {
  mlir::Location l = loc(scan.getLoc());
  auto remark = [&](llvm::StringRef why) {
    mlir::emitRemark(l) << "this scan is not lowered chunkwise: " << why;
    return true; // the step-by-step lowering still serves it
  };
  // K and V from the matrix state.
  int64_t keys = 0, values = 0;
  for (auto [role, type] : llvm::zip(factors.roles, stateTypes)) {
    auto rt = mlir::cast<mlir::RankedTensorType>(type);
    if (role == ScanFactors::Role::Normalizer)
      continue;
    if (rt.getRank() != 2 || !rt.hasStaticShape() ||
        !rt.getElementType().isF32())
      return remark("not supported yet: a matrix state that is not a "
                    "static f32[K, V]");
    bool keyMajor = role == ScanFactors::Role::KeyValue;
    keys = rt.getDimSize(keyMajor ? 0 : 1);
    values = rt.getDimSize(keyMajor ? 1 : 0);
  }
  for (auto [role, type] : llvm::zip(factors.roles, stateTypes))
    if (role == ScanFactors::Role::Normalizer &&
        mlir::cast<mlir::RankedTensorType>(type).getShape() !=
            llvm::ArrayRef<int64_t>{keys})
      return remark("the normalizer is not of the key size");

  mlir::Block *block = new mlir::Block();
  op.getFactors().push_back(block);
  auto drop = [&](llvm::StringRef why) {
    op.getFactors().front().dropAllDefinedValueUses();
    op.getFactors().front().erase();
    return remark(why);
  };
  mlir::Type indexType = builder.getIndexType();
  Env env;
  for (const IndexDecl *index : batch)
    env.indices[index->name] = block->addArgument(indexType, l);
  env.indices[scan.index] = block->addArgument(indexType, l);
  mlir::OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(block);
  // The locals the factors may read (none reads a state: ScanFactors.cpp).
  llvm::StringSet<> states;
  for (const StmtPtr &s : scan.body)
    if (auto *d = dyn_cast<StateDeclStmt>(s.get()))
      states.insert(d->name);
  for (const StmtPtr &s : scan.body) {
    const std::string *name = definedName(*s);
    if (!name || states.contains(*name))
      continue;
    if (!genStmt(*s, env))
      return false;
  }
  llvm::SmallVector<mlir::Value> yielded = {
      genVectorFactor(factors.query, keys, env),
      genVectorFactor(factors.key, keys, env),
      genVectorFactor(factors.value, values, env)};
  if (factors.decay != ScanFactors::Decay::None) {
    mlir::Value scalar = genScalarProduct(factors.decayScalars, l, env);
    if (factors.decay == ScanFactors::Decay::Vector) {
      mlir::Value gate = genVectorFactor(factors.gate, keys, env);
      if (gate && scalar && !factors.decayScalars.empty()) {
        mlir::Value splat =
            mlir::tensor::SplatOp::create(builder, l, gate.getType(), scalar);
        gate = mlir::arith::MulFOp::create(builder, l, gate, splat);
      }
      scalar = gate;
    }
    yielded.push_back(scalar);
  }
  if (!factors.betaScalars.empty())
    yielded.push_back(genScalarProduct(factors.betaScalars, l, env));
  if (llvm::is_contained(yielded, mlir::Value()))
    return drop("not supported yet: a factor of this step's type");
  attn::YieldOp::create(builder, l, yielded);

  auto str = [&](llvm::StringRef s) { return builder.getStringAttr(s); };
  op.setChunkRecurrenceAttr(
      str(factors.recurrence == ScanFactors::Recurrence::Delta ? "delta"
                                                               : "linear"));
  op.setChunkDecayAttr(str(factors.decay == ScanFactors::Decay::None ? "none"
                           : factors.decay == ScanFactors::Decay::Scalar
                               ? "scalar"
                               : "vector"));
  if (!factors.betaScalars.empty())
    op.setChunkBetaAttr(builder.getUnitAttr());
  llvm::SmallVector<mlir::Attribute> roles;
  for (ScanFactors::Role role : factors.roles)
    roles.push_back(str(role == ScanFactors::Role::KeyValue   ? "key_value"
                        : role == ScanFactors::Role::ValueKey ? "value_key"
                                                              : "normalizer"));
  op.setChunkStatesAttr(builder.getArrayAttr(roles));
  return true;
}

//===----------------------------------------------------------------------===//
// grad
//===----------------------------------------------------------------------===//

mlir::Value FnGen::genGrad(const CallExpr &call, const Env &env) {
  mlir::Location l = loc(call.getLoc());
  if (!currentScan)
    return unsupported(call.getLoc(), "grad outside a scan");
  ScanContext &ctx = *currentScan;
  unsigned member = env.member.value_or(0);
  auto cached = gradCache.find(&call);
  if (cached != gradCache.end())
    return member < cached->second.size() ? cached->second[member]
                                          : mlir::Value();

  // The statements the loss depends on, found backwards from its names.
  const Expr &loss = *call.args[0];
  llvm::StringSet<> needed = namesIn(loss);
  std::vector<const Stmt *> replay;
  for (auto it = ctx.before.rbegin(); it != ctx.before.rend(); ++it) {
    const std::string *name = definedName(**it);
    if (!name || !needed.contains(*name) || ctx.chunkStart.count(*name))
      continue;
    replay.insert(replay.begin(), *it);
    for (const auto &n : namesIn(*definedValue(**it)))
      needed.insert(n.getKey());
  }
  for (const std::string &state : ctx.states)
    if (needed.contains(state) && ctx.updated.contains(state))
      return unsupported(call.getLoc(),
                         "a grad whose loss reads the state '" + state +
                             "' after it is updated in the same step "
                             "(compute the loss before the update)");

  // The wrt operands: the chunk-start values of the states.
  llvm::SmallVector<mlir::Value> wrt;
  llvm::SmallVector<std::pair<std::string, unsigned>> wrtNames;
  for (size_t a = 1; a < call.args.size(); ++a) {
    auto *name = dyn_cast<NameExpr>(call.args[a].get());
    if (!name || !ctx.chunkStart.count(name->name))
      return unsupported(call.args[a]->getLoc(),
                         "grad with respect to anything but a state");
    const Binding &b = ctx.chunkStart[name->name];
    wrtNames.push_back({name->name, unsigned(b.values.size())});
    llvm::append_range(wrt, b.values);
  }
  llvm::SmallVector<mlir::Type> types;
  for (mlir::Value v : wrt)
    types.push_back(v.getType());
  if (!llvm::all_of(types, [](mlir::Type t) {
        auto rt = mlir::dyn_cast<mlir::RankedTensorType>(t);
        return rt && mlir::isa<mlir::FloatType>(rt.getElementType());
      }))
    return unsupported(call.getLoc(), "grad with respect to non-float states");
  auto op = attn::GradOp::create(builder, l, types, wrt);
  mlir::Block *block = new mlir::Block();
  op.getLoss().push_back(block);
  {
    // The loss, recomputed with the states at their chunk-start values.
    llvm::StringMap<Binding> saved = frame().names;
    llvm::scope_exit restore([&] { frame().names = std::move(saved); });
    for (const std::string &state : ctx.states)
      frame().names[state] = ctx.chunkStart[state];
    for (auto [name, count] : wrtNames) {
      Binding &b = frame().names[name];
      for (unsigned i = 0; i < count; ++i)
        b.values[i] = block->addArgument(b.values[i].getType(), l);
    }
    mlir::OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToEnd(block);
    for (const Stmt *s : replay) {
      const Expr *v = definedValue(*s);
      bool hasGrad = false;
      walk(*v, [&](const Expr &x) {
        if (auto *c = dyn_cast<CallExpr>(&x))
          hasGrad |= c->callee == "grad";
      });
      if (hasGrad)
        return unsupported(s->getLoc(), "a loss computed from a gradient");
      if (!genStmt(*s, env))
        return {};
    }
    Env lossEnv = env;
    lossEnv.member.reset();
    mlir::Value value = gen(loss, lossEnv);
    if (!value)
      return {};
    if (!mlir::isa<mlir::FloatType>(value.getType()))
      return unsupported(loss.getLoc(), "a loss that is not a float scalar");
    attn::YieldOp::create(builder, l, mlir::ValueRange{value});
  }
  llvm::SmallVector<mlir::Value> results(op.getGradients());
  gradCache[&call] = results;
  return member < results.size() ? results[member] : mlir::Value();
}
