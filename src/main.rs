//! kvscope's entry point: parse the command line, dispatch, turn errors into one line and exit 2.

use kvscope::cli::{self, Command};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    kvscope::app::mark_launch();
    env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or(
            "warn,wgpu_core=warn,wgpu_hal=error,wgpu_hal::gles::egl=off,naga=warn",
        ),
    )
    .init();
    let cli = match cli::parse_args(std::env::args_os()) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // clap's message, without its usage block: one clear line.
            let text = e.render().to_string();
            let line = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("kvscope: {}", line.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    let result: Result<String, cli::UsageError> = match &cli.command {
        Some(Command::Calc(a)) => cli::run_calc(cli.catalog.as_ref(), a),
        Some(Command::List(a)) => cli::run_list(cli.catalog.as_ref(), a),
        Some(Command::Table(a)) => cli::run_table(cli.catalog.as_ref(), a),
        Some(Command::Render(a)) => cli::run_render(cli.catalog.as_ref(), a),
        Some(Command::Run(a)) => cli::run_window(cli.catalog.as_ref(), a),
        Some(Command::Bench(a)) => cli::run_bench(cli.catalog.as_ref(), a),
        None => cli::run_window(cli.catalog.as_ref(), &cli.run),
    };
    match result {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`kvscope list models | head`) is not an error worth a panic.
            let _ = stdout.write_all(out.as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kvscope: {e}");
            ExitCode::from(2)
        }
    }
}
