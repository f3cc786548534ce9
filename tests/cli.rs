#![recursion_limit = "256"]
//! The command line end to end: real output, and one clear line with exit status 2 for bad input.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs kvscope with no display (some garbage parses as the window's flags: with a display, the
/// window would open and run until closed).
fn kvscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(args)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("kvscope runs")
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = kvscope(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

/// Asserts a usage error: exit 2, one line on stderr containing `needle`, no panic.
fn rejects(args: &[&str], needle: &str) {
    let out = kvscope(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?} prints one line: {err}"
    );
    assert!(
        err.contains(needle),
        "{args:?}: expected '{needle}' in: {err}"
    );
    assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
}

#[test]
fn done_criterion_llama_70b_at_1m() {
    let v = json(&[
        "calc",
        "--model",
        "llama-3.1-70b",
        "--context",
        "1M",
        "--json",
    ]);
    assert_eq!(v["kv_cache_bytes"], 327_680_000_000u64);
    assert_eq!(v["context"], 1_000_000);
}

/// Every leaf of a JSON object as a dotted path (`capacity.kv_tokens`).
fn leaves(v: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(v, &p, out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

/// The field names README's `--json` table documents (every backticked name in its first column).
fn documented_fields() -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = readme
        .split("### `--json` fields")
        .nth(1)
        .expect("README has a --json fields section");
    let mut out = Vec::new();
    for line in table.lines().skip_while(|l| !l.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let first = line.split('|').nth(1).unwrap_or("");
        for (i, part) in first.split('`').enumerate() {
            if i % 2 == 1 {
                out.push(part.to_string());
            }
        }
    }
    out
}

/// Longer than a screen: every field of the report, each checked by hand.
#[test]
fn json_has_every_documented_field() {
    // Llama 3.1 8B, four 128K sequences, paged, on an H100; every value by hand from the config
    // (32 layers, 8 KV heads, head_dim 128, 32 query heads, 8,030,261,248 bf16 parameters) and
    // the datasheet (80 GiB, 3.35 TB/s).
    let v = json(&["calc", "--model", "llama-3.1-8b", "--batch", "4", "--json"]);
    let mut got = Vec::new();
    leaves(&v, "", &mut got);
    let mut documented = documented_fields();
    got.sort();
    documented.sort();
    assert_eq!(got, documented, "JSON fields vs README's table");
    let kv = 4u64 * 131_072 * 131_072; // 68,719,476,736
    let weights = 8_030_261_248u64 * 2;
    let total = weights + kv; // 84,779,999,232
    let mem = 80u64 << 30;
    let scores = 32u64 * 4 * 131_072 * 131_072 * 2; // 4 TiB
                                                    // vLLM 0.19 rules at 0.9 (tests/calc.rs `vllm_capacity_terms` has the arithmetic): CUDA shows
                                                    // 79.19 GiB = 85,029,615,043 B; x 0.9 = 76,526,653,538 B; activation 2,023,007,191 B;
                                                    // non-torch 268,435,456 B on one GPU, 2.12 GiB = 2,276,332,666.88 B on each of a split, where
                                                    // weights and KV may take 76,526,653,538 - 2,023,007,191.04 - 2,276,332,666.88 = 72,227,313,680 B:
                                                    // 84,779,999,232 B need 1.17 of those, 2 GPUs; the 4 TiB score matrix 60.9, 61.
    let requested = 76_526_653_538u64;
    let want = serde_json::json!({
        "model": "llama-3.1-8b",
        "gpu": "h100",
        "context": 131_072,
        "batch": 4,
        "tokens": 524_288,
        "kv_dtype": "bf16",
        "weight_format": "bf16",
        "policy": "paged",
        "gpu_util": 0.9,
        "kv_bytes_per_token": 131_072,
        "kv_cache_bytes": kv,
        "fixed_state_bytes": 0,
        "weights_bytes": weights,
        "allocated_bytes": {"static": kv, "continuous": kv, "paged": kv},
        "total_bytes": total,
        "gpu_memory_bytes": mem,
        "usable_bytes_per_gpu": requested,
        "beyond_one_gpu_bytes": 0,
        "gpus_needed": 2,
        "scores_gpus_needed": 61,
        "efficiency": 1.0,
        "attention_scores_bytes": {
            "without_flash": scores,
            "with_flash": 32u64 * 4 * 131_072 * 4,
            "saved_by_flash": scores - 32 * 4 * 131_072 * 4,
        },
        "capacity": {
            "engine": "vllm",
            "rules": "vLLM 0.17-0.20 rules (calibrated on 0.19.0)",
            "tp": 1,
            "pp": 1,
            "util_name": "gpu_memory_utilization",
            "util": 0.9,
            "device_memory_bytes": 85_029_615_043u64,
            "device_memory_measured": true,
            "requested_bytes": requested,
            "weights_bytes": weights,
            "activation_bytes": 2_023_007_191u64,
            "non_torch_bytes": 268_435_456u64,
            "cuda_graph_bytes": 0,
            "max_num_batched_tokens": 8192,
            "max_num_seqs": 1024,
            "usable_bytes": 58_174_688_394u64,
            "block_tokens": 16,
            "block_bytes": 2_097_152,
            "gpu_blocks": 27_739,
            "kv_tokens": 443_824,
            "window_kv_tokens": 443_824, // 27,739 / 8,192 requests x 131,072 tokens
            "max_sequences": 3,
            "free_bytes": 0,
            "free_tokens": 0,
        },
        "per_gpu": {
            "gpus": 2,
            "weights_bytes": weights / 2,
            "kv_bytes": kv / 2,
            "fixed_state_bytes": 0,
            "total_bytes": total / 2,
            "block_bytes": 1_048_576,
            "engine_limit_bytes": 72_227_313_680u64,
            "kv_room_bytes": mem - weights / 2,
            "free_bytes": mem - total / 2,
            "scores_bytes": scores / 2,
        },
        "decode": {
            "bytes_per_step": total,
            "gpus": 2,
            "bytes_per_step_per_gpu": total / 2,
        },
        "formula": "2 × 32 layers × 8 KV heads × 128 head_dim × 2 B × 131,072 tokens × 4 sequences = 64.00 GiB",
    });
    let mut want_leaves = Vec::new();
    leaves(&want, "", &mut want_leaves);
    for path in &want_leaves {
        let pick = |v: &serde_json::Value| {
            path.split('.')
                .fold(v.clone(), |v, k| v.get(k).cloned().unwrap_or_default())
        };
        assert_eq!(pick(&v), pick(&want), "{path}");
    }
    // The floating-point fields: 84,779,999,232 B at 2 x 3.35 TB/s.
    let f = |path: &str| {
        path.split('.')
            .fold(&v, |v, k| &v[k])
            .as_f64()
            .unwrap_or_else(|| panic!("{path}"))
    };
    let step = 84_779_999_232.0 / 6.7e12;
    assert!((f("decode.step_seconds") - step).abs() < 1e-12);
    assert!((f("decode.tokens_per_second") - 4.0 / step).abs() < 1e-6);
    assert!((f("decode.tokens_per_second_per_sequence") - 1.0 / step).abs() < 1e-6);
    assert!((f("memory_fraction") - 84_779_999_232.0 / 85_899_345_920.0).abs() < 1e-12);
    assert!((f("capacity.max_concurrency") - 27_739.0 / 8_192.0).abs() < 1e-12);
    // Prefill of 131,072 tokens: 2 x 7,504,924,672 parameters (all but the input embedding) x
    // 131,072 + 32 layers x 2 x 32 heads x (128 + 128) x 131,072 x 131,073 / 2 causal pairs =
    // 6,471,004,960,325,632 FLOPs, at 2 x 989.4 TFLOPS dense bf16.
    assert!((f("latency.prefill_flops") - 6_471_004_960_325_632.0).abs() < 1e3);
    assert!((f("latency.prefill_seconds") - 6_471_004_960_325_632.0 / 1978.8e12).abs() < 1e-9);
    assert!((f("latency.decode_seconds_per_token") - step).abs() < 1e-12);
    // Every field has been checked: the exact ones and the eight floating-point ones.
    assert_eq!(want_leaves.len() + 8, got.len());
}

#[test]
fn human_table_shows_the_derivation() {
    let out = kvscope(&[
        "calc",
        "--model",
        "meta-llama/Llama-3.1-70B",
        "--context",
        "1M",
    ]);
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(
        s.contains(
            "2 × 80 layers × 8 KV heads × 128 head_dim × 2 B × 1,000,000 tokens = 305.18 GiB"
        ),
        "{s}"
    );
    assert!(s.contains("7 × NVIDIA H100"), "{s}");
    assert!(
        s.contains("beyond the model's max_position_embeddings 131,072"),
        "{s}"
    );
}

#[test]
fn policies_and_lengths_from_the_command_line() {
    let v = json(&[
        "calc",
        "--model",
        "llama-3.1-8b",
        "--context",
        "4096",
        "--lengths",
        "1000,17,4K",
        "--policy",
        "static",
        "--json",
    ]);
    assert_eq!(v["batch"], 3);
    assert_eq!(v["kv_cache_bytes"], 131_072u64 * 5113);
    assert_eq!(v["allocated_bytes"]["static"], 131_072u64 * 3 * 4096);
    assert_eq!(v["total_bytes"], 8_030_261_248u64 * 2 + 131_072 * 3 * 4096);
    let v = json(&[
        "calc",
        "--model",
        "llama-3.1-8b",
        "--context",
        "4096",
        "--tokens",
        "100",
        "--batch",
        "2",
        "--json",
    ]);
    assert_eq!(v["kv_cache_bytes"], 131_072u64 * 200);
    assert_eq!(v["allocated_bytes"]["paged"], 131_072u64 * 2 * 112);
}

#[test]
fn dtypes_and_skip_weights() {
    let v = json(&[
        "calc",
        "--model",
        "llama-3.1-70b",
        "--context",
        "1M",
        "--kv-dtype",
        "int4",
        "--weight-dtype",
        "fp8",
        "--skip-weights",
        "--json",
    ]);
    assert_eq!(v["kv_cache_bytes"], 81_920_000_000u64);
    assert_eq!(v["weights_bytes"], 0);
    assert_eq!(v["gpus_needed"], 2); // 76.29 GiB over 72 GiB usable
}

#[test]
fn imported_config_json() {
    let dir = std::env::temp_dir().join(format!("kvscope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p: PathBuf = dir.join("config.json");
    // Mistral-7B-v0.1's config.json as published (the fields kvscope reads)
    std::fs::write(
        &p,
        r#"{"architectures":["MistralForCausalLM"],"model_type":"mistral","hidden_size":4096,
        "intermediate_size":14336,"max_position_embeddings":32768,"num_attention_heads":32,
        "num_hidden_layers":32,"num_key_value_heads":8,"sliding_window":4096,"rms_norm_eps":1e-05,
        "rope_theta":10000.0,"tie_word_embeddings":false,"torch_dtype":"bfloat16","vocab_size":32000}"#,
    )
    .unwrap();
    let v = json(&[
        "calc",
        "--config",
        p.to_str().unwrap(),
        "--context",
        "32K",
        "--json",
    ]);
    assert_eq!(v["kv_cache_bytes"], 32u64 * 2 * 8 * 128 * 2 * 4096);
    assert_eq!(v["weights_bytes"], 7_241_732_096u64 * 2);
    std::fs::write(&p, r#"{"model_type":"mistral","hidden_size":4096}"#).unwrap();
    rejects(
        &["calc", "--config", p.to_str().unwrap()],
        "missing field `num_hidden_layers`",
    );
    std::fs::write(&p, "{\"model_type\": ").unwrap();
    rejects(&["calc", "--config", p.to_str().unwrap()], "invalid JSON");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn list_commands() {
    let out = kvscope(&["list", "gpus"]);
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("h100") && s.contains("wse-3"));
    let v = json(&["list", "models", "--json"]);
    // 24 models and 28 accelerators, and the 15 of each added for 2025-26
    assert_eq!(v.as_array().unwrap().len(), 24 + 15);
    let v = json(&["list", "gpus", "--json"]);
    assert_eq!(v.as_array().unwrap().len(), 28 + 15);
}

/// Longer than a screen: one row per kind of bad input and the line it must print.
#[test]
fn bad_input_is_one_line_and_status_2() {
    rejects(&["calc", "--model", "llama-3.1-7b"], "closest: ");
    rejects(
        &["calc", "--model", "llama-3.1-8b", "--context", "0"],
        "zero",
    );
    rejects(
        &["calc", "--model", "llama-3.1-8b", "--context", "-5"],
        "negative",
    );
    rejects(
        &["calc", "--model", "llama-3.1-8b", "--context", "lots"],
        "not a token count",
    );
    rejects(
        &[
            "calc",
            "--model",
            "llama-3.1-8b",
            "--context",
            "99999999999999999999",
        ],
        "too large",
    );
    rejects(
        &["calc", "--model", "llama-3.1-8b", "--batch", "0"],
        "--batch",
    );
    rejects(
        &["calc", "--model", "llama-3.1-8b", "--batch", "-3"],
        "negative",
    );
    rejects(
        &["calc", "--model", "llama-3.1-8b", "--kv-dtype", "int3"],
        "unknown dtype 'int3'",
    );
    rejects(
        &["calc", "--model", "llama-3.1-8b", "--kv-dtype", "mxfp4"],
        "weight format",
    );
    rejects(
        &["calc", "--model", "llama-3.1-8b", "--gpu-util", "1.5"],
        "(0, 1]",
    );
    rejects(
        &["calc", "--model", "llama-3.1-8b", "--gpu", "h1000"],
        "unknown GPU \"h1000\"",
    );
    rejects(
        &["calc", "--model", "llama-3.1-8b", "--policy", "greedy"],
        "greedy",
    );
    rejects(
        &[
            "calc",
            "--model",
            "llama-3.1-8b",
            "--context",
            "1000",
            "--tokens",
            "2000",
        ],
        "longer than --context",
    );
    rejects(
        &["calc", "--config", "/nonexistent/config.json"],
        "cannot read /nonexistent/config.json",
    );
    rejects(&["frobnicate"], "frobnicate");
    rejects(
        &["render", "--size", "0x100", "--out", "/tmp/x.png"],
        "each side",
    );
    rejects(
        &["render", "--size", "big", "--out", "/tmp/x.png"],
        "WIDTHxHEIGHT",
    );
    rejects(
        &["render", "--scale", "0", "--out", "/tmp/x.png"],
        "between 0.25 and 8",
    );
    rejects(
        &["render", "--speed", "3", "--out", "/tmp/x.png"],
        "0.5 1 2 5 10 20 50 100",
    );
    rejects(
        &["render", "--batch", "1000", "--out", "/tmp/x.png"],
        "sequences the scene draws",
    );
    rejects(
        &["render", "--backend", "glide", "--out", "/tmp/x.png"],
        "unknown backend",
    );
    rejects(&["render"], "--out");
    rejects(
        &["calc", "--block-size", "0"],
        "outside 1..=1024 tokens per page",
    );
    rejects(
        &["calc", "--block-size", "sixteen"],
        "whole number of tokens",
    );
    // Window flags belong to the window: before another command they are refused, not ignored.
    rejects(&["--fa", "calc"], "cannot be used with '--fa'");
    rejects(
        &["--batch", "8", "list", "gpus"],
        "cannot be used with '--batch'",
    );
    rejects(&["--frames", "0"], "1 or more");
    rejects(&["--seconds", "0"], "more than 0 seconds");
    rejects(&["--frames", "5", "--seconds", "2"], "--seconds");
    rejects(
        &["--screenshot", "/tmp/x.png"],
        "--screenshot needs --frames",
    );
    rejects(
        &["calc", "--model", "llama-3.1-70b", "--tp", "3"],
        "--tp 3 does not divide Llama 3.1 70B's 64 attention heads",
    );
    rejects(
        &["calc", "--model", "qwen2.5-7b", "--tp", "14"],
        "--tp 14 neither divides nor is a multiple of Qwen2.5 7B's 4 KV heads",
    );
    rejects(&["calc", "--pp", "100"], "more than the 32 layers");
    rejects(&["calc", "--tp", "0"], "not a degree in 1..=65536");
    rejects(
        &["calc", "--engine", "tgi"],
        "unknown engine 'tgi' (use vllm or sglang)",
    );
    rejects(
        &[
            "render",
            "--tp",
            "3",
            "--model",
            "llama-3.1-70b",
            "--out",
            "/tmp/x.png",
        ],
        "--tp 3",
    );
}

#[test]
fn extreme_settings_do_not_overflow() {
    let v = json(&[
        "calc",
        "--model",
        "llama-3.1-405b",
        "--context",
        "100M",
        "--batch",
        "128",
        "--weight-dtype",
        "fp32",
        "--json",
    ]);
    // fp32 weights compute in fp32, so the cache ("auto") is fp32 too: 1,032,192 B/token x 100M x 128
    assert_eq!(v["kv_cache_bytes"], 1_032_192u64 * 100_000_000 * 128);
    assert!(v["gpus_needed"].as_u64().unwrap() > 80_000);
    // the score matrix is beyond u64 and still printed exactly (fp32 compute: 4 B)
    let raw = String::from_utf8(
        kvscope(&[
            "calc",
            "--model",
            "llama-3.1-405b",
            "--context",
            "100M",
            "--batch",
            "128",
            "--weight-dtype",
            "fp32",
            "--json",
        ])
        .stdout,
    )
    .unwrap();
    let want = format!(
        "\"without_flash\": {}",
        128u128 * 128 * 100_000_000u128.pow(2) * 4
    );
    assert!(raw.contains(&want), "{raw}");
}

#[test]
fn broken_catalog_files_are_reported() {
    let dir = std::env::temp_dir().join(format!("kvscope-cat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_str().unwrap();
    std::fs::write(
        dir.join("gpus.toml"),
        "[[gpus]]\nid = \"x\"\nname = \"X\"\n",
    )
    .unwrap();
    rejects(
        &["--catalog", d, "list", "gpus"],
        "gpu \"x\": missing field `memory`",
    );
    std::fs::write(dir.join("gpus.toml"), "[[gpus]\nid = ").unwrap();
    rejects(&["--catalog", d, "list", "gpus"], "gpus.toml");
    std::fs::remove_file(dir.join("gpus.toml")).unwrap();
    std::fs::write(
        dir.join("models.toml"),
        "[[models]]\nid = \"m\"\nname = \"M\"\nsource = \"https://x\"\ntotal_params = 1\nactive_params = 1\nparams_source = \"https://x\"\n[models.config]\nmodel_type = \"llama\"\nhidden_size = 64\n",
    )
    .unwrap();
    rejects(
        &["--catalog", d, "list", "models"],
        "model \"m\": missing field `num_hidden_layers`",
    );
    rejects(
        &["--catalog", "/nonexistent-dir", "list", "models"],
        "not a directory",
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn garbage_never_panics() {
    // A deterministic stream of odd arguments: none may panic, all must exit 0 or 2.
    let words = [
        "calc",
        "list",
        "--model",
        "--context",
        "--batch",
        "--gpu",
        "--kv-dtype",
        "--json",
        "1M",
        "0",
        "-1",
        "9999999999999",
        "llama-3.1-8b",
        "gpt2",
        "h100",
        "ipu-mk2",
        "int4",
        "fp8",
        "\u{1F600}",
        "",
        "--lengths",
        "1,2,,3",
        "--tokens",
        "128K",
        "gpus",
        "models",
        "--policy",
        "static",
        "--gpu-util",
        "0",
        "1e-9",
        "NaN",
        "--config",
        "/dev/null",
        "--catalog",
        "/tmp",
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..60 {
        let mut args = Vec::new();
        for _ in 0..(x % 7) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            args.push(words[(x % words.len() as u64) as usize]);
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let out = kvscope(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            matches!(out.status.code(), Some(0) | Some(2)),
            "{args:?}: {:?} {err}",
            out.status
        );
    }
}

#[test]
fn no_display_is_one_line_not_a_panic() {
    let out = Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("window"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn render_writes_a_png_of_the_asked_size() {
    let p = std::env::temp_dir().join(format!("kvscope-cli-render-{}.png", std::process::id()));
    let out = kvscope(&[
        "render",
        "--out",
        p.to_str().unwrap(),
        "--size",
        "800x450",
        "--model",
        "gpt2",
        "--gpu",
        "t4",
        "--fa",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && std::env::var_os("CI").is_none() && err.contains("adapter") {
        eprintln!("skipping: {err}");
        return;
    }
    assert!(out.status.success(), "{err}");
    let bytes = std::fs::read(&p).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    // IHDR: width and height, big-endian, at bytes 16..24
    assert_eq!(u32::from_be_bytes(bytes[16..20].try_into().unwrap()), 800);
    assert_eq!(u32::from_be_bytes(bytes[20..24].try_into().unwrap()), 450);
    std::fs::remove_file(&p).ok();
    let out = kvscope(&["render", "--frames", "3", "--size", "320x180"]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("3 frames at 320x180") && s.contains("median"),
        "{s}"
    );
}

#[test]
fn no_adapter_is_one_line_naming_the_fix() {
    // No Metal on this platform: the adapter request fails, and says what to install.
    if cfg!(target_os = "macos") {
        return;
    }
    rejects(
        &[
            "render",
            "--backend",
            "metal",
            "--out",
            "/tmp/kvscope-none.png",
        ],
        "no GPU adapter found",
    );
    let out = kvscope(&[
        "render",
        "--backend",
        "metal",
        "--out",
        "/tmp/kvscope-none.png",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("mesa-vulkan-drivers"));
}

#[test]
fn table_recomputes_the_seed_and_flags_its_wrong_cells() {
    let v = json(&["table", "--json"]);
    // The cells the seed prints wrongly at its own precision, with the right values:
    // 2 x 16 x 8 x 64 x 2 B x 2,000,000 = 65,536,000,000 B (61.04 GiB, "62 GiB"),
    // the same x 5 at 10M (305.18 GiB, "312 GiB"), DeepSeek-V3 61 x 576 x 2 B x 131,072 =
    // 9,210,691,584 B (8.58 GiB, "8.5 GiB"), Llama 3.1 405B 2 x 126 x 8 x 128 x 2 B x 2,000,000 =
    // 1,032,192,000,000 B (961.30 GiB, "962 GiB").
    let mut wrong = Vec::new();
    for row in v["fp16"].as_array().unwrap() {
        for (i, c) in row["cells"].as_array().unwrap().iter().enumerate() {
            if c["seed_wrong"] == true {
                wrong.push((
                    row["model"].as_str().unwrap().to_string(),
                    i,
                    c["bytes"].clone(),
                ));
            }
        }
    }
    assert_eq!(
        wrong,
        vec![
            (
                "llama-3.2-1b".to_string(),
                2,
                serde_json::json!(65_536_000_000u64)
            ),
            (
                "llama-3.2-1b".to_string(),
                3,
                serde_json::json!(327_680_000_000u64)
            ),
            (
                "deepseek-v3".to_string(),
                0,
                serde_json::json!(9_210_691_584u64)
            ),
            (
                "llama-3.1-405b".to_string(),
                2,
                serde_json::json!(1_032_192_000_000u64)
            ),
        ]
    );
    // Llama 3.1 70B at 1M: 2 x 80 x 8 x 128 x 1M tokens x 4 / 2 / 1 / 0.5 B; the seed's sizes are
    // right at its rounding, its reductions exactly.
    let d = v["dtypes"].as_array().unwrap();
    let bytes: Vec<u64> = d
        .iter()
        .map(|r| r["cell"]["bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(
        bytes,
        vec![
            655_360_000_000,
            327_680_000_000,
            327_680_000_000,
            163_840_000_000,
            81_920_000_000
        ]
    );
    assert!(d.iter().all(|r| r["cell"]["seed_wrong"] == false));
    // int4: the cache alone needs 2 H100s under vLLM's budget (76.29 GiB over 69.06 GiB on one),
    // the seed says 1; with the bf16 weights 4 (tests/calc.rs has the arithmetic).
    assert_eq!(d[4]["h100s_kv_alone"], 2);
    assert_eq!(d[4]["seed_h100s"], 1);
    assert_eq!(d[4]["h100s_with_weights"], 4);
    let text = String::from_utf8(kvscope(&["table"]).stdout).unwrap();
    assert!(text.contains("61.04 GiB (seed: 62 GiB)"), "{text}");
}

#[test]
fn bench_headless_plays_every_state_and_reports_it() {
    rejects(&["bench", "--seconds", "0"], "more than 0 seconds");
    rejects(&["bench", "--size", "0x100"], "0x100");
    let out = kvscope(&[
        "bench",
        "--headless",
        "--json",
        "--seconds",
        "0.4",
        "--size",
        "480x270",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && std::env::var_os("CI").is_none() && err.contains("adapter") {
        eprintln!("skipping: {err}");
        return;
    }
    assert!(out.status.success(), "{err}");
    // Progress on stderr, one line per state.
    assert_eq!(err.matches("bench ").count(), 6, "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["mode"], "headless");
    assert_eq!(v["width"], 480);
    let rows = v["rows"].as_array().unwrap();
    let keys: Vec<&str> = rows.iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["a", "b", "c", "d", "e", "f"]);
    assert_eq!(rows[3]["state"], "static b128 100x");
    for r in rows {
        let (med, p95) = (
            r["median_ms"].as_f64().unwrap(),
            r["p95_ms"].as_f64().unwrap(),
        );
        assert!(med > 0.0 && p95 >= med, "{r}");
        let fps = r["fps"].as_f64().unwrap();
        assert!((fps - 1000.0 / med).abs() < 1e-6 * fps, "{r}");
        assert!(r["banks"].as_u64().unwrap() > 0, "{r}");
        assert_eq!(r["below_refresh"].as_bool().unwrap(), fps < 60.0, "{r}");
    }
    // The table names each state and flags those below the refresh rate.
    let out = kvscope(&[
        "bench",
        "--headless",
        "--seconds",
        "0.2",
        "--size",
        "320x180",
    ]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("kvscope bench: 320x180 headless"), "{s}");
    assert!(s.contains("b1 100M CB+PA+FA 1x"), "{s}");
}
