//! `kvscope render`: a scene hosted without a window. Frames rendered offscreen by the same scene
//! view and renderer as the window's, timed, and the last one written as a PNG.

use super::host::Host;
use crate::frame::Target;
use crate::render::context::{self, GpuContext, RenderError};
use crate::render::offscreen::{self, Offscreen};
use crate::render::{readback, Renderer};
use crate::scenes::{memory, SceneId};
use crate::sim::{Settings, Sim};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct Options {
    pub width: u32,
    pub height: u32,
    pub scale: f32,
    /// Seconds of play from the start; None: the end of the sweep.
    pub time: Option<f64>,
    pub frames: u64,
    pub out: Option<PathBuf>,
    pub backend: Option<String>,
    /// Particle pool; None: the adapter's tier.
    pub particles: Option<u32>,
    /// Compose frames from a static layer redrawn only where it changed (true), or draw every
    /// layer every frame (false); None: the adapter's tier (the static layer on a software
    /// adapter). Forcing either checks that both ways draw the same picture on any adapter.
    pub layered: Option<bool>,
    /// With the static layer, redraw at most a budget of changed banks a frame (true) or all of
    /// them (false); None: the adapter's tier (a budget on a software adapter).
    pub budgeted: Option<bool>,
}

impl Options {
    /// A frame of `width` x `height` at scale 1, the end of the sweep, the adapter's tier.
    pub fn new(width: u32, height: u32) -> Options {
        Options {
            width,
            height,
            scale: 1.0,
            time: None,
            frames: 1,
            out: None,
            backend: None,
            particles: None,
            layered: None,
            budgeted: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Outcome {
    pub adapter: String,
    pub frame_ms: Vec<f64>,
    /// CPU time of the scene's update and the renderer's prepare per frame.
    pub prepare_ms: Vec<f64>,
    pub banks: u32,
    /// Most rows of banks left waiting for a later frame by the redraw budget (software adapters).
    pub rows_waiting_max: u32,
    pub rgba: Vec<u8>,
    /// The last frame's layout and memory map (for pixel checks).
    pub layout: Option<memory::Layout>,
    pub map: memory::MemoryMap,
}

impl Outcome {
    pub fn median_ms(&self) -> f64 {
        median(&self.frame_ms)
    }
    pub fn median_prepare_ms(&self) -> f64 {
        median(&self.prepare_ms)
    }
}

pub fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// The simulation `kvscope render` starts from: `time` seconds of play at the settings' speed,
/// or the end of the sweep.
pub fn start(settings: &Settings, time: Option<f64>) -> Sim {
    let mut sim = Sim::new(settings);
    match time {
        Some(t) => sim.advance_sim_ns((t * settings.speed * 1e9).round() as u128),
        None => sim.run_to_end(),
    }
    sim
}

pub fn run(settings: &Settings, o: &Options) -> Result<Outcome, RenderError> {
    let instance = context::instance(o.backend.as_deref(), None)?;
    let ctx = pollster::block_on(GpuContext::with_fallback(
        instance,
        None,
        o.backend.is_none(),
    ))?;
    render_with(&ctx, settings, o)
}

/// Renders with an existing context (tests share one).
pub fn render_with(
    ctx: &GpuContext,
    settings: &Settings,
    o: &Options,
) -> Result<Outcome, RenderError> {
    let mut session = Session::new(ctx, settings, o)?;
    let frames = o.frames.max(1);
    for i in 0..frames {
        if i + 1 == frames {
            // The frame that is written out shows every number and every bank as of its own
            // moment.
            session.finish_next_frame();
        }
        session.frame(if i == 0 { 0.0 } else { 1.0 / 60.0 })?;
    }
    let rgba = session.read()?;
    if let Some(path) = &o.out {
        readback::write_png(path, o.width, o.height, &rgba)?;
    }
    Ok(session.outcome(rgba))
}

/// Frames rendered one after another into one offscreen target by one renderer, as the window
/// draws them: settings can change between frames (pause, speed, a restart) and every panel must
/// follow.
pub struct Session<'a> {
    ctx: &'a GpuContext,
    host: Host,
    target: Offscreen,
    sim: Sim,
    anim: f64,
    size: Target,
    times: Vec<f64>,
    prep: Vec<f64>,
    rows_waiting_max: u32,
    /// The last frame's time stepping the simulation, preparing, and rendering (waited for), ms.
    pub split: [f64; 3],
}

impl<'a> Session<'a> {
    /// Starts at `o.time` seconds of play (or the end of the sweep, held there).
    pub fn new(
        ctx: &'a GpuContext,
        settings: &Settings,
        o: &Options,
    ) -> Result<Session<'a>, RenderError> {
        let limits = ctx.device.limits();
        let side = limits.max_texture_dimension_2d;
        let bytes = readback::buffer_size(o.width, o.height);
        if o.width > side || o.height > side || bytes > limits.max_buffer_size {
            return Err(RenderError::Device(format!(
                "{}x{} is more than this adapter renders (largest side {side} px, largest buffer {} MiB)",
                o.width,
                o.height,
                limits.max_buffer_size >> 20
            )));
        }
        let mut renderer = Renderer::new(
            &ctx.device,
            &ctx.queue,
            offscreen::FORMAT,
            o.particles
                .unwrap_or(crate::render::particles::pool_for(ctx.software)),
        );
        let layered = o.layered.unwrap_or(ctx.software);
        renderer.set_cached(layered);
        if layered && o.budgeted.unwrap_or(ctx.software) {
            renderer.set_bank_budget(Some(Renderer::SOFTWARE_BANK_BUDGET));
        }
        let mut sim = start(settings, o.time);
        // Later frames keep playing (the end of the sweep holds, so a timed run still animates).
        sim.hold = o.time.is_none();
        // Animation time is seconds of play, as in the window (the simulation runs `speed` times
        // faster; pulses, stripes and waves do not).
        let anim = o
            .time
            .unwrap_or(sim.scene().time / settings.speed.max(f64::MIN_POSITIVE));
        Ok(Session {
            ctx,
            host: Host::new(renderer, SceneId::Memory),
            target: Offscreen::new(&ctx.device, o.width, o.height),
            sim,
            anim,
            size: Target {
                width: o.width,
                height: o.height,
                scale: o.scale,
            },
            times: Vec::new(),
            prep: Vec::new(),
            rows_waiting_max: 0,
            split: [0.0; 3],
        })
    }

    /// New settings, as a key in the window would set them (a change of memory restarts the sweep).
    pub fn set_settings(&mut self, s: &Settings) {
        self.sim.set_settings(s);
    }

    /// Shows scene `id` from the next frame on, with a fresh view of it.
    pub fn switch_scene(&mut self, id: SceneId) {
        self.host.switch_scene(id);
    }

    /// Starts the sweep over (R in the window).
    pub fn restart(&mut self) {
        self.sim.restart();
    }

    /// The next frame draws every bank still waiting and every panel as of its own moment.
    pub fn finish_next_frame(&mut self) {
        self.host.scene_mut().force_text_update();
        self.host.renderer_mut().set_bank_budget(None);
    }

    /// Advances `dt` seconds of wall time (the simulation at the settings' speed, the animation
    /// unless paused) and renders a frame, waiting for it.
    pub fn frame(&mut self, dt: f64) -> Result<(), RenderError> {
        let t = Instant::now();
        if dt > 0.0 {
            self.sim.advance(dt);
            if !self.sim.settings.paused {
                self.anim += dt;
            }
        }
        let state = self.sim.scene();
        let sim_ms = t.elapsed().as_secs_f64() * 1000.0;
        let start = Instant::now();
        self.host
            .prepare(self.ctx, &state, self.size, self.anim as f32);
        let mut enc = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("frame"),
            });
        let prep_ms = start.elapsed().as_secs_f64() * 1000.0;
        self.prep.push(prep_ms);
        self.host
            .render(&mut enc, &self.target.texture, &self.target.view);
        self.ctx.queue.submit(Some(enc.finish()));
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| RenderError::Device(e.to_string()))?;
        let waiting = self.host.renderer().rows_waiting();
        self.rows_waiting_max = self.rows_waiting_max.max(waiting);
        let total = start.elapsed().as_secs_f64() * 1000.0;
        self.times.push(total);
        self.split = [sim_ms, prep_ms, total - prep_ms];
        Ok(())
    }

    /// What every panel says as of the last frame.
    pub fn texts(&self) -> &[memory::panels::PanelText] {
        self.host.scene().memory().map_or(&[], |v| &v.texts)
    }

    /// The last frame's layout.
    pub fn layout(&self) -> Option<&memory::Layout> {
        self.host.scene().memory().and_then(|v| v.layout.as_ref())
    }

    /// The last frame's pixels (RGBA rows).
    pub fn read(&self) -> Result<Vec<u8>, RenderError> {
        readback::read_rgba(self.ctx, &self.target.texture)
    }

    fn outcome(self, rgba: Vec<u8>) -> Outcome {
        let view = self.host.scene().memory();
        let layout = view.and_then(|v| v.layout.clone());
        let map = view.map(|v| v.map.clone()).unwrap_or_default();
        Outcome {
            adapter: self.ctx.adapter_name.clone(),
            frame_ms: self.times,
            prepare_ms: self.prep,
            banks: map.banks,
            rows_waiting_max: self.rows_waiting_max,
            rgba,
            layout,
            map,
        }
    }
}

