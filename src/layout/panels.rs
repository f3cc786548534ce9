//! What each panel says: text spans with colours, built from the calculator's report and the memory
//! map. Formatting only; every number comes from `calc`.

use super::memory::MemoryMap;
use super::palette as pal;
use super::{Layout, PanelKind};
use crate::calc::{text::attention_summary, units, Policy};
use crate::sim::Scene;

#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub text: String,
    pub color: [u8; 3],
    pub bold: bool,
    /// Relative to body text.
    pub size: f32,
}

impl Span {
    pub fn new(text: impl Into<String>, color: [u8; 3]) -> Span {
        Span {
            text: text.into(),
            color,
            bold: false,
            size: 1.0,
        }
    }
    pub fn bold(mut self) -> Span {
        self.bold = true;
        self
    }
    pub fn size(mut self, s: f32) -> Span {
        self.size = s;
        self
    }
}

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
    let s = &scene.settings;
    let r = &scene.report;
    let m = &s.model;
    let g = &s.gpu;
    let mut out = Vec::new();
    let policy = s.policy();
    for p in &layout.panels {
        let mut spans = Vec::new();
        let mut centered = false;
        match p.kind {
            PanelKind::Info => {
                spans.push(
                    Span::new(format!("{}\n", m.name), pal::TEXT)
                        .bold()
                        .size(1.25),
                );
                row(
                    &mut spans,
                    "GPU",
                    format!(
                        "{} · {} {} × {}",
                        g.id.to_uppercase(),
                        units::bytes(g.memory_bytes as u128),
                        g.memory_type.name(),
                        g.packages
                    ),
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
                    Policy::Paged => {
                        format!("16-token pages of {}", units::bytes(r.capacity.block_bytes))
                    }
                };
                row(&mut spans, "Allocation", unit, pal::TEXT);
                let frac = r.total_bytes as f64 / g.memory_bytes.max(1) as f64 * 100.0;
                let total_color = if r.total_bytes > g.memory_bytes as u128 {
                    pal::DANGER
                } else if frac > 80.0 {
                    pal::WARN
                } else {
                    pal::TEXT
                };
                row(
                    &mut spans,
                    "Total",
                    format!(
                        "{} of {} ({frac:.1}%)",
                        units::bytes(r.total_bytes),
                        units::bytes(g.memory_bytes as u128)
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
                row(
                    &mut spans,
                    "KV cache",
                    format!(
                        "{} · {}/token · {}",
                        units::bytes(r.kv_cache_bytes + r.fixed_state_bytes),
                        units::bytes(r.kv_bytes_per_token),
                        r.kv_dtype
                    ),
                    pal::sequence(0),
                );
                let gpus_color = if r.gpus_needed > 1 {
                    pal::DANGER
                } else {
                    pal::OK
                };
                row(
                    &mut spans,
                    "GPUs",
                    format!(
                        "{} × {} at {} utilization",
                        r.gpus_needed,
                        g.id.to_uppercase(),
                        s.gpu_util
                    ),
                    gpus_color,
                );
                row(
                    &mut spans,
                    "Efficiency",
                    format!("{:.1}% of allocated KV is used", r.efficiency * 100.0),
                    pal::TEXT,
                );
                row(&mut spans, "Attention", attention_summary(m), pal::TEXT_DIM);
            }
            PanelKind::Formula => {
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
                        "paged: Σ ⌈tokens ÷ 16⌉ × {} = {}",
                        units::bytes(r.capacity.block_bytes),
                        units::bytes(r.allocated_bytes.paged)
                    ),
                };
                spans.push(Span::new(alloc, pal::TEXT_DIM));
            }
            PanelKind::Papers => {
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
            }
            PanelKind::Factoids if g.memory_type == crate::catalog::MemoryType::Sram => {
                spans.push(Span::new("Wafer-scale\n", pal::TEXT_DIM));
                spans.push(Span::new(
                    format!(
                        "{} keeps all {} on-chip as SRAM, no HBM at all: weights and KV must fit on the {} itself. One token of {} costs {} of it.",
                        g.name,
                        units::bytes(g.memory_bytes as u128),
                        if layout.wafer { "wafer" } else { "chip" },
                        m.name,
                        units::bytes(r.kv_bytes_per_token)
                    ),
                    pal::TEXT,
                ));
            }
            PanelKind::Factoids => {
                let secs = r.decode.tokens_per_second_per_sequence;
                spans.push(Span::new("Did you know\n", pal::TEXT_DIM));
                spans.push(Span::new(
                    format!(
                        "One token of {} costs {} of KV cache. Each decode step reads the weights and the whole cache: ≤ {:.0} tokens/s per sequence on {} × {}.",
                        m.name,
                        units::bytes(r.kv_bytes_per_token),
                        secs,
                        r.decode.gpus,
                        g.id.to_uppercase()
                    ),
                    pal::TEXT,
                ));
            }
            PanelKind::Warning => {
                if map.overflow_bytes > 0 {
                    spans.push(Span::new("DOES NOT FIT\n", pal::DANGER).bold().size(1.15));
                    spans.push(Span::new(
                        format!(
                            "{} beyond one {} → {} GPUs at {} utilization. Board: 1 of the {} the full sweep needs (tensor parallel).\n",
                            units::bytes(map.overflow_bytes),
                            g.id.to_uppercase(),
                            units::count(r.gpus_needed as u128),
                            s.gpu_util,
                            units::count(map.shards as u128)
                        ),
                        pal::TEXT,
                    ));
                } else if r.gpus_needed > 1 {
                    spans.push(Span::new("OVER BUDGET\n", pal::WARN).bold().size(1.15));
                    spans.push(Span::new(
                        format!(
                            "Fits the {} of memory, but not vLLM's {} budget: {} GPUs.\n",
                            units::bytes(g.memory_bytes as u128),
                            s.gpu_util,
                            r.gpus_needed
                        ),
                        pal::TEXT,
                    ));
                } else {
                    spans.push(Span::new("FITS\n", pal::OK).bold().size(1.15));
                    spans.push(Span::new(
                        format!(
                            "{} left for KV: {} more tokens.\n",
                            units::bytes(r.capacity.usable_bytes.saturating_sub(
                                r.allocated_bytes.get(policy) + r.fixed_state_bytes
                            )),
                            units::count(
                                r.capacity.usable_bytes.saturating_sub(
                                    r.allocated_bytes.get(policy) + r.fixed_state_bytes
                                ) / r.kv_bytes_per_token.max(1)
                            )
                        ),
                        pal::TEXT,
                    ));
                }
                if map.overflow_bytes == 0 && map.shards > 1 {
                    spans.push(Span::new(
                        format!(
                            "The full sweep needs {} × {}: the board shows one of them (tensor parallel).\n",
                            map.shards,
                            g.id.to_uppercase()
                        ),
                        pal::TEXT_DIM,
                    ));
                }
                if s.speed >= 100.0 {
                    spans.push(Span::new(
                        "LUDICROUS SPEED — time-space warning!\n",
                        pal::GOLD,
                    ));
                }
                if map.ghost_overflow_bytes > 0 {
                    let gpus = r
                        .attention_scores_bytes
                        .without_flash
                        .div_ceil(g.memory_bytes.max(1) as u128);
                    spans.push(Span::new(
                        format!(
                            "{}: prefill scores need {} ({} × {}).",
                            if s.fa {
                                "Without flash"
                            } else {
                                "No flash attention"
                            },
                            units::bytes(r.attention_scores_bytes.without_flash),
                            units::count(gpus),
                            g.id.to_uppercase()
                        ),
                        pal::GHOST,
                    ));
                }
            }
            PanelKind::Controls => {
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
                        "\n{} · {}x · {}",
                        if techniques.is_empty() {
                            "static batching".to_string()
                        } else {
                            techniques.join(" + ")
                        },
                        s.speed,
                        if s.paused { "paused" } else { "playing" }
                    ),
                    pal::TEXT_DIM,
                ));
            }
            PanelKind::Legend => {
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
                                "{}/{} of a 16-token page",
                                map.pages_per_bank, map.banks_per_page
                            )
                        } else if map.banks_per_page > 1 {
                            let p = map.pages_per_bank as f64 / map.banks_per_page as f64;
                            if p >= 10.0 {
                                format!("≈ {} 16-token pages", units::count(p.round() as u128))
                            } else {
                                format!("{p:.2} 16-token pages")
                            }
                        } else if map.pages_per_bank == 1 {
                            "one 16-token page".to_string()
                        } else {
                            format!("{} 16-token pages", map.pages_per_bank)
                        },
                        m.name
                    ) + if map.shards > 1 { " per GPU" } else { "" }
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
            }
            PanelKind::Banner => {
                centered = true;
                if apocalypse(scene) {
                    let gpus = r.gpus_needed as u128;
                    spans.push(
                        Span::new(
                            format!(
                                "MEMORY APOCALYPSE: {} of KV. Build a datacenter: {} × {}",
                                units::bytes(r.allocated_bytes.get(policy)),
                                units::count(gpus),
                                g.id.to_uppercase()
                            ),
                            pal::DANGER,
                        )
                        .bold()
                        .size(1.2),
                    );
                } else if s.fa {
                    let saved = r
                        .attention_scores_bytes
                        .without_flash
                        .saturating_sub(r.attention_scores_bytes.with_flash);
                    spans.push(
                        Span::new(
                            format!("{} MEMORY SAVED BY FLASH ATTENTION", units::bytes(saved)),
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
            }
        }
        out.push(PanelText {
            kind: p.kind,
            spans,
            centered,
        });
    }
    out
}
