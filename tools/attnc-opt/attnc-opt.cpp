//===- attnc-opt.cpp - The attnc optimizer driver -------------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// mlir-opt with the attn dialect: parses, verifies, runs passes on and
/// prints attn IR. Used by the lit tests under test/Dialect and later
/// test/Transforms and test/Conversion.
///
//===----------------------------------------------------------------------===//

#include "attnc/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::attnc::registerAllDialects(registry);
  mlir::attnc::registerAllExtensions(registry);
  mlir::attnc::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "attnc optimizer driver\n", registry));
}
