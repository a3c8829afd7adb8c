//===- AST.h - Abstract syntax tree of the attnc language -------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The AST built from the ANTLR parse tree. Plain C++ (no MLIR or ANTLR
/// types): the parser island fills it, the checker annotates it with inferred
/// types, and MLIRGen reads it. Nodes use LLVM-style RTTI (`llvm::isa`,
/// `llvm::dyn_cast`) through a `Kind` enum and `classof`, as in Toy.
///
/// Fields named `checked*` or `type` are empty after parsing and filled by
/// Sema (see Sema.h); everything else is syntax.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_FRONTEND_AST_H
#define ATTNC_FRONTEND_AST_H

#include "attnc/Frontend/Type.h"

#include "llvm/ADT/STLFunctionalExtras.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace attnc {

/// A position in a source file: 1-based line and column.
struct Location {
  std::string file;
  unsigned line = 0;
  unsigned col = 0;
};

/// A compile-time number: a constant's default, a `--set` value, or the
/// value the checker gives a constant.
struct ConstValue {
  bool isInt = true;
  int64_t intValue = 0;
  double floatValue = 0;

  static ConstValue ofInt(int64_t v) { return {true, v, double(v)}; }
  /// `intValue` is `v` truncated, 0 when that is no int64_t (inf, NaN, out
  /// of range: converting those is undefined behaviour).
  static ConstValue ofFloat(double v) {
    return {false, v > -0x1p63 && v < 0x1p63 ? int64_t(v) : 0, v};
  }
  double asDouble() const { return isInt ? double(intValue) : floatValue; }
  std::string str() const;
};

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

class Expr {
public:
  enum class Kind {
    IntLit,
    FloatLit,
    BoolLit,
    Name,
    Subscript,
    Member,
    Unary,
    Binary,
    Call,
    Reduce,
    GroupLit,
    Attend,
    Scan,
  };

  Expr(Kind kind, Location loc) : kind(kind), loc(std::move(loc)) {}
  virtual ~Expr() = default;
  Kind getKind() const { return kind; }
  const Location &getLoc() const { return loc; }

  /// The inferred type, set by Sema.
  std::optional<ValueType> type;

private:
  const Kind kind;
  Location loc;
};
using ExprPtr = std::unique_ptr<Expr>;

class IntLitExpr : public Expr {
public:
  IntLitExpr(Location loc, int64_t value)
      : Expr(Kind::IntLit, std::move(loc)), value(value) {}
  int64_t value;
  static bool classof(const Expr *e) { return e->getKind() == Kind::IntLit; }
};

/// A floating-point literal; `inf` is a FloatLit with an infinite value.
class FloatLitExpr : public Expr {
public:
  FloatLitExpr(Location loc, double value)
      : Expr(Kind::FloatLit, std::move(loc)), value(value) {}
  double value;
  static bool classof(const Expr *e) { return e->getKind() == Kind::FloatLit; }
};

class BoolLitExpr : public Expr {
public:
  BoolLitExpr(Location loc, bool value)
      : Expr(Kind::BoolLit, std::move(loc)), value(value) {}
  bool value;
  static bool classof(const Expr *e) { return e->getKind() == Kind::BoolLit; }
};

/// A reference to a parameter, local, state, index, constant or dimension.
class NameExpr : public Expr {
public:
  NameExpr(Location loc, std::string name)
      : Expr(Kind::Name, std::move(loc)), name(std::move(name)) {}
  std::string name;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Name; }
};

/// What the checker proved about one index of a subscript.
enum class IndexSafety : uint8_t {
  /// Always within its dimension (or not analyzed): read as written.
  InRange,
  /// Within its dimension wherever its value is used (under a `where` guard
  /// or an attend mask), but possibly not where it is evaluated
  /// speculatively: clamped into the dimension, so no read goes outside.
  Guarded,
  /// Not proven: clamped, and checked at run time (an error at this
  /// subscript in the interpreter, an error code from a compiled library).
  Checked,
};

