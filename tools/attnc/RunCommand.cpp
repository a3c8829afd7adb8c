//===- RunCommand.cpp - attnc run -------------------------------*- C++ -*-===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// `attnc run`: binds sizes, reads or draws the inputs, runs an entry on the
/// float64 interpreter and writes its results as .npy files. `--entry
/// NAME_step` adds and runs NAME's step entry (addStepEntry, CPUBackend.h).
///
//===----------------------------------------------------------------------===//

#include "CPUBackend.h"
#include "Driver.h"

#include "attnc/Frontend/ASTPrinter.h"
#include "attnc/Frontend/Diagnostic.h"
#include "attnc/Frontend/MLIRGen.h"
#include "attnc/Frontend/Parse.h"
#include "attnc/Frontend/Sema.h"
#include "attnc/InitAll.h"
#include "attnc/Interp/Interpreter.h"
#include "attnc/Runtime/EntryCall.h"
#include "attnc/Runtime/Library.h"
#include "attnc/Support/Npy.h"
#include "attnc/Support/Random.h"
#include "attnc/Transforms/Passes.h"

#include <cstdlib>
#include <sys/resource.h>
#include <unistd.h>

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/PrettyStackTrace.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <string>

using namespace attnc;
using namespace attnc::driver;

//===----------------------------------------------------------------------===//
// attnc run
//===----------------------------------------------------------------------===//

namespace {
/// One argument of the entry's func.func: a parameter of the source, or one
/// of an arch's weights (named by its attn.param path).
struct RunParam {
  std::string name;
  ValueType type;
  /// The value, from --input or drawn at random; set by prepareArgs.
  interp::Tensor value;
  /// The --input file, if one was given.
  std::optional<std::string> file;
  npy::Array array;
};

/// Where a size symbol got its value, for the "bound twice" error.
struct SizeBinding {
  int64_t value;
  std::string origin;
};
} // namespace

int attnc::driver::inputError(const llvm::Twine &message) {
  llvm::errs() << "attnc: error: " << message << "\n";
  return kExitInputError;
}

/// `f`, `g` for a list, with the article-free quoting of other errors.
static std::string joinQuoted(llvm::ArrayRef<std::string> names) {
  std::string out;
  for (const std::string &name : names)
    out += (out.empty() ? "'" : ", '") + name + "'";
  return out;
}

/// The symbol of a dimension that is just one size symbol (`N`), else empty.
static std::string getSoleSymbol(const DimExpr &dim) {
  const auto &terms = dim.getTerms();
  if (terms.size() != 1 || terms.begin()->first.size() != 1 ||
      terms.begin()->second != 1)
    return "";
  const std::string &atom = terms.begin()->first.front();
  return dim.getQuotient(atom) ? "" : atom;
}

static interp::ElemKind kindOf(ElemType elem) {
  if (elem == ElemType::I1)
    return interp::ElemKind::Bool;
  return isInteger(elem) ? interp::ElemKind::Int : interp::ElemKind::Float;
}

/// Parameters drawn uniformly from (0, 1) instead of N(0, 1).
static bool isGateName(llvm::StringRef name) {
  return llvm::is_contained(
      {"alpha", "beta", "gamma", "eta", "theta", "g", "gate"}, name);
}

/// Fills `param.value` with seeded random values (see `--seed` in --help);
/// integers are drawn below `idBound`.
static void drawRandom(RunParam &param, uint64_t seed, int64_t idBound) {
  SplitMix64 rng(seed ^ fnv1a64(param.name));
  ElemType elem = param.type.getElemType();
  interp::Tensor &t = param.value;
  int64_t count = t.numElements();
  t.data.resize(count);
  for (double &x : t.data) {
    if (elem == ElemType::I1)
      x = static_cast<double>(rng.next() >> 63);
    else if (isInteger(elem))
      x = static_cast<double>(rng.below(idBound));
    else if (isGateName(param.name))
      x = rng.uniformOpen();
    else
      x = rng.normal();
    if (elem == ElemType::F32)
      x = static_cast<float>(x);
  }
}

/// Whether an .npy dtype can be the value of a parameter of type `elem`.
static bool acceptsDType(ElemType elem, npy::DType dtype) {
  if (elem == ElemType::I1)
    return dtype == npy::DType::Bool;
  if (isInteger(elem))
    return dtype == npy::DType::I32 || dtype == npy::DType::I64;
  return dtype == npy::DType::F32 || dtype == npy::DType::F64;
}

