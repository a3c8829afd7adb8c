//===- EntryCall.cpp - One call of a compiled entry -----------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "attnc/Runtime/EntryCall.h"

#include "llvm/Support/SwapByteOrder.h"

#include <cmath>

using namespace attnc;
using namespace attnc::runtime;

std::optional<npy::DType> attnc::runtime::getCDType(ElemType elem) {
  static_assert(llvm::sys::IsLittleEndianHost,
                "the C interface is read as little-endian npy elements");
  switch (elem) {
  case ElemType::F32:
    return npy::DType::F32;
  case ElemType::F64:
    return npy::DType::F64;
  case ElemType::I32:
    return npy::DType::I32;
  case ElemType::I64:
    return npy::DType::I64;
  case ElemType::I1:
    return npy::DType::Bool;
  case ElemType::F16:
  case ElemType::BF16:
    return std::nullopt;
  }
  return std::nullopt;
}

bool attnc::runtime::evaluateShape(const ABITensor &tensor,
                                   const std::map<std::string, int64_t> &sizes,
                                   std::vector<int64_t> &shape,
                                   std::string &error) {
  std::map<std::string, DimExpr> bindings;
  for (const auto &[name, value] : sizes)
    bindings[name] = DimExpr::constant(value);
  shape.clear();
  for (const DimExpr &dim : tensor.shape) {
    std::optional<int64_t> extent = dim.substitute(bindings).getConstant();
    if (!extent || *extent < 0) {
      error = "the extent '" + dim.str() + "' of '" + tensor.name +
              "' has no value with these sizes";
      return false;
    }
    shape.push_back(*extent);
  }
  return true;
}

std::optional<EntryCall>
EntryCall::prepare(const EntrySignature &sig,
                   const std::map<std::string, int64_t> &sizes,
                   const std::vector<const std::vector<double> *> &inputs,
                   std::string &error) {
  EntryCall call;
  call.numInputs = sig.inputs.size();
  if (inputs.size() != sig.inputs.size()) {
    error = "'" + sig.name + "' takes " + std::to_string(sig.inputs.size()) +
            " inputs, not " + std::to_string(inputs.size());
    return std::nullopt;
  }
  auto unsupported = [&](const ABITensor &t) {
    error = "not supported yet: calling '" + sig.name + "' with the " +
            toString(t.elem) + " tensor '" + t.name + "'";
  };
  for (size_t i = 0; i < sig.inputs.size(); ++i) {
    const ABITensor &t = sig.inputs[i];
    std::optional<npy::DType> dtype = getCDType(t.elem);
    if (!dtype) {
      unsupported(t);
      return std::nullopt;
    }
    call.buffers.emplace_back();
    if (!npy::packElements(*inputs[i], *dtype, call.buffers.back(), error)) {
      error = "input '" + t.name + "': " + error;
      return std::nullopt;
    }
  }
  for (const ABITensor &t : sig.outputs) {
    std::optional<npy::DType> dtype = getCDType(t.elem);
    if (!dtype) {
      unsupported(t);
      return std::nullopt;
    }
    std::vector<int64_t> shape;
    if (!evaluateShape(t, sizes, shape, error))
      return std::nullopt;
    int64_t count = 1;
    for (int64_t extent : shape)
      count *= extent;
    std::vector<double> poison(count, isFloat(t.elem) ? std::nan("") : 0.0);
    call.buffers.emplace_back();
    if (!npy::packElements(poison, *dtype, call.buffers.back(), error))
      return std::nullopt;
    call.outputDTypes.push_back(*dtype);
    call.outputShapes.push_back(std::move(shape));
  }
  for (std::string &buffer : call.buffers)
    call.pointers.push_back(buffer.data());
  for (const std::string &name : sig.sizes) {
    auto it = sizes.find(name);
    if (it == sizes.end()) {
      error = "no value for the size '" + name + "' of '" + sig.name + "'";
      return std::nullopt;
    }
    call.sizeValues.push_back(it->second);
  }
  return call;
}

bool EntryCall::readOutput(size_t i, std::vector<double> &values,
                           std::string &error) const {
  const std::string &bytes = buffers[numInputs + i];
  npy::DType dtype = outputDTypes[i];
  return npy::unpackElements(bytes.data(),
                             bytes.size() / npy::getItemSize(dtype), dtype,
                             values, error);
}
