//===- TritonTypes.cpp - Parse and print Triton's textual types ----------===//
#include "model/TritonTypes.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using namespace tle::triton;

//===----------------------------------------------------------------------===//
// FieldValue / Encoding accessors
//===----------------------------------------------------------------------===//

std::optional<int64_t> FieldValue::getInt() const {
  if (auto *v = std::get_if<int64_t>(&value))
    return *v;
  return std::nullopt;
}
std::optional<bool> FieldValue::getBool() const {
  if (auto *v = std::get_if<bool>(&value))
    return *v;
  return std::nullopt;
}
std::optional<SmallVector<int64_t>> FieldValue::getInts() const {
  if (auto *v = std::get_if<SmallVector<int64_t>>(&value))
    return *v;
  return std::nullopt;
}
EncodingPtr FieldValue::getEncoding() const {
  if (auto *v = std::get_if<EncodingPtr>(&value))
    return *v;
  return nullptr;
}

const FieldValue *Encoding::find(StringRef key) const {
  for (auto &[k, v] : fields)
    if (k == key)
      return &v;
  return nullptr;
}
std::optional<int64_t> Encoding::getInt(StringRef key) const {
  auto *f = find(key);
  return f ? f->getInt() : std::nullopt;
}
std::optional<bool> Encoding::getBool(StringRef key) const {
  auto *f = find(key);
  return f ? f->getBool() : std::nullopt;
}
std::optional<SmallVector<int64_t>> Encoding::getInts(StringRef key) const {
  auto *f = find(key);
  return f ? f->getInts() : std::nullopt;
}
EncodingPtr Encoding::getParent() const {
  auto *f = find("parent");
  return f ? f->getEncoding() : nullptr;
}
void Encoding::set(StringRef key, FieldValue value) {
  hasParams = true;
  for (auto &[k, v] : fields)
    if (k == key) {
      v = std::move(value);
      return;
    }
  fields.emplace_back(key.str(), std::move(value));
}

//===----------------------------------------------------------------------===//
// Printing (Triton 3.6 syntax: `#ttg.kind<{a = 1, b = [1, 2], c = true}>`)
//===----------------------------------------------------------------------===//

static void printInts(raw_ostream &os, ArrayRef<int64_t> values, StringRef sep) {
  llvm::interleave(values, os, sep);
}

static void printValue(raw_ostream &os, const FieldValue &v) {
  std::visit(
      [&](auto &&x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, int64_t>)
          os << x;
        else if constexpr (std::is_same_v<T, bool>)
          os << (x ? "true" : "false");
        else if constexpr (std::is_same_v<T, SmallVector<int64_t>>) {
          os << '[';
          printInts(os, x, ", ");
          os << ']';
        } else if constexpr (std::is_same_v<T, EncodingPtr>)
          os << x->str();
        else
          os << x;
      },
      v.value);
}

std::string Encoding::str() const {
  std::string s;
  raw_string_ostream os(s);
  os << '#' << dialect << '.' << kind;
  if (hasParams) {
    os << "<{";
    llvm::interleave(
        fields, os,
        [&](auto &kv) {
          os << kv.first << " = ";
          printValue(os, kv.second);
        },
        ", ");
    os << "}>";
  }
  return s;
}

std::optional<int64_t> MemDescType::numElements() const {
  std::optional<int64_t> n = 1;
  for (int64_t d : shape)
    if (!(n = llvm::checkedMul(*n, d)))
      return std::nullopt;
  return n;
}

std::optional<int64_t> MemDescType::numBytes() const {
  if (!elementType || !elementType.isIntOrFloat())
    return std::nullopt;
  auto elements = numElements();
  int64_t width = elementType.getIntOrFloatBitWidth();
  if (!elements)
    return std::nullopt;
  if (width % 8 == 0) // whole bytes: no bit count that could overflow first
    return llvm::checkedMul(*elements, width / 8);
  auto bits = llvm::checkedMul(*elements, width);
  auto rounded = bits ? llvm::checkedAdd(*bits, int64_t(7)) : std::nullopt;
  return rounded ? std::optional<int64_t>(*rounded / 8) : std::nullopt;
}

