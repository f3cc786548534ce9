//! The calculator proper: a workload on a model and a GPU in, every memory number out.
//! Pure functions of their inputs; nothing here knows about time, pixels or wgpu.

use super::dtype::Dtype;
use super::engine::{self, Deploy, Engine};
use super::model::{Attention, LayerGroup, Model, WeightFormat};
use super::units;
use serde::Serialize;

/// vLLM's default page size, in tokens.
pub const BLOCK_TOKENS: u64 = 16;
/// vLLM's default `--gpu-memory-utilization`.
pub const DEFAULT_GPU_UTIL: f64 = 0.9;

/// How KV memory is handed out to the sequences of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Static batching: every sequence reserves the full context up front.
    Static,
    /// Continuous batching: each sequence holds exactly what it has.
    Continuous,
    /// Paged attention: each sequence holds whole pages (`Workload::block_tokens` tokens each).
    Paged,
}

impl Policy {
    pub fn parse(s: &str) -> Option<Policy> {
        match s.trim().to_ascii_lowercase().as_str() {
            "static" => Some(Policy::Static),
            "continuous" | "cb" => Some(Policy::Continuous),
            "paged" | "pa" => Some(Policy::Paged),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Policy::Static => "static",
            Policy::Continuous => "continuous",
            Policy::Paged => "paged",
        }
    }
}

/// The memory and bandwidth of one device, as the calculator needs them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Device {
    pub id: String,
    pub name: String,
    pub memory_bytes: u64,
    /// Bytes per second.
    pub bandwidth: f64,
    /// The memory CUDA reports, where measured (the driver keeps the rest).
    pub visible_memory_bytes: Option<u64>,
    /// Dense peak FLOP/s in the compute dtype (bf16, or fp16 without bf16); 0 when unknown.
    pub dense_flops: f64,
    /// The device computes in bf16.
    pub bf16: bool,
}

/// What is running: sequences, formats, allocation policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// The context limit per sequence (static batching reserves this much per sequence).
    pub context: u64,
    /// Current length of each sequence of the batch; the batch size is its length.
    pub lengths: Vec<u64>,
    pub kv_dtype: Dtype,
    pub weights: WeightFormat,
    /// Leave the weights out (they live elsewhere).
    pub skip_weights: bool,
    pub policy: Policy,
    /// The engine's utilization knob (vLLM `--gpu-memory-utilization`, SGLang
    /// `--mem-fraction-static`); None: the engine's default.
    pub gpu_util: Option<f64>,
    /// Tokens per KV page (vLLM's `--block-size`, SGLang's `--page-size`).
    pub block_tokens: u64,
    /// The engine whose rules size the cache.
    pub engine: Engine,
    /// Tensor- and pipeline-parallel degrees of the deployment; `tp` None: the capacity is one
    /// GPU's (TP 1, as `vllm serve` starts) and the per-GPU split is the ideal one over
    /// `gpus_needed`.
    pub tp: Option<u64>,
    pub pp: u64,
    /// With `tp` None, split the state evenly over this many GPUs instead of `gpus_needed`.
    pub gpus: Option<u64>,
    /// vLLM `--max-num-batched-tokens` and `--max-num-seqs` (None: `vllm serve`'s defaults).
    pub max_num_batched_tokens: Option<u64>,
    pub max_num_seqs: Option<u64>,
}

impl Workload {
    /// `batch` sequences all at `context` tokens, in the model's native formats, paged.
    pub fn uniform(model: &Model, context: u64, batch: u64) -> Workload {
        Workload {
            context,
            lengths: vec![context; batch as usize],
            kv_dtype: model.weights.default_kv_dtype(),
            weights: model.weights,
            skip_weights: false,
            policy: Policy::Paged,
            gpu_util: None,
            block_tokens: BLOCK_TOKENS,
            engine: Engine::Vllm,
            tp: None,
            pp: 1,
            gpus: None,
            max_num_batched_tokens: None,
            max_num_seqs: None,
        }
    }

