// How fast can the H200 move scattered KV rows into shared memory, and does a 2-CTA multicast
// gather raise that rate? (issue 12: the sparse MLA kernels all sit at 4.6-5.3 TB/s of gathered
// rows; multicast only pays if the ceiling is on the L2 side, not at the SM's ingress.)
//
// The workload is the sparse MLA prefill's gather without the math: 4096 tokens x 2 head-block
// CTAs, each pulling the token's 2048 rows of 1152 bytes (576 bf16) in blocks of 64 rows into a
// ring of SLOTS shared-memory slots laid out as the kernels' 128-byte-swizzled WGMMA tiles
// (9 tiles of 64 rows x 128 bytes per slot). Variants:
//   cpasync   16-byte cp.async per thread, completion by cp.async groups (wait_group)
//   cp_mbar   the same copies completing on an mbarrier (what TLE's producer warpgroup does)
//   tma_row   one 1x64 TMA box per row and 64 columns (9 per row)
//   tma_mc    2-CTA cluster, one cluster per token: each CTA issues half of a block's rows with
//             .multicast::cluster, so every row is read from L2 once and lands in both CTAs
//   peer      2-CTA cluster, no TMA: each CTA gathers half of a block's rows with cp.async and
//             forwards them into the other CTA's slot with bulk shared-to-shared copies
// `energy` as the first argument prints board power and joules per delivered byte (over a GPU
// whose SMs all spin) for cp_mbar and peer instead of the timing table: the sparse MLA kernels
// run at the 700 W limit, so what a gather costs them is its energy (docs/perf/LOG.md).
// "delivered" counts bytes landing in shared memory (the same for all variants), "from L2" the
// bytes read (half of it for tma_mc). Each variant runs with 32-256 issuing threads and on all or
// half of the SMs: a rate that scales with either is bound by issue, not by L2. Build: nvcc -O3 -std=c++17
// -gencode=arch=compute_90a,code=sm_90a gather_ceiling.cu -o gather_ceiling
#include <cuda.h>
#include <cuda_runtime.h>

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <thread>
#include <vector>

#define CHECK(x)                                                                        \
  do {                                                                                  \
    cudaError_t e_ = (x);                                                               \
    if (e_ != cudaSuccess) {                                                            \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      std::exit(1);                                                                     \
    }                                                                                   \
  } while (0)

constexpr int kCols = 576;
constexpr int kRowBytes = kCols * 2;
constexpr int kBlockRows = 64;
constexpr int kTopk = 2048;
constexpr int kBlocksPerTile = kTopk / kBlockRows;
constexpr int kSlotBytes = kBlockRows * kRowBytes;  // 73728
constexpr int kTileBytes = kBlockRows * 128;         // one 64-row x 128-byte swizzled tile
constexpr int kChunksPerRow = kRowBytes / 16;        // 72

// Byte offset of a row's 16-byte chunk inside a slot: 128-byte swizzle, 9 tiles of 64 columns.
__host__ __device__ inline int slot_offset(int row, int chunk) {
  int tile = chunk / 8, c = chunk % 8;
  return tile * kTileBytes + row * 128 + ((c ^ (row % 8)) * 16);
}

__device__ inline uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
__device__ inline uint8_t* aligned_smem() {
  extern __shared__ uint8_t raw[];
  uintptr_t a = reinterpret_cast<uintptr_t>(raw);
  return reinterpret_cast<uint8_t*>((a + 1023) & ~uintptr_t(1023));
}

// A block's 64 row indices, two per lane (rows lane and lane + 32), loaded one block ahead so
// the copies never wait on an index load (TLE's producer hoists them the same way).
struct BlockRows {
  int lo, hi;
};
__device__ inline BlockRows load_rows(const int* rows) {
  const int lane = threadIdx.x % 32;
  return {__ldg(rows + lane), __ldg(rows + 32 + lane)};
}
__device__ inline int row_of(const BlockRows& b, int r) {  // every lane of the warp must call it
  int lo = __shfl_sync(0xffffffffu, b.lo, r % 32), hi = __shfl_sync(0xffffffffu, b.hi, r % 32);
  return r < 32 ? lo : hi;
}

