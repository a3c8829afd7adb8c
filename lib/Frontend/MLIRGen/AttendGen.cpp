//===- AttendGen.cpp - attend to attn.attention -----------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Every `attend` becomes one `attn.attention` over the kernel's layout
/// [B, H, N, D], with prologues that compute, once per row or once per key,
/// what the kernel reads. For `out[o...] = attend j < M {...}`:
///
/// - Key batch and rows. The key-batch indices KB are the output indices
///   that the value and the keys are read at, beside `j` (b and h in
///   `k[b, h / G, j]`); the rows R are the others (i). KB becomes the
///   kernel's [B, H] (H the index read through a group map `h / G`, else
///   the last one; B the others, flattened) and R its N (flattened).
/// - Kernel dot products. A `dot(x, y)` of the score whose one side does not
///   read `j` (the row side) and whose other side reads no row index (the
///   key side) is a dot product of the kernel, in either order: query p
///   [B, H, N, D_p] and key p [B, H / Gk_p, M, D_p]. Identical dots are one.
/// - Prologues. A side that is a plain subscript in the kernel's order
///   (`q[b, h, i]`, `k[b, h / G, j]`) is passed as it is; any other
///   expression (a feature map, a shift, a reversed key, a learned query,
///   another layout) is computed into a tensor of the kernel's layout, once
///   per row or per key. The value becomes [B, H / Gv, M, Dv] the same way,
///   its shape flattened to Dv.
/// - Everything else in the score (the rest of the expression, dots that do
///   not split) is the score region, evaluated by the kernel per (row, key)
///   on vectors of keys; the mask is the mask region. The regions see the
///   output indices themselves when each role has one index (so the mask
///   analysis sees `j <= i`), else recovered from the flat ones.
/// - The result [B, H, N, Dv] is reshaped and transposed to `out`'s order.
///
/// A value that reads a row index (`v[b, h, j] * g[b, h, i]`) is computed
/// per (row, key) pair outside the kernel, by the unfused path at the end
/// of this file.
///
//===----------------------------------------------------------------------===//

#include "LinalgBuilders.h"
#include "MLIRGenImpl.h"

#include "dialects/Attn/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Casting.h"

#include <limits>

using namespace attnc;
using namespace attnc::mlirgen;
namespace attn = mlir::attnc::attn;
namespace lgen = attnc::lgen;
using llvm::dyn_cast;
using llvm::isa;

//===----------------------------------------------------------------------===//
// Analysis of the clauses
//===----------------------------------------------------------------------===//

/// Collects the names of `names` that `e` reads.
static void collectUses(const Expr &e, const llvm::StringSet<> &names,
                        llvm::StringSet<> &uses) {
  if (auto *n = dyn_cast<NameExpr>(&e))
    if (names.contains(n->name))
      uses.insert(n->name);
  forEachChild(
      e, [&](const Expr &child) { collectUses(child, names, uses); },
      [](const Stmt &) {});
}

static bool uses(const Expr &e, const std::string &name) {
  llvm::StringSet<> names, found;
  names.insert(name);
  collectUses(e, names, found);
  return !found.empty();
}

/// Collects the output indices `e` reads at the subscript positions of a
/// tensor read that also reads key `j` at another position: the indices the
/// keys or values are read at (b and h in `k[b, h / G, j]`).
static void collectKeyBatchUses(const Expr &e, const std::string &j,
                                const llvm::StringSet<> &out,
                                llvm::StringSet<> &found) {
  if (auto *sub = dyn_cast<SubscriptExpr>(&e)) {
    bool readsKey = llvm::any_of(
        sub->indices, [&](const ExprPtr &index) { return uses(*index, j); });
    if (readsKey)
      for (const ExprPtr &index : sub->indices)
        if (!uses(*index, j))
          collectUses(*index, out, found);
  }
  forEachChild(
      e, [&](const Expr &child) { collectKeyBatchUses(child, j, out, found); },
      [](const Stmt &) {});
}

/// How an expression reads the head index `h`.
struct HeadUse {
  enum Kind { None, Grouped, Plain } kind = None;
  /// The G of `h / G` for Grouped.
  int64_t group = 1;
};

/// Whether `e` reads `h` not at all, only as `h / G` (one constant G), or
/// otherwise.
static HeadUse headUseOf(FnGen &g, const Expr &e, const std::string &h) {
  HeadUse use;
  std::function<void(const Expr &)> walk = [&](const Expr &x) {
    if (use.kind == HeadUse::Plain)
      return;
    if (auto *bin = dyn_cast<BinaryExpr>(&x); bin && bin->op == BinaryOp::Div) {
      auto *lhs = dyn_cast<NameExpr>(bin->lhs.get());
      std::optional<int64_t> k = g.constInt(*bin->rhs);
      if (lhs && lhs->name == h && k && *k > 0 &&
          (use.kind == HeadUse::None || use.group == *k)) {
        use = {HeadUse::Grouped, *k};
        return;
      }
    }
    if (auto *n = dyn_cast<NameExpr>(&x); n && n->name == h) {
      use = {HeadUse::Plain, 1};
      return;
    }
    forEachChild(x, walk, [](const Stmt &) {});
  };
  walk(e);
  return use;
}

/// Collects the calls of `dot` in `e` outside the reductions of `e` (whose
/// bodies read indices of their own).
static void collectDots(const Expr &e,
                        llvm::SmallVectorImpl<const CallExpr *> &dots) {
  if (isa<ReduceExpr, AttendExpr, ScanExpr>(&e))
    return;
  if (auto *c = dyn_cast<CallExpr>(&e); c && c->callee == "dot")
    dots.push_back(c);
  forEachChild(
      e, [&](const Expr &child) { collectDots(child, dots); },
      [](const Stmt &) {});
}

//===----------------------------------------------------------------------===//
// AttendLowering
//===----------------------------------------------------------------------===//

