//===- AttnDialect.h - The attn dialect -------------------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Declares the attn dialect and its attributes (the normalizer enum).
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_DIALECTS_ATTN_ATTNDIALECT_H
#define ATTNC_DIALECTS_ATTN_ATTNDIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"

#include "dialects/Attn/AttnDialect.h.inc"
#include "dialects/Attn/AttnEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Attn/AttnAttrs.h.inc"

#endif // ATTNC_DIALECTS_ATTN_ATTNDIALECT_H
