//===- ASTPrinter.cpp - Readable dumps of the AST -------------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Two deterministic text forms of a module:
///
/// printAST: one node per line, indented by two spaces per level, in the form
///   `Kind <salient fields>[ : <checked type>] @line:col`
/// Declaration lines carry `@file:line:col` with the file's base name, so the
/// output does not depend on where the checkout is. Small sub-expressions that
/// are part of a node's syntax (extents, dimensions, const arguments) are
/// printed inline in source form; operands are printed as child nodes.
///
/// printSignatures: one block per declaration with its checked signature and
/// the types it defines at its top level.
///
//===----------------------------------------------------------------------===//

#include "attnc/Frontend/ASTPrinter.h"

#include "llvm/Support/Casting.h"

using namespace attnc;
using llvm::dyn_cast;
using llvm::dyn_cast_or_null;
using llvm::isa;

//===----------------------------------------------------------------------===//
// Source forms of expressions and types
//===----------------------------------------------------------------------===//

/// Binding strength of an expression as written, for parenthesising.
static int precedence(const Expr &expr) {
  if (const auto *binary = dyn_cast<BinaryExpr>(&expr)) {
    switch (binary->op) {
    case BinaryOp::Or:
      return 1;
    case BinaryOp::And:
      return 2;
    case BinaryOp::Lt:
    case BinaryOp::Le:
    case BinaryOp::Gt:
    case BinaryOp::Ge:
    case BinaryOp::Eq:
    case BinaryOp::Ne:
      return 3;
    case BinaryOp::Add:
    case BinaryOp::Sub:
      return 4;
    case BinaryOp::Mul:
    case BinaryOp::Div:
    case BinaryOp::Mod:
    case BinaryOp::MatMul:
      return 5;
    case BinaryOp::Pow:
      return 7;
    }
  }
  if (isa<UnaryExpr>(expr))
    return 6;
  // A reduction's body extends as far right as possible: always bracket it
  // when it is an operand.
  if (isa<ReduceExpr>(expr))
    return 0;
  return 9;
}

static std::string exprText(const Expr *expr);

static std::string operandText(const Expr *expr, bool parens) {
  std::string text = exprText(expr);
  return parens ? "(" + text + ")" : text;
}

static std::string floatText(double value) {
  return ConstValue::ofFloat(value).str();
}

static std::string constArgsText(const std::vector<ConstArg> &args) {
  if (args.empty())
    return "";
  std::string text = "<";
  for (size_t i = 0; i < args.size(); ++i) {
    text += i ? ", " : "";
    if (!args[i].name.empty())
      text += args[i].name + " = ";
    text += exprText(args[i].value.get());
  }
  return text + ">";
}

static std::string exprListText(const std::vector<ExprPtr> &exprs) {
  std::string text;
  for (size_t i = 0; i < exprs.size(); ++i)
    text += (i ? ", " : "") + exprText(exprs[i].get());
  return text;
}

/// The expression in source form (parenthesised where needed).
static std::string exprText(const Expr *expr) {
  if (!expr)
    return "?";
  if (const auto *e = dyn_cast<IntLitExpr>(expr))
    return std::to_string(e->value);
  if (const auto *e = dyn_cast<FloatLitExpr>(expr))
    return floatText(e->value);
  if (const auto *e = dyn_cast<BoolLitExpr>(expr))
    return e->value ? "true" : "false";
  if (const auto *e = dyn_cast<NameExpr>(expr))
    return e->name;
  if (const auto *e = dyn_cast<SubscriptExpr>(expr))
    return operandText(e->base.get(), e->base && precedence(*e->base) < 9) +
           "[" + exprListText(e->indices) + "]";
  if (const auto *e = dyn_cast<MemberExpr>(expr))
    return operandText(e->base.get(), e->base && precedence(*e->base) < 9) +
           "." + e->member;
  if (const auto *e = dyn_cast<UnaryExpr>(expr))
    return std::string(toString(e->op)) +
           operandText(e->operand.get(),
                       e->operand && precedence(*e->operand) < 6);
  if (const auto *e = dyn_cast<BinaryExpr>(expr)) {
    int prec = precedence(*e);
    bool rightAssoc = e->op == BinaryOp::Pow;
    int lhsPrec = e->lhs ? precedence(*e->lhs) : 9;
    int rhsPrec = e->rhs ? precedence(*e->rhs) : 9;
    bool lhsParens = rightAssoc ? lhsPrec <= prec : lhsPrec < prec;
    bool rhsParens = rightAssoc ? rhsPrec < prec : rhsPrec <= prec;
    // A reduction on the right needs no brackets: its body ends the
    // expression anyway.
    if (e->rhs && isa<ReduceExpr>(*e->rhs))
      rhsParens = false;
    return operandText(e->lhs.get(), lhsParens) + " " + toString(e->op) + " " +
           operandText(e->rhs.get(), rhsParens);
  }
  if (const auto *e = dyn_cast<CallExpr>(expr))
    return e->callee + constArgsText(e->constArgs) + "(" +
           exprListText(e->args) + ")";
  if (const auto *e = dyn_cast<ReduceExpr>(expr)) {
    std::string text =
        e->op + "(" + e->index + " < " + exprText(e->extent.get());
    if (e->param)
      text += ", " + exprText(e->param.get());
    return text + ") " + exprText(e->body.get());
  }
  if (const auto *e = dyn_cast<GroupLitExpr>(expr)) {
    std::string text = "{";
    for (size_t i = 0; i < e->fields.size(); ++i)
      text += (i ? ", " : "") + e->fields[i].name + ": " +
              exprText(e->fields[i].value.get());
    return text + "}";
  }
  if (const auto *e = dyn_cast<AttendExpr>(expr))
    return "attend " + e->index + " < " + exprText(e->extent.get()) + " {...}";
  if (const auto *e = dyn_cast<ScanExpr>(expr))
    return "scan " + e->index + " < " + exprText(e->extent.get()) + " {...}";
  return "?";
}