// mbarrier / TMA helpers
__device__ inline void mbar_init(uint64_t* bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(smem_addr(bar)), "r"(count) : "memory");
}
__device__ inline void mbar_expect(uint64_t* bar, int bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(smem_addr(bar)),
               "r"(bytes)
               : "memory");
}
__device__ inline void mbar_wait(uint64_t* bar, int parity) {
  uint32_t a = smem_addr(bar);
  asm volatile(
      "{\n .reg .pred p;\n W: mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
      " @!p bra W;\n}" ::"r"(a),
      "r"(parity)
      : "memory");
}
__device__ inline void mbar_wait_cluster(uint64_t* bar, int parity) {
  uint32_t a = smem_addr(bar);
  asm volatile(
      "{\n .reg .pred p;\n W: mbarrier.try_wait.parity.acquire.cluster.shared::cta.b64 p, [%0], %1;\n"
      " @!p bra W;\n}" ::"r"(a),
      "r"(parity)
      : "memory");
}
// Arrive on the barrier at the same offset in CTA `rank` of the cluster.
__device__ inline void mbar_arrive_cluster(uint64_t* bar, uint32_t rank) {
  uint32_t remote;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(remote) : "r"(smem_addr(bar)), "r"(rank));
  asm volatile("mbarrier.arrive.release.cluster.shared::cluster.b64 _, [%0];" ::"r"(remote) : "memory");
}
__device__ inline void cluster_sync() {
  asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;" ::: "memory");
}
__device__ inline uint32_t cluster_rank() {
  uint32_t r;
  asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(r));
  return r;
}
__device__ inline void tma_row(uint32_t dst, const CUtensorMap* map, int col, int row, uint64_t* bar) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
      " [%0], [%1, {%2, %3}], [%4];" ::"r"(dst),
      "l"(map), "r"(col), "r"(row), "r"(smem_addr(bar))
      : "memory");
}
__device__ inline void tma_row_multicast(uint32_t dst, const CUtensorMap* map, int col, int row,
                                         uint64_t* bar, uint16_t mask) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.multicast::cluster"
      " [%0], [%1, {%2, %3}], [%4], %5;" ::"r"(dst),
      "l"(map), "r"(col), "r"(row), "r"(smem_addr(bar)), "h"(mask)
      : "memory");
}
// This CTA's stream: tiles blockIdx.x, + gridDim.x, ... (two tiles per token), 32 blocks each.
__device__ inline int stream_blocks(int n_tiles) {
  const int my_tiles = (n_tiles - (int)blockIdx.x + (int)gridDim.x - 1) / (int)gridDim.x;
  return my_tiles * kBlocksPerTile;
}
// The row indices of block j of the stream (clamped to the last block: the one-ahead load of
// the indices never reads past the stream).
__device__ inline BlockRows stream_rows(const int* idx, int j, int total) {
  j = min(j, total - 1);
  const int tile = blockIdx.x + (j / kBlocksPerTile) * gridDim.x;
  return load_rows(idx + (tile / 2) * kTopk + (j % kBlocksPerTile) * kBlockRows);
}
// One block's rows into the slot at `base` with 16-byte cp.async: a warp per row, a lane per chunk.
template <int THREADS>
__device__ inline void cpasync_block(const uint8_t* kv, const BlockRows& rows, uint32_t base) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int r = warp; r < kBlockRows; r += THREADS / 32) {
    const uint8_t* src = kv + (size_t)row_of(rows, r) * kRowBytes;
    for (int c = lane; c < kChunksPerRow; c += 32)
      asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(base + slot_offset(r, c)), "l"(src + c * 16));
  }
}

// ---------------------------------------------------------------------------------------------
// cp.async: THREADS threads, block j of the CTA's stream lands in slot j % SLOTS.
template <int SLOTS, int THREADS>
__global__ void __launch_bounds__(THREADS) gather_cpasync(const uint8_t* __restrict__ kv,
                                                          const int* __restrict__ idx, int n_tiles,
                                                          uint8_t* dump) {
  uint8_t* slots = aligned_smem();
  const int total = stream_blocks(n_tiles);
  BlockRows next = stream_rows(idx, 0, total);
  auto issue = [&](int j) {
    if (j < total) {
      cpasync_block<THREADS>(kv, next, smem_addr(slots + (j % SLOTS) * kSlotBytes));
      next = stream_rows(idx, j + 1, total);
    }
    asm volatile("cp.async.commit_group;" ::: "memory");
  };
  for (int j = 0; j < SLOTS - 1; ++j) issue(j);
  for (int j = 0; j < total; ++j) {
    issue(j + SLOTS - 1);
    asm volatile("cp.async.wait_group %0;" ::"n"(SLOTS - 1) : "memory");
    __syncthreads();  // block j is in; slot (j-1) % SLOTS was released a step ago
    if (dump && j == 0) {
      for (int b = threadIdx.x; b < kSlotBytes; b += THREADS) dump[b] = slots[b];
    }
  }
}

