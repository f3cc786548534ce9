//! What an inference engine gives the KV cache on one GPU, in the engine's own terms: the memory the
//! runtime sees, the engine's utilization rule, the weights each GPU loads under tensor and pipeline
//! parallelism, the activation peak of the profiling run, non-torch memory, and how the rest is cut
//! into pages and counted in the line the engine prints at startup.
//!
//! - **vLLM** (V1 engine, the rules of 0.17 to 0.20; calibrated on 0.19.0 startup logs):
//!   `available = total × gpu_memory_utilization − (weights + activation peak + non-torch)`, with
//!   `total` what CUDA reports (`vllm/v1/worker/gpu_worker.py`, `determine_available_memory`); CUDA
//!   graphs are captured after the cache is sized and are not subtracted before 0.21. The pages are
//!   counted as in `vllm/v1/core/kv_cache_utils.py`: blocks = available ÷ (page × layers), the
//!   minimum over pipeline stages; hybrid models (sliding or chunked layers with full ones) group
//!   their layers and price every group as full attention in "GPU KV cache size".
//! - **SGLang** (`profile_max_num_token`): `tokens = (free × mem_fraction_static − weights) ÷ cell`,
//!   with `free` the memory free before the weights load and one token per page; activations and
//!   CUDA graphs live in the rest. `mem_fraction_static`'s default follows the rule in
//!   `server_args.py` since October 2025 (`_handle_gpu_memory_settings`).
//!
//! Pure functions; the constants that are measured or fitted say on what.

use super::dtype::Dtype;
use super::model::{Attention, Model, WeightFormat};
use super::report::Device;
use serde::Serialize;

const GIB: f64 = (1u64 << 30) as f64;

/// The engine whose rules size the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    #[default]
    Vllm,
    Sglang,
}

impl Engine {
    pub fn parse(s: &str) -> Option<Engine> {
        match s.trim().to_ascii_lowercase().as_str() {
            "vllm" => Some(Engine::Vllm),
            "sglang" => Some(Engine::Sglang),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Engine::Vllm => "vllm",
            Engine::Sglang => "sglang",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Engine::Vllm => "vLLM",
            Engine::Sglang => "SGLang",
        }
    }
    /// Which versions' rules these are.
    pub fn rules(self) -> &'static str {
        match self {
            Engine::Vllm => "vLLM 0.17-0.20 rules (calibrated on 0.19.0)",
            Engine::Sglang => "SGLang rules since Oct 2025 (0.5.3+)",
        }
    }
    /// Tokens per page: vLLM's `--block-size` default on CUDA, SGLang's `page_size` default.
    pub fn default_block_tokens(self) -> u64 {
        match self {
            Engine::Vllm => 16,
            Engine::Sglang => 1,
        }
    }
    /// The name of the engine's utilization knob.
    pub fn util_name(self) -> &'static str {
        match self {
            Engine::Vllm => "gpu_memory_utilization",
            Engine::Sglang => "mem_fraction_static",
        }
    }
}

/// vLLM's default `gpu_memory_utilization`.
pub const VLLM_DEFAULT_UTIL: f64 = 0.9;

/// The memory CUDA reports, as a share of the catalog's capacity, where no log gives it: the
/// H100 80GB's 79.19 GiB of 80 (vLLM 0.19 logs, `total_memory=79.19GiB`).
pub const VISIBLE_SHARE: f64 = 79.19 / 80.0;

/// Non-torch memory vLLM measures during profiling, by parallelism: 0.25 GiB on one GPU (0.24 to
/// 0.27 in 35 of the v0.19 logs), 0.07 GiB per pipeline stage without tensor parallelism, and
/// 2.06 to 2.21 GiB with tensor parallelism (NCCL and custom all-reduce buffers; 2.12 the median
/// of 14 logs at TP 2 and 4).
pub const NON_TORCH_ONE_GPU: f64 = 0.25 * GIB;
pub const NON_TORCH_PP: f64 = 0.07 * GIB;
pub const NON_TORCH_TP: f64 = 2.12 * GIB;