std::string MemDescType::str() const {
  std::string s;
  raw_string_ostream os(s);
  os << "!ttg.memdesc<";
  for (int64_t d : shape)
    os << d << 'x';
  if (elementType)
    elementType.print(os);
  else
    os << "<<null>>";
  os << ", " << encoding.str() << ", " << memorySpace.str();
  if (isMutable)
    os << ", mutable";
  if (!allocShape.empty()) {
    os << ", ";
    printInts(os, allocShape, "x");
  }
  os << '>';
  return s;
}

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

namespace {
/// Recursive-descent reader over one attribute or type spelling.
class Reader {
public:
  explicit Reader(StringRef text, mlir::MLIRContext *ctx = nullptr) : text(text), ctx(ctx) {}

  bool failed() const { return !error.empty(); }
  std::string error;

  void fail(const Twine &msg) {
    if (error.empty())
      error = (msg + " at offset " + Twine(pos) + " in '" + text + "'").str();
  }
  void skipSpace() {
    while (pos < text.size() && isSpace(text[pos]))
      ++pos;
  }
  bool atEnd() {
    skipSpace();
    return pos >= text.size();
  }
  bool consume(StringRef tok) {
    skipSpace();
    if (text.substr(pos).starts_with(tok)) {
      pos += tok.size();
      return true;
    }
    return false;
  }
  void expect(StringRef tok) {
    if (!consume(tok))
      fail("expected '" + tok + "'");
  }
  StringRef identifier() {
    skipSpace();
    size_t start = pos;
    while (pos < text.size() && (isAlnum(text[pos]) || text[pos] == '_'))
      ++pos;
    if (start == pos)
      fail("expected identifier");
    return text.slice(start, pos);
  }
  std::optional<int64_t> integer() {
    skipSpace();
    size_t start = pos;
    if (pos < text.size() && text[pos] == '-')
      ++pos;
    while (pos < text.size() && isDigit(text[pos]))
      ++pos;
    int64_t v;
    if (text.slice(start, pos).getAsInteger(10, v)) {
      pos = start;
      return std::nullopt;
    }
    return v;
  }
  /// Text up to the next ',' or closing bracket at nesting depth 0.
  StringRef rawUntilSeparator() {
    skipSpace();
    size_t start = pos;
    int depth = 0;
    for (; pos < text.size(); ++pos) {
      char c = text[pos];
      if (c == '<' || c == '[' || c == '{' || c == '(')
        ++depth;
      else if (c == '>' || c == ']' || c == '}' || c == ')') {
        if (depth == 0)
          break;
        --depth;
      } else if (c == ',' && depth == 0)
        break;
    }
    return text.slice(start, pos).rtrim();
  }

  FieldValue value() {
    skipSpace();
    size_t start = pos;
    if (consume("#")) {
      pos = start;
      return FieldValue{std::make_shared<Encoding>(encoding())};
    }
    if (consume("[")) {
      SmallVector<int64_t> ints;
      if (consume("]"))
        return FieldValue{ints};
      while (true) {
        auto v = integer();
        if (!v)
          break; // nested list or non-integer list: keep verbatim
        ints.push_back(*v);
        if (consume("]"))
          return FieldValue{ints};
        if (!consume(","))
          break;
      }
      pos = start;
      return FieldValue{rawUntilSeparator().str()};
    }
    StringRef raw = rawUntilSeparator();
    if (raw == "true")
      return FieldValue{true};
    if (raw == "false")
      return FieldValue{false};
    int64_t v;
    if (!raw.getAsInteger(10, v))
      return FieldValue{v};
    if (raw.empty())
      fail("expected a value");
    return FieldValue{raw.str()};
  }

  Encoding encoding() {
    Encoding e;
    expect("#");
    e.dialect = identifier().str();
    expect(".");
    e.kind = identifier().str();
    if (failed())
      return e;
    if (consume("<")) {
      e.hasParams = true;
      expect("{");
      if (!consume("}")) {
        while (!failed()) {
          std::string key = identifier().str();
          expect("=");
          if (failed())
            break;
          FieldValue v = value();
          e.fields.emplace_back(std::move(key), std::move(v));
          if (consume("}"))
            break;
          expect(",");
        }
      }
      expect(">");
    }
    return e;
  }

