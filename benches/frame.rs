//! Frame costs: CPU time to prepare a frame (nothing changed; layout changed) with 100,000+ banks,
//! and whole headless frames (prepare + draw + wait for the GPU) at 1920x1080 and 3840x2160.

use criterion::{criterion_group, criterion_main, Criterion};
use kvscope::app::host::Host;
use kvscope::catalog::Catalog;
use kvscope::frame::Target;
use kvscope::render::context::{instance, GpuContext};
use kvscope::render::offscreen::{Offscreen, FORMAT};
use kvscope::render::Renderer;
use kvscope::scenes::SceneId;
use kvscope::sim::{Scene, Settings, Sim};
use std::hint::black_box;
use std::sync::Arc;

fn frame(c: &mut Criterion) {
    let cat = Catalog::builtin().expect("catalog");
    let mut s = Settings::new(
        Arc::new(cat.model("llama-3.1-8b").unwrap().clone()),
        Arc::new(cat.gpu("h100").unwrap().clone()),
    );
    s.cb = true;
    s.pa = true;
    s.fa = true;
    let ctx = pollster::block_on(GpuContext::new(
        instance(None, None).expect("instance"),
        None,
    ))
    .expect("an adapter (install mesa-vulkan-drivers)");
    let mut r = Renderer::new(
        &ctx.device,
        &ctx.queue,
        FORMAT,
        kvscope::render::particles::pool_for(ctx.software),
    );
    r.set_cached(ctx.software);
    let mut host = Host::new(r, SceneId::Memory);
    let scene = Scene::at(&s, 12.0);
    // 4,300 x 2,420 holds just over 100,000 banks.
    let big = Target {
        width: 4300,
        height: 2420,
        scale: 1.0,
    };
    host.prepare(&ctx, &scene, big, 0.0);
    let banks = host.scene().memory().map_or(0, |v| v.map.banks);
    assert!(banks >= 100_000, "{banks} banks");
    c.bench_function(&format!("frame/prepare_unchanged_{banks}_banks"), |b| {
        let mut t = 0.0f32;
        b.iter(|| {
            t += 0.016;
            black_box(host.prepare(&ctx, &scene, big, t))
        })
    });
    let other = Target {
        width: 4310,
        height: 2420,
        scale: 1.0,
    };
    c.bench_function("frame/prepare_layout_changed", |b| {
        let mut flip = false;
        b.iter(|| {
            flip = !flip;
            let size = if flip { other } else { big };
            black_box(host.prepare(&ctx, &scene, size, 0.0))
        })
    });
    c.bench_function("frame/prepare_tokens_grew", |b| {
        let mut sim = Sim::new(&s);
        sim.advance(12.0);
        let mut t = 12.0;
        b.iter(|| {
            t += 1.0 / 60.0;
            sim.advance(1.0 / 60.0);
            let sc = sim.scene();
            black_box(host.prepare(&ctx, &sc, big, t as f32))
        })
    });
    ctx.queue.submit([]);
    let _ = ctx.device.poll(wgpu::PollType::wait_indefinitely());
    render(c, &ctx, &mut host, &s);
}

/// Whole frames: prepare, record, submit and wait for the GPU, while tokens grow.
fn render(c: &mut Criterion, ctx: &GpuContext, host: &mut Host, s: &Settings) {
    let mut g = c.benchmark_group("frame/render");
    g.sample_size(20);
    for (w, h) in [(1920u32, 1080u32), (3840, 2160)] {
        let target = Offscreen::new(&ctx.device, w, h);
        let size = Target {
            width: w,
            height: h,
            scale: 1.0,
        };
        host.switch_scene(SceneId::Memory);
        let mut t = 12.0;
        let mut sim = Sim::new(s);
        sim.advance(12.0);
        g.bench_function(format!("{w}x{h}"), |b| {
            b.iter(|| {
                t += 1.0 / 60.0;
                sim.advance(1.0 / 60.0);
                let sc = sim.scene();
                host.prepare(ctx, &sc, size, t as f32);
                let mut enc = ctx.device.create_command_encoder(&Default::default());
                host.render(&mut enc, &target.texture, &target.view);
                ctx.queue.submit(Some(enc.finish()));
                let _ = ctx.device.poll(wgpu::PollType::wait_indefinitely());
            })
        });
    }
    g.finish();
}

criterion_group!(benches, frame);
criterion_main!(benches);
