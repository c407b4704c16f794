use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = hostadmin::cli::Cli::parse();
    match hostadmin::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hostadmin: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