namespace {

/// A dot product the kernel computes: `row . key`.
struct KernelDot {
  const Expr *row;
  const Expr *key;
  /// The calls it stands for (identical dots, in either order).
  llvm::SmallVector<const CallExpr *, 2> calls;
};

/// One index of the kernel's layout: the output indices it stands for
/// (flattened row-major) and its extent.
struct Role {
  llvm::SmallVector<std::string, 2> names;
  llvm::SmallVector<mlir::Value, 2> sizes;
  mlir::Value size;
  std::optional<int64_t> staticSize;
};

class AttendLowering {
public:
  AttendLowering(FnGen &g, const AttendExpr &attend,
                 llvm::ArrayRef<std::string> out,
                 llvm::ArrayRef<mlir::Value> sizes, mlir::Type elem,
                 const Env &env)
      : g(g), b(g.builder), attend(attend), outNames(out), outSizes(sizes),
        outer(env), j(attend.index), elem(elem) {}

  mlir::Value run();

private:
  mlir::Location loc(const Expr &e) { return g.loc(e.getLoc()); }
  mlir::Value cIdx(int64_t v) {
    return mlir::arith::ConstantIndexOp::create(b, l, v);
  }
  std::optional<int64_t> staticOf(mlir::Value v);
  /// `a * b` of index values, folded for constants.
  mlir::Value mul(mlir::Value x, mlir::Value y);

  /// Splits the output indices into key-batch and rows and finds the
  /// kernel's dot products. Fails (after a diagnostic) on what cannot be
  /// computed.
  bool analyze();
  void assignRoles();
  /// Binds the output indices of `role` in `env` from the flat index `flat`.
  void bindRole(const Role &role, mlir::Value flat, Env &env);

  /// `e` as a rank-4 tensor [batch, heads, rows, D] of the kernel: passed as
  /// it is when it is a plain subscript in the kernel's order, else
  /// computed. `heads` is the kernel's H, or its H / G for keys and values
  /// read through `h / G` (`group`); `rows` is R for a query and the key
  /// index for keys and values.
  mlir::Value operand(const Expr &e, bool keySide, int64_t group);
  mlir::Value directOperand(const Expr &e, bool keySide, int64_t group);
  mlir::Value computedOperand(const Expr &e, bool keySide, int64_t group);
  /// The group size of `e`'s reads of the head index that the kernel can
  /// use: G for `h / G` when G divides H, H for no read of `h` (one head
  /// shared by all), else 1.
  mlir::Value headGroup(const Expr &e, int64_t &group);

  /// `value` reshaped so that the dims of each group in `groups` (source
  /// dims, in order, covering them all) become one dim, a group with no
  /// source dim a unit dim.
  mlir::Value regroup(mlir::Value value,
                      llvm::ArrayRef<llvm::SmallVector<int64_t, 2>> groups);

  bool genScoreRegion(mlir::attnc::attn::AttentionOp op, mlir::Type scoreType,
                      bool foldBias);
  bool genMaskRegion(mlir::attnc::attn::AttentionOp op);
  /// The kernel's [B, H, N, Dv] result in `out`'s order and shape.
  mlir::Value finish(mlir::Value result);

  /// The unfused path, for values that read a row index.
  mlir::Value runUnfused();

  FnGen &g;
  mlir::OpBuilder &b;
  const AttendExpr &attend;
  llvm::ArrayRef<std::string> outNames;
  llvm::ArrayRef<mlir::Value> outSizes;
  const Env &outer;
  const std::string &j;
  mlir::Location l = mlir::UnknownLoc::get(b.getContext());

  llvm::StringSet<> outSet;
  /// The key-batch indices, in `out`'s order, and the rows.
  llvm::SmallVector<std::string> keyBatch, rows;
  llvm::SmallVector<KernelDot> dots;
  Role batchRole, headRole, rowRole;
  mlir::Value numKeys;
  mlir::Type elem;
  /// The value's shape, flattened to Dv by the kernel.
  std::vector<DimExpr> valueShape;
  mlir::Value dv;
};

} // namespace

std::optional<int64_t> AttendLowering::staticOf(mlir::Value v) {
  if (auto c = v.getDefiningOp<mlir::arith::ConstantIndexOp>())
    return c.value();
  return std::nullopt;
}

mlir::Value AttendLowering::mul(mlir::Value x, mlir::Value y) {
  std::optional<int64_t> cx = staticOf(x), cy = staticOf(y);
  if (cx && cy)
    return cIdx(*cx * *cy);
  if (cx == 1)
    return y;
  if (cy == 1)
    return x;
  return mlir::arith::MulIOp::create(b, l, x, y);
}

bool AttendLowering::analyze() {
  for (const std::string &n : outNames)
    outSet.insert(n);

  // The key-side expressions: the value and the j side of each dot whose
  // other side does not read j. Identical dots share one kernel dot.
  llvm::SmallVector<const CallExpr *> calls;
  collectDots(*attend.score, calls);
  llvm::SmallVector<KernelDot> candidates;
  for (const CallExpr *call : calls) {
    if (call->args.size() != 2)
      continue;
    const Expr *x = call->args[0].get(), *y = call->args[1].get();
    bool xKey = uses(*x, j), yKey = uses(*y, j);
    if (xKey == yKey)
      continue;
    if (xKey)
      std::swap(x, y);
    std::optional<ValueType> tx = g.typeOf(*x, outer), ty = g.typeOf(*y, outer);
    if (!tx || !ty || tx->getRank() != 1 || ty->getRank() != 1)
      continue;
    auto same = llvm::find_if(candidates, [&](const KernelDot &d) {
      return structurallyEqual(*d.row, *x) && structurallyEqual(*d.key, *y);
    });
    if (same != candidates.end()) {
      same->calls.push_back(call);
      continue;
    }
    candidates.push_back({x, y, {call}});
  }

  // KB: the output indices read beside j; a key side that reads another
  // output index (a row) is not a kernel dot, and KB shrinks to what the
  // remaining key sides read, until nothing changes.
  auto outUses = [&](const Expr &e) {
    llvm::StringSet<> found;
    collectUses(e, outSet, found);
    return found;
  };
  llvm::StringSet<> kb;
  for (;;) {
    llvm::StringSet<> next;
    collectKeyBatchUses(*attend.value, j, outSet, next);
    for (const KernelDot &d : candidates)
      collectKeyBatchUses(*d.key, j, outSet, next);
    llvm::SmallVector<KernelDot> kept;
    for (const KernelDot &d : candidates)
      if (llvm::all_of(outUses(*d.key), [&](const auto &entry) {
            return next.contains(entry.getKey());
          }))
        kept.push_back(d);
    bool stable = kept.size() == candidates.size();
    candidates = std::move(kept);
    kb = std::move(next);
    if (stable)
      break;
  }
  dots = std::move(candidates);
  for (const std::string &n : outNames)
    (kb.contains(n) ? keyBatch : rows).push_back(n);
  return true;
}

