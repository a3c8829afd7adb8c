//===- Attn.g4 - Grammar of the attnc language -------------*- antlr -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
//
// The attnc language: functions of tensor statements in index notation with
// `attend` and `scan` as first-class expressions, and einspace-style
// architecture definitions. docs/Language.md is the reference;
// docs/Rationale/Language.md says why it looks the way it does.
//
// Newlines are insignificant: statements and clauses start with a name or a
// keyword, so they need no separator. `;` is accepted between them.
//
//===----------------------------------------------------------------------===//

grammar Attn;

file : topDecl* EOF ;

topDecl
  : importDecl
  | constDecl
  | typeDecl
  | fnDecl
  | blockDecl
  | archDecl
  | ';'
  ;

importDecl : 'import' STRING ;

constDecl : 'const' ident '=' expr ;

// A named group type, e.g. `type Mlp = { W1: f32[Hid, D], W2: f32[D, Hid] }`.
// Dimension names are resolved where the alias is used.
typeDecl : 'type' ident '=' type ;

//===----------------------------------------------------------------------===//
// Functions
//===----------------------------------------------------------------------===//

fnDecl
  : 'fn' ident constParams? '(' params? ')' ( '{' stmt* '}' | '=' expr )
  ;

constParams : '<' constParam (',' constParam)* '>' ;
constParam : ident ('=' constValue)? ;
constValue : '-'? (INT | FLOAT) ;

params : paramGroup (',' paramGroup)* ;
// `q, k, v: f32[B, H, N, D]` declares three parameters of one type.
paramGroup : ident (',' ident)* ':' type ;

type
  : ELEMTYPE ('[' (dimList)? ']')?                  # TensorType
  | '{' groupMember (',' groupMember)* ','? '}'     # GroupType
  | ident                                           # NamedType
  ;
dimList : expr (',' expr)* ;
groupMember : ident ':' type ;

stmt
  : ident '[' indexDecl (',' indexDecl)* ']' '=' expr  # IndexedDef
  | ident (',' ident)* '=' expr                           # Let
  | 'state' ident ':' type '=' expr                    # StateDecl
  | 'emit' expr                                     # Emit
  | 'return' expr (',' expr)*                       # Return
  | ';'                                             # EmptyStmt
  ;

// An index on the left of a definition; its extent is inferred from the
// subscripts it appears in unless written, as in `x[b, I < N / BS]`.
indexDecl : ident ('<' expr)? ;

//===----------------------------------------------------------------------===//
// Expressions (lowest precedence last among the binary forms)
//===----------------------------------------------------------------------===//

expr
  : primary                                                   # PrimaryExpr
  | expr '[' expr (',' expr)* ']'                             # Subscript
  | expr '.' ident                                               # Member
  | <assoc = right> expr '^' expr                             # Power
  | op = ('-' | '!') expr                                     # Unary
  | expr op = ('*' | '/' | '%' | '@') expr                    # Binary
  | expr op = ('+' | '-') expr                                # Binary
  | expr op = ('<' | '<=' | '>' | '>=' | '==' | '!=') expr    # Binary
  | expr op = '&&' expr                                       # Binary
  | expr op = '||' expr                                       # Binary
  ;

primary
  : INT                                                       # IntLit
  | FLOAT                                                     # FloatLit
  | 'inf'                                                     # InfLit
  | 'true'                                                    # TrueLit
  | 'false'                                                   # FalseLit
  // `sum(j < N) body`: the body extends as far to the right as possible, like
  // the body of a lambda (Σ_j a_j b_j is `sum(j < N) a[j] * b[j]`). Listed
  // before Call so that `max(j < N) x` is a reduction, not a call.
  | ident '(' ident '<' expr (',' expr)? ')' expr             # Reduce
  | ident constArgs? '(' (expr (',' expr)*)? ')'              # Call
  | ident                                                     # NameRef
  | '(' expr ')'                                              # Paren
  | '{' groupField (',' groupField)* ','? '}'                 # GroupLit
  | attendExpr                                                # Attend
  | scanExpr                                                  # Scan
  ;

constArgs : '<' constArg (',' constArg)* '>' ;
constArg : (ident '=')? expr ;

groupField : ident ':' expr ;

attendExpr : 'attend' ident '<' expr '{' attendClause* '}' ;

attendClause
  : 'score' expr                          # ScoreClause
  | 'mask' expr                           # MaskClause
  | 'normalize' normalizer                # NormalizeClause
  | 'value' expr                          # ValueClause
  | ';'                                   # EmptyClause
  ;

normalizer
  : 'softmax'                             # SoftmaxNorm
  | 'sigmoid' ('(' 'bias' '=' expr ')')?  # SigmoidNorm
  | 'sum'                                 # SumNorm
  | 'none'                                # NoneNorm
  ;

scanExpr : 'scan' ident '<' expr ('chunk' expr)? '{' stmt* '}' ;

//===----------------------------------------------------------------------===//
// Architectures (einspace productions)
//===----------------------------------------------------------------------===//

blockDecl : 'block' ident constParams? '{' pipeline '}' ;

archDecl : 'arch' ident constParams? '(' params ')' '{' pipeline '}' ;

// Stages run one after the other; `->` between them is optional.
pipeline : stage ('->'? stage)* ;

stage
  : 'residual' '{' pipeline '}'                                      # ResidualStage
  | 'repeat' '(' expr ')' '{' pipeline '}'                           # RepeatStage
  | 'seq' '(' pipeline (',' pipeline)* ')'                           # SeqStage
  | 'branch' '(' term ',' '[' pipeline (',' pipeline)* ']' ',' term ')' # BranchStage
  | 'route' '(' pipeline ',' pipeline ',' pipeline ')'               # RouteStage
  | term                                                             # TermStage
  ;

// A computation terminal (`linear(D)`), a block use (`layer<D, 8>`), a
// function applied as a layer, or a fan-out/combiner inside `branch`.
term : ident constArgs? ('(' (expr (',' expr)*)? ')')? ;

// Words that are keywords only where they start a clause or a stage stay
// usable as names elsewhere (`sum(x)`, `softmax` as a layer, `value = ...`).
ident
  : ID | 'sum' | 'softmax' | 'sigmoid' | 'none' | 'bias' | 'score' | 'mask'
  | 'normalize' | 'value' | 'chunk' | 'residual' | 'repeat' | 'seq' | 'branch'
  | 'route'
  ;

//===----------------------------------------------------------------------===//
// Lexer
//===----------------------------------------------------------------------===//

ELEMTYPE : 'f16' | 'bf16' | 'f32' | 'f64' | 'i1' | 'i32' | 'i64' ;
ID : [a-zA-Z_] [a-zA-Z_0-9]* ;
INT : [0-9]+ ;
FLOAT : [0-9]+ '.' [0-9]* EXPONENT? | '.' [0-9]+ EXPONENT? | [0-9]+ EXPONENT ;
fragment EXPONENT : [eE] [+-]? [0-9]+ ;
STRING : '"' (~["\\\r\n] | '\\' .)* '"' ;

COMMENT : ('#' | '//') ~[\r\n]* -> skip ;
WS : [ \t\r\n]+ -> skip ;

// Anything else becomes a token of its own so the parser reports it with its
// position instead of the lexer printing to stderr.
ERRCHAR : . ;