// cp.async completing on an mbarrier (the form TLE's producer uses): every thread's copies arrive
// on full[slot] when they land; no wait_group drain between blocks.
template <int SLOTS, int THREADS>
__global__ void __launch_bounds__(THREADS) gather_cpasync_mbar(const uint8_t* __restrict__ kv,
                                                               const int* __restrict__ idx,
                                                               int n_tiles, uint8_t* dump) {
  uint8_t* slots = aligned_smem();
  __shared__ __align__(8) uint64_t full[SLOTS];
  if (threadIdx.x == 0)
    for (int s = 0; s < SLOTS; ++s) mbar_init(&full[s], THREADS);
  asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  __syncthreads();
  const int total = stream_blocks(n_tiles);
  BlockRows next = stream_rows(idx, 0, total);
  auto issue = [&](int j) {
    cpasync_block<THREADS>(kv, next, smem_addr(slots + (j % SLOTS) * kSlotBytes));
    next = stream_rows(idx, j + 1, total);
    asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];" ::"r"(smem_addr(&full[j % SLOTS]))
                 : "memory");
  };
  for (int j = 0; j < SLOTS && j < total; ++j) issue(j);
  for (int j = 0; j < total; ++j) {
    mbar_wait(&full[j % SLOTS], (j / SLOTS) & 1);
    if (dump && j == 0) {
      for (int b = threadIdx.x; b < kSlotBytes; b += THREADS) dump[b] = slots[b];
    }
    __syncthreads();  // every thread is past the wait before the slot is refilled
    if (j + SLOTS < total) issue(j + SLOTS);
  }
}

// Rows r0, r0 + 2 * r_step... of a block into a slot: one 1 x 64 box per 128-byte tile, the
// (row, tile) boxes spread over `threads` issuing threads. The tile layout needs no arithmetic
// here: TMA swizzles by shared-memory address, so a row box written at tile_base + row * 128
// lands where a whole-tile load would put it.
template <bool MULTICAST>
__device__ inline void issue_rows(const CUtensorMap* map, const BlockRows& rows, int r0, int r_step,
                                  int thread, int threads, uint32_t slot, uint64_t* bar) {
  const int n_rows = (kBlockRows - r0 + r_step - 1) / r_step, n_boxes = n_rows * (kCols / 64);
  for (int q0 = 0; q0 < n_boxes; q0 += threads) {  // uniform trip count: row_of shuffles
    const int q = q0 + thread;
    const int r = r0 + (min(q, n_boxes - 1) / (kCols / 64)) * r_step, t = q % (kCols / 64);
    const int row = row_of(rows, r);
    if (q < n_boxes) {
      uint32_t dst = slot + t * kTileBytes + r * 128;
      if (MULTICAST)
        tma_row_multicast(dst, map, t * 64, row, bar, 0x3);
      else
        tma_row(dst, map, t * 64, row, bar);
    }
  }
}

// One warp; block j lands in slot j % SLOTS, completion counted in bytes on full[slot].
template <int SLOTS, int THREADS>
__global__ void __launch_bounds__(THREADS) gather_tma_row(const __grid_constant__ CUtensorMap map,
                                                     const int* __restrict__ idx, int n_tiles,
                                                     uint8_t* dump) {
  uint8_t* slots = aligned_smem();
  __shared__ __align__(8) uint64_t full[SLOTS];
  if (threadIdx.x == 0)
    for (int s = 0; s < SLOTS; ++s) mbar_init(&full[s], 1);
  asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  __syncthreads();
  const int total = stream_blocks(n_tiles);
  BlockRows next = stream_rows(idx, 0, total);
  auto issue = [&](int j) {
    if (threadIdx.x == 0) mbar_expect(&full[j % SLOTS], kSlotBytes);
    __syncthreads();
    BlockRows rows = next;
    next = stream_rows(idx, j + 1, total);
    issue_rows<false>(&map, rows, 0, 1, threadIdx.x, THREADS, smem_addr(slots + (j % SLOTS) * kSlotBytes),
                      &full[j % SLOTS]);
  };
  for (int j = 0; j < SLOTS && j < total; ++j) issue(j);
  for (int j = 0; j < total; ++j) {
    mbar_wait(&full[j % SLOTS], (j / SLOTS) & 1);
    if (dump && j == 0) {
      for (int b = threadIdx.x; b < kSlotBytes; b += THREADS) dump[b] = slots[b];
    }
    __syncthreads();
    if (j + SLOTS < total) issue(j + SLOTS);
  }
}