/// vLLM's activation peak during its profiling run (`profile_run`: a forward pass of
/// `max_num_batched_tokens` tokens, then the sampler over `min(max_num_seqs, tokens)` rows of
/// full-vocabulary fp32 logits), modelled as `base + hidden_copies × tokens × hidden × dtype +
/// logit_copies × rows × vocab × 4 B + moe_copies × tokens × top-k × max(2 × expert width ÷ TP,
/// hidden) × dtype`. The four constants are a least-squares fit, rounded to two decimals, of the activation vLLM 0.19
/// logs ("torch peak memory increase") in the calibration cases marked `fit` in
/// tests/calibration.rs (which checks them against a fresh fit); the held-out cases were not used.
pub const ACT_BASE: f64 = -0.06 * GIB;
pub const ACT_HIDDEN_COPIES: f64 = 1.28;
pub const ACT_LOGIT_COPIES: f64 = 3.81;
pub const ACT_MOE_COPIES: f64 = 1.22;

/// What SGLang's process holds on each GPU before the weights load (CUDA context and buffers):
/// 79.19 GiB visible on an H100 against 78.81 and 78.59 GiB free at "Load weight begin" in two
/// SGLang logs; their mean.
pub const SGLANG_CONTEXT: f64 = 0.49 * GIB;

/// `max_num_batched_tokens` and `max_num_seqs` `vllm serve` defaults to (`EngineArgs`, the
/// OpenAI-server usage context): 8,192 and 1,024 on GPUs of at least 70 GiB other than A100s,
/// 2,048 and 256 elsewhere.
pub fn vllm_serve_defaults(device: &Device) -> (u64, u64) {
    let big = visible_memory(device).0 as f64 >= 70.0 * GIB;
    if big && !device.name.to_ascii_lowercase().contains("a100") {
        (8192, 1024)
    } else {
        (2048, 256)
    }
}

/// The memory CUDA reports for a device and whether it was measured (else the H100's share).
pub fn visible_memory(device: &Device) -> (u128, bool) {
    match device.visible_memory_bytes {
        Some(b) => (b as u128, true),
        None => (
            (device.memory_bytes as f64 * VISIBLE_SHARE).floor() as u128,
            false,
        ),
    }
}

/// SGLang's default `mem_fraction_static` for a device and parallelism: reserve 512 MiB + 1.5 ×
/// the chunked-prefill size + 2 × the CUDA-graph batch size + TP × PP ÷ 8 GiB (at least 10 GiB on
/// GPUs over 60 GB), chunked prefill and graph batch chosen by the GPU's size.
pub fn sglang_default_fraction(device: &Device, tp: u64, pp: u64) -> f64 {
    let mib = (visible_memory(device).0 >> 20) as f64;
    let (chunked, graph_bs) = if mib < 20.0 * 1024.0 {
        (2048.0, 8.0)
    } else if mib < 35.0 * 1024.0 {
        (2048.0, if tp < 4 { 24.0 } else { 80.0 })
    } else if mib < 60.0 * 1024.0 {
        (4096.0, if tp < 4 { 32.0 } else { 160.0 })
    } else if mib < 160.0 * 1024.0 {
        (8192.0, if tp < 4 { 256.0 } else { 512.0 })
    } else {
        (16384.0, 512.0)
    };
    let mut reserved =
        512.0 + f64::max(chunked, 2048.0) * 1.5 + graph_bs * 2.0 + (tp * pp) as f64 / 8.0 * 1024.0;
    if mib > 60.0 * 1024.0 {
        reserved = reserved.max(10240.0);
    }
    (((mib - reserved) / mib) * 1000.0).round() / 1000.0
}

/// vLLM serves a float32 checkpoint (`dtype="auto"`) in bf16 on devices that compute in bf16 and
/// in fp16 elsewhere, except the families it does not run in fp16 (Gemma 2 and 3: float32 there);
/// `vllm/config/model.py`, `_resolve_auto_dtype` and `_FLOAT16_NOT_SUPPORTED_MODELS`.
pub fn served_weights(model: &Model, device: &Device) -> WeightFormat {
    let fp32 = |d: Dtype| d == Dtype::Fp32;
    let no_fp16 = matches!(
        model.family.as_str(),
        "gemma2" | "gemma3" | "gemma3_text" | "plamo2" | "glm4"
    );
    let down = if device.bf16 {
        Dtype::Bf16
    } else if no_fp16 {
        Dtype::Fp32
    } else {
        Dtype::Fp16
    };
    match model.weights {
        WeightFormat::Uniform { dtype } if fp32(dtype) => WeightFormat::Uniform { dtype: down },
        WeightFormat::Split { experts, rest } if fp32(rest) => WeightFormat::Split {
            experts,
            rest: down,
        },
        WeightFormat::Quantized { linear, rest } if fp32(rest) => {
            WeightFormat::Quantized { linear, rest: down }
        }
        w => w,
    }
}

