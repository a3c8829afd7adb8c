//===- ArchChecker.cpp - Shape flow through blocks and architectures ------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Checks einspace's productions: the value flowing through a pipeline (one
/// tensor, or several after `project_qkv`) is pushed through every stage,
/// and each stage checks the shape it receives. Blocks are checked at each
/// distinct use (their input type comes from where they are used).
///
//===----------------------------------------------------------------------===//

#include "Checker.h"
#include "attnc/Frontend/Limits.h"

#include "llvm/Support/Casting.h"

#include <set>

using namespace attnc;
using namespace attnc::sema;
using llvm::dyn_cast;
using llvm::dyn_cast_or_null;

using Values = std::vector<ValueType>;

static std::string showValues(const Values &values) {
  std::string s;
  for (size_t i = 0; i < values.size(); ++i)
    s += (i ? ", " : "") + values[i].str();
  return values.size() == 1 ? s : "(" + s + ")";
}

static const std::set<std::string> kRoutingTerms = {"identity", "permute",
                                                    "im2col", "col2im"};
static const std::set<std::string> kSameShapeTerms = {
    "norm", "layernorm", "rmsnorm",  "softmax", "relu",    "gelu",
    "silu", "leakyrelu", "identity", "pos_enc", "sigmoid", "tanh"};
static const std::set<std::string> kBuiltinTerms = {
    "linear", "permute",     "im2col",     "col2im",
    "embed",  "project_qkv", "merge_heads"};

//===----------------------------------------------------------------------===//
// Terms
//===----------------------------------------------------------------------===//

namespace {
/// Evaluates a term's arguments as compile-time integers.
struct TermArgs {
  Checker &c;
  const Term &term;

  bool count(size_t min, size_t max) {
    size_t n = term.args.size();
    if (n >= min && n <= max)
      return true;
    std::string expected =
        min == max ? std::to_string(min)
                   : std::to_string(min) + " to " + std::to_string(max);
    c.error(term.loc, "'" + term.name + "' takes " + expected +
                          " argument(s), but " + std::to_string(n) +
                          " are given");
    return false;
  }
  std::optional<DimExpr> dim(size_t i) { return c.evalDim(*term.args[i]); }
  /// A width (of an output dimension): positive when it is a constant.
  std::optional<DimExpr> width(size_t i) {
    std::optional<DimExpr> d = dim(i);
    if (std::optional<int64_t> v = d ? d->getConstant() : std::nullopt;
        v && (*v <= 0 || *v > kMaxElements)) {
      c.error(term.args[i]->getLoc(),
              "the width of '" + term.name + "' is " + std::to_string(*v) +
                  (*v <= 0 ? "; widths must be positive"
                           : "; the limit is 2^34 = " +
                                 std::to_string(kMaxElements)));
      return std::nullopt;
    }
    return d;
  }
  /// A compile-time integer, e.g. a dimension number.
  std::optional<int64_t> constant(size_t i, const char *what) {
    std::optional<DimExpr> d = dim(i);
    if (!d)
      return std::nullopt;
    if (!d->getConstant()) {
      c.error(term.args[i]->getLoc(), std::string(what) + " of '" + term.name +
                                          "' must be a compile-time integer");
      return std::nullopt;
    }
    return d->getConstant();
  }
};
} // namespace

/// Splits `dim` into `n` parts, reporting an inexact split.
static std::optional<DimExpr> splitDim(Checker &c, const DimExpr &dim,
                                       int64_t n, const Location &loc,
                                       const std::string &what) {
  if (std::optional<int64_t> v = dim.getConstant(); v && *v % n != 0) {
    c.error(loc, what + ": " + std::to_string(*v) + " is not divisible by " +
                     std::to_string(n));
    return std::nullopt;
  }
  return dim.floorDiv(DimExpr::constant(n));
}

