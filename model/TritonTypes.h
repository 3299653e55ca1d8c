//===- TritonTypes.h - Typed model of Triton's textual types and encodings -===//
//
// TLE never links Triton: Triton's dialects stay unregistered, so their types and attributes
// reach us as opaque text (`!ttg.memdesc<...>`, `#ttg.nvidia_mma<{...}>`). This is the one place
// that turns that text into typed values and back, in Triton 3.6's exact printed syntax. Passes
// read and create Triton types only through this model.
//
//===----------------------------------------------------------------------===//
#ifndef TLE_MODEL_TRITONTYPES_H
#define TLE_MODEL_TRITONTYPES_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Types.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace tle::triton {

struct Encoding;
using EncodingPtr = std::shared_ptr<const Encoding>;

/// One `key = value` entry of an encoding's parameter dictionary. Values Triton prints as
/// integers, booleans, integer lists or nested encodings are typed; anything else is kept verbatim
/// so that unknown fields survive a round trip.
struct FieldValue {
  std::variant<int64_t, bool, llvm::SmallVector<int64_t>, EncodingPtr, std::string> value;

  std::optional<int64_t> getInt() const;
  std::optional<bool> getBool() const;
  std::optional<llvm::SmallVector<int64_t>> getInts() const;
  EncodingPtr getEncoding() const;
};

/// A Triton layout or memory-space attribute: `#ttg.<kind>` or `#ttg.<kind><{k = v, ...}>`.
struct Encoding {
  std::string dialect = "ttg";
  std::string kind;
  std::vector<std::pair<std::string, FieldValue>> fields; // printed order
  bool hasParams = false;

  const FieldValue *find(llvm::StringRef key) const;
  std::optional<int64_t> getInt(llvm::StringRef key) const;
  std::optional<bool> getBool(llvm::StringRef key) const;
  std::optional<llvm::SmallVector<int64_t>> getInts(llvm::StringRef key) const;
  EncodingPtr getParent() const;
  /// Set (or append) a field, keeping the position of an existing key.
  void set(llvm::StringRef key, FieldValue value);

  bool isa(llvm::StringRef k) const { return dialect == "ttg" && kind == k; }
  std::string str() const;
  bool operator==(const Encoding &other) const { return str() == other.str(); }
  bool operator!=(const Encoding &other) const { return !(*this == other); }
};

// Typed views of the encodings TLE reads or creates. Each `from` returns nullopt for another kind
// or a malformed instance (missing fields, ranks that disagree, a zero or negative size, an order
// that is not a permutation), so a pass that gets a view may index and divide by its fields;
// `toEncoding` writes the typed fields back into the generic form.
struct BlockedEncoding {
  llvm::SmallVector<int64_t> sizePerThread, threadsPerWarp, warpsPerCTA, order;
  Encoding base;
  static std::optional<BlockedEncoding> from(const Encoding &e);
  Encoding toEncoding() const;
};

struct NvidiaMmaEncoding {
  int64_t versionMajor = 0, versionMinor = 0;
  llvm::SmallVector<int64_t> warpsPerCTA, instrShape;
  Encoding base;
  static std::optional<NvidiaMmaEncoding> from(const Encoding &e);
  Encoding toEncoding() const;
  bool isHopperWgmma() const { return versionMajor == 3; }
};

struct DotOperandEncoding {
  int64_t opIdx = 0;
  EncodingPtr parent;
  std::optional<int64_t> kWidth;
  Encoding base;
  static std::optional<DotOperandEncoding> from(const Encoding &e);
  Encoding toEncoding() const;
};

struct SliceEncoding {
  int64_t dim = 0;
  EncodingPtr parent;
  Encoding base;
  static std::optional<SliceEncoding> from(const Encoding &e);
  Encoding toEncoding() const;
};

struct NvmmaSharedEncoding {
  int64_t swizzlingByteWidth = 0, elementBitWidth = 0;
  bool transposed = false;
  Encoding base;
  static std::optional<NvmmaSharedEncoding> from(const Encoding &e);
  Encoding toEncoding() const;
};