static const char *expectedDTypes(ElemType elem) {
  if (elem == ElemType::I1)
    return "'|b1'";
  if (isInteger(elem))
    return "'<i4' or '<i8'";
  return "'<f4' or '<f8'";
}

/// The default of a size no --set or input gives: small, so that every
/// program runs in the interpreter in a moment, and a multiple of every
/// constant the program divides the size by (`N / BS` needs N % BS == 0).
static constexpr int64_t kDefaultSize = 8;

static void collectDivisors(const DimExpr &dim,
                            std::map<std::string, int64_t> &divisors) {
  for (const auto &[monomial, coefficient] : dim.getTerms())
    for (const std::string &atom : monomial) {
      const auto *quotient = dim.getQuotient(atom);
      if (!quotient)
        continue;
      std::optional<int64_t> divisor = quotient->second->getConstant();
      if (divisor && *divisor > 0)
        for (const std::string &symbol : quotient->first->getSymbols()) {
          int64_t &lcm = divisors.try_emplace(symbol, 1).first->second;
          lcm = std::lcm(lcm, *divisor);
        }
      collectDivisors(*quotient->first, divisors);
    }
}

static void collectDivisors(const ValueType &type,
                            std::map<std::string, int64_t> &divisors) {
  for (const DimExpr &dim : type.getShape())
    collectDivisors(dim, divisors);
  for (const auto &member : type.getMembers())
    collectDivisors(member.second, divisors);
}

static void collectDivisors(const Stmt &stmt,
                            std::map<std::string, int64_t> &divisors);

static void collectDivisors(const Expr *e,
                            std::map<std::string, int64_t> &divisors) {
  if (!e)
    return;
  if (e->type)
    collectDivisors(*e->type, divisors);
  forEachChild(
      *e, [&](const Expr &child) { collectDivisors(&child, divisors); },
      [&](const Stmt &stmt) { collectDivisors(stmt, divisors); });
}

static void collectDivisors(const Stmt &stmt,
                            std::map<std::string, int64_t> &divisors) {
  if (const auto *def = llvm::dyn_cast<IndexedDefStmt>(&stmt)) {
    if (def->checkedType)
      collectDivisors(*def->checkedType, divisors);
    for (const IndexDecl &index : def->indices)
      if (index.checkedExtent)
        collectDivisors(*index.checkedExtent, divisors);
    collectDivisors(def->value.get(), divisors);
  } else if (const auto *let = llvm::dyn_cast<LetStmt>(&stmt)) {
    collectDivisors(let->value.get(), divisors);
  } else if (const auto *state = llvm::dyn_cast<StateDeclStmt>(&stmt)) {
    if (state->checkedType)
      collectDivisors(*state->checkedType, divisors);
    collectDivisors(state->init.get(), divisors);
  } else if (const auto *emit = llvm::dyn_cast<EmitStmt>(&stmt)) {
    collectDivisors(emit->value.get(), divisors);
  } else if (const auto *ret = llvm::dyn_cast<ReturnStmt>(&stmt)) {
    for (const ExprPtr &value : ret->values)
      collectDivisors(value.get(), divisors);
  }
}

/// The default value of every size symbol of `entry` (see kDefaultSize).
static std::map<std::string, int64_t> getDefaultSizes(const Decl *entry) {
  std::map<std::string, int64_t> divisors;
  if (const auto *fn = llvm::dyn_cast<FnDecl>(entry)) {
    for (const Param &param : fn->params)
      if (param.checkedType)
        collectDivisors(*param.checkedType, divisors);
    for (const StmtPtr &stmt : fn->body)
      collectDivisors(*stmt, divisors);
  }
  std::map<std::string, int64_t> defaults;
  for (const auto &[symbol, divisor] : divisors)
    defaults[symbol] = (kDefaultSize + divisor - 1) / divisor * divisor;
  return defaults;
}