/// `base[i, j]`: indexing the leading dimensions of a tensor. Fewer indices
/// than the rank give a sub-tensor (`q[b, h, i]` is a vector of size D).
class SubscriptExpr : public Expr {
public:
  SubscriptExpr(Location loc, ExprPtr base, std::vector<ExprPtr> indices)
      : Expr(Kind::Subscript, std::move(loc)), base(std::move(base)),
        indices(std::move(indices)) {}
  ExprPtr base;
  std::vector<ExprPtr> indices;
  /// Per index, set by the checker: the weakest result over every instance
  /// checked (a generic function is checked with several constants).
  std::vector<IndexSafety> safety;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Subscript; }
};

/// `group.member`.
class MemberExpr : public Expr {
public:
  MemberExpr(Location loc, ExprPtr base, std::string member)
      : Expr(Kind::Member, std::move(loc)), base(std::move(base)),
        member(std::move(member)) {}
  ExprPtr base;
  std::string member;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Member; }
};

enum class UnaryOp { Neg, Not };
const char *toString(UnaryOp op);

class UnaryExpr : public Expr {
public:
  UnaryExpr(Location loc, UnaryOp op, ExprPtr operand)
      : Expr(Kind::Unary, std::move(loc)), op(op), operand(std::move(operand)) {
  }
  UnaryOp op;
  ExprPtr operand;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Unary; }
};

enum class BinaryOp {
  Add,
  Sub,
  Mul,
  Div,
  Mod,
  MatMul,
  Pow,
  Lt,
  Le,
  Gt,
  Ge,
  Eq,
  Ne,
  And,
  Or,
};
/// The operator's spelling in the language (`+`, `@`, `&&`).
const char *toString(BinaryOp op);

class BinaryExpr : public Expr {
public:
  BinaryExpr(Location loc, BinaryOp op, ExprPtr lhs, ExprPtr rhs)
      : Expr(Kind::Binary, std::move(loc)), op(op), lhs(std::move(lhs)),
        rhs(std::move(rhs)) {}
  BinaryOp op;
  ExprPtr lhs, rhs;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Binary; }
};

/// `name` or `name = value` in `<...>` after a function, block or layer name.
struct ConstArg {
  Location loc;
  std::string name; // empty when positional
  ExprPtr value;
};

/// A call of a built-in (`tanh`, `dot`, `grad`, ...) or user function.
class CallExpr : public Expr {
public:
  CallExpr(Location loc, std::string callee, std::vector<ConstArg> constArgs,
           std::vector<ExprPtr> args)
      : Expr(Kind::Call, std::move(loc)), callee(std::move(callee)),
        constArgs(std::move(constArgs)), args(std::move(args)) {}
  std::string callee;
  std::vector<ConstArg> constArgs;
  std::vector<ExprPtr> args;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Call; }
};

/// `op(index < extent[, param]) body`: sum, mean, max, min, prod, any, all,
/// argmax, argmin, topk (param = k) and topp (param = mass).
class ReduceExpr : public Expr {
public:
  ReduceExpr(Location loc, std::string op, std::string index, Location indexLoc,
             ExprPtr extent, ExprPtr param, ExprPtr body)
      : Expr(Kind::Reduce, std::move(loc)), op(std::move(op)),
        index(std::move(index)), indexLoc(std::move(indexLoc)),
        extent(std::move(extent)), param(std::move(param)),
        body(std::move(body)) {}
  std::string op;
  std::string index;
  Location indexLoc;
  ExprPtr extent;
  ExprPtr param; // null unless written
  ExprPtr body;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Reduce; }
};

/// `{W1: a, W2: b}`: a group value.
class GroupLitExpr : public Expr {
public:
  struct Field {
    Location loc;
    std::string name;
    ExprPtr value;
  };
  GroupLitExpr(Location loc, std::vector<Field> fields)
      : Expr(Kind::GroupLit, std::move(loc)), fields(std::move(fields)) {}
  std::vector<Field> fields;
  static bool classof(const Expr *e) { return e->getKind() == Kind::GroupLit; }
};

