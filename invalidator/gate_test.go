package invalidator

import (
	"strconv"
	"testing"

	"github.com/cachesync/cachesync/replication"
)

func TestSnapshotVisibility(t *testing.T) {
	const epoch = uint64(3) << 32
	for _, tc := range []struct {
		snap string
		xid  uint32
		want bool
	}{
		{"100:105:101,103", 99, true},   // below xmin
		{"100:105:101,103", 101, false}, // in progress
		{"100:105:101,103", 102, true},  // finished between xmin and xmax
		{"100:105:101,103", 105, false}, // at xmax: not yet
		{"100:105:", 104, true},         // no xip
		{"100:105:", 4000000000, false}, // epoch 0: a "future" xid stays invisible
		{fmtSnap(epoch+5, epoch+10, epoch+7), 7, false},
		{fmtSnap(epoch+5, epoch+10, epoch+7), 8, true},
		{fmtSnap(epoch-10, epoch+10, 0), 0xFFFFFFFA, true}, // assigned before the wraparound
		{fmtSnap(epoch-10, epoch+10, epoch-4), 0xFFFFFFFC, false},
	} {
		s, err := parseSnapshot(tc.snap)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.visible(tc.xid); got != tc.want {
			t.Errorf("snapshot %s, xid %d: visible %v, want %v", tc.snap, tc.xid, got, tc.want)
		}
	}
	if _, err := parseSnapshot("1:2"); err == nil {
		t.Error("malformed snapshot accepted")
	}
}

func fmtSnap(xmin, xmax, xip uint64) string {
	s := strconv.FormatUint(xmin, 10) + ":" + strconv.FormatUint(xmax, 10) + ":"
	if xip != 0 {
		s += strconv.FormatUint(xip, 10)
	}
	return s
}

// One answer releases the prefix of batches it covers, never a batch after
// one it does not.
func TestGateAnswersCoverPrefixes(t *testing.T) {
	ps := []Pending{
		{Commit: 100, Xids: []uint32{10, 11}},
		{Commit: 200, End: 210, Xids: []uint32{12}},
		{Commit: 300, Xids: []uint32{14}},
		{Commit: 400, Xids: []uint32{13}},
	}
	for _, tc := range []struct {
		replay replication.LSN
		want   int
	}{{100, 0}, {101, 1}, {200, 1}, {201, 2}, {300, 2}, {1000, 4}} {
		if got := covered(tc.replay, ps); got != tc.want {
			t.Errorf("replay %s covers %d batches, want %d", tc.replay, got, tc.want)
		}
	}
	s, err := parseSnapshot("12:15:13")
	if err != nil {
		t.Fatal(err)
	}
	// 13 is running: the batch holding it and every later one wait.
	if got := s.visiblePrefix(ps); got != 3 {
		t.Errorf("visible prefix %d, want 3", got)
	}
}
