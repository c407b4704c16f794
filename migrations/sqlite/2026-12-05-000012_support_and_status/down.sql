DROP TABLE status_incident_updates;
DROP TABLE status_incident_components;
DROP TABLE status_incidents;
DROP TABLE status_components;
DROP TABLE notification_settings;
DROP TABLE ticket_attachments;
DROP TABLE ticket_messages;
DROP TABLE tickets;
DELETE FROM counters WHERE name LIKE 'ticket_number:%';