/// Layers of each of `pp` pipeline stages, as vLLM partitions them (`get_pp_indices`): an equal
/// share each, the remainder one each to the stages before the last.
pub fn stage_layers(layers: u64, pp: u64) -> Vec<std::ops::Range<usize>> {
    let pp = pp.clamp(1, layers.max(1));
    let per = layers / pp;
    let rem = layers % pp;
    let mut sizes = vec![per; pp as usize];
    for i in 0..rem as usize {
        // partitions[-2], partitions[-3], ...
        let idx = pp as usize - 2 - i;
        sizes[idx] += 1;
    }
    let mut out = Vec::new();
    let mut start = 0usize;
    for s in sizes {
        out.push(start..start + s as usize);
        start += s as usize;
    }
    out
}

/// KV heads one of `tp` ranks holds: its share, or one replicated head when TP exceeds the heads.
pub fn kv_heads_per_rank(kv_heads: u64, tp: u64) -> u64 {
    if tp >= kv_heads {
        1
    } else {
        kv_heads / tp.max(1)
    }
}

/// KV bytes one token costs in one layer on one of `tp` ranks (MLA's latent is not split: every
/// rank holds it whole).
pub fn layer_bytes_per_rank(a: &Attention, kv: Dtype, tp: u64) -> u128 {
    kv.bytes(rank_spec(a, tp).elements_per_token() as u128)
}

/// A layer's attention as one rank sees it (its KV heads), the key vLLM groups layers by.
fn rank_spec(a: &Attention, tp: u64) -> Attention {
    match *a {
        Attention::Full {
            kv_heads,
            k_dim,
            v_dim,
        } => Attention::Full {
            kv_heads: kv_heads_per_rank(kv_heads, tp),
            k_dim,
            v_dim,
        },
        Attention::Sliding {
            kv_heads,
            k_dim,
            v_dim,
            window,
        } => Attention::Sliding {
            kv_heads: kv_heads_per_rank(kv_heads, tp),
            k_dim,
            v_dim,
            window,
        },
        Attention::Chunked {
            kv_heads,
            k_dim,
            v_dim,
            chunk,
        } => Attention::Chunked {
            kv_heads: kv_heads_per_rank(kv_heads, tp),
            k_dim,
            v_dim,
            chunk,
        },
        other => other,
    }
}

/// The knobs of one deployment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Deploy {
    pub engine: Engine,
    pub tp: u64,
    pub pp: u64,
    /// vLLM `gpu_memory_utilization` or SGLang `mem_fraction_static`; None: the engine's default.
    pub util: Option<f64>,
    pub block_tokens: u64,
    pub kv: Dtype,
    pub weights: WeightFormat,
    pub skip_weights: bool,
    /// vLLM `--max-num-batched-tokens` / `--max-num-seqs`; None: `vllm serve`'s defaults.
    pub max_num_batched_tokens: Option<u64>,
    pub max_num_seqs: Option<u64>,
}

/// One GPU's budget under an engine: every term of the capacity line.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Budget {
    /// The memory CUDA reports on one GPU.
    pub device_memory_bytes: u128,
    /// Whether that was measured (else the H100's share of the catalog capacity).
    pub device_memory_measured: bool,
    /// The utilization knob's value.
    pub util: f64,
    /// vLLM: device memory × utilization. SGLang: free memory before the weights × the fraction.
    pub requested_bytes: u128,
    /// Weights on the most loaded GPU (the last pipeline stage, which also holds the LM head).
    pub weights_bytes: u128,
    /// vLLM's profiling-run activation peak on that GPU (SGLang keeps it outside the fraction: 0).
    pub activation_bytes: u128,
    /// vLLM's non-torch memory (SGLang: the context held before the weights load).
    pub non_torch_bytes: u128,
    /// CUDA-graph memory subtracted before sizing the cache (0: these rules capture graphs after).
    pub cuda_graph_bytes: u128,
    /// What is left for the KV cache on that GPU (0 when nothing is).
    pub kv_bytes: u128,
    /// The tokens the profiling run used (vLLM), and its sampler rows.
    pub max_num_batched_tokens: u64,
    pub max_num_seqs: u64,
}

