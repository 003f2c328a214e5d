package proxy

import "github.com/cachesync/cachesync/lease/route"

// SetReports feeds the proxy what its region's sidecar reports of each
// pool server (lease/route): a server is served from only while the report
// says route.StateUp, and one that came back only after a report received
// since. A server missing from reports has no report (no sidecar in the
// fleet reports it), so the proxy's own view of it decides.
func (s *Server) SetReports(reports map[string]route.Report) {
	for _, addr := range s.cfg.Servers {
		if rep, ok := reports[addr]; ok {
			_ = s.route.SetReport(addr, rep) // addr is a pool server
		} else {
			_ = s.route.ClearReport(addr)
		}
	}
}

// InRotation reports, for each pool server, whether its keys are served
// from it (false: from the gutter, or failing without one).
func (s *Server) InRotation() []bool {
	out := make([]bool, len(s.cfg.Servers))
	for i := range out {
		out[i] = s.route.Ready(i)
	}
	return out
}