std::optional<Values> Checker::checkTerm(const Term &term, Values input,
                                         bool annotate) {
  const Location &loc = term.loc;
  auto global = globals.find(term.name);
  Decl *decl = global == globals.end() ? nullptr : global->second;

  // A function used as a layer consumes the current values as parameters.
  if (auto *fn = dyn_cast_or_null<FnDecl>(decl)) {
    if (term.hasParens) {
      error(loc, "'" + term.name +
                     "' is used as a layer: it takes the pipeline's values, "
                     "not arguments in (...)");
      return std::nullopt;
    }
    std::vector<Location> locs(input.size(), loc);
    return applyFunction(*fn, &term.constArgs, input, locs, loc);
  }

  if (auto *block = dyn_cast_or_null<BlockDecl>(decl)) {
    if (term.hasParens) {
      error(loc, "block '" + term.name +
                     "' takes constants in <...>, not arguments in (...)");
      return std::nullopt;
    }
    for (const Decl *active : activeDecls) {
      if (active == block) {
        error(loc,
              "recursive use of block '" + term.name + "' is not supported");
        return std::nullopt;
      }
    }
    std::map<std::string, ConstValue> consts;
    unsigned before = numErrors;
    bindConstParams(block->constParams, &term.constArgs, loc, consts);
    if (numErrors != before)
      return std::nullopt;
    std::string key =
        term.name + "<" + showConsts(consts) + ">" + showValues(input);
    if (auto cached = blockInstances.find(key); cached != blockInstances.end())
      return cached->second;

    // The block body sees its own constants and the globals only.
    std::deque<std::map<std::string, Symbol>> savedScopes;
    std::swap(savedScopes, scopes);
    pushScope();
    declareConsts(block->constParams, consts);
    // Sizes of the input (B, N) stay visible by name inside the block.
    for (const ValueType &t : input)
      for (const DimExpr &d : t.getShape())
        for (const std::string &sym : d.getSymbols())
          if (!lookup(sym) && sym.find('(') == std::string::npos) {
            Symbol s;
            s.kind = Symbol::Kind::Size;
            s.loc = loc;
            s.type = ValueType::tensor(ElemType::I32);
            s.dim = DimExpr::symbol(sym);
            declare(sym, s);
          }
    activeDecls.push_back(block);
    unsigned errorsBefore = numErrors;
    std::optional<Values> out = checkPipeline(
        block->body, input, annotate && !blockInstances.count(term.name));
    activeDecls.pop_back();
    std::swap(savedScopes, scopes);
    if (numErrors != errorsBefore)
      note(loc, "in block '" + term.name + "' used here with input " +
                    showValues(input));
    blockInstances[term.name] = out; // First instance annotates the AST.
    blockInstances[key] = out;
    return out;
  }

  if (decl) {
    error(loc, "'" + term.name +
                   "' is not a layer: layers are built-in "
                   "terms, blocks and functions");
    return std::nullopt;
  }

  bool sameShape = kSameShapeTerms.count(term.name) != 0;
  if (!sameShape && !kBuiltinTerms.count(term.name)) {
    error(loc, "unknown layer '" + term.name + "'");
    return std::nullopt;
  }
  if (!term.constArgs.empty()) {
    error(term.constArgs.front().loc,
          "'" + term.name + "' takes no constant arguments");
    return std::nullopt;
  }
  if (input.size() != 1) {
    error(loc, "'" + term.name +
                   "' takes one tensor, but the pipeline "
                   "carries " +
                   std::to_string(input.size()) + " values here " +
                   showValues(input) +
                   "; pass them to a function (e.g. an attention) first");
    return std::nullopt;
  }
  const ValueType &x = input.front();
  const std::vector<DimExpr> &shape = x.getShape();
  TermArgs args{*this, term};
  auto needRank = [&](size_t rank) {
    if (shape.size() == rank)
      return true;
    error(loc, "'" + term.name + "' needs a tensor of rank " +
                   std::to_string(rank) + ", but it is given " + x.str());
    return false;
  };
  if (x.getElemType() == ElemType::I1 ||
      (term.name != "embed" && isInteger(x.getElemType()) &&
       !kRoutingTerms.count(term.name))) {
    error(loc,
          "'" + term.name +
              "' needs floating-point values, but it is "
              "given " +
              x.str() +
              (isInteger(x.getElemType()) ? "; start with embed(V, D)" : ""));
    return std::nullopt;
  }

  if (sameShape) {
    if (!args.count(0, 0))
      return std::nullopt;
    if (shape.empty()) {
      error(loc,
            "'" + term.name + "' needs a tensor, but it is given " + x.str());
      return std::nullopt;
    }
    return Values{x};
  }
  if (term.name == "linear") {
    if (!args.count(0, 1) || shape.empty()) {
      if (shape.empty())
        error(loc, "'linear' needs a tensor, but it is given " + x.str());
      return std::nullopt;
    }
    std::vector<DimExpr> out = shape;
    if (!term.args.empty()) {
      std::optional<DimExpr> d = args.width(0);
      if (!d)
        return std::nullopt;
      out.back() = *d;
    }
    // Its weight is [in, out].
    std::optional<int64_t> in = shape.back().getConstant(),
                           width = out.back().getConstant();
    int64_t weights = 0;
    if (in && width &&
        (__builtin_mul_overflow(*in, *width, &weights) ||
         weights > kMaxElements)) {
      error(loc, "the weight of 'linear' would be " + std::to_string(*in) +
                     " x " + std::to_string(*width) + "; the limit is 2^34 = " +
                     std::to_string(kMaxElements) + " elements");
      return std::nullopt;
    }
    return Values{x.withShape(out)};
  }
  if (term.name == "permute") {
    if (!args.count(shape.size(), shape.size())) {
      note(loc, "'permute' lists every dimension of " + x.str() +
                    ", batch included");
      return std::nullopt;
    }
    std::vector<DimExpr> out;
    std::set<int64_t> seen;
    for (size_t i = 0; i < term.args.size(); ++i) {
      std::optional<int64_t> p = args.constant(i, "a dimension");
      if (!p)
        return std::nullopt;
      if (*p < 0 || *p >= int64_t(shape.size()) || !seen.insert(*p).second) {
        error(term.args[i]->getLoc(), "'permute' needs a permutation of 0.." +
                                          std::to_string(shape.size() - 1) +
                                          ", but " + std::to_string(*p) +
                                          " is out of range or repeated");
        return std::nullopt;
      }
      out.push_back(shape[*p]);
    }
    return Values{x.withShape(out)};
  }
  auto positivePatch = [&](int64_t k, const Location &at) {
    if (k > 0)
      return true;
    error(at, "'" + term.name + "' needs a patch size of at least 1, not " +
                  std::to_string(k));
    return false;
  };
  if (term.name == "im2col") {
    if (!args.count(1, 1) || !needRank(4))
      return std::nullopt;
    std::optional<int64_t> k = args.constant(0, "the patch size");
    if (!k || !positivePatch(*k, term.args[0]->getLoc()))
      return std::nullopt;
    std::optional<DimExpr> h =
        splitDim(*this, shape[2], *k, loc, "'im2col' height");
    std::optional<DimExpr> w =
        splitDim(*this, shape[3], *k, loc, "'im2col' width");
    if (!h || !w)
      return std::nullopt;
    return Values{x.withShape(
        {shape[0], *h * *w, shape[1] * DimExpr::constant(*k * *k)})};
  }
  if (term.name == "col2im") {
    if (!args.count(3, 3) || !needRank(3))
      return std::nullopt;
    std::optional<int64_t> k = args.constant(0, "the patch size");
    if (!k || !positivePatch(*k, term.args[0]->getLoc()))
      return std::nullopt;
    std::optional<DimExpr> h = args.dim(1), w = args.dim(2);
    if (!h || !w)
      return std::nullopt;
    std::optional<DimExpr> hk = splitDim(*this, *h, *k, loc, "'col2im' height");
    std::optional<DimExpr> wk = splitDim(*this, *w, *k, loc, "'col2im' width");
    std::optional<DimExpr> channels =
        splitDim(*this, shape[2], *k * *k, loc, "'col2im' features");
    if (!hk || !wk || !channels)
      return std::nullopt;
    if (*hk * *wk != shape[1]) {
      error(loc, "'col2im' needs " + (*hk * *wk).str() + " patches for a " +
                     h->str() + " x " + w->str() + " image, but it is given " +
                     shape[1].str());
      return std::nullopt;
    }
    return Values{x.withShape({shape[0], *channels, *h, *w})};
  }
  if (term.name == "embed") {
    if (!args.count(2, 2))
      return std::nullopt;
    if (!isInteger(x.getElemType())) {
      error(loc, "'embed' needs integer token ids, but it is given " + x.str());
      return std::nullopt;
    }
    std::optional<DimExpr> vocab = args.width(0), d = args.width(1);
    if (!vocab || !d)
      return std::nullopt;
    std::vector<DimExpr> out = shape;
    out.push_back(*d);
    return Values{ValueType::tensor(ElemType::F32, out)};
  }
  if (term.name == "project_qkv") {
    if (!args.count(1, 2) || !needRank(3))
      return std::nullopt;
    std::optional<int64_t> h = args.constant(0, "the number of heads");
    std::optional<int64_t> hkv =
        term.args.size() == 2 ? args.constant(1, "the number of KV heads") : h;
    if (!h || !hkv)
      return std::nullopt;
    if (*h <= 0 || *hkv <= 0 || *h % *hkv != 0) {
      error(loc, "bad head groups: " + std::to_string(*h) +
                     " query heads cannot share " + std::to_string(*hkv) +
                     " key/value heads evenly");
      return std::nullopt;
    }
    std::optional<DimExpr> dh =
        splitDim(*this, shape[2], *h, loc,
                 "bad head groups: the model width cannot be split into heads");
    if (!dh)
      return std::nullopt;
    ValueType q = x.withShape({shape[0], DimExpr::constant(*h), shape[1], *dh});
    ValueType kv =
        x.withShape({shape[0], DimExpr::constant(*hkv), shape[1], *dh});
    return Values{q, kv, kv};
  }
  // merge_heads
  if (!args.count(0, 0) || !needRank(4))
    return std::nullopt;
  return Values{x.withShape({shape[0], shape[2], shape[1] * shape[3]})};
}

