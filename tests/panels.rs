//! What the panels say, as text: a table of states, each with the exact strings written by hand
//! from the models' configs and the GPUs' datasheets, and the same numbers read from
//! `kvscope calc --json` for the same flags. No GPU needed: panel text is a pure function of the
//! scene (the calculator's report, the simulation's state, the settings).

use kvscope::catalog::Catalog;
use kvscope::scenes::memory::panels::{texts_for, PanelText};
use kvscope::scenes::memory::MemoryMap;
use kvscope::scenes::memory::{Layout, PanelKind};
use kvscope::sim::{Scene, Settings};
use serde_json::Value;
use std::process::Command;
use std::sync::Arc;

const ALL: [PanelKind; 8] = [
    PanelKind::Banner,
    PanelKind::Info,
    PanelKind::Formula,
    PanelKind::Papers,
    PanelKind::Factoids,
    PanelKind::Warning,
    PanelKind::Controls,
    PanelKind::Legend,
];

fn settings_in(cat: &Catalog, model: &str, gpu: &str) -> Settings {
    Settings::new(
        Arc::new(cat.model(model).unwrap().clone()),
        Arc::new(cat.gpu(gpu).unwrap().clone()),
    )
}

fn settings(model: &str, gpu: &str) -> Settings {
    settings_in(&Catalog::builtin().unwrap(), model, gpu)
}

/// Every panel's text for a scene, as a 1920x1080 window lays it out.
fn texts(scene: &Scene) -> Vec<PanelText> {
    let l = Layout::compute(1920, 1080, 1.0, &scene.settings.gpu);
    let map = MemoryMap::build(scene, l.bank_capacity());
    texts_for(scene, &map, &ALL, l.wafer)
}

fn panel(t: &[PanelText], kind: PanelKind) -> String {
    t.iter()
        .find(|p| p.kind == kind)
        .unwrap()
        .spans
        .iter()
        .map(|s| s.text.as_str())
        .collect()
}

/// The value after `key\t` in a panel of `key\tvalue` rows.
fn row(t: &[PanelText], kind: PanelKind, key: &str) -> String {
    let text = panel(t, kind);
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}\t")))
        .unwrap_or_else(|| panic!("no row {key} in {text}"))
        .to_string()
}

