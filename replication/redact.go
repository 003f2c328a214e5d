package replication

import (
	"net/url"
	"regexp"
	"strings"
)

const redacted = "xxxxx"

var (
	// userinfo password in any postgres URL inside a text.
	urlPassword = regexp.MustCompile(`((?:postgres|postgresql)://[^:/@\s]*:)[^@\s]*@`)
	// password=... in key=value DSNs (quoted or not) and URL query strings.
	kvPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)`)
)

// RedactDSN replaces the password of a DSN (URL or key=value form) with
// "xxxxx", so the DSN can be logged.
func RedactDSN(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			if _, has := u.User.Password(); has {
				u.User = url.UserPassword(u.User.Username(), redacted)
			}
			q := u.Query()
			if q.Has("password") {
				q.Set("password", redacted)
				u.RawQuery = q.Encode()
			}
			return u.String()
		}
	}
	return ScrubSecrets(dsn)
}

// ScrubSecrets removes passwords of any DSNs found in s, typically an error
// text from a driver that may quote the DSN it failed to use.
func ScrubSecrets(s string) string {
	s = urlPassword.ReplaceAllString(s, "${1}"+redacted+"@")
	return kvPassword.ReplaceAllString(s, "${1}"+redacted)
}
