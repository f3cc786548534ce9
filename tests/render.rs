//! Headless rendering on whatever adapter the machine has (lavapipe in CI): pixel checks against
//! numbers from the calculator and the layout. With CI set, a missing adapter fails the test.

use kvscope::app::headless::{render_with, Options, Outcome};
use kvscope::calc::report::kv_bytes;
use kvscope::catalog::Catalog;
use kvscope::render::context::{instance, GpuContext};
use kvscope::scenes::memory::banks;
use kvscope::scenes::memory::map as memory;
use kvscope::scenes::memory::{Layout, PanelKind};
use kvscope::sim::Settings;
use kvscope::ui::palette as pal;
use std::sync::{Arc, Mutex, OnceLock};

fn ctx() -> Option<&'static Mutex<GpuContext>> {
    static CTX: OnceLock<Option<Mutex<GpuContext>>> = OnceLock::new();
    CTX.get_or_init(|| {
        let made = instance(None, None)
            .map_err(|e| e.to_string())
            .and_then(|i| pollster::block_on(GpuContext::new(i, None)).map_err(|e| e.to_string()));
        match made {
            Ok(c) => Some(Mutex::new(c)),
            Err(e) => {
                if std::env::var_os("CI").is_some() {
                    panic!("CI must render: {e}");
                }
                eprintln!("skipping render tests: {e}");
                None
            }
        }
    })
    .as_ref()
}

fn settings(model: &str, gpu: &str) -> Settings {
    let c = Catalog::builtin().unwrap();
    Settings::new(
        Arc::new(c.model(model).unwrap().clone()),
        Arc::new(c.gpu(gpu).unwrap().clone()),
    )
}

fn render(s: &Settings, w: u32, h: u32, scale: f32, time: Option<f64>) -> Option<Outcome> {
    let c = ctx()?;
    let c = c.lock().unwrap_or_else(|e| e.into_inner());
    let o = Options {
        scale,
        time,
        ..Options::new(w, h)
    };
    let out = render_with(&c, s, &o).expect("renders");
    if std::env::var_os("KVSCOPE_KEEP_PNG").is_some() {
        let name = format!("target/render-{}-{w}x{h}@{scale}.png", s.model.id);
        kvscope::render::readback::write_png(std::path::Path::new(&name), w, h, &out.rgba).ok();
    }
    Some(out)
}

fn px(o: &Outcome, w: u32, x: f32, y: f32) -> [u8; 3] {
    let i = ((y as u32 * w + x as u32) * 4) as usize;
    [o.rgba[i], o.rgba[i + 1], o.rgba[i + 2]]
}

fn close(a: [u8; 3], b: [u8; 3], tol: i32) -> bool {
    (0..3).all(|i| (a[i] as i32 - b[i] as i32).abs() <= tol)
}

/// The colour at the centre of every drawn bank, in bank order.
fn bank_colors(o: &Outcome, w: u32) -> Vec<[u8; 3]> {
    let l = o.layout.as_ref().unwrap();
    banks::positions(l, o.map.banks)
        .iter()
        .map(|b| {
            let c = l.bank_size / 2.0;
            px(o, w, (b.x + c) * l.scale, (b.y + c) * l.scale)
        })
        .collect()
}

/// Failure helper: keep the image for a look.
fn keep(o: &Outcome, w: u32, h: u32, name: &str) -> String {
    let p = std::env::temp_dir().join(format!("kvscope-failed-{name}.png"));
    kvscope::render::readback::write_png(&p, w, h, &o.rgba).ok();
    format!("(image at {})", p.display())
}

#[test]
fn purple_banks_match_weights_over_capacity() {
    let mut s = settings("llama-3.1-8b", "h100");
    // Two 128K sequences (46.96 GiB in all) fit one H100's 72 GiB budget: the board is the GPU.
    s.batch = 2;
    let Some(o) = render(&s, 1920, 1080, 1.0, None) else {
        return;
    };
    let colors = bank_colors(&o, 1920);
    let purple = colors
        .iter()
        .filter(|c| close(**c, pal::WEIGHTS, 3))
        .count() as f64;
    // 8,030,261,248 bf16 parameters over 80 GiB, in banks
    let bank = o.map.bank_bytes as f64;
    let want = 8_030_261_248.0 * 2.0 / bank;
    assert!(
        (purple - want).abs() <= 1.0,
        "{purple} purple banks, weights are {want:.2} banks {}",
        keep(&o, 1920, 1080, "purple")
    );
    let frac = purple / o.map.banks as f64;
    let capacity = 8_030_261_248.0 * 2.0 / (80u64 << 30) as f64;
    assert!((frac - capacity).abs() <= 1.0 / o.map.banks as f64 + 1e-9);
    assert!(o.map.banks >= 20_000, "{} banks at 1080p", o.map.banks);
}

