DROP TABLE services;
DROP TABLE counters;
