package audit

import "fmt"

// Report counts what Check found. Keys = Cached + not cached; Cached =
// Stale + Consistent + Inconsistent.
type Report struct {
	Keys         int
	Cached       int
	Stale        int // marked stale by an invalidation: never served as a hit
	Consistent   int
	Inconsistent int
	// KeyErrors counts keys that could not be rendered (too long, bad
	// template); the sidecar cannot invalidate them either.
	KeyErrors int
	// Examples describes up to Config.MaxExamples inconsistent keys.
	Examples []string
}

func (r Report) String() string {
	return fmt.Sprintf("keys %d, cached %d (stale %d, consistent %d, inconsistent %d), key errors %d",
		r.Keys, r.Cached, r.Stale, r.Consistent, r.Inconsistent, r.KeyErrors)
}

func (r *Report) add(o Report, maxExamples int) {
	r.Keys += o.Keys
	r.Cached += o.Cached
	r.Stale += o.Stale
	r.Consistent += o.Consistent
	r.Inconsistent += o.Inconsistent
	r.KeyErrors += o.KeyErrors
	for _, e := range o.Examples {
		if len(r.Examples) < maxExamples {
			r.Examples = append(r.Examples, e)
		}
	}
}
