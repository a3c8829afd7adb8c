//===- ASTPrinter.h - Readable dumps of the AST -----------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Two stable text forms of a module: the full tree (`attnc emit --emit=ast`),
/// one node per line with its position and, once checked, its type; and a
/// summary of each definition with its inferred signature and the shapes of
/// the tensors it defines (`attnc check --print-shapes`).
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_FRONTEND_ASTPRINTER_H
#define ATTNC_FRONTEND_ASTPRINTER_H

#include "attnc/Frontend/AST.h"

#include <string>

namespace attnc {

/// The full tree, e.g.
///   FnDecl causal @r01.attn:5:1 consts=[H=8, D=64]
///     Param q : f32[B, 8, N, 64] @5:20
///     IndexedDef out[b, h, i] : f32[B, 8, N, 64] @6:3
///       Attend j < N @6:18
///         ...
std::string printAST(const Module &module);

/// One block per definition, e.g.
///   fn causal<H = 8, D = 64>(q: f32[B, 8, N, 64], ...) -> f32[B, 8, N, 64]
///     out: f32[B, 8, N, 64]
std::string printSignatures(const Module &module);

} // namespace attnc

#endif // ATTNC_FRONTEND_ASTPRINTER_H
