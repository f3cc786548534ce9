//! The app hosts a scene: in a window (a winit `ApplicationHandler` turning input into `Action`s on
//! the settings, stepping the clock by measured time) or headless (`headless`, for `kvscope
//! render` and tests), through the same scene view and renderer. Resizes, minimizing, zero-size
//! windows and lost or outdated surfaces are handled, never panics.

pub mod actions;
pub mod bench;
pub mod headless;
pub mod host;
pub mod present;
pub mod stats;

use crate::catalog::Catalog;
use crate::frame::Target;
use crate::render::context::{self, GpuContext, RenderError};
use crate::render::{readback, Renderer};
use crate::scenes::SceneId;
use crate::sim::{Settings, Sim};
use actions::{action_for, apply, Effect};
use bench::{BenchReport, BenchRow, BenchState, Meter};
use host::Host;
use present::{Drawn, PresentError, PresentMode, Presenter};
use stats::Samples;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use thiserror::Error;
use winit::application::ApplicationHandler;
use winit::dpi::LogicalSize;
use winit::event::{ElementState, WindowEvent};
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop};
use winit::keyboard::ModifiersState;
use winit::window::{Fullscreen, Window, WindowId};

/// Why the window could not run.
#[derive(Debug, Error)]
pub enum AppError {
    #[error(
        "cannot open a window: {0} (is a display available? set DISPLAY, or use `kvscope render`)"
    )]
    EventLoop(String),
    #[error("cannot create a window: {0}")]
    Window(String),
    #[error("cannot create a surface: {0}")]
    Surface(String),
    #[error("window event loop failed: {0}")]
    Run(String),
    #[error("the window showed no frame to write as a screenshot")]
    NoFrame,
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Present(#[from] PresentError),
}

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub fullscreen: bool,
    /// Exit after this many frames, drawn as fast as they can be (measurements).
    pub frames: Option<u64>,
    /// Exit after this many seconds, paced to the display as in normal use.
    pub seconds: Option<f64>,
    /// Write the frame on the window when the run ends to this PNG.
    pub screenshot: Option<PathBuf>,
    pub size: (u32, u32),
    pub backend: Option<String>,
    pub present: PresentMode,
    /// Play these states one after another, measuring each (`kvscope bench`).
    pub bench: Option<BenchOptions>,
}

/// What `kvscope bench` plays in the window.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    pub states: Vec<BenchState>,
    pub seconds: f64,
    pub json: bool,
}

/// A bench run in progress: the state playing, since when, and the rows so far.
struct BenchRun {
    opts: BenchOptions,
    index: usize,
    since: Instant,
    meter: Meter,
    rows: Vec<BenchRow>,
}

static LAUNCHED: OnceLock<Instant> = OnceLock::new();

/// Notes the moment the program started (call first thing in `main`); the window reports its
/// first frame on screen against it.
pub fn mark_launch() {
    LAUNCHED.get_or_init(Instant::now);
}

fn launched() -> Instant {
    *LAUNCHED.get_or_init(Instant::now)
}

struct Gfx {
    window: Arc<Window>,
    presenter: Presenter,
    ctx: GpuContext,
    host: Host,
}

struct App {
    settings: Settings,
    catalog: Catalog,
    opts: RunOptions,
    gfx: Option<Gfx>,
    error: Option<AppError>,
    /// The simulation (advances by dt x speed while playing).
    sim: Sim,
    /// Seconds of animation (advances by dt while playing; freezes when paused).
    anim_time: f64,
    last: Option<Instant>,
    frames: u64,
    /// Time between frames, recorded only for a run of `--frames` or `--seconds` (the last
    /// `stats::KEPT`, in room allocated once).
    frame_ms: Samples,
    /// This frame's time stepping the simulation, ms.
    sim_ms: f64,
    /// Milliseconds from launch to the first frame on screen.
    first_frame_ms: Option<f64>,
    bench: Option<BenchRun>,
    modifiers: ModifiersState,
    started: Instant,
    /// When the next frame is due (paced runs).
    next_frame: Instant,
    /// The run is over; waiting for the screenshot's frame to reach the window.
    finishing: bool,
    /// Frames drawn while finishing.
    finish_frames: u32,
}

