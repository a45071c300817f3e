package sqlindex

import (
	"fmt"
	"sort"
	"strings"

	"github.com/lightbox-pacs/lightbox/internal/index"
)

// builder accumulates SQL text and arguments.
type builder struct {
	d    Dialect
	args []any
}

func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	return "?"
}

// buildFind returns the SELECT (or, with count set, SELECT count(*)) for q.
func buildFind(d Dialect, schema *index.Schema, q index.Query, count bool) (string, []any, error) {
	conds, err := schema.ParseQuery(q)
	if err != nil {
		return "", nil, err
	}
	b := &builder{d: d}
	where, err := b.where(q.Level, conds)
	if err != nil {
		return "", nil, err
	}
	var sb strings.Builder
	if count {
		sb.WriteString("SELECT count(*) FROM ")
	} else {
		sb.WriteString("SELECT ")
		sb.WriteString(selectList(q.Level))
		if q.IncludeHeader {
			sb.WriteString(", ")
			sb.WriteString(headerSelect(q.Level))
		}
		sb.WriteString(" FROM ")
	}
	sb.WriteString(fromClause(q.Level))
	if where != "" {
		sb.WriteString(" WHERE ")
		sb.WriteString(where)
	}
	if !count {
		sb.WriteString(" ORDER BY ")
		sb.WriteString(orderBy(q))
		sb.WriteString(d.limit(q.Limit, q.Offset))
	}
	return d.rebind(sb.String()), b.args, nil
}

// where translates the conditions of a query at level. Conditions on the
// level and above apply to the joined rows; conditions on lower levels are
// grouped into one semi-join ("has a descendant matching all of them");
// ModalitiesInStudy and SOPClassesInStudy each get their own semi-join on
// the study.
func (b *builder) where(level index.Level, conds []index.Condition) (string, error) {
	var preds []string
	lower := map[index.Level][]index.Condition{}
	for _, c := range conds {
		switch {
		case c.Attr.Multi:
			p, err := b.multi(level, c)
			if err != nil {
				return "", err
			}
			preds = append(preds, p)
		case c.Attr.Level <= level:
			p, err := b.cond(levelAlias[c.Attr.Level], c)
			if err != nil {
				return "", err
			}
			preds = append(preds, p)
		default:
			lower[c.Attr.Level] = append(lower[c.Attr.Level], c)
		}
	}
	if len(lower) > 0 {
		p, err := b.descendants(level, lower)
		if err != nil {
			return "", err
		}
		preds = append(preds, p)
	}
	return strings.Join(preds, " AND "), nil
}

// descendants builds "<alias>.pk IN (SELECT link FROM lower levels WHERE ...)".
func (b *builder) descendants(level index.Level, lower map[index.Level][]index.Condition) (string, error) {
	deepest := level
	for l := range lower {
		deepest = max(deepest, l)
	}
	tables := map[index.Level]string{
		index.StudyLevel:    "studies s",
		index.SeriesLevel:   "series se",
		index.InstanceLevel: "instances i",
	}
	joins := map[index.Level]string{
		index.SeriesLevel:   "se.study_pk = s.pk",
		index.InstanceLevel: "i.series_pk = se.pk",
	}
	links := map[index.Level]string{
		index.StudyLevel:    "s.patient_pk",
		index.SeriesLevel:   "se.study_pk",
		index.InstanceLevel: "i.series_pk",
	}
	first := level + 1
	var from strings.Builder
	from.WriteString(tables[first])
	for l := first + 1; l <= deepest; l++ {
		from.WriteString(" JOIN " + tables[l] + " ON " + joins[l])
	}
	var preds []string
	levels := make([]index.Level, 0, len(lower))
	for l := range lower {
		levels = append(levels, l)
	}
	sort.Slice(levels, func(i, j int) bool { return levels[i] < levels[j] })
	for _, l := range levels {
		for _, c := range lower[l] {
			p, err := b.cond(levelAlias[l], c)
			if err != nil {
				return "", err
			}
			preds = append(preds, p)
		}
	}
	return fmt.Sprintf("%s.pk IN (SELECT %s FROM %s WHERE %s)", levelAlias[level], links[first], from.String(),
		strings.Join(preds, " AND ")), nil
}

