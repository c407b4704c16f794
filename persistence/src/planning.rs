//! Which statements PostgreSQL plans for their values.
//!
//! diesel keeps statements prepared, and after five executions PostgreSQL may switch a
//! prepared statement to a generic plan, made without the values. For a lookup by key
//! that is the right plan, and planning again on every execution cost more than half of
//! PostgreSQL's CPU on `GET /v1/me` (measured: docs/performance.md). For a list within a
//! caller's reach it can be ruinous: a generic plan cannot see whose subtree a page is
//! for (measured: 5 s a page over 1,000,000 services instead of 1.4 ms). Those lists,
//! and the worker's scans by date, are therefore sent unprepared ([`PlannedEachTime`]):
//! in one round trip, planned for their values every time.
//!
//! SQLite plans without the values whatever it is sent (the bundled library is built with
//! its query planner stability guarantee, see .cargo/config.toml), so there preparing a
//! statement again would buy nothing: it stays in the cache like any other.

use diesel::backend::Backend;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::RunQueryDsl;
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

use crate::connection::MultiBackend;

/// A statement that is never kept prepared, so that it is planned for its values.
#[derive(Debug, Clone, Copy)]
pub struct PlannedEachTime<Q>(Q);

/// `.planned_each_time()` on any statement.
pub trait PlanEachTime: Sized {
    /// This statement, planned for its values on every execution.
    fn planned_each_time(self) -> PlannedEachTime<Self> {
        PlannedEachTime(self)
    }
}

impl<Q: Query> PlanEachTime for Q {}

impl<Q: Query> Query for PlannedEachTime<Q> {
    type SqlType = Q::SqlType;
}

impl<Q> QueryId for PlannedEachTime<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, DB> QueryFragment<DB> for PlannedEachTime<Q>
where
    DB: Backend + PlansForValues,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if pass.backend().plans_fresh_statements_for_their_values() {
            pass.unsafe_to_cache_prepared();
        }
        self.0.walk_ast(pass)
    }
}

/// Whether a statement sent unprepared is planned for the values bound to it.
pub trait PlansForValues {
    fn plans_fresh_statements_for_their_values(&self) -> bool;
}

impl PlansForValues for Pg {
    fn plans_fresh_statements_for_their_values(&self) -> bool {
        true
    }
}

impl PlansForValues for Sqlite {
    fn plans_fresh_statements_for_their_values(&self) -> bool {
        false
    }
}

impl PlansForValues for MultiBackend {
    fn plans_fresh_statements_for_their_values(&self) -> bool {
        match self {
            MultiBackend::Pg(pg) => pg.plans_fresh_statements_for_their_values(),
            MultiBackend::Sqlite(sqlite) => sqlite.plans_fresh_statements_for_their_values(),
        }
    }
}

impl<Q, Conn> RunQueryDsl<Conn> for PlannedEachTime<Q> {}
