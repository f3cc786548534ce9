//! The human-readable form of a report: a compact table with the derivation of each number.

use super::model::{Attention, Model};
use super::report::{Policy, Report};
use super::units::{bytes, count, params};

/// Describes the attention layout in one line: "80 full-attention layers, 8 KV heads × 128 (GQA 64:8)".
pub fn attention_summary(model: &Model) -> String {
    let mut parts = Vec::new();
    for g in model.layer_groups() {
        let s = match g.attention {
            Attention::Full {
                kv_heads,
                k_dim,
                v_dim,
            } => format!(
                "{} full × {kv_heads} KV heads × {}{}",
                g.count,
                if k_dim == v_dim {
                    format!("{k_dim}")
                } else {
                    format!("({k_dim}+{v_dim})")
                },
                gqa(g.q_heads, kv_heads)
            ),
            Attention::Sliding {
                kv_heads,
                k_dim,
                window,
                ..
            } => format!(
                "{} sliding (window {}) × {kv_heads} KV heads × {k_dim}{}",
                g.count,
                count(window as u128),
                gqa(g.q_heads, kv_heads)
            ),
            Attention::Chunked {
                kv_heads,
                k_dim,
                chunk,
                ..
            } => format!(
                "{} chunked (chunk {}) × {kv_heads} KV heads × {k_dim}{}",
                g.count,
                count(chunk as u128),
                gqa(g.q_heads, kv_heads)
            ),
            Attention::Mla {
                kv_lora_rank,
                rope_dim,
            } => format!(
                "{} MLA × ({kv_lora_rank} latent + {rope_dim} rope), {} query heads",
                g.count, g.q_heads
            ),
            Attention::Linear { state_elements } => format!(
                "{} linear-attention (fixed state {} values/seq)",
                g.count,
                count(state_elements as u128)
            ),
        };
        parts.push(s);
    }
    parts.join(" + ")
}

fn gqa(q: u64, kv: u64) -> String {
    if q == kv {
        " (MHA)".into()
    } else if kv == 1 {
        format!(" (MQA {q}:1)")
    } else {
        format!(" (GQA {q}:{kv})")
    }
}

