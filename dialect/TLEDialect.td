//===- TLEDialect.td - The TLE dialect ---------------------*- tablegen -*-===//
#ifndef TLE_DIALECT_TD
#define TLE_DIALECT_TD

include "mlir/IR/OpBase.td"

def TLE_Dialect : Dialect {
  let name = "tle";
  let summary = "Triton Language Extensions: ops TLE passes place into Triton GPU IR";
  let description = [{
    TLE ops live inside Triton TTGIR (whose dialects stay unregistered in TLE's tools) and are
    lowered back to stock Triton ops before the IR returns to Triton.
  }];
  let cppNamespace = "::tle";
}

// A `!ttg.memdesc<...>` (an opaque type while Triton's dialects are unregistered).
def TLE_MemDesc : Type<CPred<"::tle::triton::isMemDesc($_self)">,
                       "Triton shared-memory descriptor (!ttg.memdesc)">;

class TLE_Op<string mnemonic, list<Trait> traits = []> : Op<TLE_Dialect, mnemonic, traits>;

#endif // TLE_DIALECT_TD