/// The pages of one GPU's cache and the numbers the engine prints from them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Pool {
    /// One page across the layers of one GPU (hybrid vLLM models: across one group of layers).
    pub block_bytes: u128,
    /// Pages (vLLM's "# GPU blocks").
    pub gpu_blocks: u128,
    /// "GPU KV cache size: N tokens" as the engine prints it (vLLM prices every group of a hybrid
    /// model as full attention here).
    pub kv_tokens: u128,
    /// "Maximum concurrency for `context` tokens per request", windows applied.
    pub max_concurrency: f64,
    /// The tokens those requests hold: `max_concurrency × context`, rounded down.
    pub window_kv_tokens: u128,
}

fn compute_bytes(w: &WeightFormat) -> u64 {
    w.compute_dtype().bytes(1) as u64
}

/// Weights on stage `s` of `stages`, on one of `tp` ranks.
fn stage_weights(model: &Model, d: &Deploy, stage: usize, stages: usize, layers: u64) -> u128 {
    if d.skip_weights {
        return 0;
    }
    let p = &model.params;
    let l = model.layers.len().max(1) as u128;
    let n = layers as u128;
    let tp = d.tp.max(1) as u128;
    let emb = p.embedding as u128;
    let vocab_d = (model.vocab_size * model.hidden_size) as u128;
    let untied = emb >= 2 * vocab_d;
    // The token embedding on the first stage, the LM head on the last (tied: the same matrix,
    // loaded on both ends when they are different stages).
    let mut embedding = 0u128;
    if stage == 0 {
        embedding += vocab_d.min(emb);
    }
    if stage + 1 == stages && (untied || stages > 1) {
        embedding += vocab_d.min(emb);
    }
    if stages == 1 {
        embedding = emb;
    }
    let vision = if stage == 0 { p.vision as u128 } else { 0 };
    let other = (p.total - p.routed_expert - p.embedding - p.vision) as u128;
    let other_s = other * n / l;
    let routed_s = p.routed_expert as u128 * n / l;
    d.weights.bytes_parts(
        (other_s / tp) as u64,
        (routed_s / tp) as u64,
        ((embedding + vision) / tp) as u64,
    )
}

/// vLLM's activation peak on stage `s` (the sampler runs on the last stage).
fn activation(model: &Model, d: &Deploy, last: bool, has_moe: bool, tokens: u64, seqs: u64) -> f64 {
    let cb = compute_bytes(&d.weights) as f64;
    let rows = seqs.min(tokens) as f64;
    let mut a = ACT_BASE + ACT_HIDDEN_COPIES * tokens as f64 * model.hidden_size as f64 * cb;
    if last {
        a += ACT_LOGIT_COPIES * rows * model.vocab_size as f64 * 4.0;
    }
    let p = &model.params;
    if has_moe && p.experts > 0 && model.hidden_size > 0 {
        let width = p.per_expert() as f64 / (3.0 * model.hidden_size as f64);
        let w = (2.0 * width / d.tp.max(1) as f64).max(model.hidden_size as f64);
        a += ACT_MOE_COPIES * tokens as f64 * p.experts_per_token as f64 * w * cb;
    }
    // (the fitted base is slightly negative; a tiny model's peak is still not below zero)
    a.max(0.0)
}

fn non_torch(tp: u64, pp: u64) -> f64 {
    if tp > 1 {
        NON_TORCH_TP
    } else if pp > 1 {
        NON_TORCH_PP
    } else {
        NON_TORCH_ONE_GPU
    }
}

/// The effective utilization knob.
pub fn util(device: &Device, d: &Deploy) -> f64 {
    d.util.unwrap_or_else(|| match d.engine {
        Engine::Vllm => VLLM_DEFAULT_UTIL,
        Engine::Sglang => sglang_default_fraction(device, d.tp, d.pp),
    })
}

/// The budget and the pool of one stage.
fn stage(
    model: &Model,
    device: &Device,
    d: &Deploy,
    s: usize,
    ranges: &[std::ops::Range<usize>],
    context: u64,
) -> (Budget, Pool) {
    let layers = &model.layers[ranges[s].clone()];
    let weights = stage_weights(model, d, s, ranges.len(), layers.len() as u64);
    let last = s + 1 == ranges.len();
    let budget = stage_budget(model, device, d, weights, last);
    let specs = rank_specs(layers, d.tp);
    let pool = if specs.is_empty() {
        Pool {
            block_bytes: 0,
            gpu_blocks: 0,
            kv_tokens: 0,
            max_concurrency: 0.0,
            window_kv_tokens: 0,
        }
    } else {
        match d.engine {
            Engine::Sglang => sglang_pool(&specs, d, budget.kv_bytes, context),
            Engine::Vllm => vllm_pool(&specs, d, &budget, context),
        }
    };
    (budget, pool)
}

