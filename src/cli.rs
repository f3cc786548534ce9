//! The command line: clap definitions and the text commands (`calc`, `list`). Every bad input becomes
//! one `UsageError` line and exit status 2.

use crate::calc::{self, units, Dtype, Model, Policy};
use crate::catalog::{self, Catalog, CatalogError, Gpu};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use thiserror::Error;

/// A problem with what the user asked for: printed as one line, exit status 2.
#[derive(Debug, Error)]
pub enum UsageError {
    #[error("{0}")]
    Render(#[from] crate::render::RenderError),
    #[error("{0}")]
    App(#[from] crate::app::AppError),
    #[error("{0}")]
    Parallel(#[from] crate::calc::engine::ParallelError),
    #[error("{0}")]
    Catalog(#[from] CatalogError),
    #[error("{0}")]
    Invalid(String),
    #[error("cannot write output: {0}")]
    Output(String),
}

#[derive(Debug, Parser)]
#[command(
    name = "kvscope",
    version,
    about = "How LLM inference fills GPU memory with the KV cache",
    long_about = None
)]
pub struct Cli {
    /// Read gpus.toml / models.toml from this directory instead of the built-in catalog.
    #[arg(long, global = true, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Without a command: the window, with `run`'s flags (`kvscope --fa` = `kvscope run --fa`).
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute the memory a model needs on a GPU, with the derivation.
    Calc(CalcArgs),
    /// List the catalog.
    List(ListArgs),
    /// The reference tables of seed 002, recomputed, with a note on every cell the seed got wrong.
    Table(TableArgs),
    /// Open the window (the default when no command is given).
    Run(RunArgs),
    /// Render one frame (or N frames, timed) headless to a PNG.
    Render(RenderArgs),
    /// The venue check: play every state of the frame-rate matrix in the window (or headless) and
    /// print each one's frame times, where the time goes, and whether it keeps up with the display.
    Bench(BenchArgs),
}

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Model, GPU and numbers (each state sets its own techniques, batch, context and speed).
    #[command(flatten)]
    pub state: StateArgs,
    /// Window size in logical pixels (headless: the image size in physical pixels).
    #[arg(long, value_name = "WxH", value_parser = parse_size, default_value = "1920x1080")]
    pub size: (u32, u32),
    /// Seconds each state plays.
    #[arg(long, value_name = "S", default_value_t = 5.0, value_parser = parse_seconds)]
    pub seconds: f64,
    /// Render offscreen instead of in a window (no display needed).
    #[arg(long)]
    pub headless: bool,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// Graphics backend: auto, vulkan, gl, metal, dx12 (WGPU_BACKEND also works).
    #[arg(long, value_name = "B")]
    pub backend: Option<String>,
}

/// The scene's state: model and numbers plus the techniques and the clock.
#[derive(Debug, Clone, Args)]
pub struct SceneArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// Continuous batching.
    #[arg(long)]
    pub cb: bool,
    /// Paged attention (pages of --block-size tokens).
    #[arg(long)]
    pub pa: bool,
    /// Flash attention.
    #[arg(long)]
    pub fa: bool,
    /// Playback speed: 0.5 1 2 5 10 20 50 100.
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed)]
    pub speed: f64,
    /// Start paused.
    #[arg(long)]
    pub paused: bool,
    /// Stop at the end of the sweep instead of starting over.
    #[arg(long)]
    pub hold: bool,
    /// Seed for the random choices (sequence lengths, arrivals).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Graphics backend: auto, vulkan, gl, metal, dx12 (WGPU_BACKEND also works).
    #[arg(long, value_name = "B")]
    pub backend: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub scene: SceneArgs,
    /// Start fullscreen (kiosk).
    #[arg(long)]
    pub fullscreen: bool,
    /// Exit after N frames drawn as fast as they can be, and print the median time between them
    /// (measurements; the window is otherwise paced to the display's refresh rate).
    #[arg(long, value_name = "N", value_parser = parse_frames)]
    pub frames: Option<u64>,
    /// Exit after this many seconds, paced as in normal use, and print the median frame time.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, conflicts_with = "frames")]
    pub seconds: Option<f64>,
    /// When the run ends (--frames, --seconds), write the frame the window shows to this PNG.
    #[arg(long, value_name = "FILE")]
    pub screenshot: Option<PathBuf>,
    /// Window size in logical pixels.
    #[arg(long, value_name = "WxH", value_parser = parse_size, default_value = "1600x900")]
    pub size: (u32, u32),
    /// How frames reach the window: auto (copy on a software adapter), surface (a wgpu swapchain)
    /// or copy (read back and shown through shared memory).
    #[arg(long, value_name = "MODE", default_value = "auto")]
    pub present: crate::app::present::PresentMode,
}

