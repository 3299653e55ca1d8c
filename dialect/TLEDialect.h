//===- TLEDialect.h - The TLE dialect and its ops -------------------------===//
#ifndef TLE_DIALECT_TLEDIALECT_H
#define TLE_DIALECT_TLEDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "model/TritonTypes.h"

#include "dialect/TLEDialect.h.inc"

#define GET_OP_CLASSES
#include "dialect/TLEOps.h.inc"

#endif // TLE_DIALECT_TLEDIALECT_H
