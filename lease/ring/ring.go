package ring

// PLACEHOLDER API — the lease helper replaces the implementation.

// Ring maps a key to the index of the server that owns it.
type Ring interface {
	Pick(key string) int
	Servers() []string
}

// New builds a ring of kind "ketama" or "crc32" over servers (host:port).
func New(kind string, servers []string) (Ring, error) { panic("todo") }