#[test]
fn each_sequence_colour_matches_its_kv_bytes() {
    let mut s = settings("llama-3.1-8b", "h100");
    s.cb = true;
    s.batch = 4;
    s.context = 65_536;
    let Some(o) = render(&s, 1920, 1080, 1.0, None) else {
        return;
    };
    let colors = bank_colors(&o, 1920);
    let scene = kvscope::sim::Scene::at_end(&s);
    // Requests are coloured by id (16 colours); sum what each colour should hold.
    let mut want = std::collections::BTreeMap::new();
    for (i, &len) in scene.lengths.iter().enumerate() {
        let bytes = kv_bytes(&s.model, s.kv(), len);
        *want.entry(scene.ids[i] % 16).or_insert(0u128) += bytes.div_ceil(o.map.bank_bytes);
    }
    for (c, n) in want {
        let got = colors
            .iter()
            .filter(|x| close(**x, pal::sequence(c as usize), 3))
            .count() as u128;
        assert_eq!(got, n, "colour {c} {}", keep(&o, 1920, 1080, "seq"));
    }
    // The lengths differ under continuous batching, and finished requests were replaced.
    assert!(scene.lengths.windows(2).any(|p| p[0] != p[1]));
    assert!(scene.ids.iter().any(|&id| id >= 4), "{:?}", scene.ids);
}

#[test]
fn static_batching_shows_reserved_gray_mid_sweep() {
    let s = settings("llama-3.1-8b", "h100");
    // A fifth of the sweep: each sequence holds about a fifth of the 131,072 tokens it reserved.
    let Some(o) = render(&s, 1920, 1080, 1.0, Some(4.8)) else {
        return;
    };
    let colors = bank_colors(&o, 1920);
    let gray = colors
        .iter()
        .filter(|c| close(**c, pal::RESERVED, 3))
        .count() as u32;
    assert_eq!(gray, o.map.count(memory::RESERVED));
    let scene = kvscope::sim::Scene::at(&s, 4.8);
    let held: u64 = scene.lengths.iter().sum();
    let reserved = 4 * 131_072u64;
    let f = gray as f64 / (gray + o.map.seq_banks.iter().sum::<u32>()) as f64;
    let want = 1.0 - held as f64 / reserved as f64;
    assert!(want > 0.7, "{want}");
    assert!(
        (f - want).abs() < 0.01,
        "{f} vs {want} {}",
        keep(&o, 1920, 1080, "gray")
    );
}

fn die_pixels(o: &Outcome, w: u32) -> Vec<[u8; 3]> {
    let l = o.layout.as_ref().unwrap();
    let d = l.die;
    let mut v = Vec::new();
    let (x0, y0) = ((d.x * l.scale) as u32, (d.y * l.scale) as u32);
    let (x1, y1) = ((d.right() * l.scale) as u32, (d.bottom() * l.scale) as u32);
    for y in (y0..y1).step_by(2) {
        for x in (x0..x1).step_by(2) {
            v.push(px(o, w, x as f32, y as f32));
        }
    }
    v
}

#[test]
fn flash_attention_changes_the_die_and_shows_ghosts() {
    let mut s = settings("llama-3.2-1b", "h100");
    s.batch = 2;
    let Some(off) = render(&s, 1920, 1080, 1.0, Some(12.0)) else {
        return;
    };
    s.fa = true;
    let on = render(&s, 1920, 1080, 1.0, Some(12.0)).unwrap();
    let a = die_pixels(&off, 1920);
    let b = die_pixels(&on, 1920);
    let changed = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| !close(**x, **y, 2))
        .count();
    assert!(
        changed > a.len() / 20,
        "{changed} of {} die pixels changed",
        a.len()
    );
    let greenish = b
        .iter()
        .filter(|c| c[1] as i32 > c[0] as i32 + 40 && c[1] as i32 > c[2] as i32 + 20)
        .count();
    assert!(
        greenish > 200,
        "{greenish} green pixels in the die {}",
        keep(&on, 1920, 1080, "fa")
    );
    // Ghost banks: red stripes over free memory, as many banks as the scores would take.
    assert!(on.map.ghost_banks > 0);
    let colors = bank_colors(&on, 1920);
    let red = colors.iter().filter(|c| close(**c, pal::GHOST, 3)).count() as f64;
    // about half of each ghost bank's centres fall on a stripe
    assert!(
        red > on.map.ghost_banks as f64 * 0.2,
        "{red} vs {}",
        on.map.ghost_banks
    );
    // Without flash attention the same bytes are solid score banks: as many solid red banks on
    // screen as the flash frame has ghosts.
    let solid = bank_colors(&off, 1920)
        .iter()
        .filter(|c| close(**c, pal::SCORES, 3))
        .count() as u32;
    assert_eq!(
        solid,
        on.map.ghost_banks,
        "{}",
        keep(&off, 1920, 1080, "scores")
    );
}

