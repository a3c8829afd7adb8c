//===- Pipeline.cpp - Tensor-level MLIR to the LLVM dialect ---------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The pass list of `--attnc-cpu-lower-to-llvm`. Order matters in three
/// places (each found the hard way, see the comments below): linalg must be
/// lowered to loops before convert-scf-to-openmp, expand-strided-metadata
/// must come before lower-affine, and finalize-memref-to-llvm before
/// convert-scf-to-cf.
///
//===----------------------------------------------------------------------===//

#include "attnc/Target/CPU/Pipeline.h"

#include "Bufferize.h"
#include "ContiguousExpandShape.h"
#include "RuntimeChecks.h"
#include "StridedExpandShape.h"
#include "attnc/Transforms/Passes.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

namespace {

/// Replaces every op implementing linalg::AggregatedOpInterface (upstream:
/// linalg.softmax, linalg.winograd_*) by its decomposition into linalg ops,
/// which convert-linalg-to-loops knows. Upstream offers this only through the
/// transform dialect (transform.structured.decompose_interface).
struct DecomposeAggregatesPass
    : PassWrapper<DecomposeAggregatesPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(DecomposeAggregatesPass)

  StringRef getArgument() const override {
    return "attnc-cpu-decompose-aggregates";
  }
  StringRef getDescription() const override {
    return "Decompose aggregated linalg ops (linalg.softmax) into linalg ops";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, linalg::LinalgDialect,
                    math::MathDialect, tensor::TensorDialect>();
  }

  void runOnOperation() override {
    SmallVector<linalg::AggregatedOpInterface> ops;
    getOperation()->walk(
        [&](linalg::AggregatedOpInterface op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::AggregatedOpInterface op : ops) {
      rewriter.setInsertionPoint(op);
      FailureOr<SmallVector<Value>> repl = op.decomposeOperation(rewriter);
      if (failed(repl)) {
        op->emitOpError("could not be decomposed for the CPU pipeline");
        return signalPassFailure();
      }
      rewriter.replaceOp(op, *repl);
    }
  }
};

/// Rewrites every tensor.generate into tensor.empty + linalg.generic, so that
/// eliminate-empty-tensors can then build it in place in the buffer it is
/// inserted into: a per-row prologue (`phi(q[b, h, i])` in an scf.forall)
/// otherwise allocates, fills, copies and frees one row buffer per row,
/// five times the cost of the computation itself.
struct GenerateToDestinationStylePass
    : PassWrapper<GenerateToDestinationStylePass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(GenerateToDestinationStylePass)

  StringRef getArgument() const override {
    return "attnc-cpu-generate-to-destination-style";
  }
  StringRef getDescription() const override {
    return "Rewrite tensor.generate into tensor.empty + linalg.generic";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<linalg::LinalgDialect, tensor::TensorDialect>();
  }

  void runOnOperation() override {
    SmallVector<tensor::GenerateOp> ops;
    getOperation()->walk([&](tensor::GenerateOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (tensor::GenerateOp op : ops) {
      rewriter.setInsertionPoint(op);
      if (failed(linalg::rewriteInDestinationPassingStyle(rewriter, op))) {
        op->emitOpError("could not be rewritten in destination style");
        return signalPassFailure();
      }
    }
  }
};

/// Rewrites f32 math.exp, math.expm1 and math.log (of scalars or vectors)
/// into upstream's polynomial approximations (a few ulp): plain arithmetic,
/// which LLVM vectorizes, where a libm call per element stays scalar (a
/// vector<16xf32> exp becomes 16 calls of expf). A feature map phi = elu + 1
/// over every row then costs a few percent of the attention it feeds. The
/// attention kernels' exps are approximated already (attn-lower-attention);
/// this catches the rest: prologues, scans, elementwise code. The predicate
/// takes full op names ("math.exp").
struct ApproximateExpPass : PassWrapper<ApproximateExpPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ApproximateExpPass)

  StringRef getArgument() const override { return "attnc-cpu-approximate-exp"; }
  StringRef getDescription() const override {
    return "Polynomial approximations of f32 math.exp, math.expm1 and "
           "math.log";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<arith::ArithDialect, math::MathDialect,
                    vector::VectorDialect>();
  }

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      return name == "math.exp" || name == "math.expm1" || name == "math.log";
    });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

/// Rewrites every memref.copy into linalg.copy, which convert-linalg-to-loops
/// turns into plain loops. finalize-memref-to-llvm would lower a copy between
/// non-contiguous memrefs (e.g. into an scf.forall row slice) to a call to
/// `memrefCopy` from libmlir_c_runner_utils, a run-time dependency the
/// generated libraries must not have.
struct CopyToLinalgPass : PassWrapper<CopyToLinalgPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(CopyToLinalgPass)

  StringRef getArgument() const override { return "attnc-cpu-copy-to-linalg"; }
  StringRef getDescription() const override {
    return "Rewrite memref.copy to linalg.copy (no memrefCopy runtime call)";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<linalg::LinalgDialect>();
  }

  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation()->walk([&](memref::CopyOp op) { copies.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (memref::CopyOp op : copies) {
      rewriter.setInsertionPoint(op);
      linalg::CopyOp::create(rewriter, op.getLoc(), op.getSource(),
                             op.getTarget());
      rewriter.eraseOp(op);
    }
  }
};

/// The textual options of --attnc-cpu-lower-to-llvm.
struct LowerToLLVMPipelineOptions
    : PassPipelineOptions<LowerToLLVMPipelineOptions> {
  Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Lower scf.forall to OpenMP (else to sequential loops)"),
      llvm::cl::init(true)};
};

} // namespace