    pub fn batch(&self) -> u64 {
        self.lengths.len() as u64
    }

    /// The deployment these settings describe, at tensor-parallel degree `tp`.
    pub fn deploy(&self, tp: u64) -> Deploy {
        Deploy {
            engine: self.engine,
            tp: tp.max(1),
            pp: self.pp.max(1),
            util: self.gpu_util,
            block_tokens: self.block_tokens.max(1),
            kv: self.kv_dtype,
            weights: self.weights,
            skip_weights: self.skip_weights,
            max_num_batched_tokens: self.max_num_batched_tokens,
            max_num_seqs: self.max_num_seqs,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Allocated {
    #[serde(rename = "static")]
    pub static_: u128,
    pub continuous: u128,
    pub paged: u128,
}

impl Allocated {
    pub fn get(&self, p: Policy) -> u128 {
        match p {
            Policy::Static => self.static_,
            Policy::Continuous => self.continuous,
            Policy::Paged => self.paged,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Scores {
    /// One layer's batch x heads x n x n score matrix, in the compute dtype, as a kernel that
    /// materialises it needs at prefill. Layers run one after another, so this is the peak.
    pub without_flash: u128,
    /// Flash attention keeps only the softmax statistics in memory: batch x heads x n fp32 values.
    pub with_flash: u128,
    /// `without_flash - with_flash`: what flash attention avoids.
    pub saved_by_flash: u128,
}

/// The engine's capacity line for one GPU of the deployment (TP 1 unless `--tp`): every term of
/// its startup arithmetic, and the pages and tokens it prints.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Capacity {
    pub engine: Engine,
    /// Which versions' rules.
    pub rules: &'static str,
    pub tp: u64,
    pub pp: u64,
    /// The utilization knob's name and value.
    pub util_name: &'static str,
    pub util: f64,
    /// The memory CUDA reports on one GPU, and whether it was measured (else the H100's share).
    pub device_memory_bytes: u128,
    pub device_memory_measured: bool,
    /// vLLM: device memory × utilization; SGLang: free memory before the weights × the fraction.
    pub requested_bytes: u128,
    /// Weights on the most loaded GPU of the deployment.
    pub weights_bytes: u128,
    /// vLLM's profiling-run activation peak (SGLang: 0, it lives outside the fraction).
    pub activation_bytes: u128,
    /// vLLM's non-torch memory (SGLang: the context held before the weights load).
    pub non_torch_bytes: u128,
    /// CUDA-graph memory subtracted before sizing (0 under these rules).
    pub cuda_graph_bytes: u128,
    /// The profiling run's tokens and sampler rows (vLLM).
    pub max_num_batched_tokens: u64,
    pub max_num_seqs: u64,
    /// What is left for the KV cache on that GPU ("Available KV cache memory"; 0 when nothing).
    pub usable_bytes: u128,
    /// Tokens per page (vLLM's block size, SGLang's page size).
    pub block_tokens: u64,
    /// Bytes of one page across that GPU's layers (vLLM hybrid models: across one group).
    pub block_bytes: u128,
    /// vLLM's "# GPU blocks".
    pub gpu_blocks: u128,
    /// "GPU KV cache size: N tokens" as the engine prints it (vLLM prices sliding-window and
    /// chunked layers as full attention here).
    pub kv_tokens: u128,
    /// The tokens the windows actually allow: `max_concurrency × context`.
    pub window_kv_tokens: u128,
    /// "Maximum concurrency for `context` tokens per request: N x", windows applied.
    pub max_concurrency: f64,
    /// Whole sequences of `context` tokens at once.
    pub max_sequences: u128,
    /// `usable_bytes` minus that GPU's share of the KV allocated under the policy and of the fixed
    /// state (0 when over).
    pub free_bytes: u128,
    /// The tokens the whole pages of `free_bytes` hold.
    pub free_tokens: u128,
}

/// Rooflines for the two latencies an engineer asks for next.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Latency {
    /// FLOPs to prefill one sequence of `context` tokens: 2 × active parameters per token plus
    /// the attention (QKᵀ and PV, causal, windows applied).
    pub prefill_flops: f64,
    /// Time to first token: those FLOPs at the dense peak of `per_gpu.gpus` GPUs (compute
    /// roofline; 0 where the device has no FLOPS figure).
    pub prefill_seconds: f64,
    /// Time per output token: the decode bandwidth roofline (`decode.step_seconds`).
    pub decode_seconds_per_token: f64,
}

/// One GPU's share when the state is split over `gpus` GPUs: with `--tp` the deployment's own
/// (its stage's layers, its rank's KV heads, replicated beyond the KV-head count; MLA's latent on
/// every rank), else an even 1/N of the weights, of every sequence's KV and of the heads.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PerGpu {
    /// GPUs the state is split over: the workload's, else `gpus_needed`.
    pub gpus: u64,
    pub weights_bytes: u128,
    /// KV allocated under the policy.
    pub kv_bytes: u128,
    pub fixed_state_bytes: u128,
    /// weights + KV + fixed state on one GPU.
    pub total_bytes: u128,
    /// One page's share.
    pub block_bytes: u128,
    /// What the engine lets weights and KV take on one GPU (its budget less its own overheads).
    pub engine_limit_bytes: u128,
    /// One GPU's memory minus its weights and fixed state: where its KV pages can go.
    pub kv_room_bytes: u128,
    /// One GPU's memory minus `total_bytes` (0 when over).
    pub free_bytes: u128,
    /// One GPU's share of the score matrix without flash attention.
    pub scores_bytes: u128,
}

/// A memory-bandwidth roofline for decoding: every step reads the weights it needs and the whole cache.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Decode {
    /// Bytes read per decode step (one new token for every sequence).
    pub bytes_per_step: u128,
    /// GPUs whose bandwidth adds up (tensor parallel: `per_gpu.gpus`).
    pub gpus: u64,
    /// What one of them reads per step.
    pub bytes_per_step_per_gpu: u128,
    pub step_seconds: f64,
    /// Tokens per second for the whole batch.
    pub tokens_per_second: f64,
    /// Tokens per second seen by one sequence.
    pub tokens_per_second_per_sequence: f64,
}

/// Every number kvscope shows about a state, from one computation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub model: String,
    pub gpu: String,
    pub context: u64,
    pub batch: u64,
    /// Tokens held by all sequences together.
    pub tokens: u64,
    pub kv_dtype: Dtype,
    pub weight_format: String,
    pub policy: Policy,
    pub gpu_util: f64,
    /// KV bytes one token costs across all layers, before any window applies.
    pub kv_bytes_per_token: u128,
    /// KV bytes the sequences actually hold, windows applied.
    pub kv_cache_bytes: u128,
    /// Linear-attention state, fixed per sequence.
    pub fixed_state_bytes: u128,
    pub weights_bytes: u128,
    pub allocated_bytes: Allocated,
    /// weights + KV allocated under the chosen policy + fixed state.
    pub total_bytes: u128,
    pub gpu_memory_bytes: u64,
    /// What the engine may use of one GPU (vLLM: CUDA's memory × utilization).
    pub usable_bytes_per_gpu: u128,
    /// `total_bytes` / one GPU's memory.
    pub memory_fraction: f64,
    /// What of `total_bytes` does not fit in one GPU's memory (0 when it does).
    pub beyond_one_gpu_bytes: u128,
    /// The fewest GPUs whose engine budgets (usable memory less the engine's own overheads) hold
    /// `total_bytes` split evenly over them.
    pub gpus_needed: u64,
    /// The same for the score matrix without flash attention.
    pub scores_gpus_needed: u64,
    /// KV used / KV allocated under the chosen policy.
    pub efficiency: f64,
    pub attention_scores_bytes: Scores,
    pub capacity: Capacity,
    pub per_gpu: PerGpu,
    pub decode: Decode,
    pub latency: Latency,
    /// The KV formula with this state's numbers, ending in the result.
    pub formula: String,
}

/// Bytes one sequence of `n` tokens holds: (used KV, paged KV, fixed state).
fn sequence_bytes(groups: &[LayerGroup], kv: Dtype, n: u64, block: u64) -> (u128, u128, u128) {
    let mut used = 0u128;
    let mut paged = 0u128;
    let mut fixed = 0u128;
    for g in groups {
        let per_token = g.attention.elements_per_token() as u128;
        let count = g.count as u128;
        used += count * kv.bytes(per_token * g.attention.stored_tokens(n) as u128);
        paged += count * kv.bytes(per_token * (g.attention.pages(n, block) * block) as u128);
        fixed += count * kv.bytes(g.attention.fixed_elements() as u128);
    }
    (used, paged, fixed)
}

/// KV bytes one sequence of `n` tokens holds under the model's windows (no paging).
pub fn kv_bytes(model: &Model, kv: Dtype, n: u64) -> u128 {
    sequence_bytes(&model.layer_groups(), kv, n, BLOCK_TOKENS).0
}

/// KV bytes a sequence of `n` tokens holds, windows applied, without and with paging into
/// `block`-token pages, for precomputed layer groups (the simulation calls this every step).
pub fn sequence_kv_bytes(groups: &[LayerGroup], kv: Dtype, n: u64, block: u64) -> (u128, u128) {
    let (used, paged, _) = sequence_bytes(groups, kv, n, block.max(1));
    (used, paged)
}

/// One GPU's share of `bytes` split over `gpus` (rounded up to a whole byte).
pub fn share(bytes: u128, gpus: u64) -> u128 {
    bytes.div_ceil(gpus.max(1) as u128)
}

/// KV bytes for one token across all layers, ignoring windows.
pub fn kv_bytes_per_token(model: &Model, kv: Dtype) -> u128 {
    model
        .layer_groups()
        .iter()
        .map(|g| g.count as u128 * kv.bytes(g.attention.elements_per_token() as u128))
        .sum()
}

/// Weights resident in memory.
pub fn weights_bytes(model: &Model, format: &WeightFormat) -> u128 {
    format.bytes(&model.params)
}

/// What the batch's sequences hold, summed over the sequences.
#[derive(Clone, Copy, Debug, Default)]
struct Held {
    /// KV the sequences use, what paging rounds it up to, and their fixed (linear) state.
    used: u128,
    paged: u128,
    fixed: u128,
    /// Σ n² and Σ n over the sequences' lengths (attention scores).
    sum_sq: u128,
    sum_n: u128,
    /// KV one sequence reserves at the full context.
    reserve: u128,
}

fn held(model: &Model, w: &Workload) -> Held {
    let block = w.block_tokens.max(1);
    let groups = model.layer_groups();
    let mut h = Held::default();
    for &n in &w.lengths {
        let (u, p, f) = sequence_bytes(&groups, w.kv_dtype, n, block);
        h.used += u;
        h.paged += p;
        h.fixed += f;
        h.sum_sq += (n as u128) * (n as u128);
        h.sum_n += n as u128;
    }
    h.reserve = sequence_bytes(&groups, w.kv_dtype, w.context, block).0;
    h
}

/// `b` bytes scaled by a share `f` (rounded up; all of it at 1).
fn part(b: u128, f: f64) -> u128 {
    if f >= 1.0 {
        b
    } else {
        (b as f64 * f).ceil() as u128
    }
}

/// Everything the report's sections are computed from.
struct Parts<'a> {
    model: &'a Model,
    device: &'a Device,
    w: &'a Workload,
    held: Held,
    /// Bytes of the weights and of the KV the policy allocates.
    weights: u128,
    kv_alloc: u128,
    per_token: u128,
    without_flash: u128,
    /// The deployment at its TP (1 without `--tp`), the engine's budget and pool for one GPU of it.
    tp: u64,
    pp: u64,
    deploy: engine::Deploy,
    budget: engine::Budget,
    pool: engine::Pool,
    gpus_needed: u64,
}