/// What one GPU of a stage holding `weights` bytes of weights leaves for the KV cache, by the
/// engine's rules (`last`: the stage that computes the logits).
fn stage_budget(model: &Model, device: &Device, d: &Deploy, weights: u128, last: bool) -> Budget {
    let (visible, measured) = visible_memory(device);
    let u = util(device, d);
    let (mnbt, seqs) = {
        let (t, q) = vllm_serve_defaults(device);
        (
            d.max_num_batched_tokens.unwrap_or(t),
            d.max_num_seqs.unwrap_or(q),
        )
    };
    let has_moe = model.params.experts > 0;
    let (requested, act, nt) = match d.engine {
        Engine::Vllm => (
            (visible as f64 * u).floor(),
            activation(model, d, last, has_moe, mnbt, seqs),
            non_torch(d.tp, d.pp),
        ),
        Engine::Sglang => {
            let free = visible as f64 - SGLANG_CONTEXT;
            ((free * u).floor(), 0.0, SGLANG_CONTEXT)
        }
    };
    let kv_f = requested - weights as f64 - act - if d.engine == Engine::Vllm { nt } else { 0.0 };
    Budget {
        device_memory_bytes: visible,
        device_memory_measured: measured,
        util: u,
        requested_bytes: requested as u128,
        weights_bytes: weights,
        activation_bytes: act.round() as u128,
        non_torch_bytes: nt.round() as u128,
        cuda_graph_bytes: 0,
        kv_bytes: if kv_f > 0.0 { kv_f.floor() as u128 } else { 0 },
        max_num_batched_tokens: mnbt,
        max_num_seqs: seqs,
    }
}

/// The layers with a KV cache grouped by what one rank of `tp` stores for them: (spec, layers).
fn rank_specs(layers: &[crate::calc::model::Layer], tp: u64) -> Vec<(Attention, u64)> {
    let mut specs: Vec<(Attention, u64)> = Vec::new();
    for l in layers {
        if matches!(l.attention, Attention::Linear { .. }) {
            continue;
        }
        let sp = rank_spec(&l.attention, tp);
        match specs.iter_mut().find(|(a, _)| *a == sp) {
            Some((_, c)) => *c += 1,
            None => specs.push((sp, 1)),
        }
    }
    specs
}

/// SGLang's pool: one token per page, every layer priced in full.
fn sglang_pool(specs: &[(Attention, u64)], d: &Deploy, kv_bytes: u128, context: u64) -> Pool {
    let block = d.block_tokens.max(1);
    let cell: u128 = specs
        .iter()
        .map(|(a, c)| *c as u128 * layer_bytes_per_rank(a, d.kv, 1))
        .sum();
    let cell_blocks = cell * block as u128;
    let blocks = kv_bytes.checked_div(cell_blocks).unwrap_or(0);
    let tokens = blocks * block as u128;
    let conc = if context == 0 {
        0.0
    } else {
        tokens as f64 / context as f64
    };
    Pool {
        block_bytes: cell_blocks,
        gpu_blocks: blocks,
        kv_tokens: tokens,
        max_concurrency: conc,
        window_kv_tokens: tokens,
    }
}

