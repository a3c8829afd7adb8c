//===- AttnOps.h - Operations of the attn dialect ---------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Declares the ops of the attn dialect (generated from AttnOps.td).
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_DIALECTS_ATTN_ATTNOPS_H
#define ATTNC_DIALECTS_ATTN_ATTNOPS_H

#include "dialects/Attn/AttnDialect.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialects/Attn/AttnOps.h.inc"

#endif // ATTNC_DIALECTS_ATTN_ATTNOPS_H
