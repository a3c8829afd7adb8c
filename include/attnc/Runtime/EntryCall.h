//===- EntryCall.h - One call of a compiled entry ---------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The buffers of a call of a compiled entry through its packed form, for
/// callers that hold their tensors as row-major float64 values (`attnc run`
/// and `attnc bench`, the search): the inputs packed in their C element
/// types, the outputs allocated from the shape formulas and the sizes, and
/// the outputs read back.
///
//===----------------------------------------------------------------------===//

#ifndef ATTNC_RUNTIME_ENTRYCALL_H
#define ATTNC_RUNTIME_ENTRYCALL_H

#include "attnc/Runtime/EntrySignature.h"
#include "attnc/Runtime/Library.h"
#include "attnc/Support/Npy.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace attnc::runtime {

/// The .npy element type that has the layout of `elem`'s C type (a bool
/// byte for i1); 16-bit floats have none yet.
std::optional<npy::DType> getCDType(ElemType elem);

/// The extents of `tensor` with the values `sizes` of the size symbols.
/// Fails with `error` set when one has no value or is negative.
bool evaluateShape(const ABITensor &tensor,
                   const std::map<std::string, int64_t> &sizes,
                   std::vector<int64_t> &shape, std::string &error);

/// The packed arguments of one call: build it with prepare(), call it any
/// number of times, read the outputs of the last call.
class EntryCall {
public:
  /// Packs `inputs` (one row-major array per input of `sig`, of its shape)
  /// and allocates the outputs, NaN-filled where they are floats so that an
  /// element the code never writes shows. Fails with `error` set.
  static std::optional<EntryCall>
  prepare(const EntrySignature &sig,
          const std::map<std::string, int64_t> &sizes,
          const std::vector<const std::vector<double> *> &inputs,
          std::string &error);

  /// Calls `fn` (the entry's NAME_packed) and returns its code.
  int32_t call(LoadedLibrary::PackedFn fn) {
    return fn(pointers.data(), sizeValues.data());
  }

  size_t getNumOutputs() const { return outputShapes.size(); }
  const std::vector<int64_t> &getOutputShape(size_t i) const {
    return outputShapes[i];
  }
  /// The values of output `i` after a call that returned 0.
  bool readOutput(size_t i, std::vector<double> &values,
                  std::string &error) const;

private:
  EntryCall() = default;
  size_t numInputs = 0;
  std::vector<npy::DType> outputDTypes;
  std::vector<std::vector<int64_t>> outputShapes;
  /// Inputs then outputs, in their C element types.
  std::vector<std::string> buffers;
  std::vector<void *> pointers;
  std::vector<int64_t> sizeValues;
};

} // namespace attnc::runtime

#endif // ATTNC_RUNTIME_ENTRYCALL_H
