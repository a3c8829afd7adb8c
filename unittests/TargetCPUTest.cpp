//===- TargetCPUTest.cpp - Tests of the CPU code generation ---------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
//
// End to end through lib/Target/CPU: a tensor-level function with dynamic
// sizes (an scf.forall over rows, then a row softmax) is lowered to the LLVM
// dialect, compiled to an object, linked into a .so in a temporary
// directory, dlopen'ed and called through its `_mlir_ciface_` wrapper; the
// numbers are compared with a plain C++ computation. With and without
// OpenMP.
//
//===----------------------------------------------------------------------===//

#include "attnc/Target/CPU/Linker.h"
#include "attnc/Target/CPU/ObjectEmitter.h"
#include "attnc/Target/CPU/Pipeline.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <dlfcn.h>
#include <string>
#include <vector>

using namespace mlir;

namespace {

/// out = softmax(exp(in), dim 1), the exp computed row by row in an
/// scf.forall.
constexpr const char *kernelSource = R"mlir(
func.func @kernel(%in: memref<?x?xf32>, %out: memref<?x?xf32>)
    attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %t = bufferization.to_tensor %in restrict : memref<?x?xf32> to tensor<?x?xf32>
  %m = tensor.dim %t, %c0 : tensor<?x?xf32>
  %n = tensor.dim %t, %c1 : tensor<?x?xf32>
  %e = tensor.empty(%m, %n) : tensor<?x?xf32>
  %x = scf.forall (%i) in (%m) shared_outs(%acc = %e) -> tensor<?x?xf32> {
    %row = tensor.extract_slice %t[%i, 0] [1, %n] [1, 1]
        : tensor<?x?xf32> to tensor<1x?xf32>
    %init = tensor.empty(%n) : tensor<1x?xf32>
    %r = linalg.map { math.exp } ins(%row : tensor<1x?xf32>)
        outs(%init : tensor<1x?xf32>)
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %r into %acc[%i, 0] [1, %n] [1, 1]
          : tensor<1x?xf32> into tensor<?x?xf32>
    }
  }
  %e2 = tensor.empty(%m, %n) : tensor<?x?xf32>
  %s = linalg.softmax dimension(1) ins(%x : tensor<?x?xf32>)
      outs(%e2 : tensor<?x?xf32>) -> tensor<?x?xf32>
  bufferization.materialize_in_destination %s in restrict writable %out
      : (tensor<?x?xf32>, memref<?x?xf32>) -> ()
  return
}
)mlir";

/// The descriptor of a memref<?x?xf32> (the C interface's struct).
struct MemRef2D {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
};

MemRef2D makeMemRef(std::vector<float> &data, int64_t rows, int64_t cols) {
  return {data.data(), data.data(), 0, {rows, cols}, {cols, 1}};
}

