//===- EntryDescription.cpp - The entries of a library, as JSON -----------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// writeDescription: what NAME.h declares, for programs that call the
/// library without a C parser. Format 1:
///
///   {"format": 1, "library": "attn",
///    "error_codes": {"0": "ok", "1": "bad_size", ...},
///    "entries": [{"name": "f", "functions": {"dense": "f", "strided":
///                 "f_strided", ...},
///                 "sizes": ["B", "N"],
///                 "inputs":  [{"name": "x", "dtype": "f32",
///                              "shape": ["B", "N", 64]}],
///                 "outputs": [...]}]}
///
/// A shape lists one extent per dimension: an integer when it is a
/// compile-time constant, else its formula over the sizes as a string
/// (DimExpr::str: `N`, `2*N + 1`, `(N / 64)`). A rank-0 tensor is a scalar
/// (passed by value when it is an input). The order of `inputs`, `outputs`
/// and `sizes` is the order of the C arguments.
///
//===----------------------------------------------------------------------===//

#include "attnc/Target/CPU/EntryABI.h"

#include "RuntimeChecks.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir::attnc::cpu;

static llvm::json::Value describe(const ABITensor &t) {
  llvm::json::Array shape;
  for (const attnc::DimExpr &dim : t.shape) {
    if (std::optional<int64_t> c = dim.getConstant())
      shape.push_back(*c);
    else
      shape.push_back(dim.str());
  }
  return llvm::json::Object{{"name", t.name},
                            {"dtype", attnc::toString(t.elem)},
                            {"shape", std::move(shape)}};
}

std::string
mlir::attnc::cpu::writeDescription(const std::vector<EntrySignature> &entries,
                                   const std::string &libraryName) {
  llvm::json::Array described;
  for (const EntrySignature &entry : entries) {
    llvm::json::Array inputs, outputs, sizes;
    for (const ABITensor &t : entry.inputs)
      inputs.push_back(describe(t));
    for (const ABITensor &t : entry.outputs)
      outputs.push_back(describe(t));
    for (const std::string &size : entry.sizes)
      sizes.push_back(size);
    described.push_back(llvm::json::Object{
        {"name", entry.name},
        {"functions", llvm::json::Object{{"dense", entry.name},
                                         {"strided", entry.name + "_strided"},
                                         {"packed", entry.name + "_packed"},
                                         {"packed_strided",
                                          entry.name + "_packed_strided"}}},
        {"sizes", std::move(sizes)},
        {"inputs", std::move(inputs)},
        {"outputs", std::move(outputs)}});
  }
  // The codes of writeHeader's comment (EntryABI.cpp's enum).
  llvm::json::Object codes{{"0", "ok"},
                           {"1", "bad_size"},
                           {"2", "bad_stride"},
                           {std::to_string(kCheckFailedCode), "check_failed"}};
  llvm::json::Value root =
      llvm::json::Object{{"format", 1},
                         {"library", libraryName},
                         {"error_codes", std::move(codes)},
                         {"entries", std::move(described)}};
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", root) << "\n";
  return text;
}
