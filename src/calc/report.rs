//! The calculator proper: a workload on a model and a GPU in, every memory number out.
//! Pure functions of their inputs; nothing here knows about time, pixels or wgpu.

use super::dtype::Dtype;
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
    /// Fraction of GPU memory the engine may use (vLLM `--gpu-memory-utilization`).
    pub gpu_util: f64,
    /// Tokens per KV page (vLLM's `--block-size`).
    pub block_tokens: u64,
    /// GPUs the state is split over (tensor parallel, 1/N of the weights, KV and heads on each);
    /// None: `gpus_needed`, the fewest that hold it.
    pub gpus: Option<u64>,
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
            gpu_util: DEFAULT_GPU_UTIL,
            block_tokens: BLOCK_TOKENS,
            gpus: None,
        }
    }

    pub fn batch(&self) -> u64 {
        self.lengths.len() as u64
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

/// vLLM's own capacity terms, for one GPU.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Capacity {
    /// GPU memory x utilization - weights (0 when the weights do not fit).
    pub usable_bytes: u128,
    /// Tokens per page (vLLM's block size).
    pub block_tokens: u64,
    /// Bytes of one page across all layers.
    pub block_bytes: u128,
    pub gpu_blocks: u128,
    /// Token slots in those pages.
    pub kv_tokens: u128,
    /// How many sequences of `context` tokens fit at once.
    pub max_concurrency: u128,
    /// `usable_bytes` minus the KV allocated under the policy and the fixed state (0 when over).
    pub free_bytes: u128,
    /// Token slots in the whole pages `free_bytes` holds.
    pub free_tokens: u128,
}

/// One GPU's share when the state is split over `gpus` GPUs (tensor parallel: 1/N of the weights,
/// of every sequence's KV and of the attention heads on each, rounded up to whole bytes).
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
    /// One GPU's memory x utilization: what the engine may use.
    pub usable_bytes_per_gpu: u128,
    /// `total_bytes` / one GPU's memory.
    pub memory_fraction: f64,
    /// What of `total_bytes` does not fit in one GPU's memory (0 when it does).
    pub beyond_one_gpu_bytes: u128,
    /// GPUs whose usable memory (memory x utilization) holds `total_bytes`.
    pub gpus_needed: u64,
    /// GPUs whose usable memory holds the score matrix without flash attention.
    pub scores_gpus_needed: u64,
    /// KV used / KV allocated under the chosen policy.
    pub efficiency: f64,
    pub attention_scores_bytes: Scores,
    pub capacity: Capacity,
    pub per_gpu: PerGpu,
    pub decode: Decode,
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