/// vLLM's pool: hybrid groups of equal layer counts share a page size; a request of `context`
/// tokens takes blocks in every group (sliding and chunked layers only what their window keeps).
fn vllm_pool(specs: &[(Attention, u64)], d: &Deploy, budget: &Budget, context: u64) -> Pool {
    let block = d.block_tokens.max(1);
    let mnbt = budget.max_num_batched_tokens;
    let page = |a: &Attention| block as u128 * layer_bytes_per_rank(a, d.kv, 1);
    let min = specs.iter().map(|s| s.1).min().unwrap_or(1);
    let max = specs.iter().map(|s| s.1).max().unwrap_or(1);
    let group = if specs.len() == 1 || (max as f64) < 1.5 * min as f64 {
        max
    } else {
        min
    };
    let groups: u64 = specs.iter().map(|s| s.1.div_ceil(group)).sum();
    let page_max = specs.iter().map(|s| page(&s.0)).max().unwrap_or(0);
    let block_bytes = page_max * group as u128;
    let blocks = budget.kv_bytes.checked_div(block_bytes).unwrap_or(0);
    let tokens = blocks / groups as u128 * block as u128;
    // Blocks one request of `context` tokens takes in every group.
    let per_request: u128 = specs
        .iter()
        .map(|(a, c)| {
            let g = c.div_ceil(group) as u128;
            let b = match a {
                // vLLM's max_memory_usage of a sliding-window and a chunked spec
                Attention::Sliding { window, .. } => {
                    (window.saturating_sub(1) + mnbt)
                        .min(context)
                        .div_ceil(block)
                        + 1
                }
                Attention::Chunked { chunk, .. } => (chunk + mnbt).min(context).div_ceil(block),
                _ => context.div_ceil(block),
            };
            g * b as u128
        })
        .sum();
    let conc = if per_request == 0 {
        0.0
    } else {
        blocks as f64 / per_request as f64
    };
    Pool {
        block_bytes,
        gpu_blocks: blocks,
        kv_tokens: tokens,
        max_concurrency: conc,
        window_kv_tokens: (conc * context as f64).floor() as u128,
    }
}

/// The budget and pool that bind: of all pipeline stages, the one whose cache holds the fewest
/// tokens (vLLM takes the minimum over its workers).
pub fn plan(model: &Model, device: &Device, d: &Deploy, context: u64) -> (Budget, Pool) {
    // (stage_layers gives at least one stage, empty for a model without layers)
    let ranges = stage_layers(model.layers.len() as u64, d.pp);
    let mut best = stage(model, device, d, 0, &ranges, context);
    for s in 1..ranges.len() {
        let cur = stage(model, device, d, s, &ranges, context);
        if cur.1.kv_tokens < best.1.kv_tokens
            || (cur.1.kv_tokens == best.1.kv_tokens && cur.0.kv_bytes < best.0.kv_bytes)
        {
            best = cur;
        }
    }
    best
}

/// The share of the model's KV cache one GPU of a `tp` × `pp` deployment holds (its stage's
/// layers, its ranks' heads; MLA replicated on every rank), as a fraction.
pub fn kv_share(model: &Model, kv: Dtype, tp: u64, pp: u64) -> f64 {
    let all: u128 = model
        .layers
        .iter()
        .map(|l| layer_bytes_per_rank(&l.attention, kv, 1))
        .sum();
    if all == 0 {
        return 1.0 / (tp * pp).max(1) as f64;
    }
    let ranges = stage_layers(model.layers.len() as u64, pp);
    ranges
        .iter()
        .map(|r| {
            model.layers[r.clone()]
                .iter()
                .map(|l| layer_bytes_per_rank(&l.attention, kv, tp))
                .sum::<u128>()
        })
        .max()
        .unwrap_or(0) as f64
        / all as f64
}

/// Bytes one GPU of an ideal split over `n` GPUs may give the weights and KV together (its budget
/// less the engine's own overheads at TP `n`).
pub fn ideal_room(model: &Model, device: &Device, d: &Deploy, n: u64) -> f64 {
    let dn = Deploy { tp: n, pp: 1, ..*d };
    let (visible, _) = visible_memory(device);
    let u = util(device, &dn);
    match d.engine {
        Engine::Vllm => {
            let (t, q) = vllm_serve_defaults(device);
            let act = activation(
                model,
                &dn,
                true,
                model.params.experts > 0,
                d.max_num_batched_tokens.unwrap_or(t),
                d.max_num_seqs.unwrap_or(q),
            );
            (visible as f64 * u).floor() - act - non_torch(n, 1)
        }
        Engine::Sglang => ((visible as f64 - SGLANG_CONTEXT) * u).floor(),
    }
}