/// Refuses inputs that do not fit in memory: the run holds each as float64
/// values (the interpreter's), and half the machine's memory is the limit,
/// so that `--set N=3000000000` is an error, not an abort or a swap storm.
static int checkInputMemory(llvm::StringRef entry,
                            const std::vector<RunParam> &params) {
  uint64_t total = 0;
  std::string largest;
  uint64_t largestBytes = 0;
  for (const RunParam &param : params) {
    uint64_t elements = 1;
    bool overflow = false;
    for (int64_t extent : param.value.shape)
      overflow |= __builtin_mul_overflow(elements, uint64_t(extent), &elements);
    uint64_t bytes = 0;
    overflow |= __builtin_mul_overflow(elements, uint64_t(8), &bytes);
    overflow |= __builtin_add_overflow(total, bytes, &total);
    if (overflow)
      return inputError("the inputs of '" + entry +
                        "' have more elements than 64-bit integers count ('" +
                        param.name +
                        "': " + npy::shapeToString(param.value.shape) +
                        "); give smaller sizes with --set");
    if (bytes > largestBytes) {
      largestBytes = bytes;
      largest = "'" + param.name + "' " + npy::shapeToString(param.value.shape);
    }
  }
  long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || pageSize <= 0)
    return kExitSuccess;
  uint64_t limit = uint64_t(pages) * uint64_t(pageSize) / 2;
  if (total <= limit)
    return kExitSuccess;
  auto gib = [](uint64_t bytes) {
    return llvm::formatv("{0:f1} GiB", double(bytes) / (1 << 30)).str();
  };
  return inputError("the inputs of '" + entry + "' need " + gib(total) +
                    " as float64 (the largest is " + largest +
                    "), more than half of this machine's " + gib(limit * 2) +
                    "; give smaller sizes with --set");
}

/// Binds the entry's size symbols (from --set, then from the shapes of the
/// --input arrays, else by default), checks every given array against its
/// parameter's type
/// and gives every parameter its value. Returns an exit code.
static int prepareArgs(const Invocation &inv, const Decl *entryDecl,
                       std::vector<RunParam> &params,
                       std::map<std::string, int64_t> &boundSizes) {
  llvm::StringRef entry = entryDecl->getName();
  // The size symbols of the entry.
  llvm::StringSet<> symbols;
  for (const RunParam &param : params)
    for (const DimExpr &dim : param.type.getShape())
      for (const std::string &symbol : dim.getSymbols())
        symbols.insert(symbol);

  // A --set of another entry's size is no concern of this one (runRun
  // checks that some entry has it).
  std::map<std::string, SizeBinding> sizes;
  for (const std::string &name : inv.setNames) {
    if (!symbols.contains(name))
      continue;
    const ConstValue &value = inv.checkOptions.overrides.at(name);
    if (!value.isInt || value.intValue < 0)
      return usageError("--set " + name + "=" + value.str() + ": the size '" +
                        name + "' must be a non-negative integer");
    sizes[name] = {value.intValue, "--set " + name + "=" + value.str()};
  }

  // Read the given arrays and bind the symbols their shapes show.
  for (RunParam &param : params) {
    if (!param.file)
      continue;
    std::string error;
    if (!npy::readFile(*param.file, param.array, error))
      return inputError("input '" + param.name + "': " + error);
    ElemType elem = param.type.getElemType();
    std::string shape = npy::shapeToString(param.array.shape);
    std::string what = "input '" + param.name + "': the array in '" +
                       *param.file + "' (shape " + shape + ", dtype '" +
                       npy::getDescr(param.array.dtype) + "')";
    if (!acceptsDType(elem, param.array.dtype))
      return inputError(what + " does not fit '" + param.name + ": " +
                        param.type.str() + "': expected dtype " +
                        expectedDTypes(elem));
    if (param.array.shape.size() != param.type.getRank())
      return inputError(what + " does not fit '" + param.name + ": " +
                        param.type.str() + "': expected rank " +
                        llvm::Twine(param.type.getRank()));
    for (size_t d = 0; d < param.type.getRank(); ++d) {
      std::string symbol = getSoleSymbol(param.type.getShape()[d]);
      if (symbol.empty())
        continue;
      int64_t extent = param.array.shape[d];
      auto [it, inserted] = sizes.try_emplace(
          symbol, SizeBinding{extent, "input '" + param.name + "' (shape " +
                                          shape + ")"});
      if (!inserted && it->second.value != extent)
        return inputError(
            what + " gives " + symbol + " = " + llvm::Twine(extent) + " in '" +
            param.name + ": " + param.type.str() + "', but " + symbol + " = " +
            llvm::Twine(it->second.value) + " from " + it->second.origin);
    }
  }

  // The sizes nothing gave default to small values; a note says which.
  std::map<std::string, int64_t> defaults = getDefaultSizes(entryDecl);
  std::string defaulted;
  for (const auto &symbol : symbols) {
    std::string name = symbol.getKey().str();
    if (sizes.count(name))
      continue;
    auto it = defaults.find(name);
    int64_t value = it == defaults.end() ? kDefaultSize : it->second;
    sizes[name] = {value, "the default " + name + "=" + std::to_string(value)};
  }
  for (const auto &[name, binding] : sizes)
    if (llvm::StringRef(binding.origin).starts_with("the default "))
      defaulted += (defaulted.empty() ? "" : ", ") + name + "=" +
                   std::to_string(binding.value);
  if (!defaulted.empty())
    llvm::errs() << "attnc: note: " << entry
                 << ": sizes by default: " << defaulted
                 << " (give them with --set or --input)\n";

  // Every dimension now has a value.
  std::map<std::string, DimExpr> bindings;
  for (const auto &[name, binding] : sizes) {
    bindings[name] = DimExpr::constant(binding.value);
    boundSizes[name] = binding.value;
  }
  for (RunParam &param : params) {
    std::vector<int64_t> shape;
    for (const DimExpr &dim : param.type.getShape()) {
      std::optional<int64_t> extent = dim.substitute(bindings).getConstant();
      if (!extent) {
        for (const std::string &symbol : dim.getSymbols())
          if (!sizes.count(symbol))
            return usageError("no value for the size '" + symbol + "' of '" +
                              param.name + ": " + param.type.str() +
                              "' (use --set " + symbol +
                              "=... or give an input)");
        return inputError("the extent '" + dim.str() + "' of '" + param.name +
                          "' is not an integer");
      }
      if (*extent < 0)
        return inputError("the extent " + dim.str() + " of '" + param.name +
                          "' is " + llvm::Twine(*extent) +
                          ", below zero, with these sizes");
      shape.push_back(*extent);
    }
    param.value.kind = kindOf(param.type.getElemType());
    if (param.file) {
      if (param.array.shape != shape)
        return inputError("input '" + param.name + "': the shape " +
                          npy::shapeToString(param.array.shape) + " of '" +
                          *param.file + "' does not match '" + param.name +
                          ": " + param.type.str() +
                          "' = " + npy::shapeToString(shape));
      param.value.shape = shape;
      param.value.data = std::move(param.array.data);
      if (param.type.getElemType() == ElemType::I32)
        for (double x : param.value.data)
          if (x < -2147483648.0 || x > 2147483647.0)
            return inputError("input '" + param.name + "': the value " +
                              llvm::Twine(static_cast<int64_t>(x)) + " in '" +
                              *param.file + "' does not fit i32");
      continue;
    }
    param.value.shape = shape;
  }
  if (int rc = checkInputMemory(entry, params))
    return rc;
  // Integer inputs are ids: token ids, segment ids, positions. Drawn below
  // the smallest extent of any parameter (and 16), they index any of them.
  int64_t idBound = 16;
  for (const RunParam &param : params)
    for (int64_t extent : param.value.shape)
      if (extent > 0)
        idBound = std::min(idBound, extent);
  for (RunParam &param : params)
    if (!param.file)
      drawRandom(param, inv.seed, idBound);
  return kExitSuccess;
}