/// Opens the window and runs until it is closed (or `frames` frames are drawn).
pub fn run(settings: Settings, catalog: Catalog, opts: RunOptions) -> Result<String, AppError> {
    let event_loop = EventLoop::new().map_err(|e| AppError::EventLoop(e.to_string()))?;
    event_loop.set_control_flow(ControlFlow::Poll);
    let mut settings = settings;
    let bench = opts.bench.clone().map(|b| {
        if let Some(first) = b.states.first() {
            settings = first.settings.clone();
        }
        BenchRun {
            opts: b,
            index: 0,
            since: Instant::now(),
            meter: Meter::default(),
            rows: Vec::new(),
        }
    });
    let sim = Sim::new(&settings);
    let now = Instant::now();
    let mut app = App {
        sim,
        settings,
        catalog,
        opts,
        gfx: None,
        error: None,
        anim_time: 0.0,
        last: None,
        frames: 0,
        frame_ms: Samples::new(stats::KEPT),
        sim_ms: 0.0,
        first_frame_ms: None,
        bench,
        modifiers: ModifiersState::default(),
        started: now,
        next_frame: now,
        finishing: false,
        finish_frames: 0,
    };
    event_loop
        .run_app(&mut app)
        .map_err(|e| AppError::Run(e.to_string()))?;
    if let Some(e) = app.error {
        return Err(e);
    }
    Ok(app.summary())
}

impl App {
    /// What the run prints: the bench's table (or JSON), or the frame times of a measured run.
    fn summary(&self) -> String {
        if let Some(b) = &self.bench {
            let report = BenchReport {
                adapter: self
                    .gfx
                    .as_ref()
                    .map(|g| g.ctx.adapter_name.clone())
                    .unwrap_or_default(),
                mode: "window".into(),
                width: self.gfx.as_ref().map_or(0, |g| g.presenter.size().0),
                height: self.gfx.as_ref().map_or(0, |g| g.presenter.size().1),
                refresh_hz: 1.0 / self.frame_interval().as_secs_f64(),
                seconds_per_state: b.opts.seconds,
                rows: b.rows.clone(),
            };
            return if b.opts.json {
                serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
            } else {
                bench::table(&report)
            };
        }
        let mut out = String::new();
        if let (Some(med), Some(p95)) = (self.frame_ms.median(), self.frame_ms.p95()) {
            out.push_str(&format!(
                "{} frames: median {:.2} ms between frames ({:.1} fps), p95 {:.2} ms ({:.2}x the median)\n",
                self.frames,
                med,
                1000.0 / med.max(1e-6),
                p95,
                p95 / med.max(1e-6)
            ));
            if let Some(first) = self.first_frame_ms {
                out.push_str(&format!(
                    "first frame on screen {first:.0} ms after launch\n"
                ));
            }
        }
        out
    }

    /// After a bench frame: its numbers to the state's meter, and the next state when this one
    /// has played long enough (the last one ends the run).
    fn bench_frame(&mut self, el: &ActiveEventLoop, gap: Option<f64>, prepare: f64, draw: f64) {
        let refresh = 1.0 / self.frame_interval().as_secs_f64();
        let Some(b) = &mut self.bench else {
            return;
        };
        if b.index == 0 && b.meter.frames == 0 {
            // The first state starts with the first frame on screen, not with the window.
            eprintln!(
                "bench 1/{}: {}",
                b.opts.states.len(),
                b.opts.states[0].label
            );
            b.since = Instant::now();
        }
        b.meter.frame(gap, self.sim_ms, prepare, draw);
        if !b
            .meter
            .done(b.since.elapsed().as_secs_f64(), b.opts.seconds)
        {
            return;
        }
        let Some(g) = &self.gfx else {
            return;
        };
        let banks = g.host.scene().memory().map_or(0, |v| v.map.banks as u64);
        let particles = g.host.renderer().particle_pool();
        let st = &b.opts.states[b.index];
        b.rows.push(b.meter.row(st, banks, particles, refresh));
        b.index += 1;
        let Some(next) = b.opts.states.get(b.index) else {
            el.exit();
            return;
        };
        eprintln!(
            "bench {}/{}: {}",
            b.index + 1,
            b.opts.states.len(),
            next.label
        );
        self.settings = next.settings.clone();
        self.sim = Sim::new(&self.settings);
        self.anim_time = 0.0;
        self.last = None;
        b.meter.reset();
        b.since = Instant::now();
    }

    /// Normal use draws at the display's refresh rate (a kiosk should not burn its cores on frames
    /// nobody sees); a run of `--frames` draws as fast as it can, for measurements.
    fn paced(&self) -> bool {
        self.opts.frames.is_none() && self.bench.is_none()
    }