impl Parts<'_> {
    /// One GPU's share: the deployment's, or an even split over the GPUs needed (or `w.gpus`).
    fn per_gpu(&self) -> PerGpu {
        let (w, held) = (self.w, &self.held);
        let (gpus, kv_frac, fixed_frac, weights_one) = match w.tp {
            Some(t) => {
                let share = engine::kv_share(self.model, w.kv_dtype, t, self.pp);
                let n = t * self.pp;
                (n, share, 1.0 / n as f64, self.budget.weights_bytes)
            }
            None => {
                let n = w.gpus.unwrap_or(self.gpus_needed).max(1);
                let f = 1.0 / n as f64;
                (n, f, f, share(self.weights, n))
            }
        };
        let kv_one = part(self.kv_alloc, kv_frac);
        let fixed_one = part(held.fixed, fixed_frac);
        let per_total = weights_one + kv_one + fixed_one;
        let b = &self.budget;
        let limit = if w.tp.is_some() {
            b.requested_bytes
                - b.activation_bytes.min(b.requested_bytes)
                - b.non_torch_bytes.min(b.requested_bytes)
        } else {
            engine::ideal_room(self.model, self.device, &self.deploy, gpus).max(0.0) as u128
        };
        let mem = self.device.memory_bytes as u128;
        PerGpu {
            gpus,
            weights_bytes: weights_one,
            kv_bytes: kv_one,
            fixed_state_bytes: fixed_one,
            total_bytes: per_total,
            block_bytes: part(self.per_token * w.block_tokens.max(1) as u128, kv_frac),
            engine_limit_bytes: limit,
            kv_room_bytes: mem.saturating_sub(weights_one + fixed_one),
            free_bytes: mem.saturating_sub(per_total),
            scores_bytes: share(self.without_flash, gpus),
        }
    }

    /// The capacity line at the deployment's TP (one GPU without `--tp`).
    fn capacity(&self) -> Capacity {
        let (w, b, pool) = (self.w, &self.budget, &self.pool);
        let (tp, pp) = (self.tp, self.pp);
        let cap_kv = part(
            self.kv_alloc,
            engine::kv_share(self.model, w.kv_dtype, tp, pp),
        ) + part(self.held.fixed, 1.0 / (tp * pp) as f64);
        let free = b.kv_bytes.saturating_sub(cap_kv);
        // whole free pages, at the tokens a page stands for in the engine's count
        let free_tokens = (free.checked_div(pool.block_bytes).unwrap_or(0) * pool.kv_tokens)
            .checked_div(pool.gpu_blocks)
            .unwrap_or(0);
        Capacity {
            engine: w.engine,
            rules: w.engine.rules(),
            tp,
            pp,
            util_name: w.engine.util_name(),
            util: b.util,
            device_memory_bytes: b.device_memory_bytes,
            device_memory_measured: b.device_memory_measured,
            requested_bytes: b.requested_bytes,
            weights_bytes: b.weights_bytes,
            activation_bytes: b.activation_bytes,
            non_torch_bytes: b.non_torch_bytes,
            cuda_graph_bytes: b.cuda_graph_bytes,
            max_num_batched_tokens: b.max_num_batched_tokens,
            max_num_seqs: b.max_num_seqs,
            usable_bytes: b.kv_bytes,
            block_tokens: w.block_tokens.max(1),
            block_bytes: pool.block_bytes,
            gpu_blocks: pool.gpu_blocks,
            kv_tokens: pool.kv_tokens,
            window_kv_tokens: pool.window_kv_tokens,
            max_concurrency: pool.max_concurrency,
            max_sequences: pool.max_concurrency.max(0.0).floor() as u128,
            free_bytes: free,
            free_tokens,
        }
    }

    /// Prefill and decode rooflines over `gpus` GPUs.
    fn latency(&self, decode: &Decode, gpus: u64) -> Latency {
        let prefill_flops = prefill_flops(self.model, self.w.context);
        let dense = self.device.dense_flops;
        Latency {
            prefill_flops,
            prefill_seconds: if dense > 0.0 {
                prefill_flops / (dense * gpus as f64)
            } else {
                0.0
            },
            decode_seconds_per_token: if decode.step_seconds.is_finite() {
                decode.step_seconds
            } else {
                0.0
            },
        }
    }
}