/// How `attend` turns scores into weights.
struct Normalizer {
  enum class Kind { Softmax, Sigmoid, Sum, None };
  Kind kind = Kind::Softmax;
  Location loc;
  ExprPtr bias; // sigmoid only; null when not written
};
const char *toString(Normalizer::Kind kind);

/// `attend j < M { score ...; mask ...; normalize ...; value ... }`.
class AttendExpr : public Expr {
public:
  AttendExpr(Location loc, std::string index, Location indexLoc, ExprPtr extent)
      : Expr(Kind::Attend, std::move(loc)), index(std::move(index)),
        indexLoc(std::move(indexLoc)), extent(std::move(extent)) {}
  std::string index;
  Location indexLoc;
  ExprPtr extent;
  ExprPtr score; // null: the error "attend needs a score clause"
  ExprPtr mask;  // null: every key is visible
  Normalizer normalizer;
  bool hasNormalizer = false; // false: softmax
  ExprPtr value;              // null: the error "attend needs a value clause"
  static bool classof(const Expr *e) { return e->getKind() == Kind::Attend; }
};

class Stmt;
using StmtPtr = std::unique_ptr<Stmt>;

/// `scan t < N [chunk C] { state ...; updates; emit e }`.
class ScanExpr : public Expr {
public:
  ScanExpr(Location loc, std::string index, Location indexLoc, ExprPtr extent,
           ExprPtr chunk, std::vector<StmtPtr> body);
  ~ScanExpr() override;
  std::string index;
  Location indexLoc;
  ExprPtr extent;
  ExprPtr chunk; // null when not written
  std::vector<StmtPtr> body;
  static bool classof(const Expr *e) { return e->getKind() == Kind::Scan; }
};

//===----------------------------------------------------------------------===//
// Types as written
//===----------------------------------------------------------------------===//

class TypeExpr {
public:
  enum class Kind { Tensor, Group, Named };
  TypeExpr(Kind kind, Location loc) : kind(kind), loc(std::move(loc)) {}
  virtual ~TypeExpr() = default;
  Kind getKind() const { return kind; }
  const Location &getLoc() const { return loc; }

private:
  const Kind kind;
  Location loc;
};
using TypeExprPtr = std::shared_ptr<TypeExpr>;

/// `f32[B, H, N, D]`; `f32` alone (no brackets) is a scalar.
class TensorTypeExpr : public TypeExpr {
public:
  TensorTypeExpr(Location loc, ElemType elem, std::vector<ExprPtr> dims)
      : TypeExpr(Kind::Tensor, std::move(loc)), elem(elem),
        dims(std::move(dims)) {}
  ElemType elem;
  std::vector<ExprPtr> dims;
  static bool classof(const TypeExpr *t) {
    return t->getKind() == Kind::Tensor;
  }
};

/// `{W1: f32[Hid, D], W2: f32[D, Hid]}`.
class GroupTypeExpr : public TypeExpr {
public:
  struct Member {
    Location loc;
    std::string name;
    TypeExprPtr type;
  };
  GroupTypeExpr(Location loc, std::vector<Member> members)
      : TypeExpr(Kind::Group, std::move(loc)), members(std::move(members)) {}
  std::vector<Member> members;
  static bool classof(const TypeExpr *t) { return t->getKind() == Kind::Group; }
};

/// A use of a `type` alias.
class NamedTypeExpr : public TypeExpr {
public:
  NamedTypeExpr(Location loc, std::string name)
      : TypeExpr(Kind::Named, std::move(loc)), name(std::move(name)) {}
  std::string name;
  static bool classof(const TypeExpr *t) { return t->getKind() == Kind::Named; }
};

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

