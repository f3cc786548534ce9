//! What each panel says: text spans with colours, built from the calculator's report and the memory
//! map. Formatting only; every number comes from `calc`.

use super::layout::{Layout, PanelKind};
use super::map::MemoryMap;
use crate::calc::{text::attention_summary, units, Policy};
pub use crate::frame::Span;
use crate::sim::Scene;
use crate::ui::palette as pal;

#[derive(Clone, Debug, PartialEq)]
pub struct PanelText {
    pub kind: PanelKind,
    pub spans: Vec<Span>,
    pub centered: bool,
}

/// A paper for one technique.
pub struct Paper {
    pub technique: &'static str,
    pub short: &'static str,
    pub title: &'static str,
    pub venue: &'static str,
    pub url: &'static str,
}

/// The papers behind the three techniques, with where to read them.
pub const PAPERS: [Paper; 3] = [
    Paper {
        technique: "Continuous batching",
        short: "Orca, Yu et al.",
        title: "Orca: iteration-level scheduling (Yu et al.)",
        venue: "OSDI '22",
        url: "usenix.org/conference/osdi22/presentation/yu",
    },
    Paper {
        technique: "Paged attention",
        short: "vLLM, Kwon et al.",
        title: "vLLM: PagedAttention (Kwon et al.)",
        venue: "SOSP '23",
        url: "arxiv.org/abs/2309.06180",
    },
    Paper {
        technique: "Flash attention",
        short: "Dao et al.",
        title: "FlashAttention (Dao et al.)",
        venue: "NeurIPS '22",
        url: "arxiv.org/abs/2205.14135",
    },
];

fn row(spans: &mut Vec<Span>, key: &str, value: String, color: [u8; 3]) {
    spans.push(Span::new(format!("{key}\t"), pal::TEXT_DIM));
    spans.push(Span::new(format!("{value}\n"), color));
}

/// The seeds' "memory apocalypse": a 100M-token context.
pub fn apocalypse(scene: &Scene) -> bool {
    scene.settings.context >= 100_000_000
}

/// The texts of every panel the layout has.
pub fn texts(scene: &Scene, map: &MemoryMap, layout: &Layout) -> Vec<PanelText> {
    let kinds: Vec<PanelKind> = layout.panels.iter().map(|p| p.kind).collect();
    texts_for(scene, map, &kinds, layout.wafer)
}

/// Above this share of one GPU's memory the total turns orange (the seeds' "approaching limits").
pub const WARN_FRACTION: f64 = 0.8;

fn count(n: u64) -> String {
    units::count(n as u128)
}

/// "0.9 utilization" (vLLM) or "mem_fraction_static 0.834" (SGLang).
fn util_text(r: &crate::calc::Report) -> String {
    match r.capacity.engine {
        crate::calc::Engine::Vllm => format!("{} utilization", r.gpu_util),
        crate::calc::Engine::Sglang => format!("mem_fraction_static {}", r.gpu_util),
    }
}

/// The texts of the panels `kinds`, a pure function of the scene (the calculator's report, the
/// simulation's state and the settings) and of the memory map's bank size (for the legend).
/// `wafer`: the board is drawn as a wafer.
pub fn texts_for(
    scene: &Scene,
    map: &MemoryMap,
    kinds: &[PanelKind],
    wafer: bool,
) -> Vec<PanelText> {
    let s = &scene.settings;
    let r = &scene.report;
    let gpu = s.gpu.id.to_uppercase();
    let cx = Ctx {
        scene,
        s,
        r,
        m: &s.model,
        g: &s.gpu,
        gpu: &gpu,
        // One convention for every GPU count on screen: the GPUs the sweep's fullest state needs
        // at the utilization (what `kvscope calc` prints for the same flags); the board is one of
        // them.
        gpus: r.per_gpu.gpus,
        block: r.capacity.block_tokens,
        policy: s.policy(),
        map,
        wafer,
    };
    let sram = s.gpu.memory_type == crate::catalog::MemoryType::Sram;
    kinds
        .iter()
        .map(|&kind| {
            let spans = match kind {
                PanelKind::Info => info(&cx),
                PanelKind::Formula => formula(&cx),
                PanelKind::Papers => papers(&cx),
                PanelKind::Factoids if sram => factoids_sram(&cx),
                PanelKind::Factoids => factoids(&cx),
                PanelKind::Warning => warning(&cx),
                PanelKind::Controls => controls(&cx),
                PanelKind::Legend => legend(&cx),
                PanelKind::Banner => banner(&cx),
            };
            PanelText {
                kind,
                spans,
                centered: kind == PanelKind::Banner,
            }
        })
        .collect()
}