/// The attention-score matrix at prefill: materialised in the compute dtype without flash
/// attention, only the softmax statistics (fp32) with it.
fn scores(model: &Model, w: &Workload, held: &Held) -> Scores {
    let heads = model.max_q_heads() as u128;
    let without_flash = w.weights.compute_dtype().bytes(heads * held.sum_sq);
    let with_flash = Dtype::Fp32.bytes(heads * held.sum_n);
    Scores {
        without_flash,
        with_flash,
        saved_by_flash: without_flash.saturating_sub(with_flash),
    }
}

/// Computes the full report. `gpu_util` outside (0, 1] is clamped by the caller's validation.
pub fn report(model: &Model, device: &Device, w: &Workload) -> Report {
    let held = held(model, w);
    let allocated = Allocated {
        static_: held.reserve * w.batch() as u128,
        continuous: held.used,
        paged: held.paged,
    };
    let weights = if w.skip_weights {
        0
    } else {
        weights_bytes(model, &w.weights)
    };
    let kv_alloc = allocated.get(w.policy);
    let total = weights + kv_alloc + held.fixed;
    let mem = device.memory_bytes as u128;
    let efficiency = if kv_alloc == 0 {
        1.0
    } else {
        held.used as f64 / kv_alloc as f64
    };
    let scores = scores(model, w, &held);
    // The engine: one GPU of the deployment (TP 1 unless given), and the fewest GPUs.
    let tp = w.tp.unwrap_or(1).max(1);
    let deploy = w.deploy(tp);
    let (budget, pool) = engine::plan(model, device, &deploy, w.context);
    let parts = Parts {
        model,
        device,
        w,
        held,
        weights,
        kv_alloc,
        per_token: kv_bytes_per_token(model, w.kv_dtype),
        without_flash: scores.without_flash,
        tp,
        pp: w.pp.max(1),
        gpus_needed: engine::gpus_for(model, device, &deploy, total),
        deploy,
        budget,
        pool,
    };
    let per_gpu = parts.per_gpu();
    let decode = decode_roofline(model, device, w, held.used + held.fixed, per_gpu.gpus);
    let latency = parts.latency(&decode, per_gpu.gpus);
    let d = &parts.deploy;
    Report {
        model: model.id.clone(),
        gpu: device.id.clone(),
        context: w.context,
        batch: w.batch(),
        tokens: held.sum_n.min(u64::MAX as u128) as u64,
        kv_dtype: w.kv_dtype,
        weight_format: w.weights.label(),
        policy: w.policy,
        gpu_util: parts.budget.util,
        kv_bytes_per_token: parts.per_token,
        kv_cache_bytes: held.used,
        fixed_state_bytes: held.fixed,
        weights_bytes: weights,
        allocated_bytes: allocated,
        total_bytes: total,
        gpu_memory_bytes: device.memory_bytes,
        usable_bytes_per_gpu: parts.budget.requested_bytes,
        memory_fraction: total as f64 / device.memory_bytes.max(1) as f64,
        beyond_one_gpu_bytes: total.saturating_sub(mem),
        gpus_needed: parts.gpus_needed,
        scores_gpus_needed: engine::gpus_for(model, device, d, scores.without_flash),
        efficiency,
        attention_scores_bytes: scores,
        capacity: parts.capacity(),
        per_gpu,
        decode,
        latency,
        formula: kv_formula(model, w.kv_dtype, &w.lengths, held.used),
    }
}

