//! `schema.rs` is checked against the migrated database on both backends, and the two
//! migration twins (`migrations/sqlite`, `migrations/postgres`) are checked to be the same
//! migrations, identical except for the differences listed below.
//!
//! - `schema_rs_matches_the_migrated_database_on_{sqlite,postgres}`: every table and
//!   column of the migrated database is declared in `schema.rs` and the other way round,
//!   with the same nullability, a matching type and the same primary key.
//! - `migration_twins_hold_the_same_migrations`: same directories in the same order, the
//!   same files in each.
//! - `migration_twins_differ_only_in_the_known_differences`: the twin files are identical
//!   text once the blocks listed in `KNOWN_TEXT_DIFFERENCES` are set aside.
//! - `both_backends_migrate_to_the_same_tables_columns_indexes_and_triggers`: the migrated
//!   databases have the same tables, columns (order, type family, nullability), primary
//!   keys and indexes, and the same triggers apart from `*_ONLY_TRIGGERS`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use diesel::sql_types::{Integer, Text};
use diesel::RunQueryDsl;
use hostadmin_persistence::testing::{TestBackend, TestDatabase};
use hostadmin_persistence::DbConnection;

const SCHEMA_RS: &str = include_str!("../src/schema.rs");

/// diesel's own bookkeeping, in neither `schema.rs` nor the twins' SQL.
const DIESEL_MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";

// ---------------------------------------------------------------------------------------
// The known, intentional differences between the twins.
// ---------------------------------------------------------------------------------------