// 2-CTA cluster per token: CTA `rank` issues rows rank, rank + 2, ... of each block to both CTAs.
// A slot is refilled only after both CTAs saw it full (free[slot] counts one arrive from each).
template <int SLOTS, int THREADS>
__global__ void __cluster_dims__(2, 1, 1) __launch_bounds__(THREADS)
    gather_tma_mc(const __grid_constant__ CUtensorMap map, const int* __restrict__ idx,
                  int n_tiles, uint8_t* dump) {
  uint8_t* slots = aligned_smem();
  __shared__ __align__(8) uint64_t full[SLOTS];
  __shared__ __align__(8) uint64_t free_[SLOTS];
  const uint32_t rank = cluster_rank();
  if (threadIdx.x == 0)
    for (int s = 0; s < SLOTS; ++s) {
      mbar_init(&full[s], 1);
      mbar_init(&free_[s], 2);
    }
  asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  cluster_sync();
  const int n_clusters = gridDim.x / 2, cluster = blockIdx.x / 2;
  const int n_tokens = n_tiles / 2;
  const int my_tokens = (n_tokens - cluster + n_clusters - 1) / n_clusters;
  const int total = my_tokens * kBlocksPerTile;
  auto rows_of = [&](int j) {
    int token = cluster + (min(j, total - 1) / kBlocksPerTile) * n_clusters;
    return load_rows(idx + token * kTopk + (min(j, total - 1) % kBlocksPerTile) * kBlockRows);
  };
  BlockRows next = rows_of(0);
  auto issue = [&](int j) {
    if (threadIdx.x == 0) mbar_expect(&full[j % SLOTS], kSlotBytes);
    __syncthreads();
    BlockRows rows = next;
    next = rows_of(j + 1);
    issue_rows<true>(&map, rows, rank, 2, threadIdx.x, THREADS,
                     smem_addr(slots + (j % SLOTS) * kSlotBytes), &full[j % SLOTS]);
  };
  for (int j = 0; j < SLOTS && j < total; ++j) issue(j);
  for (int j = 0; j < total; ++j) {
    const int s = j % SLOTS, phase = (j / SLOTS) & 1;
    mbar_wait_cluster(&full[s], phase);
    if (dump && j == 0) {
      for (int b = threadIdx.x; b < kSlotBytes; b += THREADS) dump[rank * kSlotBytes + b] = slots[b];
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      mbar_arrive_cluster(&free_[s], 0);
      mbar_arrive_cluster(&free_[s], 1);
    }
    if (j + SLOTS < total) {
      mbar_wait_cluster(&free_[s], phase);
      issue(j + SLOTS);
    }
  }
  cluster_sync();  // no CTA leaves while its partner may still arrive on its barriers
}

