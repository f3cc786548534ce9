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

/// The table `kvscope calc` prints.
pub fn table(r: &Report, model: &Model, gpu_name: &str, gpu_memory_label: &str) -> String {
    let mut out = String::new();
    let mut row = |k: &str, v: String| {
        out.push_str(&format!("{k:<13}{v}\n"));
    };
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
    row(
        "GPUs needed",
        format!(
            "{} × {gpu_name} ({gpu_memory_label} = {}, × {} utilization = {} usable each)",
            r.gpus_needed,
            bytes(r.gpu_memory_bytes as u128),
            r.gpu_util,
            bytes(r.usable_bytes_per_gpu)
        ),
    );
    let c = &r.capacity;
    if c.usable_bytes == 0 {
        row(
            "capacity",
            "the weights alone exceed one GPU's usable memory: no room for KV cache".to_string(),
        );
    } else {
        row(
            "capacity",
            format!(
                "{} free for KV on one GPU = {} blocks of {} tokens ({} each) = {} tokens; {} sequences of {} tokens at once",
                bytes(c.usable_bytes),
                count(c.gpu_blocks),
                c.block_tokens,
                bytes(c.block_bytes),
                count(c.kv_tokens),
                count(c.max_concurrency),
                count(r.context as u128)
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
    out
}
