package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/callsync/callsync/store/dbsqlc"
)

// On SQLite, SaveLedger inserts the new ledger rows without a payload, and
// the decision log entries it knows the first-seen time of, with a
// statement of several rows (INSERT ... VALUES (...), (...)) instead of a
// statement per row: each statement costs its own database/sql call
// (locking, the conversion of its arguments, its result) and its own start
// and end in SQLite (a transaction check, its cursors opened and closed).
// The statements are SQLite's own text, built here for a few numbers of
// rows (rowTexts), so that the driver's statement cache (_stmt_cache_size)
// keeps each prepared.
//
// Neither statement keeps a statement journal. SQLite gives one to a
// statement that may change several rows and may abort part way
// (https://www.sqlite.org/tempfiles.html, "Statement Journal Files"): a
// copy of each page it changes, kept in memory up to 64 KiB and then in a
// temporary file. Their NOT NULL constraints abort a statement unless it
// names another conflict resolution (https://www.sqlite.org/lang_conflict.html):
// OR FAIL stops the statement at the row that fails and keeps the rows
// before it, which the transaction's rollback then discards (SaveLedger
// ends in an error). The ledger's statement does nothing on a row whose
// key is stored (ON CONFLICT DO NOTHING; its DO UPDATE would abort), and
// SaveLedger saves the rows of a statement that inserted fewer rows than
// it was given one by one with the upsert (newRows.insert).

// rowTexts are the multi-row statements' texts, for sizes[i] rows each.
// A run of rows goes in statements of the largest size while it has that
// many left, then of the next, so at most a few statements of each
// smaller size end it, and the rows left (fewer than the smallest size)
// go to the statements for one row.
type rowTexts struct {
	sizes     [3]int
	ledger    [3]string
	decisions [3]string
}

// ledgerCols is the number of parameters of a row of the ledger's
// statement: every column of UpsertLedgerKeepPayload's insert but
// created_at and updated_at, which are the statement's first parameter.
const ledgerCols = 13

// decisionCols is the number of parameters of a row of the decision log's
// statement: InsertDecision's columns, seen_at given.
const decisionCols = 10

// newRowTexts builds the statements for 48, 12 and 3 rows. database/sql
// gives the driver a statement's parameters as a slice of
// driver.NamedValue, 40 bytes each: 48 ledger rows are 625 parameters,
// under 32 KiB, above which Go allocates an object on its own pages
// (a large object, https://go.dev/src/runtime/malloc.go). In
// BenchmarkLedgerBackfill, 32, 48 and 64 rows measured the same, 128
// rows more CPU.
func newRowTexts() *rowTexts {
	t := &rowTexts{sizes: [3]int{48, 12, 3}}
	for i, n := range t.sizes {
		t.ledger[i] = ledgerValuesSQL(n)
		t.decisions[i] = decisionValuesSQL(n)
	}
	return t
}

// ledgerValuesSQL is the insert of n new ledger rows without a payload:
// the row UpsertLedgerKeepPayload inserts, created_at and updated_at the
// transaction's time (?1).
func ledgerValuesSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT OR FAIL INTO ledger (tenant, kind, enreach_id, idem_key, state, reason, crm_id, crm_hash, attempts, last_error, item_time, number, created_at, updated_at, unmapped_user) VALUES ")
	p := 2
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range ledgerCols {
			if c == ledgerCols-1 {
				b.WriteString("?1,?1,") // created_at, updated_at
			}
			b.WriteByte('?')
			b.WriteString(strconv.Itoa(p))
			p++
			if c < ledgerCols-1 {
				b.WriteByte(',')
			}
		}
		b.WriteByte(')')
	}
	b.WriteString(" ON CONFLICT (tenant, kind, enreach_id) DO NOTHING")
	return b.String()
}

// decisionValuesSQL is the insert of n decision log entries whose seen_at
// is given (InsertDecision's row when its seen_at is not null).
func decisionValuesSQL(n int) string {
	var b strings.Builder
	b.WriteString("INSERT OR FAIL INTO decisions (tenant, kind, enreach_id, seen_at, at, state, reason, crm_id, error, detail) VALUES ")
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", decisionCols), ",") + ")"
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

// rowsQuerier is a SQLite transaction's querier, which also runs the
// multi-row statements. SaveLedger finds it by its type: PostgreSQL's
// querier is not one (it saves many rows with UpsertLedgerRows and
// InsertDecisions, engine.setStatements).
type rowsQuerier struct {
	dbsqlc.Querier
	x     txStatements
	texts *rowTexts
}