// 2-CTA cluster per token, no TMA: CTA `rank` gathers rows [32 rank, 32 rank + 32) of each block
// with cp.async into its own slot, then forwards them into the peer's slot with one bulk copy per
// 128-byte tile (a half's rows are contiguous in every tile: 9 copies of 4 KB). Every row is read
// from L2 once for both CTAs; the other half arrives over the SM-to-SM network. full[slot] counts
// the own copies (THREADS arrivals) plus the peer's bytes (expect_tx); a slot is refilled only
// after both CTAs saw it full (which also means the peer has read what this CTA forwarded).
template <int SLOTS, int THREADS>
__global__ void __cluster_dims__(2, 1, 1) __launch_bounds__(THREADS)
    gather_peer(const uint8_t* __restrict__ kv, const int* __restrict__ idx, int n_tiles, uint8_t* dump) {
  uint8_t* slots = aligned_smem();
  __shared__ __align__(8) uint64_t full[SLOTS];
  __shared__ __align__(8) uint64_t own[SLOTS];
  __shared__ __align__(8) uint64_t free_[SLOTS];
  const uint32_t rank = cluster_rank();
  if (threadIdx.x == 0)
    for (int s = 0; s < SLOTS; ++s) {
      mbar_init(&full[s], THREADS + 1);
      mbar_init(&own[s], THREADS);
      mbar_init(&free_[s], 2);
    }
  asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  cluster_sync();
  const int n_clusters = gridDim.x / 2, cluster = blockIdx.x / 2;
  const int n_tokens = n_tiles / 2;
  const int my_tokens = (n_tokens - cluster + n_clusters - 1) / n_clusters;
  const int total = my_tokens * kBlocksPerTile;
  auto rows_of = [&](int j) {
    int token = cluster + (min(j, total - 1) / kBlocksPerTile) * n_clusters;
    return load_rows(idx + token * kTopk + (min(j, total - 1) % kBlocksPerTile) * kBlockRows);
  };
  BlockRows next = rows_of(0);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  auto issue = [&](int j) {
    const int s = j % SLOTS;
    if (threadIdx.x == 0) mbar_expect(&full[s], kSlotBytes / 2);
    const uint32_t base = smem_addr(slots + s * kSlotBytes);
    for (int r = 32 * rank + warp; r < 32 * rank + 32; r += THREADS / 32) {
      const uint8_t* src = kv + (size_t)row_of(next, r) * kRowBytes;
      for (int c = lane; c < kChunksPerRow; c += 32)
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(base + slot_offset(r, c)), "l"(src + c * 16));
    }
    asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];" ::"r"(smem_addr(&own[s])) : "memory");
    asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];" ::"r"(smem_addr(&full[s])) : "memory");
    next = rows_of(j + 1);
  };
  for (int j = 0; j < SLOTS && j < total; ++j) issue(j);
  for (int j = 0; j < total; ++j) {
    const int s = j % SLOTS, phase = (j / SLOTS) & 1;
    if (threadIdx.x == 0) {  // forward the own half once it landed
      mbar_wait(&own[s], phase);
      asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
      uint32_t peer_bar;
      asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(peer_bar) : "r"(smem_addr(&full[s])), "r"(rank ^ 1));
      for (int t = 0; t < kCols / 64; ++t) {
        const uint32_t src = smem_addr(slots + s * kSlotBytes + t * kTileBytes + rank * 32 * 128);
        uint32_t dst;
        asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(dst) : "r"(src), "r"(rank ^ 1));
        asm volatile(
            "cp.async.bulk.shared::cluster.shared::cta.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(dst),
            "r"(src), "r"(32 * 128), "r"(peer_bar)
            : "memory");
      }
    }
    mbar_wait_cluster(&full[s], phase);
    if (dump && j == 0) {
      for (int b = threadIdx.x; b < kSlotBytes; b += THREADS) dump[rank * kSlotBytes + b] = slots[b];
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      mbar_arrive_cluster(&free_[s], 0);
      mbar_arrive_cluster(&free_[s], 1);
    }
    if (j + SLOTS < total) {
      mbar_wait_cluster(&free_[s], phase);
      issue(j + SLOTS);
    }
  }
  cluster_sync();  // no CTA leaves while its partner may still copy into it or arrive on its barriers
}

// Every SM resident and issuing, nothing moved: the power floor of a busy GPU for the energy mode.
__global__ void spin(long long cycles) {
  const long long t0 = clock64();
  while (clock64() - t0 < cycles) {
  }
}

// ---------------------------------------------------------------------------------------------
using EncodeTiled = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*,
                                 const cuuint64_t*, const cuuint64_t*, const cuuint32_t*,
                                 const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle,
                                 CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

static CUtensorMap make_map(void* kv, int s_kv) {
  void* fn = nullptr;
  cudaDriverEntryPointQueryResult q;
  CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &q));
  if (!fn) {
    std::fprintf(stderr, "no cuTensorMapEncodeTiled\n");
    std::exit(1);
  }
  CUtensorMap map;
  cuuint64_t dims[2] = {(cuuint64_t)kCols, (cuuint64_t)s_kv};
  cuuint64_t strides[1] = {(cuuint64_t)kRowBytes};
  cuuint32_t box[2] = {64, 1};
  cuuint32_t estr[2] = {1, 1};
  CUresult r = reinterpret_cast<EncodeTiled>(fn)(
      &map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, kv, dims, strides, box, estr,
      CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
      CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) {
    std::fprintf(stderr, "cuTensorMapEncodeTiled failed: %d\n", (int)r);
    std::exit(1);
  }
  return map;
}

enum Variant { CPASYNC, CPASYNC_MBAR, TMA_ROW, TMA_MC, PEER };
static const char* kNames[] = {"cpasync", "cp_mbar", "tma_row", "tma_mc", "peer"};
struct Config { Variant v; int slots, threads, grid; };

