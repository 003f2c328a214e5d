package faults

import "errors"

var errPending = errors.New("watched writes still served with an old version")
