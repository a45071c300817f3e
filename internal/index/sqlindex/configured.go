package sqlindex

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/index"
)

// This file keeps the values of configured attributes (index.Schema) in
// attr_values: filled at insert from the record's header, back-filled for
// existing instances when the configuration gains an attribute, removed
// with their entities and when an attribute leaves the configuration.

// attr_values.level as SQL literals.
var (
	levelStudy    = strconv.Itoa(int(index.StudyLevel))
	levelSeries   = strconv.Itoa(int(index.SeriesLevel))
	levelInstance = strconv.Itoa(int(index.InstanceLevel))
)

// valuesColumn is the column description of attr_values for the matching
// code: v holds the value (PN: three groups), n integers, u UTC instants.
func valuesColumn(a index.Attribute) column {
	switch a.Kind {
	case index.KindPN:
		return column{pn: [3]string{"v", "v_i", "v_p"}}
	case index.KindInt:
		return column{name: "n", intCol: true, nullable: true}
	case index.KindDateTime:
		return column{name: "v", utc: "u"}
	}
	return column{name: "v"}
}

// definition is what attr_config records of an attribute: a change means
// the stored values are stale.
func definition(a index.Attribute) string {
	return fmt.Sprintf("%s %08X %s %s %s", a.Key, a.Tag, a.Creator, a.VR, a.Level)
}

// Schema returns the index's schema: the model plus configured attributes.
func (s *Store) Schema() *index.Schema { return s.cfg.Schema }

// valueOwner names the values of one attribute of one entity.
type valueOwner struct {
	attr  index.Key
	owner int64
}

// insertValues stores the configured attribute values of a just inserted
// instance: instance-level ones under the instance; series- and
// study-level ones under the series (study) unless it has values already
// (the first instance that has the attribute provides them). The header is
// parsed only when some attribute still needs values.
func (w *writer) insertValues(ctx context.Context, rec *index.InstanceRecord, instancePK, seriesPK, studyPK int64) error {
	attrs := w.s.cfg.Schema.Configured()
	if len(attrs) == 0 {
		return nil
	}
	need := attrs[:0:0]
	for _, a := range attrs {
		owner := ownerOf(a, instancePK, seriesPK, studyPK)
		if a.Level != index.InstanceLevel {
			filled, err := w.hasValues(ctx, a, owner)
			if err != nil {
				return err
			}
			if filled {
				continue
			}
		}
		if !index.HeaderMayHave(rec.Header, a) {
			continue
		}
		need = append(need, a)
	}
	if len(need) == 0 {
		return nil
	}
	vals, err := index.HeaderValues(rec.Header, need)
	if err != nil {
		// The header is opaque to the index: an unreadable one has no values.
		w.s.log.Warn("configured attributes not indexed", "sop_instance_uid", rec.Instance.SOPInstanceUID, "err", err)
		return nil
	}
	return w.storeValues(ctx, need, vals, instancePK, seriesPK, studyPK)
}

func ownerOf(a index.Attribute, instancePK, seriesPK, studyPK int64) int64 {
	switch a.Level {
	case index.SeriesLevel:
		return seriesPK
	case index.StudyLevel:
		return studyPK
	}
	return instancePK
}

// hasValues reports whether the entity owner has values of a (a series- or
// study-level attribute), remembering the answer for the transaction.
func (w *writer) hasValues(ctx context.Context, a index.Attribute, owner int64) (bool, error) {
	k := valueOwner{a.Key, owner}
	if w.filled[k] {
		return true, nil
	}
	var one int
	err := w.queryRow(ctx, "SELECT 1 FROM attr_values WHERE level = ? AND owner_pk = ? AND attr = ? LIMIT 1",
		int64(a.Level), owner, string(a.Key)).Scan(&one)
	switch {
	case err == nil:
		if w.filled == nil {
			w.filled = map[valueOwner]bool{}
		}
		w.filled[k] = true
		return true, nil
	case isNoRows(err):
		return false, nil
	}
	return false, fmt.Errorf("look up %s values: %w", a.Key, err)
}