/// FLOPs to prefill one sequence of `n` tokens: 2 × active parameters per token (the matmuls;
/// a vision tower and the token embedding lookup excluded) plus attention, QKᵀ and PV, 2 FLOPs per
/// multiply-add each, over the causal (or windowed) pairs of every layer; MLA in its absorbed form
/// (scores and values over the latent).
pub fn prefill_flops(model: &Model, n: u64) -> f64 {
    let p = &model.params;
    let vocab_d = model.vocab_size * model.hidden_size;
    let matmul = p
        .active
        .saturating_sub(p.vision)
        .saturating_sub(vocab_d.min(p.embedding));
    let nf = n as f64;
    let mut attn = 0.0;
    for l in &model.layers {
        let pairs = |w: f64| {
            // Σ over queries i of min(i + 1, w) keys
            let w = w.min(nf);
            w * (w + 1.0) / 2.0 + (nf - w) * w
        };
        let (dims, keys) = match l.attention {
            Attention::Full { k_dim, v_dim, .. } => ((k_dim + v_dim) as f64, pairs(nf)),
            Attention::Sliding {
                k_dim,
                v_dim,
                window,
                ..
            } => ((k_dim + v_dim) as f64, pairs(window as f64)),
            Attention::Chunked {
                k_dim,
                v_dim,
                chunk,
                ..
            } => {
                // each query sees the keys of its own chunk up to itself
                let c = (chunk as f64).min(nf).max(1.0);
                let full = (nf / c).floor();
                let rem = nf - full * c;
                (
                    (k_dim + v_dim) as f64,
                    full * c * (c + 1.0) / 2.0 + rem * (rem + 1.0) / 2.0,
                )
            }
            Attention::Mla {
                kv_lora_rank,
                rope_dim,
            } => ((2 * kv_lora_rank + rope_dim) as f64, pairs(nf)),
            Attention::Linear { .. } => (0.0, 0.0),
        };
        attn += 2.0 * l.q_heads as f64 * dims * keys;
    }
    2.0 * matmul as f64 * nf + attn
}