void AttendLowering::assignRoles() {
  // H: the key-batch index that a key side or the value reads as h / G, else
  // the last one.
  std::optional<std::string> head;
  for (const std::string &n : keyBatch) {
    bool grouped = headUseOf(g, *attend.value, n).kind == HeadUse::Grouped;
    for (const KernelDot &d : dots)
      grouped |= headUseOf(g, *d.key, n).kind == HeadUse::Grouped;
    if (grouped) {
      head = n;
      break;
    }
  }
  if (!head && !keyBatch.empty())
    head = keyBatch.back();
  auto sizeOf = [&](const std::string &n) {
    return outSizes[llvm::find(outNames, n) - outNames.begin()];
  };
  for (const std::string &n : keyBatch) {
    Role &role = n == head ? headRole : batchRole;
    role.names.push_back(n);
    role.sizes.push_back(sizeOf(n));
  }
  for (const std::string &n : rows) {
    rowRole.names.push_back(n);
    rowRole.sizes.push_back(sizeOf(n));
  }
  for (Role *role : {&batchRole, &headRole, &rowRole}) {
    role->size = cIdx(1);
    for (mlir::Value s : role->sizes)
      role->size = mul(role->size, s);
    role->staticSize = staticOf(role->size);
  }
}

void AttendLowering::bindRole(const Role &role, mlir::Value flat, Env &env) {
  // Row-major: the last name varies fastest.
  mlir::Value rest = flat;
  for (size_t k = role.names.size(); k-- > 0;) {
    if (k == 0) {
      env.indices[role.names[k]] = rest;
      break;
    }
    env.indices[role.names[k]] =
        mlir::arith::RemUIOp::create(b, l, rest, role.sizes[k]);
    rest = mlir::arith::DivUIOp::create(b, l, rest, role.sizes[k]);
  }
}

mlir::Value AttendLowering::headGroup(const Expr &e, int64_t &group) {
  group = 1;
  if (headRole.names.empty())
    return headRole.size;
  HeadUse use = headUseOf(g, e, headRole.names.front());
  if (use.kind == HeadUse::None) {
    // Every head reads the same rows: one head of the operand.
    group = 0;
    return cIdx(1);
  }
  if (use.kind == HeadUse::Grouped && headRole.staticSize &&
      *headRole.staticSize % use.group == 0) {
    group = use.group;
    return cIdx(*headRole.staticSize / use.group);
  }
  return headRole.size;
}

mlir::Value
AttendLowering::regroup(mlir::Value value,
                        llvm::ArrayRef<llvm::SmallVector<int64_t, 2>> groups) {
  auto type = mlir::cast<mlir::RankedTensorType>(value.getType());
  // Collapse each group with several dims, then expand the empty groups in
  // as unit dims.
  llvm::SmallVector<mlir::ReassociationIndices> collapse;
  for (const auto &grp : groups)
    if (!grp.empty())
      collapse.push_back(mlir::ReassociationIndices(grp.begin(), grp.end()));
  if (collapse.size() != size_t(type.getRank()))
    value = mlir::tensor::CollapseShapeOp::create(b, l, value, collapse);
  if (collapse.size() == groups.size())
    return value;
  auto collapsed = mlir::cast<mlir::RankedTensorType>(value.getType());
  llvm::SmallVector<int64_t> shape;
  llvm::SmallVector<mlir::OpFoldResult> sizes;
  int64_t d = 0;
  for (const auto &grp : groups) {
    if (grp.empty()) {
      shape.push_back(1);
      sizes.push_back(b.getIndexAttr(1));
      continue;
    }
    shape.push_back(collapsed.getDimSize(d));
    if (collapsed.isDynamicDim(d))
      sizes.push_back(mlir::tensor::DimOp::create(b, l, value, d).getResult());
    else
      sizes.push_back(b.getIndexAttr(collapsed.getDimSize(d)));
    ++d;
  }
  auto target = mlir::RankedTensorType::get(shape, type.getElementType());
  // Each collapsed dim takes the empty groups before it; trailing empty
  // groups go with the last one.
  llvm::SmallVector<mlir::ReassociationIndices> expand;
  mlir::ReassociationIndices pending;
  for (auto [k, grp] : llvm::enumerate(groups)) {
    pending.push_back(k);
    if (!grp.empty()) {
      expand.push_back(pending);
      pending.clear();
    }
  }
  if (!expand.empty())
    llvm::append_range(expand.back(), pending);
  return mlir::tensor::ExpandShapeOp::create(b, l, target, value, expand,
                                             sizes);
}

