//! What the `contas` binary runs: its command line ([`Cli`]), each command
//! wired from it, and the exit status each outcome ends with.

mod cli;
mod commands;
mod connect;
mod embedded;
mod serve;

pub use cli::{Cli, Command, EmbeddedCommand, LockArgs, ServeArgs};
pub use embedded::EXIT_NOT_RUNNING;

use crate::http::auth;
use crate::store::lock::LockError;
use anyhow::Result;
use connect::Store;
use std::process::ExitCode;

/// Exit status of a writer that gave up on the store's lock (sysexits'
/// EX_TEMPFAIL: try again later).
pub const EXIT_STORE_BUSY: u8 = 75;

/// Exit status of a start refused for its configuration (sysexits'
/// EX_CONFIG).
pub const EXIT_CONFIG: u8 = 78;

/// Runs the command `cli` names and says how the process ends; errors are
/// printed on stderr.
pub async fn run(cli: Cli) -> ExitCode {
    match run_command(cli).await {
        Ok(code) => code,
        Err(e) => {
            // Refusals an operator acts on are one line; anything else
            // carries its chain of causes.
            if let Some(busy @ (LockError::Busy { .. } | LockError::TimedOut { .. })) =
                e.downcast_ref::<LockError>()
            {
                eprintln!("Error: {busy}");
                ExitCode::from(EXIT_STORE_BUSY)
            } else if let Some(unprotected) = e.downcast_ref::<auth::Unprotected>() {
                eprintln!("Error: {unprotected}");
                ExitCode::from(EXIT_CONFIG)
            } else {
                eprintln!("Error: {e:?}");
                ExitCode::FAILURE
            }
        }
    }
}

async fn run_command(cli: Cli) -> Result<ExitCode> {
    let store = Store {
        database_url: cli.database_url,
        data_dir: embedded::data_dir(cli.data_dir),
    };
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(Box::new(ServeArgs::parse_defaults())));
    match command {
        Command::Serve(args) => serve::serve(store, *args).await?,
        Command::Migrate { distributed } => commands::migrate(store, distributed).await?,
        Command::Import { file, quiet, lock } => {
            commands::import(store, &file, quiet, &lock).await?
        }
        Command::Seed { args, if_empty } => commands::seed(store, &args, if_empty).await?,
        Command::Retention {
            keep_months,
            dry_run,
            no_compact,
            lock,
        } => commands::retention(store, keep_months, dry_run, no_compact, &lock).await?,
        Command::Healthcheck(args) => crate::healthcheck::check(&args).await?,
        Command::Embedded { command } => match command {
            EmbeddedCommand::Status => {
                if !embedded::status(&store.data_dir)? {
                    return Ok(ExitCode::from(EXIT_NOT_RUNNING));
                }
            }
            EmbeddedCommand::Stop => embedded::stop(&store.data_dir)?,
        },
    }
    Ok(ExitCode::SUCCESS)
}
