"""tle.gluon.cluster on the GPU: two CTAs of every cluster swap a buffer through distributed
shared memory for several rounds (examples/kernels/gluon_cluster_exchange.py has the protocol)."""
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available() or torch.cuda.get_device_capability()[0] < 9:
    pytest.skip("needs a Hopper GPU (clusters, distributed shared memory)", allow_module_level=True)

import tle  # noqa: E402,F401  (lowers the cluster placeholders)
from tle.gluon.compat import TRITON_VERSION  # noqa: E402

if TRITON_VERSION[:2] != (3, 6):
    pytest.skip("tle.gluon.cluster is built for Triton 3.6", allow_module_level=True)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "kernels"))
from gluon_cluster_exchange import cluster_exchange_kernel  # noqa: E402


@pytest.mark.parametrize("n_clusters, rounds, n", [(1, 1, 256), (66, 3, 2048), (264, 5, 4096)])
def test_cluster_pairs_swap_buffers(n_clusters, rounds, n):
    out = torch.full((n_clusters * 2 * rounds, n), -1, dtype=torch.int32, device="cuda")
    cluster_exchange_kernel[(n_clusters,)](out, ROUNDS=rounds, N=n, num_ctas=2, num_warps=4)
    torch.cuda.synchronize()
    row = torch.arange(n_clusters * 2 * rounds, device="cuda")
    rank = (row // rounds) % 2
    r = row % rounds
    expected = ((1 - rank) * 1000000 + r * 10000)[:, None] + torch.arange(n, device="cuda")[None, :]
    assert torch.equal(out, expected.to(torch.int32))