/// A block of text that one twin has where the other has a different one. Each block must
/// occur exactly once in its file (a block no longer there fails the test: remove it here).
struct KnownTextDifference {
    migration: &'static str,
    file: &'static str,
    why: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const KNOWN_TEXT_DIFFERENCES: &[KnownTextDifference] = &[
    KnownTextDifference {
        migration: "2026-11-23-000001_foundation",
        file: "up.sql",
        why: "prefix searches (LIKE 'x%') use a B-tree index on PostgreSQL only with \
              text_pattern_ops (the database's collation is not C); SQLite has no operator classes",
        sqlite: "\
CREATE INDEX accounts_name_idx ON accounts (name_lower);
CREATE INDEX accounts_login_prefix_idx ON accounts (login);
CREATE INDEX accounts_email_prefix_idx ON accounts (email_normalized);
",
        postgres: "\
CREATE INDEX accounts_name_idx ON accounts (name_lower text_pattern_ops);
CREATE INDEX accounts_login_prefix_idx ON accounts (login text_pattern_ops);
CREATE INDEX accounts_email_prefix_idx ON accounts (email_normalized text_pattern_ops);
",
    },
    KnownTextDifference {
        migration: "2026-11-23-000001_foundation",
        file: "up.sql",
        why: "the append-only triggers: SQLite triggers have their body inline and no TRUNCATE; \
              PostgreSQL triggers call a function, one for UPDATE OR DELETE and one for TRUNCATE",
        sqlite: "\
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
",
        postgres: "\
CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
-- TRUNCATE fires no row trigger: refuse it by statement.
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
",
    },
    KnownTextDifference {
        migration: "2026-11-23-000001_foundation",
        file: "down.sql",
        why: "dropping those triggers (PostgreSQL: ON <table>, and the function too)",
        sqlite: "\
DROP TRIGGER audit_events_no_delete;
DROP TRIGGER audit_events_no_update;
",
        postgres: "\
DROP TRIGGER audit_events_no_truncate ON audit_events;
DROP TRIGGER audit_events_no_update ON audit_events;
DROP FUNCTION audit_events_append_only();
",
    },
    KnownTextDifference {
        migration: "2026-12-05-000012_support_and_status",
        file: "up.sql",
        why: "the binary type is spelled BLOB on SQLite and BYTEA on PostgreSQL",
        sqlite: "    content BLOB NOT NULL,\n",
        postgres: "    content BYTEA NOT NULL,\n",
    },
];

/// Triggers only the SQLite twin creates: PostgreSQL's `audit_events_no_update` is
/// `BEFORE UPDATE OR DELETE`, SQLite needs one trigger per event.
const SQLITE_ONLY_TRIGGERS: &[(&str, &str)] = &[("audit_events", "audit_events_no_delete")];

/// Triggers only the PostgreSQL twin creates: SQLite has no TRUNCATE.
const POSTGRES_ONLY_TRIGGERS: &[(&str, &str)] = &[("audit_events", "audit_events_no_truncate")];

/// The type family of a column as the database reports it: SQLite's declared type
/// (`pragma_table_info`), PostgreSQL's `information_schema.columns.data_type`. The
/// spellings that differ between the twins (BLOB/BYTEA, TIMESTAMP/"timestamp without
/// time zone") meet here; anything not listed is its own family and so a difference.
fn db_family(backend: TestBackend, db_type: &str) -> String {
    let lower = db_type.to_ascii_lowercase();
    let family = match (backend, lower.as_str()) {
        (_, "text") => "text",
        (TestBackend::Sqlite, t) if t.starts_with("varchar") => "text",
        (TestBackend::Postgres, "character varying") => "text",
        (_, "bigint") => "bigint",
        (_, "integer") => "integer",
        (_, "smallint") => "smallint",
        (_, "boolean") => "bool",
        (TestBackend::Sqlite, "timestamp" | "datetime") => "timestamp",
        (TestBackend::Postgres, "timestamp without time zone") => "timestamp",
        (TestBackend::Postgres, "timestamp with time zone") => "timestamptz",
        (_, "date") => "date",
        (TestBackend::Sqlite, "blob") | (TestBackend::Postgres, "bytea") => "binary",
        (TestBackend::Sqlite, "double") | (TestBackend::Postgres, "double precision") => "double",
        _ => return format!("unmapped {backend} type {db_type:?}"),
    };
    family.to_owned()
}

/// The type family of a diesel SQL type named in `schema.rs` (`Nullable` already removed).
fn diesel_family(sql_type: &str) -> String {
    let family = match sql_type {
        "Text" | "VarChar" | "Varchar" => "text",
        "BigInt" | "Int8" => "bigint",
        "Integer" | "Int4" => "integer",
        "SmallInt" | "Int2" => "smallint",
        "Bool" => "bool",
        "Timestamp" => "timestamp",
        "Timestamptz" | "TimestamptzSqlite" => "timestamptz",
        "Date" => "date",
        "Binary" | "Bytea" | "Blob" => "binary",
        "Double" | "Float8" => "double",
        _ => return format!("unmapped diesel type {sql_type}"),
    };
    family.to_owned()
}

// ---------------------------------------------------------------------------------------
// schema.rs, parsed.
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
struct DeclaredColumn {
    name: String,
    sql_type: String,
    nullable: bool,
}

#[derive(Debug)]
struct DeclaredTable {
    name: String,
    primary_key: Vec<String>,
    columns: Vec<DeclaredColumn>,
}

/// The `diesel::table!` blocks of `schema.rs`. Deliberately narrow: anything it does not
/// understand (attributes such as `#[sql_name]`, schema-qualified names) fails loudly.
fn parse_schema(text: &str) -> Vec<DeclaredTable> {
    let mut tables = Vec::new();
    let mut lines = text.lines().map(str::trim).enumerate();
    while let Some((_, line)) = lines.next() {
        if line != "diesel::table! {" {
            continue;
        }
        let (n, header) = lines.next().expect("schema.rs ends inside diesel::table!");
        assert!(
            !header.starts_with('#') && !header.contains('.'),
            "schema.rs:{}: this test does not understand {header:?}; teach parse_schema",
            n + 1
        );
        let header = header.strip_suffix('{').unwrap_or_else(|| panic!("schema.rs:{}: {header:?}", n + 1)).trim();
        let (name, primary_key) = match header.split_once('(') {
            Some((name, rest)) => {
                let keys = rest.strip_suffix(')').unwrap_or_else(|| panic!("schema.rs:{}: {header:?}", n + 1));
                (name.trim(), keys.split(',').map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()).collect())
            }
            // diesel's default primary key.
            None => (header, vec!["id".to_owned()]),
        };
        let mut columns = Vec::new();
        for (n, line) in lines.by_ref() {
            if line == "}" {
                break;
            }
            if line.is_empty() || line.starts_with("//") || line.starts_with("use ") {
                continue;
            }
            assert!(!line.starts_with('#'), "schema.rs:{}: this test does not understand {line:?}", n + 1);
            let (column, sql_type) =
                line.split_once("->").unwrap_or_else(|| panic!("schema.rs:{}: not a column: {line:?}", n + 1));
            let sql_type = sql_type.trim().trim_end_matches(',').trim();
            let (sql_type, nullable) = match sql_type.strip_prefix("Nullable<").and_then(|t| t.strip_suffix('>')) {
                Some(inner) => (inner.trim(), true),
                None => (sql_type, false),
            };
            let sql_type = sql_type.rsplit("::").next().unwrap_or(sql_type);
            columns.push(DeclaredColumn { name: column.trim().to_owned(), sql_type: sql_type.to_owned(), nullable });
        }
        tables.push(DeclaredTable { name: name.to_owned(), primary_key, columns });
    }
    assert_eq!(
        tables.len(),
        text.matches("diesel::table!").count(),
        "every diesel::table! in schema.rs is parsed (one written differently? teach parse_schema)"
    );
    tables
}