  MemDescType memdesc() {
    MemDescType m;
    expect("!ttg.memdesc<");
    // SHAPE 'x' ELEMENT: leading integer dimensions, then the element type.
    StringRef first = rawUntilSeparator();
    pos += 0;
    SmallVector<StringRef> parts;
    first.split(parts, 'x');
    size_t i = 0;
    for (; i < parts.size(); ++i) {
      int64_t d;
      if (parts[i].getAsInteger(10, d))
        break;
      if (d < 0) {
        fail("negative memdesc dimension");
        return m;
      }
      m.shape.push_back(d);
    }
    if (i == parts.size()) {
      fail("memdesc has no element type");
      return m;
    }
    std::string element = join(ArrayRef<StringRef>(parts).drop_front(i), "x");
    m.elementType = parseElementType(element);
    if (!m.elementType) {
      fail("memdesc element type '" + element + "' is not a builtin type");
      return m;
    }
    if (!consume(","))
      fail("memdesc needs an encoding");
    if (failed())
      return m;
    m.encoding = encoding();
    expect(",");
    if (failed())
      return m;
    m.memorySpace = encoding();
    while (!failed() && consume(",")) {
      if (consume("mutable")) {
        m.isMutable = true;
        continue;
      }
      StringRef alloc = rawUntilSeparator();
      SmallVector<StringRef> dims;
      alloc.split(dims, 'x');
      for (StringRef d : dims) {
        int64_t v;
        if (d.trim().getAsInteger(10, v) || v < 0) {
          fail("bad memdesc allocation shape '" + alloc + "'");
          break;
        }
        m.allocShape.push_back(v);
      }
    }
    expect(">");
    return m;
  }

  /// A builtin type spelled exactly by `spelling` (diagnostics of a failed parse are dropped).
  mlir::Type parseElementType(StringRef spelling) {
    if (!ctx || spelling.empty())
      return {};
    mlir::ScopedDiagnosticHandler quiet(ctx, [](mlir::Diagnostic &) { return mlir::success(); });
    size_t read = 0;
    mlir::Type type = mlir::parseType(spelling, ctx, &read);
    return type && read == spelling.size() ? type : mlir::Type();
  }

  StringRef text;
  mlir::MLIRContext *ctx;
  size_t pos = 0;
};
} // namespace

Parsed<Encoding> tle::triton::parseEncoding(StringRef text) {
  Reader r(text);
  Encoding e = r.encoding();
  if (!r.failed() && !r.atEnd())
    r.fail("trailing text after encoding");
  if (r.failed())
    return ParseError{r.error};
  return e;
}

Parsed<MemDescType> tle::triton::parseMemDesc(StringRef text, mlir::MLIRContext *ctx) {
  Reader r(text, ctx);
  MemDescType m = r.memdesc();
  if (!r.failed() && !r.atEnd())
    r.fail("trailing text after memdesc");
  if (r.failed())
    return ParseError{r.error};
  return m;
}

//===----------------------------------------------------------------------===//
// Typed views
//===----------------------------------------------------------------------===//

#define TLE_REQUIRE(expr)                                                      \
  if (!(expr))                                                                 \
    return std::nullopt;

static bool allPositive(ArrayRef<int64_t> values) {
  return llvm::all_of(values, [](int64_t v) { return v > 0; });
}

/// `order` as a permutation of 0..rank-1 (Triton prints orders as integer lists).
static bool isOrderOf(ArrayRef<int64_t> order, size_t rank) {
  if (order.size() != rank)
    return false;
  SmallVector<int32_t> narrow;
  for (int64_t d : order) {
    if (d < 0 || d >= (int64_t)rank)
      return false;
    narrow.push_back((int32_t)d);
  }
  return isPermutation(narrow);
}

