//! The CPU side of the scene: a simulation step at ludicrous speed, the layout, the memory map.

use criterion::{criterion_group, criterion_main, Criterion};
use kvscope::catalog::Catalog;
use kvscope::scenes::memory::Layout;
use kvscope::scenes::memory::MemoryMap;
use kvscope::sim::{Settings, Sim};
use std::hint::black_box;
use std::sync::Arc;

fn sim(c: &mut Criterion) {
    let cat = Catalog::builtin().expect("catalog");
    let mut s = Settings::new(
        Arc::new(cat.model("llama-3.1-8b").unwrap().clone()),
        Arc::new(cat.gpu("h100").unwrap().clone()),
    );
    s.cb = true;
    s.pa = true;
    s.fa = true;
    s.batch = 32;
    s.context = 10_000_000;
    s.speed = 100.0;
    // One 60 Hz frame of simulation at 100x: steps, arrivals, allocator.
    c.bench_function("sim/frame_100x_batch32_10M", |b| {
        let mut sim = Sim::new(&s);
        b.iter(|| {
            sim.advance(1.0 / 60.0);
            black_box(sim.slots().len())
        })
    });
    c.bench_function("sim/scene_snapshot_batch32_10M", |b| {
        let mut sim = Sim::new(&s);
        sim.advance(3.0);
        b.iter(|| black_box(sim.scene().version))
    });
    let gpu = cat.gpu("h100").unwrap();
    c.bench_function("layout/compute_3840x2160", |b| {
        b.iter(|| black_box(Layout::compute(3840, 2160, 1.0, gpu).bank_capacity()))
    });
    let layout = Layout::compute(3840, 2160, 1.0, gpu);
    let mut sim = Sim::new(&s);
    sim.advance(3.0);
    let scene = sim.scene();
    let mut map = MemoryMap::default();
    c.bench_function(
        &format!("layout/memory_map_{}_banks", layout.bank_capacity()),
        |b| {
            b.iter(|| {
                map.rebuild(&scene, layout.bank_capacity());
                black_box(map.banks)
            })
        },
    );
}

criterion_group!(benches, sim);
criterion_main!(benches);