class TargetCPUTest : public ::testing::Test {
protected:
  void SetUp() override {
    DialectRegistry registry;
    // Only upstream dialects: the input has no attn ops.
    registry.insert<arith::ArithDialect, bufferization::BufferizationDialect,
                    func::FuncDialect, linalg::LinalgDialect, math::MathDialect,
                    memref::MemRefDialect, scf::SCFDialect,
                    tensor::TensorDialect>();
    arith::registerBufferizableOpInterfaceExternalModels(registry);
    bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(
        registry);
    linalg::registerBufferizableOpInterfaceExternalModels(registry);
    scf::registerBufferizableOpInterfaceExternalModels(registry);
    tensor::registerBufferizableOpInterfaceExternalModels(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
    ASSERT_FALSE(
        llvm::sys::fs::createUniqueDirectory("attnc-target-cpu", tmpDir));
  }
  void TearDown() override {
    if (!tmpDir.empty())
      llvm::sys::fs::remove_directories(tmpDir);
  }

  /// Parses the kernel and lowers it to the LLVM dialect.
  OwningOpRef<ModuleOp> lower(bool parallel) {
    OwningOpRef<ModuleOp> module =
        parseSourceString<ModuleOp>(kernelSource, &context);
    if (!module)
      return nullptr;
    PassManager pm(&context);
    attnc::cpu::LowerToLLVMOptions opts;
    opts.parallel = parallel;
    attnc::cpu::buildLowerToLLVMPipeline(pm, opts);
    if (failed(pm.run(*module)))
      return nullptr;
    return module;
  }

  /// Lowers, compiles, links and runs the kernel on a rows x cols input and
  /// checks it against the reference.
  void runAndCheck(bool parallel, int64_t rows, int64_t cols) {
    OwningOpRef<ModuleOp> module = lower(parallel);
    ASSERT_TRUE(module);
    SmallVector<char> object;
    std::string error;
    ASSERT_TRUE(succeeded(attnc::cpu::emitObjectFile(
        *module, attnc::cpu::CodegenOptions(), object, error)))
        << error;
    ASSERT_FALSE(object.empty());

    llvm::SmallString<128> soPath(tmpDir);
    llvm::sys::path::append(soPath,
                            parallel ? "kernel-omp.so" : "kernel-seq.so");
    ASSERT_TRUE(succeeded(attnc::cpu::linkSharedLibrary(
        object, soPath, /*openmp=*/parallel, error)))
        << error;

    void *handle = dlopen(soPath.c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle, nullptr) << dlerror();
    using KernelFn = void (*)(MemRef2D *, MemRef2D *);
    auto fn = reinterpret_cast<KernelFn>(dlsym(handle, "_mlir_ciface_kernel"));
    ASSERT_NE(fn, nullptr) << dlerror();
    // Without OpenMP nothing may need the OpenMP runtime.
    if (!parallel)
      EXPECT_EQ(dlsym(handle, "__kmpc_fork_call"), nullptr);

    std::vector<float> in(rows * cols), out(rows * cols, -1.0f);
    for (int64_t i = 0; i < rows * cols; ++i)
      in[i] = std::sin(0.37f * static_cast<float>(i)) * 1.5f;
    MemRef2D inDesc = makeMemRef(in, rows, cols);
    MemRef2D outDesc = makeMemRef(out, rows, cols);
    fn(&inDesc, &outDesc);

    for (int64_t i = 0; i < rows; ++i) {
      std::vector<double> x(cols);
      double maxX = -INFINITY, sum = 0.0;
      for (int64_t j = 0; j < cols; ++j) {
        x[j] = std::exp(static_cast<double>(in[i * cols + j]));
        maxX = std::max(maxX, x[j]);
      }
      for (int64_t j = 0; j < cols; ++j)
        sum += std::exp(x[j] - maxX);
      for (int64_t j = 0; j < cols; ++j)
        ASSERT_NEAR(out[i * cols + j], std::exp(x[j] - maxX) / sum, 1e-5)
            << "at (" << i << ", " << j << "), parallel=" << parallel;
    }
    dlclose(handle);
  }

  MLIRContext context;
  llvm::SmallString<128> tmpDir;
};

TEST_F(TargetCPUTest, LowersToLLVMDialectOnly) {
  OwningOpRef<ModuleOp> module = lower(/*parallel=*/true);
  ASSERT_TRUE(module);
  bool onlyLLVM = true;
  module->walk([&](Operation *op) {
    StringRef ns = op->getDialect() ? op->getDialect()->getNamespace() : "";
    if (op != module->getOperation() && ns != "llvm" && ns != "omp")
      onlyLLVM = false;
  });
  EXPECT_TRUE(onlyLLVM);
}

TEST_F(TargetCPUTest, SequentialMatchesReference) {
  runAndCheck(/*parallel=*/false, 37, 53);
}

TEST_F(TargetCPUTest, OpenMPMatchesReference) {
  runAndCheck(/*parallel=*/true, 37, 53);
  runAndCheck(/*parallel=*/true, 1, 1);
}

TEST_F(TargetCPUTest, EmitsOptimizedLLVMIR) {
  OwningOpRef<ModuleOp> module = lower(/*parallel=*/true);
  ASSERT_TRUE(module);
  std::string text, error;
  attnc::cpu::CodegenOptions opts;
  opts.cpu = "x86-64-v3";
  ASSERT_TRUE(succeeded(attnc::cpu::emitLLVMIRText(*module, opts, text, error)))
      << error;
  EXPECT_NE(text.find("define void @_mlir_ciface_kernel"), std::string::npos);
  EXPECT_NE(text.find("__kmpc_fork_call"), std::string::npos);
  EXPECT_NE(text.find("\"target-cpu\"=\"x86-64-v3\""), std::string::npos);
}

TEST_F(TargetCPUTest, RejectsUnknownCPU) {
  OwningOpRef<ModuleOp> module = lower(/*parallel=*/false);
  ASSERT_TRUE(module);
  SmallVector<char> object;
  std::string error;
  attnc::cpu::CodegenOptions opts;
  opts.cpu = "no-such-cpu";
  EXPECT_TRUE(failed(attnc::cpu::emitObjectFile(*module, opts, object, error)));
  EXPECT_NE(error.find("no-such-cpu"), std::string::npos);
}

TEST_F(TargetCPUTest, LinkFailureLeavesNoOutput) {
  llvm::SmallString<128> soPath(tmpDir);
  llvm::sys::path::append(soPath, "bad.so");
  std::string error;
  const char bogus[] = "not an object file";
  EXPECT_TRUE(failed(attnc::cpu::linkSharedLibrary(
      ArrayRef<char>(bogus, sizeof(bogus)), soPath, false, error)));
  EXPECT_NE(error.find("link command failed"), std::string::npos) << error;
  EXPECT_FALSE(llvm::sys::fs::exists(soPath));
  // No temporary left behind next to the output either.
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(tmpDir, ec), end; it != end && !ec;
       it.increment(ec))
    ADD_FAILURE() << "left behind: " << it->path();
}

} // namespace