#[test]
fn parse_schema_reads_names_types_nullability_and_keys() {
    let tables = parse_schema(
        "diesel::table! {\n    a (x, y) {\n        x -> Text,\n        y -> Nullable<BigInt>,\n    }\n}\n\
         diesel::table! {\n    b {\n        id -> diesel::sql_types::Binary,\n    }\n}\n",
    );
    assert_eq!(tables.len(), 2);
    assert_eq!(tables[0].name, "a");
    assert_eq!(tables[0].primary_key, ["x", "y"]);
    assert_eq!((tables[0].columns[1].name.as_str(), tables[0].columns[1].sql_type.as_str()), ("y", "BigInt"));
    assert!(tables[0].columns[1].nullable && !tables[0].columns[0].nullable);
    assert_eq!(tables[1].primary_key, ["id"]);
    assert_eq!(tables[1].columns[0].sql_type, "Binary");
    assert!(parse_schema(SCHEMA_RS).len() > 30, "schema.rs is found and parsed");
}

// ---------------------------------------------------------------------------------------
// The migrated database, read back.
// ---------------------------------------------------------------------------------------

/// Runs one of two queries, chosen by the connection's backend.
macro_rules! load {
    ($conn:expr, sqlite: $sqlite:expr, postgres: $postgres:expr $(,)?) => {
        match $conn {
            DbConnection::Sqlite(conn) => diesel::sql_query($sqlite).load(conn),
            DbConnection::Pg(conn) => diesel::sql_query($postgres).load(conn),
        }
        .unwrap_or_else(|error| panic!("reading the catalog: {error}"))
    };
}

#[derive(diesel::QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Integer)]
    not_null: i32,
    /// Position in the primary key (1-based), 0: not in it.
    #[diesel(sql_type = Integer)]
    pk: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DbColumn {
    name: String,
    db_type: String,
    not_null: bool,
    pk: i32,
}

/// Table -> its columns in their order in the table.
type DbTables = BTreeMap<String, Vec<DbColumn>>;

