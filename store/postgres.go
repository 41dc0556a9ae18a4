package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/callsync/callsync/store/dbpg"
	"github.com/callsync/callsync/store/dbsqlc"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// PoolOptions size and time the PostgreSQL connection pool. Zero values keep
// pgxpool's defaults (max(4, CPUs) connections,
// https://pkg.go.dev/github.com/jackc/pgx/v5/pgxpool#ParseConfig).
type PoolOptions struct {
	MaxConns       int32
	ConnectTimeout time.Duration
	// StatementTimeout is sent as the statement_timeout run-time parameter
	// of every connection: the server cancels a longer statement
	// (https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-STATEMENT-TIMEOUT).
	// 0 keeps the server's (no limit unless the server sets one).
	StatementTimeout time.Duration
}

// OpenPostgres connects to the PostgreSQL database at dsn (a postgres://
// URL or a key=value string) and applies pending migrations. Several
// replicas may start at once: goose holds a PostgreSQL advisory lock while
// it migrates (https://pressly.github.io/goose/blog/2024/goose-provider/).
func OpenPostgres(ctx context.Context, dsn string, o PoolOptions) (*Store, error) {
	if dsn == "" {
		return nil, errors.New("store: empty postgres url")
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The parse error may quote the URL with its password.
		return nil, fmt.Errorf("store: postgres url %s: invalid", Redact(dsn))
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	if o.ConnectTimeout > 0 {
		cfg.ConnConfig.ConnectTimeout = o.ConnectTimeout
	}
	// Migrations run without the statement timeout: an index built on a
	// large table may take longer than any statement of the running
	// service.
	migrateCfg := cfg.ConnConfig.Copy()
	if o.StatementTimeout > 0 {
		// In the startup message: each new connection has it before its
		// first statement, no extra round trip.
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(o.StatementTimeout.Milliseconds(), 10)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: postgres %s: %w", Redact(dsn), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: postgres %s: %w", Redact(dsn), err)
	}
	db := stdlib.OpenDB(*migrateCfg)
	defer db.Close()
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: postgres migrations lock: %w", err)
	}
	sub, err := subFS("migrations/postgres")
	if err != nil {
		pool.Close()
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker))
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: postgres migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: migrate postgres %s: %w", Redact(dsn), err)
	}
	return &Store{q: pgQuerier{q: dbpg.New(pool)}, eng: pgEngine{pool: pool}}, nil
}

// Redact hides the password of a postgres URL or key=value string.
func Redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" && u.Host != "" {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "[redacted]")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "[redacted]")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return "[postgres connection string]"
}

type pgEngine struct{ pool *pgxpool.Pool }

func (e pgEngine) inTx(ctx context.Context, fn func(q dbsqlc.Querier) error) error {
	return pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		return fn(pgQuerier{q: dbpg.New(tx)})
	})
}

func (e pgEngine) onConn(_ context.Context, q dbsqlc.Querier, fn func(q dbsqlc.Querier) error) error {
	return fn(q)
}

func (e pgEngine) unsyncedTx(ctx context.Context, fn func(q dbsqlc.Querier) error) error {
	return e.inTx(ctx, fn)
}
func (e pgEngine) ping(ctx context.Context) error { return e.pool.Ping(ctx) }
func (e pgEngine) close() error                   { e.pool.Close(); return nil }
func (e pgEngine) name() string                   { return "postgres" }
func (e pgEngine) setStatements() bool            { return true }