/// Runs `attn-differentiate` when `ir` holds an attn.grad.
static int differentiate(mlir::ModuleOp ir) {
  mlir::Operation *grad = nullptr;
  ir.walk([&](mlir::Operation *op) {
    if (op->getName().getStringRef() != "attn.grad")
      return mlir::WalkResult::advance();
    grad = op;
    return mlir::WalkResult::interrupt();
  });
  if (!grad)
    return kExitSuccess;
  mlir::PassManager pm(ir.getContext());
  pm.addPass(mlir::attnc::createAttnDifferentiatePass());
  if (mlir::failed(pm.run(ir)))
    return kExitInputError;
  return kExitSuccess;
}

/// `NAME: shape [2, 3] mean 0.5 max_abs 1.25`.
static void printSummary(llvm::raw_ostream &os, llvm::StringRef name,
                         const interp::Tensor &t) {
  double sum = 0, maxAbs = 0;
  for (double x : t.data) {
    sum += x;
    // NaN propagates into max_abs as it does into the mean.
    if (std::isnan(x) || std::fabs(x) > maxAbs)
      maxAbs = std::isnan(maxAbs) ? maxAbs : std::fabs(x);
  }
  double mean = t.data.empty() ? std::nan("") : sum / t.data.size();
  os << name << ": shape " << npy::shapeToString(t.shape) << " mean "
     << llvm::format("%.6g", mean) << " max_abs "
     << llvm::format("%.6g", maxAbs) << "\n";
}