fn db_tables(conn: &mut DbConnection, backend: TestBackend) -> DbTables {
    let rows: Vec<ColumnRow> = load!(conn,
        sqlite: "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
                        p.\"notnull\" AS not_null, p.pk AS pk \
                 FROM sqlite_master AS m, pragma_table_info(m.name) AS p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
                 ORDER BY m.name, p.cid",
        postgres: "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, \
                          c.data_type::text AS data_type, \
                          CASE WHEN c.is_nullable = 'NO' THEN 1 ELSE 0 END AS not_null, \
                          COALESCE(k.ordinal_position, 0)::int4 AS pk \
                   FROM information_schema.columns AS c \
                   JOIN information_schema.tables AS t \
                     ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
                    AND t.table_type = 'BASE TABLE' \
                   LEFT JOIN information_schema.table_constraints AS tc \
                     ON tc.table_schema = c.table_schema AND tc.table_name = c.table_name \
                    AND tc.constraint_type = 'PRIMARY KEY' \
                   LEFT JOIN information_schema.key_column_usage AS k \
                     ON k.constraint_schema = tc.constraint_schema AND k.constraint_name = tc.constraint_name \
                    AND k.table_name = c.table_name AND k.column_name = c.column_name \
                   WHERE c.table_schema = current_schema() \
                   ORDER BY c.table_name, c.ordinal_position",
    );
    let mut tables = DbTables::new();
    for row in rows {
        if row.table_name == DIESEL_MIGRATIONS_TABLE {
            continue;
        }
        // SQLite lets a primary key column that is not INTEGER PRIMARY KEY hold NULL
        // unless it is also declared NOT NULL (a documented legacy quirk), and reports
        // `id TEXT PRIMARY KEY` as nullable. Nothing here ever stores a NULL key and
        // PostgreSQL makes key columns NOT NULL: count them as NOT NULL on both.
        let not_null = row.not_null != 0 || (backend == TestBackend::Sqlite && row.pk > 0);
        tables.entry(row.table_name).or_default().push(DbColumn {
            name: row.column_name,
            db_type: row.data_type,
            not_null,
            pk: row.pk,
        });
    }
    assert!(!tables.is_empty(), "{backend}: the migrated database has tables");
    tables
}

fn primary_key(columns: &[DbColumn]) -> Vec<String> {
    let mut keys: Vec<&DbColumn> = columns.iter().filter(|c| c.pk > 0).collect();
    keys.sort_by_key(|c| c.pk);
    keys.into_iter().map(|c| c.name.clone()).collect()
}

#[derive(diesel::QueryableByName)]
struct IndexRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = Integer)]
    is_unique: i32,
    #[diesel(sql_type = Integer)]
    is_partial: i32,
    #[diesel(sql_type = Text)]
    column_name: String,
}

#[derive(Debug, PartialEq, Eq)]
struct DbIndex {
    table: String,
    unique: bool,
    partial: bool,
    columns: Vec<String>,
}

/// The indexes made by CREATE INDEX (not those behind a primary key or UNIQUE constraint),
/// by name.
fn db_indexes(conn: &mut DbConnection) -> BTreeMap<String, DbIndex> {
    let rows: Vec<IndexRow> = load!(conn,
        sqlite: "SELECT m.name AS table_name, il.name AS index_name, il.\"unique\" AS is_unique, \
                        il.partial AS is_partial, ii.name AS column_name \
                 FROM sqlite_master AS m, pragma_index_list(m.name) AS il, pragma_index_info(il.name) AS ii \
                 WHERE m.type = 'table' AND il.origin = 'c' \
                 ORDER BY m.name, il.name, ii.seqno",
        postgres: "SELECT t.relname::text AS table_name, i.relname::text AS index_name, \
                          CASE WHEN ix.indisunique THEN 1 ELSE 0 END AS is_unique, \
                          CASE WHEN ix.indpred IS NULL THEN 0 ELSE 1 END AS is_partial, \
                          a.attname::text AS column_name \
                   FROM pg_index AS ix \
                   JOIN pg_class AS i ON i.oid = ix.indexrelid \
                   JOIN pg_class AS t ON t.oid = ix.indrelid \
                   JOIN pg_namespace AS n ON n.oid = t.relnamespace \
                   CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                   JOIN pg_attribute AS a ON a.attrelid = t.oid AND a.attnum = k.attnum \
                   WHERE n.nspname = current_schema() AND t.relname <> '__diesel_schema_migrations' \
                     AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c \
                                     WHERE c.conindid = ix.indexrelid AND c.conrelid = ix.indrelid \
                                       AND c.contype IN ('p', 'u', 'x')) \
                   ORDER BY t.relname, i.relname, k.ord",
    );
    let mut indexes: BTreeMap<String, DbIndex> = BTreeMap::new();
    for row in rows {
        indexes
            .entry(row.index_name)
            .or_insert_with(|| DbIndex {
                table: row.table_name,
                unique: row.is_unique != 0,
                partial: row.is_partial != 0,
                columns: Vec::new(),
            })
            .columns
            .push(row.column_name);
    }
    indexes
}

