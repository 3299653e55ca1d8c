//===- TLEDialect.cpp - TLE dialect registration and verifiers -----------===//
#include "dialect/TLEDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace tle;
using tle::triton::MemDescType;

#include "dialect/TLEDialect.cpp.inc"

void TLEDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialect/TLEOps.cpp.inc"
      >();
}

#define GET_OP_CLASSES
#include "dialect/TLEOps.cpp.inc"

LogicalResult MemDescWgmmaViewOp::verify() {
  auto src = triton::getMemDesc(getSrc().getType());
  auto dst = triton::getMemDesc(getResult().getType());
  if (!src || !dst)
    return emitOpError("operand and result must be !ttg.memdesc types");
  ArrayRef<int32_t> order = getOrder();
  if (order.size() != src->shape.size() || !triton::isPermutation(order))
    return emitOpError("'order' must be a permutation of 0..") << src->shape.size() - 1
           << " (the source rank), got [" << order << "]";
  if (!src->inSharedMemory() || src->memorySpace != dst->memorySpace)
    return emitOpError("source and result must both live in shared memory (got '")
           << src->memorySpace.str() << "' and '" << dst->memorySpace.str() << "')";
  auto srcCount = src->numElements(), dstCount = dst->numElements();
  if (!srcCount || !dstCount)
    return emitOpError("the element count of a memdesc overflows");
  if (*srcCount != *dstCount)
    return emitOpError("a view must keep the element count: source has ")
           << *srcCount << ", result has " << *dstCount;
  if (src->elementType != dst->elementType || src->isMutable != dst->isMutable)
    return emitOpError("a view must keep the element type and mutability");
  for (auto [i, d] : llvm::enumerate(order))
    if (dst->shape[i] != src->shape[d])
      return emitOpError("result dimension ") << i << " must be source dimension " << d
             << " (" << src->shape[d] << "), got " << dst->shape[i];
  auto expected = triton::permutedView(*src, order);
  if (!expected || !triton::NvmmaSharedEncoding::from(dst->encoding))
    return emitOpError("WGMMA reads only #ttg.nvmma_shared tiles; source is '")
           << src->encoding.str() << "', result is '" << dst->encoding.str() << "'";
  if (expected->encoding != dst->encoding)
    return emitOpError("result encoding must be '")
           << expected->encoding.str() << "', got '" << dst->encoding.str() << "'";
  return success();
}

LogicalResult WgmmaSharedOperandFenceOp::verify() {
  if (getBuffers().empty())
    return emitOpError("must name at least one shared buffer it protects");
  for (auto [i, buffer] : llvm::enumerate(getBuffers())) {
    auto memdesc = triton::getMemDesc(buffer.getType());
    if (!memdesc || !memdesc->inSharedMemory())
      return emitOpError("operand #") << i << " must be a shared-memory !ttg.memdesc";
  }
  return success();
}
