//! A kiosk runs for days: 24 hours of simulated time at ludicrous speed (51,840 frames of 1/60 s at
//! 100x) through the simulation and the wgpu-free frame builder (the memory scene's view). Nothing
//! may turn NaN, and no collection may grow with time: the second half of the day holds no more
//! than the first half did at its most (a leak grows with every sweep; a buffer sized by the
//! longest sequence so far does not). The paged allocator's invariants hold at the end.

use kvscope::catalog::Catalog;
use kvscope::frame::{FrameData, Target};
use kvscope::scenes::memory::View;
use kvscope::sim::{Settings, Sim};
use std::sync::Arc;

/// 24 h / 100x = 864 s of wall time, at 60 frames a second.
const FRAMES: u32 = 51_840;
const DT: f64 = 1.0 / 60.0;

fn finite(f: &FrameData<'_>) -> Result<(), String> {
    let u = &f.uniforms;
    let values = [
        u.time,
        u.scale,
        u.dot.x,
        u.dot.y,
        u.bank_size,
        u.bank_pitch,
        u.pressure,
        u.progress,
        u.screen.x,
        u.screen.y,
        f.particles.emit,
        f.particles.dt,
        f.particles.travel,
        f.banks.pitch,
        f.banks.size,
    ];
    if let Some(v) = values.iter().find(|v| !v.is_finite()) {
        return Err(format!("a uniform is {v}"));
    }
    let rects = f
        .particles
        .sources
        .iter()
        .chain(std::iter::once(&f.particles.die));
    if rects.flatten().any(|v| !v.is_finite()) {
        return Err("a particle source is not finite".into());
    }
    if f.shapes.vertices.iter().any(|v| !v.pos.is_finite()) {
        return Err("a shape vertex is not finite".into());
    }
    Ok(())
}

#[test]
fn a_day_at_ludicrous_speed_stays_finite_flat_and_consistent() {
    let c = Catalog::builtin().unwrap();
    let mut s = Settings::new(
        Arc::new(c.model("llama-3.1-8b").unwrap().clone()),
        Arc::new(c.gpu("h100").unwrap().clone()),
    );
    s.cb = true;
    s.pa = true;
    s.fa = true;
    s.batch = 32;
    s.speed = 100.0;
    let mut sim = Sim::new(&s);
    let mut view = View::new();
    let target = Target {
        width: 640,
        height: 360,
        scale: 1.0,
    };
    let half = FRAMES / 2;
    let (mut warm_sim, mut warm_view) = (0, 0);
    let mut sweeps_first_half = 0;
    let (mut sweeps_seen, mut time) = (0, 0.0f32);
    for i in 0..FRAMES {
        sim.advance(DT);
        time += DT as f32;
        let scene = sim.scene();
        view.update(&scene, target, time);
        let f = view.frame();
        if let Err(e) = finite(&f) {
            panic!("frame {i}: {e}");
        }
        if i < half {
            warm_sim = warm_sim.max(sim.footprint());
            warm_view = warm_view.max(view.footprint());
            sweeps_first_half = sim.sweeps;
        } else {
            assert!(
                sim.footprint() <= warm_sim,
                "frame {i}: the simulation grew from {warm_sim} to {} bytes",
                sim.footprint()
            );
            assert!(
                view.footprint() <= warm_view,
                "frame {i}: the scene view grew from {warm_view} to {} bytes",
                view.footprint()
            );
        }
        sweeps_seen = sim.sweeps;
    }
    // A day at 100x is many sweeps of the 128K context (each a few simulated minutes).
    assert!(sweeps_seen > 100, "{sweeps_seen} sweeps in a day");
    assert!(
        sweeps_first_half * 2 >= sweeps_seen - 1,
        "{sweeps_first_half} of {sweeps_seen}"
    );
    let alloc = sim.allocator().expect("paged attention keeps an allocator");
    alloc.check().expect("the allocator's invariants hold");
    assert!(time.is_finite() && (time - 864.0).abs() < 1.0, "{time}");
}