/// Seconds in the unit that reads best: "412 µs", "12.7 ms", "1.23 s", "3.4 min".
pub fn seconds(s: f64) -> String {
    if !s.is_finite() {
        "∞".into()
    } else if s < 1e-3 {
        format!("{:.0} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else if s < 120.0 {
        format!("{s:.2} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// FLOPs with an SI prefix: "6.47 PFLOP", "8.57 EFLOP".
pub fn flops(f: f64) -> String {
    let units = [
        "FLOP", "kFLOP", "MFLOP", "GFLOP", "TFLOP", "PFLOP", "EFLOP", "ZFLOP",
    ];
    let mut v = f;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < units.len() {
        v /= 1000.0;
        i += 1;
    }
    format!("{v:.2} {}", units[i])
}

/// Lines of `name  value`, the key column 13 wide.
struct Rows(String);

impl Rows {
    fn row(&mut self, k: &str, v: String) {
        self.0.push_str(&format!("{k:<13}{v}\n"));
    }
}

/// The table `kvscope calc` prints.
pub fn table(r: &Report, model: &Model, gpu_name: &str, gpu_memory_label: &str) -> String {
    let mut rows = Rows(String::new());
    model_rows(&mut rows, r, model);
    memory_rows(&mut rows, r);
    capacity_rows(&mut rows, r, gpu_name, gpu_memory_label);
    rate_rows(&mut rows, r, model);
    rows.0
}

/// The model, its attention, the context, and what a token and the weights cost.
fn model_rows(rows: &mut Rows, r: &Report, model: &Model) {
    let mut row = |k: &str, v: String| rows.row(k, v);
    row(
        "model",
        format!(
            "{}{} — {} layers, {} params{}, weights {}",
            model.name,
            model
                .hf_repo
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
            model.layers.len(),
            params(model.params.total),
            if model.is_moe() {
                format!(" ({} active)", params(model.params.active))
            } else {
                String::new()
            },
            r.weight_format
        ),
    );
    row("attention", attention_summary(model));
    let beyond = if r.context > model.max_context {
        format!(
            "  (beyond the model's max_position_embeddings {})",
            count(model.max_context as u128)
        )
    } else {
        String::new()
    };
    row(
        "context",
        format!(
            "{} tokens per sequence, batch {}, {} tokens held{beyond}",
            count(r.context as u128),
            r.batch,
            count(r.tokens as u128)
        ),
    );
    row(
        "KV per token",
        format!(
            "{} ({} B, {}, all layers)",
            bytes(r.kv_bytes_per_token),
            count(r.kv_bytes_per_token),
            r.kv_dtype
        ),
    );
    row("KV cache", r.formula.clone());
    if r.fixed_state_bytes > 0 {
        row(
            "fixed state",
            format!("{} (linear-attention state)", bytes(r.fixed_state_bytes)),
        );
    }
    row(
        "weights",
        format!(
            "{} params in {} = {}",
            count(model.params.total as u128),
            r.weight_format,
            bytes(r.weights_bytes)
        ),
    );
}

/// What each allocation policy reserves, how much of it is used, and the total.
fn memory_rows(rows: &mut Rows, r: &Report) {
    let mut row = |k: &str, v: String| rows.row(k, v);
    let a = &r.allocated_bytes;
    let mark = |p: Policy| if p == r.policy { "*" } else { "" };
    row(
        "allocated",
        format!(
            "static{} {} | continuous{} {} | paged{} {}",
            mark(Policy::Static),
            bytes(a.static_),
            mark(Policy::Continuous),
            bytes(a.continuous),
            mark(Policy::Paged),
            bytes(a.paged)
        ),
    );
    row(
        "efficiency",
        format!(
            "{:.2}% (KV used / allocated, {})",
            r.efficiency * 100.0,
            r.policy.name()
        ),
    );
    row(
        "total",
        format!(
            "{} = weights + {} KV{}",
            bytes(r.total_bytes),
            r.policy.name(),
            if r.fixed_state_bytes > 0 {
                " + fixed state"
            } else {
                ""
            }
        ),
    );
}

/// GPUs needed and the capacity in the engine's own terms.
fn capacity_rows(rows: &mut Rows, r: &Report, gpu_name: &str, gpu_memory_label: &str) {
    let mut row = |k: &str, v: String| rows.row(k, v);
    let c = &r.capacity;
    let engine = c.engine.label();
    let measured = if c.device_memory_measured {
        "measured"
    } else {
        "estimated"
    };
    let util = |c: &super::report::Capacity| format!("{} {}", c.util_name, c.util);
    row(
        "GPUs needed",
        format!(
            "{} × {gpu_name} ({gpu_memory_label}: {} by CUDA ({measured}), × {} = {} for {engine} each, less its own overheads; memory alone: a tensor-parallel degree must also divide the heads)",
            count(r.gpus_needed as u128),
            bytes(c.device_memory_bytes),
            util(c),
            bytes(r.usable_bytes_per_gpu)
        ),
    );
    let par = if c.pp > 1 {
        format!("TP {} × PP {}", c.tp, c.pp)
    } else {
        format!("TP {}", c.tp)
    };
    let terms = match c.engine {
        super::engine::Engine::Vllm => format!(
            "{} ({measured}) × {} = {} − {} weights − {} activation ({} tokens, {} sequences profiled) − {} non-torch",
            bytes(c.device_memory_bytes),
            util(c),
            bytes(c.requested_bytes),
            bytes(c.weights_bytes),
            bytes(c.activation_bytes),
            count(c.max_num_batched_tokens as u128),
            count(c.max_num_seqs as u128),
            bytes(c.non_torch_bytes)
        ),
        super::engine::Engine::Sglang => format!(
            "({} ({measured}) − {} context) × {} = {} − {} weights",
            bytes(c.device_memory_bytes),
            bytes(c.non_torch_bytes),
            util(c),
            bytes(c.requested_bytes),
            bytes(c.weights_bytes)
        ),
    };
    if c.usable_bytes == 0 {
        row(
            "capacity",
            format!("{}, {par}: {terms}: no room for KV cache", c.rules),
        );
    } else {
        let windows = if c.window_kv_tokens > c.kv_tokens + c.block_tokens as u128 * 2 {
            format!(
                " (priced as full attention; the windows allow {} tokens)",
                count(c.window_kv_tokens)
            )
        } else {
            String::new()
        };
        row(
            "capacity",
            format!(
                "{}, {par}: {terms} = {} for KV = {} {} of {} token{} ({} each) = {} tokens{windows}; maximum concurrency for {} tokens per request: {:.2}x",
                c.rules,
                bytes(c.usable_bytes),
                count(c.gpu_blocks),
                if c.engine == super::engine::Engine::Vllm { "blocks" } else { "pages" },
                c.block_tokens,
                if c.block_tokens == 1 { "" } else { "s" },
                bytes(c.block_bytes),
                count(c.kv_tokens),
                count(r.context as u128),
                c.max_concurrency
            ),
        );
    }
}

/// One GPU's share, the attention scores, and the decode and latency rooflines.
fn rate_rows(rows: &mut Rows, r: &Report, model: &Model) {
    let mut row = |k: &str, v: String| rows.row(k, v);
    let engine = r.capacity.engine.label();
    let p = &r.per_gpu;
    if p.gpus > 1 {
        row(
            "per GPU",
            format!(
                "1 of {}: {} weights + {} KV{} = {} of {} ({} for weights and KV under {engine}'s budget)",
                count(p.gpus as u128),
                bytes(p.weights_bytes),
                bytes(p.kv_bytes),
                if p.fixed_state_bytes > 0 {
                    format!(" + {} fixed state", bytes(p.fixed_state_bytes))
                } else {
                    String::new()
                },
                bytes(p.total_bytes),
                bytes(r.gpu_memory_bytes as u128),
                bytes(p.engine_limit_bytes)
            ),
        );
    }
    let s = &r.attention_scores_bytes;
    row(
        "scores",
        format!(
            "without flash attention {} (batch × {} heads × n² per layer at prefill); with flash {} (softmax stats only)",
            bytes(s.without_flash),
            model.max_q_heads(),
            bytes(s.with_flash)
        ),
    );
    let d = &r.decode;
    if d.tokens_per_second > 0.0 {
        row(
            "decode",
            format!(
                "≤ {:.1} tokens/s per sequence, {:.1} for the batch ({} read per step over {} GPU{}; bandwidth roofline)",
                d.tokens_per_second_per_sequence,
                d.tokens_per_second,
                bytes(d.bytes_per_step),
                d.gpus,
                if d.gpus == 1 { "" } else { "s" }
            ),
        );
    }
    let l = &r.latency;
    if l.prefill_seconds > 0.0 {
        row(
            "latency",
            format!(
                "rooflines on {} GPU{}: time to first token ≥ {} for {} tokens ({} at the dense peak); time per output token ≥ {}",
                d.gpus,
                if d.gpus == 1 { "" } else { "s" },
                seconds(l.prefill_seconds),
                count(r.context as u128),
                flops(l.prefill_flops),
                seconds(l.decode_seconds_per_token)
            ),
        );
    }
}