/// A type as written: `f32[B, N / 2]`, `{W1: f32[H, D]}`, `Mlp`.
static std::string typeText(const TypeExpr *type) {
  if (!type)
    return "?";
  if (const auto *t = dyn_cast<TensorTypeExpr>(type)) {
    std::string text = toString(t->elem);
    if (!t->dims.empty())
      text += "[" + exprListText(t->dims) + "]";
    return text;
  }
  if (const auto *t = dyn_cast<GroupTypeExpr>(type)) {
    std::string text = "{";
    for (size_t i = 0; i < t->members.size(); ++i)
      text += (i ? ", " : "") + t->members[i].name + ": " +
              typeText(t->members[i].type.get());
    return text + "}";
  }
  if (const auto *t = dyn_cast<NamedTypeExpr>(type))
    return t->name;
  return "?";
}

static std::string termText(const Term &term) {
  std::string text = term.name + constArgsText(term.constArgs);
  if (term.hasParens)
    text += "(" + exprListText(term.args) + ")";
  return text;
}

/// `<H = 8, D = 64>` (or `H=8, D=64` when `compact`): each constant with
/// its checked value when there is one, else its default.
static std::string
constParamsText(const std::vector<ConstParam> &params,
                const std::map<std::string, ConstValue> *checked,
                bool compact = false) {
  if (params.empty())
    return "";
  std::string text = compact ? "" : "<";
  for (size_t i = 0; i < params.size(); ++i) {
    text += (i ? ", " : "") + params[i].name;
    std::optional<ConstValue> value = params[i].defaultValue;
    if (checked) {
      auto it = checked->find(params[i].name);
      if (it != checked->end())
        value = it->second;
    }
    if (value)
      text += (compact ? "=" : " = ") + value->str();
  }
  return compact ? text : text + ">";
}

