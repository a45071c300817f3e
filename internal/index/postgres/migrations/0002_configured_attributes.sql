-- Lightbox index schema, version 2 (PostgreSQL). See docs/index-schema.md.
-- Configured attributes (values taken from the stored header), the UTC
-- instant of AcquisitionDateTime, and indexes serving the default order.

ALTER TABLE instances ADD COLUMN acq_datetime_utc TEXT COLLATE "C" NOT NULL DEFAULT '';

-- One row per value of a configured attribute of an entity. level is 2
-- (study), 3 (series) or 4 (instance) and says which table owner_pk
-- refers to. v is the normalised value (PN: upper-cased alphabetic group,
-- v_i and v_p the other groups), n the value of integer VRs, u the UTC
-- instant of a DT value whose offset is known ('' otherwise).
CREATE TABLE attr_values (
    level    SMALLINT NOT NULL,
    owner_pk BIGINT   NOT NULL,
    attr     TEXT COLLATE "C" NOT NULL,
    seq      INTEGER  NOT NULL,
    v        TEXT COLLATE "C" NOT NULL,
    v_i      TEXT COLLATE "C" NOT NULL,
    v_p      TEXT COLLATE "C" NOT NULL,
    n        BIGINT,
    u        TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (level, owner_pk, attr, seq)
);
CREATE INDEX attr_values_v ON attr_values (attr, v, owner_pk);
CREATE INDEX attr_values_n ON attr_values (attr, n, owner_pk);

-- The configured attributes the values were extracted for, and how far
-- the back-fill of existing instances has come (instance pk).
CREATE TABLE attr_config (
    attr       TEXT COLLATE "C" PRIMARY KEY,
    definition TEXT   NOT NULL,
    done_pk    BIGINT NOT NULL,
    complete   INTEGER NOT NULL
);

CREATE INDEX series_order ON series (study_pk, series_number);
CREATE INDEX instances_order ON instances (series_pk, instance_number);
