DROP TABLE login_links;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