/// What every panel's text is made from.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    scene: &'a Scene,
    s: &'a crate::sim::Settings,
    r: &'a crate::calc::Report,
    m: &'a crate::calc::Model,
    g: &'a crate::catalog::Gpu,
    /// The GPU's id in capitals.
    gpu: &'a str,
    gpus: u64,
    block: u64,
    policy: Policy,
    map: &'a MemoryMap,
    wafer: bool,
}

/// Model, GPU, context, allocation, then what memory holds.
fn info(cx: &Ctx<'_>) -> Vec<Span> {
    let Ctx {
        scene,
        s,
        r,
        m,
        g,
        policy,
        ..
    } = *cx;
    let mut spans = Vec::new();
    spans.push(
        Span::new(format!("{}\n", m.name), pal::TEXT)
            .bold()
            .size(1.25),
    );
    row(
        &mut spans,
        "GPU",
        if g.memory_type == crate::catalog::MemoryType::Sram {
            // one die: its memory is on it, there are no packages to count
            format!(
                "{} · {} on-die SRAM",
                g.id.to_uppercase(),
                units::bytes(g.memory_bytes as u128)
            )
        } else {
            format!(
                "{} · {} {} × {}",
                g.id.to_uppercase(),
                units::bytes(g.memory_bytes as u128),
                g.memory_type.name(),
                g.packages
            )
        },
        pal::TEXT,
    );
    row(
        &mut spans,
        "Context",
        format!(
            "{} / {} tokens × {} seq",
            units::count(scene.current_tokens() as u128),
            units::count(s.context as u128),
            s.batch
        ),
        pal::TEXT,
    );
    let unit = match policy {
        Policy::Static => "full context reserved per sequence".to_string(),
        Policy::Continuous => "exactly what each sequence holds".to_string(),
        Policy::Paged => format!(
            "{}-token pages of {}",
            r.capacity.block_tokens,
            units::bytes(r.capacity.block_bytes)
        ),
    };
    row(&mut spans, "Allocation", unit, pal::TEXT);
    spans.extend(memory_rows(cx));
    spans
}

/// The info panel's rows on memory: total, weights, KV cache, GPUs, efficiency, attention.
fn memory_rows(cx: &Ctx<'_>) -> Vec<Span> {
    let Ctx {
        s,
        r,
        m,
        g,
        gpu,
        gpus,
        ..
    } = *cx;
    let mut spans = Vec::new();
    let total_color = if r.beyond_one_gpu_bytes > 0 {
        pal::DANGER
    } else if r.memory_fraction > WARN_FRACTION {
        pal::WARN
    } else {
        pal::TEXT
    };
    row(
        &mut spans,
        "Total",
        format!(
            "{} of {} ({:.1}%)",
            units::bytes(r.total_bytes),
            units::bytes(g.memory_bytes as u128),
            r.memory_fraction * 100.0
        ),
        total_color,
    );
    row(
        &mut spans,
        "Weights",
        if s.skip_weights {
            "skipped (held elsewhere)".to_string()
        } else {
            format!(
                "{} · {} params · {}",
                units::bytes(r.weights_bytes),
                units::params(m.params.total),
                r.weight_format
            )
        },
        pal::WEIGHTS,
    );
    let fixed = if r.fixed_state_bytes > 0 {
        format!(" + {} state", units::bytes(r.fixed_state_bytes))
    } else {
        String::new()
    };
    row(
        &mut spans,
        "KV cache",
        format!(
            "{}{fixed} · {}/token · {}",
            units::bytes(r.kv_cache_bytes),
            units::bytes(r.kv_bytes_per_token),
            r.kv_dtype
        ),
        pal::sequence(0),
    );
    let gpus_color = if gpus > 1 { pal::DANGER } else { pal::OK };
    row(
        &mut spans,
        "GPUs",
        format!("{} × {gpu} at {}", count(gpus), util_text(r)),
        gpus_color,
    );
    row(
        &mut spans,
        "Efficiency",
        format!("{:.1}% of allocated KV is used", r.efficiency * 100.0),
        pal::TEXT,
    );
    row(&mut spans, "Attention", attention_summary(m), pal::TEXT_DIM);
    spans
}