static int writeResult(const std::string &path, const interp::Tensor &t) {
  npy::Array array;
  array.dtype = t.kind == interp::ElemKind::Float ? npy::DType::F64
                : t.kind == interp::ElemKind::Int ? npy::DType::I64
                                                  : npy::DType::Bool;
  array.shape = t.shape;
  array.data = t.data;
  std::string bytes, error;
  if (!npy::encode(array, bytes, error))
    return inputError("cannot write '" + path + "': " + error);
  llvm::Error err = llvm::writeToOutput(path, [&](llvm::raw_ostream &os) {
    os << bytes;
    return llvm::Error::success();
  });
  if (err)
    return inputError("cannot write '" + path +
                      "': " + llvm::toString(std::move(err)));
  return kExitSuccess;
}

/// Runs the entry `name` of `ir` on the interpreter, attn.grad expanded
/// first.
static int runOnInterp(mlir::ModuleOp ir, const std::string &name,
                       const std::vector<interp::Tensor> &args,
                       std::vector<interp::Tensor> &results) {
  if (int rc = differentiate(ir))
    return rc;
  // The pass may have replaced the function.
  auto func = ir.lookupSymbol<mlir::func::FuncOp>(name);
  if (!func)
    return inputError("internal error: attn-differentiate removed @" + name);
  mlir::FailureOr<std::vector<interp::Tensor>> out = interp::run(func, args);
  if (mlir::failed(out))
    return kExitInputError;
  results = std::move(*out);
  return kExitSuccess;
}

/// The .npy dtype whose bytes are those of `elem` in the C interface (the
/// host is little-endian, as npy's elements are).
/// Compiles `entry` into a temporary library, calls it on `args` and reads
/// its outputs back (`bench`: times it instead).
static int runOnCPU(const Invocation &inv, const EntryPoint &entry,
                    mlir::ModuleOp ir,
                    const std::map<std::string, int64_t> &sizes,
                    const std::vector<interp::Tensor> &args,
                    std::vector<interp::Tensor> &results) {
  mlir::attnc::cpu::EntrySignature sig;
  if (int rc = getEntrySignature(entry, ir, sig))
    return rc;
  for (const auto &t :
       llvm::concat<const mlir::attnc::cpu::ABITensor>(sig.inputs, sig.outputs))
    if (t.elem == ElemType::F16 || t.elem == ElemType::BF16)
      return inputError("not supported yet: running '" + sig.name +
                        "' on the CPU with 16-bit floats");
  llvm::SmallString<128> dir;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("attnc-run", dir))
    return inputError("cannot create a temporary directory: " + ec.message());
  std::string soPath = (dir + "/lib" + sig.name + ".so").str();
  llvm::scope_exit cleanup([&] {
    llvm::sys::fs::remove(soPath);
    llvm::sys::fs::remove(dir);
  });
  if (int rc = compileForCPU(inv, ir, {sig}, soPath))
    return rc;
  // The OpenMP runtime reads its thread count when it starts, at the first
  // parallel region of the library.
  if (inv.threads > 0)
    setenv("OMP_NUM_THREADS", std::to_string(inv.threads).c_str(), 1);
  std::string error;
  std::unique_ptr<runtime::LoadedLibrary> library =
      runtime::LoadedLibrary::load(soPath, error);
  if (!library)
    return inputError("cannot load the compiled library: " + error);
  runtime::LoadedLibrary::PackedFn fn = library->getPacked(sig.name);
  if (!fn)
    return inputError("internal error: no " + sig.name +
                      "_packed in the compiled library");

  std::vector<const std::vector<double> *> inputs;
  for (const interp::Tensor &arg : args)
    inputs.push_back(&arg.data);
  std::optional<runtime::EntryCall> call =
      runtime::EntryCall::prepare(sig, sizes, inputs, error);
  if (!call)
    return inputError(error);

  if (inv.command == Invocation::Command::Bench) {
    // A failed run-time check is an error, not a time.
    if (int32_t rc = call->call(fn)) // warm-up
      return inputError(runtime::describeEntryCode(sig.name, rc));
    std::vector<double> times;
    for (unsigned r = 0; r < inv.repeat; ++r) {
      auto start = std::chrono::steady_clock::now();
      int32_t rc = call->call(fn);
      auto stop = std::chrono::steady_clock::now();
      if (rc != 0)
        return inputError(runtime::describeEntryCode(sig.name, rc));
      times.push_back(std::chrono::duration<double>(stop - start).count());
    }
    std::sort(times.begin(), times.end());
    double median = times[times.size() / 2];
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double rssMb = usage.ru_maxrss / 1024.0;
    if (inv.json) {
      llvm::outs() << "{\"entry\": \"" << sig.name << "\", \"sizes\": {";
      bool first = true;
      for (const auto &[name, value] : sizes) {
        llvm::outs() << (first ? "" : ", ") << "\"" << name << "\": " << value;
        first = false;
      }
      llvm::outs() << "}, \"threads\": " << inv.threads
                   << ", \"repeat\": " << inv.repeat
                   << ", \"median_s\": " << llvm::format("%.6g", median)
                   << ", \"min_s\": " << llvm::format("%.6g", times.front())
                   << ", \"peak_rss_mb\": " << llvm::format("%.1f", rssMb)
                   << "}\n";
    } else {
      llvm::outs() << sig.name << ": median "
                   << llvm::format("%.3f", median * 1e3) << " ms, min "
                   << llvm::format("%.3f", times.front() * 1e3) << " ms over "
                   << inv.repeat << " runs, peak RSS "
                   << llvm::format("%.1f", rssMb) << " MB\n";
    }
    llvm::outs().flush();
    return kExitSuccess;
  }

  // On a failed run-time check the outputs hold unspecified values: no
  // result is written.
  if (int32_t rc = call->call(fn))
    return inputError(runtime::describeEntryCode(sig.name, rc));
  for (size_t i = 0; i < sig.outputs.size(); ++i) {
    const auto &out = sig.outputs[i];
    interp::Tensor t;
    t.kind = isFloat(out.elem)          ? interp::ElemKind::Float
             : out.elem == ElemType::I1 ? interp::ElemKind::Bool
                                        : interp::ElemKind::Int;
    t.shape = call->getOutputShape(i);
    if (!call->readOutput(i, t.data, error))
      return inputError("output '" + out.name + "': " + error);
    results.push_back(std::move(t));
  }
  return kExitSuccess;
}