// exec runs a multi-row statement and returns the rows it changed.
func (q rowsQuerier) exec(ctx context.Context, query string, args []any) (int64, error) {
	r, err := q.x.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// newRows collects the new ledger rows without a payload of a SaveLedger
// on SQLite, in key order, and inserts them with rowsQuerier's statements.
type newRows struct {
	q    rowsQuerier
	now  int64
	rows []*LedgerEntry
	args []any
}

// add queues a row; the rows are saved by flush.
func (r *newRows) add(e *LedgerEntry) { r.rows = append(r.rows, e) }

// last is the key of the last row queued (ok false when none is).
func (r *newRows) last() (itemKey, bool) {
	if len(r.rows) == 0 {
		return itemKey{}, false
	}
	e := r.rows[len(r.rows)-1]
	return itemKey{e.Tenant, e.Kind, e.EnreachID}, true
}

// flush saves the queued rows, in their order: in statements of
// rowTexts' sizes, and the last few one by one with the upsert.
func (r *newRows) flush(ctx context.Context) error {
	if len(r.rows) == 0 {
		return nil
	}
	rows := r.rows
	r.rows = r.rows[:0]
	for i, n := range r.q.texts.sizes {
		for len(rows) >= n {
			if err := r.insert(ctx, r.q.texts.ledger[i], rows[:n]); err != nil {
				return err
			}
			rows = rows[n:]
		}
	}
	for _, e := range rows {
		if err := upsertLedger(ctx, r.q, *e, r.now); err != nil {
			return err
		}
	}
	return nil
}

// insert runs one statement of len(rows) rows. A row whose key is stored
// (another process saved it since the caller read the ledger, or the key
// is given twice) is not inserted by it: then the rows are saved again one
// by one with the upsert, in their order, which gives each the row the
// upsert of each in turn leaves (a row the statement inserted is updated
// to the same values, as its state is not written unless it was inserted
// written, which the upsert then leaves as it is).
func (r *newRows) insert(ctx context.Context, query string, rows []*LedgerEntry) error {
	args := append(r.args[:0], r.now)
	for _, e := range rows {
		args = append(args, e.Tenant, e.Kind, e.EnreachID, e.Key, string(e.State), e.Reason, e.CRMID, crmHash(e.CRMID),
			int64(e.Attempts), e.LastError, ms(e.ItemTime), e.Number, e.UnmappedUser)
	}
	r.args = args
	n, err := r.q.exec(ctx, query, args)
	clear(args) // the strings are the caller's entries'
	first, last := rows[0], rows[len(rows)-1]
	if err != nil {
		return fmt.Errorf("store: save ledger %s/%s/%s..%s: %w", first.Tenant, first.Kind, first.EnreachID, last.EnreachID, err)
	}
	if n == int64(len(rows)) {
		return nil
	}
	for _, e := range rows {
		if err := upsertLedger(ctx, r.q, *e, r.now); err != nil {
			return err
		}
	}
	return nil
}

// newDecisions collects decision log entries whose first-seen time is
// known and inserts them with rowsQuerier's statements, in their order.
type newDecisions struct {
	q    rowsQuerier
	ds   []*Decision
	at   []int64
	args []any
}

func (d *newDecisions) add(e *Decision, seen int64) {
	d.ds = append(d.ds, e)
	d.at = append(d.at, seen)
}

// flush inserts the queued entries in their order: in statements of
// rowTexts' sizes, and the last few one by one with InsertDecision.
func (d *newDecisions) flush(ctx context.Context) error {
	if len(d.ds) == 0 {
		return nil
	}
	ds, at := d.ds, d.at
	d.ds, d.at = d.ds[:0], d.at[:0]
	for i, n := range d.q.texts.sizes {
		for len(ds) >= n {
			args := d.args[:0]
			for j, e := range ds[:n] {
				args = append(args, e.Tenant, e.Kind, e.EnreachID, at[j], ms(e.At), string(e.State), e.Reason, e.CRMID, e.Error, e.Detail)
			}
			d.args = args
			_, err := d.q.exec(ctx, d.q.texts.decisions[i], args)
			clear(args)
			if err != nil {
				return fmt.Errorf("store: decisions from %s/%s/%s: %w", ds[0].Tenant, ds[0].Kind, ds[0].EnreachID, err)
			}
			ds, at = ds[n:], at[n:]
		}
	}
	for j, e := range ds {
		if err := insertDecision(ctx, d.q, *e, at[j], true); err != nil {
			return err
		}
	}
	return nil
}
