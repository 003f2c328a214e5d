package invalidator

import (
	"context"
	"fmt"
)

// FlushAll runs flush_all on every server once, on connections of its own
// (it may run while Run delivers). It is for a region whose slot is new or
// was lost: what was missed cannot be named, so everything goes.
func (inv *Invalidator) FlushAll(ctx context.Context) error {
	for _, s := range inv.servers {
		be := inv.newBackend(s.addr)
		err := be.flushAll(ctx)
		be.close()
		if err != nil {
			return fmt.Errorf("flush_all: %w", err)
		}
	}
	return nil
}