/// The live formula and the allocation policy's sum.
fn formula(cx: &Ctx<'_>) -> Vec<Span> {
    let Ctx { s, r, policy, .. } = *cx;
    let mut spans = Vec::new();
    spans.push(Span::new("KV cache\n", pal::TEXT_DIM));
    spans.push(Span::new(format!("{}\n", r.formula), pal::TEXT));
    let alloc = match policy {
        Policy::Static => format!(
            "static: {} sequences × {} tokens reserved = {}",
            s.batch,
            units::count(s.context as u128),
            units::bytes(r.allocated_bytes.static_)
        ),
        Policy::Continuous => format!(
            "continuous: Σ tokens held = {}",
            units::bytes(r.allocated_bytes.continuous)
        ),
        Policy::Paged => format!(
            "paged: Σ ⌈tokens ÷ {}⌉ × {} = {}",
            r.capacity.block_tokens,
            units::bytes(r.capacity.block_bytes),
            units::bytes(r.allocated_bytes.paged)
        ),
    };
    spans.push(Span::new(alloc, pal::TEXT_DIM));
    spans
}

/// The papers behind the techniques that are on.
fn papers(cx: &Ctx<'_>) -> Vec<Span> {
    let Ctx { s, .. } = *cx;
    let mut spans = Vec::new();
    let on = [s.cb, s.pa, s.fa];
    if on.iter().any(|b| *b) {
        spans.push(Span::new("Papers\n", pal::TEXT_DIM));
        for (paper, _) in PAPERS.iter().zip(on).filter(|(_, on)| *on) {
            spans.push(Span::new(format!("{} ", paper.technique), pal::TEXT).bold());
            spans.push(Span::new(
                format!("{} · {}\n", paper.short, paper.venue),
                pal::TEXT_DIM,
            ));
        }
    } else {
        spans.push(Span::new(
                    "Static batching: every sequence reserves the full context.\nPress C (continuous batching), P (paged attention) or F (flash attention).",
                    pal::TEXT_DIM,
                ));
    }
    spans
}

/// Wafer-scale and SRAM parts: what on-chip memory means for the cache.
fn factoids_sram(cx: &Ctx<'_>) -> Vec<Span> {
    let Ctx { r, m, g, wafer, .. } = *cx;
    let mut spans = Vec::new();
    spans.push(Span::new("Wafer-scale\n", pal::TEXT_DIM));
    spans.push(Span::new(
                format!(
                    "{} keeps all {} on-chip as SRAM, no HBM at all: weights and KV must fit on the {} itself. One token of {} costs {} of it.",
                    g.name,
                    units::bytes(g.memory_bytes as u128),
                    if wafer { "wafer" } else { "chip" },
                    m.name,
                    units::bytes(r.kv_bytes_per_token)
                ),
                pal::TEXT,
            ));
    spans
}

/// What one token costs, and the decode rate the memory allows.
fn factoids(cx: &Ctx<'_>) -> Vec<Span> {
    let Ctx { r, m, gpu, .. } = *cx;
    let mut spans = Vec::new();
    spans.push(Span::new("Did you know\n", pal::TEXT_DIM));
    let mut text = format!(
        "One token of {} costs {} of KV cache.",
        m.name,
        units::bytes(r.kv_bytes_per_token)
    );
    let d = &r.decode;
    // As in `kvscope calc`: no rate where the device has no bandwidth figure.
    if d.tokens_per_second > 0.0 {
        text.push_str(&format!(
                    " Each decode step reads the weights and the whole cache: ≤ {:.0} tokens/s per sequence on {} × {gpu}.",
                    d.tokens_per_second_per_sequence,
                    count(d.gpus)
                ));
    }
    spans.push(Span::new(text, pal::TEXT));
    spans
}