// multi builds the condition of ModalitiesInStudy or SOPClassesInStudy:
// the study has a series (instance) whose Modality (SOP Class UID) matches.
func (b *builder) multi(level index.Level, c index.Condition) (string, error) {
	alias, table := "ms", "series"
	if c.Attr.Key == index.SOPClassesInStudy {
		alias, table = "mi", "instances"
	}
	if len(c.Terms) == 1 && c.Terms[0].Kind == index.MatchEmpty {
		list := "modalities"
		if c.Attr.Key == index.SOPClassesInStudy {
			list = "sop_classes"
		}
		if level == index.PatientLevel {
			return "p.pk IN (SELECT ms_s.patient_pk FROM studies ms_s WHERE ms_s." + list + " = '')", nil
		}
		return "s." + list + " = ''", nil
	}
	p, err := b.cond(alias, c)
	if err != nil {
		return "", err
	}
	if level == index.PatientLevel {
		return fmt.Sprintf("p.pk IN (SELECT ms_s.patient_pk FROM studies ms_s JOIN %s %s ON %s.study_pk = ms_s.pk WHERE %s)",
			table, alias, alias, p), nil
	}
	return fmt.Sprintf("s.pk IN (SELECT %s.study_pk FROM %s %s WHERE %s)", alias, table, alias, p), nil
}