static std::string baseName(const std::string &path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

//===----------------------------------------------------------------------===//
// printAST
//===----------------------------------------------------------------------===//

namespace {

/// Writes the tree, one node per line.
class TreePrinter {
public:
  std::string out;

  void printDecl(const Decl &decl);

private:
  void line(unsigned indent, const std::string &text, const Location &loc,
            const std::optional<ValueType> &type = std::nullopt) {
    out.append(2 * indent, ' ');
    out += text;
    if (type)
      out += " : " + type->str();
    out += " @" + std::to_string(loc.line) + ":" + std::to_string(loc.col);
    out += "\n";
  }
  void label(unsigned indent, const std::string &text) {
    out.append(2 * indent, ' ');
    out += text + "\n";
  }

  void printExpr(const Expr *expr, unsigned indent,
                 const std::string &role = "");
  void printStmt(const Stmt &stmt, unsigned indent);
  void printPipeline(const Pipeline &pipeline, unsigned indent);
  void printStage(const Stage &stage, unsigned indent);
  void printParams(const std::vector<Param> &params, unsigned indent);
};

} // namespace

void TreePrinter::printDecl(const Decl &decl) {
  const Location &loc = decl.getLoc();
  std::string where = " @" + baseName(loc.file) + ":" +
                      std::to_string(loc.line) + ":" + std::to_string(loc.col);
  if (const auto *d = dyn_cast<ConstDecl>(&decl)) {
    std::string text = "ConstDecl " + d->getName() + where;
    if (d->checkedValue)
      text += " value=" + d->checkedValue->str();
    out += text + "\n";
    printExpr(d->value.get(), 1);
    return;
  }
  if (const auto *d = dyn_cast<TypeDecl>(&decl)) {
    out += "TypeDecl " + d->getName() + where + " = " +
           typeText(d->type.get()) + "\n";
    return;
  }
  if (const auto *d = dyn_cast<FnDecl>(&decl)) {
    std::string text = "FnDecl " + d->getName() + where;
    if (!d->constParams.empty())
      text += " consts=[" +
              constParamsText(d->constParams, &d->checkedConsts, true) + "]";
    if (!d->checkedResults.empty()) {
      text += " ->";
      for (size_t i = 0; i < d->checkedResults.size(); ++i)
        text += (i ? ", " : " ") + d->checkedResults[i].str();
    }
    out += text + "\n";
    printParams(d->params, 1);
    for (const StmtPtr &stmt : d->body)
      if (stmt)
        printStmt(*stmt, 1);
    return;
  }
  if (const auto *d = dyn_cast<BlockDecl>(&decl)) {
    std::string text = "BlockDecl " + d->getName() + where;
    if (!d->constParams.empty())
      text +=
          " consts=[" + constParamsText(d->constParams, nullptr, true) + "]";
    out += text + "\n";
    printPipeline(d->body, 1);
    return;
  }
  if (const auto *d = dyn_cast<ArchDecl>(&decl)) {
    std::string text = "ArchDecl " + d->getName() + where;
    if (!d->constParams.empty())
      text += " consts=[" +
              constParamsText(d->constParams, &d->checkedConsts, true) + "]";
    if (d->checkedResult)
      text += " -> " + d->checkedResult->str();
    out += text + "\n";
    printParams(d->params, 1);
    printPipeline(d->body, 1);
    return;
  }
}

void TreePrinter::printParams(const std::vector<Param> &params,
                              unsigned indent) {
  for (const Param &param : params) {
    std::string type = param.checkedType ? param.checkedType->str()
                                         : typeText(param.type.get());
    line(indent, "Param " + param.name + " : " + type, param.loc);
  }
}

/// `b, h, I < N / BS`: the left indices of a definition.
static std::string indexDeclsText(const std::vector<IndexDecl> &indices) {
  std::string text;
  for (size_t i = 0; i < indices.size(); ++i) {
    text += (i ? ", " : "") + indices[i].name;
    if (indices[i].extent)
      text += " < " + exprText(indices[i].extent.get());
  }
  return text;
}

void TreePrinter::printStmt(const Stmt &stmt, unsigned indent) {
  if (const auto *s = dyn_cast<IndexedDefStmt>(&stmt)) {
    line(indent,
         "IndexedDef " + s->name + "[" + indexDeclsText(s->indices) + "]",
         s->getLoc(), s->checkedType);
    printExpr(s->value.get(), indent + 1);
    return;
  }
  if (const auto *s = dyn_cast<LetStmt>(&stmt)) {
    std::string names;
    for (size_t i = 0; i < s->names.size(); ++i)
      names += (i ? ", " : "") + s->names[i].name;
    std::string text = "Let " + names;
    if (s->isStateUpdate)
      text += " (state update)";
    if (s->checkedDim)
      text += " dim=" + s->checkedDim->str();
    line(indent, text, s->getLoc(), s->value ? s->value->type : std::nullopt);
    printExpr(s->value.get(), indent + 1);
    return;
  }
  if (const auto *s = dyn_cast<StateDeclStmt>(&stmt)) {
    std::string type =
        s->checkedType ? s->checkedType->str() : typeText(s->type.get());
    line(indent, "StateDecl " + s->name + " : " + type, s->getLoc());
    printExpr(s->init.get(), indent + 1);
    return;
  }
  if (const auto *s = dyn_cast<EmitStmt>(&stmt)) {
    line(indent, "Emit", s->getLoc());
    printExpr(s->value.get(), indent + 1);
    return;
  }
  if (const auto *s = dyn_cast<ReturnStmt>(&stmt)) {
    line(indent, "Return", s->getLoc());
    for (const ExprPtr &value : s->values)
      printExpr(value.get(), indent + 1);
    return;
  }
}

void TreePrinter::printExpr(const Expr *expr, unsigned indent,
                            const std::string &role) {
  if (!expr)
    return;
  std::string prefix = role.empty() ? "" : role + ": ";
  auto node = [&](const std::string &text) {
    line(indent, prefix + text, expr->getLoc(), expr->type);
  };
  if (const auto *e = dyn_cast<IntLitExpr>(expr))
    return node("IntLit " + std::to_string(e->value));
  if (const auto *e = dyn_cast<FloatLitExpr>(expr))
    return node("FloatLit " + floatText(e->value));
  if (const auto *e = dyn_cast<BoolLitExpr>(expr))
    return node(std::string("BoolLit ") + (e->value ? "true" : "false"));
  if (const auto *e = dyn_cast<NameExpr>(expr))
    return node("Name " + e->name);
  if (const auto *e = dyn_cast<SubscriptExpr>(expr)) {
    node("Subscript");
    printExpr(e->base.get(), indent + 1);
    for (const ExprPtr &index : e->indices)
      printExpr(index.get(), indent + 1);
    return;
  }
  if (const auto *e = dyn_cast<MemberExpr>(expr)) {
    node("Member ." + e->member);
    printExpr(e->base.get(), indent + 1);
    return;
  }
  if (const auto *e = dyn_cast<UnaryExpr>(expr)) {
    node(std::string("Unary ") + toString(e->op));
    printExpr(e->operand.get(), indent + 1);
    return;
  }
  if (const auto *e = dyn_cast<BinaryExpr>(expr)) {
    node(std::string("Binary ") + toString(e->op));
    printExpr(e->lhs.get(), indent + 1);
    printExpr(e->rhs.get(), indent + 1);
    return;
  }
  if (const auto *e = dyn_cast<CallExpr>(expr)) {
    node("Call " + e->callee + constArgsText(e->constArgs));
    for (const ExprPtr &arg : e->args)
      printExpr(arg.get(), indent + 1);
    return;
  }
  if (const auto *e = dyn_cast<ReduceExpr>(expr)) {
    node("Reduce " + e->op + " " + e->index + " < " +
         exprText(e->extent.get()));
    printExpr(e->param.get(), indent + 1, "param");
    printExpr(e->body.get(), indent + 1);
    return;
  }
  if (const auto *e = dyn_cast<GroupLitExpr>(expr)) {
    node("GroupLit");
    for (const GroupLitExpr::Field &field : e->fields)
      printExpr(field.value.get(), indent + 1, field.name);
    return;
  }
  if (const auto *e = dyn_cast<AttendExpr>(expr)) {
    node("Attend " + e->index + " < " + exprText(e->extent.get()));
    printExpr(e->score.get(), indent + 1, "score");
    printExpr(e->mask.get(), indent + 1, "mask");
    if (e->hasNormalizer) {
      line(indent + 1, std::string("normalize ") + toString(e->normalizer.kind),
           e->normalizer.loc);
      printExpr(e->normalizer.bias.get(), indent + 2, "bias");
    }
    printExpr(e->value.get(), indent + 1, "value");
    return;
  }
  if (const auto *e = dyn_cast<ScanExpr>(expr)) {
    std::string text = "Scan " + e->index + " < " + exprText(e->extent.get());
    if (e->chunk)
      text += " chunk " + exprText(e->chunk.get());
    node(text);
    for (const StmtPtr &stmt : e->body)
      if (stmt)
        printStmt(*stmt, indent + 1);
    return;
  }
}

void TreePrinter::printPipeline(const Pipeline &pipeline, unsigned indent) {
  for (const StagePtr &stage : pipeline)
    if (stage)
      printStage(*stage, indent);
}

void TreePrinter::printStage(const Stage &stage, unsigned indent) {
  const std::optional<ValueType> &type = stage.checkedType;
  if (const auto *s = dyn_cast<ResidualStage>(&stage)) {
    line(indent, "Residual", s->getLoc(), type);
    printPipeline(s->body, indent + 1);
    return;
  }
  if (const auto *s = dyn_cast<RepeatStage>(&stage)) {
    line(indent, "Repeat " + exprText(s->count.get()), s->getLoc(), type);
    printPipeline(s->body, indent + 1);
    return;
  }
  if (const auto *s = dyn_cast<SeqStage>(&stage)) {
    line(indent, "Seq", s->getLoc(), type);
    for (const Pipeline &part : s->parts) {
      label(indent + 1, "part:");
      printPipeline(part, indent + 2);
    }
    return;
  }
  if (const auto *s = dyn_cast<BranchStage>(&stage)) {
    line(indent,
         "Branch " + termText(s->fanout) + " => " + termText(s->combiner),
         s->getLoc(), type);
    for (const Pipeline &branch : s->branches) {
      label(indent + 1, "branch:");
      printPipeline(branch, indent + 2);
    }
    return;
  }
  if (const auto *s = dyn_cast<RouteStage>(&stage)) {
    line(indent, "Route", s->getLoc(), type);
    label(indent + 1, "pre:");
    printPipeline(s->pre, indent + 2);
    label(indent + 1, "body:");
    printPipeline(s->body, indent + 2);
    label(indent + 1, "post:");
    printPipeline(s->post, indent + 2);
    return;
  }
  if (const auto *s = dyn_cast<TermStage>(&stage)) {
    line(indent, "Term " + termText(s->term), s->getLoc(), type);
    return;
  }
}

std::string attnc::printAST(const Module &module) {
  TreePrinter printer;
  for (const DeclPtr &decl : module.decls)
    if (decl)
      printer.printDecl(*decl);
  return printer.out;
}

//===----------------------------------------------------------------------===//
// printSignatures
//===----------------------------------------------------------------------===//

static std::string paramsText(const std::vector<Param> &params) {
  std::string text = "(";
  for (size_t i = 0; i < params.size(); ++i)
    text += (i ? ", " : "") + params[i].name + ": " +
            (params[i].checkedType ? params[i].checkedType->str() : "?");
  return text + ")";
}

/// A one-line summary of a stage for the signature listing.
static std::string stageText(const Stage &stage) {
  if (isa<ResidualStage>(stage))
    return "residual";
  if (const auto *s = dyn_cast<RepeatStage>(&stage))
    return "repeat(" + exprText(s->count.get()) + ")";
  if (isa<SeqStage>(stage))
    return "seq";
  if (const auto *s = dyn_cast<BranchStage>(&stage))
    return "branch(" + termText(s->fanout) + ", " + termText(s->combiner) + ")";
  if (isa<RouteStage>(stage))
    return "route";
  if (const auto *s = dyn_cast<TermStage>(&stage))
    return termText(s->term);
  return "?";
}

static void printStages(const Pipeline &pipeline, std::string &out) {
  for (const StagePtr &stage : pipeline)
    if (stage)
      out += "  " + stageText(*stage) + ": " +
             (stage->checkedType ? stage->checkedType->str() : "?") + "\n";
}

std::string attnc::printSignatures(const Module &module) {
  std::string out;
  for (const DeclPtr &declPtr : module.decls) {
    if (!declPtr)
      continue;
    const Decl &decl = *declPtr;
    if (const auto *d = dyn_cast<ConstDecl>(&decl)) {
      out += "const " + d->getName() + " = " +
             (d->checkedValue ? d->checkedValue->str()
                              : exprText(d->value.get())) +
             "\n";
    } else if (const auto *d = dyn_cast<TypeDecl>(&decl)) {
      out += "type " + d->getName() + " = " + typeText(d->type.get()) + "\n";
    } else if (const auto *d = dyn_cast<FnDecl>(&decl)) {
      out += "fn " + d->getName() +
             constParamsText(d->constParams, &d->checkedConsts) +
             paramsText(d->params) + " -> ";
      if (d->checkedResults.empty())
        out += "?";
      for (size_t i = 0; i < d->checkedResults.size(); ++i)
        out += (i ? ", " : "") + d->checkedResults[i].str();
      out += "\n";
      for (const StmtPtr &stmt : d->body) {
        if (const auto *s = dyn_cast_or_null<IndexedDefStmt>(stmt.get())) {
          if (s->checkedType)
            out += "  " + s->name + ": " + s->checkedType->str() + "\n";
        } else if (const auto *s = dyn_cast_or_null<LetStmt>(stmt.get())) {
          std::string names;
          for (size_t i = 0; i < s->names.size(); ++i)
            names += (i ? ", " : "") + s->names[i].name;
          if (s->checkedDim)
            out += "  " + names + " = " + s->checkedDim->str() + "\n";
          else if (s->value && s->value->type)
            out += "  " + names + ": " + s->value->type->str() + "\n";
        }
      }
    } else if (const auto *d = dyn_cast<BlockDecl>(&decl)) {
      out += "block " + d->getName() +
             constParamsText(d->constParams, nullptr) + "\n";
      printStages(d->body, out);
    } else if (const auto *d = dyn_cast<ArchDecl>(&decl)) {
      out += "arch " + d->getName() +
             constParamsText(d->constParams, &d->checkedConsts) +
             paramsText(d->params) + " -> " +
             (d->checkedResult ? d->checkedResult->str() : "?") + "\n";
      printStages(d->body, out);
    }
  }
  return out;
}
