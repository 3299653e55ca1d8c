"""Launch one sparse MLA provider a few times on FlashMLA's s_kv=8192 prefill shape, for a
profiler (ncu) to capture: python benchmarks/profile_sparse_mla.py {triton|tle|flashmla} [lib]."""
import sys

import torch

import tle  # noqa: F401  (hook)
from tle.ops import sparse_mla_fwd

provider = sys.argv[1]
torch.manual_seed(0)
s_q, h_q, d_qk, topk, s_kv = 4096, 128, 576, 2048, 8192
q = (torch.randn(s_q, h_q, d_qk, device="cuda") / 10).bfloat16()
kv = (torch.randn(s_kv, 1, d_qk, device="cuda") / 10).bfloat16()
idx = torch.stack([torch.randperm(s_kv, device="cuda")[:topk].sort().values for _ in range(s_q)])
idx = idx.view(s_q, 1, topk).int()
scale = d_qk ** -0.5
if provider == "flashmla":
    torch.ops.load_library(sys.argv[2])
    run = lambda: torch.ops._flashmla_C.sparse_prefill_fwd(q, kv, idx, scale, 512, None, None, None)
else:
    run = lambda: sparse_mla_fwd(q, kv, idx, scale, backend=provider)
for _ in range(3):
    run()
torch.cuda.synchronize()
print("done", provider)
