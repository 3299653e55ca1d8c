//===- PassSupport.h - What every TLE pass shares --------------------------===//
//
// Every TLE pass derives from TLEPass, which runs the checks all of them rely on before the pass
// itself (the __TLE__ gate of passes that rewrite Triton's own IR, SSA order), and reports
// refusals one way: a remark at the op that blocked the rewrite, saying why.
//
//===----------------------------------------------------------------------===//
#ifndef TLE_PASSES_PASSSUPPORT_H
#define TLE_PASSES_PASSSUPPORT_H

#include "mlir/IR/Operation.h"
#include "mlir/Pass/Pass.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"

#include <string>

namespace tle {

/// Why a pass left the IR alone, and the op that blocked the rewrite. Analyses return one; the
/// pass reports it with TLEPass::refuse.
struct Refusal {
  mlir::Operation *at = nullptr;
  std::string reason;
};

/// Reports a refusal of `pass`: the remark "<pass>: <reason>" at `at`. Refusals are part of each
/// pass's contract (Passes.td lists them; a lit test covers each): they tell a user why a
/// kernel was left as it was. Returns failure() so that `return refuse(...)` ends an attempt.
mlir::LogicalResult refuse(mlir::Operation *at, llvm::StringRef pass, const llvm::Twine &reason);

/// What every TLE pass checks first: a pass that the pass table (Registration.cpp) marks as
/// rewriting Triton's own IR fails with an explanation in a build without __TLE__, and no pass
/// runs on IR that uses a value before defining it (MLIR accepts that in regions of
/// unregistered ops; every pass that moves, merges or clones ops relies on the order).
mlir::LogicalResult checkPassCanRun(mlir::Operation *root, llvm::StringRef passArgument);

/// The values `op` defines: its results, then the arguments of its regions' blocks (the values
/// whose Triton types the type checks read).
inline llvm::SmallVector<mlir::Value> definedValues(mlir::Operation *op) {
  llvm::SmallVector<mlir::Value> values(op->getResults());
  for (mlir::Region &region : op->getRegions())
    for (mlir::Block &block : region)
      values.append(block.getArguments().begin(), block.getArguments().end());
  return values;
}

/// Base of every TLE pass: `struct P : TLEPass<P, impl::TLEPBase> { void execute(); }`.
template <typename Derived, template <typename> class PassBase>
class TLEPass : public PassBase<Derived> {
  using Inherited = PassBase<Derived>;

public:
  using Inherited::Inherited;

  void runOnOperation() final {
    if (mlir::failed(checkPassCanRun(this->getOperation(), this->getArgument())))
      return this->signalPassFailure();
    static_cast<Derived *>(this)->execute();
  }

protected:
  mlir::LogicalResult refuse(mlir::Operation *at, const llvm::Twine &reason) const {
    return tle::refuse(at, this->getArgument(), reason);
  }
  mlir::LogicalResult refuse(const Refusal &refusal) const {
    return refuse(refusal.at, refusal.reason);
  }
};

} // namespace tle

#endif // TLE_PASSES_PASSSUPPORT_H
