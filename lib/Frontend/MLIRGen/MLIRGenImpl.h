//===- MLIRGenImpl.h - The function half of MLIRGen -------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The generator of `fn` declarations, shared by the files of this
/// directory: MLIRGen.cpp (functions, statements, types and sizes),
/// ExprGen.cpp (expressions), AttendGen.cpp (`attend`) and ScanGen.cpp
/// (`scan` and `grad`).
///
/// Every expression becomes one `mlir::Value`: a scalar (its element type,
/// or `index` for an index variable) when its checked type has rank 0, else
/// a ranked tensor whose static dims are the constant dims of its checked
/// type. Group values (`{W1: ..., W2: ...}`) are generated one member at a
/// time: `Env::member` selects the member an expression is projected to.
/// Calls of user functions are inlined, each in its own `Frame`, so that
/// every later pass and the interpreter see one function at a time.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_FRONTEND_MLIRGEN_MLIRGENIMPL_H
#define ATTNC_LIB_FRONTEND_MLIRGEN_MLIRGENIMPL_H

#include "ScanFactors.h"
#include "attnc/Frontend/AST.h"
#include "dialects/Attn/AttnOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <map>
#include <optional>
#include <string>

namespace attnc {
namespace mlirgen {

/// A named value: one `mlir::Value` for a scalar or a tensor, one per member
/// (in the order of the group type) for a group.
struct Binding {
  ValueType type;
  llvm::SmallVector<mlir::Value, 1> values;
};

/// The names of one function being generated, or of one inlined call.
struct Frame {
  llvm::StringMap<Binding> names;
  /// Compile-time constants: the function's, the top level's and local
  /// `G = Hq / Hkv`.
  std::map<std::string, ConstValue> consts;
  /// The callee's size symbols in terms of the outermost function's.
  std::map<std::string, DimExpr> subst;
  /// Names whose definition failed: their uses report nothing more.
  llvm::StringSet<> poisoned;
};

/// What an expression sees besides its frame's names.
struct Env {
  /// Index variables, as `index` values.
  std::map<std::string, mlir::Value> indices;
  /// Sub-expressions whose values are already computed: inside an attend
  /// score region, the dot products of the kernel (`%s_p`).
  llvm::DenseMap<const Expr *, mlir::Value> replaced;
  /// The member of group-typed expressions being generated.
  std::optional<unsigned> member;
};

/// The state of the scan whose body is being generated.
struct ScanContext {
  const ScanExpr *scan = nullptr;
  /// State names, in declaration order.
  std::vector<std::string> states;
  /// The states as of the start of the current chunk (the body arguments
  /// after the states when chunk > 1, else the states at the step's start).
  llvm::StringMap<Binding> chunkStart;
  /// States updated so far in the current step.
  llvm::StringSet<> updated;
  /// The body statements before the one being generated, replayed inside
  /// `attn.grad` regions.
  std::vector<const Stmt *> before;
};

class FnGen {
public:
  FnGen(mlir::MLIRContext &context, mlir::ModuleOp module,
        std::map<std::string, ConstValue> globalConsts,
        std::map<std::string, const FnDecl *> fns)
      : context(context), builder(&context), module(module),
        globalConsts(std::move(globalConsts)), fns(std::move(fns)) {}

  /// Generates `decl` as a `func.func` at the end of the module. Returns
  /// false after reporting an error.
  bool genFn(const FnDecl &decl);