// One instantiation, launched after raising its dynamic shared memory limit (above 48 KB).
template <typename... P, typename... A>
static void go(void (*kernel)(P...), int grid, int threads, size_t smem, A... args) {
  CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  kernel<<<grid, threads, smem>>>(args...);
}

static void launch(const Config& c, const uint8_t* kv, const CUtensorMap& map, const int* idx,
                   int n_tiles, uint8_t* dump) {
  const size_t smem = (size_t)c.slots * kSlotBytes + 1024;
  const int grid = c.v == TMA_MC || c.v == PEER ? c.grid & ~1 : c.grid;  // whole 2-CTA clusters
  const int key = c.v * 10000 + c.slots * 1000 + c.threads;
  // one case per instantiation that exists: variant, slots, threads
#define GO(V, K, S, T, SRC) \
  case V * 10000 + S * 1000 + T: go(K<S, T>, grid, T, smem, SRC, idx, n_tiles, dump); break
  switch (key) {
    GO(CPASYNC, gather_cpasync, 2, 128, kv);
    GO(CPASYNC, gather_cpasync, 3, 128, kv);
    GO(CPASYNC, gather_cpasync, 2, 256, kv);
    GO(CPASYNC, gather_cpasync, 3, 256, kv);
    GO(CPASYNC_MBAR, gather_cpasync_mbar, 2, 128, kv);
    GO(CPASYNC_MBAR, gather_cpasync_mbar, 3, 128, kv);
    GO(CPASYNC_MBAR, gather_cpasync_mbar, 2, 256, kv);
    GO(CPASYNC_MBAR, gather_cpasync_mbar, 3, 256, kv);
    GO(TMA_ROW, gather_tma_row, 2, 32, map);
    GO(TMA_ROW, gather_tma_row, 2, 128, map);
    GO(TMA_ROW, gather_tma_row, 2, 256, map);
    GO(TMA_MC, gather_tma_mc, 2, 32, map);
    GO(TMA_MC, gather_tma_mc, 2, 128, map);
    GO(TMA_MC, gather_tma_mc, 3, 128, map);
    GO(TMA_MC, gather_tma_mc, 2, 256, map);
    GO(PEER, gather_peer, 3, 128, kv);
    GO(PEER, gather_peer, 3, 256, kv);
    default: std::fprintf(stderr, "no such config\n"); std::exit(1);
  }
#undef GO
  CHECK(cudaGetLastError());
}

// ---------------------------------------------------------------------------------------------
// Energy mode: board power (NVML, loaded at run time) while one configuration runs back to back.
struct Nvml {
  void* dev = nullptr;
  int (*power)(void*, unsigned*) = nullptr;         // nvmlDeviceGetPowerUsage, milliwatts
  int (*clock)(void*, int, unsigned*) = nullptr;    // nvmlDeviceGetClockInfo
  bool open() {
    void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW);
    if (!lib) return false;
    auto init = reinterpret_cast<int (*)()>(dlsym(lib, "nvmlInit_v2"));
    auto handle = reinterpret_cast<int (*)(unsigned, void**)>(dlsym(lib, "nvmlDeviceGetHandleByIndex_v2"));
    power = reinterpret_cast<int (*)(void*, unsigned*)>(dlsym(lib, "nvmlDeviceGetPowerUsage"));
    clock = reinterpret_cast<int (*)(void*, int, unsigned*)>(dlsym(lib, "nvmlDeviceGetClockInfo"));
    return init && handle && power && clock && init() == 0 && handle(0, &dev) == 0;
  }
};

struct PowerReading { double ms_per_launch, watts, mhz; };