/// Whether the state fits: free tokens, over budget, or how far beyond one GPU.
fn warning(cx: &Ctx<'_>) -> Vec<Span> {
    let Ctx {
        s, r, g, gpu, gpus, ..
    } = *cx;
    let mut spans = Vec::new();
    if r.beyond_one_gpu_bytes > 0 {
        spans.push(Span::new("DOES NOT FIT\n", pal::DANGER).bold().size(1.15));
        spans.push(Span::new(
            format!(
                "{} beyond one {gpu} → {} GPUs at {}. Board: 1 of the {} (tensor parallel).\n",
                units::bytes(r.beyond_one_gpu_bytes),
                count(gpus),
                util_text(r),
                count(gpus)
            ),
            pal::TEXT,
        ));
    } else if r.gpus_needed > 1 {
        spans.push(Span::new("OVER BUDGET\n", pal::WARN).bold().size(1.15));
        spans.push(Span::new(
            format!(
                "Fits the {} of one {gpu}, but not {}'s budget at {}: {} GPUs.\n",
                units::bytes(g.memory_bytes as u128),
                r.capacity.engine.label(),
                util_text(r),
                count(gpus)
            ),
            pal::TEXT,
        ));
    } else {
        spans.push(Span::new("FITS\n", pal::OK).bold().size(1.15));
        spans.push(Span::new(
            format!(
                "{} left for KV: {} more tokens.\n",
                units::bytes(r.capacity.free_bytes),
                units::count(r.capacity.free_tokens)
            ),
            pal::TEXT,
        ));
        if gpus > 1 {
            spans.push(Span::new(
                        format!(
                            "The full sweep needs {} × {gpu}: the board shows one of them (tensor parallel).\n",
                            count(gpus)
                        ),
                        pal::TEXT_DIM,
                    ));
        }
    }
    if s.speed >= 100.0 {
        spans.push(Span::new(
            "LUDICROUS SPEED — time-space warning!\n",
            pal::GOLD,
        ));
    }
    if r.per_gpu.scores_bytes > r.per_gpu.free_bytes {
        spans.push(Span::new(
            format!(
                "{}: prefill scores need {} ({} × {gpu}).",
                if s.fa {
                    "Without flash"
                } else {
                    "No flash attention"
                },
                units::bytes(r.attention_scores_bytes.without_flash),
                count(r.scores_gpus_needed)
            ),
            pal::GHOST,
        ));
    }
    spans
}

/// The keys, and the state of the techniques and the clock.
fn controls(cx: &Ctx<'_>) -> Vec<Span> {
    let Ctx { s, .. } = *cx;
    let mut spans = Vec::new();
    spans.push(Span::new("Controls\n", pal::TEXT_DIM));
    for (k, what) in [
        ("Space", "play / pause"),
        ("+ / −", "speed (0.5x – 100x)"),
        ("← / →", "context preset"),
        ("[ / ]", "batch size"),
        ("C P F", "continuous · paged · flash"),
        ("M / G", "next model / GPU (Shift: back)"),
        ("D", "KV dtype"),
        ("W", "skip weights"),
        ("H", "hold at the end of the sweep"),
        ("R", "restart"),
        ("F11", "fullscreen"),
        ("Esc", "quit"),
    ] {
        spans.push(Span::new(format!("{k}\t"), pal::GOLD).bold());
        spans.push(Span::new(format!("{what}\n"), pal::TEXT));
    }
    let techniques: Vec<&str> = [(s.cb, "CB"), (s.pa, "PA"), (s.fa, "FA")]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .collect();
    spans.push(Span::new(
        format!(
            "\n{} · {}x · {}{}",
            if techniques.is_empty() {
                "static batching".to_string()
            } else {
                techniques.join(" + ")
            },
            s.speed,
            if s.paused { "paused" } else { "playing" },
            if s.hold { " · holding at the end" } else { "" }
        ),
        pal::TEXT_DIM,
    ));
    spans
}