//===----------------------------------------------------------------------===//
// Stages
//===----------------------------------------------------------------------===//

/// Checks that a route's pre/post pipeline holds routing terms only.
static bool checkRouting(Checker &c, const Pipeline &pipeline,
                         const char *which) {
  for (const StagePtr &stage : pipeline) {
    auto *term = dyn_cast<TermStage>(stage.get());
    if (!term || !kRoutingTerms.count(term->term.name)) {
      std::string what = term ? "'" + term->term.name + "'" : "a composite";
      c.error(stage->getLoc(),
              std::string("the ") + which +
                  " part of 'route' must be a routing module (identity, "
                  "permute, im2col or col2im), not " +
                  what);
      return false;
    }
  }
  return true;
}

static std::optional<Values> combine(Checker &c, const BranchStage &branch,
                                     const std::vector<Values> &outputs) {
  const Term &comb = branch.combiner;
  const Location &loc = comb.loc;
  TermArgs args{c, comb};
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].size() != 1) {
      c.error(branch.getLoc(), "branch " + std::to_string(i + 1) +
                                   " produces " +
                                   std::to_string(outputs[i].size()) +
                                   " values; each branch must produce one "
                                   "tensor");
      return std::nullopt;
    }
  }
  const ValueType &first = outputs[0][0];
  if (comb.name == "add" || comb.name == "mul") {
    if (!args.count(0, 0))
      return std::nullopt;
    for (size_t i = 1; i < outputs.size(); ++i) {
      if (outputs[i][0] != first) {
        c.error(loc, "'" + comb.name +
                         "' needs branches of equal shape, "
                         "but branch 1 gives " +
                         first.str() + " and branch " + std::to_string(i + 1) +
                         " gives " + outputs[i][0].str());
        return std::nullopt;
      }
    }
    return Values{first};
  }
  if (comb.name == "cat") {
    if (!args.count(1, 1))
      return std::nullopt;
    std::optional<int64_t> d = args.constant(0, "the dimension");
    if (!d)
      return std::nullopt;
    if (*d < 0 || *d >= int64_t(first.getRank())) {
      c.error(comb.args[0]->getLoc(), "'cat' dimension " + std::to_string(*d) +
                                          " is out of range for " +
                                          first.str());
      return std::nullopt;
    }
    std::vector<DimExpr> shape = first.getShape();
    for (size_t i = 1; i < outputs.size(); ++i) {
      const ValueType &t = outputs[i][0];
      bool ok = t.getRank() == first.getRank() &&
                t.getElemType() == first.getElemType();
      for (size_t k = 0; ok && k < shape.size(); ++k)
        ok = k == size_t(*d) || t.getShape()[k] == first.getShape()[k];
      if (!ok) {
        c.error(loc, "'cat(" + std::to_string(*d) +
                         ")' needs branches that differ only in dimension " +
                         std::to_string(*d) + ", but branch 1 gives " +
                         first.str() + " and branch " + std::to_string(i + 1) +
                         " gives " + t.str());
        return std::nullopt;
      }
      shape[*d] = shape[*d] + t.getShape()[*d];
    }
    return Values{first.withShape(shape)};
  }
  if (comb.name == "dot_product" || comb.name == "scaled_dot_product") {
    if (!args.count(0, 0))
      return std::nullopt;
    if (outputs.size() != 2) {
      c.error(loc, "'" + comb.name +
                       "' combines exactly 2 branches, but "
                       "there are " +
                       std::to_string(outputs.size()));
      return std::nullopt;
    }
    const ValueType &a = first, &b = outputs[1][0];
    const auto &sa = a.getShape(), &sb = b.getShape();
    bool ok = sa.size() >= 2 && sa.size() == sb.size() &&
              sa.back() == sb[sb.size() - 2];
    for (size_t k = 0; ok && k + 2 < sa.size(); ++k)
      ok = sa[k] == sb[k];
    if (!ok) {
      c.error(loc, "'" + comb.name + "' multiplies " + a.str() + " by " +
                       b.str() +
                       ", which needs [..., M, K] and [..., K, N] with "
                       "equal leading dimensions");
      return std::nullopt;
    }
    std::vector<DimExpr> shape(sa.begin(), sa.end() - 1);
    shape.push_back(sb.back());
    return Values{a.withShape(shape)};
  }
  c.error(loc, "unknown combiner '" + comb.name +
                   "'; combiners are add, mul, cat(dim), dot_product and "
                   "scaled_dot_product");
  return std::nullopt;
}

