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

/// Displays this process has tried (tests run in parallel threads of one process).
static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn start_xvfb() -> Option<(Xvfb, String)> {
    for _ in 0..20 {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let number = 140 + (std::process::id() % 50) * 13 + n;
        if std::path::Path::new(&format!("/tmp/.X{number}-lock")).exists() {
            continue;
        }
        let display = format!(":{number}");
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
                // Another server's socket, if ours has exited (display taken).
                std::thread::sleep(Duration::from_millis(100));
                if let Ok(None) = child.try_wait() {
                    return Some((Xvfb(child), display));
                }
                break;
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

/// The X server's root window as (width, height, RGB pixels), read with `xwd`.
fn grab_screen(display: &str) -> Option<(u32, u32, Vec<[u8; 3]>)> {
    let out = Command::new("xwd")
        .args(["-root", "-silent", "-display", display])
        .output();
    let out = match out {
        Ok(o) if o.status.success() => o.stdout,
        Ok(o) => panic!("xwd failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => {
            if std::env::var_os("CI").is_some() {
                panic!("CI needs xwd (x11-apps): {e}");
            }
            eprintln!("skipping: no xwd ({e})");
            return None;
        }
    };
    // XWD: a header of big-endian u32 fields, the colormap (12 bytes an entry), then the pixels.
    let field = |i: usize| u32::from_be_bytes(out[i * 4..i * 4 + 4].try_into().unwrap());
    let (header, width, height) = (field(0) as usize, field(4), field(5));
    let (byte_order, bpp, stride, ncolors) =
        (field(7), field(11), field(12) as usize, field(19) as usize);
    assert_eq!(bpp, 32, "Xvfb at depth 24 stores 32 bits a pixel");
    let data = &out[header + ncolors * 12..];
    let mut px = Vec::with_capacity((width * height) as usize);
    for y in 0..height as usize {
        for x in 0..width as usize {
            let p = &data[y * stride + x * 4..y * stride + x * 4 + 4];
            let v = if byte_order == 0 {
                u32::from_le_bytes(p.try_into().unwrap())
            } else {
                u32::from_be_bytes(p.try_into().unwrap())
            };
            px.push([(v >> 16) as u8, (v >> 8) as u8, v as u8]);
        }
    }
    Some((width, height, px))
}

#[test]
fn both_ways_of_presenting_put_the_frame_on_the_screen() {
    // What reaches the X server, not a re-render: the copy presenter (shared memory, used with a
    // software adapter) and the wgpu surface must both show the weights' purple.
    for mode in ["copy", "surface"] {
        let Some((_x, display)) = start_xvfb() else {
            return;
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_kvscope"))
            .args([
                "run",
                "--frames",
                "100000",
                "--size",
                "1280x720",
                "--present",
                mode,
            ])
            .env("DISPLAY", &display)
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let mut purple = 0;
        let mut size = (0, 0);
        while start.elapsed() < Duration::from_secs(30) && purple <= 5_000 {
            std::thread::sleep(Duration::from_millis(500));
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                use std::io::Read;
                child.stderr.take().unwrap().read_to_string(&mut err).ok();
                panic!("{mode}: the window exited ({status}): {err}");
            }
            let Some((w, h, px)) = grab_screen(&display) else {
                let _ = child.kill();
                return;
            };
            size = (w, h);
            purple = px
                .iter()
                .filter(|c| {
                    c[0].abs_diff(0x8b) < 4 && c[1].abs_diff(0x5c) < 4 && c[2].abs_diff(0xf6) < 4
                })
                .count();
        }
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(size, (1920, 1080), "{mode}: the root window");
        assert!(purple > 5_000, "{mode}: {purple} purple pixels on screen");
    }
}

/// RGBA pixels of a PNG file as (width, height, RGB).
fn read_png(path: &std::path::Path) -> (u32, u32, Vec<[u8; 3]>) {
    let data = std::fs::read(path).expect("screenshot written");
    let decoder = png::Decoder::new(std::io::Cursor::new(data));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = buf.chunks(4).map(|c| [c[0], c[1], c[2]]).collect();
    (info.width, info.height, px)
}

#[test]
fn the_screenshot_is_the_frame_on_the_screen() {
    // `--screenshot` writes the frame the window shows, not a second rendering: paused (nothing
    // moves), the PNG must match what the X server shows in the window's rectangle.
    for mode in ["copy", "surface"] {
        let Some((_x, display)) = start_xvfb() else {
            return;
        };
        let shot =
            std::env::temp_dir().join(format!("kvscope-shot-{mode}-{}.png", std::process::id()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_kvscope"))
            .args([
                "--paused",
                "--fa",
                "--seconds",
                "4",
                "--size",
                "1280x720",
                "--present",
                mode,
                "--screenshot",
                shot.to_str().unwrap(),
            ])
            .env("DISPLAY", &display)
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut last = None;
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(300));
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                use std::io::Read;
                child.stderr.take().unwrap().read_to_string(&mut err).ok();
                assert!(status.success(), "{mode}: {err}");
                break;
            }
            let Some(screen) = grab_screen(&display) else {
                let _ = child.kill();
                let _ = child.wait();
                return;
            };
            last = Some(screen);
        }
        let _ = child.kill();
        let _ = child.wait();
        let (sw, _, screen) = last.expect("the window was on the screen");
        let (w, h, png) = read_png(&shot);
        assert_eq!((w, h), (1280, 720), "{mode}");
        let mut differ = 0;
        for y in 0..h as usize {
            for x in 0..w as usize {
                let a = png[y * w as usize + x];
                let b = screen[y * sw as usize + x];
                if (0..3).any(|i| a[i].abs_diff(b[i]) > 2) {
                    differ += 1;
                }
            }
        }
        let purple = png
            .iter()
            .filter(|c| {
                c[0].abs_diff(0x8b) < 4 && c[1].abs_diff(0x5c) < 4 && c[2].abs_diff(0xf6) < 4
            })
            .count();
        assert!(purple > 5_000, "{mode}: {purple} purple pixels in the PNG");
        assert!(
            differ < (w * h / 100) as usize,
            "{mode}: {differ} pixels differ between the PNG and the screen"
        );
        std::fs::remove_file(&shot).ok();
    }
}

/// The median time between frames a run prints ("N frames: median X ms between frames").
fn median_ms(stdout: &[u8]) -> f64 {
    let s = String::from_utf8_lossy(stdout);
    let after = s.split("median ").nth(1).unwrap_or_else(|| panic!("{s}"));
    after.split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn normal_use_is_paced_to_the_display_and_measurements_are_not() {
    let Some((_x, display)) = start_xvfb() else {
        return;
    };
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_kvscope"))
            .args(args)
            .env("DISPLAY", &display)
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        median_ms(&out.stdout)
    };
    // Xvfb reports no refresh rate: 60 Hz, 16.7 ms a frame, though a small window draws in a few.
    let paced = run(&["--seconds", "2", "--size", "480x270"]);
    assert!((15.0..25.0).contains(&paced), "paced: {paced} ms");
    let unthrottled = run(&["--frames", "60", "--size", "480x270"]);
    assert!(unthrottled < 14.0, "--frames: {unthrottled} ms");
    // The same line also gives the 95th percentile, and the next when the first frame showed.
    let out = Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(["--frames", "30", "--size", "480x270"])
        .env("DISPLAY", &display)
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    let num = |after: &str| -> f64 {
        let rest = s
            .split(after)
            .nth(1)
            .unwrap_or_else(|| panic!("no '{after}' in {s}"));
        rest.split(' ').next().unwrap().parse().unwrap()
    };
    let (median, p95) = (median_ms(&out.stdout), num("p95 "));
    assert!(s.starts_with("30 frames: median "), "{s}");
    assert!(p95 >= median, "{s}");
    let first = num("first frame on screen ");
    assert!(first > 0.0 && first < 30_000.0, "{s}");
    assert!(s.contains(" ms after launch"), "{s}");
}