/// `NAME: max_abs_err E max_rel_err R` against the interpreter; the
/// relative error is relative to the largest magnitude of the reference,
/// and is what it returns (infinite for a shape mismatch).
static double printComparison(llvm::raw_ostream &os, llvm::StringRef name,
                              const interp::Tensor &got,
                              const interp::Tensor &expected) {
  double maxAbs = 0, scale = 0;
  bool mismatch = got.shape != expected.shape;
  for (size_t i = 0; !mismatch && i < got.data.size(); ++i) {
    // Equal values (equal infinities included, whose difference is NaN)
    // agree.
    double diff = got.data[i] == expected.data[i]
                      ? 0.0
                      : std::fabs(got.data[i] - expected.data[i]);
    if (std::isnan(diff) &&
        !(std::isnan(got.data[i]) && std::isnan(expected.data[i])))
      diff = std::numeric_limits<double>::infinity();
    if (!std::isnan(diff))
      maxAbs = std::max(maxAbs, diff);
    if (std::isfinite(expected.data[i]))
      scale = std::max(scale, std::fabs(expected.data[i]));
  }
  if (mismatch) {
    os << name << ": shape " << npy::shapeToString(got.shape)
       << " differs from the interpreter's "
       << npy::shapeToString(expected.shape) << "\n";
    return std::numeric_limits<double>::infinity();
  }
  double rel = scale > 0 ? maxAbs / scale : maxAbs;
  os << name << ": max_abs_err " << llvm::format("%.3g", maxAbs)
     << " max_rel_err " << llvm::format("%.3g", rel) << " (vs interp)\n";
  return rel;
}

namespace {
/// The .npy files of a run: each is written beside its final name and
/// renamed once every entry has run, so that a failed run leaves no output
/// (a second entry that failed used to leave the first one's files).
class PendingOutputs {
public:
  PendingOutputs() = default;
  PendingOutputs(const PendingOutputs &) = delete;
  PendingOutputs &operator=(const PendingOutputs &) = delete;
  ~PendingOutputs() {
    for (const auto &file : files)
      llvm::sys::fs::remove(file.first);
  }

  /// The path to write for the output `finalPath`.
  std::string add(const std::string &finalPath) {
    files.emplace_back(finalPath + ".partial", finalPath);
    return files.back().first;
  }
  /// Renames every written file to its final name.
  int commit() {
    for (const auto &[partial, final] : files)
      if (std::error_code ec = llvm::sys::fs::rename(partial, final))
        return inputError("cannot write '" + final + "': " + ec.message());
    files.clear();
    return kExitSuccess;
  }

private:
  std::vector<std::pair<std::string, std::string>> files;
};
} // namespace