std::optional<BlockedEncoding> BlockedEncoding::from(const Encoding &e) {
  TLE_REQUIRE(e.isa("blocked"));
  BlockedEncoding b;
  auto spt = e.getInts("sizePerThread"), tpw = e.getInts("threadsPerWarp"),
       wpc = e.getInts("warpsPerCTA"), ord = e.getInts("order");
  TLE_REQUIRE(spt && tpw && wpc && ord);
  size_t rank = spt->size();
  TLE_REQUIRE(rank > 0 && tpw->size() == rank && wpc->size() == rank && isOrderOf(*ord, rank));
  TLE_REQUIRE(allPositive(*spt) && allPositive(*tpw) && allPositive(*wpc));
  b.sizePerThread = *spt, b.threadsPerWarp = *tpw, b.warpsPerCTA = *wpc, b.order = *ord;
  b.base = e;
  return b;
}
Encoding BlockedEncoding::toEncoding() const {
  Encoding e = base;
  e.kind = "blocked";
  e.set("sizePerThread", {sizePerThread});
  e.set("threadsPerWarp", {threadsPerWarp});
  e.set("warpsPerCTA", {warpsPerCTA});
  e.set("order", {order});
  return e;
}

std::optional<NvidiaMmaEncoding> NvidiaMmaEncoding::from(const Encoding &e) {
  TLE_REQUIRE(e.isa("nvidia_mma"));
  NvidiaMmaEncoding m;
  auto maj = e.getInt("versionMajor"), min = e.getInt("versionMinor");
  auto wpc = e.getInts("warpsPerCTA"), instr = e.getInts("instrShape");
  TLE_REQUIRE(maj && min && wpc && instr);
  TLE_REQUIRE(!wpc->empty() && !instr->empty() && allPositive(*wpc) && allPositive(*instr));
  m.versionMajor = *maj, m.versionMinor = *min, m.warpsPerCTA = *wpc, m.instrShape = *instr;
  m.base = e;
  return m;
}
Encoding NvidiaMmaEncoding::toEncoding() const {
  Encoding e = base;
  e.kind = "nvidia_mma";
  e.set("versionMajor", {versionMajor});
  e.set("versionMinor", {versionMinor});
  e.set("warpsPerCTA", {warpsPerCTA});
  e.set("instrShape", {instrShape});
  return e;
}

std::optional<DotOperandEncoding> DotOperandEncoding::from(const Encoding &e) {
  TLE_REQUIRE(e.isa("dot_op"));
  DotOperandEncoding d;
  auto idx = e.getInt("opIdx");
  TLE_REQUIRE(idx && (*idx == 0 || *idx == 1) && e.getParent());
  d.opIdx = *idx, d.parent = e.getParent(), d.kWidth = e.getInt("kWidth");
  TLE_REQUIRE(!d.kWidth || *d.kWidth > 0);
  d.base = e;
  return d;
}
Encoding DotOperandEncoding::toEncoding() const {
  Encoding e = base;
  e.kind = "dot_op";
  e.set("opIdx", {opIdx});
  e.set("parent", {parent});
  if (kWidth)
    e.set("kWidth", {*kWidth});
  return e;
}

std::optional<SliceEncoding> SliceEncoding::from(const Encoding &e) {
  TLE_REQUIRE(e.isa("slice"));
  SliceEncoding s;
  auto dim = e.getInt("dim");
  TLE_REQUIRE(dim && *dim >= 0 && e.getParent());
  s.dim = *dim, s.parent = e.getParent();
  s.base = e;
  return s;
}
Encoding SliceEncoding::toEncoding() const {
  Encoding e = base;
  e.kind = "slice";
  e.set("dim", {dim});
  e.set("parent", {parent});
  return e;
}

std::optional<NvmmaSharedEncoding> NvmmaSharedEncoding::from(const Encoding &e) {
  TLE_REQUIRE(e.isa("nvmma_shared"));
  NvmmaSharedEncoding n;
  auto swz = e.getInt("swizzlingByteWidth"), bits = e.getInt("elementBitWidth");
  auto tr = e.getBool("transposed");
  TLE_REQUIRE(swz && bits && tr && *swz >= 0 && *bits > 0);
  n.swizzlingByteWidth = *swz, n.elementBitWidth = *bits, n.transposed = *tr;
  n.base = e;
  return n;
}
Encoding NvmmaSharedEncoding::toEncoding() const {
  Encoding e = base;
  e.kind = "nvmma_shared";
  e.set("swizzlingByteWidth", {swizzlingByteWidth});
  e.set("transposed", {transposed});
  e.set("elementBitWidth", {elementBitWidth});
  return e;
}

