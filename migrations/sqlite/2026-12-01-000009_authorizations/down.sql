DROP TABLE authorization_services;
DROP TABLE authorizations;
