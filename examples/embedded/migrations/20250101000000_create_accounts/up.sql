-- Long enough that replicas started together find the lock taken.
SELECT pg_sleep(0.5);
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL UNIQUE);
