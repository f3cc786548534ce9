//! The command line end to end: real output, and one clear line with exit status 2 for bad input.

use std::path::PathBuf;
use std::process::{Command, Output};

fn kvscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(args)
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

#[test]
fn json_has_every_documented_field() {
    let v = json(&[
        "calc",
        "--model",
        "qwen3-next-80b-a3b",
        "--batch",
        "4",
        "--json",
    ]);
    for k in [
        "kv_cache_bytes",
        "fixed_state_bytes",
        "weights_bytes",
        "total_bytes",
        "gpus_needed",
        "gpu_memory_bytes",
    ] {
        assert!(v[k].is_u64(), "{k} is an integer: {}", v[k]);
    }
    for (obj, keys) in [
        ("allocated_bytes", &["static", "continuous", "paged"][..]),
        (
            "attention_scores_bytes",
            &["without_flash", "with_flash"][..],
        ),
        (
            "capacity",
            &["gpu_blocks", "kv_tokens", "max_concurrency"][..],
        ),
    ] {
        for k in keys {
            assert!(v[obj][k].is_u64(), "{obj}.{k}: {}", v[obj][k]);
        }
    }
    // defaults: H100, 128K, paged, 0.9
    assert_eq!(v["gpu_memory_bytes"], 80u64 << 30);
    assert_eq!(v["context"], 131_072);
    assert_eq!(v["policy"], "paged");
    assert_eq!(v["batch"], 4);
    assert!(v["fixed_state_bytes"].as_u64().unwrap() > 0);
    // total = weights + paged KV + fixed state
    let sum = v["weights_bytes"].as_u64().unwrap()
        + v["allocated_bytes"]["paged"].as_u64().unwrap()
        + v["fixed_state_bytes"].as_u64().unwrap();
    assert_eq!(v["total_bytes"].as_u64().unwrap(), sum);
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
    assert_eq!(v.as_array().unwrap().len(), 24);
    let v = json(&["list", "gpus", "--json"]);
    assert_eq!(v.as_array().unwrap().len(), 28);
}

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
    // 516,096 B/token x 100M x 128
    assert_eq!(v["kv_cache_bytes"], 516_096u64 * 100_000_000 * 128);
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