mlir::Value AttendLowering::directOperand(const Expr &e, bool keySide,
                                          int64_t group) {
  auto *sub = dyn_cast<SubscriptExpr>(&e);
  auto *base = sub ? dyn_cast<NameExpr>(sub->base.get()) : nullptr;
  const Binding *binding = base ? g.lookup(base->name) : nullptr;
  if (!binding || binding->type.isGroup() || binding->values.empty())
    return {};
  mlir::Value tensor = binding->values.front();
  auto type = mlir::dyn_cast<mlir::RankedTensorType>(tensor.getType());
  if (!type || type.getElementType() != elem)
    return {};
  // The subscripts the kernel's order expects.
  auto isName = [](const Expr &x, const std::string &n) {
    auto *name = dyn_cast<NameExpr>(&x);
    return name && name->name == n;
  };
  llvm::SmallVector<std::function<bool(const Expr &)>> expected;
  for (const std::string &n : batchRole.names)
    expected.push_back([&, n](const Expr &x) { return isName(x, n); });
  if (!headRole.names.empty() && group != 0) {
    const std::string &h = headRole.names.front();
    if (group == 1)
      expected.push_back([&, h](const Expr &x) { return isName(x, h); });
    else
      expected.push_back([&, h, group](const Expr &x) {
        auto *div = dyn_cast<BinaryExpr>(&x);
        return div && div->op == BinaryOp::Div && isName(*div->lhs, h) &&
               g.constInt(*div->rhs) == group;
      });
  }
  if (keySide)
    expected.push_back([&](const Expr &x) { return isName(x, j); });
  else
    for (const std::string &n : rowRole.names)
      expected.push_back([&, n](const Expr &x) { return isName(x, n); });
  if (sub->indices.size() != expected.size())
    return {};
  for (auto [index, matches] : llvm::zip(sub->indices, expected))
    if (!matches(*index))
      return {};
  // The operand's dims: batch names, head, rows or j, then its rows.
  int64_t rowRank = type.getRank() - int64_t(expected.size());
  if (rowRank > 1)
    return {};
  // A dim larger than the index's extent (a constant extent below a
  // constant dim) is not the kernel's: read it in the prologue instead.
  llvm::SmallVector<mlir::Value> extents(batchRole.sizes.begin(),
                                         batchRole.sizes.end());
  if (!headRole.names.empty() && group != 0)
    extents.push_back(group == 1 ? headRole.size
                                 : cIdx(*headRole.staticSize / group));
  if (keySide)
    extents.push_back(numKeys);
  else
    llvm::append_range(extents, rowRole.sizes);
  for (auto [d, extent] : llvm::enumerate(extents)) {
    std::optional<int64_t> c = staticOf(extent);
    if (c && !type.isDynamicDim(d) && type.getDimSize(d) != *c)
      return {};
  }
  llvm::SmallVector<llvm::SmallVector<int64_t, 2>> groups(4);
  int64_t d = 0;
  for (size_t k = 0; k < batchRole.names.size(); ++k)
    groups[0].push_back(d++);
  if (!headRole.names.empty() && group != 0)
    groups[1].push_back(d++);
  size_t third = keySide ? 1 : rowRole.names.size();
  for (size_t k = 0; k < third; ++k)
    groups[2].push_back(d++);
  if (rowRank == 1)
    groups[3].push_back(d++);
  return regroup(tensor, groups);
}

mlir::Value AttendLowering::computedOperand(const Expr &e, bool keySide,
                                            int64_t group) {
  std::optional<ValueType> type = g.typeOf(e, outer);
  if (!type || type->isGroup())
    return g.unsupported(e.getLoc(), "a group value here");
  // Its rows: the product of its dims (Dv for a matrix value, 1 for a
  // scalar).
  mlir::Value rowSize = cIdx(1);
  for (const DimExpr &d : type->getShape()) {
    mlir::Value v = g.dimValue(d, e.getLoc());
    if (!v)
      return {};
    rowSize = mul(rowSize, v);
  }
  int64_t unused = 1;
  mlir::Value heads = headGroup(e, unused);
  mlir::Value third = keySide ? numKeys : rowRole.size;
  llvm::SmallVector<mlir::Value> sizes = {batchRole.size, heads, third,
                                          rowSize};
  llvm::SmallVector<int64_t> shape;
  llvm::SmallVector<mlir::Value> dynSizes;
  for (mlir::Value s : sizes) {
    std::optional<int64_t> c = staticOf(s);
    shape.push_back(c.value_or(mlir::ShapedType::kDynamic));
    if (!c)
      dynSizes.push_back(s);
  }
  auto tensorType = mlir::RankedTensorType::get(shape, elem);
  mlir::Value init = mlir::tensor::EmptyOp::create(b, l, tensorType, dynSizes);

  // scf.forall (a, h', c): row (a, h', c) = e with the output indices (and
  // j) recovered from them; h = h' * G reads h / G = h'.
  llvm::SmallVector<mlir::OpFoldResult> bounds = {sizes[0], sizes[1], sizes[2]};
  auto forall = mlir::scf::ForallOp::create(
      b, l, bounds, mlir::ValueRange{init}, std::nullopt);
  mlir::OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getTerminator());
  // getInductionVars() returns a new vector: keep it.
  llvm::SmallVector<mlir::Value> ivs = forall.getInductionVars();
  Env env = outer;
  bindRole(batchRole, ivs[0], env);
  if (!headRole.names.empty()) {
    mlir::Value h = ivs[1];
    if (group > 1)
      h = mlir::arith::MulIOp::create(b, l, h, cIdx(group));
    env.indices[headRole.names.front()] = h;
  }
  if (keySide)
    env.indices[j] = ivs[2];
  else
    bindRole(rowRole, ivs[2], env);
  mlir::Value v = g.gen(e, env);
  if (!v)
    return {};
  // The row as a rank-1 tensor, inserted rank-reduced into its [1, 1, 1, D]
  // slice: with no reshape in between, the CPU back end builds the row in
  // place (eliminate-empty-tensors) rather than in a buffer per row.
  auto rowType = mlir::RankedTensorType::get({shape[3]}, elem);
  if (type->isScalar()) {
    v = g.coerce(v, elem, loc(e));
    v = mlir::tensor::FromElementsOp::create(b, l, rowType,
                                             mlir::ValueRange{v});
  } else {
    auto vType = mlir::cast<mlir::RankedTensorType>(v.getType());
    if (vType.getElementType() != elem) {
      auto converted = mlir::RankedTensorType::get(vType.getShape(), elem);
      v = g.convert(v, converted, loc(e));
      if (!v)
        return g.unsupported(e.getLoc(), "this element type in attend");
    }
    mlir::ReassociationIndices all;
    for (int64_t d = 0; d < vType.getRank(); ++d)
      all.push_back(d);
    if (vType.getRank() != 1)
      v = mlir::tensor::CollapseShapeOp::create(
          b, l, v, llvm::ArrayRef<mlir::ReassociationIndices>{all});
  }
  llvm::SmallVector<mlir::OpFoldResult> offsets = {ivs[0], ivs[1], ivs[2],
                                                   b.getIndexAttr(0)};
  llvm::SmallVector<mlir::OpFoldResult> sliceSizes = {
      b.getIndexAttr(1), b.getIndexAttr(1), b.getIndexAttr(1),
      shape[3] == mlir::ShapedType::kDynamic
          ? mlir::OpFoldResult(rowSize)
          : mlir::OpFoldResult(b.getIndexAttr(shape[3]))};
  llvm::SmallVector<mlir::OpFoldResult> strides(4, b.getIndexAttr(1));
  b.setInsertionPointToEnd(forall.getTerminator().getBody());
  mlir::tensor::ParallelInsertSliceOp::create(
      b, l, v, forall.getBody()->getArguments().back(), offsets, sliceSizes,
      strides);
  return forall.getResult(0);
}