class Stmt {
public:
  enum class Kind { IndexedDef, Let, StateDecl, Emit, Return };
  Stmt(Kind kind, Location loc) : kind(kind), loc(std::move(loc)) {}
  virtual ~Stmt() = default;
  Kind getKind() const { return kind; }
  const Location &getLoc() const { return loc; }

private:
  const Kind kind;
  Location loc;
};

/// An index on the left of a definition, with an optional written extent.
struct IndexDecl {
  Location loc;
  std::string name;
  ExprPtr extent; // null: inferred from the subscripts it appears in
  /// Set by Sema: the extent, written or inferred.
  std::optional<DimExpr> checkedExtent;
};

/// `name[i, j] = value`: defines a tensor (or, inside a scan, updates a
/// state element-wise) in index notation.
class IndexedDefStmt : public Stmt {
public:
  IndexedDefStmt(Location loc, std::string name, std::vector<IndexDecl> indices,
                 ExprPtr value)
      : Stmt(Kind::IndexedDef, std::move(loc)), name(std::move(name)),
        indices(std::move(indices)), value(std::move(value)) {}
  std::string name;
  std::vector<IndexDecl> indices;
  ExprPtr value;
  /// Set by Sema: the type of the defined tensor.
  std::optional<ValueType> checkedType;
  static bool classof(const Stmt *s) {
    return s->getKind() == Kind::IndexedDef;
  }
};

/// `name = value` (a local, or a state update inside a scan) or
/// `a, b = value` (destructuring a group, e.g. the result of grad).
class LetStmt : public Stmt {
public:
  struct Name {
    Location loc;
    std::string name;
  };
  LetStmt(Location loc, std::vector<Name> names, ExprPtr value)
      : Stmt(Kind::Let, std::move(loc)), names(std::move(names)),
        value(std::move(value)) {}
  std::vector<Name> names;
  ExprPtr value;
  /// Set by Sema: true when this assigns a state of the enclosing scan.
  bool isStateUpdate = false;
  /// Set by Sema: when the value is a compile-time integer, the dimension it
  /// names (`G = Hq / Hkv` can be used in subscripts and types).
  std::optional<DimExpr> checkedDim;
  static bool classof(const Stmt *s) { return s->getKind() == Kind::Let; }
};

/// `state S: f32[Dv, Dk] = 0` inside a scan.
class StateDeclStmt : public Stmt {
public:
  StateDeclStmt(Location loc, std::string name, TypeExprPtr type, ExprPtr init)
      : Stmt(Kind::StateDecl, std::move(loc)), name(std::move(name)),
        type(std::move(type)), init(std::move(init)) {}
  std::string name;
  TypeExprPtr type;
  ExprPtr init;
  std::optional<ValueType> checkedType;
  static bool classof(const Stmt *s) { return s->getKind() == Kind::StateDecl; }
};

class EmitStmt : public Stmt {
public:
  EmitStmt(Location loc, ExprPtr value)
      : Stmt(Kind::Emit, std::move(loc)), value(std::move(value)) {}
  ExprPtr value;
  static bool classof(const Stmt *s) { return s->getKind() == Kind::Emit; }
};

class ReturnStmt : public Stmt {
public:
  ReturnStmt(Location loc, std::vector<ExprPtr> values)
      : Stmt(Kind::Return, std::move(loc)), values(std::move(values)) {}
  std::vector<ExprPtr> values;
  static bool classof(const Stmt *s) { return s->getKind() == Kind::Return; }
};

//===----------------------------------------------------------------------===//
// Architectures
//===----------------------------------------------------------------------===//

class Stage;
using StagePtr = std::unique_ptr<Stage>;
/// Stages applied one after the other.
using Pipeline = std::vector<StagePtr>;

/// `name<consts>(args)`: a computation terminal, a block or function used as
/// a layer, or a fan-out / combiner inside `branch`.
struct Term {
  Location loc;
  std::string name;
  std::vector<ConstArg> constArgs;
  bool hasParens = false;
  std::vector<ExprPtr> args;
};