#[test]
fn text_is_drawn_in_the_info_panel() {
    let s = settings("llama-3.1-8b", "h100");
    let Some(o) = render(&s, 1920, 1080, 1.0, None) else {
        return;
    };
    let l = o.layout.as_ref().unwrap();
    let r = l.panel(PanelKind::Info).unwrap().rect;
    let mut bright = 0;
    for y in (r.y as u32)..(r.bottom() as u32) {
        for x in (r.x as u32)..(r.right() as u32) {
            let c = px(&o, 1920, x as f32, y as f32);
            if c.iter().map(|v| *v as u32).sum::<u32>() > 450 {
                bright += 1;
            }
        }
    }
    assert!(
        bright > 1500,
        "{bright} bright text pixels {}",
        keep(&o, 1920, 1080, "text")
    );
}

#[test]
fn panels_are_clear_of_banks_at_every_size() {
    let s = settings("llama-3.1-70b", "h100");
    for (w, h, scale) in [
        (1280, 720, 1.0),
        (1920, 1080, 1.0),
        (1920, 1080, 2.0),
        (3840, 2160, 1.0),
        (3840, 2160, 2.0),
        (1080, 1920, 1.0),
    ] {
        let Some(o) = render(&s, w, h, scale, None) else {
            return;
        };
        let l = o.layout.as_ref().unwrap();
        assert!(
            l.overlaps().is_empty(),
            "{w}x{h}@{scale}: {:?}",
            l.overlaps()
        );
        // Inside each panel's corner the panel's own fill shows: nothing was drawn over it.
        for p in &l.panels {
            let x = (p.rect.x + 4.0 * l.ui) * scale;
            let y = (p.rect.bottom() - 4.0 * l.ui) * scale;
            let c = px(&o, w, x, y);
            let bank_like = [pal::WEIGHTS, pal::RESERVED, pal::sequence(0), pal::SCORES]
                .iter()
                .any(|b| close(c, *b, 6));
            assert!(
                !bank_like,
                "{w}x{h}@{scale}: {:?} corner is {c:?} {}",
                p.kind,
                keep(&o, w, h, "panels")
            );
        }
        if (w, h, scale) == (3840, 2160, 1.0) {
            assert!(o.map.banks >= 80_000, "{} banks at 4K", o.map.banks);
        }
    }
}

#[test]
fn overflow_is_shown_not_clipped() {
    let mut s = settings("llama-3.1-405b", "h100");
    s.batch = 1;
    let Some(o) = render(&s, 1920, 1080, 1.0, None) else {
        return;
    };
    // 405B bf16: 405,853,388,800 params x 2 B = 811,706,777,600 B of weights, plus 131,072 tokens
    // x 516,096 B (2 x 126 layers x 8 KV heads x 128 x 2 B) = 67,645,734,912 B of KV:
    // 879,352,512,512 B over vLLM budgets of 67.03 GiB per H100 of a split = 12.2 -> 13 GPUs,
    // the number `kvscope calc` prints (tests/panels.rs). The board is one of the 13.
    assert_eq!(o.map.shards, 13);
    let colors = bank_colors(&o, 1920);
    let purple = colors
        .iter()
        .filter(|c| close(**c, pal::WEIGHTS, 3))
        .count() as f64;
    let want = (811_706_777_600f64 / 13.0) / o.map.bank_bytes as f64;
    assert!((purple - want).abs() <= 1.0, "{purple} vs {want}");
    // The warning panel is red-bordered: its edge pixel is the danger colour.
    let l = o.layout.as_ref().unwrap();
    let r = l.panel(PanelKind::Warning).unwrap().rect;
    let c = px(&o, 1920, r.x + r.w / 2.0, r.y + 0.5);
    assert!(c[0] > 150 && c[1] < 120, "{c:?}");
}

/// Frame data with nothing in it but banks: `grids` over a `size` x `size` target at scale 1, the
/// banks `bank` px at a pitch of `pitch`.
fn bank_frame<'a>(
    size: u32,
    grids: &'a [kvscope::frame::BankGrid],
    states: &'a [u32],
    revisions: (u64, u64),
    (pitch, bank): (f32, f32),
    palette: &'a [[f32; 4]; 32],
    mesh: &'a kvscope::frame::Mesh,
) -> kvscope::frame::FrameData<'a> {
    use kvscope::frame::*;
    FrameData {
        target: Target {
            width: size,
            height: size,
            scale: 1.0,
        },
        uniforms: Uniforms {
            screen: glam::Vec2::splat(size as f32),
            time: 0.0,
            scale: 1.0,
            dot: glam::Vec2::ZERO,
            bank_size: bank,
            bank_pitch: pitch,
            pressure: 0.0,
            flash: false,
            progress: 0.0,
        },
        palette,
        background: pal::background(),
        banks: Banks {
            geometry_revision: revisions.0,
            grids,
            pitch,
            size: bank,
            states_revision: revisions.1,
            states,
            redraw: &[],
            redraw_urgent: &[],
        },
        shapes: mesh,
        shapes_revision: 0,
        texts: Texts {
            settled: &[],
            settled_revision: 0,
            live: &[],
            live_revision: 0,
        },
        static_rects: &[],
        particles: Particles {
            die: [0.0; 4],
            sources: &[],
            emit: 0.0,
            dt: 0.0,
            travel: 1.0,
            streak: false,
        },
    }
}

