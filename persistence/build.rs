//! Embedded migrations are read at compile time: rebuild when they change, and give the
//! test harness a fingerprint of them so that a changed migration gets a new template
//! database.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=../migrations/sqlite");
    println!("cargo:rerun-if-changed=../migrations/postgres");
    let mut hasher = DefaultHasher::new();
    hash_dir(Path::new("../migrations/postgres"), &mut hasher);
    println!("cargo:rustc-env=HOSTADMIN_MIGRATIONS_FINGERPRINT={:016x}", hasher.finish());
}

fn hash_dir(dir: &Path, hasher: &mut DefaultHasher) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        println!("cargo:rerun-if-changed={}", path.display());
        path.file_name().hash(hasher);
        if path.is_dir() {
            hash_dir(&path, hasher);
        } else if let Ok(contents) = std::fs::read(&path) {
            contents.hash(hasher);
        }
    }
}
