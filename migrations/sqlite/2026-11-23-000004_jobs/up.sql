-- Background jobs (bulk actions above the synchronous limit). A worker claims a job with
-- a conditional update on claimed_by/lease_until; a crashed worker's job comes back to
-- the others when its lease runs out.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    params TEXT NOT NULL,
    results TEXT NOT NULL,
    progress_done BIGINT NOT NULL,
    progress_total BIGINT NOT NULL,
    requested_by TEXT NOT NULL REFERENCES accounts (id),
    claimed_by TEXT NULL,
    lease_until TIMESTAMP NULL,
    attempts INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NULL
);
CREATE INDEX jobs_open_idx ON jobs (status, created_at);
CREATE INDEX jobs_requested_by_idx ON jobs (requested_by, id);