/// Expected number of distinct experts `tokens` tokens route to when each picks `k` of `e`
/// uniformly: e x (1 - ((e - k) / e)^tokens).
pub fn expected_experts_touched(e: u64, k: u64, tokens: u64) -> f64 {
    if e == 0 {
        return 0.0;
    }
    let miss = (e - k.min(e)) as f64 / e as f64;
    e as f64 * (1.0 - miss.powf(tokens as f64))
}

fn decode_roofline(
    model: &Model,
    device: &Device,
    w: &Workload,
    cache_bytes: u128,
    gpus: u64,
) -> Decode {
    let p = &model.params;
    // A step reads the layers, the LM head and the experts the batch routes to (not a vision
    // tower).
    let other = p.total - p.routed_expert - p.embedding - p.vision;
    let weights_read = if w.skip_weights {
        0
    } else {
        let experts = if p.experts == 0 {
            0
        } else {
            let touched = expected_experts_touched(p.experts, p.experts_per_token, w.batch());
            ((touched * p.per_expert() as f64 * p.moe_layers as f64).round() as u64)
                .min(p.routed_expert)
        };
        w.weights.bytes_parts(other, experts, p.embedding)
    };
    let bytes = weights_read + cache_bytes;
    let gpus = gpus.max(1);
    let bw = device.bandwidth * gpus as f64;
    let step = if bw > 0.0 {
        bytes as f64 / bw
    } else {
        f64::INFINITY
    };
    let (tps, per_seq) = if step > 0.0 && step.is_finite() {
        (w.batch() as f64 / step, 1.0 / step)
    } else {
        (0.0, 0.0)
    };
    Decode {
        bytes_per_step: bytes,
        gpus,
        bytes_per_step_per_gpu: share(bytes, gpus),
        step_seconds: step,
        tokens_per_second: tps,
        tokens_per_second_per_sequence: per_seq,
    }
}