std::optional<Values> Checker::checkStage(Stage &stage, Values input,
                                          bool annotate) {
  std::optional<Values> out;
  const Location &loc = stage.getLoc();
  auto single = [&](const char *what) {
    if (input.size() == 1)
      return true;
    error(loc, std::string("'") + what +
                   "' takes one tensor, but the "
                   "pipeline carries " +
                   std::to_string(input.size()) + " values here");
    return false;
  };
  switch (stage.getKind()) {
  case Stage::Kind::Term:
    out = checkTerm(llvm::cast<TermStage>(stage).term, input, annotate);
    break;
  case Stage::Kind::Seq:
    out = input;
    for (Pipeline &part : llvm::cast<SeqStage>(stage).parts)
      if (!(out = checkPipeline(part, *out, annotate)))
        break;
    break;
  case Stage::Kind::Residual: {
    auto &residual = llvm::cast<ResidualStage>(stage);
    if (!single("residual"))
      return std::nullopt;
    std::optional<Values> body = checkPipeline(residual.body, input, annotate);
    if (!body)
      return std::nullopt;
    if (*body != input) {
      error(loc, "the residual body turns " + showValues(input) + " into " +
                     showValues(*body) + "; a residual must keep the shape");
      return std::nullopt;
    }
    out = input;
    break;
  }
  case Stage::Kind::Repeat: {
    auto &repeat = llvm::cast<RepeatStage>(stage);
    std::optional<DimExpr> n = evalDim(*repeat.count);
    if (!n)
      return std::nullopt;
    if (!n->getConstant() || *n->getConstant() < 1) {
      error(repeat.count->getLoc(), "'repeat' needs a compile-time count of "
                                    "at least 1, but it is " +
                                        n->str());
      return std::nullopt;
    }
    if (*n->getConstant() > kMaxRepeat) {
      error(repeat.count->getLoc(), "'repeat' is unrolled, and " + n->str() +
                                        " copies are more than the limit of " +
                                        std::to_string(kMaxRepeat));
      return std::nullopt;
    }
    std::optional<Values> body = checkPipeline(repeat.body, input, annotate);
    if (!body)
      return std::nullopt;
    if (*body != input) {
      error(loc, "the body of 'repeat' turns " + showValues(input) + " into " +
                     showValues(*body) +
                     "; a repeated body must keep the shape");
      return std::nullopt;
    }
    out = input;
    break;
  }
  case Stage::Kind::Route: {
    auto &route = llvm::cast<RouteStage>(stage);
    if (!checkRouting(*this, route.pre, "first") ||
        !checkRouting(*this, route.post, "last"))
      return std::nullopt;
    out = checkPipeline(route.pre, input, annotate);
    if (out)
      out = checkPipeline(route.body, *out, annotate);
    if (out)
      out = checkPipeline(route.post, *out, annotate);
    break;
  }
  case Stage::Kind::Branch: {
    auto &branch = llvm::cast<BranchStage>(stage);
    if (!single("branch"))
      return std::nullopt;
    const Term &fan = branch.fanout;
    TermArgs args{*this, fan};
    std::optional<int64_t> n;
    ValueType part = input.front();
    if (fan.name == "clone") {
      if (!args.count(1, 1) || !(n = args.constant(0, "the count")))
        return std::nullopt;
    } else if (fan.name == "group") {
      if (!args.count(2, 2))
        return std::nullopt;
      std::optional<int64_t> d = args.constant(0, "the dimension");
      if (!d || !(n = args.constant(1, "the count")))
        return std::nullopt;
      if (*d < 0 || *d >= int64_t(part.getRank())) {
        error(fan.args[0]->getLoc(), "'group' dimension " + std::to_string(*d) +
                                         " is out of range for " + part.str());
        return std::nullopt;
      }
      if (*n < 1)
        break;
      std::vector<DimExpr> shape = part.getShape();
      std::optional<DimExpr> split =
          splitDim(*this, shape[*d], *n, fan.loc,
                   "'group' cannot split dimension " + std::to_string(*d) +
                       " of " + part.str() + " evenly");
      if (!split)
        return std::nullopt;
      shape[*d] = *split;
      part = part.withShape(shape);
    } else {
      error(fan.loc, "unknown fan-out '" + fan.name +
                         "'; a branch starts with clone(n) or group(dim, n)");
      return std::nullopt;
    }
    if (*n < 1 || size_t(*n) != branch.branches.size()) {
      error(loc, "'branch' fans out to " + std::to_string(*n) +
                     " paths but lists " +
                     std::to_string(branch.branches.size()) + " branches");
      return std::nullopt;
    }
    std::vector<Values> outputs;
    for (Pipeline &p : branch.branches) {
      std::optional<Values> o = checkPipeline(p, {part}, annotate);
      if (!o)
        return std::nullopt;
      outputs.push_back(*o);
    }
    out = combine(*this, branch, outputs);
    break;
  }
  }
  if (out && annotate && annotating && out->size() == 1)
    stage.checkedType = out->front();
  return out;
}

