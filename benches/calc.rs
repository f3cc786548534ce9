//! A full calculator report for every model x GPU x context preset (the whole catalog sweep a
//! `kvscope list`-driven UI would recompute when everything changes at once).

use criterion::{criterion_group, criterion_main, Criterion};
use kvscope::calc::{report, Workload};
use kvscope::catalog::Catalog;
use std::hint::black_box;

/// The context presets the scene steps through (4K ... 100M).
const PRESETS: [u64; 11] = kvscope::sim::CONTEXT_PRESETS;

fn sweep(c: &mut Criterion) {
    let cat = Catalog::builtin().expect("catalog");
    let devices: Vec<_> = cat.gpus.iter().map(|g| g.device()).collect();
    let reports = cat.models.len() * devices.len() * PRESETS.len();
    c.bench_function(&format!("calc/full_sweep_{reports}_reports"), |b| {
        b.iter(|| {
            let mut total = 0u128;
            for m in &cat.models {
                for d in &devices {
                    for &ctx in &PRESETS {
                        let r = report(m, d, &Workload::uniform(m, ctx, 4));
                        total = total.wrapping_add(r.total_bytes);
                    }
                }
            }
            black_box(total)
        })
    });
    let m = cat.model("llama-3.1-70b").unwrap();
    let d = cat.gpu("h100").unwrap().device();
    c.bench_function("calc/one_report_batch_32", |b| {
        let w = Workload::uniform(m, 1_000_000, 32);
        b.iter(|| black_box(report(m, &d, black_box(&w))))
    });
}

criterion_group!(benches, sweep);
criterion_main!(benches);