    /// Seconds between frames at the display's refresh rate (60 Hz when it does not say).
    fn frame_interval(&self) -> std::time::Duration {
        let mhz = self
            .gfx
            .as_ref()
            .and_then(|g| g.window.current_monitor())
            .and_then(|m| m.refresh_rate_millihertz())
            .filter(|&m| (1_000..=1_000_000).contains(&m))
            .unwrap_or(60_000);
        std::time::Duration::from_secs_f64(1000.0 / mhz as f64)
    }

    fn init(&mut self, el: &ActiveEventLoop) -> Result<(), AppError> {
        let mut attrs = Window::default_attributes()
            .with_title("kvscope")
            .with_inner_size(LogicalSize::new(
                self.opts.size.0 as f64,
                self.opts.size.1 as f64,
            ))
            .with_min_inner_size(LogicalSize::new(320.0, 240.0));
        if self.opts.fullscreen {
            attrs = attrs.with_fullscreen(Some(Fullscreen::Borderless(None)));
        }
        let window = Arc::new(
            el.create_window(attrs)
                .map_err(|e| AppError::Window(e.to_string()))?,
        );
        let instance = context::instance(
            self.opts.backend.as_deref(),
            Some(Box::new(el.owned_display_handle())),
        )?;
        let surface = instance
            .create_surface(window.clone())
            .map_err(|e| AppError::Surface(e.to_string()))?;
        let ctx = pollster::block_on(GpuContext::new(instance, Some(&surface)))?;
        let ms = |t: Instant| t.elapsed().as_secs_f64() * 1000.0;
        log::info!("launch: adapter and device after {:.0} ms", ms(launched()));
        let readable = self.opts.screenshot.is_some();
        let copy = match self.opts.present {
            PresentMode::Auto => ctx.software,
            PresentMode::Surface => false,
            PresentMode::Copy => true,
        };
        let presenter = if copy {
            match Presenter::copy(&ctx, window.clone()) {
                Ok(p) => {
                    drop(surface);
                    p
                }
                Err(e) if self.opts.present == PresentMode::Auto => {
                    log::warn!("{e}; presenting through the surface");
                    Presenter::surface(&ctx, window.clone(), surface, readable)?
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            Presenter::surface(&ctx, window.clone(), surface, readable)?
        };
        let size = window.inner_size();
        let format = presenter.format;
        let cached = ctx.software && presenter.allows_copies();
        let mut renderer = Renderer::new(
            &ctx.device,
            &ctx.queue,
            format,
            crate::render::particles::pool_for(ctx.software),
        );
        renderer.set_cached(cached);
        if cached {
            renderer.set_bank_budget(Some(Renderer::SOFTWARE_BANK_BUDGET));
        }
        log::info!("launch: pipelines built after {:.0} ms", ms(launched()));
        log::info!(
            "window {}x{} @{} on {}, presented by {}",
            size.width,
            size.height,
            window.scale_factor(),
            ctx.adapter_name,
            presenter.name()
        );
        self.gfx = Some(Gfx {
            window,
            presenter,
            ctx,
            host: Host::new(renderer, SceneId::Memory),
        });
        Ok(())
    }

    fn resize(&mut self, w: u32, h: u32) {
        if let Some(g) = &mut self.gfx {
            g.presenter.resize(&g.ctx, w, h);
        }
    }

    /// Steps the clocks by the time since the last frame (recorded for measurements) and sets when
    /// the next frame is due. Returns the time since the last frame, ms.
    fn tick(&mut self) -> Option<f64> {
        let now = Instant::now();
        let gap = self
            .last
            .map(|l| now.duration_since(l).as_secs_f64())
            .unwrap_or(0.0);
        let measuring = self.opts.frames.is_some() || self.opts.seconds.is_some();
        let had_last = self.last.is_some();
        if had_last && measuring {
            // The real gap, however long: a stall is what a measurement must see.
            self.frame_ms.push(gap * 1000.0);
        }
        self.last = Some(now);
        if self.paced() {
            let next = self.next_frame + self.frame_interval();
            self.next_frame = next.max(now);
        }
        // The clock steps at most a quarter second a frame (a stalled window does not jump).
        let dt = gap.min(0.25);
        if !self.settings.paused {
            self.anim_time += dt;
        }
        let t = Instant::now();
        self.sim.advance(dt);
        self.sim_ms = t.elapsed().as_secs_f64() * 1000.0;
        had_last.then_some(gap * 1000.0)
    }

    fn frame(&mut self, el: &ActiveEventLoop) {
        let gap = self.tick();
        let Some(g) = &mut self.gfx else {
            return;
        };
        let (w, h) = g.presenter.size();
        if w == 0 || h == 0 {
            return;
        }
        // Is this the run's last frame? Then its pixels become the screenshot.
        let last = self.opts.frames.is_some_and(|n| self.frames + 1 >= n)
            || self
                .opts
                .seconds
                .is_some_and(|s| self.started.elapsed().as_secs_f64() >= s);
        if last && !self.finishing {
            self.finishing = true;
            if self.opts.screenshot.is_some() {
                if let Err(e) = g.presenter.capture_next() {
                    self.error = Some(e.into());
                    el.exit();
                    return;
                }
            }
        }
        let state = self.sim.scene();
        let target = Target {
            width: w,
            height: h,
            scale: g.window.scale_factor() as f32,
        };
        let t = Instant::now();
        g.host
            .prepare(&g.ctx, &state, target, self.anim_time as f32);
        let prepare = t.elapsed().as_secs_f64() * 1000.0;
        let t = Instant::now();
        let host = &g.host;
        let drawn = g.presenter.draw(&g.ctx, |enc, texture, view, retained| {
            host.render_onto(enc, texture, view, retained)
        });
        let draw = t.elapsed().as_secs_f64() * 1000.0;
        if drawn == Drawn::Skipped {
            return;
        }
        if self.first_frame_ms.is_none() {
            let ms = launched().elapsed().as_secs_f64() * 1000.0;
            log::info!("first frame on screen {ms:.0} ms after launch");
            self.first_frame_ms = Some(ms);
        }
        self.frames += 1;
        self.bench_frame(el, gap, prepare, draw);
        if self.finishing {
            self.finish(el);
        }
    }

    /// After the run's last frame: write the screenshot once the window has shown it, and exit.
    fn finish(&mut self, el: &ActiveEventLoop) {
        let Some(g) = &mut self.gfx else {
            return;
        };
        match (&self.opts.screenshot, g.presenter.take_capture()) {
            // The screenshot is the frame the window shows (with the copy presenter, the frame
            // before the one just drawn: the window shows each frame one frame late).
            (Some(path), Some((cw, ch, px))) => {
                if let Err(e) = readback::write_png(path, cw, ch, &px) {
                    self.error = Some(e.into());
                }
                el.exit();
            }
            // Not shown yet (the copy presenter's first frame): the next frame keeps it.
            (Some(_), None) => {
                self.finish_frames += 1;
                if self.finish_frames > 120 {
                    self.error = Some(AppError::NoFrame);
                    el.exit();
                }
            }
            (None, _) => el.exit(),
        }
    }
}

impl ApplicationHandler for App {
    fn resumed(&mut self, el: &ActiveEventLoop) {
        if self.gfx.is_some() {
            return;
        }
        if let Err(e) = self.init(el) {
            self.error = Some(e);
            el.exit();
        }
    }

    fn window_event(&mut self, el: &ActiveEventLoop, _id: WindowId, event: WindowEvent) {
        match event {
            WindowEvent::CloseRequested => el.exit(),
            WindowEvent::Resized(size) => self.resize(size.width, size.height),
            WindowEvent::ScaleFactorChanged { .. } => {
                if let Some(g) = &self.gfx {
                    let s = g.window.inner_size();
                    self.resize(s.width, s.height);
                }
            }
            WindowEvent::ModifiersChanged(m) => self.modifiers = m.state(),
            WindowEvent::KeyboardInput { event, .. } if event.state == ElementState::Pressed => {
                if let Some(a) = action_for(&event.logical_key, self.modifiers.shift_key()) {
                    let effect = apply(&mut self.settings, &self.catalog, a);
                    self.sim.set_settings(&self.settings);
                    match effect {
                        Effect::Restart => self.sim.restart(),
                        Effect::Quit => el.exit(),
                        Effect::Fullscreen => {
                            if let Some(g) = &self.gfx {
                                let fs = if g.window.fullscreen().is_some() {
                                    None
                                } else {
                                    Some(Fullscreen::Borderless(None))
                                };
                                g.window.set_fullscreen(fs);
                            }
                        }
                        Effect::None => {}
                    }
                }
            }
            WindowEvent::RedrawRequested => self.frame(el),
            _ => {}
        }
    }

    fn about_to_wait(&mut self, el: &ActiveEventLoop) {
        let Some(g) = &self.gfx else {
            return;
        };
        if !self.paced() || self.finishing {
            g.window.request_redraw();
            return;
        }
        if Instant::now() >= self.next_frame {
            g.window.request_redraw();
        }
        el.set_control_flow(ControlFlow::WaitUntil(self.next_frame));
    }
}