#[derive(diesel::QueryableByName)]
struct TriggerRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    trigger_name: String,
}

fn db_triggers(conn: &mut DbConnection) -> BTreeSet<(String, String)> {
    let rows: Vec<TriggerRow> = load!(conn,
        sqlite: "SELECT tbl_name AS table_name, name AS trigger_name FROM sqlite_master WHERE type = 'trigger'",
        postgres: "SELECT c.relname::text AS table_name, tg.tgname::text AS trigger_name \
                   FROM pg_trigger AS tg \
                   JOIN pg_class AS c ON c.oid = tg.tgrelid \
                   JOIN pg_namespace AS n ON n.oid = c.relnamespace \
                   WHERE n.nspname = current_schema() AND NOT tg.tgisinternal",
    );
    rows.into_iter().map(|row| (row.table_name, row.trigger_name)).collect()
}

// ---------------------------------------------------------------------------------------
// schema.rs against the migrated database.
// ---------------------------------------------------------------------------------------

fn schema_rs_problems(declared: &[DeclaredTable], actual: &DbTables, backend: TestBackend) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for table in declared {
        if !seen.insert(table.name.as_str()) {
            problems.push(format!("{}: declared twice in schema.rs", table.name));
            continue;
        }
        let Some(columns) = actual.get(&table.name) else {
            problems.push(format!("{}: declared in schema.rs, no such table in the database", table.name));
            continue;
        };
        let by_name: BTreeMap<&str, &DbColumn> = columns.iter().map(|c| (c.name.as_str(), c)).collect();
        let mut declared_names = BTreeSet::new();
        for column in &table.columns {
            let at = format!("{}.{}", table.name, column.name);
            if !declared_names.insert(column.name.as_str()) {
                problems.push(format!("{at}: declared twice in schema.rs"));
                continue;
            }
            let Some(db) = by_name.get(column.name.as_str()) else {
                problems.push(format!("{at}: declared in schema.rs, no such column in the database"));
                continue;
            };
            let (want, have) = (diesel_family(&column.sql_type), db_family(backend, &db.db_type));
            if want != have {
                problems.push(format!(
                    "{at}: type: schema.rs says {} ({want}), the database has {} ({have})",
                    column.sql_type, db.db_type
                ));
            }
            if column.nullable == db.not_null {
                let said = if column.nullable { "Nullable" } else { "not Nullable" };
                let has = if db.not_null { "NOT NULL" } else { "NULL" };
                problems.push(format!("{at}: nullability: schema.rs says {said}, the database column is {has}"));
            }
        }
        for column in columns {
            if !declared_names.contains(column.name.as_str()) {
                problems.push(format!(
                    "{}.{}: in the database ({}), not declared in schema.rs",
                    table.name, column.name, column.db_type
                ));
            }
        }
        let key = primary_key(columns);
        if key != table.primary_key {
            problems.push(format!(
                "{}: primary key: schema.rs says ({}), the database has ({})",
                table.name,
                table.primary_key.join(", "),
                key.join(", ")
            ));
        }
    }
    for table in actual.keys() {
        if !seen.contains(table.as_str()) {
            problems.push(format!("{table}: in the database, not declared in schema.rs"));
        }
    }
    problems
}

