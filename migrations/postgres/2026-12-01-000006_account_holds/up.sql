-- Suspensions and blocks placed on an account. A hold covers the account and everything
-- below it; accounts.status is the effective status, recomputed from the active holds
-- of each account's ancestors-or-self whenever a hold is placed or lifted. Lifted holds
-- stay as history: an account is never deleted, and neither is what happened to it.
CREATE TABLE account_holds (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    kind TEXT NOT NULL CHECK (kind IN ('suspension', 'block')),
    reason TEXT NOT NULL,
    fraud BOOLEAN NOT NULL,
    placed_by TEXT NULL,
    placed_at TIMESTAMP NOT NULL,
    lifted_at TIMESTAMP NULL,
    lifted_by TEXT NULL,
    lift_reason TEXT NULL
);
-- One active hold of each kind per account: two parallel suspensions cannot both win.
CREATE UNIQUE INDEX account_holds_active_key ON account_holds (account_id, kind) WHERE lifted_at IS NULL;

-- Actions a seller disabled for an account and everything below it (space-separated names).
-- One list per setter: each account above replaces only its own, so an account in
-- between cannot lift what was set above it; in force is the union of every list on the
-- account and its ancestors.
CREATE TABLE account_restrictions (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    setter_id TEXT NOT NULL REFERENCES accounts (id),
    disabled_actions TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, setter_id)
);

-- A service suspended because its owner's account is held (not for a reason of its own):
-- lifting the hold makes exactly these services active again.
ALTER TABLE services ADD COLUMN held BOOLEAN NOT NULL DEFAULT FALSE;