std::optional<Values> Checker::checkPipeline(Pipeline &pipeline, Values input,
                                             bool annotate) {
  std::optional<Values> current = std::move(input);
  for (StagePtr &stage : pipeline)
    if (!(current = checkStage(*stage, *current, annotate)))
      return std::nullopt;
  return current;
}

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

void Checker::checkArch(ArchDecl &arch) {
  scopes.clear();
  closedIndices.clear();
  pushScope();
  std::map<std::string, ConstValue> consts;
  bindConstParams(arch.constParams, nullptr, arch.getLoc(), consts);
  declareConsts(arch.constParams, consts);
  arch.checkedConsts = consts;
  Values input;
  bool ok = true;
  for (Param &p : arch.params) {
    std::optional<ValueType> t = resolveType(*p.type, /*declareSizes=*/true);
    if (t && t->isGroup()) {
      error(p.loc, "an architecture's input must be a tensor, not a group");
      t.reset();
    }
    ok &= t.has_value();
    if (t) {
      p.checkedType = t;
      input.push_back(*t);
    }
  }
  if (!ok)
    return;
  activeDecls.push_back(&arch);
  std::optional<Values> out = checkPipeline(arch.body, input, true);
  activeDecls.pop_back();
  scopes.clear();
  if (!out)
    return;
  if (out->size() != 1) {
    error(arch.getLoc(), "architecture '" + arch.getName() +
                             "' must produce one tensor, but it produces " +
                             showValues(*out));
    return;
  }
  arch.checkedResult = out->front();
}