#[test]
fn a_million_bank_instances_draw() {
    // The renderer draws frame data with no scene behind it: a million grids of one bank each.
    let Some(c) = ctx() else { return };
    let c = c.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = kvscope::render::Renderer::new(
        &c.device,
        &c.queue,
        kvscope::render::offscreen::FORMAT,
        1000,
    );
    // A 1,000 x 1,000 grid of sub-pixel banks over a 1000x1000 target.
    let grids: Vec<kvscope::frame::BankGrid> = (0..1_000_000u32)
        .map(|i| {
            let pos = glam::Vec2::new((i % 1000) as f32, (i / 1000) as f32);
            kvscope::frame::BankGrid::new(pos, i, 1, 1)
        })
        .collect();
    let states: Vec<u32> = (0..1_000_000u32)
        .map(|i| {
            if i < 500_000 {
                memory::WEIGHTS
            } else {
                memory::FREE
            }
        })
        .collect();
    let palette = pal::slots();
    let mesh = kvscope::frame::Mesh::default();
    let geometry = kvscope::frame::next_revision();
    let frame = |states, rev| {
        bank_frame(
            1000,
            &grids,
            states,
            (geometry, rev),
            (1.0, 0.9),
            &palette,
            &mesh,
        )
    };
    let st = r.prepare(&c.device, &c.queue, &frame(&states, 1));
    assert!(st.grids_uploaded);
    assert_eq!(st.state_runs, 1);
    assert_eq!(r.state_runs().len(), 1);
    assert_eq!(r.state_runs()[0], 0..1_000_000);
    // The same revision: nothing uploaded; a new revision with the same states: nothing either.
    let st = r.prepare(&c.device, &c.queue, &frame(&states, 1));
    assert!(!st.grids_uploaded && st.state_runs == 0);
    let st = r.prepare(&c.device, &c.queue, &frame(&states, 2));
    assert!(st.state_runs == 0, "nothing changed, nothing uploaded");
    // Two distant changes are two runs: only they are uploaded and redrawn.
    let mut changed = states.clone();
    changed[10] = memory::KV;
    changed[900_000] = memory::KV;
    let st = r.prepare(&c.device, &c.queue, &frame(&changed, 3));
    assert_eq!(st.state_runs, 2);
    assert_eq!(r.state_runs(), [10..11, 900_000..900_001]);
    assert_eq!(st.states_written, 2);
    let t = kvscope::render::offscreen::Offscreen::new(&c.device, 1000, 1000);
    let mut enc = c.device.create_command_encoder(&Default::default());
    r.render(&mut enc, &t.texture, &t.view);
    c.queue.submit(Some(enc.finish()));
    let rgba = kvscope::render::readback::read_rgba(&c, &t.texture).unwrap();
    let at = |x: usize, y: usize| {
        [
            rgba[(y * 1000 + x) * 4],
            rgba[(y * 1000 + x) * 4 + 1],
            rgba[(y * 1000 + x) * 4 + 2],
        ]
    };
    assert!(close(at(500, 100), pal::WEIGHTS, 3), "{:?}", at(500, 100));
    assert!(close(at(500, 900), pal::FREE, 3), "{:?}", at(500, 900));
}

#[test]
fn incremental_frames_match_a_fresh_frame() {
    // The static layer is redrawn only where banks changed: after 20 frames of growth it must show
    // what a frame drawn from scratch at the same moment shows.
    let Some(c) = ctx() else { return };
    let c = c.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = settings("llama-3.1-8b", "h100");
    s.cb = true;
    s.pa = true;
    s.speed = 5.0;
    let o = |frames| Options {
        width: 1280,
        height: 720,
        scale: 1.0,
        time: Some(1.0),
        frames,
        out: None,
        backend: None,
        // particles move from frame to frame by design; this compares the memory picture
        particles: Some(0),
        // the static layer on any adapter: it is what redraws only the changed banks
        layered: Some(true),
        budgeted: None,
    };
    let grown = render_with(&c, &s, &o(20)).unwrap();
    // frame 19 of the first run is at 1 + 19/60 s of play
    let fresh = render_with(
        &c,
        &s,
        &Options {
            time: Some(1.0 + 19.0 / 60.0),
            ..o(1)
        },
    )
    .unwrap();
    assert_eq!(grown.map.states, fresh.map.states);
    let differ = grown
        .rgba
        .chunks(4)
        .zip(fresh.rgba.chunks(4))
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        differ < 200,
        "{differ} pixels differ {} {}",
        keep(&grown, 1280, 720, "grown"),
        keep(&fresh, 1280, 720, "fresh")
    );
}

