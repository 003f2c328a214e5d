package replication

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// serverStopping reports whether err says the server is shutting down or
// not yet accepting connections (admin_shutdown, crash_shutdown,
// cannot_connect_now). In that state every ordinary backend is gone.
func serverStopping(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "57P01", "57P02", "57P03":
		return true
	}
	return false
}