/// The fewest GPUs whose engine budgets hold `bytes` (weights and KV) split evenly over them;
/// u64::MAX when even a GPU's whole budget goes to the engine's own overheads.
pub fn gpus_for(model: &Model, device: &Device, d: &Deploy, bytes: u128) -> u64 {
    let fits = |n: u64| {
        let room = ideal_room(model, device, d, n);
        room > 0.0 && (bytes as f64 / n as f64) <= room
    };
    if fits(1) {
        return 1;
    }
    // The room barely changes beyond two GPUs: start from its estimate and step up.
    let room = ideal_room(model, device, d, 2);
    if room <= 0.0 {
        return u64::MAX;
    }
    let mut n = ((bytes as f64 / room).ceil() as u64).max(2);
    for _ in 0..64 {
        if fits(n) {
            // The estimate can overshoot by one where the room grows with n (MoE activations).
            while n > 2 && fits(n - 1) {
                n -= 1;
            }
            return n;
        }
        n = n.saturating_add(1);
    }
    n
}

/// A tensor- or pipeline-parallel degree the model cannot be split by.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParallelError {
    #[error("--tp and --pp must be at least 1")]
    Zero,
    #[error("--pp {pp} is more than the {layers} layers of {model}")]
    TooManyStages { pp: u64, layers: u64, model: String },
    #[error("--tp {tp} does not divide {model}'s {heads} attention heads (vLLM requires it)")]
    Heads { tp: u64, heads: u64, model: String },
    #[error("--tp {tp} neither divides nor is a multiple of {model}'s {kv_heads} KV heads")]
    KvHeads {
        tp: u64,
        kv_heads: u64,
        model: String,
    },
}

/// Checks a tensor- and pipeline-parallel degree against the model as vLLM does: TP must divide
/// the attention heads, and divide the KV heads or be a multiple of them (beyond them each rank
/// holds a replica); PP at most the layers.
pub fn check_parallel(model: &Model, tp: u64, pp: u64) -> Result<(), ParallelError> {
    if tp == 0 || pp == 0 {
        return Err(ParallelError::Zero);
    }
    let layers = model.layers.len() as u64;
    if pp > layers {
        return Err(ParallelError::TooManyStages {
            pp,
            layers,
            model: model.name.clone(),
        });
    }
    for l in &model.layers {
        if l.q_heads % tp != 0 {
            return Err(ParallelError::Heads {
                tp,
                heads: l.q_heads,
                model: model.name.clone(),
            });
        }
        if let Attention::Full { kv_heads, .. }
        | Attention::Sliding { kv_heads, .. }
        | Attention::Chunked { kv_heads, .. } = l.attention
        {
            let ok = if tp <= kv_heads {
                kv_heads % tp == 0
            } else {
                tp % kv_heads == 0
            };
            if !ok {
                return Err(ParallelError::KvHeads {
                    tp,
                    kv_heads,
                    model: model.name.clone(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vllm_partitions_layers_like_get_pp_indices() {
        // 32 layers over 2 stages: 16 + 16; 30 over 4: 7 + 8 + 8 + 7 (the remainder of 2 goes to
        // partitions[-2] and partitions[-3]: the stages before the last, backwards).
        assert_eq!(stage_layers(32, 2), vec![0..16, 16..32]);
        assert_eq!(stage_layers(30, 4), vec![0..7, 7..15, 15..23, 23..30]);
        assert_eq!(stage_layers(5, 1), vec![0..5]);
    }

    #[test]
    fn kv_heads_replicate_beyond_the_head_count() {
        assert_eq!(kv_heads_per_rank(8, 2), 4);
        assert_eq!(kv_heads_per_rank(8, 8), 1);
        assert_eq!(kv_heads_per_rank(8, 16), 1);
        assert_eq!(kv_heads_per_rank(4, 4), 1);
    }

    #[test]
    fn sglang_fraction_follows_its_reserve_rule() {
        // H100 (79.19 GiB = 81,090 MiB visible): 512 + 8192 x 1.5 + 256 x 2 + 1 x 1024 / 8 =
        // 13,440 MiB reserved at TP 1: (81,090 - 13,440) / 81,090 = 0.834; at TP 8 the graph batch
        // is 512 and the TP term 1,024: 14,848 MiB, 0.817.
        let h100 = Device {
            id: "h100".into(),
            name: "NVIDIA H100 SXM5 80GB".into(),
            memory_bytes: 80 << 30,
            bandwidth: 3.35e12,
            visible_memory_bytes: Some((79.19 * GIB) as u64),
            dense_flops: 989.4e12,
            bf16: true,
        };
        assert_eq!(sglang_default_fraction(&h100, 1, 1), 0.834);
        assert_eq!(sglang_default_fraction(&h100, 8, 1), 0.817);
        assert_eq!(vllm_serve_defaults(&h100), (8192, 1024));
    }
}
