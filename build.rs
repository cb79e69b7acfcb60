//! Gives the binary its source revision (`contas_build_info`): the
//! CONTAS_REVISION environment variable when the build sets it (an image
//! built without `.git`), else git's, else "unknown".

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=CONTAS_REVISION");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs");
    let revision = std::env::var("CONTAS_REVISION")
        .ok()
        .filter(|r| !r.is_empty())
        .or_else(|| {
            let out = Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=CONTAS_REVISION={revision}");
}
