//! Checks of the code's own structure, read from the source files: routes speak HTTP and
//! are wired only by the router, no module imports a module that imports it back (no
//! import cycle in any crate of the workspace), and no source file grows past what a
//! reader takes in at once.

#![cfg(test)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest a source file may be before its test module.
const MAX_LINES: usize = 600;

/// Files that are declarations rather than code a reader follows, exempt from the length
/// check: the table definitions, kept in step with the migrations by a test of their own.
const DECLARATIONS: &[&str] = &["persistence/src/schema.rs"];

/// The files allowed to name route modules: the router itself, and what serves or
/// documents its route list.
const ROUTE_USERS: &[&str] = &["routes/mod.rs", "server.rs", "openapi.rs"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The source before the file's `#[cfg(test)]` module, comments and blank lines included.
fn before_tests(text: &str) -> &str {
    text.find("\n#[cfg(test)]\nmod tests").map_or(text, |at| &text[..at])
}

/// The module path of a file of a crate's `src/` (`app/hosting/mod.rs` -> `app::hosting`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).filter(|p| !matches!(*p, "mod" | "lib" | "main")).collect();
    parts.join("::")
}

/// The code of a file before its test module, without comment lines (a doc comment may
/// name a module it does not import).
fn code(text: &str) -> String {
    before_tests(text).lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The crate-local modules a file refers to (`crate::a::b::Item` -> the longest of
/// `a::b`, `a` that is a module of the crate), outside its test module and comments.
fn imports(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let code = code(text);
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let path: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
        // `use crate::{a, b::c}` lists several paths at once.
        let group = rest.strip_prefix('{').map(|inner| inner.split('}').next().unwrap_or_default());
        let paths: Vec<String> = match group {
            Some(list) => list.split(',').map(|p| p.trim().to_owned()).collect(),
            None => vec![path],
        };
        for path in paths {
            let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            for length in (1..=segments.len()).rev() {
                let candidate = segments[..length].join("::");
                if modules.contains(&candidate) {
                    found.insert(candidate);
                    break;
                }
            }
        }
    }
    found
}

/// Every cycle of the graph, each as the modules on it (Tarjan's strongly connected
/// components with more than one member, or a module importing itself).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(state: &mut State<'a>, node: &'a str) {
        state.index.insert(node, state.next);
        state.low.insert(node, state.next);
        state.next += 1;
        state.stack.push(node);
        state.on_stack.insert(node);
        let graph = state.graph;
        for target in graph.get(node).into_iter().flatten() {
            let target = target.as_str();
            if !state.index.contains_key(target) {
                visit(state, target);
                let low = state.low[node].min(state.low[target]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(target) {
                let low = state.low[node].min(state.index[target]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(member) = state.stack.pop() {
                state.on_stack.remove(member);
                component.push(member.to_owned());
                if member == node {
                    break;
                }
            }
            let self_loop = graph.get(node).is_some_and(|targets| targets.contains(node));
            if component.len() > 1 || self_loop {
                component.sort();
                state.found.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state.found
}

/// Each crate's module graph: module -> the modules of the same crate it imports.
fn module_graph(crate_dir: &str) -> BTreeMap<String, BTreeSet<String>> {
    let src = workspace().join(crate_dir).join("src");
    let files = rust_files(&src);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).filter(|m| !m.is_empty()).collect();
    files
        .iter()
        .map(|file| {
            let module = module_of(&src, file);
            let text = std::fs::read_to_string(file).unwrap();
            let mut imported = imports(&text, &modules);
            // A module naming its own items or its submodules is not an import of itself.
            imported.retain(|target| target != &module && !target.starts_with(&format!("{module}::")));
            (module, imported)
        })
        .collect()
}

#[test]
fn no_crate_has_an_import_cycle() {
    for crate_dir in ["domain", "persistence", "api"] {
        let found = cycles(&module_graph(crate_dir));
        assert!(found.is_empty(), "{crate_dir}: modules that import each other (a cycle each): {found:#?}");
    }
}

#[test]
fn route_modules_are_imported_only_by_the_router() {
    let src = workspace().join("api/src");
    let mut offenders = Vec::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        if ROUTE_USERS.contains(&relative.as_str()) {
            continue;
        }
        let code = code(&std::fs::read_to_string(&file).unwrap());
        let names_a_route = code.contains(concat!("crate::", "routes::"));
        let route_sibling = relative.starts_with("routes/") && code.contains("use super::");
        if names_a_route || route_sibling {
            offenders.push(relative);
        }
    }
    assert!(offenders.is_empty(), "these files import route modules (only routes/mod.rs may): {offenders:?}");
}

#[test]
fn no_source_file_is_longer_than_a_reader_takes_in_at_once() {
    let mut long = Vec::new();
    for crate_dir in ["domain", "persistence", "api"] {
        for file in rust_files(&workspace().join(crate_dir).join("src")) {
            let text = std::fs::read_to_string(&file).unwrap();
            let lines = before_tests(&text).lines().count();
            let name = file.strip_prefix(workspace()).unwrap().to_string_lossy().replace('\\', "/");
            if lines > MAX_LINES && !DECLARATIONS.contains(&name.as_str()) {
                long.push(format!("{} ({lines} lines)", file.strip_prefix(workspace()).unwrap().display()));
            }
        }
    }
    assert!(long.is_empty(), "files over {MAX_LINES} lines before their tests: {long:?}");
}

#[test]
fn the_checks_see_what_they_look_for() {
    let modules: BTreeSet<String> = ["a", "a::b", "c"].into_iter().map(String::from).collect();
    let found =
        imports("use crate::a::b::Thing;\nuse crate::{c, a};\n#[cfg(test)]\nmod tests { use crate::x; }", &modules);
    assert_eq!(found, ["a", "a::b", "c"].into_iter().map(String::from).collect());
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_owned(), ["b".to_owned()].into()),
        ("b".to_owned(), ["a".to_owned()].into()),
        ("c".to_owned(), ["a".to_owned()].into()),
    ]
    .into();
    assert_eq!(cycles(&graph), vec![vec!["a".to_owned(), "b".to_owned()]]);
    assert_eq!(before_tests("code\n#[cfg(test)]\nmod tests {}"), "code");
}