#[test]
fn budgeted_redraws_at_ludicrous_speed_catch_up() {
    // At 100x on a 4K frame most banks change every frame and a software adapter redraws only a
    // budget of them per frame; the rest wait their turn. The frame written out draws everything
    // still waiting, so it matches the same frames drawn without a budget.
    let Some(c) = ctx() else { return };
    let c = c.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = settings("llama-3.1-8b", "h100");
    s.cb = true;
    s.pa = true;
    s.fa = true;
    s.speed = 100.0;
    // Forced on any adapter: the static layer, with and without the budget.
    let o = |budget| Options {
        width: 3840,
        height: 2160,
        layered: Some(true),
        budgeted: Some(budget),
        ..opts(8, 2.0, Some(0))
    };
    let budgeted = render_with(&c, &s, &o(true)).unwrap();
    let full = render_with(&c, &s, &o(false)).unwrap();
    assert!(
        budgeted.rows_waiting_max > 0,
        "the budget never held rows back"
    );
    assert_eq!(full.rows_waiting_max, 0);
    assert!(budgeted.map.states == full.map.states, "the same moment");
    let differ = budgeted
        .rgba
        .chunks(4)
        .zip(full.rgba.chunks(4))
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        differ == 0,
        "{differ} pixels differ {} {}",
        keep(&budgeted, 3840, 2160, "budgeted-100x"),
        keep(&full, 3840, 2160, "full-100x")
    );
}

#[test]
fn the_gpu_path_draws_what_the_static_layer_draws() {
    // A GPU draws every layer every frame; a software adapter composes the frame from a static
    // layer. Both must show the same picture: banks (one quad per grid), panels, text, waves.
    let Some(c) = ctx() else { return };
    let c = c.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = settings("llama-3.1-8b", "h100");
    s.cb = true;
    s.pa = true;
    s.batch = 2;
    // Both ways forced, whatever the adapter (a GPU would otherwise take the direct way twice).
    let o = |layered| Options {
        width: 1280,
        height: 720,
        layered: Some(layered),
        ..opts(1, 3.0, Some(0))
    };
    let layered = render_with(&c, &s, &o(true)).unwrap();
    let direct = render_with(&c, &s, &o(false)).unwrap();
    let l = direct.layout.as_ref().unwrap();
    let pos = banks::positions(l, direct.map.banks);
    // Pixels inside banks: the same colour either way, and the banks' own colours.
    let mut weights = 0;
    for (i, p) in pos.iter().enumerate().step_by(97) {
        let (x, y) = (
            (p[0] + l.bank_size / 2.0) as usize,
            (p[1] + l.bank_size / 2.0) as usize,
        );
        let at = |img: &[u8]| {
            let k = (y * 1280 + x) * 4;
            [img[k], img[k + 1], img[k + 2]]
        };
        assert_eq!(at(&direct.rgba), at(&layered.rgba), "bank {i} at {x},{y}");
        if direct.map.states[i] == memory::WEIGHTS {
            assert!(close(at(&direct.rgba), pal::WEIGHTS, 3));
            weights += 1;
        }
    }
    assert!(weights > 10, "{weights} weight banks sampled");
    let differ = direct
        .rgba
        .chunks(4)
        .zip(layered.rgba.chunks(4))
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        differ < 1_000,
        "{differ} pixels differ {} {}",
        keep(&direct, 1280, 720, "gpu-path"),
        keep(&layered, 1280, 720, "layered")
    );
}

fn opts(frames: u64, time: f64, particles: Option<u32>) -> Options {
    Options {
        width: 960,
        height: 540,
        scale: 1.0,
        time: Some(time),
        frames,
        out: None,
        backend: None,
        particles,
        layered: None,
        budgeted: None,
    }
}

/// Pixels where two images differ.
fn diff_mask(a: &[u8], b: &[u8]) -> Vec<bool> {
    a.chunks(4).zip(b.chunks(4)).map(|(x, y)| x != y).collect()
}

#[test]
fn particles_are_drawn_and_move() {
    let Some(c) = ctx() else { return };
    let c = c.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = settings("llama-3.1-8b", "h100");
    s.fa = true;
    let with10 = render_with(&c, &s, &opts(10, 3.0, None)).unwrap();
    let without10 = render_with(&c, &s, &opts(10, 3.0, Some(0))).unwrap();
    let with11 = render_with(&c, &s, &opts(11, 3.0, None)).unwrap();
    let without11 = render_with(&c, &s, &opts(11, 3.0, Some(0))).unwrap();
    let m10 = diff_mask(&with10.rgba, &without10.rgba);
    let m11 = diff_mask(&with11.rgba, &without11.rgba);
    let n10 = m10.iter().filter(|d| **d).count();
    let n11 = m11.iter().filter(|d| **d).count();
    assert!(n10 > 100 && n11 > 100, "particle pixels: {n10}, {n11}");
    let moved = m10.iter().zip(&m11).filter(|(a, b)| a != b).count();
    assert!(
        moved > 50,
        "only {moved} particle pixels changed between frames"
    );
}