/// Runs one entry (`step`: its step entry NAME_step); `prefix` names its
/// outputs when several entries run. The outputs go to `outputs`.
static int runEntry(const Invocation &inv, Module &module, const Decl *entry,
                    llvm::StringRef prefix, PendingOutputs &outputs,
                    bool step = false) {
  // --entry: only the entry and what it uses are lowered.
  std::vector<const Decl *> roots;
  if (inv.entry)
    roots.push_back(entry);
  return withMLIR(module, roots, [&](mlir::ModuleOp ir) -> int {
    auto func = ir.lookupSymbol<mlir::func::FuncOp>(entry->getName());
    if (!func)
      return inputError("internal error: no func.func @" + entry->getName() +
                        " in the IR of " + inv.files.front());
    EntryPoint point(entry);
    if (step) {
      std::string reason;
      std::optional<EntryPoint> stepPoint = addStepEntry(entry, ir, reason);
      if (!stepPoint)
        return inputError("--entry " + entry->getName() + "_step: " + reason);
      point = std::move(*stepPoint);
    }
    std::string name = point.getName();

    // The func's arguments: the source parameters, then an arch's weights
    // (then a step entry's states).
    std::vector<EntryTensor> tensors;
    if (int rc = getEntryInputs(point, ir, tensors))
      return rc;
    std::vector<RunParam> params;
    for (EntryTensor &t : tensors)
      params.push_back({t.name, t.type, {}, {}, {}});

    for (const auto &[inputName, file] : inv.inputs) {
      auto it = llvm::find_if(
          params, [&](const RunParam &p) { return p.name == inputName; });
      if (it == params.end()) {
        std::vector<std::string> names;
        for (const RunParam &param : params)
          names.push_back(param.name);
        return usageError("--input " + inputName + ": '" + point.getName() +
                          "' has no parameter named '" + inputName +
                          "' (parameters: " + joinQuoted(names) + ")");
      }
      it->file = file;
    }
    std::map<std::string, int64_t> sizes;
    if (int rc = prepareArgs(inv, entry, params, sizes))
      return rc;
    std::vector<interp::Tensor> args;
    for (RunParam &param : params)
      args.push_back(std::move(param.value));

    std::vector<interp::Tensor> results;
    if (inv.command == Invocation::Command::Bench ||
        inv.backend == std::string("cpu")) {
      // The interpreter runs on the IR as MLIRGen left it.
      mlir::OwningOpRef<mlir::ModuleOp> original = ir.clone();
      if (int rc = runOnCPU(inv, point, ir, sizes, args, results))
        return rc;
      if (inv.command == Invocation::Command::Bench)
        return kExitSuccess;
      if (inv.compare) {
        std::vector<interp::Tensor> expected;
        if (int rc = runOnInterp(*original, name, args, expected))
          return rc;
        std::vector<std::string> names = getResultNames(point, results.size());
        double worst = 0;
        for (size_t i = 0; i < results.size(); ++i)
          worst = std::max(
              worst,
              printComparison(llvm::outs(),
                              prefix.empty() ? names[i]
                                             : (prefix + "." + names[i]).str(),
                              results[i], expected[i]));
        llvm::outs().flush();
        if (inv.tolerance && !(worst <= *inv.tolerance))
          return inputError(
              "'" + name + "' differs from the interpreter by a relative " +
              llvm::formatv("{0:e3}", worst).str() + ", above --tolerance " +
              llvm::formatv("{0:e3}", *inv.tolerance).str());
      }
    } else if (int rc = runOnInterp(ir, name, args, results)) {
      return rc;
    }

    if (std::error_code ec = llvm::sys::fs::create_directories(inv.outputDir))
      return inputError("cannot create the output directory '" + inv.outputDir +
                        "': " + ec.message());
    std::vector<std::string> names = getResultNames(point, results.size());
    for (size_t i = 0; i < results.size(); ++i) {
      std::string file =
          prefix.empty() ? names[i] : (prefix + "." + names[i]).str();
      llvm::SmallString<256> path(inv.outputDir);
      llvm::sys::path::append(path, file + ".npy");
      if (int rc = writeResult(outputs.add(std::string(path)), results[i]))
        return rc;
      printSummary(llvm::outs(), file, results[i]);
    }
    llvm::outs().flush();
    return kExitSuccess;
  });
}

