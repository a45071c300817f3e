-- Lightbox index schema, version 2 (SQLite). See docs/index-schema.md.
-- Configured attributes (values taken from the stored header), the UTC
-- instant of AcquisitionDateTime, and indexes serving the default order.

ALTER TABLE instances ADD COLUMN acq_datetime_utc TEXT NOT NULL DEFAULT '';

-- One row per value of a configured attribute of an entity. level is 2
-- (study), 3 (series) or 4 (instance) and says which table owner_pk
-- refers to. v is the normalised value (PN: upper-cased alphabetic group,
-- v_i and v_p the other groups), n the value of integer VRs, u the UTC
-- instant of a DT value whose offset is known ('' otherwise).
CREATE TABLE attr_values (
    level    INTEGER NOT NULL,
    owner_pk INTEGER NOT NULL,
    attr     TEXT    NOT NULL,
    seq      INTEGER NOT NULL,
    v        TEXT    NOT NULL,
    v_i      TEXT    NOT NULL,
    v_p      TEXT    NOT NULL,
    n        INTEGER,
    u        TEXT    NOT NULL,
    PRIMARY KEY (level, owner_pk, attr, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX attr_values_v ON attr_values (attr, v);
CREATE INDEX attr_values_n ON attr_values (attr, n);

-- The configured attributes the values were extracted for, and how far
-- the back-fill of existing instances has come (instance pk).
CREATE TABLE attr_config (
    attr       TEXT    PRIMARY KEY,
    definition TEXT    NOT NULL,
    done_pk    INTEGER NOT NULL,
    complete   INTEGER NOT NULL
) STRICT;

CREATE INDEX series_order ON series (study_pk, series_number);
CREATE INDEX instances_order ON instances (series_pk, instance_number);
