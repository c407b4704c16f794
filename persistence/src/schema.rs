//! Table definitions, in step with `migrations/`.

diesel::table! {
    accounts (id) {
        id -> Text,
        kind -> Text,
        parent_id -> Nullable<Text>,
        login -> Text,
        email -> Text,
        email_normalized -> Text,
        pending_email -> Nullable<Text>,
        name -> Text,
        name_lower -> Text,
        status -> Text,
        email_verified -> Bool,
        fraud -> Bool,
        two_factor_enabled -> Bool,
        profile -> Text,
        password_hash -> Nullable<Text>,
        token_version -> BigInt,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    account_tree (ancestor_id, descendant_id) {
        ancestor_id -> Text,
        descendant_id -> Text,
        depth -> Integer,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        account_id -> Text,
        impersonator_id -> Nullable<Text>,
        created_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        ended_reason -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        spent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        account_id -> Text,
        name -> Text,
        prefix -> Text,
        key_hash -> Text,
        scopes -> Text,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        at -> Timestamp,
        action -> Text,
        actor_id -> Nullable<Text>,
        on_behalf_of -> Nullable<Text>,
        api_key_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
        target_type -> Text,
        target_id -> Text,
        account_id -> Nullable<Text>,
        details -> Text,
    }
}

diesel::table! {
    idempotency_keys (principal, idempotency_key) {
        principal -> Text,
        idempotency_key -> Text,
        method -> Text,
        path -> Text,
        request_hash -> Text,
        status_code -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        response_headers -> Nullable<Text>,
        locked_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Text,
        subject -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    plans (id) {
        id -> Text,
        owner_id -> Nullable<Text>,
        name -> Text,
        service_kind -> Text,
        quotas -> Text,
        prices -> Text,
        addons -> Text,
        public -> Bool,
        archived_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    services (id) {
        id -> Text,
        number -> BigInt,
        owner_id -> Text,
        plan_id -> Text,
        name -> Text,
        name_lower -> Text,
        kind -> Text,
        status -> Text,
        cycle -> Text,
        addons -> Text,
        quotas -> Text,
        registered_at -> Timestamp,
        next_due_at -> Timestamp,
        recurring_amount_minor -> BigInt,
        currency -> Text,
        auto_renew -> Bool,
        cancellation -> Nullable<Text>,
        suspension_reason -> Nullable<Text>,
        allow_overselling -> Bool,
        password_hash -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    jobs (id) {
        id -> Text,
        kind -> Text,
        status -> Text,
        params -> Text,
        results -> Text,
        progress_done -> BigInt,
        progress_total -> BigInt,
        requested_by -> Text,
        claimed_by -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        attempts -> Integer,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    account_tree,
    sessions,
    refresh_tokens,
    api_keys,
    audit_events,
    idempotency_keys,
    login_failures,
    plans,
    counters,
    services,
    jobs,
);
