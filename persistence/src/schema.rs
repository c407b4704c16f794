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
        totp_secret_sealed -> Nullable<Text>,
        totp_pending_secret_sealed -> Nullable<Text>,
        totp_last_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    recovery_codes (account_id, code_hash) {
        account_id -> Text,
        code_hash -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
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
    provisioning_states (resource_kind, resource_id) {
        resource_kind -> Text,
        resource_id -> Text,
        status -> Text,
        error -> Nullable<Text>,
        updated_at -> Timestamp,
        changes -> BigInt,
        applied -> BigInt,
        held_by -> Nullable<Text>,
        held_until -> Nullable<Timestamp>,
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
        held -> Bool,
        renewal_handled_for -> Nullable<Timestamp>,
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

diesel::table! {
    account_holds (id) {
        id -> Text,
        account_id -> Text,
        kind -> Text,
        reason -> Text,
        fraud -> Bool,
        placed_by -> Nullable<Text>,
        placed_at -> Timestamp,
        lifted_at -> Nullable<Timestamp>,
        lifted_by -> Nullable<Text>,
        lift_reason -> Nullable<Text>,
    }
}

diesel::table! {
    account_restrictions (account_id, setter_id) {
        account_id -> Text,
        setter_id -> Text,
        disabled_actions -> Text,
        version -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        template -> Text,
        recipient -> Text,
        recipient_normalized -> Text,
        client_ip -> Nullable<Text>,
        rate_limited -> Bool,
        account_id -> Nullable<Text>,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        carries_secret -> Bool,
        claimed_by -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        failed_at -> Nullable<Timestamp>,
        invoice_id -> Nullable<Text>,
    }
}

diesel::table! {
    email_tokens (token_hash) {
        token_hash -> Text,
        purpose -> Text,
        account_id -> Text,
        email -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    authorizations (id) {
        id -> Text,
        grantor_id -> Text,
        grantee_id -> Text,
        permissions -> Text,
        all_services -> Bool,
        status -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        accepted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    authorization_services (authorization_id, service_id) {
        authorization_id -> Text,
        service_id -> Text,
    }
}

diesel::joinable!(authorization_services -> authorizations (authorization_id));
diesel::joinable!(authorization_services -> services (service_id));

diesel::table! {
    domains (id) {
        id -> Text,
        name -> Text,
        unicode_name -> Text,
        kind -> Text,
        owner_id -> Text,
        service_id -> Nullable<Text>,
        hosting_service_id -> Nullable<Text>,
        nameservers -> Nullable<Text>,
        locked -> Bool,
        auto_renew -> Bool,
        expires_at -> Nullable<Timestamp>,
        redirect_type -> Nullable<Text>,
        redirect_target -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    domain_hosts (id) {
        id -> Text,
        domain_id -> Text,
        hostname -> Text,
        ips -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    dns_records (id) {
        id -> Text,
        domain_id -> Text,
        service_id -> Text,
        record_type -> Text,
        name -> Text,
        content -> Text,
        ttl -> Integer,
        priority -> Nullable<Integer>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    dns_zones (domain_id) {
        domain_id -> Text,
        serial -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    mail_addresses (address) {
        address -> Text,
        kind -> Text,
        resource_id -> Text,
    }
}

diesel::table! {
    mailboxes (id) {
        id -> Text,
        service_id -> Text,
        domain_id -> Text,
        address -> Text,
        password_hash -> Text,
        quota_mb -> BigInt,
        description -> Text,
        panel_login -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    forwards (id) {
        id -> Text,
        service_id -> Text,
        domain_id -> Text,
        source -> Text,
        destinations -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    ftp_users (id) {
        id -> Text,
        service_id -> Text,
        username -> Text,
        password_hash -> Text,
        directory -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    databases (id) {
        id -> Text,
        service_id -> Text,
        engine -> Text,
        name -> Text,
        db_user -> Text,
        password_sealed -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    certificates (id) {
        id -> Text,
        service_id -> Text,
        common_name -> Text,
        sans -> Text,
        subject -> Nullable<Text>,
        issuer -> Nullable<Text>,
        not_before -> Nullable<Timestamp>,
        not_after -> Nullable<Timestamp>,
        certificate_pem -> Nullable<Text>,
        chain_pem -> Nullable<Text>,
        csr_pem -> Nullable<Text>,
        public_key_sha256 -> Text,
        private_key_sealed -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        source -> Text,
        failure -> Nullable<Text>,
        renew_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    acme_accounts (directory_url) {
        directory_url -> Text,
        credentials_sealed -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tickets (id) {
        id -> Text,
        number -> BigInt,
        seller_id -> Nullable<Text>,
        customer_id -> Text,
        service_id -> Nullable<Text>,
        direction -> Text,
        subject -> Text,
        subject_lower -> Text,
        status -> Text,
        priority -> Text,
        created_by -> Text,
        last_reply_at -> Timestamp,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    ticket_messages (id) {
        id -> Text,
        ticket_id -> Text,
        author_id -> Text,
        side -> Text,
        internal -> Bool,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ticket_attachments (id) {
        id -> Text,
        ticket_id -> Text,
        message_id -> Nullable<Text>,
        uploader_id -> Text,
        side -> Text,
        filename -> Text,
        content_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        content -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notification_settings (account_id) {
        account_id -> Text,
        ticket_replies -> Bool,
        version -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    status_components (id) {
        id -> Text,
        name -> Text,
        group_name -> Nullable<Text>,
        status -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    status_incidents (id) {
        id -> Text,
        kind -> Text,
        title -> Text,
        body -> Text,
        impact -> Text,
        progress -> Text,
        scheduled_start -> Nullable<Timestamp>,
        scheduled_end -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    status_incident_components (incident_id, component_id) {
        incident_id -> Text,
        component_id -> Text,
    }
}

diesel::table! {
    status_incident_updates (id) {
        id -> Text,
        incident_id -> Text,
        progress -> Text,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(domain_hosts -> domains (domain_id));
diesel::joinable!(dns_records -> domains (domain_id));
diesel::joinable!(dns_zones -> domains (domain_id));
diesel::joinable!(mailboxes -> services (service_id));
diesel::joinable!(forwards -> services (service_id));
diesel::joinable!(ftp_users -> services (service_id));
diesel::joinable!(databases -> services (service_id));
diesel::joinable!(certificates -> services (service_id));
diesel::joinable!(ticket_messages -> tickets (ticket_id));
diesel::joinable!(ticket_attachments -> tickets (ticket_id));
diesel::joinable!(status_incident_components -> status_incidents (incident_id));
diesel::joinable!(status_incident_components -> status_components (component_id));
diesel::joinable!(status_incident_updates -> status_incidents (incident_id));

diesel::table! {
    webhooks (id) {
        id -> Text,
        account_id -> Text,
        sees_all -> Bool,
        url -> Text,
        events -> Text,
        description -> Text,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        secret_sealed -> Text,
        previous_secret_sealed -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        failing_since -> Nullable<Timestamp>,
        claimed_by -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        event_id -> Text,
        event_type -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        last_attempt_at -> Nullable<Timestamp>,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        last_response_body -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_links (token_hash) {
        token_hash -> Text,
        service_id -> Text,
        account_id -> Text,
        tool -> Text,
        login -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_deliveries -> audit_events (event_id));

diesel::table! {
    billing_settings (seller_key) {
        seller_key -> Text,
        settings -> Text,
        version -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    orders (id) {
        id -> Text,
        number -> BigInt,
        seller_id -> Nullable<Text>,
        buyer_id -> Text,
        service_id -> Nullable<Text>,
        currency -> Text,
        items -> Text,
        total_minor -> BigInt,
        status -> Text,
        failure -> Nullable<Text>,
        note -> Nullable<Text>,
        invoice_id -> Nullable<Text>,
        created_by -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    invoices (id) {
        id -> Text,
        kind -> Text,
        number -> Text,
        sequence -> BigInt,
        status -> Text,
        seller_id -> Nullable<Text>,
        buyer_id -> Text,
        service_id -> Nullable<Text>,
        currency -> Text,
        seller -> Text,
        buyer -> Text,
        lines -> Text,
        reverse_charge -> Bool,
        subtotal_minor -> BigInt,
        tax_minor -> BigInt,
        total_minor -> BigInt,
        amount_paid_minor -> BigInt,
        payment_reference -> Text,
        order_id -> Nullable<Text>,
        credit_note_for -> Nullable<Text>,
        renewal_period_start -> Nullable<Timestamp>,
        reminder_sent_at -> Nullable<Timestamp>,
        overdue_notice_sent_at -> Nullable<Timestamp>,
        issued_at -> Timestamp,
        due_at -> Timestamp,
        paid_at -> Nullable<Timestamp>,
        version -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    payments (id) {
        id -> Text,
        invoice_id -> Text,
        amount_minor -> BigInt,
        currency -> Text,
        method -> Text,
        reference -> Nullable<Text>,
        received_at -> Timestamp,
        recorded_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    credit_balances (account_id, currency) {
        account_id -> Text,
        currency -> Text,
        amount_minor -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    credit_transactions (id) {
        id -> Text,
        account_id -> Text,
        currency -> Text,
        amount_minor -> BigInt,
        balance_minor -> BigInt,
        reason -> Text,
        invoice_id -> Nullable<Text>,
        payment_id -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(payments -> invoices (invoice_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    authorizations,
    authorization_services,
    outbox,
    email_tokens,
    recovery_codes,
    account_tree,
    sessions,
    refresh_tokens,
    api_keys,
    audit_events,
    idempotency_keys,
    login_failures,
    provisioning_states,
    plans,
    counters,
    services,
    jobs,
    account_holds,
    account_restrictions,
    domains,
    domain_hosts,
    dns_records,
    dns_zones,
    mail_addresses,
    mailboxes,
    forwards,
    ftp_users,
    databases,
    certificates,
    acme_accounts,
    webhooks,
    webhook_deliveries,
    login_links,
    tickets,
    ticket_messages,
    ticket_attachments,
    notification_settings,
    status_components,
    status_incidents,
    status_incident_components,
    status_incident_updates,
    billing_settings,
    orders,
    invoices,
    payments,
    credit_balances,
    credit_transactions,
);