fn schema_rs_matches(backend: TestBackend) {
    let Some(db) = TestDatabase::new(backend) else { return };
    let actual = db_tables(&mut db.connect(), backend);
    let declared = parse_schema(SCHEMA_RS);
    let problems = schema_rs_problems(&declared, &actual, backend);
    assert!(
        problems.is_empty(),
        "{backend}: persistence/src/schema.rs and the migrated database differ ({} problems):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn schema_rs_matches_the_migrated_database_on_sqlite() {
    schema_rs_matches(TestBackend::Sqlite);
}

#[test]
fn schema_rs_matches_the_migrated_database_on_postgres() {
    schema_rs_matches(TestBackend::Postgres);
}

// ---------------------------------------------------------------------------------------
// The migration twins.
// ---------------------------------------------------------------------------------------

fn migrations_dir(backend: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations").join(backend)
}

fn sorted_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn migration_twins_hold_the_same_migrations() {
    let sqlite = sorted_entries(&migrations_dir("sqlite"));
    let postgres = sorted_entries(&migrations_dir("postgres"));
    assert!(!sqlite.is_empty(), "migrations/sqlite holds migrations");
    assert_eq!(sqlite, postgres, "migrations/sqlite and migrations/postgres hold different migrations");
    let mut problems = Vec::new();
    for migration in &sqlite {
        let files = sorted_entries(&migrations_dir("sqlite").join(migration));
        let twin = sorted_entries(&migrations_dir("postgres").join(migration));
        if files != twin {
            problems.push(format!("{migration}: sqlite has {files:?}, postgres has {twin:?}"));
        }
        for file in ["up.sql", "down.sql"] {
            if !files.iter().any(|f| f == file) {
                problems.push(format!("{migration}: no {file}"));
            }
        }
    }
    assert!(problems.is_empty(), "the migration twins differ:\n  {}", problems.join("\n  "));
}

/// `text` with each known block replaced by a marker; a block not found (exactly once) is
/// a problem.
fn set_aside_known(text: &str, migration: &str, file: &str, backend: &str, problems: &mut Vec<String>) -> String {
    let mut text = text.to_owned();
    for (n, known) in KNOWN_TEXT_DIFFERENCES.iter().enumerate() {
        if known.migration != migration || known.file != file {
            continue;
        }
        let block = if backend == "sqlite" { known.sqlite } else { known.postgres };
        match text.matches(block).count() {
            1 => text = text.replacen(block, &format!("<known difference {n}: {}>\n", known.why), 1),
            count => problems.push(format!(
                "{backend}/{migration}/{file}: the known difference {n} ({}) is there {count} times, not once; \
                 update KNOWN_TEXT_DIFFERENCES:\n{block}",
                known.why
            )),
        }
    }
    text
}

/// The lines of a text from `set_aside_known`, each with its line number in the file
/// (a marker stands for all the lines of its block).
fn numbered_lines<'a>(text: &'a str, backend: &str) -> Vec<(usize, &'a str)> {
    let mut at = 1;
    let mut lines = Vec::new();
    for line in text.lines() {
        lines.push((at, line));
        let known = line
            .strip_prefix("<known difference ")
            .and_then(|rest| rest.split_once(':'))
            .and_then(|(n, _)| n.parse::<usize>().ok())
            .and_then(|n| KNOWN_TEXT_DIFFERENCES.get(n));
        at += match known {
            Some(known) if backend == "sqlite" => known.sqlite.lines().count(),
            Some(known) => known.postgres.lines().count(),
            None => 1,
        };
    }
    lines
}