  // --- Diagnostics and locations (MLIRGen.cpp) ---
  mlir::Location loc(const Location &l) {
    return mlir::FileLineColLoc::get(&context, l.file, l.line, l.col);
  }
  /// Reports "not supported yet: what" at `l`; returns a null value.
  mlir::Value unsupported(const Location &l, const llvm::Twine &what);
  /// Index `k` of subscript `e` of `base` clamped into its dimension, and
  /// with `check` asserted in range (where it is used) first.
  mlir::Value boundedIndex(const SubscriptExpr &e, size_t k, mlir::Value base,
                           mlir::Value index, bool check);
  /// Asserts `ok` at `l` with the language's message `what`, unless an
  /// enclosing `where` picks the other branch (then the value is not used).
  void checkUnlessGuarded(mlir::Value ok, mlir::Location l,
                          const llvm::Twine &what);
  /// An integer divisor that cannot trap: checked non-zero (and not -1 under
  /// the smallest dividend, which overflows) at `e`, and replaced by 1 where
  /// it fails, so compiled code goes on to return the error code.
  mlir::Value safeDivisor(const BinaryExpr &e, mlir::Value x, mlir::Value y);
  /// `int(x)` of a float: checked not NaN and within `to` at `e`, then
  /// converted (0 where the check fails).
  mlir::Value checkedFloatToInt(const CallExpr &e, mlir::Value x,
                                mlir::IntegerType to);
  mlir::Value error(const Location &l, const llvm::Twine &what);

  // --- Types and sizes (MLIRGen.cpp) ---
  mlir::Type elemType(ElemType t);
  /// The checked type of `e` in the outermost function's size symbols,
  /// projected to `env.member` for groups.
  std::optional<ValueType> typeOf(const Expr &e, const Env &env);
  ValueType resolve(const ValueType &t);
  /// A scalar element type for rank 0, else a ranked tensor type.
  mlir::Type mlirType(const ValueType &t);
  mlir::Value dimValue(const DimExpr &d, const Location &l);
  /// The dynamic sizes of `t`, for tensor.empty and tensor.generate.
  bool dynamicSizes(const ValueType &t, const Location &l,
                    llvm::SmallVectorImpl<mlir::Value> &out);
  mlir::Value coerce(mlir::Value v, mlir::Type to, mlir::Location l);
  /// `v` converted to `to`: element conversions for scalars and tensor.cast
  /// between tensor types that differ only in static dims.
  mlir::Value convert(mlir::Value v, mlir::Type to, mlir::Location l);
  mlir::Value constValue(const ConstValue &c, mlir::Type t, mlir::Location l);
  /// A tensor of type `t` filled with `value`.
  mlir::Value filled(const ValueType &t, double value, const Location &l);
  mlir::Value emptyTensor(const ValueType &t, const Location &l);

  // --- Statements (MLIRGen.cpp) ---
  bool genScanFactors(mlir::attnc::attn::ScanOp op,
                      llvm::ArrayRef<const IndexDecl *> batch,
                      const ScanExpr &scan, const ScanFactors &factors,
                      llvm::ArrayRef<mlir::Type> stateTypes);
  mlir::Value genVectorFactor(const VectorFactor &f, int64_t extent,
                              const Env &env);
  mlir::Value genScalarProduct(llvm::ArrayRef<const Expr *> factors,
                               mlir::Location l, const Env &env);
  bool genStmt(const Stmt &stmt, const Env &env);
  bool genIndexedDef(const IndexedDefStmt &def, const Env &env);
  bool genLet(const LetStmt &let, const Env &env);
  /// Binds `name` to `value` generated member by member for groups.
  bool bindExpr(const std::string &name, const ValueType &checked,
                const Expr &value, const Env &env);
  mlir::Value genGenerate(const IndexedDefStmt &def, const ValueType &type,
                          const Env &outer);
  mlir::Value genForall(const IndexedDefStmt &def, const ValueType &type,
                        const Env &outer);

