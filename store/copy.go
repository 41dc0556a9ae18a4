package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// CopyProgress is called while Copy moves a table: rows done of total.
type CopyProgress func(table string, done, total int64)

// CopyResult is the row count of each table copied, as verified in the
// target.
type CopyResult struct {
	Tables []string
	Rows   map[string]int64
}

// ErrTargetNotEmpty is returned by Copy when the target holds state and
// force is false.
var ErrTargetNotEmpty = errors.New("store copy: the target is not empty")

// CopyTo moves every table of this SQLite store into the PostgreSQL store
// dst (both migrated to the same schema), in one PostgreSQL transaction:
// all or nothing. A target holding rows is refused unless force, which
// empties it first. Identity sequences are moved past the copied ids. The
// row counts of both sides are compared before the commit.
func (s *Store) CopyTo(ctx context.Context, dst *Store, force bool, progress CopyProgress) (CopyResult, error) {
	src, ok := s.eng.(sqliteEngine)
	if !ok {
		return CopyResult{}, errors.New("store copy: the source must be a SQLite store")
	}
	pe, ok := dst.eng.(pgEngine)
	if !ok {
		return CopyResult{}, errors.New("store copy: the target must be a PostgreSQL store")
	}
	tables, err := s.copyTables(ctx)
	if err != nil {
		return CopyResult{}, err
	}
	res := CopyResult{Tables: tables, Rows: map[string]int64{}}
	err = pgx.BeginFunc(ctx, pe.pool, func(tx pgx.Tx) error {
		var nonEmpty []string
		for _, t := range tables {
			var n int64
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM "+pgx.Identifier{t}.Sanitize()).Scan(&n); err != nil {
				return fmt.Errorf("store copy: target table %s: %w", t, err)
			}
			if n > 0 {
				nonEmpty = append(nonEmpty, fmt.Sprintf("%s (%d rows)", t, n))
			}
		}
		if len(nonEmpty) > 0 {
			if !force {
				return fmt.Errorf("%w: %s; use --force to replace its content", ErrTargetNotEmpty, strings.Join(nonEmpty, ", "))
			}
			ids := make([]string, len(tables))
			for i, t := range tables {
				ids[i] = pgx.Identifier{t}.Sanitize()
			}
			if _, err := tx.Exec(ctx, "TRUNCATE "+strings.Join(ids, ", ")+" CASCADE"); err != nil {
				return fmt.Errorf("store copy: empty the target: %w", err)
			}
		}
		for _, t := range tables {
			n, err := copyTable(ctx, src, tx, t, progress)
			if err != nil {
				return err
			}
			res.Rows[t] = n
		}
		// Verify: the same number of rows on both sides.
		for _, t := range tables {
			var want, got int64
			if err := src.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoteSQLite(t)).Scan(&want); err != nil {
				return fmt.Errorf("store copy: count %s: %w", t, err)
			}
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM "+pgx.Identifier{t}.Sanitize()).Scan(&got); err != nil {
				return fmt.Errorf("store copy: count %s: %w", t, err)
			}
			if got != want {
				return fmt.Errorf("store copy: %s has %d rows in the target, %d in the source", t, got, want)
			}
			res.Rows[t] = got
		}
		return nil
	})
	return res, err
}

// copyTables lists the source's tables to move, parents first (ledger
// before callback_requests, whose rows reference it).
func (s *Store) copyTables(ctx context.Context) ([]string, error) {
	db := s.eng.(sqliteEngine).db
	rows, err := db.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("store copy: tables: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		// Not moved: goose's version table (OpenPostgres migrated the
		// target) and the replicas' runtime rows (heartbeats and leases
		// are renewed by running replicas).
		if !slices.Contains([]string{"goose_db_version", "replicas", "leases", "sqlite_sequence"}, n) {
			out = append(out, n)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Tables with foreign keys after the ones they reference.
	refs := map[string][]string{}
	for _, t := range out {
		fk, err := db.QueryContext(ctx, "SELECT \"table\" FROM pragma_foreign_key_list(?)", t)
		if err != nil {
			return nil, fmt.Errorf("store copy: foreign keys of %s: %w", t, err)
		}
		for fk.Next() {
			var p string
			if err := fk.Scan(&p); err != nil {
				fk.Close()
				return nil, err
			}
			refs[t] = append(refs[t], p)
		}
		fk.Close()
	}
	var ordered []string
	done := map[string]bool{}
	var visit func(t string)
	visit = func(t string) {
		if done[t] {
			return
		}
		done[t] = true
		for _, p := range refs[t] {
			if slices.Contains(out, p) {
				visit(p)
			}
		}
		ordered = append(ordered, t)
	}
	for _, t := range out {
		visit(t)
	}
	return ordered, nil
}

func quoteSQLite(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// copyTable streams one table with PostgreSQL's COPY protocol and moves an
// identity column's sequence past the largest id.
func copyTable(ctx context.Context, src sqliteEngine, tx pgx.Tx, table string, progress CopyProgress) (int64, error) {
	var total int64
	if err := src.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoteSQLite(table)).Scan(&total); err != nil {
		return 0, fmt.Errorf("store copy: count %s: %w", table, err)
	}
	rows, err := src.db.QueryContext(ctx, "SELECT * FROM "+quoteSQLite(table))
	if err != nil {
		return 0, fmt.Errorf("store copy: read %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	var done int64
	src2 := &rowSource{rows: rows, n: len(cols), each: func() {
		done++
		if progress != nil && (done%5000 == 0 || done == total) {
			progress(table, done, total)
		}
	}}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, src2)
	if err != nil {
		return n, fmt.Errorf("store copy: write %s: %w", table, err)
	}
	if progress != nil && total == 0 {
		progress(table, 0, 0)
	}
	if slices.Contains(cols, "id") {
		q := fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s', 'id'), COALESCE((SELECT MAX(id) FROM %s), 0) + 1, false)", table, pgx.Identifier{table}.Sanitize())
		if _, err := tx.Exec(ctx, q); err != nil {
			return n, fmt.Errorf("store copy: sequence of %s: %w", table, err)
		}
	}
	return n, nil
}

// rowSource feeds database/sql rows to pgx.CopyFrom.
type rowSource struct {
	rows interface {
		Next() bool
		Scan(...any) error
		Err() error
	}
	n    int
	vals []any
	err  error
	each func()
}

func (r *rowSource) Next() bool {
	if !r.rows.Next() {
		return false
	}
	vals := make([]any, r.n)
	ptrs := make([]any, r.n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if r.err = r.rows.Scan(ptrs...); r.err != nil {
		return false
	}
	r.vals = vals
	r.each()
	return true
}

func (r *rowSource) Values() ([]any, error) { return r.vals, r.err }

func (r *rowSource) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}