func (w *writer) storeValues(ctx context.Context, attrs []index.Attribute, vals [][]index.Value, instancePK, seriesPK, studyPK int64) error {
	for i, a := range attrs {
		if len(vals[i]) == 0 {
			continue
		}
		owner := ownerOf(a, instancePK, seriesPK, studyPK)
		if a.Level != index.InstanceLevel {
			filled, err := w.hasValues(ctx, a, owner)
			if err != nil {
				return err
			}
			if filled {
				continue // filled by an earlier instance
			}
		}
		for seq, v := range vals[i] {
			var n any
			if v.Int != nil {
				n = *v.Int
			}
			if _, err := w.exec(ctx, "INSERT INTO attr_values (level, owner_pk, attr, seq, v, v_i, v_p, n, u) "+
				"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
				int64(a.Level), owner, string(a.Key), int64(seq), v.Text, v.Ideographic, v.Phonetic, n, v.UTC); err != nil {
				return fmt.Errorf("insert %s value: %w", a.Key, err)
			}
		}
		if a.Level != index.InstanceLevel {
			if w.filled == nil {
				w.filled = map[valueOwner]bool{}
			}
			w.filled[valueOwner{a.Key, owner}] = true
		}
	}
	return nil
}

// backfillBatch is how many instances one back-fill transaction reads.
const backfillBatch = 500

