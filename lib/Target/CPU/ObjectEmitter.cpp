//===- ObjectEmitter.cpp - LLVM dialect module to an object file ----------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// LLVM dialect -> llvm::Module (translateModuleToLLVMIR) -> the new-PM O3
/// pipeline with loop and SLP vectorization -> an ELF object (PIC) in memory,
/// through a TargetMachine for the host triple and the requested CPU.
///
/// The O3 pipeline and code generation take most of `attnc build`. When the
/// host has several cores and the module several sizeable functions (one
/// per entry and per outlined kernel, see attn-outline-kernels), the module
/// is split into partitions, as llvm/CodeGen/ParallelCG.h does for LTO:
/// each partition goes through bitcode into its own LLVMContext and is
/// optimized and compiled on its own thread, and `cc -r` merges the objects
/// into one. Functions stay in the partition of their only caller (OpenMP
/// bodies, single-use kernels), so that LLVM still inlines and specializes
/// them; only functions called across partitions lose internal linkage
/// (they become hidden).
///
//===----------------------------------------------------------------------===//

#include "attnc/Target/CPU/ObjectEmitter.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/OptimizationLevel.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/Threading.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"
#include "llvm/Transforms/Utils/Cloning.h"

#include <memory>
#include <mutex>
#include <thread>

using namespace mlir;
using namespace mlir::attnc::cpu;

namespace {

void initializeNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

/// The CPU name and feature string for `opts`: the host's own for "native".
std::pair<std::string, std::string> resolveCPU(const CodegenOptions &opts) {
  std::string cpu = opts.cpu;
  SmallVector<std::string> features;
  if (cpu.empty() || cpu == "native") {
    cpu = llvm::sys::getHostCPUName().str();
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      features.push_back((feature.second ? "+" : "-") + feature.first().str());
    // StringMap order is unspecified; keep the string deterministic.
    llvm::sort(features);
  }
  if (!opts.features.empty())
    features.push_back(opts.features);
  return {cpu, llvm::join(features, ",")};
}

/// The TargetMachine for the host triple and `opts`' CPU, or null with
/// `error` set. Each thread that optimizes or compiles needs its own.
std::unique_ptr<llvm::TargetMachine>
createTargetMachine(const CodegenOptions &opts, std::string &error) {
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  auto [cpu, features] = resolveCPU(opts);
  // Check the CPU name first: the TargetMachine would only print a warning
  // and fall back to the generic CPU.
  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      target->createMCSubtargetInfo(triple, "", ""));
  if (sti && !sti->isCPUStringValid(cpu)) {
    error = "unknown CPU '" + cpu + "' for " + triple.str();
    return nullptr;
  }
  llvm::CodeGenOptLevel cgLevel =
      opts.optLevel == 0   ? llvm::CodeGenOptLevel::None
      : opts.optLevel == 1 ? llvm::CodeGenOptLevel::Less
      : opts.optLevel == 2 ? llvm::CodeGenOptLevel::Default
                           : llvm::CodeGenOptLevel::Aggressive;
  std::unique_ptr<llvm::TargetMachine> tm(
      target->createTargetMachine(triple, cpu, features, llvm::TargetOptions(),
                                  llvm::Reloc::PIC_, std::nullopt, cgLevel));
  if (!tm)
    error = "no LLVM target machine for " + triple.str() + " cpu " + cpu;
  return tm;
}

} // namespace

int64_t mlir::attnc::cpu::microKernelVectors(const CodegenOptions &opts) {
  initializeNativeTarget();
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return 1;
  auto [cpu, features] = resolveCPU(opts);
  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      target->createMCSubtargetInfo(triple, cpu, features));
  if (!sti || !sti->isCPUStringValid(cpu))
    return 1;
  return sti->checkFeatures("+avx512f") ? 2 : 1;
}

namespace {

/// Translates `module` to LLVM IR in `llvmContext` and retargets it to
/// `tm`. Returns null with `error` set on failure.
std::unique_ptr<llvm::Module>
translate(ModuleOp module, const CodegenOptions &opts, llvm::TargetMachine &tm,
          llvm::LLVMContext &llvmContext, std::string &error,
          TimingScope &timing) {
  MLIRContext *context = module.getContext();
  registerBuiltinDialectTranslation(*context);
  registerLLVMDialectTranslation(*context);
  registerOpenMPDialectTranslation(*context);

  TimingScope translateTiming = timing.nest("translate to LLVM IR");
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext);
  translateTiming.stop();
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return nullptr;
  }

  llvmModule->setTargetTriple(tm.getTargetTriple());
  llvmModule->setDataLayout(tm.createDataLayout());
  // The vectorizers query TTI per function, which reads these attributes.
  auto [cpu, features] = resolveCPU(opts);
  for (llvm::Function &f : *llvmModule) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", cpu);
    if (!features.empty())
      f.addFnAttr("target-features", features);
  }
  return llvmModule;
}

