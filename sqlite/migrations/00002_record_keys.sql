-- +goose Up

-- record_keys replaces the indexes of records on customer_id, account and
-- device_id. Those keys arrive in random order, so each of the three
-- indexes cost a descent to a random page per record: together about two
-- thirds of the cost of storing a record. Here the indexer inserts a whole
-- batch's keys sorted, so neighbouring inserts land on the same pages; a
-- lookup walks (k, seq) backwards, newest first, and joins records by seq.
-- k is "c:" customer_id, "a:" account or "d:" device_id.
CREATE TABLE record_keys (
    k   TEXT    NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (k, seq)
) STRICT, WITHOUT ROWID;

INSERT INTO record_keys (k, seq)
    SELECT 'c:' || customer_id, seq FROM records
    UNION ALL SELECT 'a:' || account, seq FROM records WHERE account IS NOT NULL
    UNION ALL SELECT 'd:' || device_id, seq FROM records WHERE device_id IS NOT NULL
    ORDER BY 1, 2;

DROP INDEX records_customer;
DROP INDEX records_account;
DROP INDEX records_device;

-- +goose Down
CREATE INDEX records_customer ON records (customer_id);
CREATE INDEX records_account  ON records (account) WHERE account IS NOT NULL;
CREATE INDEX records_device   ON records (device_id) WHERE device_id IS NOT NULL;
DROP TABLE record_keys;
