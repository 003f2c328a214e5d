// Package config is the schema of a cachesync node's YAML file: one set of
// structs with yaml tags, read by every command and written by everything
// that produces a config (the demo, the test harness), so that a setting
// exists in exactly one place.
//
// Guarantees:
//
//   - A file is decoded strictly: an unknown key is refused with its dotted
//     path and line (`memcache.severs: line 7: unknown key (known: ...)`),
//     and every problem of a file is reported at once, each naming its key.
//   - Durations (Duration: "500ms", "30s") and byte sizes (ByteSize: 1048576,
//     "1GiB") are decoded by their own types and marshalled back the same way.
//   - Defaults live in Default and DefaultSource (and the derived ones, such
//     as a source's slot cachesync_<region>, in one function that Load
//     applies); a Config filled from Go starts from Default.
//   - Validate is the one validation of the file. The libraries keep only
//     their own invariants.
//   - Marshal writes a Config that Parse reads back to the same Config;
//     Redacted removes the passwords of its DSNs, for check-config.
package config