#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub scene: SceneArgs,
    /// Output PNG.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Image size in physical pixels.
    #[arg(long, value_name = "WxH", value_parser = parse_size, default_value = "1920x1080")]
    pub size: (u32, u32),
    /// Scale factor (physical px per logical px), as on a high-DPI screen.
    #[arg(long, value_name = "F", default_value_t = 1.0, value_parser = parse_scale)]
    pub scale: f32,
    /// Seconds of play from the start at --speed (default: the end of the sweep, every sequence full).
    #[arg(long, value_name = "SECONDS", value_parser = parse_time)]
    pub time: Option<f64>,
    /// Render N consecutive frames (1/60 s apart) and print the median frame time.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub frames: u64,
}

/// Largest image or window side accepted.
pub const MAX_SIDE: u32 = 16_384;

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("'{s}' is not WIDTHxHEIGHT"))?;
    let w: u32 = w
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not WIDTHxHEIGHT"))?;
    let h: u32 = h
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not WIDTHxHEIGHT"))?;
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(format!("'{s}': each side must be 1..={MAX_SIDE} pixels"));
    }
    Ok((w, h))
}

fn parse_scale(s: &str) -> Result<f32, String> {
    let f: f32 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    if !(0.25..=8.0).contains(&f) {
        return Err(format!("'{s}' must be between 0.25 and 8"));
    }
    Ok(f)
}

fn parse_time(s: &str) -> Result<f64, String> {
    let f: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds"))?;
    if !(0.0..=1e9).contains(&f) {
        return Err(format!("'{s}' must be between 0 and 1e9 seconds"));
    }
    Ok(f)
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    let f = parse_time(s)?;
    if f <= 0.0 {
        return Err(format!("'{s}' must be more than 0 seconds"));
    }
    Ok(f)
}

fn parse_frames(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("'{s}' is not a whole number of frames (1 or more)")),
    }
}

fn parse_speed(s: &str) -> Result<f64, String> {
    let f: f64 = s
        .trim()
        .trim_end_matches(['x', 'X'])
        .parse()
        .map_err(|_| format!("'{s}' is not a speed"))?;
    if !crate::sim::SPEEDS.contains(&f) {
        return Err(format!("'{s}' is not one of 0.5 1 2 5 10 20 50 100"));
    }
    Ok(f)
}

/// Parses the command line. `kvscope [run flags]` opens the window like `kvscope run [run flags]`;
/// run flags given before another command (`kvscope --fa calc`) are refused, not ignored.
pub fn parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    let mut cmd = Cli::command();
    let m = cmd.try_get_matches_from_mut(args)?;
    if let Some((name, _)) = m.subcommand() {
        let given = m.ids().find(|id| {
            id.as_str() != "catalog"
                && m.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine)
        });
        if let Some(id) = given {
            return Err(cmd.error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "the command '{name}' cannot be used with '--{}' before it",
                    id.as_str().replace('_', "-")
                ),
            ));
        }
    }
    Cli::from_arg_matches(&m).map_err(|e| e.format(&mut cmd))
}