/// Runs the default pipeline of `opts.optLevel` on `llvmModule`. Returns
/// false with `error` set when the result does not verify.
bool optimize(llvm::Module &llvmModule, llvm::TargetMachine &tm,
              const CodegenOptions &opts, std::string &error) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions pto;
  pto.LoopVectorization = opts.optLevel >= 2;
  pto.SLPVectorization = opts.optLevel >= 2;
  pto.LoopUnrolling = opts.optLevel >= 2;
  llvm::PassBuilder pb(&tm, pto);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel level =
      opts.optLevel == 0   ? llvm::OptimizationLevel::O0
      : opts.optLevel == 1 ? llvm::OptimizationLevel::O1
      : opts.optLevel == 2 ? llvm::OptimizationLevel::O2
                           : llvm::OptimizationLevel::O3;
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(level);
  mpm.run(llvmModule, mam);
  if (llvm::verifyModule(llvmModule, &llvm::errs())) {
    error = "the optimized LLVM module does not verify";
    return false;
  }
  return true;
}

/// Compiles `llvmModule` to an object file in `object`.
bool generateCode(llvm::Module &llvmModule, llvm::TargetMachine &tm,
                  SmallVectorImpl<char> &object, std::string &error) {
  object.clear();
  llvm::raw_svector_ostream os(object);
  llvm::legacy::PassManager codegen;
  if (tm.addPassesToEmitFile(codegen, os, nullptr,
                             llvm::CodeGenFileType::ObjectFile)) {
    error = "the LLVM target cannot emit object files";
    return false;
  }
  codegen.run(llvmModule);
  return true;
}

//===----------------------------------------------------------------------===//
// Parallel code generation
//===----------------------------------------------------------------------===//

/// Below this many IR instructions in all, one thread is as fast (splitting,
/// bitcode and the `cc -r` merge cost some 30 ms).
constexpr size_t kMinInstructionsToSplit = 2000;

/// The number of partitions: $ATTNC_LLVM_THREADS when set (1 turns
/// splitting off), else the cores available, at most 4.
unsigned getNumPartitions() {
  if (std::optional<std::string> env =
          llvm::sys::Process::GetEnv("ATTNC_LLVM_THREADS");
      env && !env->empty()) {
    unsigned n = 0;
    if (!StringRef(*env).getAsInteger(10, n) && n >= 1)
      return n;
  }
  return std::min(4u, llvm::hardware_concurrency().compute_thread_count());
}

/// Size of a function for balancing the partitions.
size_t getCost(const llvm::Function &f) { return f.getInstructionCount(); }

/// Assigns each function definition of `m` to one of `n` partitions and
/// returns the assignment, or an empty map when splitting does not pay
/// (or the module has something the split does not handle).
DenseMap<const llvm::Function *, unsigned> partitionFunctions(llvm::Module &m,
                                                              unsigned n) {
  DenseMap<const llvm::Function *, unsigned> partition;
  if (n < 2 || !m.alias_empty() || !m.ifunc_empty())
    return partition;

  // A local function whose uses are all instructions of one other function
  // stays with it: OpenMP parallel bodies (passed to __kmpc_fork_call) and
  // kernels with a single caller, which LLVM then inlines as before.
  llvm::EquivalenceClasses<const llvm::Function *> groups;
  size_t total = 0;
  for (llvm::Function &f : m) {
    if (f.isDeclaration())
      continue;
    groups.insert(&f);
    total += getCost(f);
    if (!f.hasLocalLinkage())
      continue;
    const llvm::Function *caller = nullptr;
    bool single = true;
    for (const llvm::User *user : f.users()) {
      const auto *inst = dyn_cast<llvm::Instruction>(user);
      const llvm::Function *parent = inst ? inst->getFunction() : nullptr;
      if (!parent || (caller && parent != caller)) {
        single = false;
        break;
      }
      caller = parent;
    }
    if (single && caller && caller != &f)
      groups.unionSets(&f, caller);
  }
  if (total < kMinInstructionsToSplit)
    return partition;

  // Greedy balancing, largest group first.
  SmallVector<std::pair<size_t, const llvm::Function *>> leaders;
  for (auto it = groups.begin(); it != groups.end(); ++it) {
    if (!(*it)->isLeader())
      continue;
    size_t cost = 0;
    for (auto member = groups.member_begin(**it); member != groups.member_end();
         ++member)
      cost += getCost(**member);
    leaders.push_back({cost, (*it)->getData()});
  }
  if (leaders.size() < 2)
    return partition;
  llvm::stable_sort(
      leaders, [](const auto &a, const auto &b) { return a.first > b.first; });
  SmallVector<size_t> load(std::min<size_t>(n, leaders.size()), 0);
  for (auto [cost, leader] : leaders) {
    unsigned least = std::min_element(load.begin(), load.end()) - load.begin();
    load[least] += cost;
    for (auto member = groups.findLeader(leader); member != groups.member_end();
         ++member)
      partition[*member] = least;
  }
  return partition;
}