class Stage {
public:
  enum class Kind { Residual, Repeat, Seq, Branch, Route, Term };
  Stage(Kind kind, Location loc) : kind(kind), loc(std::move(loc)) {}
  virtual ~Stage() = default;
  Kind getKind() const { return kind; }
  const Location &getLoc() const { return loc; }

  /// Set by Sema: the type this stage produces (for the first instance the
  /// checker sees; a block used at several shapes shows the first).
  std::optional<ValueType> checkedType;

private:
  const Kind kind;
  Location loc;
};

class ResidualStage : public Stage {
public:
  ResidualStage(Location loc, Pipeline body)
      : Stage(Kind::Residual, std::move(loc)), body(std::move(body)) {}
  Pipeline body;
  static bool classof(const Stage *s) { return s->getKind() == Kind::Residual; }
};

class RepeatStage : public Stage {
public:
  RepeatStage(Location loc, ExprPtr count, Pipeline body)
      : Stage(Kind::Repeat, std::move(loc)), count(std::move(count)),
        body(std::move(body)) {}
  ExprPtr count;
  Pipeline body;
  static bool classof(const Stage *s) { return s->getKind() == Kind::Repeat; }
};

class SeqStage : public Stage {
public:
  SeqStage(Location loc, std::vector<Pipeline> parts)
      : Stage(Kind::Seq, std::move(loc)), parts(std::move(parts)) {}
  std::vector<Pipeline> parts;
  static bool classof(const Stage *s) { return s->getKind() == Kind::Seq; }
};

/// `branch(fanout, [b1, ..., bn], combiner)`.
class BranchStage : public Stage {
public:
  BranchStage(Location loc, Term fanout, std::vector<Pipeline> branches,
              Term combiner)
      : Stage(Kind::Branch, std::move(loc)), fanout(std::move(fanout)),
        branches(std::move(branches)), combiner(std::move(combiner)) {}
  Term fanout;
  std::vector<Pipeline> branches;
  Term combiner;
  static bool classof(const Stage *s) { return s->getKind() == Kind::Branch; }
};

/// `route(pre, body, post)`.
class RouteStage : public Stage {
public:
  RouteStage(Location loc, Pipeline pre, Pipeline body, Pipeline post)
      : Stage(Kind::Route, std::move(loc)), pre(std::move(pre)),
        body(std::move(body)), post(std::move(post)) {}
  Pipeline pre, body, post;
  static bool classof(const Stage *s) { return s->getKind() == Kind::Route; }
};

class TermStage : public Stage {
public:
  TermStage(Location loc, Term term)
      : Stage(Kind::Term, std::move(loc)), term(std::move(term)) {}
  Term term;
  static bool classof(const Stage *s) { return s->getKind() == Kind::Term; }
};

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

/// `<H = 8, D>` on a function, block or arch.
struct ConstParam {
  Location loc;
  std::string name;
  std::optional<ConstValue> defaultValue;
};

/// One function or arch parameter. Parameters declared together
/// (`q, k, v: f32[...]`) share their TypeExpr.
struct Param {
  Location loc;
  std::string name;
  TypeExprPtr type;
  /// Set by Sema.
  std::optional<ValueType> checkedType;
};

class Decl {
public:
  enum class Kind { Const, Type, Fn, Block, Arch };
  Decl(Kind kind, Location loc, std::string name)
      : kind(kind), loc(std::move(loc)), name(std::move(name)) {}
  virtual ~Decl() = default;
  Kind getKind() const { return kind; }
  const Location &getLoc() const { return loc; }
  const std::string &getName() const { return name; }

private:
  const Kind kind;
  Location loc;
  std::string name;
};
using DeclPtr = std::unique_ptr<Decl>;