/// Every place where the two texts differ, as hunks of a line diff (longest common
/// subsequence; the files are small).
fn line_diff(sqlite: &str, postgres: &str) -> Vec<String> {
    let (a_at, b_at) = (numbered_lines(sqlite, "sqlite"), numbered_lines(postgres, "postgres"));
    let (a, b): (Vec<&str>, Vec<&str>) = (a_at.iter().map(|l| l.1).collect(), b_at.iter().map(|l| l.1).collect());
    // common[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let mut common = vec![vec![0_usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            common[i][j] = if a[i] == b[j] { common[i + 1][j + 1] + 1 } else { common[i + 1][j].max(common[i][j + 1]) };
        }
    }
    let mut hunks = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
            continue;
        }
        let (from_a, from_b) = (i, j);
        while (i < a.len() || j < b.len()) && !(i < a.len() && j < b.len() && a[i] == b[j]) {
            if j == b.len() || (i < a.len() && common[i + 1][j] >= common[i][j + 1]) {
                i += 1;
            } else {
                j += 1;
            }
        }
        let line_at = |at: &[(usize, &str)], k: usize| at.get(k).map_or(at.last().map_or(1, |l| l.0 + 1), |l| l.0);
        let mut hunk = format!("sqlite line {}, postgres line {}:", line_at(&a_at, from_a), line_at(&b_at, from_b));
        for line in &a[from_a..i] {
            let _ = write!(hunk, "\n      sqlite   | {line}");
        }
        for line in &b[from_b..j] {
            let _ = write!(hunk, "\n      postgres | {line}");
        }
        hunks.push(hunk);
    }
    hunks
}

#[test]
fn line_diff_finds_every_hunk() {
    assert!(line_diff("a\nb\n", "a\nb\n").is_empty());
    let hunks = line_diff("a\nx\nb\nc\ny\n", "a\nb\nz\nc\n");
    assert_eq!(hunks.len(), 3, "{hunks:?}");
    assert!(hunks[0].contains("sqlite   | x") && !hunks[0].contains("postgres |"), "{}", hunks[0]);
    assert!(hunks[1].contains("postgres | z"), "{}", hunks[1]);
    assert!(hunks[2].contains("sqlite   | y"), "{}", hunks[2]);
}

