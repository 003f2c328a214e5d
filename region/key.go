package region

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"
)

// readKey loads a gossip key file: base64 of 16, 24 or 32 bytes (AES-128,
// -192 or -256), as memberlist requires.
func readKey(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read gossip key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("gossip key %s: not base64: %w", path, err)
	}
	switch len(key) {
	case 16, 24, 32:
		return key, nil
	default:
		return nil, fmt.Errorf("gossip key %s: %d bytes, want 16, 24 or 32", path, len(key))
	}
}