  // --- Expressions (ExprGen.cpp) ---
  mlir::Value gen(const Expr &e, const Env &env);
  mlir::Value genName(const NameExpr &e, const Env &env);
  mlir::Value genSubscript(const SubscriptExpr &e, const Env &env);
  /// `base[indices...]`: an element, or the slice of the trailing dims, of
  /// the type of `e`.
  mlir::Value sliceAt(mlir::Value base, llvm::ArrayRef<mlir::Value> indices,
                      const Expr &e, const Env &env);
  mlir::Value genElementwise(const Expr &e, const Env &env);
  mlir::Value genMatMul(const BinaryExpr &e, const Env &env);
  mlir::Value genBuiltin(const CallExpr &call, const Env &env);
  mlir::Value genUserCall(const CallExpr &call, const FnDecl &callee,
                          const Env &env);
  mlir::Value genReduce(const ReduceExpr &red, const Env &env);
  mlir::Value genNorm(const CallExpr &call, mlir::Value x, const ValueType &t,
                      const Env &env);
  mlir::Value genFullReduce(const CallExpr &call, mlir::Value x,
                            const ValueType &t);
  /// The scalar operation of an element-wise node on scalar operands.
  mlir::Value applyScalar(const Expr &node, llvm::ArrayRef<mlir::Value> ops,
                          mlir::Type resultType);
  std::optional<int64_t> constInt(const Expr &e);
  /// The `index` value of an extent such as `N / BS`.
  mlir::Value genExtent(const Expr &e);

  // --- attend (AttendGen.cpp) ---
  /// `attend` as a tensor [out..., shape(value)] of `elem`: one row per
  /// combination of the indices `out` (the definition's, and those of
  /// reductions around a nested attend) with their extents `sizes`.
  mlir::Value genAttend(const AttendExpr &attend,
                        llvm::ArrayRef<std::string> out,
                        llvm::ArrayRef<mlir::Value> sizes, mlir::Type elem,
                        const Env &env);
  /// Generates every attend nested in an expression of `stmt` (not the
  /// whole value of an indexed definition) before the statement, as a
  /// tensor over the definition's indices and the reductions around it;
  /// `gen` then reads it at the current indices.
  bool hoistNestedAttends(const Stmt &stmt, const Env &env);

  // --- scan and grad (ScanGen.cpp) ---
  /// `name[batch..., t] = scan t < N {...}` (no batch for `name = scan`).
  bool genScan(const std::string &name, llvm::ArrayRef<const IndexDecl *> batch,
               const ScanExpr &scan, const ValueType &checked);
  mlir::Value genGrad(const CallExpr &call, const Env &env);

  Frame &frame() { return frames.back(); }
  const Binding *lookup(const std::string &name) {
    auto it = frame().names.find(name);
    return it == frame().names.end() ? nullptr : &it->second;
  }

  mlir::MLIRContext &context;
  mlir::OpBuilder builder;
  mlir::ModuleOp module;
  std::map<std::string, ConstValue> globalConsts;
  std::map<std::string, const FnDecl *> fns;
  bool failed = false;

  /// Size symbol -> (parameter value, dim) of its first occurrence in the
  /// outermost function's parameters.
  llvm::StringMap<std::pair<mlir::Value, unsigned>> sizes;
  std::vector<Frame> frames;
  /// The scan whose body is being generated, if any.
  ScanContext *currentScan = nullptr;
  /// The conditions of the `where` branches being generated, and whether
  /// the branch is taken where the condition holds.
  std::vector<std::pair<mlir::Value, bool>> guards;
  /// The gradients of each grad call of the current scan body, flattened.
  llvm::DenseMap<const CallExpr *, llvm::SmallVector<mlir::Value>> gradCache;
  /// Attends nested in expressions, computed by hoistNestedAttends: the
  /// tensor and the indices it is read at.
  llvm::DenseMap<const AttendExpr *,
                 std::pair<mlir::Value, llvm::SmallVector<std::string>>>
      hoistedAttends;
  /// The results of calls of functions with several results, per call and
  /// block they were inlined in (valid to the end of that block).
  std::map<std::pair<const CallExpr *, mlir::Block *>,
           llvm::SmallVector<mlir::Value>>
      callResults;
  /// Functions being inlined, to report recursion (Sema rejects it).
  llvm::SmallVector<const FnDecl *> inlining;
};

} // namespace mlirgen
} // namespace attnc

#endif // ATTNC_LIB_FRONTEND_MLIRGEN_MLIRGENIMPL_H
