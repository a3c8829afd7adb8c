//===- Pipeline.h - Tensor-level MLIR to the LLVM dialect -------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The CPU lowering below the attn dialect: a module of upstream tensor-level
/// ops (func, linalg, tensor, scf incl. scf.forall, arith, math,
/// bufferization) becomes a module of LLVM dialect ops (plus the OpenMP ops
/// that `--convert-openmp-to-llvm` leaves for the LLVM IR translation).
///
/// Calling convention of the result: one-shot bufferization
/// (`--attnc-cpu-bufferize`) bufferizes function boundaries with dynamic
/// strides and a unit innermost stride, so a `tensor<?x?xf32>` argument
/// becomes a `memref<?x?xf32, strided<[?, 1], offset: ?>>` (zero-copy views
/// for the strided C entries; results get inferred layouts), and the lowered
/// llvm.func takes its expanded descriptor (ptr allocated, ptr aligned,
/// i64 offset, i64 size0, i64 size1, i64 stride0, i64 stride1). Functions
/// marked `{llvm.emit_c_interface}` also get a `_mlir_ciface_<name>` wrapper
/// taking pointers to descriptor structs.
///
/// Fast-math flags are left as the input has them: the pipeline never adds
/// `reassoc`/`contract` on its own, so float reductions keep their order and
/// LLVM does not vectorize them (semantics first; opt in per op upstream).
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_TARGET_CPU_PIPELINE_H
#define ATTNC_TARGET_CPU_PIPELINE_H

#include <cstdint>

namespace mlir {
class OpPassManager;

namespace attnc {
namespace cpu {

/// Options of buildLowerToLLVMPipeline.
struct LowerToLLVMOptions {
  /// Lower scf.forall to OpenMP (scf.forall -> scf.parallel -> omp.parallel +
  /// omp.wsloop; the object then calls the LLVM OpenMP runtime, __kmpc_*).
  /// When false, scf.forall becomes a plain sequential scf.for nest.
  bool parallel = true;
};

/// Appends the lowering from tensor-level upstream MLIR to the LLVM dialect
/// to `pm`, which must run on a builtin.module:
///   decompose aggregated linalg ops (linalg.softmax), one-shot-bufferize,
///   buffer-deallocation-pipeline, scf-forall-to-parallel
///   (or scf-forall-to-for), memref.copy -> linalg.copy,
///   convert-linalg-to-loops, convert-scf-to-openmp (when parallel),
///   expand-strided-metadata, lower-affine, finalize-memref-to-llvm,
///   convert-scf-to-cf, convert-math-to-llvm, convert-math-to-libm,
///   arith-expand, convert-{arith,cf,func,openmp,index}-to-llvm,
///   reconcile-unrealized-casts.
void buildLowerToLLVMPipeline(OpPassManager &pm,
                              const LowerToLLVMOptions &opts);

struct LowerAttnOptions {
  /// Time steps per chunk of attn-chunk-scans; 0 runs every scan step by
  /// step (attn-lower-scan alone).
  int64_t scanChunk = 64;
  /// 16-lane vectors per register block of attn-chunk-scans' products
  /// (microKernelVectors in ObjectEmitter.h gives the target's).
  int64_t scanBlockVectors = 1;
};

/// Appends the attn lowerings to `pm` (on a builtin.module):
/// attn-differentiate, then per function attn-chunk-scans, attn-lower-scan,
/// attn-lower-selection and attn-lower-attention. What remains is upstream
/// tensor-level IR for buildLowerToLLVMPipeline.
void buildLowerAttnPipeline(OpPassManager &pm,
                            const LowerAttnOptions &opts = {});

/// Registers, with the global pass registry, `--attnc-cpu-pipeline`
/// (buildLowerAttnPipeline, then buildLowerToLLVMPipeline),
/// `--attnc-cpu-lower-to-llvm[="parallel=0"]` (the latter alone) and its own
/// steps `--attnc-cpu-decompose-aggregates`, `--attnc-cpu-copy-to-linalg`
/// and `--attnc-cpu-contiguous-expand-shape`.
void registerCPUPasses();

} // namespace cpu
} // namespace attnc
} // namespace mlir

#endif // ATTNC_TARGET_CPU_PIPELINE_H