/// `const NAME = value` at the top level.
class ConstDecl : public Decl {
public:
  ConstDecl(Location loc, std::string name, ExprPtr value)
      : Decl(Kind::Const, std::move(loc), std::move(name)),
        value(std::move(value)) {}
  ExprPtr value;
  std::optional<ConstValue> checkedValue;
  static bool classof(const Decl *d) { return d->getKind() == Kind::Const; }
};

/// `type NAME = type`.
class TypeDecl : public Decl {
public:
  TypeDecl(Location loc, std::string name, TypeExprPtr type)
      : Decl(Kind::Type, std::move(loc), std::move(name)),
        type(std::move(type)) {}
  TypeExprPtr type;
  static bool classof(const Decl *d) { return d->getKind() == Kind::Type; }
};

/// `fn name<consts>(params) { body }`; the short form `fn f(x) = e` is
/// stored as a body of one `return e`.
class FnDecl : public Decl {
public:
  FnDecl(Location loc, std::string name, std::vector<ConstParam> constParams,
         std::vector<Param> params, std::vector<StmtPtr> body)
      : Decl(Kind::Fn, std::move(loc), std::move(name)),
        constParams(std::move(constParams)), params(std::move(params)),
        body(std::move(body)) {}
  std::vector<ConstParam> constParams;
  std::vector<Param> params;
  std::vector<StmtPtr> body;
  /// Set by Sema: constant values after defaults and --set.
  std::map<std::string, ConstValue> checkedConsts;
  /// Set by Sema: the types of the returned values.
  std::vector<ValueType> checkedResults;
  static bool classof(const Decl *d) { return d->getKind() == Kind::Fn; }
};

/// `block name<consts> { pipeline }`: a reusable piece of architecture whose
/// input type comes from where it is used.
class BlockDecl : public Decl {
public:
  BlockDecl(Location loc, std::string name, std::vector<ConstParam> constParams,
            Pipeline body)
      : Decl(Kind::Block, std::move(loc), std::move(name)),
        constParams(std::move(constParams)), body(std::move(body)) {}
  std::vector<ConstParam> constParams;
  Pipeline body;
  static bool classof(const Decl *d) { return d->getKind() == Kind::Block; }
};

/// `arch name<consts>(x: f32[B, N, D]) { pipeline }`: a whole model.
class ArchDecl : public Decl {
public:
  ArchDecl(Location loc, std::string name, std::vector<ConstParam> constParams,
           std::vector<Param> params, Pipeline body)
      : Decl(Kind::Arch, std::move(loc), std::move(name)),
        constParams(std::move(constParams)), params(std::move(params)),
        body(std::move(body)) {}
  std::vector<ConstParam> constParams;
  std::vector<Param> params;
  Pipeline body;
  std::map<std::string, ConstValue> checkedConsts;
  std::optional<ValueType> checkedResult;
  static bool classof(const Decl *d) { return d->getKind() == Kind::Arch; }
};

/// Calls `onExpr` on each direct sub-expression of `e` that is present, in
/// source order, and `onStmt` on each statement of a scan's body. Literals
/// and names have none.
void forEachChild(const Expr &e, llvm::function_ref<void(const Expr &)> onExpr,
                  llvm::function_ref<void(const Stmt &)> onStmt);

/// Whether `a` and `b` are the same expression: the same tree of nodes with
/// the same names, literals and operators (locations and types aside).
/// Attends, scans and group literals are never equal to anything.
bool structurallyEqual(const Expr &a, const Expr &b);

/// A short source-like rendering of an expression for messages
/// (`q[b, h, i - 1]`; attends and scans as `attend ...`, `scan ...`).
std::string show(const Expr &expr);

/// A parsed program: the declarations of the main file and, before them, of
/// every file it imports (each file once, in import order).
struct Module {
  std::string mainFile;
  std::vector<DeclPtr> decls;
  /// Every file read, main file last, for diagnostics and `--emit=ast`.
  std::vector<std::string> files;
};

} // namespace attnc

#endif // ATTNC_FRONTEND_AST_H
