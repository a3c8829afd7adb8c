//===- Linker.h - Object file to a shared library ---------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Links an in-memory object file into a shared library with the system C
/// compiler driver (`cc`, or $ATTNC_CC), against libm and, when asked, the
/// LLVM OpenMP runtime (libomp, with an rpath so the library loads without
/// LD_LIBRARY_PATH).
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_TARGET_CPU_LINKER_H
#define ATTNC_TARGET_CPU_LINKER_H

#include "mlir/Support/LLVM.h"

#include <string>

namespace mlir {
namespace attnc {
namespace cpu {

/// The directory of the LLVM OpenMP runtime linked by linkSharedLibrary
/// (that of libomp-22-dev, /usr/lib/llvm-22/lib).
StringRef getOpenMPRuntimeDir();

/// Writes `object` to a temporary file and runs
///   cc -shared -o <outputPath>.tmpXXXXXX <obj> -lm
///      [-L<omp dir> -Wl,-rpath,<omp dir> -lomp]
/// then renames the result to `outputPath`, so `outputPath` is either the old
/// file or the complete new library, never a half-written one. The driver is
/// $ATTNC_CC when set, else `cc` from PATH. On failure returns failure and
/// sets `error` (including the driver's output).
LogicalResult linkSharedLibrary(ArrayRef<char> object, StringRef outputPath,
                                bool openmp, std::string &error);

} // namespace cpu
} // namespace attnc
} // namespace mlir

#endif // ATTNC_TARGET_CPU_LINKER_H