/// The settings a state's flags describe (shared by `calc` and the scene commands); the batch is
/// left at the scene's default.
pub fn state_settings(cat: &Catalog, a: &StateArgs) -> Result<crate::sim::Settings, UsageError> {
    use std::sync::Arc;
    let (model, gpu) = resolve(cat, a)?;
    let mut s = crate::sim::Settings::new(Arc::new(model), Arc::new(gpu));
    s.context = a.context;
    s.kv_dtype = a.kv_dtype;
    s.weight_dtype = a.weight_dtype;
    s.skip_weights = a.skip_weights;
    s.gpu_util = a.gpu_util;
    s.engine = a.engine;
    s.block_tokens = a.block_size.unwrap_or(a.engine.default_block_tokens());
    s.tp = a.tp;
    s.pp = a.pp;
    s.max_num_batched_tokens = a.max_num_batched_tokens;
    s.max_num_seqs = a.max_num_seqs;
    if a.tp.is_some() || a.pp > 1 {
        crate::calc::engine::check_parallel(&s.model, a.tp.unwrap_or(1), a.pp)?;
    }
    Ok(s)
}

/// Settings for the scene commands.
pub fn scene_settings(cat: &Catalog, a: &SceneArgs) -> Result<crate::sim::Settings, UsageError> {
    let mut s = state_settings(cat, &a.state)?;
    s.batch = a.state.batch.unwrap_or(4).min(crate::sim::MAX_SCENE_BATCH);
    s.cb = a.cb;
    s.pa = a.pa;
    s.fa = a.fa;
    s.speed = a.speed;
    s.paused = a.paused;
    s.seed = a.seed;
    s.hold = a.hold;
    if a.state.batch.unwrap_or(4) > crate::sim::MAX_SCENE_BATCH {
        return Err(UsageError::Invalid(format!(
            "--batch {} is more than the {} sequences the scene draws (kvscope calc takes up to {MAX_BATCH})",
            a.state.batch.unwrap_or(0),
            crate::sim::MAX_SCENE_BATCH
        )));
    }
    Ok(s)
}

/// Which model and what state: shared by every command that shows a state.
#[derive(Debug, Clone, Args)]
pub struct StateArgs {
    /// Catalog id (`llama-3.1-70b`) or Hugging Face repo id (`meta-llama/Llama-3.1-70B`).
    #[arg(long, value_name = "ID", conflicts_with = "config")]
    pub model: Option<String>,
    /// A Hugging Face config.json to import instead of a catalog model.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// GPU id (see `kvscope list gpus`).
    #[arg(long, value_name = "ID", default_value = "h100")]
    pub gpu: String,
    /// Context per sequence: digits, or 128K (= 131,072) / 1M (= 1,000,000).
    #[arg(long, value_name = "N", default_value = "128K", value_parser = parse_context, allow_hyphen_values = true)]
    pub context: u64,
    /// Sequences in the batch [default: 1 for calc, 4 for the scene].
    #[arg(long, value_name = "N", value_parser = parse_batch, allow_hyphen_values = true)]
    pub batch: Option<u64>,
    /// KV cache dtype: fp32 fp16 bf16 fp8 int8 int4 (default: the model's compute dtype).
    #[arg(long, value_name = "D", value_parser = parse_kv_dtype)]
    pub kv_dtype: Option<Dtype>,
    /// Weight dtype: fp32 fp16 bf16 fp8 int8 int4 mxfp4 (default: the checkpoint's own).
    #[arg(long, value_name = "D", value_parser = parse_weight_dtype)]
    pub weight_dtype: Option<Dtype>,
    /// Leave the weights out of the memory (they live elsewhere).
    #[arg(long)]
    pub skip_weights: bool,
    /// The engine's utilization: vLLM --gpu-memory-utilization (default 0.9), SGLang
    /// --mem-fraction-static (default: its rule for the GPU and TP).
    #[arg(long, value_name = "F", value_parser = parse_util)]
    pub gpu_util: Option<f64>,
    /// Tokens per KV page (vLLM --block-size, default 16; SGLang --page-size, default 1).
    #[arg(long, value_name = "N", value_parser = parse_block)]
    pub block_size: Option<u64>,
    /// Whose startup rules size the cache: vllm or sglang.
    #[arg(long, value_name = "E", default_value = "vllm", value_parser = parse_engine)]
    pub engine: calc::Engine,
    /// Tensor-parallel degree (must divide the attention heads); default: capacity on one GPU.
    #[arg(long, value_name = "N", value_parser = parse_parallel)]
    pub tp: Option<u64>,
    /// Pipeline-parallel degree.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = parse_parallel)]
    pub pp: u64,
    /// vLLM --max-num-batched-tokens (the profiling run; default as `vllm serve`: 8192 on GPUs of
    /// 70 GiB and more other than A100s, else 2048).
    #[arg(long, value_name = "N", value_parser = parse_positive)]
    pub max_num_batched_tokens: Option<u64>,
    /// vLLM --max-num-seqs (default 1024 or 256, as above).
    #[arg(long, value_name = "N", value_parser = parse_positive)]
    pub max_num_seqs: Option<u64>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PolicyArg {
    Static,
    Continuous,
    Paged,
}

impl From<PolicyArg> for Policy {
    fn from(p: PolicyArg) -> Policy {
        match p {
            PolicyArg::Static => Policy::Static,
            PolicyArg::Continuous => Policy::Continuous,
            PolicyArg::Paged => Policy::Paged,
        }
    }
}

#[derive(Debug, Args)]
pub struct CalcArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// Allocation policy whose bytes count in the total.
    #[arg(long, value_enum, default_value = "paged")]
    pub policy: PolicyArg,
    /// Tokens each sequence holds now (default: the full context). Static batching still reserves
    /// the full context.
    #[arg(long, value_name = "N", value_parser = parse_context, conflicts_with = "lengths")]
    pub tokens: Option<u64>,
    /// Lengths of the sequences, comma separated (sets the batch), e.g. 1000,52000,128K.
    #[arg(long, value_name = "N,N,..", value_delimiter = ',', value_parser = parse_context)]
    pub lengths: Option<Vec<u64>>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TableArgs {
    /// Print one JSON object instead of the tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListWhat {
    Gpus,
    Models,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(value_enum)]
    pub what: ListWhat,
    #[arg(long)]
    pub json: bool,
}