/// The tokens a layer of attention `a` stores for sequences of `lengths`, as the formula says it:
/// `131,072 tokens × 4 sequences`, `4,096 tokens (window 4,096)`, `… (Σ of 3 sequences)`.
fn tokens_term(a: &Attention, lengths: &[u64]) -> String {
    let batch = lengths.len() as u64;
    let all_equal = lengths.windows(2).all(|p| p[0] == p[1]);
    let stored: Vec<u64> = lengths.iter().map(|&n| a.stored_tokens(n)).collect();
    let window_note = match a {
        Attention::Sliding { window, .. } if stored.contains(window) => {
            format!(" (window {})", units::count(*window as u128))
        }
        Attention::Chunked { chunk, .. } if lengths.iter().any(|&n| n > *chunk) => {
            format!(" (chunk {})", units::count(*chunk as u128))
        }
        _ => String::new(),
    };
    if batch == 0 {
        "0 tokens".to_string()
    } else if all_equal {
        let t = format!("{} tokens{window_note}", units::count(stored[0] as u128));
        if batch > 1 {
            format!("{t} × {batch} sequences")
        } else {
            t
        }
    } else {
        let sum: u128 = stored.iter().map(|&s| s as u128).sum();
        format!(
            "{} tokens (Σ of {batch} sequences){window_note}",
            units::count(sum)
        )
    }
}

