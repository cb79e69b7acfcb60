use clap::Parser;
use contas::startup::{self, Cli};
use std::process::ExitCode;

/// Every request allocates and frees small buffers on two threads; glibc's
/// malloc spent a sixth of the service's CPU on them under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.init_logging();
    startup::run(cli).await
}
