//===- RuntimeChecks.cpp - cf.assert as an error code ---------------------===//
//
// Part of the attnc project, under the Apache License v2.0.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//
///
/// \file
/// See RuntimeChecks.h. Upstream's cf-to-llvm lowers cf.assert to a call of
/// abort(): a library must not end its caller's process over bad input, so
/// each failed check records an error code in a slot the entry owns (one
/// slot per call, so concurrent calls do not see each other's errors; the
/// write is atomic, since the check may run on several OpenMP threads).
///
//===----------------------------------------------------------------------===//

#include "RuntimeChecks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

#include "llvm/ADT/SetVector.h"

using namespace mlir;
using mlir::attnc::cpu::kCheckFailedCode;

namespace {

/// An entry: it owns the slot and returns the code.
bool isEntry(func::FuncOp f) {
  return f.isPublic() && f.getSymName().starts_with("__attnc_");
}

struct RuntimeChecksPass
    : PassWrapper<RuntimeChecksPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(RuntimeChecksPass)

  StringRef getArgument() const override { return "attnc-cpu-runtime-checks"; }
  StringRef getDescription() const override {
    return "Turn cf.assert into an error code that the entry returns";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry
        .insert<arith::ArithDialect, memref::MemRefDialect, scf::SCFDialect>();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // The functions that check, and (to a fixpoint) those that call them.
    llvm::SetVector<func::FuncOp> checking;
    for (auto f : module.getOps<func::FuncOp>())
      if (!f.isExternal() && f.walk([](cf::AssertOp) {
                                return WalkResult::interrupt();
                              }).wasInterrupted())
        checking.insert(f);
    SymbolTable symbols(module);
    auto callsChecking = [&](func::FuncOp f) {
      return f
          .walk([&](func::CallOp call) {
            auto callee = symbols.lookup<func::FuncOp>(call.getCallee());
            return callee && checking.contains(callee) ? WalkResult::interrupt()
                                                       : WalkResult::advance();
          })
          .wasInterrupted();
    };
    for (bool changed = true; changed;) {
      changed = false;
      for (auto f : module.getOps<func::FuncOp>())
        if (!f.isExternal() && !checking.contains(f) && callsChecking(f))
          changed |= checking.insert(f);
    }

    auto slotType = MemRefType::get({1}, IntegerType::get(&getContext(), 32));
    OpBuilder b(&getContext());
    for (func::FuncOp f : checking) {
      Location loc = f.getLoc();
      Value slot;
      if (isEntry(f)) {
        if (f.getNumResults() != 0) {
          f.emitError("an entry with run-time checks must have no results");
          return signalPassFailure();
        }
        b.setInsertionPointToStart(&f.getBody().front());
        slot = memref::AllocaOp::create(b, loc, slotType);
        Value zero = arith::ConstantIntOp::create(b, loc, 0, 32);
        Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
        memref::StoreOp::create(b, loc, zero, slot, c0);
        f.walk([&](func::ReturnOp ret) {
          b.setInsertionPoint(ret);
          Value code =
              memref::LoadOp::create(b, ret.getLoc(), slot, ValueRange{c0});
          ret->setOperands(code);
        });
        f.setFunctionType(
            b.getFunctionType(f.getArgumentTypes(), {b.getI32Type()}));
      } else {
        if (failed(f.insertArgument(f.getNumArguments(), slotType, {}, loc)))
          return signalPassFailure();
        slot = f.getArgument(f.getNumArguments() - 1);
      }
      // Calls pass the slot on.
      SmallVector<func::CallOp> calls;
      f.walk([&](func::CallOp call) {
        auto callee = symbols.lookup<func::FuncOp>(call.getCallee());
        if (callee && checking.contains(callee))
          calls.push_back(call);
      });
      for (func::CallOp call : calls) {
        SmallVector<Value> operands(call.getOperands());
        operands.push_back(slot);
        b.setInsertionPoint(call);
        auto newCall = func::CallOp::create(b, call.getLoc(), call.getCallee(),
                                            call.getResultTypes(), operands);
        newCall->setAttrs(call->getAttrs());
        call.replaceAllUsesWith(newCall.getResults());
        call.erase();
      }
      // A failed check records the code and the computation goes on.
      SmallVector<cf::AssertOp> asserts;
      f.walk([&](cf::AssertOp op) { asserts.push_back(op); });
      for (cf::AssertOp op : asserts) {
        b.setInsertionPoint(op);
        Location l = op.getLoc();
        Value failedCheck = arith::XOrIOp::create(
            b, l, op.getArg(), arith::ConstantIntOp::create(b, l, 1, 1));
        auto ifFailed = scf::IfOp::create(b, l, failedCheck);
        b.setInsertionPointToStart(&ifFailed.getThenRegion().front());
        Value code = arith::ConstantIntOp::create(b, l, kCheckFailedCode, 32);
        Value c0 = arith::ConstantIndexOp::create(b, l, 0);
        memref::AtomicRMWOp::create(b, l, arith::AtomicRMWKind::maxs, code,
                                    slot, ValueRange{c0});
        op.erase();
      }
    }
  }
};
} // namespace

std::unique_ptr<Pass> mlir::attnc::cpu::createRuntimeChecksPass() {
  return std::make_unique<RuntimeChecksPass>();
}
