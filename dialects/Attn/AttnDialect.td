//===- AttnDialect.td - The attn dialect -------------------*- tablegen -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
//
// The `attn` dialect and the base class of its ops.
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_DIALECT_ATTN_ATTNDIALECT_TD
#define ATTNC_DIALECT_ATTN_ATTNDIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Attn_Dialect : Dialect {
  let name = "attn";
  let cppNamespace = "::mlir::attnc::attn";
  let summary = "High-level attention and sequence-model operations";
  let description = [{
    The `attn` dialect holds the operations that the attnc front end emits for
    the constructs of the DSL that are more than dense tensor algebra:
    attention with score and mask functions (`attn.attention`), sequential
    scans over time (`attn.scan`), selection (`attn.topk`, `attn.topp`,
    `attn.argmax`), `attn.gather`, `attn.pool`, the causal depthwise
    `attn.conv1d` and reverse-mode gradients (`attn.grad`). Everything else
    is expressed with upstream `linalg`, `tensor`, `arith` and `math`.

    All operations have tensor (value) semantics.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
  let useDefaultAttributePrinterParser = 1;
}

/// Base class of attn ops: every op is Pure unless it says otherwise.
class Attn_Op<string mnemonic, list<Trait> traits = []>
    : Op<Attn_Dialect, mnemonic, !listconcat(traits, [Pure])>;

/// Base class of attn ops with regions: their effects and speculatability
/// are those of the ops in their regions (which are normally pure), as for
/// scf.for.
class Attn_RegionOp<string mnemonic, list<Trait> traits = []>
    : Op<Attn_Dialect, mnemonic,
         !listconcat(traits, [RecursiveMemoryEffects,
                              RecursivelySpeculatable])>;

#endif // ATTNC_DIALECT_ATTN_ATTNDIALECT_TD
