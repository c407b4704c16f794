//! Reads which policy actions each route handler takes, so that the OpenAPI document can
//! name the API key scope every operation needs from the rule table itself
//! (`Action::rule`), with no second list to keep: a handler's `Action::X` paths, found by
//! parsing `src/routes/*.rs` with syn, become `OPERATION_ACTIONS` in `$OUT_DIR`.

// A build script reports a failure by panicking: cargo prints the message and stops.
#![allow(clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use syn::visit::Visit;

/// The `Action::X` paths below a function, and the plain function names it calls (a
/// handler may leave the authorizing to a helper in its file).
#[derive(Default)]
struct Actions {
    actions: BTreeSet<String>,
    calls: BTreeSet<String>,
}

impl<'ast> Visit<'ast> for Actions {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        match segments.as_slice() {
            [.., kind, action] if kind == "Action" => {
                self.actions.insert(action.clone());
            }
            [name] => {
                self.calls.insert(name.clone());
            }
            _ => {}
        }
        syn::visit::visit_path(self, path);
    }
}

/// The actions of `name` and of every function of the file it calls, transitively.
fn actions_of(name: &str, functions: &BTreeMap<String, Actions>, seen: &mut BTreeSet<String>) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    if !seen.insert(name.to_owned()) {
        return all;
    }
    if let Some(found) = functions.get(name) {
        all.extend(found.actions.iter().cloned());
        for callee in &found.calls {
            all.extend(actions_of(callee, functions, seen));
        }
    }
    all
}

fn is_utoipa_path(attribute: &syn::Attribute) -> bool {
    let segments: Vec<String> = attribute.path().segments.iter().map(|s| s.ident.to_string()).collect();
    segments == ["utoipa", "path"]
}

fn main() {
    let routes = Path::new("src/routes");
    println!("cargo:rerun-if-changed={}", routes.display());
    let mut files: Vec<_> = std::fs::read_dir(routes)
        .expect("src/routes is readable")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    let mut table = String::from("/// Each route handler (its operation id) and the policy actions it takes.\n");
    table.push_str("pub const OPERATION_ACTIONS: &[(&str, &[&str])] = &[\n");
    for file in files {
        println!("cargo:rerun-if-changed={}", file.display());
        let source = std::fs::read_to_string(&file).expect("a route file is readable");
        let parsed = syn::parse_file(&source).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut functions = BTreeMap::new();
        let mut handlers = Vec::new();
        for item in &parsed.items {
            let syn::Item::Fn(function) = item else { continue };
            let mut actions = Actions::default();
            actions.visit_block(&function.block);
            let name = function.sig.ident.to_string();
            if function.attrs.iter().any(is_utoipa_path) {
                handlers.push(name.clone());
            }
            functions.insert(name, actions);
        }
        for handler in handlers {
            let actions = actions_of(&handler, &functions, &mut BTreeSet::new());
            let names: Vec<String> = actions.iter().map(|a| format!("{a:?}")).collect();
            let _ = writeln!(table, "    ({handler:?}, &[{}]),", names.join(", "));
        }
    }
    table.push_str("];\n");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out).join("operation_actions.rs"), table).expect("OUT_DIR is writable");
}
