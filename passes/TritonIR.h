//===- TritonIR.h - Typed views of Triton's (unregistered) ops -------------===//
//
// Triton's dialects are not registered in TLE's tools: its ops reach the passes as generic
// operations whose operands sit at positions and whose inherent attributes sit in a properties
// dictionary (`<{...}>`). This header is the one place that knows those names and positions
// (Triton 3.6's generic form); a newer Triton that renames an op, an operand or a property is
// fixed here.
//
// An op view binds to an operation only when it has the structure the view's accessors rely on
// (name, operand and result counts, required properties), so `if (auto dot =
// WarpGroupDot::bind(op))` is also the structural check: a pass that cannot bind a view refuses.
// Types and layouts are read through model/TritonTypes.h; alias and ring-slot reasoning over
// these views lives in passes/SharedMemory.h.
//
//===----------------------------------------------------------------------===//
#ifndef TLE_PASSES_TRITONIR_H
#define TLE_PASSES_TRITONIR_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/StringRef.h"

#include <optional>

namespace tle::tritonir {

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

// Ops.
inline constexpr llvm::StringLiteral kWarpGroupDot = "ttng.warp_group_dot";
inline constexpr llvm::StringLiteral kWarpGroupDotWait = "ttng.warp_group_dot_wait";
inline constexpr llvm::StringLiteral kFenceAsyncShared = "ttng.fence_async_shared";
inline constexpr llvm::StringLiteral kLocalAlloc = "ttg.local_alloc";
inline constexpr llvm::StringLiteral kLocalLoad = "ttg.local_load";
inline constexpr llvm::StringLiteral kLocalStore = "ttg.local_store";
inline constexpr llvm::StringLiteral kLocalDealloc = "ttg.local_dealloc";
inline constexpr llvm::StringLiteral kAsyncCopyGlobalToLocal = "ttg.async_copy_global_to_local";
inline constexpr llvm::StringLiteral kAsyncWait = "ttg.async_wait";
inline constexpr llvm::StringLiteral kAsyncCommitGroup = "ttg.async_commit_group";
inline constexpr llvm::StringLiteral kMemDescIndex = "ttg.memdesc_index";
inline constexpr llvm::StringLiteral kMemDescTrans = "ttg.memdesc_trans";
inline constexpr llvm::StringLiteral kMemDescSubslice = "ttg.memdesc_subslice";
inline constexpr llvm::StringLiteral kMemDescReinterpret = "ttg.memdesc_reinterpret";
inline constexpr llvm::StringLiteral kMemDescReshape = "ttg.memdesc_reshape";
inline constexpr llvm::StringLiteral kTleWgmmaView = "tle.memdesc_wgmma_view";
inline constexpr llvm::StringLiteral kTleFence = "tle.wgmma_shared_operand_fence";
inline constexpr llvm::StringLiteral kTrans = "tt.trans";
inline constexpr llvm::StringLiteral kSplat = "tt.splat";
inline constexpr llvm::StringLiteral kLoad = "tt.load";
inline constexpr llvm::StringLiteral kFunc = "tt.func";
inline constexpr llvm::StringLiteral kReduce = "tt.reduce";
inline constexpr llvm::StringLiteral kReduceReturn = "tt.reduce.return";
inline constexpr llvm::StringLiteral kScan = "tt.scan";
inline constexpr llvm::StringLiteral kScanReturn = "tt.scan.return";
inline constexpr llvm::StringLiteral kScfFor = "scf.for";
inline constexpr llvm::StringLiteral kScfIf = "scf.if";
inline constexpr llvm::StringLiteral kScfWhile = "scf.while";
inline constexpr llvm::StringLiteral kScfYield = "scf.yield";
inline constexpr llvm::StringLiteral kArithConstant = "arith.constant";
inline constexpr llvm::StringLiteral kArithAddI = "arith.addi";
inline constexpr llvm::StringLiteral kArithMulI = "arith.muli";
inline constexpr llvm::StringLiteral kArithAndI = "arith.andi";
inline constexpr llvm::StringLiteral kArithCmpI = "arith.cmpi";
inline constexpr llvm::StringLiteral kArithSelect = "arith.select";

// Properties (inherent attributes, kept in the `<{...}>` dictionary), one constant each.
inline constexpr llvm::StringLiteral kIsAsyncProp = "isAsync";
inline constexpr llvm::StringLiteral kPendingsProp = "pendings";
inline constexpr llvm::StringLiteral kNumProp = "num";
inline constexpr llvm::StringLiteral kOrderProp = "order";
inline constexpr llvm::StringLiteral kValueProp = "value";
inline constexpr llvm::StringLiteral kPredicateProp = "predicate";
inline constexpr llvm::StringLiteral kSegmentsProp = "operandSegmentSizes";
inline constexpr llvm::StringLiteral kCacheProp = "cache";
inline constexpr llvm::StringLiteral kEvictProp = "evict";
inline constexpr llvm::StringLiteral kIsVolatileProp = "isVolatile";
inline constexpr llvm::StringLiteral kBoundaryCheckProp = "boundaryCheck";
inline constexpr llvm::StringLiteral kContiguityProp = "contiguity";
inline constexpr llvm::StringLiteral kBClusterProp = "bCluster";
inline constexpr llvm::StringLiteral kSymNameProp = "sym_name";
inline constexpr llvm::StringLiteral kUnsignedCmpProp = "unsignedCmp";

// Discardable attributes.
inline constexpr llvm::StringLiteral kNumWarpsAttr = "ttg.num-warps";        // module
inline constexpr llvm::StringLiteral kThreadsPerWarpAttr = "ttg.threads-per-warp"; // module
/// Loop attribute read by Triton 3.6's pipeliner: loops with a value <= 1 are not pipelined.
inline constexpr llvm::StringLiteral kNumStagesAttr = "tt.num_stages";

/// arith.cmpi predicates (MLIR's arith::CmpIPredicate numbering).
enum CmpIPredicate : int64_t { kEq = 0, kSlt = 2, kSge = 5, kUlt = 6 };

//===----------------------------------------------------------------------===//
// Reading attributes
//===----------------------------------------------------------------------===//

bool isOp(mlir::Operation *op, llvm::StringRef name);

/// An attribute of a Triton op. Unregistered ops keep inherent attributes in a properties
/// dictionary that Operation::getAttr does not search; this looks there first.
mlir::Attribute getAttr(mlir::Operation *op, llvm::StringRef name);
template <typename T> T getAttrOfType(mlir::Operation *op, llvm::StringRef name) {
  return llvm::dyn_cast_or_null<T>(getAttr(op, name));
}
/// An integer attribute's value; nullopt when absent, not an integer, or wider than 64 bits
/// (IntegerAttr::getInt asserts on those).
std::optional<int64_t> getIntAttr(mlir::Operation *op, llvm::StringRef name);
/// A boolean flag: a BoolAttr's value, true for any other attribute (a unit flag), `otherwise`
/// when absent.
bool getFlag(mlir::Operation *op, llvm::StringRef name, bool otherwise = false);
/// The properties of `op` with `name` set to `value`.
mlir::DictionaryAttr withProperty(mlir::Operation *op, llvm::StringRef name,
                                  mlir::Attribute value);

/// The module's warps per CTA and threads per warp: nullopt unless positive integers.
std::optional<int64_t> getNumWarps(mlir::Operation *module);
std::optional<int64_t> getThreadsPerWarp(mlir::Operation *module);

//===----------------------------------------------------------------------===//
// Building generic-form ops
//===----------------------------------------------------------------------===//

/// An op in Triton's generic form; inherent attributes go into properties, as Triton prints them.
mlir::Operation *createOp(mlir::OpBuilder &b, mlir::Location loc, llvm::StringRef name,
                          mlir::ValueRange operands, mlir::TypeRange types,
                          llvm::ArrayRef<mlir::NamedAttribute> props = {});
mlir::Value buildIntConstant(mlir::OpBuilder &b, mlir::Location loc, mlir::Type type,
                             int64_t value);
/// `name(lhs, rhs)` of the operands' type (arith.addi, arith.muli, arith.andi, ...).
mlir::Value buildBinary(mlir::OpBuilder &b, mlir::Location loc, llvm::StringRef name,
                        mlir::Value lhs, mlir::Value rhs);
mlir::Value buildCmpI(mlir::OpBuilder &b, mlir::Location loc, CmpIPredicate pred, mlir::Value lhs,
                      mlir::Value rhs);
mlir::Value buildSelect(mlir::OpBuilder &b, mlir::Location loc, mlir::Value cond,
                        mlir::Value ifTrue, mlir::Value ifFalse);
/// `tt.splat` of a scalar into a tensor of `type`.
mlir::Value buildSplat(mlir::OpBuilder &b, mlir::Location loc, mlir::Value scalar,
                       mlir::Type type);
void buildFenceAsyncShared(mlir::OpBuilder &b, mlir::Location loc, bool bCluster);
mlir::Value buildMemDescIndex(mlir::OpBuilder &b, mlir::Location loc, mlir::Type slotType,
                              mlir::Value ring, mlir::Value index);
mlir::Value buildMemDescTrans(mlir::OpBuilder &b, mlir::Location loc, mlir::Type type,
                              mlir::Value src, llvm::ArrayRef<int32_t> order);
mlir::Value buildLocalAlloc(mlir::OpBuilder &b, mlir::Location loc, mlir::Type type);
void buildLocalDealloc(mlir::OpBuilder &b, mlir::Location loc, mlir::Value buffer);
mlir::Value buildAsyncWait(mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange tokens,
                           int32_t num);
mlir::Value buildAsyncCommitGroup(mlir::OpBuilder &b, mlir::Location loc,
                                  mlir::ValueRange tokens);
/// `ttng.warp_group_dot_wait` passing `operands` through.
mlir::Operation *buildWarpGroupDotWait(mlir::OpBuilder &b, mlir::Location loc,
                                       mlir::ValueRange operands, int32_t pendings);

//===----------------------------------------------------------------------===//
// Op views
//===----------------------------------------------------------------------===//

/// Base of the views: the bound operation, null when the view did not bind.
class OpView {
public:
  mlir::Operation *getOperation() const { return op; }
  mlir::Operation *operator->() const { return op; }
  explicit operator bool() const { return op != nullptr; }
  mlir::Location getLoc() const { return op->getLoc(); }

protected:
  OpView() = default;
  explicit OpView(mlir::Operation *op) : op(op) {}
  mlir::Operation *op = nullptr;
};

/// `ttng.warp_group_dot(a, b, c[, useC]) {isAsync} -> d`, d of c's type.
class WarpGroupDot : public OpView {
public:
  static constexpr unsigned kAccOperand = 2;
  static WarpGroupDot bind(mlir::Operation *op);
  static WarpGroupDot bind(mlir::Value v) { return bind(v.getDefiningOp()); }
  mlir::Value a() const { return op->getOperand(0); }
  mlir::Value b() const { return op->getOperand(1); }
  mlir::Value acc() const { return op->getOperand(kAccOperand); }
  mlir::Value result() const { return op->getResult(0); }
  bool isAsync() const { return getFlag(op, kIsAsyncProp); }
  /// The operands (a, b) that are read from shared memory (memdesc values).
  llvm::SmallVector<mlir::Value, 2> sharedOperands() const;
  /// The op after which the WGMMA no longer reads its operands: the dot itself when
  /// synchronous, else the first wait after it in its block that retires it; null when none.
  mlir::Operation *endOfRead() const;

private:
  using OpView::OpView;
};

/// `ttng.warp_group_dot_wait(v...) {pendings} -> v...`: waits until at most `pendings` WGMMA
/// groups are in flight and passes its operands through (result i is operand i, same type).
class WarpGroupDotWait : public OpView {
public:
  static WarpGroupDotWait bind(mlir::Operation *op);
  static WarpGroupDotWait bind(mlir::Value v) { return bind(v.getDefiningOp()); }
  int64_t pendings() const { return *getIntAttr(op, kPendingsProp); }
  /// `pendings = 0`: every WGMMA issued before it has retired.
  bool retiresAll() const { return pendings() == 0; }
  unsigned size() const { return op->getNumOperands(); }
  mlir::Value input(unsigned i) const { return op->getOperand(i); }
  mlir::Value output(unsigned i) const { return op->getResult(i); }
  /// A wait like this one (properties and attributes) passing `operands` through, at `b`.
  WarpGroupDotWait cloneWithOperands(mlir::OpBuilder &b, mlir::ValueRange operands) const;

private:
  using OpView::OpView;
};

/// Any op whose result views operand 0's shared memory without moving data.
class MemDescView : public OpView {
public:
  static MemDescView bind(mlir::Operation *op);
  static MemDescView bind(mlir::Value v) { return bind(v.getDefiningOp()); }
  mlir::Value src() const { return op->getOperand(0); }
  mlir::Value result() const { return op->getResult(0); }

private:
  using OpView::OpView;
};

/// `ttg.memdesc_index(buffer, index) -> slot`: one slot of a ring.
class MemDescIndex : public OpView {
public:
  static MemDescIndex bind(mlir::Operation *op);
  static MemDescIndex bind(mlir::Value v) { return bind(v.getDefiningOp()); }
  mlir::Value src() const { return op->getOperand(0); }
  mlir::Value index() const { return op->getOperand(1); }
  mlir::Value result() const { return op->getResult(0); }

private:
  using OpView::OpView;
};

/// `ttg.local_alloc([src]) -> memdesc`: a shared buffer, initialized from registers when `src`.
class LocalAlloc : public OpView {
public:
  static LocalAlloc bind(mlir::Operation *op);
  static LocalAlloc bind(mlir::Value v) { return bind(v.getDefiningOp()); }
  /// The registers it is initialized from; null for an uninitialized buffer.
  mlir::Value src() const { return op->getNumOperands() ? op->getOperand(0) : mlir::Value(); }
  mlir::Value result() const { return op->getResult(0); }

private:
  using OpView::OpView;
};

/// `ttg.local_load(src[, token]) -> tensor`.
class LocalLoad : public OpView {
public:
  static LocalLoad bind(mlir::Operation *op);
  static LocalLoad bind(mlir::Value v) { return bind(v.getDefiningOp()); }
  mlir::Value src() const { return op->getOperand(0); }
  mlir::Value result() const { return op->getResult(0); }

private:
  using OpView::OpView;
};

/// `ttg.local_store(value, dst)`.
class LocalStore : public OpView {
public:
  static LocalStore bind(mlir::Operation *op);
  mlir::Value value() const { return op->getOperand(0); }
  mlir::Value dst() const { return op->getOperand(1); }

private:
  using OpView::OpView;
};

/// `tt.trans(src) {order} -> tensor`.
class Trans : public OpView {
public:
  static Trans bind(mlir::Operation *op);
  static Trans bind(mlir::Value v) { return bind(v.getDefiningOp()); }
  mlir::Value src() const { return op->getOperand(0); }
  mlir::Value result() const { return op->getResult(0); }
  llvm::ArrayRef<int32_t> order() const;

private:
  using OpView::OpView;
};

/// `tt.load(ptr[, mask[, other]]) {operandSegmentSizes, cache, evict, isVolatile, ...}`.
class Load : public OpView {
public:
  static Load bind(mlir::Operation *op);
  static Load bind(mlir::Value v) { return bind(v.getDefiningOp()); }
  mlir::Value ptr() const { return op->getOperand(0); }
  mlir::Value mask() const { return maskIndex ? op->getOperand(maskIndex) : mlir::Value(); }
  mlir::Value other() const { return otherIndex ? op->getOperand(otherIndex) : mlir::Value(); }
  mlir::Value result() const { return op->getResult(0); }
  bool isVolatile() const { return getFlag(op, kIsVolatileProp); }
  bool hasBoundaryCheck() const;
  /// The cache, eviction and volatility properties, which a copy replacing the load keeps.
  llvm::SmallVector<mlir::NamedAttribute> memoryProperties() const;
  /// This load with its mask replaced by `mask`, built at `b`; the load itself is unchanged.
  Load cloneWithMask(mlir::OpBuilder &b, mlir::Value mask) const;

private:
  using OpView::OpView;
  unsigned maskIndex = 0, otherIndex = 0; // 0: absent (operand 0 is the pointer)
};

/// `ttg.async_copy_global_to_local(src, dst[, mask[, other]]) -> token` (cp.async).
class AsyncCopy : public OpView {
public:
  static AsyncCopy bind(mlir::Operation *op);
  static AsyncCopy bind(mlir::Value v) { return bind(v.getDefiningOp()); }
  mlir::Value src() const { return op->getOperand(0); }
  mlir::Value dst() const { return op->getOperand(1); }
  mlir::Value token() const { return op->getResult(0); }
  /// `src -> dst` masked by `mask` (null: none), padded with `other`, with `props` (cache,
  /// evict, volatility of the load it replaces).
  static AsyncCopy build(mlir::OpBuilder &b, mlir::Location loc, mlir::Value src, mlir::Value dst,
                         mlir::Value mask, mlir::Value other,
                         llvm::ArrayRef<mlir::NamedAttribute> props);

private:
  using OpView::OpView;
};

/// `arith.constant() {value} -> r`.
class ArithConstant : public OpView {
public:
  static ArithConstant bind(mlir::Operation *op);
  static ArithConstant bind(mlir::Value v) { return bind(v.getDefiningOp()); }
  mlir::Attribute value() const { return getAttr(op, kValueProp); }
  /// The scalar integer value; nullopt for other constants or wider than 64 bits.
  std::optional<int64_t> intValue() const { return getIntAttr(op, kValueProp); }
  /// A splat of integer or floating-point (+)zero.
  bool isZeroSplat() const;

private:
  using OpView::OpView;
};
/// The value of an integer `arith.constant`.
std::optional<int64_t> getConstantInt(mlir::Value v);

/// `arith.select(cond, ifTrue, ifFalse)`.
class Select : public OpView {
public:
  static Select bind(mlir::Operation *op);
  static Select bind(mlir::Value v) { return bind(v.getDefiningOp()); }
  mlir::Value cond() const { return op->getOperand(0); }
  mlir::Value ifTrue() const { return op->getOperand(1); }
  mlir::Value ifFalse() const { return op->getOperand(2); }

private:
  using OpView::OpView;
};

/// A two-operand arith op of one name: `arith.addi(lhs, rhs)`, `arith.cmpi(lhs, rhs)`, ...
class BinaryOp : public OpView {
public:
  static BinaryOp bind(mlir::Operation *op, llvm::StringRef name);
  static BinaryOp bind(mlir::Value v, llvm::StringRef name) {
    return bind(v.getDefiningOp(), name);
  }
  mlir::Value lhs() const { return op->getOperand(0); }
  mlir::Value rhs() const { return op->getOperand(1); }
  /// The other operand when one of them is `v`; null otherwise.
  mlir::Value otherThan(mlir::Value v) const;
  /// arith.cmpi's predicate.
  std::optional<int64_t> predicate() const { return getIntAttr(op, kPredicateProp); }

private:
  using OpView::OpView;
};

/// `scf.for(lb, ub, step, inits...) ({^bb(iv, iterArgs...): ...; scf.yield(next...)}) ->
/// results`, with matching counts and types.
class ForOp : public OpView {
public:
  static ForOp bind(mlir::Operation *op);
  /// The loop that `arg` is an iter arg of (not the induction variable), and its index.
  static ForOp ofIterArg(mlir::BlockArgument arg, unsigned &index);
  mlir::Value lb() const { return op->getOperand(0); }
  mlir::Value ub() const { return op->getOperand(1); }
  mlir::Value step() const { return op->getOperand(2); }
  unsigned numIterArgs() const { return op->getNumOperands() - 3; }
  mlir::Value init(unsigned i) const { return op->getOperand(3 + i); }
  mlir::Block *body() const { return &op->getRegion(0).front(); }
  /// The terminator (Block::getTerminator asserts on a registered non-terminator).
  mlir::Operation *yield() const { return &body()->back(); }
  mlir::Value yielded(unsigned i) const { return yield()->getOperand(i); }
  mlir::BlockArgument iv() const { return body()->getArgument(0); }
  mlir::BlockArgument iterArg(unsigned i) const { return body()->getArgument(1 + i); }
  /// The body without its terminator (Block::without_terminator does not know that the
  /// unregistered scf.yield is one).
  llvm::iterator_range<mlir::Block::iterator> bodyOps() const {
    return llvm::make_range(body()->begin(), mlir::Block::iterator(yield()));
  }
  /// The loop compares its induction variable unsigned (a unit or boolean flag in newer MLIR).
  bool unsignedCmp() const { return getFlag(op, kUnsignedCmpProp); }

private:
  using OpView::OpView;
};

/// `tt.func` with its symbol name.
class FuncOp : public OpView {
public:
  static FuncOp bind(mlir::Operation *op);
  /// The name; empty when the function has none.
  llvm::StringRef name() const;

private:
  using OpView::OpView;
};

//===----------------------------------------------------------------------===//
// Op classes
//===----------------------------------------------------------------------===//

/// Ops whose result is a view of operand 0's shared memory (no data moved).
bool isMemDescView(mlir::Operation *op);

/// Loops whose body may run more than once.
bool isLoop(mlir::Operation *op);

/// Ops with no memory effects, no side effects and no regions (arith, math, tensor shape and
/// pointer arithmetic, layout conversions): safe to clone, to run ahead of time and to erase.
bool isPureOp(mlir::Operation *op);

/// Whether `op` or anything nested in it may write global memory (stores, atomics, TMA stores,
/// calls, unknown ops). Conservative: only ops known not to write global memory answer false.
bool mayWriteGlobalMemory(mlir::Operation *op);

//===----------------------------------------------------------------------===//
// Structure every pass relies on
//===----------------------------------------------------------------------===//

/// Checks that every operand under `root` is defined before its use. Triton's regions are SSA
/// regions, but with its dialects unregistered MLIR treats them as graph regions and accepts a use
/// before its definition; passes that reorder or merge ops rely on the order. Emits an error at
/// the first offending op.
mlir::LogicalResult verifySSAOrder(mlir::Operation *root);

} // namespace tle::tritonir

#endif // TLE_PASSES_TRITONIR_H