/// Reports unknown layer names in a block that no architecture uses; shapes
/// are checked where blocks are used.
static void checkNames(Checker &c, const Pipeline &pipeline) {
  for (const StagePtr &stage : pipeline) {
    if (auto *t = dyn_cast<TermStage>(stage.get())) {
      const std::string &name = t->term.name;
      if (!c.globals.count(name) && !kSameShapeTerms.count(name) &&
          !kBuiltinTerms.count(name))
        c.error(t->term.loc, "unknown layer '" + name + "'");
    } else if (auto *s = dyn_cast<ResidualStage>(stage.get())) {
      checkNames(c, s->body);
    } else if (auto *s = dyn_cast<RepeatStage>(stage.get())) {
      checkNames(c, s->body);
    } else if (auto *s = dyn_cast<SeqStage>(stage.get())) {
      for (const Pipeline &p : s->parts)
        checkNames(c, p);
    } else if (auto *s = dyn_cast<BranchStage>(stage.get())) {
      for (const Pipeline &p : s->branches)
        checkNames(c, p);
    } else if (auto *s = dyn_cast<RouteStage>(stage.get())) {
      checkNames(c, s->pre);
      checkNames(c, s->body);
      checkNames(c, s->post);
    }
  }
}

void Checker::checkBlockAlone(BlockDecl &block) {
  checkNames(*this, block.body);
}
