"""Flash-attention forward, non-causal: O = softmax(Q K^T * scale) V, online softmax over KV blocks.
Capture config: bf16, BLOCK_M 128, BLOCK_N 64, HEAD_DIM 128, 8 warps, num_stages 3.
Layout: q/k/v/o are (Z, H, N_CTX, HEAD_DIM) with unit stride on HEAD_DIM."""
import triton
import triton.language as tl

from _spec import source


@triton.jit
def attn_fwd_kernel(q_ptr, k_ptr, v_ptr, o_ptr, sm_scale,
                    stride_qz, stride_qh, stride_qm, stride_qd,
                    stride_kz, stride_kh, stride_kn, stride_kd,
                    stride_vz, stride_vh, stride_vn, stride_vd,
                    stride_oz, stride_oh, stride_om, stride_od,
                    H, N_CTX,
                    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr):
    start_m = tl.program_id(0)
    off_zh = tl.program_id(1)
    z = off_zh // H
    h = off_zh % H
    q_base = q_ptr + z * stride_qz + h * stride_qh
    k_base = k_ptr + z * stride_kz + h * stride_kh
    v_base = v_ptr + z * stride_vz + h * stride_vh
    o_base = o_ptr + z * stride_oz + h * stride_oh

    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)

    q = tl.load(q_base + offs_m[:, None] * stride_qm + offs_d[None, :] * stride_qd,
                mask=offs_m[:, None] < N_CTX, other=0.0)
    # exp2-based softmax: fold log2(e) into the scale.
    qk_scale = sm_scale * 1.4426950408889634
    m_i = tl.full((BLOCK_M,), float("-inf"), tl.float32)
    l_i = tl.zeros((BLOCK_M,), tl.float32)
    acc = tl.zeros((BLOCK_M, HEAD_DIM), tl.float32)
    for start_n in range(0, N_CTX, BLOCK_N):
        cols = start_n + offs_n
        kt = tl.load(k_base + offs_d[:, None] * stride_kd + cols[None, :] * stride_kn,
                     mask=cols[None, :] < N_CTX, other=0.0)
        s = tl.dot(q, kt) * qk_scale
        s = tl.where(cols[None, :] < N_CTX, s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, 1))
        p = tl.math.exp2(s - m_new[:, None])
        alpha = tl.math.exp2(m_i - m_new)
        l_i = l_i * alpha + tl.sum(p, 1)
        v = tl.load(v_base + cols[:, None] * stride_vn + offs_d[None, :] * stride_vd,
                    mask=cols[:, None] < N_CTX, other=0.0)
        acc = acc * alpha[:, None]
        acc = tl.dot(p.to(v.dtype), v, acc)
        m_i = m_new
    acc = acc / l_i[:, None]
    tl.store(o_base + offs_m[:, None] * stride_om + offs_d[None, :] * stride_od,
             acc.to(o_ptr.dtype.element_ty), mask=offs_m[:, None] < N_CTX)


def make_source(BLOCK_M=128, BLOCK_N=64, HEAD_DIM=128, num_warps=8, num_stages=3):
    sig = {"q_ptr": "*bf16", "k_ptr": "*bf16", "v_ptr": "*bf16", "o_ptr": "*bf16", "sm_scale": "fp32",
           "H": "i32", "N_CTX": "i32"}
    unit = {}
    divisible = ["q_ptr", "k_ptr", "v_ptr", "o_ptr", "N_CTX"]
    for t in "qkvo":
        row = "m" if t in "qo" else "n"
        for s in ("z", "h", row):
            sig[f"stride_{t}{s}"] = "i32"
            divisible.append(f"stride_{t}{s}")
        unit[f"stride_{t}d"] = 1
    src = source(attn_fwd_kernel, sig,
                 {**unit, "BLOCK_M": BLOCK_M, "BLOCK_N": BLOCK_N, "HEAD_DIM": HEAD_DIM}, divisible=divisible)
    return src, {"num_warps": num_warps, "num_stages": num_stages}