mlir::Value AttendLowering::operand(const Expr &e, bool keySide,
                                    int64_t group) {
  if (mlir::Value direct = directOperand(e, keySide, group))
    return direct;
  return computedOperand(e, keySide, group);
}

bool AttendLowering::genScoreRegion(mlir::attnc::attn::AttentionOp op,
                                    mlir::Type scoreType, bool foldBias) {
  const Expr &score = *attend.score;
  if (dots.size() == 1 && dots.front().calls.size() == 1 &&
      &score == dots.front().calls.front() && !foldBias)
    return true;
  mlir::Block *block = new mlir::Block();
  op.getScore().push_back(block);
  Env env = outer;
  for (const KernelDot &d : dots) {
    mlir::Value arg = block->addArgument(scoreType, l);
    for (const CallExpr *call : d.calls)
      env.replaced[call] = arg;
  }
  mlir::Type indexType = b.getIndexType();
  mlir::Value bi = block->addArgument(indexType, l);
  mlir::Value hi = block->addArgument(indexType, l);
  mlir::Value ni = block->addArgument(indexType, l);
  env.indices[j] = block->addArgument(indexType, l);
  mlir::OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(block);
  bindRole(batchRole, bi, env);
  if (!headRole.names.empty())
    env.indices[headRole.names.front()] = hi;
  bindRole(rowRole, ni, env);
  mlir::Value s = g.gen(score, env);
  if (!s)
    return false;
  s = g.coerce(s, scoreType, loc(score));
  if (foldBias) {
    mlir::Value bias = g.gen(*attend.normalizer.bias, env);
    if (!bias)
      return false;
    bias = g.coerce(bias, scoreType, loc(*attend.normalizer.bias));
    s = mlir::arith::AddFOp::create(b, l, s, bias);
  }
  mlir::attnc::attn::YieldOp::create(b, l, mlir::ValueRange{s});
  return true;
}

bool AttendLowering::genMaskRegion(mlir::attnc::attn::AttentionOp op) {
  if (!attend.mask)
    return true;
  mlir::Block *block = new mlir::Block();
  op.getMask().push_back(block);
  Env env = outer;
  mlir::Type indexType = b.getIndexType();
  mlir::Value bi = block->addArgument(indexType, l);
  mlir::Value hi = block->addArgument(indexType, l);
  mlir::Value ni = block->addArgument(indexType, l);
  env.indices[j] = block->addArgument(indexType, l);
  mlir::OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(block);
  bindRole(batchRole, bi, env);
  if (!headRole.names.empty())
    env.indices[headRole.names.front()] = hi;
  bindRole(rowRole, ni, env);
  mlir::Value m = g.gen(*attend.mask, env);
  if (!m)
    return false;
  m = g.coerce(m, b.getI1Type(), loc(*attend.mask));
  mlir::attnc::attn::YieldOp::create(b, l, mlir::ValueRange{m});
  return true;
}

mlir::Value AttendLowering::finish(mlir::Value result) {
  // [B', H', N', Dv'] -> [batch..., head, rows..., value dims...]: each
  // kernel dim expands into its dims (none for a role without indices or a
  // scalar value), then the output indices go into `out`'s order.
  llvm::SmallVector<mlir::OpFoldResult> sizes;
  llvm::SmallVector<std::string> order;
  llvm::SmallVector<mlir::ReassociationIndices> expand(4);
  int64_t d = 0;
  auto add = [&](mlir::Value v, size_t kernelDim) {
    expand[kernelDim].push_back(d++);
    if (std::optional<int64_t> c = staticOf(v))
      sizes.push_back(b.getIndexAttr(*c));
    else
      sizes.push_back(v);
  };
  const Role *kernelRoles[] = {&batchRole, &headRole, &rowRole};
  for (auto [k, role] : llvm::enumerate(kernelRoles))
    for (auto [name, size] : llvm::zip(role->names, role->sizes)) {
      add(size, k);
      order.push_back(name);
    }
  for (const DimExpr &dim : valueShape) {
    mlir::Value v = g.dimValue(dim, attend.value->getLoc());
    if (!v)
      return {};
    add(v, 3);
  }
  if (llvm::any_of(expand, [](const auto &e) { return e.size() != 1; })) {
    // A kernel dim without dims of its own is a unit dim: it collapses into
    // the next one (the last one into the previous).
    llvm::SmallVector<mlir::ReassociationIndices> collapse, expandKept;
    mlir::ReassociationIndices pending;
    for (int64_t k = 0; k < 4; ++k) {
      pending.push_back(k);
      if (!expand[k].empty()) {
        collapse.push_back(pending);
        expandKept.push_back(expand[k]);
        pending.clear();
      }
    }
    if (!collapse.empty())
      llvm::append_range(collapse.back(), pending);
    if (collapse.size() != 4)
      result = mlir::tensor::CollapseShapeOp::create(b, l, result, collapse);
    llvm::SmallVector<int64_t> shape;
    for (mlir::OpFoldResult s : sizes)
      shape.push_back(
          mlir::getConstantIntValue(s).value_or(mlir::ShapedType::kDynamic));
    auto target = mlir::RankedTensorType::get(shape, elem);
    if (result.getType() != target)
      result = mlir::tensor::ExpandShapeOp::create(b, l, target, result,
                                                   expandKept, sizes);
  }
  // Transpose the index dims into `out`'s order.
  llvm::SmallVector<int64_t> perm;
  for (const std::string &n : outNames)
    perm.push_back(llvm::find(order, n) - order.begin());
  for (int64_t k = outNames.size(); k < d; ++k)
    perm.push_back(k);
  bool identity = llvm::all_of(llvm::enumerate(perm), [](auto p) {
    return int64_t(p.index()) == p.value();
  });
  if (!identity) {
    auto type = mlir::cast<mlir::RankedTensorType>(result.getType());
    llvm::SmallVector<int64_t> shape;
    llvm::SmallVector<mlir::Value> dyn;
    for (int64_t p : perm) {
      shape.push_back(type.getDimSize(p));
      if (type.isDynamicDim(p))
        dyn.push_back(mlir::tensor::DimOp::create(b, l, result, p));
    }
    mlir::Value init = mlir::tensor::EmptyOp::create(
        b, l, mlir::RankedTensorType::get(shape, elem), dyn);
    result = mlir::linalg::TransposeOp::create(b, l, result, init, perm)
                 ->getResult(0);
  }
  return result;
}

