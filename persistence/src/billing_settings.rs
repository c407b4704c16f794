//! Each seller's billing settings: one row per reseller, one for the provider.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hostadmin_domain::billing::settings::BillingSettings;

use crate::columns::Json;
use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::schema::billing_settings;

/// The provider's row; a reseller's is keyed by its account id.
const PROVIDER: &str = "provider";

fn key(seller_id: Option<&str>) -> &str {
    seller_id.unwrap_or(PROVIDER)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = billing_settings, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct SettingsRow {
    #[diesel(deserialize_as = Json<BillingSettings>)]
    pub settings: BillingSettings,
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

/// The settings of a seller (`None`: the provider), if it has set them.
pub fn find(conn: &mut DbConnection, seller_id: Option<&str>) -> Result<Option<SettingsRow>, StoreError> {
    Ok(billing_settings::table
        .filter(billing_settings::seller_key.eq(key(seller_id)))
        .select(SettingsRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every seller's settings: `None` for the provider, else the reseller's id.
pub fn all(conn: &mut DbConnection) -> Result<Vec<(Option<String>, BillingSettings)>, StoreError> {
    let rows: Vec<(String, SettingsRow)> =
        billing_settings::table.select((billing_settings::seller_key, SettingsRow::as_select())).load(conn)?;
    Ok(rows.into_iter().map(|(key, row)| ((key != PROVIDER).then_some(key), row.settings)).collect())
}

/// Replaces the settings if they are still at `version` (`None`: none were set yet);
/// answers whether it did.
pub fn put(
    conn: &mut DbConnection,
    seller_id: Option<&str>,
    settings: &BillingSettings,
    version: Option<i64>,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let json = serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let Some(version) = version else {
        let inserted = diesel::insert_into(billing_settings::table)
            .values((
                billing_settings::seller_key.eq(key(seller_id)),
                billing_settings::settings.eq(&json),
                billing_settings::version.eq(1_i64),
                billing_settings::updated_at.eq(now),
            ))
            .execute(conn);
        return match inserted {
            Ok(_) => Ok(true),
            Err(error) => match StoreError::from(error) {
                // Another first PUT got in: try again, as an update of its row.
                StoreError::Unique(_) => Err(StoreError::Busy("billing settings were created meanwhile".into())),
                other => Err(other),
            },
        };
    };
    let target = billing_settings::table
        .filter(billing_settings::seller_key.eq(key(seller_id)))
        .filter(billing_settings::version.eq(version));
    let updated = diesel::update(target)
        .set((
            billing_settings::settings.eq(&json),
            billing_settings::version.eq(version + 1),
            billing_settings::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}
