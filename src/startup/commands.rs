//! The commands that write to the store: `migrate`, `import`, `seed` and
//! `retention`.

use super::cli::LockArgs;
use super::connect::{Store, connect};
use crate::store::distribution::{self, Engine};
use crate::store::retention;
use crate::{db, import, seed};
use anyhow::{Context, Result};
use std::io::IsTerminal;
use std::path::Path;

pub(super) async fn migrate(store: Store, distributed: bool) -> Result<()> {
    let pool = connect(store.options().await?).await?;
    if distributed {
        distribution::create_extension(&mut *pool.acquire().await?)
            .await
            .context("adding the citus extension (does the server preload Citus?)")?;
    }
    db::migrate(&pool).await.context("applying migrations")?;
    if Engine::of(&mut *pool.acquire().await?).await? == Engine::Citus {
        eprintln!("migrations applied; the schema is distributed (Citus)");
    } else {
        eprintln!("migrations applied");
    }
    Ok(())
}

pub(super) async fn import(store: Store, file: &Path, quiet: bool, lock: &LockArgs) -> Result<()> {
    let pool = store.connect_bulk("contas import").await?;
    db::migrate(&pool).await.context("applying migrations")?;
    let options = import::ImportOptions {
        progress: !quiet && std::io::stderr().is_terminal(),
        lock: lock.wait(),
        ..import::ImportOptions::default()
    };
    let summary = import::import_path(&pool, file, &options).await?;
    println!("{summary}");
    Ok(())
}

pub(super) async fn seed(store: Store, args: &seed::SeedArgs, if_empty: bool) -> Result<()> {
    if let Some(path) = &args.output {
        // The records may be on stdout: the summary goes to stderr.
        eprintln!("{}", seed::write_path(&args.config(), path)?);
        return Ok(());
    }
    let pool = store.connect_bulk("contas seed").await?;
    db::migrate(&pool).await.context("applying migrations")?;
    if if_empty && !seed::is_empty(&pool).await? {
        println!("the store holds data already: not seeding");
        return Ok(());
    }
    let summary = seed::seed(&pool, &args.config()).await?;
    println!("{summary}");
    Ok(())
}

pub(super) async fn retention(
    store: Store,
    keep_months: u32,
    dry_run: bool,
    no_compact: bool,
    lock: &LockArgs,
) -> Result<()> {
    let pool = store.connect_bulk("contas retention").await?;
    db::migrate(&pool).await.context("applying migrations")?;
    let mut connection = pool.acquire().await?;
    let options = retention::RetentionOptions {
        today: crate::domain::time::brasilia_date(chrono::Utc::now()),
        keep_months,
        dry_run,
        compact: !no_compact,
        lock: lock.wait(),
    };
    let report = retention::run(&mut connection, &options).await?;
    println!("{report}");
    Ok(())
}
