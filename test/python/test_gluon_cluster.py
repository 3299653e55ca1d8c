"""tle.gluon.cluster on the CPU: the placeholders lower to distributed-shared-memory PTX that
ptxas assembles, unlowered placeholders stop the compile, and malformed input raises (the GPU
behaviour: test/gpu/test_gluon_cluster_gpu.py)."""
import re
import sys
from pathlib import Path

import pytest

triton = pytest.importorskip("triton")
from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.experimental.gluon._runtime import GluonASTSource  # noqa: E402

import tle  # noqa: E402
from tle.gluon import cluster_lowering  # noqa: E402
from tle.gluon.cluster_lowering import ADDRESS_TAG, PLACEHOLDER, ClusterLoweringError, lower  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "kernels"))
from gluon_cluster_exchange import cluster_exchange_kernel  # noqa: E402


def _compile_exchange(rounds=3, n=2048):
    src = GluonASTSource(cluster_exchange_kernel, {"out_ptr": "*i32", "ROUNDS": "constexpr", "N": "constexpr"},
                         {(1,): rounds, (2,): n})
    return triton.compile(src, target=GPUTarget("cuda", 90, 32), options={"num_ctas": 2, "num_warps": 4})


from tle.gluon.compat import TRITON_VERSION  # noqa: E402

on_36 = pytest.mark.skipif(TRITON_VERSION[:2] != (3, 6), reason="tle.gluon.cluster is built for Triton 3.6")


@pytest.mark.skipif(TRITON_VERSION[:2] == (3, 6), reason="checks the refusal on other versions")
def test_other_tritons_refuse_with_the_reason():
    with pytest.raises(Exception) as info:
        _compile_exchange(rounds=1, n=256)
    chain, e = [], info.value
    while e is not None:
        chain.append(str(e))
        e = e.__cause__ or e.__context__
    assert any("built for Triton 3.6" in text for text in chain)


@on_36
def test_exchange_kernel_lowers_to_cluster_ptx():
    ptx = _compile_exchange(rounds=3, n=2048).asm["ptx"]
    assert ".reqnctapercluster 2" in ptx
    copies = re.findall(r"@%tle_on cp\.async\.bulk\.shared::cluster\.shared::cta\.mbarrier::complete_tx::bytes "
                        r"\[%tle_dst\], \[%tle_src\], (\d+), \[%tle_bar\];", ptx)
    assert copies == ["8192"] * 3  # one per round, N int32
    assert len(re.findall(r"mbarrier\.arrive\.release\.cluster\.shared::cluster\.b64 _, \[%tle_bar\];", ptx)) == 3
    assert ptx.count("mapa.shared::cluster.u32") == 3 * 2 + 3
    assert PLACEHOLDER not in ptx
    assert not re.search(rf"mbarrier\.arrive\.shared::cta\.b64 _, \[[^\]]+\], {ADDRESS_TAG}\d*;", ptx)


@on_36
def test_placeholders_stop_the_compile_when_tle_is_off():
    with tle.enabled(False):
        with pytest.raises(Exception, match=PLACEHOLDER + r"|copy_to_peer"):
            _compile_exchange(rounds=1, n=256)


_BLOCK = """\
$L__BB0_3:
\t@%p5 mbarrier.arrive.shared::cta.b64 _, [%r31], {src};
\t@%p5 mbarrier.arrive.shared::cta.b64 _, [global_smem+1024], {dst};
\t@%p5 mbarrier.arrive.shared::cta.b64 _, [%r1+16], {bar};
\t// begin inline asm
\t{ph}.copy_to_peer.2.4096 %r12;
mov.u32 %r13, 0;
\t// end inline asm
\tmbarrier.arrive.shared::cta.b64 _, [%r1], 1;
"""


def _block(**over):
    site = 2
    fields = dict(src=ADDRESS_TAG + 4 * site, dst=ADDRESS_TAG + 4 * site + 1, bar=ADDRESS_TAG + 4 * site + 2,
                  ph=PLACEHOLDER)
    fields.update(over)
    return _BLOCK.format(**fields)