/// Gives hidden external linkage, under a name of its own, to each local
/// symbol that partitions other than its own refer to (functions called
/// across partitions, mutable globals). Local constants are copied into
/// every partition instead.
void externalizeCrossReferences(
    llvm::Module &m,
    const DenseMap<const llvm::Function *, unsigned> &partition) {
  auto externalize = [](llvm::GlobalValue &gv) {
    gv.setName("attnc.local." + (gv.hasName() ? gv.getName() : "anon"));
    gv.setLinkage(llvm::GlobalValue::ExternalLinkage);
    gv.setVisibility(llvm::GlobalValue::HiddenVisibility);
  };
  for (llvm::Function &f : m) {
    if (f.isDeclaration() || !f.hasLocalLinkage())
      continue;
    unsigned own = partition.lookup(&f);
    bool crossed = llvm::any_of(f.users(), [&](const llvm::User *user) {
      const auto *inst = dyn_cast<llvm::Instruction>(user);
      return !inst || partition.lookup(inst->getFunction()) != own;
    });
    if (crossed)
      externalize(f);
  }
  for (llvm::GlobalVariable &gv : m.globals())
    if (!gv.isDeclaration() && gv.hasLocalLinkage() && !gv.isConstant())
      externalize(gv);
}

/// Writes merged relocatable object of `parts` into `object` with
/// `cc -r` ($ATTNC_CC when set, as linkSharedLibrary).
bool mergeObjects(ArrayRef<SmallVector<char, 0>> parts,
                  SmallVectorImpl<char> &object, std::string &error) {
  std::string name = "cc";
  if (std::optional<std::string> env = llvm::sys::Process::GetEnv("ATTNC_CC");
      env && !env->empty())
    name = *env;
  std::string driver = name;
  if (name.find('/') == std::string::npos) {
    llvm::ErrorOr<std::string> path = llvm::sys::findProgramByName(name);
    if (!path) {
      error = "cannot find the C compiler driver '" + name + "' on PATH";
      return false;
    }
    driver = *path;
  }

  // The partitions' objects, then the merged one; all removed on return.
  SmallVector<SmallString<128>> paths;
  llvm::scope_exit removeAll([&] {
    for (const SmallString<128> &path : paths)
      llvm::sys::fs::remove(path);
  });
  for (ArrayRef<char> part : parts) {
    SmallString<128> path;
    int fd;
    if (llvm::sys::fs::createTemporaryFile("attnc-part", "o", fd, path)) {
      error = "cannot create a temporary object file";
      return false;
    }
    paths.push_back(path);
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os.write(part.data(), part.size());
    os.close();
    if (os.has_error()) {
      error = "cannot write " + path.str().str();
      os.clear_error();
      return false;
    }
  }
  SmallString<128> merged;
  if (llvm::sys::fs::createTemporaryFile("attnc-merged", "o", merged)) {
    error = "cannot create a temporary object file";
    return false;
  }
  paths.push_back(merged);

  SmallVector<StringRef> args = {driver, "-r", "-nostdlib", "-o", merged};
  for (const SmallString<128> &path : ArrayRef(paths).drop_back())
    args.push_back(path);
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(driver, args, /*Env=*/std::nullopt,
                                     /*Redirects=*/{}, /*SecondsToWait=*/0,
                                     /*MemoryLimit=*/0, &message);
  if (rc != 0) {
    error = "merging the partitions' objects with '" + driver + " -r' failed" +
            (message.empty() ? "" : ": " + message);
    return false;
  }
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(merged);
  if (!buffer) {
    error = "cannot read " + merged.str().str();
    return false;
  }
  object.assign((*buffer)->getBufferStart(), (*buffer)->getBufferEnd());
  return true;
}