#[test]
fn paused_frames_are_identical() {
    let Some(c) = ctx() else { return };
    let c = c.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = settings("llama-3.1-8b", "h100");
    s.fa = true;
    s.cb = true;
    s.pa = true;
    s.paused = true;
    let one = render_with(&c, &s, &opts(1, 5.0, None)).unwrap();
    let six = render_with(&c, &s, &opts(6, 5.0, None)).unwrap();
    assert!(one.rgba == six.rgba, "a paused scene changed");
    // and playing, it does change
    s.paused = false;
    let playing = render_with(&c, &s, &opts(6, 5.0, None)).unwrap();
    assert!(one.rgba != playing.rgba);
}

#[test]
fn same_seed_same_frames() {
    let Some(c) = ctx() else { return };
    let c = c.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = settings("mixtral-8x7b", "h200");
    s.cb = true;
    s.pa = true;
    s.fa = true;
    s.batch = 8;
    s.speed = 10.0;
    let a = render_with(&c, &s, &opts(8, 4.0, None)).unwrap();
    let b = render_with(&c, &s, &opts(8, 4.0, None)).unwrap();
    assert_eq!(a.map.states, b.map.states);
    assert!(a.rgba == b.rgba, "same seed and frames, different pixels");
    s.seed = 2;
    let other = render_with(&c, &s, &opts(8, 4.0, None)).unwrap();
    assert_ne!(a.map.states, other.map.states, "the seed changes the batch");
}

#[test]
fn ghost_area_grows_with_the_context() {
    let Some(c) = ctx() else { return };
    let c = c.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = settings("llama-3.2-1b", "h100");
    s.fa = true;
    s.batch = 1;
    // 4,096 then 8,192 tokens: 1 GiB then 4 GiB of scores, both within the free memory
    s.context = 16_384;
    let early = render_with(&c, &s, &opts(1, 6.0, Some(0))).unwrap();
    let late = render_with(&c, &s, &opts(1, 12.0, Some(0))).unwrap();
    let red = |o: &Outcome| {
        bank_colors(o, 960)
            .iter()
            .filter(|c| close(**c, pal::GHOST, 3))
            .count()
    };
    // 32 heads x 4,096² x 2 B = 1 GiB of scores, then 32 x 8,192² x 2 B = 4 GiB: n², in banks
    let bank = early.map.bank_bytes;
    assert_eq!(early.map.ghost_banks as u128, (1u128 << 30).div_ceil(bank));
    assert_eq!(late.map.ghost_banks as u128, (4u128 << 30).div_ceil(bank));
    assert!(
        red(&late) > red(&early),
        "{} -> {}",
        red(&early),
        red(&late)
    );
}

/// The panel's pixels in a frame.
fn panel_pixels(rgba: &[u8], w: u32, l: &Layout, kind: PanelKind) -> Vec<u8> {
    let r = l.panel(kind).unwrap().rect;
    let mut out = Vec::new();
    for y in (r.y * l.scale) as u32..(r.bottom() * l.scale) as u32 {
        let a = ((y * w + (r.x * l.scale) as u32) * 4) as usize;
        let b = ((y * w + (r.right() * l.scale) as u32) * 4) as usize;
        out.extend_from_slice(&rgba[a..b]);
    }
    out
}

fn panel_text(texts: &[kvscope::scenes::memory::panels::PanelText], kind: PanelKind) -> String {
    texts
        .iter()
        .filter(|t| t.kind == kind)
        .flat_map(|t| t.spans.iter().map(|s| s.text.clone()))
        .collect()
}

#[test]
fn panels_follow_every_change_of_state() {
    // Pause, speed while paused, hold and restart change no memory, yet each must reach the panels
    // on the next frame: their text and their pixels.
    let Some(c) = ctx() else { return };
    let c = c.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = settings("llama-3.1-8b", "h100");
    s.batch = 2;
    s.cb = true;
    s.pa = true;
    let o = Options {
        width: 1280,
        height: 720,
        time: Some(2.0),
        particles: Some(0),
        ..Options::new(1280, 720)
    };
    let mut session = kvscope::app::headless::Session::new(&c, &s, &o).unwrap();
    for _ in 0..3 {
        session.frame(1.0 / 60.0).unwrap();
    }
    let l = session.layout().unwrap().clone();
    let controls = |session: &kvscope::app::headless::Session| {
        panel_text(session.texts(), PanelKind::Controls)
    };
    assert!(controls(&session).ends_with("CB + PA · 1x · playing"));
    let before = panel_pixels(&session.read().unwrap(), 1280, &l, PanelKind::Controls);

    s.paused = true;
    session.set_settings(&s);
    session.frame(1.0 / 60.0).unwrap();
    assert!(
        controls(&session).ends_with("CB + PA · 1x · paused"),
        "{}",
        controls(&session)
    );
    let paused = panel_pixels(&session.read().unwrap(), 1280, &l, PanelKind::Controls);
    assert!(
        before != paused,
        "the Controls panel's pixels did not change on pause"
    );

    // Speed while paused: the speed and, at 100x, the ludicrous-speed warning.
    s.speed = 100.0;
    session.set_settings(&s);
    session.frame(1.0 / 60.0).unwrap();
    assert!(controls(&session).ends_with("CB + PA · 100x · paused"));
    assert!(panel_text(session.texts(), PanelKind::Warning).contains("LUDICROUS SPEED"));
    let fast = panel_pixels(&session.read().unwrap(), 1280, &l, PanelKind::Warning);

    s.hold = true;
    session.set_settings(&s);
    session.frame(1.0 / 60.0).unwrap();
    assert!(controls(&session).ends_with("100x · paused · holding at the end"));

    s.speed = 1.0;
    session.set_settings(&s);
    session.frame(1.0 / 60.0).unwrap();
    assert!(!panel_text(session.texts(), PanelKind::Warning).contains("LUDICROUS"));
    let slow = panel_pixels(&session.read().unwrap(), 1280, &l, PanelKind::Warning);
    assert!(
        fast != slow,
        "the warning panel kept the ludicrous-speed line"
    );

    // A restart starts the sweep over: the lead sequence holds nothing again.
    session.restart();
    session.frame(1.0 / 60.0).unwrap();
    let info = panel_text(session.texts(), PanelKind::Info);
    assert!(
        info.contains("Context\t0 / 131,072 tokens × 2 seq"),
        "{info}"
    );
}