/// GPUs of `usable` bytes each that hold `bytes`.
fn gpus_for(bytes: u128, usable: u128) -> u64 {
    if usable == 0 {
        u64::MAX
    } else {
        bytes.div_ceil(usable).max(1).min(u64::MAX as u128) as u64
    }
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

/// Computes the full report. `gpu_util` outside (0, 1] is clamped by the caller's validation.
pub fn report(model: &Model, device: &Device, w: &Workload) -> Report {
    let block = w.block_tokens.max(1);
    let batch = w.batch();
    let groups = model.layer_groups();
    let mut used = 0u128;
    let mut paged = 0u128;
    let mut fixed = 0u128;
    let mut sum_sq = 0u128;
    let mut sum_n = 0u128;
    for &n in &w.lengths {
        let (u, p, f) = sequence_bytes(&groups, w.kv_dtype, n, block);
        used += u;
        paged += p;
        fixed += f;
        sum_sq += (n as u128) * (n as u128);
        sum_n += n as u128;
    }
    let (reserve, _, _) = sequence_bytes(&groups, w.kv_dtype, w.context, block);
    let allocated = Allocated {
        static_: reserve * batch as u128,
        continuous: used,
        paged,
    };
    let weights = if w.skip_weights {
        0
    } else {
        weights_bytes(model, &w.weights)
    };
    let kv_alloc = allocated.get(w.policy);
    let total = weights + kv_alloc + fixed;
    let usable_per_gpu = (device.memory_bytes as f64 * w.gpu_util).floor() as u128;
    let gpus_needed = gpus_for(total, usable_per_gpu);
    let mem = device.memory_bytes as u128;
    let efficiency = if kv_alloc == 0 {
        1.0
    } else {
        used as f64 / kv_alloc as f64
    };

    let heads = model.max_q_heads() as u128;
    let compute = w.weights.compute_dtype();
    let without_flash = compute.bytes(heads * sum_sq);
    let with_flash = Dtype::Fp32.bytes(heads * sum_n);
    let scores = Scores {
        without_flash,
        with_flash,
        saved_by_flash: without_flash.saturating_sub(with_flash),
    };

    let per_token = kv_bytes_per_token(model, w.kv_dtype);
    let block_bytes = per_token * block as u128;
    let usable = usable_per_gpu.saturating_sub(weights);
    let gpu_blocks = usable.checked_div(block_bytes).unwrap_or(0);
    let (_, seq_paged, seq_fixed) = sequence_bytes(&groups, w.kv_dtype, w.context, block);
    let free = usable.saturating_sub(kv_alloc + fixed);
    let capacity = Capacity {
        usable_bytes: usable,
        block_tokens: block,
        block_bytes,
        gpu_blocks,
        kv_tokens: gpu_blocks * block as u128,
        max_concurrency: usable.checked_div(seq_paged + seq_fixed).unwrap_or(0),
        free_bytes: free,
        free_tokens: free.checked_div(block_bytes).unwrap_or(0) * block as u128,
    };

    let gpus = w.gpus.unwrap_or(gpus_needed).max(1);
    let on_one = |b: u128| share(b, gpus);
    let per_total = on_one(weights) + on_one(kv_alloc) + on_one(fixed);
    let per_gpu = PerGpu {
        gpus,
        weights_bytes: on_one(weights),
        kv_bytes: on_one(kv_alloc),
        fixed_state_bytes: on_one(fixed),
        total_bytes: per_total,
        block_bytes: on_one(block_bytes),
        kv_room_bytes: mem.saturating_sub(on_one(weights) + on_one(fixed)),
        free_bytes: mem.saturating_sub(per_total),
        scores_bytes: on_one(without_flash),
    };

    let decode = decode_roofline(model, device, w, used + fixed, gpus);

    Report {
        model: model.id.clone(),
        gpu: device.id.clone(),
        context: w.context,
        batch,
        tokens: sum_n.min(u64::MAX as u128) as u64,
        kv_dtype: w.kv_dtype,
        weight_format: w.weights.label(),
        policy: w.policy,
        gpu_util: w.gpu_util,
        kv_bytes_per_token: per_token,
        kv_cache_bytes: used,
        fixed_state_bytes: fixed,
        weights_bytes: weights,
        allocated_bytes: allocated,
        total_bytes: total,
        gpu_memory_bytes: device.memory_bytes,
        usable_bytes_per_gpu: usable_per_gpu,
        memory_fraction: total as f64 / device.memory_bytes.max(1) as f64,
        beyond_one_gpu_bytes: total.saturating_sub(mem),
        gpus_needed,
        scores_gpus_needed: gpus_for(without_flash, usable_per_gpu),
        efficiency,
        attention_scores_bytes: scores,
        capacity,
        per_gpu,
        decode,
        formula: kv_formula(model, w.kv_dtype, &w.lengths, used),
    }
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
    let weights_read = if w.skip_weights {
        0
    } else if p.experts == 0 {
        w.weights.bytes(p)
    } else {
        let touched = expected_experts_touched(p.experts, p.experts_per_token, w.batch());
        let expert_params = (touched * p.per_expert() as f64 * p.moe_layers as f64).round() as u64;
        w.weights.bytes_of(
            p.total - p.routed_expert,
            expert_params.min(p.routed_expert),
        )
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

/// The KV formula with the state's own numbers, e.g.
/// `2 × 80 layers × 8 KV heads × 128 head_dim × 2 B × 1,000,000 tokens = 305.18 GiB`.
pub fn kv_formula(model: &Model, kv: Dtype, lengths: &[u64], result: u128) -> String {
    let batch = lengths.len() as u64;
    let all_equal = lengths.windows(2).all(|p| p[0] == p[1]);
    let size = kv.size_label();
    let tokens_term = |a: &Attention| -> String {
        let stored: Vec<u64> = lengths.iter().map(|&n| a.stored_tokens(n)).collect();
        let window_note = match a {
            Attention::Sliding { window, .. } if stored.contains(window) => {
                format!(" (window {})", units::count(*window as u128))
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
    };
    let mut terms = Vec::new();
    for g in model.layer_groups() {
        let layers = if g.count == 1 { "layer" } else { "layers" };
        let term = match g.attention {
            Attention::Full {
                kv_heads,
                k_dim,
                v_dim,
            } if k_dim == v_dim => format!(
                "2 × {} {layers} × {kv_heads} KV heads × {k_dim} head_dim × {size} × {}",
                g.count,
                tokens_term(&g.attention)
            ),
            Attention::Full {
                kv_heads,
                k_dim,
                v_dim,
            } => format!(
                "{} {layers} × {kv_heads} KV heads × ({k_dim} + {v_dim}) dims × {size} × {}",
                g.count,
                tokens_term(&g.attention)
            ),
            Attention::Sliding {
                kv_heads,
                k_dim,
                v_dim,
                ..
            } => {
                let dims = if k_dim == v_dim {
                    format!(
                        "2 × {} sliding {layers} × {kv_heads} KV heads × {k_dim} head_dim",
                        g.count
                    )
                } else {
                    format!(
                        "{} sliding {layers} × {kv_heads} KV heads × ({k_dim} + {v_dim}) dims",
                        g.count
                    )
                };
                format!("{dims} × {size} × {}", tokens_term(&g.attention))
            }
            Attention::Mla {
                kv_lora_rank,
                rope_dim,
            } => format!(
                "{} {layers} × ({kv_lora_rank} latent + {rope_dim} rope) × {size} × {}",
                g.count,
                tokens_term(&g.attention)
            ),
            Attention::Linear { .. } => continue,
        };
        terms.push(term);
    }
    if terms.is_empty() {
        return format!("no per-token KV cache = {}", units::bytes(result));
    }
    format!("{} = {}", terms.join(" + "), units::bytes(result))
}