mlir::Value AttendLowering::run() {
  l = g.loc(attend.getLoc());
  if (!attend.score || !attend.value)
    return {};
  std::optional<ValueType> valueType = g.typeOf(*attend.value, outer);
  if (!valueType || valueType->isGroup())
    return g.unsupported(attend.value->getLoc(),
                         "a group as the value of attend");
  valueShape = valueType->getShape();
  if (!mlir::isa<mlir::FloatType>(elem))
    return g.error(attend.getLoc(), "internal error: an attend whose result "
                                    "is not a float");
  numKeys = g.genExtent(*attend.extent);
  if (!numKeys)
    return {};
  if (!analyze())
    return {};

  // A value that reads a row index is not a function of the key alone.
  {
    llvm::StringSet<> valueUses;
    collectUses(*attend.value, outSet, valueUses);
    for (const std::string &r : rows)
      if (valueUses.contains(r))
        return runUnfused();
  }
  assignRoles();

  llvm::SmallVector<mlir::Value> queries, keys;
  for (const KernelDot &d : dots) {
    mlir::Value q = operand(*d.row, /*keySide=*/false, 1);
    if (!q)
      return {};
    int64_t group = 1;
    headGroup(*d.key, group);
    mlir::Value k = operand(*d.key, /*keySide=*/true, group);
    if (!k)
      return {};
    queries.push_back(q);
    keys.push_back(k);
  }
  int64_t valueGroup = 1;
  headGroup(*attend.value, valueGroup);
  mlir::Value value = operand(*attend.value, /*keySide=*/true, valueGroup);
  if (!value)
    return {};
  dv = mlir::tensor::DimOp::create(b, l, value, 3);

  // [B', H', N', Dv'].
  llvm::SmallVector<int64_t> shape;
  llvm::SmallVector<mlir::Value> dynSizes;
  for (mlir::Value s : {batchRole.size, headRole.size, rowRole.size, dv}) {
    std::optional<int64_t> c = staticOf(s);
    if (!c)
      if (auto dim = s.getDefiningOp<mlir::tensor::DimOp>())
        if (std::optional<int64_t> idx = dim.getConstantIndex())
          if (auto t = mlir::dyn_cast<mlir::RankedTensorType>(
                  dim.getSource().getType());
              t && !t.isDynamicDim(*idx))
            c = t.getDimSize(*idx);
    shape.push_back(c.value_or(mlir::ShapedType::kDynamic));
    if (!c)
      dynSizes.push_back(s);
  }
  auto resultType4 = mlir::RankedTensorType::get(shape, elem);
  mlir::Value init;
  if (dots.empty())
    init = mlir::tensor::EmptyOp::create(b, l, resultType4, dynSizes);

  auto normalizer = attn::Normalizer::Softmax;
  mlir::Value bias;
  bool foldBias = false;
  switch (attend.normalizer.kind) {
  case Normalizer::Kind::Softmax:
    break;
  case Normalizer::Kind::Sigmoid:
    normalizer = attn::Normalizer::Sigmoid;
    if (const Expr *biasExpr = attend.normalizer.bias.get()) {
      // A bias that reads the indices is added in the score region.
      llvm::StringSet<> found, names = outSet;
      names.insert(j);
      collectUses(*biasExpr, names, found);
      if (!found.empty()) {
        foldBias = true;
        break;
      }
      bias = g.gen(*biasExpr, outer);
      if (!bias)
        return {};
      bias = g.coerce(bias, elem, loc(*biasExpr));
    }
    break;
  case Normalizer::Kind::Sum:
    normalizer = attn::Normalizer::Sum;
    break;
  case Normalizer::Kind::None:
    normalizer = attn::Normalizer::None;
    break;
  }

  auto op = attn::AttentionOp::create(
      b, l, resultType4, /*lse=*/mlir::Type(),
      attn::NormalizerAttr::get(b.getContext(), normalizer), queries, keys,
      value, init, bias, /*block_mask=*/mlir::Value(),
      /*block_sizes=*/nullptr);
  if (!genScoreRegion(op, elem, foldBias) || !genMaskRegion(op))
    return {};
  return finish(op.getOutput());
}

//===----------------------------------------------------------------------===//
// The unfused path
//===----------------------------------------------------------------------===//