void mlir::attnc::cpu::buildLowerToLLVMPipeline(
    OpPassManager &pm, const LowerToLLVMOptions &opts) {
  // Tensor level: linalg.softmax has no loop lowering of its own.
  pm.addPass(std::make_unique<DecomposeAggregatesPass>());
  pm.addPass(std::make_unique<ApproximateExpPass>());
  // Values built into the slice of the buffer they are inserted into.
  pm.addPass(std::make_unique<GenerateToDestinationStylePass>());
  pm.addPass(bufferization::createEmptyTensorEliminationPass());

  // Tensors to buffers. Function arguments become memrefs with dynamic
  // strides and a unit innermost stride (the ABI of the generated library,
  // EntryABI.h), so that strided views are used in place; results keep the
  // layout their function body gives them.
  pm.addPass(createBufferizePass());
  bufferization::buildBufferDeallocationPipeline(
      pm, bufferization::BufferDeallocationPipelineOptions());
  // The deallocation pipeline clones a returned buffer it does not own (a
  // function returning its argument, as outlined kernels do);
  // finalize-memref-to-llvm does not know bufferization.clone.
  pm.addPass(createConvertBufferizationToMemRefPass());

  // scf.forall: OpenMP or sequential loops.
  if (opts.parallel)
    pm.addPass(createForallToParallelLoopPass());
  else
    pm.addPass(createForallToForLoopPass());
  // Before convert-scf-to-openmp: it wraps each parallel body in a
  // memref.alloca_scope, which must keep a single block, so everything
  // inside must be structured loops (not cf) when it runs.
  pm.addPass(std::make_unique<CopyToLinalgPass>());
  pm.addPass(createConvertLinalgToLoopsPass());
  // Before the OpenMP outlining: the checks' slot is an ordinary value here.
  pm.addPass(createRuntimeChecksPass());
  if (opts.parallel)
    pm.addPass(createConvertSCFToOpenMPPass());

  // Memrefs. expand-strided-metadata emits affine.apply, hence lower-affine
  // after it; finalize-memref-to-llvm inlines the alloca scopes, hence
  // before convert-scf-to-cf.
  // The attention kernels' vector loads, FMAs and broadcasts.
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createContiguousExpandShapePass());
  pm.addPass(createStridedExpandShapePass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createSCFToControlFlowPass());

  // Scalars. math-to-llvm gives LLVM intrinsics (llvm.exp.f32, which the
  // back end turns into calls to expf); math-to-libm catches the ops without
  // an intrinsic (tanh, erf, atan2, ...) as direct libm calls.
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(arith::createArithExpandOpsPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::attnc::cpu::buildLowerAttnPipeline(OpPassManager &pm,
                                              const LowerAttnOptions &opts) {
  // Titans' grad first: the lowerings expect no attn.grad.
  pm.addPass(createAttnDifferentiatePass());
  // Attention written out as matmul-softmax-matmul (einspace's
  // scaled_dot_product) gets the fused kernel too.
  pm.nest<func::FuncOp>().addPass(createAttnRecognizeAttentionPass());
  // One private function per kernel (attention, contractions, generics)
  // that several ops share, called with no_inline: an unrolled
  // architecture's identical heads and layers are lowered and compiled by
  // LLVM once. Before the lowerings below, which then see each kernel once,
  // in its own function. Kernels used once stay where they are: LLVM would
  // inline them back (docs/Rationale/CPUBackend.md).
  AttnOutlineKernelsPassOptions outlineOpts;
  outlineOpts.minUses = 2;
  pm.addPass(createAttnOutlineKernelsPass(outlineOpts));
  OpPassManager &func = pm.nest<func::FuncOp>();
  // Linear recurrences chunk by chunk; their step-by-step fallback and
  // every other scan go to attn-lower-scan.
  if (opts.scanChunk > 0) {
    AttnChunkScansPassOptions chunkOpts;
    chunkOpts.chunkSize = opts.scanChunk;
    chunkOpts.blockVectors = opts.scanBlockVectors;
    func.addPass(createAttnChunkScansPass(chunkOpts));
  }
  func.addPass(createAttnLowerScanPass());
  func.addPass(createAttnLowerSelectionPass());
  func.addPass(createAttnLowerAttentionPass());
}

void mlir::attnc::cpu::registerCPUPasses() {
  registerPass([] { return createBufferizePass(); });
  registerPass([] { return createContiguousExpandShapePass(); });
  registerPass([] { return createRuntimeChecksPass(); });
  registerPass([] { return createStridedExpandShapePass(); });
  PassRegistration<CopyToLinalgPass>();
  PassRegistration<ApproximateExpPass>();
  PassRegistration<DecomposeAggregatesPass>();
  PassRegistration<GenerateToDestinationStylePass>();
  PassPipelineRegistration<LowerToLLVMPipelineOptions>(
      "attnc-cpu-lower-to-llvm",
      "Lower tensor-level func/linalg/tensor/scf/arith/math to the LLVM "
      "dialect (scf.forall to OpenMP unless parallel=0)",
      [](OpPassManager &pm, const LowerToLLVMPipelineOptions &o) {
        LowerToLLVMOptions opts;
        opts.parallel = o.parallel;
        buildLowerToLLVMPipeline(pm, opts);
      });
  PassPipelineRegistration<LowerToLLVMPipelineOptions>(
      "attnc-cpu-pipeline",
      "The whole CPU lowering: attn-differentiate, attn-chunk-scans, "
      "attn-lower-scan, "
      "attn-lower-selection, attn-lower-attention, then "
      "attnc-cpu-lower-to-llvm",
      [](OpPassManager &pm, const LowerToLLVMPipelineOptions &o) {
        LowerToLLVMOptions opts;
        opts.parallel = o.parallel;
        buildLowerAttnPipeline(pm);
        buildLowerToLLVMPipeline(pm, opts);
      });
}
