//! Gapless numbers (invoices, orders, tickets) on both backends: a number taken by a
//! transaction that rolls back is given out again, so a sequence never has a gap.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hostadmin_persistence::invoices;
use hostadmin_persistence::{both_backends, write_transaction, DieselError};

both_backends!(a_rolled_back_number_is_given_out_again, |db: hostadmin_persistence::testing::TestDatabase| {
    let mut conn = db.connect();
    let first = write_transaction(&mut conn, |conn| {
        invoices::next_sequence(conn, Some("seller")).map_err(|_| DieselError::RollbackTransaction)
    })
    .unwrap();
    assert_eq!(first, 1);
    let rolled_back: Result<i64, DieselError> = write_transaction(&mut conn, |conn| {
        let taken = invoices::next_sequence(conn, Some("seller")).map_err(|_| DieselError::RollbackTransaction)?;
        assert_eq!(taken, 2);
        Err(DieselError::RollbackTransaction)
    });
    assert!(rolled_back.is_err());
    let next = write_transaction(&mut conn, |conn| {
        invoices::next_sequence(conn, Some("seller")).map_err(|_| DieselError::RollbackTransaction)
    })
    .unwrap();
    assert_eq!(next, 2, "the number the failed transaction took is the next one's");
    let provider = write_transaction(&mut conn, |conn| {
        invoices::next_sequence(conn, None).map_err(|_| DieselError::RollbackTransaction)
    })
    .unwrap();
    assert_eq!(provider, 1, "each seller has its own sequence");
});