/// Largest context accepted: 10 billion tokens (100M is the seeds' "memory apocalypse").
pub const MAX_CONTEXT: u64 = 10_000_000_000;
/// Largest batch accepted.
pub const MAX_BATCH: u64 = 65_536;

fn parse_context(s: &str) -> Result<u64, String> {
    let n = units::parse_tokens(s).map_err(|e| e.to_string())?;
    if n > MAX_CONTEXT {
        return Err(format!(
            "'{s}' is more than the {} tokens kvscope models",
            units::count(MAX_CONTEXT as u128)
        ));
    }
    Ok(n)
}

fn parse_batch(s: &str) -> Result<u64, String> {
    if s.trim().starts_with('-') {
        return Err(format!(
            "'{s}' is negative; a batch has 1..={MAX_BATCH} sequences"
        ));
    }
    let n: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a whole number of sequences"))?;
    if n == 0 || n > MAX_BATCH {
        return Err(format!("'{s}' is outside 1..={MAX_BATCH}"));
    }
    Ok(n)
}

fn parse_engine(s: &str) -> Result<calc::Engine, String> {
    calc::Engine::parse(s).ok_or_else(|| format!("unknown engine '{s}' (use vllm or sglang)"))
}

/// Largest tensor- or pipeline-parallel degree accepted.
pub const MAX_PARALLEL: u64 = 65_536;

fn parse_parallel(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if (1..=MAX_PARALLEL).contains(&n) => Ok(n),
        _ => Err(format!("'{s}' is not a degree in 1..={MAX_PARALLEL}")),
    }
}

fn parse_positive(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if (1..=1 << 24).contains(&n) => Ok(n),
        _ => Err(format!("'{s}' is not a whole number in 1..=16,777,216")),
    }
}

/// Largest page accepted, in tokens.
pub const MAX_BLOCK: u64 = 1024;

fn parse_block(s: &str) -> Result<u64, String> {
    let n: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a whole number of tokens"))?;
    if n == 0 || n > MAX_BLOCK {
        return Err(format!("'{s}' is outside 1..={MAX_BLOCK} tokens per page"));
    }
    Ok(n)
}

fn parse_util(s: &str) -> Result<f64, String> {
    let f: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    if !(f > 0.0 && f <= 1.0) {
        return Err(format!("'{s}' must be in (0, 1]"));
    }
    Ok(f)
}

