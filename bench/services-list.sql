-- One page of GET /v1/services?limit=100, word for word the SQL diesel sends for
-- persistence/src/services.rs `list_in_reach` (as PostgreSQL's auto_explain logs it): the
-- caller's reach, the keyset bound taken from the cursor (none on the first page), newest
-- first, one row more than the page to know whether another follows.
-- bench/services-list.sh runs it with `pgbench -M prepared`: like diesel, which keeps each
-- connection's statements prepared, with bind parameters (so PostgreSQL may switch to a
-- generic plan after five executions, as it does for the server). Variables:
--   reseller  1: the reseller's reach (its subtree through account_tree); 0: a customer's own
--   paged     1: a later page (`id < :before`); 0: the first page
--   owner     the caller's account id
--   before    the id of the last row of the previous page (unused when paged = 0)
--   fetch     101
\if :reseller
\if :paged
SELECT "services"."id", "services"."number", "services"."owner_id", "services"."plan_id", "services"."name", "services"."kind", "services"."status", "services"."cycle", "services"."addons", "services"."quotas", "services"."registered_at", "services"."next_due_at", "services"."recurring_amount_minor", "services"."currency", "services"."auto_renew", "services"."cancellation", "services"."suspension_reason", "services"."allow_overselling", "services"."version", "services"."created_at", "services"."updated_at" FROM "services" WHERE (EXISTS (SELECT 1 FROM "account_tree" WHERE (("account_tree"."ancestor_id" = :owner) AND ("account_tree"."descendant_id" = "services"."owner_id"))) AND ("services"."id" < :before)) ORDER BY "services"."id" DESC LIMIT :fetch;
\else
SELECT "services"."id", "services"."number", "services"."owner_id", "services"."plan_id", "services"."name", "services"."kind", "services"."status", "services"."cycle", "services"."addons", "services"."quotas", "services"."registered_at", "services"."next_due_at", "services"."recurring_amount_minor", "services"."currency", "services"."auto_renew", "services"."cancellation", "services"."suspension_reason", "services"."allow_overselling", "services"."version", "services"."created_at", "services"."updated_at" FROM "services" WHERE EXISTS (SELECT 1 FROM "account_tree" WHERE (("account_tree"."ancestor_id" = :owner) AND ("account_tree"."descendant_id" = "services"."owner_id"))) ORDER BY "services"."id" DESC LIMIT :fetch;
\endif
\else
\if :paged
SELECT "services"."id", "services"."number", "services"."owner_id", "services"."plan_id", "services"."name", "services"."kind", "services"."status", "services"."cycle", "services"."addons", "services"."quotas", "services"."registered_at", "services"."next_due_at", "services"."recurring_amount_minor", "services"."currency", "services"."auto_renew", "services"."cancellation", "services"."suspension_reason", "services"."allow_overselling", "services"."version", "services"."created_at", "services"."updated_at" FROM "services" WHERE (("services"."owner_id" = :owner) AND ("services"."id" < :before)) ORDER BY "services"."id" DESC LIMIT :fetch;
\else
SELECT "services"."id", "services"."number", "services"."owner_id", "services"."plan_id", "services"."name", "services"."kind", "services"."status", "services"."cycle", "services"."addons", "services"."quotas", "services"."registered_at", "services"."next_due_at", "services"."recurring_amount_minor", "services"."currency", "services"."auto_renew", "services"."cancellation", "services"."suspension_reason", "services"."allow_overselling", "services"."version", "services"."created_at", "services"."updated_at" FROM "services" WHERE ("services"."owner_id" = :owner) ORDER BY "services"."id" DESC LIMIT :fetch;
\endif
\endif