/// The bank colours and what one bank stands for.
fn legend(cx: &Ctx<'_>) -> Vec<Span> {
    let Ctx {
        s,
        m,
        g,
        gpus,
        block,
        policy,
        map,
        ..
    } = *cx;
    let mut spans = Vec::new();
    spans.push(Span::new("■ ", pal::WEIGHTS));
    spans.push(Span::new("weights  ", pal::TEXT));
    for i in 0..(s.batch.min(8) as usize) {
        spans.push(Span::new("■", pal::sequence(i)));
    }
    spans.push(Span::new(" sequences  ", pal::TEXT));
    if policy == Policy::Static {
        spans.push(Span::new("■ ", pal::RESERVED));
        spans.push(Span::new("reserved, unused  ", pal::TEXT));
    }
    if s.fa {
        spans.push(Span::new("■ ", pal::GHOST));
        spans.push(Span::new("scores avoided (ghosts)  ", pal::TEXT));
    } else {
        spans.push(Span::new("■ ", pal::SCORES));
        spans.push(Span::new("attention scores  ", pal::TEXT));
    }
    spans.push(Span::new("■ ", pal::HEADROOM));
    spans.push(Span::new("engine headroom  ", pal::TEXT));
    spans.push(Span::new("■ ", pal::FREE));
    spans.push(Span::new("free\n", pal::TEXT));
    let what = if map.pages_per_bank > 0 {
        format!(
            " = {} of {}",
            if map.banks_per_page > 1 && map.pages_per_bank < map.banks_per_page {
                format!(
                    "{}/{} of a {block}-token page",
                    map.pages_per_bank, map.banks_per_page
                )
            } else if map.banks_per_page > 1 {
                let p = map.pages_per_bank as f64 / map.banks_per_page as f64;
                if p >= 10.0 {
                    format!("≈ {} {block}-token pages", units::count(p.round() as u128))
                } else {
                    format!("{p:.2} {block}-token pages")
                }
            } else if map.pages_per_bank == 1 {
                format!("one {block}-token page")
            } else {
                format!("{} {block}-token pages", map.pages_per_bank)
            },
            m.name
        ) + if gpus > 1 { " per GPU" } else { "" }
    } else {
        String::new()
    };
    spans.push(Span::new(
        format!(
            "1 bank = {}{what} · {} banks = {}",
            units::bytes(map.bank_bytes),
            units::count(map.banks as u128),
            units::bytes(g.memory_bytes as u128)
        ),
        pal::TEXT_DIM,
    ));
    spans
}

/// The headline: flash attention's savings, the memory apocalypse, or the title.
fn banner(cx: &Ctx<'_>) -> Vec<Span> {
    let Ctx {
        scene,
        s,
        r,
        m,
        g,
        gpu,
        gpus,
        policy,
        ..
    } = *cx;
    let mut spans = Vec::new();
    if apocalypse(scene) {
        spans.push(
            Span::new(
                // The sweep's fullest state, whose GPUs it counts.
                format!(
                    "MEMORY APOCALYPSE: {} of KV at {} tokens. Build a datacenter: {} × {}",
                    units::bytes(scene.sweep.allocated_bytes.get(policy)),
                    units::count(s.context as u128),
                    count(gpus),
                    gpu
                ),
                pal::DANGER,
            )
            .bold()
            .size(1.2),
        );
    } else if s.fa {
        spans.push(
            Span::new(
                format!(
                    "{} MEMORY SAVED BY FLASH ATTENTION",
                    units::bytes(r.attention_scores_bytes.saved_by_flash)
                ),
                pal::DANGER,
            )
            .bold()
            .size(1.3),
        );
    } else {
        spans.push(
            Span::new(format!("kvscope · {} on {}", m.name, g.name), pal::TEXT)
                .bold()
                .size(1.15),
        );
    }
    spans
}