fn parse_kv_dtype(s: &str) -> Result<Dtype, String> {
    match Dtype::parse(s) {
        Some(Dtype::Mxfp4) => Err("mxfp4 is a weight format, not a KV cache format".into()),
        Some(d) => Ok(d),
        None => Err(format!(
            "unknown dtype '{s}' (use fp32, fp16, bf16, fp8, int8 or int4)"
        )),
    }
}

fn parse_weight_dtype(s: &str) -> Result<Dtype, String> {
    Dtype::parse(s).ok_or_else(|| {
        format!("unknown dtype '{s}' (use fp32, fp16, bf16, fp8, int8, int4 or mxfp4)")
    })
}

/// The catalog the command asked for.
pub fn load_catalog(dir: Option<&PathBuf>) -> Result<Catalog, UsageError> {
    Ok(match dir {
        Some(d) => Catalog::load_dir(d)?,
        None => Catalog::builtin()?,
    })
}

/// Resolves model and GPU for a state.
pub fn resolve(cat: &Catalog, s: &StateArgs) -> Result<(Model, Gpu), UsageError> {
    let model = match (&s.model, &s.config) {
        (_, Some(path)) => catalog::import_config(path)?,
        (Some(id), None) => cat.model(id)?.clone(),
        (None, None) => cat.model("llama-3.1-8b")?.clone(),
    };
    let gpu = cat.gpu(&s.gpu)?.clone();
    Ok((model, gpu))
}

pub fn run_calc(cli_catalog: Option<&PathBuf>, a: &CalcArgs) -> Result<String, UsageError> {
    let cat = load_catalog(cli_catalog)?;
    let mut settings = state_settings(&cat, &a.state)?;
    settings.set_policy(a.policy.into());
    let lengths = match &a.lengths {
        Some(l) => {
            if l.len() as u64 > MAX_BATCH {
                return Err(UsageError::Invalid(format!(
                    "--lengths lists {} sequences; at most {MAX_BATCH}",
                    l.len()
                )));
            }
            l.clone()
        }
        None => {
            let t = a.tokens.unwrap_or(a.state.context);
            vec![t; a.state.batch.unwrap_or(1) as usize]
        }
    };
    if let Some(&n) = lengths.iter().find(|&&n| n > a.state.context) {
        return Err(UsageError::Invalid(format!(
            "a sequence of {} tokens is longer than --context {}",
            units::count(n as u128),
            units::count(a.state.context as u128)
        )));
    }
    let w = settings.workload(lengths, None);
    let (model, gpu) = (&settings.model, &settings.gpu);
    let r = calc::report(model, &gpu.device(), &w);
    if a.json {
        serde_json::to_string_pretty(&r)
            .map(|s| s + "\n")
            .map_err(|e| UsageError::Output(e.to_string()))
    } else {
        Ok(calc::text::table(&r, model, &gpu.name, &gpu.memory_label))
    }
}

pub fn run_list(cli_catalog: Option<&PathBuf>, a: &ListArgs) -> Result<String, UsageError> {
    let cat = load_catalog(cli_catalog)?;
    let out = match (a.what, a.json) {
        (ListWhat::Gpus, true) => serde_json::to_string_pretty(&cat.gpus),
        (ListWhat::Models, true) => serde_json::to_string_pretty(&cat.models),
        (ListWhat::Gpus, false) => {
            let mut s = format!(
                "{:<11} {:<44} {:>10} {:<7} {:>4} {:>11}\n",
                "id", "name", "memory", "type", "pkgs", "bandwidth"
            );
            for g in &cat.gpus {
                s.push_str(&format!(
                    "{:<11} {:<44} {:>10} {:<7} {:>4} {:>11}\n",
                    g.id,
                    g.name,
                    units::bytes(g.memory_bytes as u128),
                    g.memory_type.name(),
                    g.packages,
                    g.bandwidth
                        .map(|b| format!("{:.0} GB/s", b / 1e9))
                        .unwrap_or_else(|| "-".into())
                ));
            }
            Ok(s)
        }
        (ListWhat::Models, false) => {
            let mut s = format!(
                "{:<20} {:<34} {:>9} {:>9} {:>7} {:>12}  {}\n",
                "id", "hf repo", "params", "active", "layers", "KV/token", "attention"
            );
            for m in &cat.models {
                let kv = calc::report::kv_bytes_per_token(m, m.weights.default_kv_dtype());
                s.push_str(&format!(
                    "{:<20} {:<34} {:>9} {:>9} {:>7} {:>12}  {}\n",
                    m.id,
                    m.hf_repo.as_deref().unwrap_or("-"),
                    units::params(m.params.total),
                    units::params(m.params.active),
                    m.layers.len(),
                    units::bytes(kv),
                    calc::text::attention_summary(m)
                ));
            }
            Ok(s)
        }
    };
    out.map_err(|e| UsageError::Output(e.to_string()))
}

