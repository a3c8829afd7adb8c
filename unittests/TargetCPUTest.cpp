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
// OpenMP. Then the C interface of an entry (EntryABI.h): its four
// functions, strided views read and written in place, the error codes, and
// the header text.
//
//===----------------------------------------------------------------------===//

#include "attnc/Target/CPU/EntryABI.h"
#include "attnc/Target/CPU/Linker.h"
#include "attnc/Target/CPU/ObjectEmitter.h"
#include "attnc/Target/CPU/Pipeline.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Func/Extensions/InlinerExtension.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
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
#include "mlir/Transforms/Passes.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <gtest/gtest.h>

#include <algorithm>
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
    // The inliner that the C entry test runs, as attnc build does.
    func::registerInlinerExtension(registry);
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
    mlir::attnc::cpu::LowerToLLVMOptions opts;
    opts.parallel = parallel;
    mlir::attnc::cpu::buildLowerToLLVMPipeline(pm, opts);
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
    ASSERT_TRUE(succeeded(mlir::attnc::cpu::emitObjectFile(
        *module, mlir::attnc::cpu::CodegenOptions(), object, error)))
        << error;
    ASSERT_FALSE(object.empty());

    llvm::SmallString<128> soPath(tmpDir);
    llvm::sys::path::append(soPath,
                            parallel ? "kernel-omp.so" : "kernel-seq.so");
    ASSERT_TRUE(succeeded(mlir::attnc::cpu::linkSharedLibrary(
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
  mlir::attnc::cpu::CodegenOptions opts;
  opts.cpu = "x86-64-v3";
  ASSERT_TRUE(
      succeeded(mlir::attnc::cpu::emitLLVMIRText(*module, opts, text, error)))
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
  mlir::attnc::cpu::CodegenOptions opts;
  opts.cpu = "no-such-cpu";
  EXPECT_TRUE(
      failed(mlir::attnc::cpu::emitObjectFile(*module, opts, object, error)));
  EXPECT_NE(error.find("no-such-cpu"), std::string::npos);
}

TEST(MicroKernelVectorsTest, FollowsTheVectorRegisters) {
  using mlir::attnc::cpu::CodegenOptions;
  using mlir::attnc::cpu::microKernelVectors;
  auto of = [](std::string cpu, std::string features = "") {
    CodegenOptions opts;
    opts.cpu = std::move(cpu);
    opts.features = std::move(features);
    return microKernelVectors(opts);
  };
  EXPECT_EQ(of("x86-64-v4"), 2);
  EXPECT_EQ(of("skylake-avx512"), 2);
  EXPECT_EQ(of("x86-64-v3"), 1);
  EXPECT_EQ(of("haswell"), 1);
  EXPECT_EQ(of("skylake-avx512", "-avx512f"), 1);
  EXPECT_EQ(of("no-such-cpu"), 1);
  // The host: 2 exactly when it has AVX-512.
  EXPECT_EQ(of("native"),
            llvm::sys::getHostCPUFeatures().lookup("avx512f") ? 2 : 1);
}

TEST_F(TargetCPUTest, LinkFailureLeavesNoOutput) {
  llvm::SmallString<128> soPath(tmpDir);
  llvm::sys::path::append(soPath, "bad.so");
  std::string error;
  const char bogus[] = "not an object file";
  EXPECT_TRUE(failed(mlir::attnc::cpu::linkSharedLibrary(
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

namespace {

/// y = x + x on an N x 4 tensor, exported through the C interface.
constexpr const char *entrySource = R"mlir(
func.func @twice(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x4xf32>
  %e = tensor.empty(%n) : tensor<?x4xf32>
  %y = linalg.map ins(%x : tensor<?x4xf32>) outs(%e : tensor<?x4xf32>)
    (%a: f32, %unused: f32) {
      %s = arith.addf %a, %a : f32
      linalg.yield %s : f32
    }
  return %y : tensor<?x4xf32>
}
)mlir";

// The four C functions of an entry: the dense one and the strided one share
// the lowered body; the strided one reads a row slice of a wider buffer and
// writes a transposed-stride output in place, and rejects bad strides.
TEST_F(TargetCPUTest, StridedEntryUsesViewsInPlace) {
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(entrySource, &context);
  ASSERT_TRUE(module);
  mlir::attnc::cpu::EntrySignature entry;
  entry.name = "twice";
  std::vector<::attnc::DimExpr> shape = {::attnc::DimExpr::symbol("N"),
                                         ::attnc::DimExpr::constant(4)};
  entry.inputs.push_back({"x", ::attnc::ElemType::F32, shape});
  entry.outputs.push_back({"y", ::attnc::ElemType::F32, shape});
  entry.sizes = {"N"};
  ASSERT_TRUE(
      succeeded(mlir::attnc::cpu::addDestinationPassingEntry(*module, entry)));
  // The destination-passing entry takes the C interface's layout.
  auto impl = module->lookupSymbol<func::FuncOp>("__attnc_twice");
  ASSERT_TRUE(impl);
  std::string type;
  llvm::raw_string_ostream(type) << impl.getFunctionType();
  EXPECT_EQ(type, "(memref<?x4xf32, strided<[?, 1], offset: ?>>, "
                  "memref<?x4xf32, strided<[?, 1], offset: ?>>) -> ()");

  PassManager pm(&context);
  pm.addPass(createInlinerPass());
  pm.addPass(createSymbolDCEPass());
  mlir::attnc::cpu::LowerToLLVMOptions opts;
  opts.parallel = false;
  mlir::attnc::cpu::buildLowerToLLVMPipeline(pm, opts);
  ASSERT_TRUE(succeeded(pm.run(*module)));
  ASSERT_TRUE(succeeded(mlir::attnc::cpu::addCWrappers(*module, entry)));
  for (const char *name :
       {"twice", "twice_packed", "twice_strided", "twice_packed_strided"})
    EXPECT_TRUE(module->lookupSymbol<LLVM::LLVMFuncOp>(name)) << name;
  // (x, x_strides, y, y_strides, N) and (tensors, strides, sizes).
  EXPECT_EQ(
      module->lookupSymbol<LLVM::LLVMFuncOp>("twice_strided").getNumArguments(),
      5u);
  EXPECT_EQ(module->lookupSymbol<LLVM::LLVMFuncOp>("twice_packed_strided")
                .getNumArguments(),
            3u);

  SmallVector<char> object;
  std::string error;
  ASSERT_TRUE(succeeded(mlir::attnc::cpu::emitObjectFile(
      *module, mlir::attnc::cpu::CodegenOptions(), object, error)))
      << error;
  llvm::SmallString<128> soPath(tmpDir);
  llvm::sys::path::append(soPath, "twice.so");
  ASSERT_TRUE(succeeded(mlir::attnc::cpu::linkSharedLibrary(
      object, soPath, /*openmp=*/false, error)))
      << error;
  void *handle = dlopen(soPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  using DenseFn = int32_t (*)(const float *, float *, int64_t);
  using StridedFn = int32_t (*)(const float *, const int64_t *, float *,
                                const int64_t *, int64_t);
  using PackedStridedFn =
      int32_t (*)(void *const *, const int64_t *const *, const int64_t *);
  auto dense = reinterpret_cast<DenseFn>(dlsym(handle, "twice"));
  auto strided = reinterpret_cast<StridedFn>(dlsym(handle, "twice_strided"));
  auto packedStrided =
      reinterpret_cast<PackedStridedFn>(dlsym(handle, "twice_packed_strided"));
  ASSERT_TRUE(dense && strided && packedStrided);

  // x: rows 1..3 (N = 3) of a 5 x 8 buffer, columns 2..5: base at [1][2],
  // strides {8, 1}.
  std::vector<float> wide(5 * 8);
  for (size_t i = 0; i < wide.size(); ++i)
    wide[i] = static_cast<float>(i);
  const float *x = wide.data() + 1 * 8 + 2;
  const int64_t xStrides[2] = {8, 1};
  // y: a 3 x 4 result in rows of 6 (a padded buffer).
  std::vector<float> y(3 * 6, -1.0f);
  const int64_t yStrides[2] = {6, 1};
  ASSERT_EQ(strided(x, xStrides, y.data(), yStrides, 3), 0);
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 6; ++j)
      EXPECT_EQ(y[i * 6 + j], j < 4 ? 2.0f * x[i * 8 + j] : -1.0f)
          << "at (" << i << ", " << j << ")";

  // The dense entry and NULL strides: dense row-major.
  std::vector<float> denseX(3 * 4), denseY(3 * 4), nullY(3 * 4);
  for (size_t i = 0; i < denseX.size(); ++i)
    denseX[i] = 0.5f * static_cast<float>(i);
  ASSERT_EQ(dense(denseX.data(), denseY.data(), 3), 0);
  void *tensors[2] = {denseX.data(), nullY.data()};
  const int64_t *strides[2] = {nullptr, nullptr};
  const int64_t sizes[1] = {3};
  ASSERT_EQ(packedStrided(tensors, strides, sizes), 0);
  for (size_t i = 0; i < denseX.size(); ++i) {
    EXPECT_EQ(denseY[i], 2.0f * denseX[i]);
    EXPECT_EQ(nullY[i], 2.0f * denseX[i]);
  }

  // Broadcast input row (stride 0): fine. Output rows on one row, an
  // innermost stride of 2 or a negative stride: error 2, nothing written.
  const int64_t broadcast[2] = {0, 1};
  ASSERT_EQ(strided(denseX.data(), broadcast, y.data(), yStrides, 3), 0);
  EXPECT_EQ(y[2 * 6 + 3], 2.0f * denseX[3]);
  std::fill(y.begin(), y.end(), -1.0f);
  const int64_t inner2[2] = {8, 2}, negative[2] = {-4, 1};
  EXPECT_EQ(strided(x, xStrides, y.data(), broadcast, 3), 2);
  EXPECT_EQ(strided(x, inner2, y.data(), yStrides, 3), 2);
  EXPECT_EQ(strided(x, negative, y.data(), yStrides, 3), 2);
  EXPECT_EQ(strided(x, xStrides, y.data(), yStrides, -1), 1);
  for (float v : y)
    EXPECT_EQ(v, -1.0f);
  // With one row, a zero output stride writes nothing twice: allowed.
  EXPECT_EQ(strided(x, xStrides, y.data(), broadcast, 1), 0);
  dlclose(handle);
}

/// y = x * g and s = (on ? g + 1 : 0) on an N x 4 tensor: scalar inputs (f32,
/// i1) and a scalar result.
constexpr const char *scalarSource = R"mlir(
func.func @scaled(%x: tensor<?x4xf32>, %g: f32, %on: i1)
    -> (tensor<?x4xf32>, f32) {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x4xf32>
  %e = tensor.empty(%n) : tensor<?x4xf32>
  %y = linalg.map ins(%x : tensor<?x4xf32>) outs(%e : tensor<?x4xf32>)
    (%a: f32, %unused: f32) {
      %p = arith.mulf %a, %g : f32
      linalg.yield %p : f32
    }
  %one = arith.constant 1.0 : f32
  %zero = arith.constant 0.0 : f32
  %g1 = arith.addf %g, %one : f32
  %s = arith.select %on, %g1, %zero : f32
  return %y, %s : tensor<?x4xf32>, f32
}
)mlir";

// Scalar inputs are passed by value (in the packed forms, through their
// pointers), a scalar result through a pointer; a lowered entry that
// returns an i32 code (as the run-time checks make it) has its code
// returned by all four functions, after the size check.
TEST_F(TargetCPUTest, ScalarsByValueAndEntryCodes) {
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(scalarSource, &context);
  ASSERT_TRUE(module);
  mlir::attnc::cpu::EntrySignature entry;
  entry.name = "scaled";
  std::vector<::attnc::DimExpr> shape = {::attnc::DimExpr::symbol("N"),
                                         ::attnc::DimExpr::constant(4)};
  entry.inputs.push_back({"x", ::attnc::ElemType::F32, shape});
  entry.inputs.push_back({"g", ::attnc::ElemType::F32, {}});
  entry.inputs.push_back({"on", ::attnc::ElemType::I1, {}});
  entry.outputs.push_back({"y", ::attnc::ElemType::F32, shape});
  entry.outputs.push_back({"s", ::attnc::ElemType::F32, {}});
  entry.sizes = {"N"};
  ASSERT_TRUE(
      succeeded(mlir::attnc::cpu::addDestinationPassingEntry(*module, entry)));
  auto impl = module->lookupSymbol<func::FuncOp>("__attnc_scaled");
  ASSERT_TRUE(impl);
  std::string type;
  llvm::raw_string_ostream(type) << impl.getFunctionType();
  EXPECT_EQ(type, "(memref<?x4xf32, strided<[?, 1], offset: ?>>, f32, i1, "
                  "memref<?x4xf32, strided<[?, 1], offset: ?>>, "
                  "memref<f32, strided<[], offset: ?>>) -> ()");

  // What a run-time check makes of the entry: it returns 3 when N > 2.
  auto ret = cast<func::ReturnOp>(impl.getBody().front().getTerminator());
  OpBuilder b(ret);
  Location loc = ret.getLoc();
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value rows = memref::DimOp::create(b, loc, impl.getArgument(0), c0);
  Value big = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, rows,
                                    arith::ConstantIndexOp::create(b, loc, 2));
  Value code = arith::SelectOp::create(
      b, loc, big, arith::ConstantIntOp::create(b, loc, 3, 32),
      arith::ConstantIntOp::create(b, loc, 0, 32));
  func::ReturnOp::create(b, loc, code);
  ret.erase();
  impl.setType(
      FunctionType::get(&context, impl.getArgumentTypes(), {b.getI32Type()}));

  PassManager pm(&context);
  pm.addPass(createInlinerPass());
  pm.addPass(createSymbolDCEPass());
  mlir::attnc::cpu::LowerToLLVMOptions opts;
  opts.parallel = false;
  mlir::attnc::cpu::buildLowerToLLVMPipeline(pm, opts);
  ASSERT_TRUE(succeeded(pm.run(*module)));
  ASSERT_TRUE(succeeded(mlir::attnc::cpu::addCWrappers(*module, entry)));
  // (x, g, on, y, s, N) and (x, x_strides, g, on, y, y_strides, s,
  // s_strides, N).
  EXPECT_EQ(module->lookupSymbol<LLVM::LLVMFuncOp>("scaled").getNumArguments(),
            6u);
  EXPECT_EQ(module->lookupSymbol<LLVM::LLVMFuncOp>("scaled_strided")
                .getNumArguments(),
            9u);

  SmallVector<char> object;
  std::string error;
  ASSERT_TRUE(succeeded(mlir::attnc::cpu::emitObjectFile(
      *module, mlir::attnc::cpu::CodegenOptions(), object, error)))
      << error;
  llvm::SmallString<128> soPath(tmpDir);
  llvm::sys::path::append(soPath, "scaled.so");
  ASSERT_TRUE(succeeded(mlir::attnc::cpu::linkSharedLibrary(
      object, soPath, /*openmp=*/false, error)))
      << error;
  void *handle = dlopen(soPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  using DenseFn =
      int32_t (*)(const float *, float, uint8_t, float *, float *, int64_t);
  using StridedFn =
      int32_t (*)(const float *, const int64_t *, float, uint8_t, float *,
                  const int64_t *, float *, const int64_t *, int64_t);
  using PackedFn = int32_t (*)(void *const *, const int64_t *);
  auto dense = reinterpret_cast<DenseFn>(dlsym(handle, "scaled"));
  auto strided = reinterpret_cast<StridedFn>(dlsym(handle, "scaled_strided"));
  auto packed = reinterpret_cast<PackedFn>(dlsym(handle, "scaled_packed"));
  ASSERT_TRUE(dense && strided && packed);

  std::vector<float> x(3 * 4), y(3 * 4, -1.0f);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = 0.5f * static_cast<float>(i);
  float s = -1.0f;
  ASSERT_EQ(dense(x.data(), 3.0f, 1, y.data(), &s, 2), 0);
  for (size_t i = 0; i < 8; ++i)
    EXPECT_EQ(y[i], 3.0f * x[i]) << i;
  EXPECT_EQ(s, 4.0f);
  ASSERT_EQ(dense(x.data(), 3.0f, 0, y.data(), &s, 2), 0);
  EXPECT_EQ(s, 0.0f);

  // The packed form reads g and on through their pointers.
  float g = -2.0f;
  uint8_t on = 1;
  void *tensors[5] = {x.data(), &g, &on, y.data(), &s};
  int64_t n = 2;
  ASSERT_EQ(packed(tensors, &n), 0);
  EXPECT_EQ(y[5], -2.0f * x[5]);
  EXPECT_EQ(s, -1.0f);
  ASSERT_EQ(
      strided(x.data(), nullptr, 0.5f, 1, y.data(), nullptr, &s, nullptr, 2),
      0);
  EXPECT_EQ(y[7], 0.5f * x[7]);
  EXPECT_EQ(s, 1.5f);

  // The entry's code 3 comes back from every form; a negative size is
  // still 1.
  n = 3;
  EXPECT_EQ(dense(x.data(), 3.0f, 1, y.data(), &s, 3), 3);
  EXPECT_EQ(packed(tensors, &n), 3);
  EXPECT_EQ(
      strided(x.data(), nullptr, 0.5f, 1, y.data(), nullptr, &s, nullptr, 3),
      3);
  EXPECT_EQ(dense(x.data(), 3.0f, 1, y.data(), &s, -1), 1);
  dlclose(handle);
}

// The header takes scalar inputs by value and documents code 3.
TEST(EntryABIHeaderTest, ScalarsByValue) {
  mlir::attnc::cpu::EntrySignature entry;
  entry.name = "scaled";
  std::vector<::attnc::DimExpr> shape = {::attnc::DimExpr::symbol("N")};
  entry.inputs.push_back({"x", ::attnc::ElemType::F32, shape});
  entry.inputs.push_back({"g", ::attnc::ElemType::F32, {}});
  entry.outputs.push_back({"s", ::attnc::ElemType::F32, {}});
  entry.sizes = {"N"};
  std::string header = mlir::attnc::cpu::writeHeader({entry}, "scaled");
  for (const char *text :
       {"int32_t scaled(\n    const float *x,\n    float g,\n    float *s,\n"
        "    int64_t N);",
        "int32_t scaled_strided(\n    const float *x,\n    const int64_t "
        "*x_strides,\n    float g,\n    float *s,\n    const int64_t "
        "*s_strides,\n    int64_t N);",
        "in:  float g (by value)", "3 when a run-time check fails",
        "its entry of the strides array is not read"})
    EXPECT_NE(header.find(text), std::string::npos) << text << "\n" << header;
}

// The header documents the strided form and declares all four functions.
TEST(EntryABIHeaderTest, DeclaresStridedForms) {
  mlir::attnc::cpu::EntrySignature entry;
  entry.name = "twice";
  std::vector<::attnc::DimExpr> shape = {::attnc::DimExpr::symbol("N"),
                                         ::attnc::DimExpr::constant(4)};
  entry.inputs.push_back({"x", ::attnc::ElemType::F32, shape});
  entry.outputs.push_back({"y", ::attnc::ElemType::F32, shape});
  entry.sizes = {"N"};
  std::string header = mlir::attnc::cpu::writeHeader({entry}, "twice");
  for (const char *text :
       {"int32_t twice(\n    const float *x,\n    float *y,\n    int64_t N);",
        "int32_t twice_strided(\n    const float *x,\n    const int64_t "
        "*x_strides,\n    float *y,\n    const int64_t *y_strides,\n    "
        "int64_t N);",
        "int32_t twice_packed(void *const *tensors, const int64_t *sizes);",
        "int32_t twice_packed_strided(void *const *tensors, const int64_t "
        "*const *strides,\n    const int64_t *sizes);",
        "The innermost stride must be 1", "2 when a stride is invalid",
        "A NULL strides pointer means dense row-major"})
    EXPECT_NE(header.find(text), std::string::npos) << text << "\n" << header;
}

} // namespace
