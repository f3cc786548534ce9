//! The real window under Xvfb: a few frames, then the screenshot it writes is checked. Needs Xvfb
//! (installed by .ci/run); with CI set, a missing Xvfb or adapter fails the test.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Xvfb(Child);

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_xvfb() -> Option<(Xvfb, String)> {
    for n in 0..20 {
        let display = format!(":{}", 140 + (std::process::id() % 50) + n * 7);
        let child = Command::new("Xvfb")
            .args([
                display.as_str(),
                "-screen",
                "0",
                "1920x1080x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                if std::env::var_os("CI").is_some() {
                    panic!("CI needs Xvfb: {e}");
                }
                eprintln!("skipping window test: no Xvfb ({e})");
                return None;
            }
        };
        // Ready once its socket exists; gone if the display was taken.
        let sock = format!("/tmp/.X11-unix/X{}", &display[1..]);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if std::path::Path::new(&sock).exists() {
                return Some((Xvfb(child), display));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
    }
    panic!("could not start Xvfb on any display");
}

#[test]
fn window_opens_draws_and_screenshots() {
    let Some((_x, display)) = start_xvfb() else {
        return;
    };
    let shot = std::env::temp_dir().join(format!("kvscope-window-{}.png", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args([
            "run",
            "--frames",
            "8",
            "--size",
            "1280x720",
            "--screenshot",
            shot.to_str().unwrap(),
            "--fa",
        ])
        .env("DISPLAY", &display)
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "window run failed: {err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("8 frames"));
    let data = std::fs::read(&shot).expect("screenshot written");
    let decoder = png::Decoder::new(std::io::Cursor::new(data));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    // Xvfb has scale factor 1: the screenshot is the window's size.
    assert_eq!((info.width, info.height), (1280, 720));
    // The weights' purple and the flash banner's red are on screen.
    let px: Vec<[u8; 3]> = buf.chunks(4).map(|c| [c[0], c[1], c[2]]).collect();
    let purple = px
        .iter()
        .filter(|c| c[0].abs_diff(0x8b) < 4 && c[1].abs_diff(0x5c) < 4 && c[2].abs_diff(0xf6) < 4)
        .count();
    assert!(purple > 5_000, "{purple} purple pixels");
    std::fs::remove_file(&shot).ok();
}