/// The size symbols of an entry's parameters (a group's members included).
static llvm::StringSet<> getSizeSymbols(const Decl *entry) {
  llvm::StringSet<> symbols;
  std::function<void(const ValueType &)> add = [&](const ValueType &type) {
    for (const DimExpr &dim : type.getShape())
      for (const std::string &symbol : dim.getSymbols())
        symbols.insert(symbol);
    for (const auto &member : type.getMembers())
      add(member.second);
  };
  const std::vector<Param> &params = llvm::isa<FnDecl>(entry)
                                         ? llvm::cast<FnDecl>(entry)->params
                                         : llvm::cast<ArchDecl>(entry)->params;
  for (const Param &param : params)
    if (param.checkedType)
      add(*param.checkedType);
  return symbols;
}

/// A size --set applies to each entry run that has that size; it is a
/// usage error when none of them has it and it is no constant either.
static int checkSetNames(const Invocation &inv, const Module &module,
                         llvm::ArrayRef<const Decl *> entries) {
  std::vector<std::string> constants = getOverridableConstants(module);
  for (const std::string &name : inv.setNames) {
    if (llvm::is_contained(constants, name) ||
        llvm::any_of(entries, [&](const Decl *entry) {
          return getSizeSymbols(entry).contains(name);
        }))
      continue;
    std::vector<std::string> names;
    for (const Decl *entry : entries)
      names.push_back(entry->getName());
    return usageError("--set " + name + ": '" + name +
                      "' is neither a constant nor a size of " +
                      (names.size() == 1 ? "" : "any of ") + joinQuoted(names));
  }
  return kExitSuccess;
}

int attnc::driver::runRun(const Invocation &inv) {
  std::vector<Input> inputs;
  if (int rc = runFrontend(inv, inputs))
    return rc;
  Module &module = *inputs.front().module;

  // The entry: --entry NAME (NAME_step: the step entry of NAME), else
  // every fn and arch of FILE, in order.
  std::vector<const Decl *> entries = getEntries(module);
  std::vector<std::string> entryNames;
  for (const Decl *decl : entries)
    entryNames.push_back(decl->getName());
  if (inv.entry) {
    const Decl *entry = nullptr;
    bool step = false;
    for (const DeclPtr &decl : module.decls)
      if ((llvm::isa<FnDecl>(decl.get()) || llvm::isa<ArchDecl>(decl.get())) &&
          decl->getName() == *inv.entry)
        entry = decl.get();
    if (!entry && llvm::StringRef(*inv.entry).ends_with("_step"))
      for (const Decl *decl : entries)
        if (decl->getName() + "_step" == *inv.entry) {
          entry = decl;
          step = true;
        }
    if (const auto *fn = llvm::dyn_cast_or_null<FnDecl>(entry);
        fn && !isInstantiable(*fn))
      for (const ConstParam &c : fn->constParams)
        if (!fn->checkedConsts.count(c.name))
          return usageError("--entry " + *inv.entry + ": '" + *inv.entry +
                            "' has no value for its constant '" + c.name +
                            "' (give one with --set " + c.name + "=VALUE)");
    if (!entry)
      return usageError("--entry " + *inv.entry + ": no fn or arch named '" +
                        *inv.entry + "' in " + inv.files.front() +
                        (entryNames.empty()
                             ? std::string()
                             : " (entries: " + joinQuoted(entryNames) + ")"));
    if (int rc = checkSetNames(inv, module, {entry}))
      return rc;
    PendingOutputs outputs;
    if (int rc = runEntry(inv, module, entry, "", outputs, step))
      return rc;
    return outputs.commit();
  }
  if (entries.empty())
    return usageError(inv.files.front() + " defines no fn or arch to run");
  if (int rc = checkSetNames(inv, module, entries))
    return rc;
  PendingOutputs outputs;
  if (entries.size() == 1) {
    if (int rc = runEntry(inv, module, entries.front(), "", outputs))
      return rc;
    return outputs.commit();
  }
  if (!inv.inputs.empty())
    return usageError("--input needs --entry NAME: " + inv.files.front() +
                      " defines several fns and archs (entries: " +
                      joinQuoted(entryNames) + ")");
  for (const Decl *entry : entries)
    if (int rc = runEntry(inv, module, entry, entry->getName(), outputs))
      return rc;
  return outputs.commit();
}

int attnc::driver::runBench(const Invocation &inv) { return runRun(inv); }