// Backfill brings attr_values in line with the configured attributes:
// values of attributes no longer configured (or configured differently)
// are removed, and the values of newly configured attributes are extracted
// from the stored headers of every instance, in transactions of
// backfillBatch instances that record their progress, so that an
// interrupted back-fill resumes where it stopped at the next Open.
// Backends call it from Open, before the index is used.
func (s *Store) Backfill(ctx context.Context) error {
	if err := s.check(); err != nil {
		return err
	}
	want := map[string]index.Attribute{}
	for _, a := range s.cfg.Schema.Configured() {
		want[string(a.Key)] = a
	}
	type state struct {
		def      string
		done     int64
		complete bool
	}
	have := map[string]state{}
	rows, err := s.cfg.Writer.QueryContext(ctx, "SELECT attr, definition, done_pk, complete FROM attr_config")
	if err != nil {
		return s.errorf("read configured attributes: %w", err)
	}
	for rows.Next() {
		var (
			k  string
			st state
			c  int64
		)
		if err := rows.Scan(&k, &st.def, &st.done, &c); err != nil {
			rows.Close()
			return s.errorf("read configured attributes: %w", err)
		}
		st.complete = c != 0
		have[k] = st
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.errorf("read configured attributes: %w", err)
	}
	// Drop what is no longer configured as it was.
	for k, st := range have {
		if a, ok := want[k]; ok && definition(a) == st.def {
			continue
		}
		err := s.write(ctx, "drop configured attribute", func(w *writer) error {
			if _, err := w.exec(ctx, "DELETE FROM attr_values WHERE attr = ?", k); err != nil {
				return err
			}
			_, err := w.exec(ctx, "DELETE FROM attr_config WHERE attr = ?", k)
			return err
		})
		if err != nil {
			return err
		}
		s.log.Info("configured attribute dropped from the index", "attribute", k)
		delete(have, k)
	}
	// Register new attributes; collect the incomplete ones.
	var pending []index.Attribute
	from := int64(-1)
	for _, a := range s.cfg.Schema.Configured() {
		st, ok := have[string(a.Key)]
		if !ok {
			err := s.write(ctx, "register configured attribute", func(w *writer) error {
				_, err := w.exec(ctx, "INSERT INTO attr_config (attr, definition, done_pk, complete) VALUES (?, ?, 0, 0) "+
					"ON CONFLICT DO NOTHING", string(a.Key), definition(a))
				return err
			})
			if err != nil {
				return err
			}
		}
		if st.complete {
			continue
		}
		pending = append(pending, a)
		if from < 0 || st.done < from {
			from = st.done
		}
	}
	if len(pending) == 0 {
		return nil
	}
	var total int64
	if err := s.cfg.Writer.QueryRowContext(ctx, s.cfg.Dialect.rebind("SELECT count(*) FROM instances WHERE pk > ?"), from).
		Scan(&total); err != nil {
		return s.errorf("back-fill: %w", err)
	}
	keys := make([]string, len(pending))
	for i, a := range pending {
		keys[i] = string(a.Key)
	}
	s.log.Info("indexing configured attributes of stored instances", "attributes", strings.Join(keys, ","),
		"instances", total, "from_pk", from)
	start, done, last := time.Now(), int64(0), time.Now()
	for {
		var n int
		err := s.write(ctx, "back-fill configured attributes", func(w *writer) error {
			var err error
			n, from, err = w.backfillBatch(ctx, pending, from)
			return err
		})
		if err != nil {
			return err
		}
		done += int64(n)
		if n < backfillBatch {
			break
		}
		if time.Since(last) > 5*time.Second {
			last = time.Now()
			s.log.Info("indexing configured attributes", "done", done, "of", total)
		}
	}
	err = s.write(ctx, "complete back-fill", func(w *writer) error {
		for _, k := range keys {
			if _, err := w.exec(ctx, "UPDATE attr_config SET complete = 1 WHERE attr = ?", k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("configured attributes indexed", "attributes", strings.Join(keys, ","), "instances", done,
		"duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// backfillBatch extracts the pending attributes of the next instances
// after pk from, and records the progress; it returns how many instances
// it read and the last pk.
func (w *writer) backfillBatch(ctx context.Context, attrs []index.Attribute, from int64) (int, int64, error) {
	type inst struct {
		pk, series, study int64
		header            []byte
	}
	rows, err := w.query(ctx, "SELECT i.pk, i.series_pk, i.study_pk, h.header FROM instances i "+
		"JOIN headers h ON h.instance_pk = i.pk WHERE i.pk > ? ORDER BY i.pk LIMIT "+strconv.Itoa(backfillBatch), from)
	if err != nil {
		return 0, from, fmt.Errorf("read headers: %w", err)
	}
	var batch []inst
	for rows.Next() {
		var in inst
		if err := rows.Scan(&in.pk, &in.series, &in.study, &in.header); err != nil {
			rows.Close()
			return 0, from, fmt.Errorf("read headers: %w", err)
		}
		batch = append(batch, in)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, from, fmt.Errorf("read headers: %w", err)
	}
	for _, in := range batch {
		vals, err := index.HeaderValues(in.header, attrs)
		if err != nil {
			w.s.log.Warn("configured attributes not indexed", "instance_pk", in.pk, "err", err)
			continue
		}
		if err := w.storeValues(ctx, attrs, vals, in.pk, in.series, in.study); err != nil {
			return 0, from, err
		}
		from = in.pk
	}
	for _, a := range attrs {
		if _, err := w.exec(ctx, "UPDATE attr_config SET done_pk = ? WHERE attr = ?", from, string(a.Key)); err != nil {
			return 0, from, fmt.Errorf("record back-fill progress: %w", err)
		}
	}
	return len(batch), from, nil
}

// configuredCond translates a condition on a configured attribute of the
// entity aliased alias: a semi-join on attr_values ("has a value that
// matches"); the empty value matches entities without a non-empty value.
func (b *builder) configuredCond(alias string, c index.Condition) (string, error) {
	col := valuesColumn(c.Attr)
	level := strconv.Itoa(int(c.Attr.Level))
	key := b.arg(string(c.Attr.Key))
	if len(c.Terms) == 1 && c.Terms[0].Kind == index.MatchEmpty {
		return alias + ".pk NOT IN (SELECT av.owner_pk FROM attr_values av WHERE av.attr = " + key +
			" AND av.level = " + level + ")", nil
	}
	var alts []string
	for _, t := range c.Terms {
		if t.Kind == index.MatchEmpty {
			return "", fmt.Errorf("%w: %s: the empty value cannot be one of a list", index.ErrInvalidQuery, c.Attr.Key)
		}
		p, err := b.term("av", col, c, t)
		if err != nil {
			return "", err
		}
		alts = append(alts, p)
	}
	pred := alts[0]
	if len(alts) > 1 {
		pred = "(" + strings.Join(alts, " OR ") + ")"
	}
	return alias + ".pk IN (SELECT av.owner_pk FROM attr_values av WHERE av.attr = " + key +
		" AND av.level = " + level + " AND " + pred + ")", nil
}