std::optional<SwizzledSharedEncoding> SwizzledSharedEncoding::from(const Encoding &e) {
  TLE_REQUIRE(e.isa("swizzled_shared"));
  SwizzledSharedEncoding s;
  auto vec = e.getInt("vec"), pp = e.getInt("perPhase"), mp = e.getInt("maxPhase");
  auto ord = e.getInts("order");
  TLE_REQUIRE(vec && pp && mp && ord && *vec > 0 && *pp > 0 && *mp > 0 &&
              isOrderOf(*ord, ord->size()));
  s.vec = *vec, s.perPhase = *pp, s.maxPhase = *mp, s.order = *ord;
  s.base = e;
  return s;
}
Encoding SwizzledSharedEncoding::toEncoding() const {
  Encoding e = base;
  e.kind = "swizzled_shared";
  e.set("vec", {vec});
  e.set("perPhase", {perPhase});
  e.set("maxPhase", {maxPhase});
  e.set("order", {order});
  return e;
}

bool tle::triton::isPermutation(ArrayRef<int32_t> order) {
  SmallVector<bool> seen(order.size(), false);
  for (int32_t d : order) {
    if (d < 0 || d >= (int32_t)order.size() || seen[d])
      return false;
    seen[d] = true;
  }
  return true;
}

std::optional<MemDescType> tle::triton::permutedView(const MemDescType &src,
                                                     ArrayRef<int32_t> order) {
  auto enc = NvmmaSharedEncoding::from(src.encoding);
  if (!enc || order.size() != src.shape.size() || !isPermutation(order))
    return std::nullopt;
  MemDescType view = src;
  for (auto [i, d] : llvm::enumerate(order))
    view.shape[i] = src.shape[d];
  size_t r = order.size();
  if (r >= 2 && order[r - 1] == (int32_t)r - 2 && order[r - 2] == (int32_t)r - 1)
    enc->transposed = !enc->transposed;
  view.encoding = enc->toEncoding();
  return view;
}

//===----------------------------------------------------------------------===//
// MLIR bridge
//===----------------------------------------------------------------------===//

std::optional<MemDescType> tle::triton::getMemDesc(mlir::Type type) {
  auto opaque = dyn_cast_or_null<mlir::OpaqueType>(type);
  if (!opaque || opaque.getDialectNamespace().getValue() != "ttg" ||
      !opaque.getTypeData().starts_with("memdesc<"))
    return std::nullopt;
  auto parsed = parseMemDesc(("!ttg." + opaque.getTypeData()).str(), type.getContext());
  if (auto *m = std::get_if<MemDescType>(&parsed))
    return *m;
  return std::nullopt;
}

bool tle::triton::isMemDesc(mlir::Type type) { return getMemDesc(type).has_value(); }

mlir::Type tle::triton::toType(mlir::MLIRContext *ctx, const MemDescType &memdesc) {
  std::string text = memdesc.str();
  return mlir::OpaqueType::get(mlir::StringAttr::get(ctx, "ttg"),
                               StringRef(text).drop_front(strlen("!ttg.")));
}

std::optional<Encoding> tle::triton::getEncoding(mlir::Attribute attr) {
  auto opaque = dyn_cast_or_null<mlir::OpaqueAttr>(attr);
  if (!opaque)
    return std::nullopt;
  std::string text =
      ("#" + opaque.getDialectNamespace().getValue() + "." + opaque.getAttrData()).str();
  auto parsed = parseEncoding(text);
  if (auto *e = std::get_if<Encoding>(&parsed))
    return *e;
  return std::nullopt;
}