// cond translates one condition on the table aliased alias.
func (b *builder) cond(alias string, c index.Condition) (string, error) {
	if c.Attr.Configured {
		return b.configuredCond(alias, c)
	}
	col, ok := columns[c.Attr.Key]
	if !ok {
		return "", fmt.Errorf("%w: %s is not stored", index.ErrUnsupportedKey, c.Attr.Key)
	}
	if col.pn[0] == "" && len(c.Terms) > 1 && allSingle(c.Terms) {
		// Value lists (typically UID lists of a C-MOVE) as one IN.
		marks := make([]string, len(c.Terms))
		for i, t := range c.Terms {
			if col.intCol {
				marks[i] = b.arg(int64(t.Int))
			} else {
				marks[i] = b.arg(t.Value)
			}
		}
		return alias + "." + col.name + " IN (" + strings.Join(marks, ", ") + ")", nil
	}
	var alts []string
	for _, t := range c.Terms {
		p, err := b.term(alias, col, c, t)
		if err != nil {
			return "", err
		}
		alts = append(alts, p)
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return "(" + strings.Join(alts, " OR ") + ")", nil
}

func (b *builder) term(alias string, col column, c index.Condition, t index.Term) (string, error) {
	if col.pn[0] != "" {
		return b.pnTerm(alias, col, t)
	}
	ref := alias + "." + col.name
	switch t.Kind {
	case index.MatchSingle:
		if col.intCol {
			return ref + " = " + b.arg(int64(t.Int)), nil
		}
		return ref + " = " + b.arg(t.Value), nil
	case index.MatchWildcard:
		return b.wildcard(ref, t.Value), nil
	case index.MatchEmpty:
		switch {
		case col.nullable:
			return ref + " IS NULL", nil
		case col.intCol:
			return ref + " = 0", nil
		}
		return ref + " = ''", nil
	case index.MatchRange:
		if t.UTC && col.utc != "" {
			return b.utcRangeTerm(alias, ref, col, t), nil
		}
		return b.rangeTerm(alias, ref, c, t), nil
	}
	return "", fmt.Errorf("%w: %s: unsupported match", index.ErrInvalidQuery, c.Attr.Key)
}

func allSingle(terms []index.Term) bool {
	for _, t := range terms {
		if t.Kind != index.MatchSingle {
			return false
		}
	}
	return true
}

func (b *builder) wildcard(ref, pattern string) string {
	pred, arg := b.d.wildcard(ref, pattern)
	if lo, hi, ok := prefixRange(pattern); ok {
		rng := ref + " >= " + b.arg(lo) + " AND " + ref + " < " + b.arg(hi)
		return "(" + rng + " AND " + strings.Replace(pred, "?", b.arg(arg), 1) + ")"
	}
	return strings.Replace(pred, "?", b.arg(arg), 1)
}

// rangeTerm translates a date, time or date-time range. Empty stored values
// never match a range. With a paired time (combined date-time matching)
// the time bounds apply on the boundary dates; an entity without a time
// matches on any date inside the date range.
func (b *builder) rangeTerm(alias, ref string, c index.Condition, t index.Term) string {
	var preds []string
	if t.Lo != "" {
		preds = append(preds, ref+" >= "+b.arg(t.Lo))
	} else {
		preds = append(preds, ref+" > ''")
	}
	if t.Hi != "" {
		preds = append(preds, ref+" <= "+b.arg(t.Hi))
	}
	if c.Time != nil {
		tref := alias + "." + columns[c.Time.Key].name
		if t.Lo != "" && t.LoTime != "" {
			preds = append(preds, "("+ref+" > "+b.arg(t.Lo)+" OR "+tref+" >= "+b.arg(t.LoTime)+" OR "+tref+" = '')")
		}
		if t.Hi != "" && t.HiTime != "" {
			preds = append(preds, "("+ref+" < "+b.arg(t.Hi)+" OR "+tref+" <= "+b.arg(t.HiTime)+" OR "+tref+" = '')")
		}
	}
	return "(" + strings.Join(preds, " AND ") + ")"
}

// pnTerm translates a PN term on the upper-cased group columns.
func (b *builder) pnTerm(alias string, col column, t index.Term) (string, error) {
	one := func(group int, t index.Term) (string, error) {
		ref := alias + "." + col.pn[group]
		switch t.Kind {
		case index.MatchSingle:
			return ref + " = " + b.arg(t.Value), nil
		case index.MatchWildcard:
			return b.wildcard(ref, t.Value), nil
		}
		return "", fmt.Errorf("%w: unsupported person name match", index.ErrInvalidQuery)
	}
	switch t.Kind {
	case index.MatchEmpty:
		return "(" + alias + "." + col.pn[0] + " = '' AND " + alias + "." + col.pn[1] + " = '' AND " +
			alias + "." + col.pn[2] + " = '')", nil
	case index.MatchFuzzy:
		var preds []string
		for _, w := range t.Words {
			preds = append(preds, alias+".pk IN (SELECT owner_pk FROM pn_words WHERE kind = "+
				b.arg(int64(col.words))+" AND word >= "+b.arg(w)+" AND word < "+b.arg(w+"\U0010FFFF")+")")
		}
		return "(" + strings.Join(preds, " AND ") + ")", nil
	case index.MatchAll:
		var preds []string
		for _, p := range t.Parts {
			s, err := one(p.Group, p)
			if err != nil {
				return "", err
			}
			preds = append(preds, s)
		}
		return "(" + strings.Join(preds, " AND ") + ")", nil
	}
	if t.Group == index.GroupAny {
		var alts []string
		for g := 0; g < 3; g++ {
			s, err := one(g, t)
			if err != nil {
				return "", err
			}
			alts = append(alts, s)
		}
		return "(" + strings.Join(alts, " OR ") + ")", nil
	}
	return one(t.Group, t)
}

// utcRangeTerm translates a DT range whose bounds carry a UTC offset:
// stored values whose offset is known compare as UTC instants, the others
// as local times with the bounds as written.
func (b *builder) utcRangeTerm(alias, ref string, col column, t index.Term) string {
	uref := alias + "." + col.utc
	side := func(r, lo, hi string) []string {
		var preds []string
		if lo != "" {
			preds = append(preds, r+" >= "+b.arg(lo))
		} else {
			preds = append(preds, r+" > ''")
		}
		if hi != "" {
			preds = append(preds, r+" <= "+b.arg(hi))
		}
		return preds
	}
	known := append([]string{uref + " <> ''"}, side(uref, t.LoUTC, t.HiUTC)...)
	local := append([]string{uref + " = ''"}, side(ref, t.Lo, t.Hi)...)
	return "((" + strings.Join(known, " AND ") + ") OR (" + strings.Join(local, " AND ") + "))"
}

// orderBy returns the ORDER BY list of q: its OrderBy keys, then the
// level's default order (index.DefaultOrder), then the entity's pk, which
// makes the order total. NULL integers (absent SeriesNumber,
// InstanceNumber) sort last in both directions on both backends.
func orderBy(q index.Query) string {
	var parts []string
	seen := map[index.Key]bool{}
	for _, o := range append(append([]index.Order(nil), q.OrderBy...), index.DefaultOrder(q.Level)...) {
		if seen[o.Key] {
			continue
		}
		seen[o.Key] = true
		a, ok := index.LookupKey(o.Key)
		col, okCol := columns[o.Key]
		if !ok || !okCol || a.Level > q.Level || a.Multi || a.Kind == index.KindCount {
			continue
		}
		alias := levelAlias[a.Level]
		name := col.name
		if col.pn[0] != "" {
			name = col.pn[0]
		}
		ref := alias + "." + name
		dir := ""
		if o.Desc {
			dir = " DESC"
		}
		if col.nullable {
			parts = append(parts, "("+ref+" IS NULL)")
		}
		parts = append(parts, ref+dir)
	}
	parts = append(parts, levelAlias[q.Level]+".pk")
	return strings.Join(parts, ", ")
}