def test_lowering_reads_every_address_form():
    out = lower(_block())
    assert "add.u32 %tle_src, %r31, 0;" in out
    assert "mov.u32 %tle_dst, global_smem;\n" in out and "add.u32 %tle_dst, %tle_dst, 1024;" in out
    assert "add.u32 %tle_bar, %r1, 16;" in out
    assert "setp.ne.b32 %tle_on, %r12, 0;" in out
    assert "[%tle_dst], [%tle_src], 4096, [%tle_bar];" in out
    assert str(ADDRESS_TAG) not in out  # the tags are gone
    assert "mbarrier.arrive.shared::cta.b64 _, [%r1], 1;" in out  # a real arrive stays
    assert "mov.u32 %r13, 0;" in out


@pytest.mark.parametrize("broken, message", [
    (dict(dst=1), "dst buffer's address tag"),  # no tag for dst
    (dict(ph=PLACEHOLDER + "x"), "unexpected placeholder"),
])
def test_lowering_rejects_malformed_input(broken, message):
    with pytest.raises(ClusterLoweringError, match=message):
        lower(_block(**broken))


def test_lowering_rejects_tags_from_another_block():
    text = _block().replace("\t// begin inline asm", "$L__BB0_4:\n\t// begin inline asm")
    with pytest.raises(ClusterLoweringError, match="not in the operation's basic block"):
        lower(text)


def test_lowering_rejects_unknown_operations_and_sizes():
    with pytest.raises(ClusterLoweringError, match="unknown operation 'swap'"):
        lower(_block().replace(".copy_to_peer.", ".swap."))
    with pytest.raises(ClusterLoweringError, match="multiple of 16"):
        lower(_block().replace(".2.4096 ", ".2.4100 "))


def test_ptx_without_placeholders_is_untouched():
    from tle.integration.hook import _wrap_ptx

    text = _block().replace(PLACEHOLDER + ".copy_to_peer.2.4096 %r12;", "mov.u32 %r12, 1;")
    assert not cluster_lowering.has_placeholders(text)
    assert _wrap_ptx(lambda src, metadata: text)(None, {}) is text
    assert _wrap_ptx(lambda src, metadata: _block())(None, {}) != _block()


def test_lowering_never_fails_other_than_with_its_error():
    """Random edits of a valid block (lines dropped, swapped, duplicated, characters changed):
    the lowering returns PTX or raises ClusterLoweringError, nothing else."""
    import random

    rng = random.Random(0)
    base = _block() + _block().replace(".copy_to_peer.2.4096", ".peer_arrive.2.0")
    for _ in range(2000):
        lines = base.split("\n")
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(lines))
            kind = rng.randrange(4)
            if kind == 0:
                del lines[i]
            elif kind == 1:
                j = rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
            elif kind == 2:
                lines.insert(i, lines[rng.randrange(len(lines))])
            elif lines[i]:
                k = rng.randrange(len(lines[i]))
                lines[i] = lines[i][:k] + rng.choice("%[]+.0123456789 x;_") + lines[i][k + 1:]
        try:
            out = lower("\n".join(lines))
        except ClusterLoweringError:
            continue
        assert PLACEHOLDER not in out


def test_the_lowering_is_part_of_tles_cache_identity(monkeypatch):
    """Compiled kernels are cached under TLE's identity: a change to the lowering must change it."""
    import builtins
    import os

    from tle.integration import identity

    read, real_open = [], builtins.open

    def spy(path, *args, **kwargs):
        read.append(os.path.basename(str(path)))
        return real_open(path, *args, **kwargs)

    identity._python_digest.cache_clear()
    monkeypatch.setattr(builtins, "open", spy)
    try:
        identity._python_digest()
    finally:
        monkeypatch.undo()
        identity._python_digest.cache_clear()
    assert "cluster_lowering.py" in read