struct SwizzledSharedEncoding {
  int64_t vec = 1, perPhase = 1, maxPhase = 1;
  llvm::SmallVector<int64_t> order;
  Encoding base;
  static std::optional<SwizzledSharedEncoding> from(const Encoding &e);
  Encoding toEncoding() const;
};

/// `!ttg.memdesc<SHAPExELEM, ENCODING, MEMSPACE[, mutable][, ALLOCSHAPE]>`
struct MemDescType {
  llvm::SmallVector<int64_t> shape;
  mlir::Type elementType; // bf16, f8E4M3FN, i32, ... (a builtin type)
  Encoding encoding;
  Encoding memorySpace;
  bool isMutable = false;
  llvm::SmallVector<int64_t> allocShape; // empty when Triton omits it

  /// The product of `shape`; nullopt when it overflows int64_t.
  std::optional<int64_t> numElements() const;
  /// Bytes of the described memory; nullopt on overflow or for a non-numeric element type.
  std::optional<int64_t> numBytes() const;
  bool inSharedMemory() const { return memorySpace.isa("shared_memory"); }
  std::string str() const;
  bool operator==(const MemDescType &o) const { return str() == o.str(); }
  bool operator!=(const MemDescType &o) const { return !(*this == o); }
};

/// Whether `order` holds each of 0..order.size()-1 exactly once.
bool isPermutation(llvm::ArrayRef<int32_t> order);

/// The descriptor-only view of `src` with its dimensions permuted by `order`, as
/// `ttg.memdesc_trans` and `tle.memdesc_wgmma_view` produce it: the shape permuted, and the
/// NVMMA-shared `transposed` flag flipped when the two minor dimensions swap (other
/// permutations address the same bytes the same way). nullopt unless `src` is an NVMMA-shared
/// memdesc and `order` a permutation of its rank.
std::optional<MemDescType> permutedView(const MemDescType &src, llvm::ArrayRef<int32_t> order);

// Text <-> model. Errors carry a message that names the offending text.
struct ParseError {
  std::string message;
};
template <typename T> using Parsed = std::variant<T, ParseError>;

Parsed<Encoding> parseEncoding(llvm::StringRef text);
/// The element type is parsed in `ctx` (builtin types only; Triton's are opaque there).
Parsed<MemDescType> parseMemDesc(llvm::StringRef text, mlir::MLIRContext *ctx);

// MLIR values <-> model. With Triton's dialects unregistered, `!ttg.memdesc` is an
// mlir::OpaqueType and `#ttg.*` an mlir::OpaqueAttr.
std::optional<MemDescType> getMemDesc(mlir::Type type);
bool isMemDesc(mlir::Type type);
mlir::Type toType(mlir::MLIRContext *ctx, const MemDescType &memdesc);
std::optional<Encoding> getEncoding(mlir::Attribute attr);
mlir::Attribute toAttr(mlir::MLIRContext *ctx, const Encoding &encoding);
/// The layout of a ranked tensor type, if it has a Triton encoding.
std::optional<Encoding> getTensorEncoding(mlir::Type type);
/// `type` with every occurrence of encoding `from` (also nested as a parent) replaced by `to`:
/// tensor encodings and memdesc encodings. Returns `type` unchanged when nothing matches.
mlir::Type replaceEncoding(mlir::Type type, const Encoding &from, const Encoding &to);
Encoding replaceEncoding(const Encoding &enc, const Encoding &from, const Encoding &to);

/// `!tt.ptr<T>`: a scalar global pointer (a block pointer `!tt.ptr<tensor<...>>` is not one).
bool isPointer(mlir::Type type);
/// A ranked tensor of `!tt.ptr<...>` elements: the address operand of a gather `tt.load`.
bool isTensorOfPointers(mlir::Type type);
/// `!ttg.async.token`, the value of cp.async ops, commit groups and waits.
mlir::Type getAsyncTokenType(mlir::MLIRContext *ctx);

/// Whether the model reads `type` back exactly. For a `!ttg.memdesc` or a tensor with a Triton
/// layout: a message when the model cannot parse it or re-prints it differently; nullopt when it
/// round-trips, and for every type the model does not cover.
std::optional<std::string> checkRoundTrip(mlir::Type type);

} // namespace tle::triton

#endif // TLE_MODEL_TRITONTYPES_H
