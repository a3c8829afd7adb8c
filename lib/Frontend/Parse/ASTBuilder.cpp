//===- ASTBuilder.cpp - Parse tree to AST ---------------------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Walks the ANTLR parse tree of one file with the generated contexts' typed
/// accessors and builds AST nodes, each with its {file, line, col}. Columns
/// are 1-based (ANTLR's charPositionInLine + 1).
///
/// Conventions for positions: a declaration, statement, stage or most
/// expressions sit at their first token; a binary expression sits at its
/// operator and a member access at the member name, which is where the
/// checker's messages about them should point.
///
//===----------------------------------------------------------------------===//

#include "ASTBuilder.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

using namespace attnc;
using namespace attnc::parse;

using P = grammar::AttnParser;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

Location ASTBuilder::loc(antlr4::Token *token) const {
  if (!token)
    return Location{file, 0, 0};
  return Location{file, static_cast<unsigned>(token->getLine()),
                  static_cast<unsigned>(token->getCharPositionInLine() + 1)};
}

Location ASTBuilder::loc(antlr4::ParserRuleContext *ctx) const {
  return loc(ctx ? ctx->getStart() : nullptr);
}

Location ASTBuilder::loc(antlr4::tree::TerminalNode *node) const {
  return loc(node ? node->getSymbol() : nullptr);
}

std::string ASTBuilder::identText(P::IdentContext *ctx) const {
  if (!ctx || !ctx->getStart())
    return "";
  return ctx->getStart()->getText();
}

/// The first child of `ctx` that is the terminal `text`, or null.
static antlr4::tree::TerminalNode *findTerminal(antlr4::ParserRuleContext *ctx,
                                                const std::string &text) {
  if (!ctx)
    return nullptr;
  for (antlr4::tree::ParseTree *child : ctx->children)
    if (auto *terminal = dynamic_cast<antlr4::tree::TerminalNode *>(child))
      if (terminal->getSymbol() && terminal->getSymbol()->getText() == text)
        return terminal;
  return nullptr;
}

/// Undoes the escapes of a STRING token (`\"` and `\\`; any other escaped
/// character stands for itself) and drops the quotes.
static std::string unquote(const std::string &text) {
  std::string result;
  if (text.size() < 2)
    return result;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] == '\\' && i + 2 < text.size())
      ++i;
    result += text[i];
  }
  return result;
}

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

void ASTBuilder::buildFile(P::FileContext *ctx) {
  if (!ctx)
    return;
  for (P::TopDeclContext *top : ctx->topDecl())
    buildTopDecl(top);
}

void ASTBuilder::buildTopDecl(P::TopDeclContext *ctx) {
  if (!ctx)
    return;
  if (P::ImportDeclContext *import = ctx->importDecl()) {
    if (antlr4::tree::TerminalNode *path = import->STRING())
      imports.push_back({loc(import), unquote(path->getText())});
    return;
  }
  DeclPtr decl;
  if (P::ConstDeclContext *c = ctx->constDecl())
    decl = buildConstDecl(c);
  else if (P::TypeDeclContext *t = ctx->typeDecl())
    decl = buildTypeDecl(t);
  else if (P::FnDeclContext *f = ctx->fnDecl())
    decl = buildFnDecl(f);
  else if (P::BlockDeclContext *b = ctx->blockDecl())
    decl = buildBlockDecl(b);
  else if (P::ArchDeclContext *a = ctx->archDecl())
    decl = buildArchDecl(a);
  if (decl)
    decls.push_back(std::move(decl));
}

DeclPtr ASTBuilder::buildConstDecl(P::ConstDeclContext *ctx) {
  return std::make_unique<ConstDecl>(loc(ctx), identText(ctx->ident()),
                                     buildExpr(ctx->expr()));
}

DeclPtr ASTBuilder::buildTypeDecl(P::TypeDeclContext *ctx) {
  return std::make_unique<TypeDecl>(loc(ctx), identText(ctx->ident()),
                                    buildType(ctx->type()));
}