pub fn run_table(cli_catalog: Option<&PathBuf>, a: &TableArgs) -> Result<String, UsageError> {
    use calc::tables;
    let cat = load_catalog(cli_catalog)?;
    let models = tables::SEED_FP16
        .iter()
        .map(|(id, _, _)| cat.model(id))
        .collect::<Result<Vec<_>, _>>()?;
    let llama70 = cat.model("llama-3.1-70b")?;
    let h100 = cat.gpu("h100")?.device();
    let t = tables::build(&models, llama70, &h100);
    if a.json {
        return serde_json::to_string_pretty(&t)
            .map(|s| s + "\n")
            .map_err(|e| UsageError::Output(e.to_string()));
    }
    let mut notes = Vec::new();
    let mut out = fp16_table(&t, &mut notes);
    out.push_str(&dtype_table(&t, &mut notes));
    out.push_str("\nH100 counts are the calculator's: the GPUs whose vLLM budget (79.19 GiB x 0.9, less activation and non-torch memory) holds the cache alone, as the seed counts, or with the weights. The seed divides the cache by 80 GiB: its counts are right by that rule, which leaves the engine no room.\n");
    for n in notes {
        out.push_str(&format!("- {n}\n"));
    }
    Ok(out)
}

/// A cell of `kvscope table`, with the seed's value where the seed got it wrong.
fn table_cell(c: &calc::tables::Cell) -> String {
    if c.seed_wrong {
        format!("{} (seed: {})", units::bytes(c.bytes), c.seed)
    } else {
        units::bytes(c.bytes)
    }
}

/// The seed's fp16 table, recomputed; rows' notes go to `notes`.
fn fp16_table(t: &calc::tables::Tables, notes: &mut Vec<String>) -> String {
    let cell = table_cell;
    let mut out = String::from(
        "KV cache in fp16 (seed 002, \"Standard FP16 Precision\"; 128K = 131,072 tokens, 1M = 1,000,000)\n",
    );
    out.push_str(&format!(
        "{:<15} {:>26} {:>11} {:>26} {:>27} {:>13} {:>13}\n",
        "model", "128K", "1M", "2M", "10M", "H100s @10M", "with weights"
    ));
    for r in &t.fp16 {
        let seed = if r.h100s_kv_alone != r.seed_h100s {
            format!("{} (seed: {})", r.h100s_kv_alone, r.seed_h100s)
        } else {
            r.h100s_kv_alone.to_string()
        };
        out.push_str(&format!(
            "{:<15} {:>26} {:>11} {:>26} {:>27} {:>13} {:>13}\n",
            r.name,
            cell(&r.cells[0]),
            cell(&r.cells[1]),
            cell(&r.cells[2]),
            cell(&r.cells[3]),
            seed,
            units::count(r.h100s_with_weights as u128)
        ));
        if !r.note.is_empty() {
            notes.push(format!("{}: {}", r.name, r.note));
        }
    }
    out
}

