-- Lightbox index schema, version 1 (SQLite). See docs/index-schema.md.
-- Text compares bytewise (BINARY); *_u columns hold upper-cased person
-- name groups for case-insensitive matching; dates are YYYYMMDD, times
-- HHMMSS[.F], date-times YYYYMMDDHHMMSS[.F]; timestamps are Unix microseconds.

CREATE TABLE patients (
    pk            INTEGER PRIMARY KEY,
    patient_key   TEXT    NOT NULL UNIQUE,
    patient_id    TEXT    NOT NULL,
    issuer        TEXT    NOT NULL,
    name_a        TEXT    NOT NULL,
    name_i        TEXT    NOT NULL,
    name_p        TEXT    NOT NULL,
    name_a_u      TEXT    NOT NULL,
    name_i_u      TEXT    NOT NULL,
    name_p_u      TEXT    NOT NULL,
    birth_date    TEXT    NOT NULL,
    sex           TEXT    NOT NULL,
    num_studies   INTEGER NOT NULL DEFAULT 0,
    num_series    INTEGER NOT NULL DEFAULT 0,
    num_instances INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX patients_id ON patients (patient_id, issuer);
CREATE INDEX patients_name_a ON patients (name_a_u);
CREATE INDEX patients_name_i ON patients (name_i_u);
CREATE INDEX patients_name_p ON patients (name_p_u);
CREATE INDEX patients_birth_date ON patients (birth_date);

CREATE TABLE studies (
    pk            INTEGER PRIMARY KEY,
    patient_pk    INTEGER NOT NULL REFERENCES patients (pk),
    study_uid     TEXT    NOT NULL UNIQUE,
    study_date    TEXT    NOT NULL,
    study_time    TEXT    NOT NULL,
    accession     TEXT    NOT NULL,
    study_id      TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    ref_a         TEXT    NOT NULL,
    ref_i         TEXT    NOT NULL,
    ref_p         TEXT    NOT NULL,
    ref_a_u       TEXT    NOT NULL,
    ref_i_u       TEXT    NOT NULL,
    ref_p_u       TEXT    NOT NULL,
    modalities    TEXT    NOT NULL,
    sop_classes   TEXT    NOT NULL,
    num_series    INTEGER NOT NULL DEFAULT 0,
    num_instances INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX studies_patient ON studies (patient_pk);
CREATE INDEX studies_date ON studies (study_date, study_time);
CREATE INDEX studies_accession ON studies (accession);
CREATE INDEX studies_ref_a ON studies (ref_a_u);

CREATE TABLE series (
    pk            INTEGER PRIMARY KEY,
    study_pk      INTEGER NOT NULL REFERENCES studies (pk),
    series_uid    TEXT    NOT NULL UNIQUE,
    modality      TEXT    NOT NULL,
    series_number INTEGER,
    description   TEXT    NOT NULL,
    body_part     TEXT    NOT NULL,
    series_date   TEXT    NOT NULL,
    series_time   TEXT    NOT NULL,
    pps_date      TEXT    NOT NULL,
    pps_time      TEXT    NOT NULL,
    institution   TEXT    NOT NULL,
    station       TEXT    NOT NULL,
    manufacturer  TEXT    NOT NULL,
    num_instances INTEGER NOT NULL DEFAULT 0,
    bytes         INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX series_study ON series (study_pk);
CREATE INDEX series_modality ON series (modality, study_pk);

CREATE TABLE instances (
    pk              INTEGER PRIMARY KEY,
    series_pk       INTEGER NOT NULL REFERENCES series (pk),
    study_pk        INTEGER NOT NULL REFERENCES studies (pk),
    sop_uid         TEXT    NOT NULL UNIQUE,
    sop_class_uid   TEXT    NOT NULL,
    instance_number INTEGER,
    ts_uid          TEXT    NOT NULL,
    num_frames      INTEGER NOT NULL,
    num_rows        INTEGER NOT NULL,
    num_columns     INTEGER NOT NULL,
    content_date    TEXT    NOT NULL,
    content_time    TEXT    NOT NULL,
    acq_datetime    TEXT    NOT NULL,
    blob_key        TEXT    NOT NULL,
    size            INTEGER NOT NULL,
    sha256          BLOB    NOT NULL,
    received_at     INTEGER NOT NULL,
    calling_ae      TEXT    NOT NULL
) STRICT;
CREATE INDEX instances_series ON instances (series_pk);
CREATE INDEX instances_study ON instances (study_pk, sop_class_uid);

-- The DICOM JSON header, apart so that scans of instances stay narrow.
CREATE TABLE headers (
    instance_pk INTEGER PRIMARY KEY REFERENCES instances (pk),
    header      BLOB    NOT NULL
) STRICT;

-- Words of person names for fuzzy matching (kind 1 PatientName of
-- patients, 2 ReferringPhysicianName of studies).
CREATE TABLE pn_words (
    kind     INTEGER NOT NULL,
    word     TEXT    NOT NULL,
    owner_pk INTEGER NOT NULL,
    PRIMARY KEY (kind, word, owner_pk)
) STRICT, WITHOUT ROWID;
CREATE INDEX pn_words_owner ON pn_words (kind, owner_pk);

CREATE TABLE conflicts (
    pk          INTEGER PRIMARY KEY,
    dedup_key   TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    patient_id  TEXT    NOT NULL,
    issuer      TEXT    NOT NULL,
    study_uid   TEXT    NOT NULL,
    series_uid  TEXT    NOT NULL,
    sop_uid     TEXT    NOT NULL,
    attribute   TEXT    NOT NULL,
    existing    TEXT    NOT NULL,
    incoming    TEXT    NOT NULL,
    occurrences INTEGER NOT NULL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL
) STRICT;
