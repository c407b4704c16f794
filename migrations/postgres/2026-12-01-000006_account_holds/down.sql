ALTER TABLE services DROP COLUMN held;
DROP TABLE account_restrictions;
DROP TABLE account_holds;