mlir::Attribute tle::triton::toAttr(mlir::MLIRContext *ctx, const Encoding &encoding) {
  std::string text = encoding.str();
  std::string data = StringRef(text).drop_front(encoding.dialect.size() + 2).str();
  return mlir::OpaqueAttr::get(mlir::StringAttr::get(ctx, encoding.dialect), data,
                               mlir::NoneType::get(ctx));
}

std::optional<Encoding> tle::triton::getTensorEncoding(mlir::Type type) {
  auto tensor = dyn_cast_or_null<mlir::RankedTensorType>(type);
  if (!tensor)
    return std::nullopt;
  return getEncoding(tensor.getEncoding());
}

Encoding tle::triton::replaceEncoding(const Encoding &enc, const Encoding &from,
                                      const Encoding &to) {
  if (enc == from)
    return to;
  Encoding out = enc;
  for (auto &[key, value] : out.fields)
    if (auto nested = value.getEncoding())
      value = FieldValue{std::make_shared<Encoding>(replaceEncoding(*nested, from, to))};
  return out;
}

mlir::Type tle::triton::replaceEncoding(mlir::Type type, const Encoding &from,
                                        const Encoding &to) {
  mlir::MLIRContext *ctx = type.getContext();
  if (auto tensor = dyn_cast<mlir::RankedTensorType>(type)) {
    auto enc = getEncoding(tensor.getEncoding());
    if (!enc)
      return type;
    Encoding replaced = replaceEncoding(*enc, from, to);
    if (replaced == *enc)
      return type;
    return mlir::RankedTensorType::get(tensor.getShape(), tensor.getElementType(),
                                       toAttr(ctx, replaced));
  }
  if (auto memdesc = getMemDesc(type)) {
    Encoding replaced = replaceEncoding(memdesc->encoding, from, to);
    if (replaced == memdesc->encoding)
      return type;
    memdesc->encoding = replaced;
    return toType(ctx, *memdesc);
  }
  return type;
}

bool tle::triton::isPointer(mlir::Type type) {
  auto opaque = dyn_cast_or_null<mlir::OpaqueType>(type);
  return opaque && opaque.getDialectNamespace().getValue() == "tt" &&
         opaque.getTypeData().starts_with("ptr<") &&
         !opaque.getTypeData().starts_with("ptr<tensor<");
}

bool tle::triton::isTensorOfPointers(mlir::Type type) {
  auto tensor = dyn_cast_or_null<mlir::RankedTensorType>(type);
  return tensor && isPointer(tensor.getElementType());
}

mlir::Type tle::triton::getAsyncTokenType(mlir::MLIRContext *ctx) {
  return mlir::OpaqueType::get(mlir::StringAttr::get(ctx, "ttg"), "async.token");
}

std::optional<std::string> tle::triton::checkRoundTrip(mlir::Type type) {
  std::string original, printed;
  if (auto opaque = dyn_cast<mlir::OpaqueType>(type);
      opaque && opaque.getDialectNamespace().getValue() == "ttg" &&
      opaque.getTypeData().starts_with("memdesc<")) {
    original = ("!ttg." + opaque.getTypeData()).str();
    auto parsed = parseMemDesc(original, type.getContext());
    if (auto *err = std::get_if<ParseError>(&parsed))
      return "TLE's Triton model cannot read this type: " + err->message;
    printed = std::get<MemDescType>(parsed).str();
  } else if (auto tensor = dyn_cast<mlir::RankedTensorType>(type)) {
    auto opaque = dyn_cast_or_null<mlir::OpaqueAttr>(tensor.getEncoding());
    if (!opaque)
      return std::nullopt;
    original = ("#" + opaque.getDialectNamespace().getValue() + "." + opaque.getAttrData()).str();
    auto parsed = parseEncoding(original);
    if (auto *err = std::get_if<ParseError>(&parsed))
      return "TLE's Triton model cannot read this type: " + err->message;
    printed = std::get<Encoding>(parsed).str();
  } else {
    return std::nullopt;
  }
  if (original != printed)
    return "TLE's Triton model re-printed '" + original + "' as '" + printed + "'";
  return std::nullopt;
}