#[test]
fn a_fresh_scene_view_draws_what_the_old_one_would_have() {
    // Two sessions play the same frames and change the model at the same moment; one of them also
    // switches to a fresh view of the scene then. The renderer must take all of the new view's
    // frame data (its revisions are new to it), so the last frames are the same pixels; and the
    // new model shows (a session that kept the old model differs).
    let Some(c) = ctx() else { return };
    let c = c.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = settings("llama-3.1-8b", "h100");
    s.cb = true;
    s.pa = true;
    let o = Options {
        time: Some(2.0),
        particles: Some(0),
        layered: Some(true),
        budgeted: Some(false),
        ..Options::new(1280, 720)
    };
    let mut small = s.clone();
    small.model = settings("llama-3.2-1b", "h100").model;
    let run = |switch: bool, change: bool| {
        let mut session = kvscope::app::headless::Session::new(&c, &s, &o).unwrap();
        for _ in 0..3 {
            session.frame(1.0 / 60.0).unwrap();
        }
        if change {
            session.set_settings(&small);
        }
        if switch {
            session.switch_scene(kvscope::scenes::SceneId::Memory);
        }
        session.frame(1.0 / 60.0).unwrap();
        session.finish_next_frame();
        session.frame(1.0 / 60.0).unwrap();
        session.read().unwrap()
    };
    let kept = run(false, true);
    let switched = run(true, true);
    assert!(kept == switched, "a fresh view drew another picture");
    assert!(kept != run(false, false), "the model change did not show");
}

#[test]
fn a_frame_prepared_but_never_drawn_loses_no_redraw() {
    // The window can skip a frame after preparing it (a lost or outdated surface): the banks that
    // changed then must still reach the cached layer with the next frame drawn.
    use kvscope::app::host::Host;
    use kvscope::frame::Target;
    let Some(c) = ctx() else { return };
    let c = c.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = settings("llama-3.1-8b", "h100");
    s.cb = true;
    s.pa = true;
    let host = || {
        let mut r = kvscope::render::Renderer::new(
            &c.device,
            &c.queue,
            kvscope::render::offscreen::FORMAT,
            0,
        );
        r.set_cached(true);
        Host::new(r, kvscope::scenes::SceneId::Memory)
    };
    let target = Target {
        width: 1280,
        height: 720,
        scale: 1.0,
    };
    let t = kvscope::render::offscreen::Offscreen::new(&c.device, 1280, 720);
    let draw = |h: &Host| {
        let mut enc = c.device.create_command_encoder(&Default::default());
        h.render(&mut enc, &t.texture, &t.view);
        c.queue.submit(Some(enc.finish()));
        kvscope::render::readback::read_rgba(&c, &t.texture).unwrap()
    };
    let early = kvscope::sim::Scene::at(&s, 2.0);
    let later = kvscope::sim::Scene::at(&s, 6.0);
    let mut skipped = host();
    skipped.prepare(&c, &early, target, 2.0);
    draw(&skipped);
    // Prepared, not drawn; then the same state again, drawn.
    let (_, st) = skipped.prepare(&c, &later, target, 6.0);
    assert!(st.states_written > 0, "memory changed between the frames");
    let (_, st) = skipped.prepare(&c, &later, target, 6.0);
    assert_eq!(st.states_written, 0);
    let after_skip = draw(&skipped);
    let mut fresh = host();
    fresh.prepare(&c, &later, target, 6.0);
    assert!(
        after_skip == draw(&fresh),
        "the skipped frame's redraws were lost"
    );
}