/// One group of `count` layers of attention `a` in the formula, up to its token term; None for
/// layers without a per-token cache.
fn layers_term(a: &Attention, count: u64, size: &str) -> Option<String> {
    let layers = if count == 1 { "layer" } else { "layers" };
    Some(match *a {
        Attention::Full {
            kv_heads,
            k_dim,
            v_dim,
        } if k_dim == v_dim => {
            format!("2 × {count} {layers} × {kv_heads} KV heads × {k_dim} head_dim × {size}")
        }
        Attention::Full {
            kv_heads,
            k_dim,
            v_dim,
        } => format!("{count} {layers} × {kv_heads} KV heads × ({k_dim} + {v_dim}) dims × {size}"),
        Attention::Sliding {
            kv_heads,
            k_dim,
            v_dim,
            ..
        }
        | Attention::Chunked {
            kv_heads,
            k_dim,
            v_dim,
            ..
        } => {
            let kind = if matches!(a, Attention::Chunked { .. }) {
                "chunked"
            } else {
                "sliding"
            };
            if k_dim == v_dim {
                format!(
                    "2 × {count} {kind} {layers} × {kv_heads} KV heads × {k_dim} head_dim × {size}"
                )
            } else {
                format!(
                    "{count} {kind} {layers} × {kv_heads} KV heads × ({k_dim} + {v_dim}) dims × {size}"
                )
            }
        }
        Attention::Mla {
            kv_lora_rank,
            rope_dim,
        } => format!("{count} {layers} × ({kv_lora_rank} latent + {rope_dim} rope) × {size}"),
        Attention::Linear { .. } => return None,
    })
}

/// The KV formula with the state's own numbers, e.g.
/// `2 × 80 layers × 8 KV heads × 128 head_dim × 2 B × 1,000,000 tokens = 305.18 GiB`.
pub fn kv_formula(model: &Model, kv: Dtype, lengths: &[u64], result: u128) -> String {
    let size = kv.size_label();
    let terms: Vec<String> = model
        .layer_groups()
        .iter()
        .filter_map(|g| {
            let head = layers_term(&g.attention, g.count, size)?;
            Some(format!("{head} × {}", tokens_term(&g.attention, lengths)))
        })
        .collect();
    if terms.is_empty() {
        return format!("no per-token KV cache = {}", units::bytes(result));
    }
    format!("{} = {}", terms.join(" + "), units::bytes(result))
}