DeclPtr ASTBuilder::buildFnDecl(P::FnDeclContext *ctx) {
  std::vector<StmtPtr> body;
  if (P::ExprContext *value = ctx->expr()) {
    // The short form `fn f(x) = e` is a body of one `return e`.
    std::vector<ExprPtr> values;
    values.push_back(buildExpr(value));
    body.push_back(std::make_unique<ReturnStmt>(loc(value), std::move(values)));
  } else {
    body = buildStmts(ctx->stmt());
  }
  return std::make_unique<FnDecl>(loc(ctx), identText(ctx->ident()),
                                  buildConstParams(ctx->constParams()),
                                  buildParams(ctx->params()), std::move(body));
}

DeclPtr ASTBuilder::buildBlockDecl(P::BlockDeclContext *ctx) {
  return std::make_unique<BlockDecl>(loc(ctx), identText(ctx->ident()),
                                     buildConstParams(ctx->constParams()),
                                     buildPipeline(ctx->pipeline()));
}

DeclPtr ASTBuilder::buildArchDecl(P::ArchDeclContext *ctx) {
  return std::make_unique<ArchDecl>(
      loc(ctx), identText(ctx->ident()), buildConstParams(ctx->constParams()),
      buildParams(ctx->params()), buildPipeline(ctx->pipeline()));
}

std::vector<ConstParam>
ASTBuilder::buildConstParams(P::ConstParamsContext *ctx) {
  std::vector<ConstParam> result;
  if (!ctx)
    return result;
  for (P::ConstParamContext *param : ctx->constParam()) {
    ConstParam cp;
    cp.loc = loc(param);
    cp.name = identText(param->ident());
    cp.defaultValue = buildConstValue(param->constValue());
    result.push_back(std::move(cp));
  }
  return result;
}

/// Parses the digits of an INT token; nullopt when the value does not fit in
/// `limit`.
static std::optional<uint64_t> parseDigits(const std::string &text,
                                           uint64_t limit) {
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (limit - digit) / 10)
      return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::optional<ConstValue>
ASTBuilder::buildConstValue(P::ConstValueContext *ctx) {
  if (!ctx)
    return std::nullopt;
  bool negative = findTerminal(ctx, "-") != nullptr;
  if (antlr4::tree::TerminalNode *intNode = ctx->INT()) {
    // One more in magnitude for the negative side: -9223372036854775808.
    uint64_t limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (negative)
      ++limit;
    std::optional<uint64_t> magnitude = parseDigits(intNode->getText(), limit);
    if (!magnitude) {
      diags.error(loc(intNode), "integer literal is too large");
      return ConstValue::ofInt(0);
    }
    if (negative)
      return ConstValue::ofInt(static_cast<int64_t>(0 - *magnitude));
    return ConstValue::ofInt(static_cast<int64_t>(*magnitude));
  }
  if (antlr4::tree::TerminalNode *floatNode = ctx->FLOAT()) {
    double value = std::strtod(floatNode->getText().c_str(), nullptr);
    if (std::isinf(value))
      diags.error(loc(floatNode), "floating-point literal is too large");
    return ConstValue::ofFloat(negative ? -value : value);
  }
  return std::nullopt;
}