/// Optimizes and compiles `llvmModule` in the partitions of `partition`, one
/// thread each, into one object.
bool emitPartitioned(
    llvm::Module &llvmModule,
    const DenseMap<const llvm::Function *, unsigned> &partition,
    const CodegenOptions &opts, SmallVectorImpl<char> &object,
    std::string &error, TimingScope &timing) {
  TimingScope splitTiming = timing.nest("split the LLVM module");
  externalizeCrossReferences(llvmModule, partition);
  unsigned numParts = 0;
  for (auto [f, part] : partition)
    numParts = std::max(numParts, part + 1);
  // Each partition travels as bitcode into a context of its own.
  SmallVector<SmallVector<char, 0>> bitcode(numParts);
  for (unsigned part = 0; part < numParts; ++part) {
    llvm::ValueToValueMapTy map;
    std::unique_ptr<llvm::Module> clone =
        llvm::CloneModule(llvmModule, map, [&](const llvm::GlobalValue *gv) {
          if (const auto *f = dyn_cast<llvm::Function>(gv))
            return partition.lookup(f) == part;
          // Local constants are copied where used (GlobalDCE drops the
          // others); everything else is defined by the first partition.
          if (gv->hasLocalLinkage())
            return true;
          return part == 0;
        });
    llvm::raw_svector_ostream os(bitcode[part]);
    llvm::WriteBitcodeToFile(*clone, os);
  }
  splitTiming.stop();

  TimingScope parallelTiming =
      timing.nest("LLVM optimization and code generation (" +
                  std::to_string(numParts) + " threads)");
  SmallVector<SmallVector<char, 0>> objects(numParts);
  SmallVector<std::string> errors(numParts);
  auto work = [&](unsigned part) {
    llvm::LLVMContext context;
    llvm::Expected<std::unique_ptr<llvm::Module>> module =
        llvm::parseBitcodeFile(
            llvm::MemoryBufferRef(
                StringRef(bitcode[part].data(), bitcode[part].size()),
                "partition"),
            context);
    if (!module) {
      errors[part] = llvm::toString(module.takeError());
      return;
    }
    std::unique_ptr<llvm::TargetMachine> tm =
        createTargetMachine(opts, errors[part]);
    if (!tm)
      return;
    if (!optimize(**module, *tm, opts, errors[part]))
      return;
    generateCode(**module, *tm, objects[part], errors[part]);
  };
  std::vector<std::thread> threads;
  for (unsigned part = 1; part < numParts; ++part)
    threads.emplace_back(work, part);
  work(0);
  for (std::thread &thread : threads)
    thread.join();
  parallelTiming.stop();
  for (const std::string &partError : errors)
    if (!partError.empty()) {
      error = partError;
      return false;
    }

  TimingScope mergeTiming = timing.nest("merge the objects");
  return mergeObjects(objects, object, error);
}

} // namespace

LogicalResult mlir::attnc::cpu::emitObjectFile(ModuleOp llvmDialectModule,
                                               const CodegenOptions &opts,
                                               SmallVectorImpl<char> &object,
                                               std::string &error,
                                               TimingScope timing) {
  initializeNativeTarget();
  std::unique_ptr<llvm::TargetMachine> tm = createTargetMachine(opts, error);
  if (!tm)
    return failure();
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translate(llvmDialectModule, opts, *tm, llvmContext, error, timing);
  if (!llvmModule)
    return failure();

  DenseMap<const llvm::Function *, unsigned> partition =
      partitionFunctions(*llvmModule, getNumPartitions());
  if (!partition.empty())
    return success(
        emitPartitioned(*llvmModule, partition, opts, object, error, timing));

  TimingScope optimizeTiming = timing.nest("LLVM optimization");
  if (!optimize(*llvmModule, *tm, opts, error))
    return failure();
  optimizeTiming.stop();
  TimingScope codegenTiming = timing.nest("LLVM code generation");
  return success(generateCode(*llvmModule, *tm, object, error));
}

LogicalResult mlir::attnc::cpu::emitLLVMIRText(ModuleOp llvmDialectModule,
                                               const CodegenOptions &opts,
                                               std::string &text,
                                               std::string &error) {
  initializeNativeTarget();
  std::unique_ptr<llvm::TargetMachine> tm = createTargetMachine(opts, error);
  if (!tm)
    return failure();
  llvm::LLVMContext llvmContext;
  TimingScope noTiming;
  std::unique_ptr<llvm::Module> llvmModule =
      translate(llvmDialectModule, opts, *tm, llvmContext, error, noTiming);
  if (!llvmModule || !optimize(*llvmModule, *tm, opts, error))
    return failure();
  text.clear();
  llvm::raw_string_ostream os(text);
  llvmModule->print(os, nullptr);
  return success();
}
