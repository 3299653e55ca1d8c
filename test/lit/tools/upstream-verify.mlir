// RUN: %tle-opt %s -split-input-file -verify-diagnostics -o /dev/null
// RUN: %tle-opt %s -split-input-file --tle-verify-upstream-ops=false -o /dev/null
// tle-opt checks the upstream ops of its input with their own verifiers (their dialects stay
// unregistered where the passes run); the errors point at the op. Upstream ops on Triton's
// types are accepted. --tle-verify-upstream-ops=false lets everything through to the passes.

// expected-error @below {{the input IR fails the verifiers of its upstream (arith, scf, math, cf, ub) ops}}
module {
  // expected-error @below {{'arith.constant' op failed to verify that all of {value, result} have same type}}
  %0 = "arith.constant"() <{value = 1.5 : f64}> : () -> i32
}

// -----

// expected-error @below {{the input IR fails the verifiers of its upstream}}
module {
  %0 = "test.a"() : () -> i32
  // expected-error @below {{'scf.for' op needs 3 + N operands, N results and a body block with 1 + N arguments}}
  "scf.for"(%0, %0, %0) ({
    "scf.yield"() : () -> ()
  }) : (i32, i32, i32) -> ()
}

// -----

#blocked = #ttg.blocked<{sizePerThread = [1], threadsPerWarp = [32], warpsPerCTA = [4], order = [0]}>
module {
  %n = "test.a"() : () -> i32
  %p = "test.b"() : () -> tensor<128x!tt.ptr<f16>, #blocked>
  %r = "tt.make_range"() <{end = 128 : i32, start = 0 : i32}> : () -> tensor<128xi32, #blocked>
  %m = "arith.cmpi"(%r, %r) <{predicate = 2 : i64}> : (tensor<128xi32, #blocked>, tensor<128xi32, #blocked>) -> tensor<128xi1, #blocked>
  %s = "arith.select"(%m, %p, %p) : (tensor<128xi1, #blocked>, tensor<128x!tt.ptr<f16>, #blocked>, tensor<128x!tt.ptr<f16>, #blocked>) -> tensor<128x!tt.ptr<f16>, #blocked>
  %f = "scf.for"(%n, %n, %n, %s) ({
  ^bb0(%i: i32, %q: tensor<128x!tt.ptr<f16>, #blocked>):
    "scf.yield"(%q) : (tensor<128x!tt.ptr<f16>, #blocked>) -> ()
  }) : (i32, i32, i32, tensor<128x!tt.ptr<f16>, #blocked>) -> tensor<128x!tt.ptr<f16>, #blocked>
}
