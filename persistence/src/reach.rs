//! The rows an actor reaches in a table of objects that belong to an account and may be
//! about one of its services (tickets, orders, invoices): its own, those of the accounts
//! below it (for operators every non-operator's), and those about services granted to it
//! with the permission the caller looked up ([`GrantedServices`]).
//!
//! [`GrantedServices`]: crate::authorizations::GrantedServices

/// `reached!(table, owner column, service column, reach, granted)`: the condition, boxed
/// for the table's queries.
macro_rules! reached {
    ($table:ident, $owner:ident, $service:ident, $reach:expr, $granted:expr) => {{
        use diesel::prelude::*;
        use $crate::schema::{account_tree, accounts as account_table};
        type Condition<'a> = Box<
            dyn diesel::BoxableExpression<
                    $table::table,
                    <$crate::connection::DbConnection as diesel::Connection>::Backend,
                    SqlType = diesel::sql_types::Bool,
                > + 'a,
        >;
        let (reach, granted): (&hostadmin_domain::policy::Reach, &$crate::authorizations::GrantedServices) =
            ($reach, $granted);
        let own = $table::$owner.eq(&reach.account_id);
        let mut condition: Condition<'_> = match reach.below {
            hostadmin_domain::policy::Below::AllButOperators => Box::new(
                own.or(diesel::dsl::not(
                    $table::$owner.eq_any(
                        account_table::table
                            .filter(account_table::kind.eq(hostadmin_domain::accounts::AccountKind::Operator.as_str()))
                            .select(account_table::id),
                    ),
                )),
            ),
            // A correlated EXISTS, as for services: both backends walk the id index back
            // from the cursor instead of sorting everything in reach on every page.
            hostadmin_domain::policy::Below::Subtree => Box::new(
                own.or(diesel::dsl::exists(
                    account_tree::table
                        .filter(account_tree::ancestor_id.eq(&reach.account_id))
                        .filter(account_tree::descendant_id.eq($table::$owner)),
                )),
            ),
            hostadmin_domain::policy::Below::Nobody => Box::new(own),
        };
        if !granted.every_service_of.is_empty() {
            condition = Box::new(
                condition.or($table::$owner.eq_any(&granted.every_service_of).and($table::$service.is_not_null())),
            );
        }
        if !granted.selected.is_empty() {
            condition = Box::new(condition.or($table::$service.assume_not_null().eq_any(&granted.selected)));
        }
        condition
    }};
}

pub(crate) use reached;