std::vector<Param> ASTBuilder::buildParams(P::ParamsContext *ctx) {
  std::vector<Param> result;
  if (!ctx)
    return result;
  for (P::ParamGroupContext *group : ctx->paramGroup()) {
    // `q, k, v: T` declares three parameters sharing one TypeExpr.
    TypeExprPtr type = buildType(group->type());
    for (P::IdentContext *name : group->ident()) {
      Param param;
      param.loc = loc(name);
      param.name = identText(name);
      param.type = type;
      result.push_back(std::move(param));
    }
  }
  return result;
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

TypeExprPtr ASTBuilder::buildType(P::TypeContext *ctx) {
  if (auto *tensor = dynamic_cast<P::TensorTypeContext *>(ctx)) {
    ElemType elem = ElemType::F32;
    if (antlr4::tree::TerminalNode *node = tensor->ELEMTYPE())
      if (std::optional<ElemType> parsed = parseElemType(node->getText()))
        elem = *parsed;
    std::vector<ExprPtr> dims;
    if (P::DimListContext *list = tensor->dimList())
      dims = buildExprs(list->expr());
    return std::make_shared<TensorTypeExpr>(loc(ctx), elem, std::move(dims));
  }
  if (auto *group = dynamic_cast<P::GroupTypeContext *>(ctx)) {
    std::vector<GroupTypeExpr::Member> members;
    for (P::GroupMemberContext *member : group->groupMember()) {
      GroupTypeExpr::Member m;
      m.loc = loc(member);
      m.name = identText(member->ident());
      m.type = buildType(member->type());
      members.push_back(std::move(m));
    }
    return std::make_shared<GroupTypeExpr>(loc(ctx), std::move(members));
  }
  if (auto *named = dynamic_cast<P::NamedTypeContext *>(ctx))
    return std::make_shared<NamedTypeExpr>(loc(ctx), identText(named->ident()));
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

std::vector<StmtPtr>
ASTBuilder::buildStmts(const std::vector<P::StmtContext *> &ctxs) {
  std::vector<StmtPtr> result;
  for (P::StmtContext *ctx : ctxs)
    if (StmtPtr stmt = buildStmt(ctx))
      result.push_back(std::move(stmt));
  return result;
}

StmtPtr ASTBuilder::buildStmt(P::StmtContext *ctx) {
  if (auto *def = dynamic_cast<P::IndexedDefContext *>(ctx)) {
    std::vector<IndexDecl> indices;
    for (P::IndexDeclContext *index : def->indexDecl()) {
      IndexDecl decl;
      decl.loc = loc(index);
      decl.name = identText(index->ident());
      decl.extent = buildExpr(index->expr());
      indices.push_back(std::move(decl));
    }
    return std::make_unique<IndexedDefStmt>(loc(ctx), identText(def->ident()),
                                            std::move(indices),
                                            buildExpr(def->expr()));
  }
  if (auto *let = dynamic_cast<P::LetContext *>(ctx)) {
    std::vector<LetStmt::Name> names;
    for (P::IdentContext *name : let->ident())
      names.push_back({loc(name), identText(name)});
    return std::make_unique<LetStmt>(loc(ctx), std::move(names),
                                     buildExpr(let->expr()));
  }
  if (auto *state = dynamic_cast<P::StateDeclContext *>(ctx))
    return std::make_unique<StateDeclStmt>(loc(ctx), identText(state->ident()),
                                           buildType(state->type()),
                                           buildExpr(state->expr()));
  if (auto *emit = dynamic_cast<P::EmitContext *>(ctx))
    return std::make_unique<EmitStmt>(loc(ctx), buildExpr(emit->expr()));
  if (auto *ret = dynamic_cast<P::ReturnContext *>(ctx))
    return std::make_unique<ReturnStmt>(loc(ctx), buildExprs(ret->expr()));
  // `;` (EmptyStmt) builds nothing.
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

std::vector<ExprPtr>
ASTBuilder::buildExprs(const std::vector<P::ExprContext *> &ctxs) {
  std::vector<ExprPtr> result;
  for (P::ExprContext *ctx : ctxs)
    result.push_back(buildExpr(ctx));
  return result;
}

/// The BinaryOp spelled `text`.
static std::optional<BinaryOp> parseBinaryOp(const std::string &text) {
  static const std::pair<const char *, BinaryOp> ops[] = {
      {"+", BinaryOp::Add}, {"-", BinaryOp::Sub},  {"*", BinaryOp::Mul},
      {"/", BinaryOp::Div}, {"%", BinaryOp::Mod},  {"@", BinaryOp::MatMul},
      {"^", BinaryOp::Pow}, {"<", BinaryOp::Lt},   {"<=", BinaryOp::Le},
      {">", BinaryOp::Gt},  {">=", BinaryOp::Ge},  {"==", BinaryOp::Eq},
      {"!=", BinaryOp::Ne}, {"&&", BinaryOp::And}, {"||", BinaryOp::Or},
  };
  for (const auto &[spelling, op] : ops)
    if (text == spelling)
      return op;
  return std::nullopt;
}

ExprPtr ASTBuilder::buildExpr(P::ExprContext *ctx) {
  if (!ctx)
    return nullptr;
  if (auto *primary = dynamic_cast<P::PrimaryExprContext *>(ctx))
    return buildPrimary(primary->primary());
  if (auto *sub = dynamic_cast<P::SubscriptContext *>(ctx)) {
    std::vector<P::ExprContext *> exprs = sub->expr();
    if (exprs.empty())
      return nullptr;
    ExprPtr base = buildExpr(exprs.front());
    std::vector<ExprPtr> indices;
    for (size_t i = 1; i < exprs.size(); ++i)
      indices.push_back(buildExpr(exprs[i]));
    return std::make_unique<SubscriptExpr>(loc(ctx), std::move(base),
                                           std::move(indices));
  }
  if (auto *member = dynamic_cast<P::MemberContext *>(ctx)) {
    P::IdentContext *name = member->ident();
    return std::make_unique<MemberExpr>(name ? loc(name) : loc(ctx),
                                        buildExpr(member->expr()),
                                        identText(name));
  }
  if (auto *power = dynamic_cast<P::PowerContext *>(ctx)) {
    std::vector<P::ExprContext *> exprs = power->expr();
    antlr4::tree::TerminalNode *op = findTerminal(power, "^");
    return std::make_unique<BinaryExpr>(
        op ? loc(op) : loc(ctx), BinaryOp::Pow,
        buildExpr(exprs.size() > 0 ? exprs[0] : nullptr),
        buildExpr(exprs.size() > 1 ? exprs[1] : nullptr));
  }
  if (auto *unary = dynamic_cast<P::UnaryContext *>(ctx)) {
    UnaryOp op =
        unary->op && unary->op->getText() == "!" ? UnaryOp::Not : UnaryOp::Neg;
    return std::make_unique<UnaryExpr>(loc(ctx), op, buildExpr(unary->expr()));
  }
  if (auto *binary = dynamic_cast<P::BinaryContext *>(ctx)) {
    std::vector<P::ExprContext *> exprs = binary->expr();
    std::optional<BinaryOp> op;
    if (binary->op)
      op = parseBinaryOp(binary->op->getText());
    return std::make_unique<BinaryExpr>(
        binary->op ? loc(binary->op) : loc(ctx), op.value_or(BinaryOp::Add),
        buildExpr(exprs.size() > 0 ? exprs[0] : nullptr),
        buildExpr(exprs.size() > 1 ? exprs[1] : nullptr));
  }
  return nullptr;
}

ExprPtr ASTBuilder::buildIntLit(antlr4::tree::TerminalNode *node) {
  if (!node)
    return nullptr;
  std::optional<uint64_t> value =
      parseDigits(node->getText(),
                  static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
  if (!value) {
    diags.error(loc(node), "integer literal is too large");
    return std::make_unique<IntLitExpr>(loc(node), 0);
  }
  return std::make_unique<IntLitExpr>(loc(node), static_cast<int64_t>(*value));
}

ExprPtr ASTBuilder::buildFloatLit(antlr4::tree::TerminalNode *node) {
  if (!node)
    return nullptr;
  double value = std::strtod(node->getText().c_str(), nullptr);
  if (std::isinf(value))
    diags.error(loc(node), "floating-point literal is too large");
  return std::make_unique<FloatLitExpr>(loc(node), value);
}

ExprPtr ASTBuilder::buildPrimary(P::PrimaryContext *ctx) {
  if (!ctx)
    return nullptr;
  if (auto *lit = dynamic_cast<P::IntLitContext *>(ctx))
    return buildIntLit(lit->INT());
  if (auto *lit = dynamic_cast<P::FloatLitContext *>(ctx))
    return buildFloatLit(lit->FLOAT());
  if (dynamic_cast<P::InfLitContext *>(ctx))
    return std::make_unique<FloatLitExpr>(
        loc(ctx), std::numeric_limits<double>::infinity());
  if (dynamic_cast<P::TrueLitContext *>(ctx))
    return std::make_unique<BoolLitExpr>(loc(ctx), true);
  if (dynamic_cast<P::FalseLitContext *>(ctx))
    return std::make_unique<BoolLitExpr>(loc(ctx), false);
  if (auto *reduce = dynamic_cast<P::ReduceContext *>(ctx)) {
    // ident '(' ident '<' extent (',' param)? ')' body
    std::vector<P::IdentContext *> idents = reduce->ident();
    std::vector<P::ExprContext *> exprs = reduce->expr();
    P::ExprContext *extent = exprs.size() > 0 ? exprs[0] : nullptr;
    P::ExprContext *param = exprs.size() > 2 ? exprs[1] : nullptr;
    P::ExprContext *body = exprs.size() > 1 ? exprs.back() : nullptr;
    P::IdentContext *index = idents.size() > 1 ? idents[1] : nullptr;
    return std::make_unique<ReduceExpr>(
        loc(ctx), identText(idents.empty() ? nullptr : idents[0]),
        identText(index), loc(index), buildExpr(extent), buildExpr(param),
        buildExpr(body));
  }
  if (auto *call = dynamic_cast<P::CallContext *>(ctx))
    return std::make_unique<CallExpr>(loc(ctx), identText(call->ident()),
                                      buildConstArgs(call->constArgs()),
                                      buildExprs(call->expr()));
  if (auto *name = dynamic_cast<P::NameRefContext *>(ctx))
    return std::make_unique<NameExpr>(loc(ctx), identText(name->ident()));
  if (auto *paren = dynamic_cast<P::ParenContext *>(ctx))
    return buildExpr(paren->expr());
  if (auto *group = dynamic_cast<P::GroupLitContext *>(ctx)) {
    std::vector<GroupLitExpr::Field> fields;
    for (P::GroupFieldContext *field : group->groupField()) {
      GroupLitExpr::Field f;
      f.loc = loc(field);
      f.name = identText(field->ident());
      f.value = buildExpr(field->expr());
      fields.push_back(std::move(f));
    }
    return std::make_unique<GroupLitExpr>(loc(ctx), std::move(fields));
  }
  if (auto *attend = dynamic_cast<P::AttendContext *>(ctx))
    return buildAttend(attend->attendExpr());
  if (auto *scan = dynamic_cast<P::ScanContext *>(ctx))
    return buildScan(scan->scanExpr());
  return nullptr;
}

std::vector<ConstArg> ASTBuilder::buildConstArgs(P::ConstArgsContext *ctx) {
  std::vector<ConstArg> result;
  if (!ctx)
    return result;
  for (P::ConstArgContext *arg : ctx->constArg()) {
    ConstArg ca;
    ca.loc = loc(arg);
    ca.name = identText(arg->ident());
    ca.value = buildExpr(arg->expr());
    result.push_back(std::move(ca));
  }
  return result;
}

ExprPtr ASTBuilder::buildAttend(P::AttendExprContext *ctx) {
  if (!ctx)
    return nullptr;
  P::IdentContext *index = ctx->ident();
  auto attend = std::make_unique<AttendExpr>(
      loc(ctx), identText(index), loc(index), buildExpr(ctx->expr()));

  // Each clause at most once; the first one written is kept.
  std::map<std::string, Location> seen;
  auto firstOfItsKind = [&](const char *name,
                            P::AttendClauseContext *clause) -> bool {
    auto [it, inserted] = seen.emplace(name, loc(clause));
    if (inserted)
      return true;
    diags.error(loc(clause),
                std::string("duplicate '") + name + "' clause in attend");
    diags.note(it->second,
               std::string("the first '") + name + "' clause is here");
    return false;
  };

  for (P::AttendClauseContext *clause : ctx->attendClause()) {
    if (auto *score = dynamic_cast<P::ScoreClauseContext *>(clause)) {
      if (firstOfItsKind("score", clause))
        attend->score = buildExpr(score->expr());
    } else if (auto *mask = dynamic_cast<P::MaskClauseContext *>(clause)) {
      if (firstOfItsKind("mask", clause))
        attend->mask = buildExpr(mask->expr());
    } else if (auto *value = dynamic_cast<P::ValueClauseContext *>(clause)) {
      if (firstOfItsKind("value", clause))
        attend->value = buildExpr(value->expr());
    } else if (auto *norm = dynamic_cast<P::NormalizeClauseContext *>(clause)) {
      if (!firstOfItsKind("normalize", clause))
        continue;
      P::NormalizerContext *n = norm->normalizer();
      Normalizer normalizer;
      normalizer.loc = n ? loc(n) : loc(clause);
      if (dynamic_cast<P::SoftmaxNormContext *>(n)) {
        normalizer.kind = Normalizer::Kind::Softmax;
      } else if (auto *sigmoid = dynamic_cast<P::SigmoidNormContext *>(n)) {
        normalizer.kind = Normalizer::Kind::Sigmoid;
        normalizer.bias = buildExpr(sigmoid->expr());
      } else if (dynamic_cast<P::SumNormContext *>(n)) {
        normalizer.kind = Normalizer::Kind::Sum;
      } else if (dynamic_cast<P::NoneNormContext *>(n)) {
        normalizer.kind = Normalizer::Kind::None;
      }
      attend->normalizer = std::move(normalizer);
      attend->hasNormalizer = true;
    }
  }
  return attend;
}

ExprPtr ASTBuilder::buildScan(P::ScanExprContext *ctx) {
  if (!ctx)
    return nullptr;
  // scan t < extent ('chunk' chunk)? { stmts }
  std::vector<P::ExprContext *> exprs = ctx->expr();
  P::IdentContext *index = ctx->ident();
  return std::make_unique<ScanExpr>(
      loc(ctx), identText(index), loc(index),
      buildExpr(exprs.size() > 0 ? exprs[0] : nullptr),
      buildExpr(exprs.size() > 1 ? exprs[1] : nullptr),
      buildStmts(ctx->stmt()));
}

//===----------------------------------------------------------------------===//
// Architectures
//===----------------------------------------------------------------------===//

Pipeline ASTBuilder::buildPipeline(P::PipelineContext *ctx) {
  Pipeline result;
  if (!ctx)
    return result;
  for (P::StageContext *stage : ctx->stage())
    if (StagePtr built = buildStage(stage))
      result.push_back(std::move(built));
  return result;
}

StagePtr ASTBuilder::buildStage(P::StageContext *ctx) {
  if (auto *residual = dynamic_cast<P::ResidualStageContext *>(ctx))
    return std::make_unique<ResidualStage>(loc(ctx),
                                           buildPipeline(residual->pipeline()));
  if (auto *repeat = dynamic_cast<P::RepeatStageContext *>(ctx))
    return std::make_unique<RepeatStage>(loc(ctx), buildExpr(repeat->expr()),
                                         buildPipeline(repeat->pipeline()));
  if (auto *seq = dynamic_cast<P::SeqStageContext *>(ctx)) {
    std::vector<Pipeline> parts;
    for (P::PipelineContext *part : seq->pipeline())
      parts.push_back(buildPipeline(part));
    return std::make_unique<SeqStage>(loc(ctx), std::move(parts));
  }
  if (auto *branch = dynamic_cast<P::BranchStageContext *>(ctx)) {
    std::vector<P::TermContext *> terms = branch->term();
    std::vector<Pipeline> branches;
    for (P::PipelineContext *part : branch->pipeline())
      branches.push_back(buildPipeline(part));
    return std::make_unique<BranchStage>(
        loc(ctx), buildTerm(terms.size() > 0 ? terms[0] : nullptr),
        std::move(branches), buildTerm(terms.size() > 1 ? terms[1] : nullptr));
  }
  if (auto *route = dynamic_cast<P::RouteStageContext *>(ctx)) {
    std::vector<P::PipelineContext *> parts = route->pipeline();
    auto part = [&](size_t i) {
      return buildPipeline(i < parts.size() ? parts[i] : nullptr);
    };
    return std::make_unique<RouteStage>(loc(ctx), part(0), part(1), part(2));
  }
  if (auto *term = dynamic_cast<P::TermStageContext *>(ctx))
    return std::make_unique<TermStage>(loc(ctx), buildTerm(term->term()));
  return nullptr;
}

Term ASTBuilder::buildTerm(P::TermContext *ctx) {
  Term term;
  term.loc = loc(ctx);
  if (!ctx)
    return term;
  term.name = identText(ctx->ident());
  term.constArgs = buildConstArgs(ctx->constArgs());
  term.hasParens = findTerminal(ctx, "(") != nullptr;
  term.args = buildExprs(ctx->expr());
  return term;
}
