-- What the quarantine costs, kept as a running total so that checking the budget reads a few rows
-- instead of summing every body. A row costs the bytes of its texts and body plus a fixed 160 for its
-- row and index entries (measured: an empty body with a short reason takes about 200 bytes on disk).
-- Triggers keep the total in the very transaction that inserts, changes or deletes rows, whatever
-- statement does it, so it cannot drift; this migration counts what is there already. They run once
-- per statement, not per row (one row updated many times in one transaction leaves a chain of
-- versions that each later update walks), and each server connection adds to its own slot (its
-- process id modulo 16), so concurrent writers do not queue on one row: the total is the slots' sum.
CREATE FUNCTION quarantine_row_cost(q quarantine) RETURNS BIGINT LANGUAGE sql IMMUTABLE AS $$
    SELECT 160 + octet_length(q.body) + octet_length(q.reason) + octet_length(q.transport)
           + octet_length(q.received_at) + coalesce(octet_length(q.location), 0)
$$;
CREATE TABLE quarantine_usage (
    slot INTEGER PRIMARY KEY,
    bytes BIGINT NOT NULL,
    rows BIGINT NOT NULL
);
INSERT INTO quarantine_usage (slot, bytes, rows)
    SELECT 0, coalesce(sum(quarantine_row_cost(q)), 0), count(*) FROM quarantine q;
CREATE FUNCTION quarantine_usage_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    change BIGINT := 0;
    counted BIGINT := 0;
    part_bytes BIGINT;
    part_rows BIGINT;
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT coalesce(sum(quarantine_row_cost(a)), 0), count(*) INTO part_bytes, part_rows FROM added a;
        change := change + part_bytes;
        counted := counted + part_rows;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        SELECT coalesce(sum(quarantine_row_cost(r)), 0), count(*) INTO part_bytes, part_rows FROM removed r;
        change := change - part_bytes;
        counted := counted - part_rows;
    END IF;
    IF change <> 0 OR counted <> 0 THEN
        INSERT INTO quarantine_usage AS u (slot, bytes, rows) VALUES (pg_backend_pid() % 16, change, counted)
            ON CONFLICT (slot) DO UPDATE SET bytes = u.bytes + excluded.bytes, rows = u.rows + excluded.rows;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER quarantine_usage_insert AFTER INSERT ON quarantine REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION quarantine_usage_count();
CREATE TRIGGER quarantine_usage_update AFTER UPDATE ON quarantine REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION quarantine_usage_count();
CREATE TRIGGER quarantine_usage_delete AFTER DELETE ON quarantine REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION quarantine_usage_count();
