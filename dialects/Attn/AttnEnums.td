//===- AttnEnums.td - Enumerations of the attn dialect -----*- tablegen -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef ATTNC_DIALECT_ATTN_ATTNENUMS_TD
#define ATTNC_DIALECT_ATTN_ATTNENUMS_TD

include "mlir/IR/EnumAttr.td"
include "dialects/Attn/AttnDialect.td"

//===----------------------------------------------------------------------===//
// Normalizer
//===----------------------------------------------------------------------===//

def Attn_NormalizerSoftmax : I32EnumAttrCase<"Softmax", 0, "softmax">;
def Attn_NormalizerSigmoid : I32EnumAttrCase<"Sigmoid", 1, "sigmoid">;
def Attn_NormalizerSum : I32EnumAttrCase<"Sum", 2, "sum">;
def Attn_NormalizerNone : I32EnumAttrCase<"None", 3, "none">;

def Attn_Normalizer : I32EnumAttr<"Normalizer",
    "how attention turns scores into weights",
    [Attn_NormalizerSoftmax, Attn_NormalizerSigmoid, Attn_NormalizerSum,
     Attn_NormalizerNone]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::attnc::attn";
}

/// Printed as a bare keyword in ops (`softmax`) and as
/// `#attn<normalizer softmax>` in the generic form.
def Attn_NormalizerAttr : EnumAttr<Attn_Dialect, Attn_Normalizer,
                                   "normalizer">;

#endif // ATTNC_DIALECT_ATTN_ATTNENUMS_TD