#[test]
fn migration_twins_differ_only_in_the_known_differences() {
    let mut problems = Vec::new();
    for known in KNOWN_TEXT_DIFFERENCES {
        assert!(
            !known.why.is_empty()
                && known.sqlite != known.postgres
                && known.sqlite.ends_with('\n')
                && known.postgres.ends_with('\n'),
            "{}: a known difference says why and is made of whole lines",
            known.migration
        );
    }
    for migration in sorted_entries(&migrations_dir("sqlite")) {
        for file in sorted_entries(&migrations_dir("sqlite").join(&migration)) {
            let mut read = |backend: &str| {
                let path = migrations_dir(backend).join(&migration).join(&file);
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                // Compared by line, whatever the line endings.
                let text = text.replace("\r\n", "\n");
                set_aside_known(&text, &migration, &file, backend, &mut problems)
            };
            let (sqlite, postgres) = (read("sqlite"), read("postgres"));
            if sqlite != postgres {
                for hunk in line_diff(&sqlite, &postgres) {
                    problems.push(format!("{migration}/{file}: {hunk}"));
                }
            }
        }
    }
    for known in KNOWN_TEXT_DIFFERENCES {
        if !migrations_dir("sqlite").join(known.migration).join(known.file).exists() {
            problems
                .push(format!("KNOWN_TEXT_DIFFERENCES names {}/{}, which does not exist", known.migration, known.file));
        }
    }
    assert!(
        problems.is_empty(),
        "the migration twins differ beyond KNOWN_TEXT_DIFFERENCES ({} problems):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn both_backends_migrate_to_the_same_tables_columns_indexes_and_triggers() {
    let Some(pg) = TestDatabase::new(TestBackend::Postgres) else { return };
    let sqlite = TestDatabase::new(TestBackend::Sqlite).expect("SQLite is never skipped");
    let (mut pg, mut sqlite) = (pg.connect(), sqlite.connect());
    let mut problems = Vec::new();

    let (s_tables, p_tables) = (db_tables(&mut sqlite, TestBackend::Sqlite), db_tables(&mut pg, TestBackend::Postgres));
    for table in s_tables.keys().filter(|t| !p_tables.contains_key(*t)) {
        problems.push(format!("{table}: a table on sqlite only"));
    }
    for table in p_tables.keys().filter(|t| !s_tables.contains_key(*t)) {
        problems.push(format!("{table}: a table on postgres only"));
    }
    for (table, s_columns) in &s_tables {
        let Some(p_columns) = p_tables.get(table) else { continue };
        let names = |columns: &[DbColumn]| columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        let (s_names, p_names) = (names(s_columns), names(p_columns));
        for name in s_names.iter().filter(|n| !p_names.contains(n)) {
            problems.push(format!("{table}.{name}: a column on sqlite only"));
        }
        for name in p_names.iter().filter(|n| !s_names.contains(n)) {
            problems.push(format!("{table}.{name}: a column on postgres only"));
        }
        let in_both = |names: &[String], other: &[String]| {
            names.iter().filter(|n| other.contains(n)).cloned().collect::<Vec<_>>()
        };
        let (s_order, p_order) = (in_both(&s_names, &p_names), in_both(&p_names, &s_names));
        if s_order != p_order {
            problems.push(format!("{table}: column order: sqlite {s_order:?}, postgres {p_order:?}"));
        }
        for s in s_columns {
            let Some(p) = p_columns.iter().find(|p| p.name == s.name) else { continue };
            let at = format!("{table}.{}", s.name);
            let (s_family, p_family) =
                (db_family(TestBackend::Sqlite, &s.db_type), db_family(TestBackend::Postgres, &p.db_type));
            if s_family != p_family {
                problems.push(format!(
                    "{at}: type: sqlite {} ({s_family}), postgres {} ({p_family})",
                    s.db_type, p.db_type
                ));
            }
            if s.not_null != p.not_null {
                problems.push(format!("{at}: NOT NULL: sqlite {}, postgres {}", s.not_null, p.not_null));
            }
        }
        let (s_key, p_key) = (primary_key(s_columns), primary_key(p_columns));
        if s_key != p_key {
            problems.push(format!(
                "{table}: primary key: sqlite ({}), postgres ({})",
                s_key.join(", "),
                p_key.join(", ")
            ));
        }
    }

    let (s_indexes, p_indexes) = (db_indexes(&mut sqlite), db_indexes(&mut pg));
    assert!(!s_indexes.is_empty() && !p_indexes.is_empty(), "indexes are read on both backends");
    for name in s_indexes.keys().chain(p_indexes.keys()).collect::<BTreeSet<_>>() {
        match (s_indexes.get(name), p_indexes.get(name)) {
            (Some(s), Some(p)) if s != p => problems.push(format!("index {name}: sqlite {s:?}, postgres {p:?}")),
            (Some(s), None) => problems.push(format!("index {name}: on sqlite only ({s:?})")),
            (None, Some(p)) => problems.push(format!("index {name}: on postgres only ({p:?})")),
            _ => {}
        }
    }

    let known = |list: &[(&str, &str)]| -> BTreeSet<(String, String)> {
        list.iter().map(|(t, n)| ((*t).to_owned(), (*n).to_owned())).collect()
    };
    let (s_triggers, p_triggers) = (db_triggers(&mut sqlite), db_triggers(&mut pg));
    let s_only: BTreeSet<_> = s_triggers.difference(&p_triggers).cloned().collect();
    let p_only: BTreeSet<_> = p_triggers.difference(&s_triggers).cloned().collect();
    if s_only != known(SQLITE_ONLY_TRIGGERS) {
        problems
            .push(format!("triggers on sqlite only: {s_only:?}, SQLITE_ONLY_TRIGGERS lists {SQLITE_ONLY_TRIGGERS:?}"));
    }
    if p_only != known(POSTGRES_ONLY_TRIGGERS) {
        problems.push(format!(
            "triggers on postgres only: {p_only:?}, POSTGRES_ONLY_TRIGGERS lists {POSTGRES_ONLY_TRIGGERS:?}"
        ));
    }

    assert!(
        problems.is_empty(),
        "the migrated SQLite and PostgreSQL databases differ ({} problems):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}
