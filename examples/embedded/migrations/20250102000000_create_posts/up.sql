CREATE TABLE posts (
    id bigint PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts,
    title text NOT NULL
);
