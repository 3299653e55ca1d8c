// RUN: %tle-opt %s -split-input-file -verify-diagnostics
// One case per verifier rule of the TLE ops.

!k = !ttg.memdesc<64x576xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!kt = !ttg.memdesc<576x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
%k = "test.src"() : () -> !k
// expected-error @below {{'order' must be a permutation of 0..1 (the source rank), got [1, 1]}}
%0 = tle.memdesc_wgmma_view %k {order = array<i32: 1, 1>} : !k -> !kt

// -----
!k = !ttg.memdesc<64x576xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!kt = !ttg.memdesc<576x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
%k = "test.src"() : () -> !k
// expected-error @below {{'order' must be a permutation of 0..1 (the source rank), got [2, 1, 0]}}
%0 = tle.memdesc_wgmma_view %k {order = array<i32: 2, 1, 0>} : !k -> !kt

// -----
!k = !ttg.memdesc<64x576xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.tensor_memory, mutable>
!kt = !ttg.memdesc<576x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.tensor_memory, mutable>
%k = "test.src"() : () -> !k
// expected-error @below {{source and result must both live in shared memory (got '#ttg.tensor_memory' and '#ttg.tensor_memory')}}
%0 = tle.memdesc_wgmma_view %k {order = array<i32: 1, 0>} : !k -> !kt

// -----
!k = !ttg.memdesc<64x576xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!kt = !ttg.memdesc<512x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
%k = "test.src"() : () -> !k
// expected-error @below {{a view must keep the element count: source has 36864, result has 32768}}
%0 = tle.memdesc_wgmma_view %k {order = array<i32: 1, 0>} : !k -> !kt

// -----
!k = !ttg.memdesc<64x576xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!kt = !ttg.memdesc<576x64xf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
%k = "test.src"() : () -> !k
// expected-error @below {{a view must keep the element type and mutability}}
%0 = tle.memdesc_wgmma_view %k {order = array<i32: 1, 0>} : !k -> !kt

// -----
!k = !ttg.memdesc<64x576xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!kt = !ttg.memdesc<64x576xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
%k = "test.src"() : () -> !k
// expected-error @below {{result dimension 0 must be source dimension 1 (576), got 64}}
%0 = tle.memdesc_wgmma_view %k {order = array<i32: 1, 0>} : !k -> !kt

// -----
!k = !ttg.memdesc<64x576xbf16, #ttg.swizzled_shared<{vec = 8, perPhase = 1, maxPhase = 8, order = [1, 0]}>, #ttg.shared_memory, mutable>
!kt = !ttg.memdesc<576x64xbf16, #ttg.swizzled_shared<{vec = 8, perPhase = 1, maxPhase = 8, order = [0, 1]}>, #ttg.shared_memory, mutable>
%k = "test.src"() : () -> !k
// expected-error @below {{WGMMA reads only #ttg.nvmma_shared tiles}}
%0 = tle.memdesc_wgmma_view %k {order = array<i32: 1, 0>} : !k -> !kt

// -----
!k = !ttg.memdesc<64x576xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!kt = !ttg.memdesc<576x64xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
%k = "test.src"() : () -> !k
// expected-error @below {{result encoding must be '#ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = true, elementBitWidth = 16}>', got '#ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>'}}
%0 = tle.memdesc_wgmma_view %k {order = array<i32: 1, 0>} : !k -> !kt

// -----
%t = "test.src"() : () -> tensor<64x64xbf16>
// expected-error @below {{operand #0 must be Triton shared-memory descriptor (!ttg.memdesc)}}
%0 = "tle.memdesc_wgmma_view"(%t) <{order = array<i32: 1, 0>}> : (tensor<64x64xbf16>) -> tensor<64x64xbf16>

// -----
// expected-error @below {{must name at least one shared buffer it protects}}
"tle.wgmma_shared_operand_fence"() : () -> ()

// -----
!k = !ttg.memdesc<64x576xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.shared_memory, mutable>
!t = !ttg.memdesc<64x576xbf16, #ttg.nvmma_shared<{swizzlingByteWidth = 128, transposed = false, elementBitWidth = 16}>, #ttg.tensor_memory, mutable>
%k = "test.src"() : () -> !k
%t = "test.src"() : () -> !t
// expected-error @below {{operand #1 must be a shared-memory !ttg.memdesc}}
tle.wgmma_shared_operand_fence %k, %t : !k, !t