#[test]
fn the_memory_apocalypse_turns_the_packages_red() {
    let mut s = settings("llama-3.1-8b", "h100");
    s.batch = 1;
    s.pa = true;
    s.context = 100_000_000;
    let Some(o) = render(&s, 1920, 1080, 1.0, None) else {
        return;
    };
    s.context = 131_072;
    let calm = render(&s, 1920, 1080, 1.0, None).unwrap();
    let l = o.layout.as_ref().unwrap();
    let mut red = 0;
    for m in l.modules.iter().filter(|m| m.active) {
        // the middle of the package's top border (a 1-px outline on the package's edge)
        let (x, y) = (m.rect.x + m.rect.w / 2.0, m.rect.y + 0.5);
        let c = px(&o, 1920, x, y);
        assert!(close(c, pal::DANGER, 40), "package border at 100M: {c:?}");
        let c = px(&calm, 1920, x, y);
        assert!(
            close(c, pal::MODULE_BORDER, 40),
            "package border at 128K: {c:?}"
        );
        red += 1;
    }
    assert_eq!(red, 5, "the H100's five active stacks");
}

/// Frames of `s` played at its speed, 1/60 s apart, drawn two ways by one renderer: brought up to
/// date where they changed (into a target that keeps its pixels, as the window's copy presenter
/// does) and drawn whole into another. Every `every`th frame both are read back and compared.
/// Returns how many frames were drawn by damage and the largest damaged fraction.
fn damage_matches_whole(s: &Settings, w: u32, h: u32, scale: f32, frames: u32) -> (u32, f64) {
    use kvscope::app::host::Host;
    use kvscope::frame::Target;
    use kvscope::render::offscreen::Offscreen;
    use kvscope::render::readback::read_rgba;
    let Some(c) = ctx() else { return (0, 0.0) };
    let c = c.lock().unwrap_or_else(|e| e.into_inner());
    let mut r = kvscope::render::Renderer::new(
        &c.device,
        &c.queue,
        kvscope::render::offscreen::FORMAT,
        kvscope::render::particles::POOL_SOFTWARE,
    );
    r.set_cached(true);
    r.set_bank_budget(Some(kvscope::render::Renderer::SOFTWARE_BANK_BUDGET));
    let mut host = Host::new(r, kvscope::scenes::SceneId::Memory);
    let target = Target {
        width: w,
        height: h,
        scale,
    };
    let kept = Offscreen::new(&c.device, w, h);
    let whole = Offscreen::new(&c.device, w, h);
    let mut sim = kvscope::sim::Sim::new(s);
    let (mut damaged, mut largest) = (0, 0.0f64);
    for i in 0..frames {
        let dt = 1.0 / 60.0;
        sim.advance(dt);
        host.prepare(&c, &sim.scene(), target, 1.0 + i as f32 * dt as f32);
        let mut enc = c.device.create_command_encoder(&Default::default());
        if let Some(rects) = host.render_onto(&mut enc, &kept.texture, &kept.view, i > 0) {
            damaged += 1;
            let area: u64 = rects.iter().map(|r| r[2] as u64 * r[3] as u64).sum();
            largest = largest.max(area as f64 / (w as f64 * h as f64));
        }
        host.render(&mut enc, &whole.texture, &whole.view);
        c.queue.submit(Some(enc.finish()));
        if i % 10 == 9 {
            let a = read_rgba(&c, &kept.texture).unwrap();
            let b = read_rgba(&c, &whole.texture).unwrap();
            let diff = a
                .chunks_exact(4)
                .zip(b.chunks_exact(4))
                .position(|(p, q)| p != q);
            if let Some(at) = diff {
                let (x, y) = (at as u32 % w, at as u32 / w);
                if std::env::var_os("KVSCOPE_KEEP_PNG").is_some() {
                    use kvscope::render::readback::write_png;
                    write_png(std::path::Path::new("/tmp/kept.png"), w, h, &a).ok();
                    write_png(std::path::Path::new("/tmp/whole.png"), w, h, &b).ok();
                }
                panic!("frame {i}: the frame kept up to date by damage differs at ({x}, {y})");
            }
        }
    }
    (damaged, largest)
}

#[test]
fn a_frame_kept_up_to_date_by_damage_equals_one_drawn_whole() {
    // Ludicrous speed with continuous batching: sequences finish and arrive every few frames, the
    // warning panel and its GPU icons change, particles stream; flash attention animates the die.
    let mut s = settings("llama-3.1-8b", "h100");
    s.cb = true;
    s.fa = true;
    s.batch = 32;
    s.speed = 100.0;
    let (damaged, largest) = damage_matches_whole(&s, 1280, 720, 1.0, 60);
    if ctx().is_none() {
        return;
    }
    // Every frame after the first (a whole one) went by damage, or nearly: a layout change draws
    // whole. Most of the frame is left alone.
    assert!(damaged >= 50, "{damaged} of 60 frames by damage");
    assert!(largest < 0.9, "damage reached {largest:.2} of the frame");
    // Static batching at batch 128, a high-DPI target.
    let mut s = settings("llama-3.1-8b", "h100");
    s.batch = 128;
    s.speed = 100.0;
    let (damaged, _) = damage_matches_whole(&s, 1600, 900, 1.5, 40);
    assert!(damaged >= 30, "{damaged} of 40 frames by damage");
}