mlir::Value AttendLowering::runUnfused() {
  // out[o...] = one pass of online softmax over the visible keys, per row:
  //   scf.forall (o...)
  //     scf.for j: if mask: s = score, m' = max(m, s), a = exp(m - m'),
  //                         p = exp(s - m'), l = l a + p, acc = acc a + p V
  //     out[o...] = acc / l
  // (sigmoid, sum and none accumulate p V without a running max). Masked
  // keys are skipped: their score and value are never evaluated.
  namespace arith = mlir::arith;
  attn::Normalizer normalizer = attn::Normalizer::Softmax;
  switch (attend.normalizer.kind) {
  case Normalizer::Kind::Softmax:
    break;
  case Normalizer::Kind::Sigmoid:
    normalizer = attn::Normalizer::Sigmoid;
    break;
  case Normalizer::Kind::Sum:
    normalizer = attn::Normalizer::Sum;
    break;
  case Normalizer::Kind::None:
    normalizer = attn::Normalizer::None;
    break;
  }
  bool softmax = normalizer == attn::Normalizer::Softmax;
  // The value's shape S and the result [o..., S].
  llvm::SmallVector<mlir::OpFoldResult> valueSizes, resultSizes;
  for (mlir::Value size : outSizes)
    resultSizes.push_back(
        staticOf(size) ? mlir::OpFoldResult(b.getIndexAttr(*staticOf(size)))
                       : mlir::OpFoldResult(size));
  for (const DimExpr &d : valueShape) {
    mlir::Value v = g.dimValue(d, attend.value->getLoc());
    if (!v)
      return {};
    mlir::OpFoldResult size =
        staticOf(v) ? mlir::OpFoldResult(b.getIndexAttr(*staticOf(v)))
                    : mlir::OpFoldResult(v);
    valueSizes.push_back(size);
    resultSizes.push_back(size);
  }
  bool scalarValue = valueShape.empty();
  mlir::Value init = lgen::empty(b, l, resultSizes, elem);
  llvm::SmallVector<mlir::OpFoldResult> bounds(
      resultSizes.begin(), resultSizes.begin() + outNames.size());
  auto forall = mlir::scf::ForallOp::create(
      b, l, bounds, mlir::ValueRange{init}, std::nullopt);
  mlir::OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getTerminator());
  // getInductionVars() returns a new vector: keep it.
  llvm::SmallVector<mlir::Value> ivs = forall.getInductionVars();
  Env env = outer;
  for (auto [name, iv] : llvm::zip(outNames, ivs))
    env.indices[name] = iv;

  auto cF = [&](double v) { return lgen::scalar(b, l, elem, v); };
  mlir::Value zero = cF(0.0), negInf = cF(-INFINITY);
  mlir::Value acc0 = scalarValue ? zero : lgen::zeros(b, l, valueSizes, elem);
  mlir::Value biasValue;
  if (const Expr *bias = attend.normalizer.bias.get()) {
    biasValue = g.gen(*bias, env);
    if (!biasValue)
      return {};
    biasValue = g.coerce(biasValue, elem, loc(*bias));
  }
  mlir::Value first = cIdx(0), step = cIdx(1);
  auto loop = mlir::scf::ForOp::create(b, l, first, numKeys, step,
                                       mlir::ValueRange{negInf, zero, acc0});
  {
    mlir::OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(loop.getBody());
    env.indices[j] = loop.getInductionVar();
    mlir::ValueRange carried = loop.getRegionIterArgs();
    mlir::Value visible;
    if (attend.mask) {
      visible = g.gen(*attend.mask, env);
      if (!visible)
        return {};
      visible = g.coerce(visible, b.getI1Type(), loc(*attend.mask));
    } else {
      visible = arith::ConstantOp::create(b, l, b.getBoolAttr(true));
    }
    auto ifVisible = mlir::scf::IfOp::create(b, l, mlir::TypeRange(carried),
                                             visible, /*withElseRegion=*/true);
    b.setInsertionPointToStart(ifVisible.elseBlock());
    mlir::scf::YieldOp::create(b, l, carried);
    b.setInsertionPointToStart(ifVisible.thenBlock());
    mlir::Value s = g.gen(*attend.score, env);
    if (!s)
      return {};
    s = g.coerce(s, elem, loc(*attend.score));
    mlir::Value m = carried[0], sum = carried[1], acc = carried[2];
    mlir::Value alpha, p;
    if (softmax) {
      mlir::Value next = arith::MaximumFOp::create(b, l, m, s);
      alpha =
          mlir::math::ExpOp::create(b, l, arith::SubFOp::create(b, l, m, next));
      p = mlir::math::ExpOp::create(b, l, arith::SubFOp::create(b, l, s, next));
      m = next;
      sum = arith::AddFOp::create(b, l, arith::MulFOp::create(b, l, sum, alpha),
                                  p);
    } else if (normalizer == attn::Normalizer::Sigmoid) {
      mlir::Value x =
          biasValue ? arith::AddFOp::create(b, l, s, biasValue).getResult() : s;
      mlir::Value e =
          mlir::math::ExpOp::create(b, l, arith::NegFOp::create(b, l, x));
      mlir::Value one = cF(1.0);
      mlir::Value den = arith::AddFOp::create(b, l, cF(1.0), e);
      p = arith::DivFOp::create(b, l, one, den);
    } else {
      p = s;
      sum = arith::AddFOp::create(b, l, sum, p);
    }
    mlir::Value v = g.gen(*attend.value, env);
    if (!v)
      return {};
    if (scalarValue) {
      v = g.coerce(v, elem, loc(*attend.value));
      mlir::Value scaled =
          alpha ? arith::MulFOp::create(b, l, acc, alpha).getResult() : acc;
      acc = arith::AddFOp::create(b, l, scaled,
                                  arith::MulFOp::create(b, l, p, v));
    } else {
      auto vType = mlir::cast<mlir::RankedTensorType>(v.getType());
      v = g.convert(v, mlir::RankedTensorType::get(vType.getShape(), elem),
                    loc(*attend.value));
      if (!v)
        return g.unsupported(attend.value->getLoc(), "this value's type");
      acc = lgen::map(b, l, {acc, v},
                      [&](mlir::OpBuilder &nb, mlir::Location nl,
                          mlir::ValueRange x) -> mlir::Value {
                        mlir::Value a = x[0];
                        if (alpha)
                          a = arith::MulFOp::create(nb, nl, a, alpha);
                        return arith::AddFOp::create(
                            nb, nl, a, arith::MulFOp::create(nb, nl, p, x[1]));
                      });
    }
    mlir::scf::YieldOp::create(b, l, mlir::ValueRange{m, sum, acc});
    b.setInsertionPointAfter(ifVisible);
    mlir::scf::YieldOp::create(b, l, ifVisible.getResults());
  }
  // out = acc / l: 0 for a row without visible keys (or scores summing to
  // 0), as the kernel.
  mlir::Value sum = loop.getResult(1), acc = loop.getResult(2);
  if (softmax || normalizer == attn::Normalizer::Sum) {
    mlir::Value nonZero =
        arith::CmpFOp::create(b, l, arith::CmpFPredicate::ONE, sum, zero);
    mlir::Value scale = arith::SelectOp::create(
        b, l, nonZero, arith::DivFOp::create(b, l, cF(1.0), sum), zero);
    acc = scalarValue
              ? arith::MulFOp::create(b, l, acc, scale).getResult()
              : lgen::map(b, l, {acc},
                          [&](mlir::OpBuilder &nb, mlir::Location nl,
                              mlir::ValueRange x) -> mlir::Value {
                            return arith::MulFOp::create(nb, nl, x[0], scale);
                          });
  }
  // The row into out[o..., :].
  llvm::SmallVector<mlir::OpFoldResult> offsets(ivs.begin(), ivs.end()),
      sliceSizes(outNames.size(), b.getIndexAttr(1));
  for (mlir::OpFoldResult size : valueSizes) {
    offsets.push_back(b.getIndexAttr(0));
    sliceSizes.push_back(size);
  }
  llvm::SmallVector<mlir::OpFoldResult> strides(offsets.size(),
                                                b.getIndexAttr(1));
  llvm::SmallVector<int64_t> sliceShape(outNames.size(), 1);
  for (mlir::OpFoldResult size : valueSizes)
    sliceShape.push_back(
        mlir::getConstantIntValue(size).value_or(mlir::ShapedType::kDynamic));
  auto sliceType = mlir::RankedTensorType::get(sliceShape, elem);
  mlir::Value row =
      scalarValue
          ? mlir::tensor::FromElementsOp::create(b, l, sliceType,
                                                 mlir::ValueRange{acc})
                .getResult()
          : mlir::tensor::ExpandShapeOp::create(
                b, l, sliceType, acc,
                mlir::getReassociationIndicesForReshape(
                    mlir::cast<mlir::RankedTensorType>(acc.getType()),
                    sliceType)
                    .value_or(llvm::SmallVector<mlir::ReassociationIndices>{}),
                sliceSizes)
                .getResult();
  b.setInsertionPointToEnd(forall.getTerminator().getBody());
  mlir::tensor::ParallelInsertSliceOp::create(
      b, l, row, forall.getBody()->getArguments().back(), offsets, sliceSizes,
      strides);
  return forall.getResult(0);
}

