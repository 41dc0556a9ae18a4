//go:build unix

package store_test

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callsync/callsync/store"
)

// The ledger's statement shapes on SQLite, measured as process CPU per call
// (a pending row with its ~1 KB payload, then its written row, each batch
// of 200 in one transaction, random call ids as Enreach's UUIDs are):
// SaveLedger's statement per row against one multi-row VALUES statement per
// 50 rows and one INSERT ... SELECT FROM json_each(?) per batch
// (`go test -bench LedgerShape -benchtime 200x ./store`). SQLite's cost is
// the pages each row touches (B-tree inserts into the indexes at random
// keys, WAL frames, checkpoints), not the statement: the set-based shapes
// do not cost less. The SQL here exists only to measure; SaveLedger is what
// callsync runs.

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

const shapeCols = `tenant, kind, enreach_id, idem_key, state, reason, crm_id, attempts, last_error, item_time, number, payload, created_at, updated_at, unmapped_user`

// shapeConflict is UpsertLedger's conflict clause.
const shapeConflict = `
ON CONFLICT (tenant, kind, enreach_id) DO UPDATE SET
    state = excluded.state, reason = excluded.reason,
    crm_id = CASE WHEN excluded.crm_id != '' THEN excluded.crm_id ELSE ledger.crm_id END,
    attempts = excluded.attempts, last_error = excluded.last_error, item_time = excluded.item_time,
    number = excluded.number, payload = COALESCE(excluded.payload, ledger.payload),
    updated_at = excluded.updated_at, unmapped_user = excluded.unmapped_user
WHERE ledger.state != 'written'`

func benchShape(b *testing.B, save func(b *testing.B, s *store.Store, rows []store.LedgerEntry)) {
	s, payload, at := ledgerBenchStore(b)
	const batch = 200
	rows := make([]store.LedgerEntry, batch)
	n := 0
	c0 := cpuTime()
	for b.Loop() {
		for i := range rows {
			id := fmt.Sprintf("%08x-9f7a-4f6e-8d52-1b2a3c4d5e6f", uint32((n*batch+i)*2654435761))
			rows[i] = store.LedgerEntry{Tenant: "bench", Kind: "call", EnreachID: id, Key: "bench/call/" + id,
				State: store.Pending, ItemTime: at, Number: "+358401234567", Payload: payload}
		}
		save(b, s, rows)
		for i := range rows {
			rows[i].State, rows[i].CRMID, rows[i].Attempts, rows[i].Payload = store.Written, "crm-"+rows[i].EnreachID, 1, nil
		}
		save(b, s, rows)
		n++
	}
	b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/float64(b.N*batch), "cpu-ns/call")
	var written int
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM ledger WHERE state = 'written' AND crm_id LIKE 'crm-%' AND length(payload) > 900`).Scan(&written); err != nil || written != b.N*batch {
		b.Fatalf("%d written rows with payload, want %d (%v)", written, b.N*batch, err)
	}
}

func inTx(b *testing.B, db *sql.DB, fn func(tx *sql.Tx) error) {
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkLedgerShapePerRow(b *testing.B) {
	benchShape(b, func(b *testing.B, s *store.Store, rows []store.LedgerEntry) {
		if err := s.SaveLedger(context.Background(), rows); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkLedgerShapeValues50(b *testing.B) {
	benchShape(b, func(b *testing.B, s *store.Store, all []store.LedgerEntry) {
		inTx(b, s.DB(), func(tx *sql.Tx) error {
			for k := 0; k < len(all); k += 50 {
				es := all[k:min(k+50, len(all))]
				var q strings.Builder
				q.WriteString(`INSERT INTO ledger (` + shapeCols + `) VALUES `)
				args := make([]any, 0, len(es)*15)
				for i, e := range es {
					if i > 0 {
						q.WriteString(",")
					}
					q.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
					args = append(args, e.Tenant, e.Kind, e.EnreachID, e.Key, string(e.State), e.Reason, e.CRMID, e.Attempts,
						e.LastError, e.ItemTime.UnixMilli(), e.Number, e.Payload, 1, 1, e.UnmappedUser)
				}
				q.WriteString(shapeConflict)
				if _, err := tx.Exec(q.String(), args...); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

func BenchmarkLedgerShapeJSONEach(b *testing.B) {
	q := `INSERT INTO ledger (` + shapeCols + `)
SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8, value->>9, value->>10, unhex(value->>11), 1, 1, value->>12
FROM json_each(?) WHERE true` + shapeConflict
	benchShape(b, func(b *testing.B, s *store.Store, es []store.LedgerEntry) {
		rows := make([][]any, len(es))
		for i, e := range es {
			var p any
			if e.Payload != nil {
				p = hex.EncodeToString(e.Payload)
			}
			rows[i] = []any{e.Tenant, e.Kind, e.EnreachID, e.Key, e.State, e.Reason, e.CRMID, e.Attempts, e.LastError,
				e.ItemTime.UnixMilli(), e.Number, p, e.UnmappedUser}
		}
		j, err := json.Marshal(rows)
		if err != nil {
			b.Fatal(err)
		}
		inTx(b, s.DB(), func(tx *sql.Tx) error {
			_, err := tx.Exec(q, string(j))
			return err
		})
	})
}
