DELETE FROM counters WHERE name = 'mail_limits';
DROP TABLE email_tokens;
DROP TABLE outbox;