/// The seed's KV-dtype table, recomputed; rows' notes go to `notes`.
fn dtype_table(t: &calc::tables::Tables, notes: &mut Vec<String>) -> String {
    let cell = table_cell;
    let mut out = String::new();
    out.push_str(
        "\nLlama 3.1 70B at 1,000,000 tokens by KV dtype (seed 002, \"Impact of Data Types\")\n",
    );
    out.push_str(&format!(
        "{:<6} {:>22} {:>11} {:>13} {:>22}\n",
        "dtype", "KV cache", "H100s", "with weights", "reduction"
    ));
    for r in &t.dtypes {
        let h = if r.h100s_kv_alone != r.seed_h100s {
            format!("{} (seed: {})", r.h100s_kv_alone, r.seed_h100s)
        } else {
            r.h100s_kv_alone.to_string()
        };
        let red = if (r.reduction - r.seed_reduction).abs() > 0.05 {
            format!("{:.1}% (seed: {}%)", r.reduction, r.seed_reduction)
        } else {
            format!("{:.1}%", r.reduction)
        };
        out.push_str(&format!(
            "{:<6} {:>22} {:>11} {:>13} {:>22}\n",
            r.kv_dtype.name(),
            cell(&r.cell),
            h,
            r.h100s_with_weights,
            red
        ));
        if !r.note.is_empty() {
            notes.push(format!("{}: {}", r.kv_dtype.name(), r.note));
        }
    }
    out
}

pub fn run_render(cli_catalog: Option<&PathBuf>, a: &RenderArgs) -> Result<String, UsageError> {
    let cat = load_catalog(cli_catalog)?;
    let settings = scene_settings(&cat, &a.scene)?;
    if a.out.is_none() && a.frames <= 1 {
        return Err(UsageError::Invalid(
            "render needs --out FILE.png (or --frames N to time frames)".into(),
        ));
    }
    let o = crate::app::headless::Options {
        width: a.size.0,
        height: a.size.1,
        scale: a.scale,
        time: a.time,
        frames: a.frames,
        out: a.out.clone(),
        backend: a.scene.backend.clone(),
        particles: None,
        layered: None,
        budgeted: None,
    };
    let r = crate::app::headless::run(&settings, &o)?;
    let mut out = String::new();
    if let Some(p) = &a.out {
        out.push_str(&format!(
            "wrote {} ({}x{}, {} banks)\n",
            p.display(),
            a.size.0,
            a.size.1,
            r.banks
        ));
    }
    if a.frames > 1 {
        out.push_str(&format!(
            "{} frames at {}x{} on {} ({} banks): median {:.2} ms/frame ({:.1} fps), of which {:.3} ms CPU prepare\n",
            a.frames,
            a.size.0,
            a.size.1,
            r.adapter,
            r.banks,
            r.median_ms(),
            1000.0 / r.median_ms().max(1e-6),
            r.median_prepare_ms()
        ));
    }
    Ok(out)
}

pub fn run_bench(cli_catalog: Option<&PathBuf>, a: &BenchArgs) -> Result<String, UsageError> {
    let cat = load_catalog(cli_catalog)?;
    let base = state_settings(&cat, &a.state)?;
    let states = crate::app::bench::states(&base);
    if a.headless {
        let report = crate::app::headless::bench(&states, a.size, a.seconds, a.backend.as_deref())?;
        return Ok(if a.json {
            serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
        } else {
            crate::app::bench::table(&report)
        });
    }
    let opts = crate::app::RunOptions {
        fullscreen: false,
        frames: None,
        seconds: None,
        screenshot: None,
        size: a.size,
        backend: a.backend.clone(),
        present: crate::app::present::PresentMode::Auto,
        bench: Some(crate::app::BenchOptions {
            states,
            seconds: a.seconds,
            json: a.json,
        }),
    };
    Ok(crate::app::run(base, cat, opts)?)
}

pub fn run_window(cli_catalog: Option<&PathBuf>, a: &RunArgs) -> Result<String, UsageError> {
    if a.screenshot.is_some() && a.frames.is_none() && a.seconds.is_none() {
        return Err(UsageError::Invalid(
            "--screenshot needs --frames N or --seconds S (it writes the frame shown when the run ends)"
                .into(),
        ));
    }
    let cat = load_catalog(cli_catalog)?;
    let settings = scene_settings(&cat, &a.scene)?;
    let opts = crate::app::RunOptions {
        fullscreen: a.fullscreen,
        frames: a.frames,
        seconds: a.seconds,
        screenshot: a.screenshot.clone(),
        size: a.size,
        backend: a.scene.backend.clone(),
        present: a.present,
        bench: None,
    };
    Ok(crate::app::run(settings, cat, opts)?)
}
