// Package browser drives Debian's headless chromium for tests that must see
// a page as a user does: after its JavaScript ran.
//
// Every call runs its own chromium with a fresh profile directory, removed
// afterwards, and with background networking off, so the browser fetches
// nothing but the URL given. Cancelling ctx kills the whole chromium process
// group; no chromium outlives a call.
package browser