//===----------------------------------------------------------------------===//
// FnGen entry points
//===----------------------------------------------------------------------===//

/// An attend inside the clauses of `attend`, or null.
static const Expr *attendInClauses(const AttendExpr &attend) {
  const Expr *found = nullptr;
  std::function<void(const Expr &)> find = [&](const Expr &x) {
    if (found)
      return;
    if (isa<AttendExpr>(&x) && &x != &attend) {
      found = &x;
      return;
    }
    forEachChild(x, find, [](const Stmt &) {});
  };
  find(attend);
  return found;
}

mlir::Value FnGen::genAttend(const AttendExpr &attend,
                             llvm::ArrayRef<std::string> out,
                             llvm::ArrayRef<mlir::Value> sizes, mlir::Type elem,
                             const Env &env) {
  return AttendLowering(*this, attend, out, sizes, elem, env).run();
}

bool FnGen::hoistNestedAttends(const Stmt &stmt, const Env &env) {
  // The expressions of the statement, and the one that is the whole value
  // of a definition (generated by the definition itself).
  const Expr *top = nullptr;
  llvm::SmallVector<const Expr *> roots;
  const IndexedDefStmt *def = dyn_cast<IndexedDefStmt>(&stmt);
  if (def) {
    top = def->value.get();
    roots.push_back(top);
  } else if (auto *let = dyn_cast<LetStmt>(&stmt)) {
    top = let->value.get();
    roots.push_back(top);
  } else if (auto *ret = dyn_cast<ReturnStmt>(&stmt)) {
    for (const ExprPtr &e : ret->values)
      roots.push_back(e.get());
  } else if (auto *emit = dyn_cast<EmitStmt>(&stmt)) {
    roots.push_back(emit->value.get());
  }

  // Each nested attend with the reductions around it (scans generate their
  // bodies statement by statement themselves).
  struct Nested {
    const AttendExpr *attend;
    llvm::SmallVector<const ReduceExpr *> reductions;
  };
  llvm::SmallVector<Nested> nested;
  llvm::SmallVector<const ReduceExpr *> around;
  const Expr *invalid = nullptr;
  std::function<void(const Expr &)> walk = [&](const Expr &e) {
    if (invalid || isa<ScanExpr>(&e))
      return;
    if (auto *attend = dyn_cast<AttendExpr>(&e)) {
      if ((invalid = attendInClauses(*attend)))
        return;
      if (&e != top)
        nested.push_back({attend, around});
      return;
    }
    auto *red = dyn_cast<ReduceExpr>(&e);
    if (red)
      around.push_back(red);
    forEachChild(e, walk, [](const Stmt &) {});
    if (red)
      around.pop_back();
  };
  for (const Expr *root : roots)
    if (root)
      walk(*root);
  if (invalid) {
    unsupported(invalid->getLoc(),
                "an attend inside the clauses of another attend");
    return false;
  }
  if (nested.empty())
    return true;

  // Each is a tensor over the definition's indices, then those of the
  // reductions around it.
  llvm::SmallVector<std::string> defNames;
  llvm::SmallVector<mlir::Value> defSizes;
  if (def)
    for (const IndexDecl &index : def->indices) {
      if (!index.checkedExtent)
        return false;
      mlir::Value size =
          dimValue(index.checkedExtent->substitute(frame().subst), index.loc);
      if (!size)
        return false;
      defNames.push_back(index.name);
      defSizes.push_back(size);
    }
  for (const Nested &n : nested) {
    llvm::SmallVector<std::string> names = defNames;
    llvm::SmallVector<mlir::Value> sizes = defSizes;
    for (const ReduceExpr *red : n.reductions) {
      mlir::Value size = genExtent(*red->extent);
      if (!size)
        return false;
      names.push_back(red->index);
      sizes.push_back(size);
    }
    if (!n.attend->type)
      return false;
    mlir::Value v = genAttend(*n.attend, names, sizes,
                              elemType(n.attend->type->getElemType()), env);
    if (!v)
      return false;
    hoistedAttends[n.attend] = {v, names};
  }
  return true;
}
