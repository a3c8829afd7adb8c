//===- ASTBuilder.h - Parse tree to AST -------------------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Private to lib/Frontend/Parse: turns the ANTLR parse tree of one file into
/// AST declarations. The tree is walked by hand through the typed accessors
/// of the generated contexts; no visitor return values (antlrcpp::Any) are
/// used, so a move to ANTLR 4.10+ does not touch this code.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_LIB_FRONTEND_PARSE_ASTBUILDER_H
#define ATTNC_LIB_FRONTEND_PARSE_ASTBUILDER_H

#include "attnc/Frontend/AST.h"
#include "attnc/Frontend/Diagnostic.h"

#include "AttnParser.h"

#include <string>
#include <vector>

namespace attnc {
namespace parse {

/// An `import "path"` statement: the path as written (unescaped) and where
/// the statement is.
struct ImportRequest {
  Location loc;
  std::string path;
};

/// Builds the declarations of one file. The builder is null-safe: after a
/// syntax error ANTLR's recovery can leave contexts without some children,
/// and the builder then produces partial nodes (the caller discards them
/// because an error was reported).
///
/// The builder recurses on the tree; the caller must have bounded the
/// nesting depth of the tree first (see Parse.cpp).
class ASTBuilder {
public:
  ASTBuilder(std::string file, DiagnosticEngine &diags)
      : file(std::move(file)), diags(diags) {}

  /// Builds every declaration of `ctx`, in order, into `decls` and every
  /// import into `imports`.
  void buildFile(grammar::AttnParser::FileContext *ctx);

  std::vector<DeclPtr> decls;
  std::vector<ImportRequest> imports;

private:
  using P = grammar::AttnParser;

  Location loc(antlr4::Token *token) const;
  Location loc(antlr4::ParserRuleContext *ctx) const;
  Location loc(antlr4::tree::TerminalNode *node) const;
  std::string identText(P::IdentContext *ctx) const;

  // Declarations.
  void buildTopDecl(P::TopDeclContext *ctx);
  DeclPtr buildConstDecl(P::ConstDeclContext *ctx);
  DeclPtr buildTypeDecl(P::TypeDeclContext *ctx);
  DeclPtr buildFnDecl(P::FnDeclContext *ctx);
  DeclPtr buildBlockDecl(P::BlockDeclContext *ctx);
  DeclPtr buildArchDecl(P::ArchDeclContext *ctx);
  std::vector<ConstParam> buildConstParams(P::ConstParamsContext *ctx);
  std::optional<ConstValue> buildConstValue(P::ConstValueContext *ctx);
  std::vector<Param> buildParams(P::ParamsContext *ctx);

  // Types.
  TypeExprPtr buildType(P::TypeContext *ctx);

  // Statements.
  StmtPtr buildStmt(P::StmtContext *ctx);
  std::vector<StmtPtr> buildStmts(const std::vector<P::StmtContext *> &ctxs);

  // Expressions.
  ExprPtr buildExpr(P::ExprContext *ctx);
  ExprPtr buildPrimary(P::PrimaryContext *ctx);
  ExprPtr buildIntLit(antlr4::tree::TerminalNode *node);
  ExprPtr buildFloatLit(antlr4::tree::TerminalNode *node);
  ExprPtr buildAttend(P::AttendExprContext *ctx);
  ExprPtr buildScan(P::ScanExprContext *ctx);
  std::vector<ConstArg> buildConstArgs(P::ConstArgsContext *ctx);
  std::vector<ExprPtr> buildExprs(const std::vector<P::ExprContext *> &ctxs);

  // Architectures.
  Pipeline buildPipeline(P::PipelineContext *ctx);
  StagePtr buildStage(P::StageContext *ctx);
  Term buildTerm(P::TermContext *ctx);

  std::string file;
  DiagnosticEngine &diags;
};

} // namespace parse
} // namespace attnc

#endif // ATTNC_LIB_FRONTEND_PARSE_ASTBUILDER_H