fn calc(args: &[&str]) -> Value {
    let mut all = vec!["calc"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(&all)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{all:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn fits_one_gpu() {
    // Llama 3.1 8B, one 128K sequence, paged, on an H100 (80 GiB, 72 GiB usable at 0.9).
    // Weights 8,030,261,248 x 2 B = 16,060,522,496 B; KV 131,072 tokens x 131,072 B = 16 GiB.
    let mut s = settings("llama-3.1-8b", "h100");
    s.batch = 1;
    s.pa = true;
    let t = texts(&Scene::at_end(&s));
    assert_eq!(
        row(&t, PanelKind::Info, "Total"),
        "30.96 GiB of 80.00 GiB (38.7%)"
    );
    assert_eq!(
        row(&t, PanelKind::Info, "GPUs"),
        "1 × H100 at 0.9 utilization"
    );
    assert_eq!(
        row(&t, PanelKind::Info, "Allocation"),
        "16-token pages of 2.00 MiB"
    );
    assert_eq!(
        row(&t, PanelKind::Info, "Efficiency"),
        "100.0% of allocated KV is used"
    );
    // vLLM gives the cache 58,174,688,394 B (79.19 GiB x 0.9 - 14.96 GiB of weights - 1.88 GiB
    // of activation - 0.25 GiB of non-torch memory; tests/calc.rs has the terms); less the
    // 17,179,869,184 B the sequence holds: 40,994,819,210 B = 19,547 whole 2 MiB pages = 312,752
    // tokens. Without flash attention the prefill scores are 32 heads x 131,072² x 2 B = 1 TiB,
    // over budgets of 67.27 GiB a GPU of a split (79.19 x 0.9 - 1.88 - 2.12 GiB): 15.2 -> 16.
    assert_eq!(
        panel(&t, PanelKind::Warning),
        "FITS\n38.18 GiB left for KV: 312,752 more tokens.\n\
         No flash attention: prefill scores need 1.00 TiB (16 × H100)."
    );
    // 33,240,391,680 B read per step at 3.35 TB/s: 100.8 steps a second.
    assert_eq!(
        panel(&t, PanelKind::Factoids),
        "Did you know\nOne token of Llama 3.1 8B costs 128.00 KiB of KV cache. Each decode step \
         reads the weights and the whole cache: ≤ 101 tokens/s per sequence on 1 × H100."
    );
    assert_eq!(
        panel(&t, PanelKind::Formula),
        "KV cache\n2 × 32 layers × 8 KV heads × 128 head_dim × 2 B × 131,072 tokens = 16.00 GiB\n\
         paged: Σ ⌈tokens ÷ 16⌉ × 2.00 MiB = 16.00 GiB"
    );
    let j = calc(&["--model", "llama-3.1-8b", "--batch", "1"]);
    assert_eq!(j["total_bytes"], 33_240_391_680u64);
    assert_eq!(j["gpus_needed"], 1);
    assert_eq!(j["capacity"]["free_bytes"], 40_994_819_210u64);
    assert_eq!(j["capacity"]["free_tokens"], 312_752);
    assert_eq!(j["capacity"]["block_tokens"], 16);
    assert_eq!(j["decode"]["gpus"], 1);
    let tps = j["decode"]["tokens_per_second_per_sequence"]
        .as_f64()
        .unwrap();
    assert_eq!(format!("{tps:.0}"), "101");
}

#[test]
fn a_smaller_page_changes_every_page_number() {
    // --block-size 32: pages of 4 MiB; the same free memory holds 9,773 of them.
    let mut s = settings("llama-3.1-8b", "h100");
    s.batch = 1;
    s.pa = true;
    s.block_tokens = 32;
    let t = texts(&Scene::at_end(&s));
    assert_eq!(
        row(&t, PanelKind::Info, "Allocation"),
        "32-token pages of 4.00 MiB"
    );
    assert!(
        panel(&t, PanelKind::Warning).contains("312,736 more tokens"),
        "{}",
        panel(&t, PanelKind::Warning)
    );
    assert!(panel(&t, PanelKind::Formula).contains("⌈tokens ÷ 32⌉ × 4.00 MiB"));
    assert!(panel(&t, PanelKind::Legend).contains("32-token page"));
    let j = calc(&[
        "--model",
        "llama-3.1-8b",
        "--batch",
        "1",
        "--block-size",
        "32",
    ]);
    assert_eq!(j["capacity"]["free_tokens"], 312_736);
    assert_eq!(j["capacity"]["block_bytes"], 4u64 << 20);
}

#[test]
fn the_windows_flags_reach_its_panels_as_calcs_reach_its_numbers() {
    // `--max-num-batched-tokens 2048` profiles 6,144 fewer tokens than vLLM's 8,192: 1.28 copies x
    // 6,144 x 4,096 hidden x 2 B = 64,424,509 B less activation, so the free memory of
    // fits_one_gpu grows to about 41,059,243,719 B: 19,578 whole 2 MiB pages = 313,248 tokens.
    let cli = kvscope::cli::parse_args([
        "kvscope",
        "run",
        "--model",
        "llama-3.1-8b",
        "--batch",
        "1",
        "--pa",
        "--max-num-batched-tokens",
        "2048",
    ])
    .unwrap();
    let Some(kvscope::cli::Command::Run(run)) = &cli.command else {
        panic!("run");
    };
    let s = kvscope::cli::scene_settings(&Catalog::builtin().unwrap(), &run.scene).unwrap();
    assert_eq!(s.max_num_batched_tokens, Some(2048));
    let t = texts(&Scene::at_end(&s));
    assert!(
        panel(&t, PanelKind::Warning).contains("38.24 GiB left for KV: 313,248 more tokens."),
        "{}",
        panel(&t, PanelKind::Warning)
    );
    let j = calc(&[
        "--model",
        "llama-3.1-8b",
        "--batch",
        "1",
        "--max-num-batched-tokens",
        "2048",
    ]);
    assert_eq!(j["capacity"]["free_tokens"], 313_248);
    assert_eq!(j["capacity"]["max_num_batched_tokens"], 2048);
}

#[test]
fn over_budget_but_within_the_gpu() {
    // Static batching, four 128K sequences: 16,060,522,496 + 4 x 17,179,869,184 = 84,779,999,232 B,
    // within the H100's 85,899,345,920 but over vLLM's budget for weights and KV on one
    // (79.19 GiB x 0.9 - 1.88 GiB activation - 0.25 GiB non-torch = 69.14 GiB): 2 GPUs.
    let s = settings("llama-3.1-8b", "h100");
    let t = texts(&Scene::at_end(&s));
    assert_eq!(
        row(&t, PanelKind::Info, "Total"),
        "78.96 GiB of 80.00 GiB (98.7%)"
    );
    assert_eq!(
        row(&t, PanelKind::Info, "GPUs"),
        "2 × H100 at 0.9 utilization"
    );
    // (the score line that follows depends on the batch's random lengths)
    assert!(panel(&t, PanelKind::Warning).starts_with(
        "OVER BUDGET\nFits the 80.00 GiB of one H100, but not vLLM's budget at 0.9 utilization: 2 GPUs.\n"
    ));
    assert_eq!(
        row(&t, PanelKind::Info, "Allocation"),
        "full context reserved per sequence"
    );
    let j = calc(&[
        "--model",
        "llama-3.1-8b",
        "--batch",
        "4",
        "--policy",
        "static",
    ]);
    assert_eq!(j["total_bytes"], 84_779_999_232u64);
    assert_eq!(j["gpus_needed"], 2);
    assert_eq!(j["beyond_one_gpu_bytes"], 0);
}

#[test]
fn over_one_gpu() {
    // Llama 3.1 70B, one 128K sequence: 141,107,412,992 B of weights + 42,949,672,960 B of KV
    // (2 x 80 x 8 x 128 x 2 B a token) = 184,057,085,952 B: 98,157,740,032 B beyond one H100,
    // over vLLM budgets of 67.19 GiB a GPU of a split (79.19 x 0.9 - 1.96 activation - 2.12
    // non-torch): 2.55 -> 3 GPUs. Scores: 64 heads x 131,072² x 2 B = 2 TiB, 30.5 -> 31.
    let mut s = settings("llama-3.1-70b", "h100");
    s.batch = 1;
    s.pa = true;
    let t = texts(&Scene::at_end(&s));
    assert_eq!(
        panel(&t, PanelKind::Warning),
        "DOES NOT FIT\n91.42 GiB beyond one H100 → 3 GPUs at 0.9 utilization. \
         Board: 1 of the 3 (tensor parallel).\nNo flash attention: prefill scores need 2.00 TiB \
         (31 × H100)."
    );
    assert_eq!(
        row(&t, PanelKind::Info, "Total"),
        "171.42 GiB of 80.00 GiB (214.3%)"
    );
    assert_eq!(
        row(&t, PanelKind::Info, "GPUs"),
        "3 × H100 at 0.9 utilization"
    );
    assert!(panel(&t, PanelKind::Factoids).ends_with("on 3 × H100."));
    assert!(panel(&t, PanelKind::Legend).contains(" per GPU · "));
    let j = calc(&["--model", "llama-3.1-70b", "--batch", "1"]);
    assert_eq!(j["beyond_one_gpu_bytes"], 98_157_740_032u64);
    assert_eq!(j["gpus_needed"], 3);
    assert_eq!(j["decode"]["gpus"], 3);
}

#[test]
fn many_gpus_one_count_everywhere() {
    // Llama 3.1 405B, batch 1, 128K: 811,706,777,600 B of weights + 131,072 x 516,096 B of KV =
    // 879,352,512,512 B = 818.96 GiB over vLLM budgets of 67.03 GiB a GPU of a split (79.19 x 0.9
    // - 2.12 activation - 2.12 non-torch) = 12.2 -> 13 GPUs, and the board is 1 of those 13.
    let mut s = settings("llama-3.1-405b", "h100");
    s.batch = 1;
    let scene = Scene::at_end(&s);
    assert_eq!(scene.shards, 13);
    let t = texts(&scene);
    // Scores: 128 heads x 131,072² x 2 B = 4 TiB, 61.1 -> 62 budgets.
    assert_eq!(
        panel(&t, PanelKind::Warning),
        "DOES NOT FIT\n738.96 GiB beyond one H100 → 13 GPUs at 0.9 utilization. \
         Board: 1 of the 13 (tensor parallel).\nNo flash attention: prefill scores need 4.00 TiB \
         (62 × H100)."
    );
    assert_eq!(
        row(&t, PanelKind::Info, "GPUs"),
        "13 × H100 at 0.9 utilization"
    );
    assert!(panel(&t, PanelKind::Factoids).ends_with("on 13 × H100."));
    let j = calc(&["--model", "llama-3.1-405b", "--batch", "1"]);
    assert_eq!(j["gpus_needed"], 13);
    assert_eq!(j["decode"]["gpus"], 13);
}

#[test]
fn mid_sweep_counts_are_the_sweeps() {
    // A quarter into the sweep 405B holds far less, but every count on screen is still the 13
    // GPUs the sweep's fullest state needs (the board's split does not change mid-sweep).
    let mut s = settings("llama-3.1-405b", "h100");
    s.batch = 1;
    s.cb = true;
    s.pa = true;
    let scene = Scene::at(&s, 6.0);
    assert_eq!(scene.current_tokens(), 32_768);
    assert_eq!(scene.report.per_gpu.gpus, 13);
    assert!(scene.report.gpus_needed < 13);
    let t = texts(&scene);
    assert!(panel(&t, PanelKind::Warning).contains("→ 13 GPUs"));
    assert_eq!(
        row(&t, PanelKind::Info, "GPUs"),
        "13 × H100 at 0.9 utilization"
    );
    assert!(panel(&t, PanelKind::Factoids).ends_with("on 13 × H100."));
}

#[test]
fn the_memory_apocalypse() {
    // Llama 3.1 8B at 100,000,000 tokens: 13,107,200,000,000 B of KV (11.92 TiB), with the weights
    // 13,123,260,522,496 B over vLLM budgets of 67.27 GiB a GPU = 181.7 -> 182 H100s.
    let mut s = settings("llama-3.1-8b", "h100");
    s.batch = 1;
    s.pa = true;
    s.context = 100_000_000;
    let t = texts(&Scene::at_end(&s));
    let banner = "MEMORY APOCALYPSE: 11.92 TiB of KV at 100,000,000 tokens. Build a datacenter: \
                  182 × H100";
    assert_eq!(panel(&t, PanelKind::Banner), banner);
    // Mid-sweep the banner speaks of the same full context and the same GPUs.
    assert_eq!(
        panel(&texts(&Scene::at(&s, 6.0)), PanelKind::Banner),
        banner
    );
    let j = calc(&["--model", "llama-3.1-8b", "--context", "100M"]);
    assert_eq!(j["allocated_bytes"]["paged"], 13_107_200_000_000u64);
    assert_eq!(j["gpus_needed"], 182);
    // The decode roofline counts the same 182 GPUs (no cap).
    assert_eq!(j["decode"]["gpus"], 182);
}

#[test]
fn paused_held_and_ludicrous() {
    let mut s = settings("llama-3.1-8b", "h100");
    s.batch = 1;
    s.pa = true;
    s.fa = true;
    s.paused = true;
    s.hold = true;
    s.speed = 100.0;
    let t = texts(&Scene::at_end(&s));
    let controls = panel(&t, PanelKind::Controls);
    assert!(
        controls.ends_with("\nPA + FA · 100x · paused · holding at the end"),
        "{controls}"
    );
    assert!(panel(&t, PanelKind::Warning).contains("LUDICROUS SPEED — time-space warning!\n"));
    s.paused = false;
    s.hold = false;
    s.speed = 0.5;
    let t = texts(&Scene::at_end(&s));
    let controls = panel(&t, PanelKind::Controls);
    assert!(
        controls.ends_with("\nPA + FA · 0.5x · playing"),
        "{controls}"
    );
    assert!(!panel(&t, PanelKind::Warning).contains("LUDICROUS"));
}

#[test]
fn flash_attention_banner_and_scores() {
    // Llama 3.2 1B, one 128K sequence: the score matrix is 32 heads x 131,072² x 2 B (bf16)
    // = 1,099,511,627,776 B = 1 TiB; flash keeps 32 x 131,072 fp32 = 16 MiB, and saves the
    // difference, 1,099,494,850,560 B = 1023.98 GiB.
    let mut s = settings("llama-3.2-1b", "h100");
    s.batch = 1;
    s.fa = true;
    let t = texts(&Scene::at_end(&s));
    assert_eq!(
        panel(&t, PanelKind::Banner),
        "1023.98 GiB MEMORY SAVED BY FLASH ATTENTION"
    );
    // 1 TiB over budgets of 67.31 GiB (79.19 x 0.9 - 1.84 activation - 2.12 non-torch): 15.2 -> 16.
    assert!(
        panel(&t, PanelKind::Warning)
            .ends_with("Without flash: prefill scores need 1.00 TiB (16 × H100)."),
        "{}",
        panel(&t, PanelKind::Warning)
    );
    let j = calc(&["--model", "llama-3.2-1b"]);
    assert_eq!(
        j["attention_scores_bytes"]["without_flash"],
        1_099_511_627_776u64
    );
    assert_eq!(
        j["attention_scores_bytes"]["saved_by_flash"],
        1_099_511_627_776u64 - 16 * 1024 * 1024
    );
    assert_eq!(j["scores_gpus_needed"], 16);
}

#[test]
fn a_wafer_says_so() {
    // Cerebras WSE-3: 44 GB of on-wafer SRAM, read as 44 GiB.
    let mut s = settings("llama-3.2-1b", "wse-3");
    s.batch = 1;
    let t = texts(&Scene::at_end(&s));
    // one die, no packages
    assert_eq!(
        row(&t, PanelKind::Info, "GPU"),
        "WSE-3 · 44.00 GiB on-die SRAM"
    );
    assert_eq!(
        panel(&t, PanelKind::Factoids),
        "Wafer-scale\nCerebras WSE-3 keeps all 44.00 GiB on-chip as SRAM, no HBM at all: weights \
         and KV must fit on the wafer itself. One token of Llama 3.2 1B costs 32.00 KiB of it."
    );
}

#[test]
fn no_bandwidth_no_rate() {
    // A catalog GPU without a bandwidth figure: no "≤ 0 tokens/s", as `kvscope calc` hides the row.
    let dir = std::env::temp_dir().join(format!("kvscope-panels-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("gpus.toml"),
        r#"
[[gpus]]
id = "nobw"
name = "No Bandwidth 80GB"
vendor = "Test"
memory = 80
memory_unit = "GB"
memory_type = "HBM3"
packages = 5
source = "https://example.com/datasheet"
"#,
    )
    .unwrap();
    let cat = Catalog::load_dir(&dir).unwrap();
    let mut s = settings_in(&cat, "llama-3.1-8b", "nobw");
    s.batch = 1;
    let t = texts(&Scene::at_end(&s));
    assert_eq!(
        panel(&t, PanelKind::Factoids),
        "Did you know\nOne token of Llama 3.1 8B costs 128.00 KiB of KV cache."
    );
    let out = Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(["--catalog", dir.to_str().unwrap(), "calc", "--gpu", "nobw"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("decode"));
    std::fs::remove_dir_all(&dir).ok();
}
