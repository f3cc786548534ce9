//! The reference tables of seed 002 ("Memory Reference Tables"), recomputed by the calculator: KV
//! cache sizes of five models at four contexts in fp16, and Llama 3.1 70B at 1M tokens in five
//! KV dtypes, each with the H100s it needs. The seed's own printed values are kept beside ours so
//! every cell where the seed is wrong says so.

use super::dtype::Dtype;
use super::engine;
use super::model::Model;
use super::report::{report, Device, Policy, Workload};
use serde::Serialize;

/// The contexts of the first table, in the seed's conventions (128K = 131,072; 1M = 1,000,000).
pub const CONTEXTS: [(&str, u64); 4] = [
    ("128K", 131_072),
    ("1M", 1_000_000),
    ("2M", 2_000_000),
    ("10M", 10_000_000),
];

/// The seed's first table as printed: model, the four sizes, "H100s @10M".
pub const SEED_FP16: [(&str, [&str; 4], u64); 5] = [
    ("llama-3.2-1b", ["4 GiB", "31 GiB", "62 GiB", "312 GiB"], 4),
    (
        "llama-3.1-8b",
        ["16 GiB", "122 GiB", "244 GiB", "1.2 TiB"],
        16,
    ),
    (
        "llama-3.1-70b",
        ["40 GiB", "305 GiB", "610 GiB", "3.0 TiB"],
        39,
    ),
    (
        "deepseek-v3",
        ["8.5 GiB", "65 GiB", "131 GiB", "654 GiB"],
        9,
    ),
    (
        "llama-3.1-405b",
        ["63 GiB", "481 GiB", "962 GiB", "4.7 TiB"],
        61,
    ),
];

/// The seed's second table as printed: dtype, size, H100 GPUs, reduction.
pub const SEED_DTYPES: [(Dtype, &str, u64, f64); 5] = [
    (Dtype::Fp32, "610 GiB", 8, 0.0),
    (Dtype::Fp16, "305 GiB", 4, 50.0),
    (Dtype::Bf16, "305 GiB", 4, 50.0),
    (Dtype::Int8, "153 GiB", 2, 75.0),
    (Dtype::Int4, "76 GiB", 1, 87.5),
];

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cell {
    /// Our value.
    pub bytes: u128,
    /// The seed's printed value.
    pub seed: &'static str,
    /// Whether the seed's figure is wrong at its own precision (a printed "62 GiB" must be ours
    /// rounded to whole GiB).
    pub seed_wrong: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SizeRow {
    pub model: String,
    pub name: String,
    pub cells: Vec<Cell>,
    /// H100s for the 10M-token cache alone (what the seed counts), under vLLM's budget.
    pub h100s_kv_alone: u64,
    /// H100s with the weights too.
    pub h100s_with_weights: u64,
    /// The seed's "H100s @10M".
    pub seed_h100s: u64,
    /// Where the seed's claim misleads beyond its sizes (empty when it does not).
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DtypeRow {
    pub kv_dtype: Dtype,
    pub cell: Cell,
    pub h100s_kv_alone: u64,
    pub h100s_with_weights: u64,
    pub seed_h100s: u64,
    /// KV memory saved against fp32, percent.
    pub reduction: f64,
    pub seed_reduction: f64,
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tables {
    pub fp16: Vec<SizeRow>,
    /// Llama 3.1 70B at 1,000,000 tokens.
    pub dtypes: Vec<DtypeRow>,
}

/// Whether `bytes` contradicts a size printed as `printed` ("8.5 GiB", "1.2 TiB") at the printed
/// figure's own precision.
pub fn wrong(bytes: u128, printed: &str) -> bool {
    let (num, unit) = printed.split_once(' ').unwrap_or((printed, "GiB"));
    let scale = if unit == "TiB" { GIB * 1024.0 } else { GIB };
    let decimals = num.split_once('.').map(|(_, d)| d.len()).unwrap_or(0);
    let step = 10f64.powi(-(decimals as i32));
    let printed: f64 = num.parse().unwrap_or(f64::NAN);
    (bytes as f64 / scale - printed).abs() > step / 2.0 + 1e-9
}

const GIB: f64 = (1u64 << 30) as f64;

/// `(model, device)` pairs are looked up by the caller; this computes every cell.
pub fn build(models: &[&Model], llama70: &Model, h100: &Device) -> Tables {
    let kv_of = |m: &Model, d: Dtype, n: u64| -> u128 {
        let mut w = Workload::uniform(m, n, 1);
        w.kv_dtype = d;
        report(m, h100, &w).kv_cache_bytes
    };
    let gpus = |m: &Model, d: Dtype, n: u64, skip: bool| -> u64 {
        let mut w = Workload::uniform(m, n, 1);
        w.kv_dtype = d;
        w.weights = engine::served_weights(m, h100);
        w.skip_weights = skip;
        w.policy = Policy::Paged;
        report(m, h100, &w).gpus_needed
    };
    let mut fp16 = Vec::new();
    for (m, (_, seed, seed_h100s)) in models.iter().zip(SEED_FP16) {
        let cells: Vec<Cell> = CONTEXTS
            .iter()
            .zip(seed)
            .map(|(&(_, n), s)| {
                let bytes = kv_of(m, Dtype::Fp16, n);
                Cell {
                    bytes,
                    seed: s,
                    seed_wrong: wrong(bytes, s),
                }
            })
            .collect();
        let alone = gpus(m, Dtype::Fp16, 10_000_000, true);
        let note = String::new();
        fp16.push(SizeRow {
            model: m.id.clone(),
            name: m.name.clone(),
            cells,
            h100s_kv_alone: alone,
            h100s_with_weights: gpus(m, Dtype::Fp16, 10_000_000, false),
            seed_h100s,
            note,
        });
    }
    let base = kv_of(llama70, Dtype::Fp32, 1_000_000) as f64;
    let dtypes = SEED_DTYPES
        .iter()
        .map(|&(d, seed, seed_h100s, seed_reduction)| {
            let bytes = kv_of(llama70, d, 1_000_000);
            let alone = gpus(llama70, d, 1_000_000, true);
            let with = gpus(llama70, d, 1_000_000, false);
            let note = if d == Dtype::Int4 {
                format!(
                    "\"1 H100\" holds the cache alone at 80 GiB a GPU; with the model's 131 GiB of bf16 weights, under vLLM's budget, it takes {with}"
                )
            } else {
                String::new()
            };
            DtypeRow {
                kv_dtype: d,
                cell: Cell {
                    bytes,
                    seed,
                    seed_wrong: wrong(bytes, seed),
                },
                h100s_kv_alone: alone,
                h100s_with_weights: with,
                seed_h100s,
                reduction: (1.0 - bytes as f64 / base) * 100.0,
                seed_reduction,
                note,
            }
        })
        .collect();
    Tables { fp16, dtypes }
}

#[cfg(test)]
mod tests {
    use super::wrong;

    #[test]
    fn a_printed_figure_is_wrong_only_beyond_its_own_rounding() {
        let gib = |g: f64| (g * (1u64 << 30) as f64) as u128;
        assert!(wrong(gib(61.04), "62 GiB"));
        assert!(!wrong(gib(61.04), "61 GiB"));
        assert!(wrong(gib(8.58), "8.5 GiB"));
        assert!(!wrong(gib(8.54), "8.5 GiB"));
        // 1.2 TiB is printed in tenths of a TiB: 1,220.70 GiB is 1.19 TiB
        assert!(!wrong(gib(1220.70), "1.2 TiB"));
        assert!(wrong(gib(1400.0), "1.2 TiB"));
    }
}
