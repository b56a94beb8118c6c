-- What the quarantine costs, kept as a running total so that checking the budget reads one row
-- instead of summing every body. A row costs the bytes of its texts and body plus a fixed 160 for its
-- row and index entries (measured: an empty body with a short reason takes about 150 bytes on disk).
-- Triggers keep the total in the very transaction that inserts, changes or deletes a row, whatever
-- statement does it, so it cannot drift; this migration counts what is there already.
CREATE TABLE quarantine_usage (
    slot INTEGER PRIMARY KEY,
    bytes INTEGER NOT NULL,
    rows INTEGER NOT NULL
);
INSERT INTO quarantine_usage (slot, bytes, rows)
    SELECT 0, coalesce(sum(160 + length(body) + length(CAST(reason AS BLOB)) + length(CAST(transport AS BLOB))
                           + length(CAST(received_at AS BLOB)) + coalesce(length(CAST(location AS BLOB)), 0)), 0),
           count(*)
    FROM quarantine;
CREATE TRIGGER quarantine_usage_insert AFTER INSERT ON quarantine BEGIN
    UPDATE quarantine_usage SET rows = rows + 1,
        bytes = bytes + 160 + length(NEW.body) + length(CAST(NEW.reason AS BLOB)) + length(CAST(NEW.transport AS BLOB))
                + length(CAST(NEW.received_at AS BLOB)) + coalesce(length(CAST(NEW.location AS BLOB)), 0)
    WHERE slot = 0;
END;
CREATE TRIGGER quarantine_usage_delete AFTER DELETE ON quarantine BEGIN
    UPDATE quarantine_usage SET rows = rows - 1,
        bytes = bytes - 160 - length(OLD.body) - length(CAST(OLD.reason AS BLOB)) - length(CAST(OLD.transport AS BLOB))
                - length(CAST(OLD.received_at AS BLOB)) - coalesce(length(CAST(OLD.location AS BLOB)), 0)
    WHERE slot = 0;
END;
CREATE TRIGGER quarantine_usage_update AFTER UPDATE ON quarantine BEGIN
    UPDATE quarantine_usage SET
        bytes = bytes + length(NEW.body) + length(CAST(NEW.reason AS BLOB)) + length(CAST(NEW.transport AS BLOB))
                + length(CAST(NEW.received_at AS BLOB)) + coalesce(length(CAST(NEW.location AS BLOB)), 0)
                - length(OLD.body) - length(CAST(OLD.reason AS BLOB)) - length(CAST(OLD.transport AS BLOB))
                - length(CAST(OLD.received_at AS BLOB)) - coalesce(length(CAST(OLD.location AS BLOB)), 0)
    WHERE slot = 0;
END;