// Median power and SM clock over the last three quarters of `seconds` of back-to-back launches.
static PowerReading under_load(const Nvml& nvml, const std::function<void()>& launch_once, double seconds) {
  if (launch_once) launch_once();  // no function: the idle GPU
  CHECK(cudaDeviceSynchronize());
  std::atomic<bool> stop{false};
  std::vector<std::pair<unsigned, unsigned>> samples;
  std::thread sampler([&] {
    while (!stop.load()) {
      unsigned mw = 0, mhz = 0;
      nvml.power(nvml.dev, &mw);
      nvml.clock(nvml.dev, 1, &mhz);  // NVML_CLOCK_SM
      samples.emplace_back(mw, mhz);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  int launches = 0;
  double elapsed = 0;
  while (elapsed < seconds) {
    if (launch_once)
      launch_once();
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ++launches;
    CHECK(cudaDeviceSynchronize());
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  stop = true;
  sampler.join();
  std::vector<unsigned> mw, mhz;
  for (size_t i = samples.size() / 4; i < samples.size(); ++i) {
    mw.push_back(samples[i].first);
    mhz.push_back(samples[i].second);
  }
  std::sort(mw.begin(), mw.end());
  std::sort(mhz.begin(), mhz.end());
  return {elapsed * 1e3 / launches, mw[mw.size() / 2] / 1e3, (double)mhz[mhz.size() / 2]};
}

int main(int argc, char** argv) {
  // `energy`: after the layout checks, joules per delivered byte instead of the timing table
  const bool energy_mode = argc > 1 && std::strcmp(argv[1], "energy") == 0;
  Nvml nvml;
  if (energy_mode && !nvml.open()) {
    std::fprintf(stderr, "energy mode needs libnvidia-ml.so.1\n");
    return 1;
  }
  const int n_tokens = 4096, n_tiles = 2 * n_tokens;
  int sms = 0;
  CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  std::mt19937 rng(1234);
  std::printf("# gather ceiling: %d tokens x 2 CTAs x %d rows of %d bytes, %d SMs\n", n_tokens, kTopk,
              kRowBytes, sms);
  std::printf("%-8s %-8s %5s %7s %5s %9s %15s %13s\n", "s_kv", "variant", "slots", "threads", "grid", "ms",
              "delivered TB/s", "from L2 TB/s");
  for (int s_kv : {8192, 65536}) {
    // Host data: row i, column c holds a value that names both (checked in the dumps).
    std::vector<uint16_t> h_kv((size_t)s_kv * kCols);
    for (size_t i = 0; i < h_kv.size(); ++i) h_kv[i] = (uint16_t)((i * 2654435761u) >> 16);
    std::vector<int> perm(s_kv);
    for (int i = 0; i < s_kv; ++i) perm[i] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<int> h_idx((size_t)n_tokens * kTopk);
    for (int t = 0; t < n_tokens; ++t) {  // distinct rows within a token, as topk returns them
      int base = rng() % s_kv;
      for (int k = 0; k < kTopk; ++k) h_idx[(size_t)t * kTopk + k] = perm[(base + k) % s_kv];
    }
    uint8_t* d_kv;
    int* d_idx;
    uint8_t* d_dump;
    CHECK(cudaMalloc(&d_kv, h_kv.size() * 2));
    CHECK(cudaMalloc(&d_idx, h_idx.size() * 4));
    CHECK(cudaMalloc(&d_dump, 2 * kSlotBytes));
    CHECK(cudaMemcpy(d_kv, h_kv.data(), h_kv.size() * 2, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(d_idx, h_idx.data(), h_idx.size() * 4, cudaMemcpyHostToDevice));
    CUtensorMap map = make_map(d_kv, s_kv);

    // Layout check: the first block of tile 0 (token 0) in every variant's slot 0.
    for (Config c : {Config{CPASYNC, 2, 256, 2}, Config{CPASYNC_MBAR, 2, 256, 2},
                     Config{TMA_ROW, 2, 128, 2}, Config{TMA_MC, 2, 128, 2}, Config{PEER, 3, 256, 2}}) {
      const Variant v = c.v;
      CHECK(cudaMemset(d_dump, 0, 2 * kSlotBytes));
      launch(c, d_kv, map, d_idx, 2, d_dump);
      CHECK(cudaDeviceSynchronize());
      std::vector<uint8_t> dump(2 * kSlotBytes);
      CHECK(cudaMemcpy(dump.data(), d_dump, dump.size(), cudaMemcpyDeviceToHost));
      int bad = 0;
      for (int cta = 0; cta < (v == TMA_MC || v == PEER ? 2 : 1); ++cta)
        for (int r = 0; r < kBlockRows; ++r)
          for (int c = 0; c < kChunksPerRow; ++c)
            if (std::memcmp(dump.data() + cta * kSlotBytes + slot_offset(r, c),
                            reinterpret_cast<uint8_t*>(h_kv.data()) + (size_t)h_idx[r] * kRowBytes + c * 16,
                            16) != 0)
              ++bad;
      std::printf("# layout check %-8s threads %3d s_kv %d: %s (%d bad chunks)\n", kNames[v],
                  c.threads, s_kv, bad ? "FAIL" : "ok", bad);
    }

    if (energy_mode) {
      const double delivered = (double)n_tiles * kTopk * kRowBytes;
      const double spin_cycles = 2e7;  // ~10 ms a launch
      PowerReading idle = under_load(nvml, nullptr, 1.0);
      PowerReading busy = under_load(nvml, [&] { spin<<<sms, 256>>>((long long)spin_cycles); }, 2.5);
      std::printf("# s_kv %d energy: idle %.1f W at %.0f MHz, every SM spinning %.1f W at %.0f MHz\n", s_kv,
                  idle.watts, idle.mhz, busy.watts, busy.mhz);
      std::printf("%-8s %-8s %5s %7s %9s %15s %8s %7s %22s\n", "s_kv", "variant", "slots", "threads", "ms",
                  "delivered TB/s", "W", "MHz", "pJ/byte over spinning");
      for (Config c : {Config{CPASYNC_MBAR, 3, 256, sms}, Config{PEER, 3, 256, sms}, Config{CPASYNC_MBAR, 3, 256, sms},
                       Config{PEER, 3, 256, sms}}) {
        PowerReading r = under_load(nvml, [&] { launch(c, d_kv, map, d_idx, n_tiles, nullptr); }, 2.5);
        const double bytes_per_s = delivered / (r.ms_per_launch * 1e-3);
        std::printf("%-8d %-8s %5d %7d %9.3f %15.2f %8.1f %7.0f %22.1f\n", s_kv, kNames[c.v], c.slots, c.threads,
                    r.ms_per_launch, bytes_per_s / 1e12, r.watts, r.mhz, (r.watts - busy.watts) / bytes_per_s * 1e12);
      }
      CHECK(cudaFree(d_kv));
      CHECK(cudaFree(d_idx));
      CHECK(cudaFree(d_dump));
      continue;
    }
    std::vector<Config> configs = {
        {CPASYNC, 2, 128, sms},      {CPASYNC, 2, 256, sms},      {CPASYNC, 2, 256, sms / 2},
        {CPASYNC_MBAR, 2, 128, sms}, {CPASYNC_MBAR, 3, 128, sms}, {CPASYNC_MBAR, 2, 256, sms},
        {CPASYNC_MBAR, 3, 256, sms}, {CPASYNC_MBAR, 3, 256, sms / 2},
        {TMA_ROW, 2, 32, sms},       {TMA_ROW, 2, 128, sms},      {TMA_ROW, 2, 256, sms},
        {TMA_MC, 2, 32, sms},        {TMA_MC, 2, 128, sms},       {TMA_MC, 3, 128, sms},
        {TMA_MC, 2, 256, sms},       {TMA_MC, 2, 256, sms / 2},
        {PEER, 3, 128, sms},         {PEER, 3, 256, sms},         {PEER, 3, 256, sms / 2},
    };
    const int rounds = 7;
    std::vector<std::vector<float>> times(configs.size());
    cudaEvent_t e0, e1;
    CHECK(cudaEventCreate(&e0));
    CHECK(cudaEventCreate(&e1));
    for (int round = 0; round < rounds; ++round) {  // interleaved: every config once per round
      for (size_t i = 0; i < configs.size(); ++i) {
        const Config& c = configs[i];
        launch(c, d_kv, map, d_idx, n_tiles, nullptr);  // warm
        CHECK(cudaEventRecord(e0));
        launch(c, d_kv, map, d_idx, n_tiles, nullptr);
        CHECK(cudaEventRecord(e1));
        CHECK(cudaEventSynchronize(e1));
        float ms;
        CHECK(cudaEventElapsedTime(&ms, e0, e1));
        times[i].push_back(ms);
      }
    }
    const double delivered = (double)n_tiles * kTopk * kRowBytes;
    for (size_t i = 0; i < configs.size(); ++i) {
      std::vector<float> t = times[i];
      std::sort(t.begin(), t.end());
      double ms = t[t.size() / 2];
      const Config& c = configs[i];
      const bool cluster = c.v == TMA_MC || c.v == PEER;
      double l2 = cluster ? delivered / 2 : delivered;
      std::printf("%-8d %-8s %5d %7d %5d %9.3f %15.2f %13.2f   (min %.3f max %.3f)\n", s_kv,
                  kNames[c.v], c.slots, c.threads, cluster ? c.grid & ~1 : c.grid, ms, delivered / ms / 1e9,
                  l2 / ms / 1e9, t.front(), t.back());
    }
    CHECK(cudaFree(d_kv));
    CHECK(cudaFree(d_idx));
    CHECK(cudaFree(d_dump));
  }
  return 0;
}