/// `kvscope bench --headless`: every state played for `seconds` of wall time into an offscreen
/// `size` target, each frame stepped by the real time since the last one (as the window steps),
/// rendered and waited for. Progress goes to stderr. The refresh rate compared with is 60 Hz.
pub fn bench(
    states: &[super::bench::BenchState],
    size: (u32, u32),
    seconds: f64,
    backend: Option<&str>,
) -> Result<super::bench::BenchReport, RenderError> {
    use super::bench::{BenchReport, Meter};
    let instance = context::instance(backend, None)?;
    let ctx = pollster::block_on(GpuContext::with_fallback(instance, None, backend.is_none()))?;
    let mut rows = Vec::new();
    let mut meter = Meter::default();
    for (i, st) in states.iter().enumerate() {
        eprintln!("bench {}/{}: {}", i + 1, states.len(), st.label);
        let o = Options {
            time: Some(0.0),
            ..Options::new(size.0, size.1)
        };
        let mut session = Session::new(&ctx, &st.settings, &o)?;
        meter.reset();
        let start = Instant::now();
        let mut last: Option<Instant> = None;
        while !meter.done(start.elapsed().as_secs_f64(), seconds) {
            let now = Instant::now();
            let dt = last.map_or(0.0, |l| now.duration_since(l).as_secs_f64().min(0.25));
            let gap = last.map(|l| now.duration_since(l).as_secs_f64() * 1000.0);
            last = Some(now);
            session.frame(dt)?;
            let [sim, prepare, draw] = session.split;
            meter.frame(gap, sim, prepare, draw);
        }
        let banks = session
            .host
            .scene()
            .memory()
            .map_or(0, |v| v.map.banks as u64);
        let particles = session.host.renderer().particle_pool();
        rows.push(meter.row(st, banks, particles, 60.0));
    }
    Ok(BenchReport {
        adapter: ctx.adapter_name.clone(),
        mode: "headless".into(),
        width: size.0,
        height: size.1,
        refresh_hz: 60.0,
        seconds_per_state: seconds,
        rows,
    })
}
