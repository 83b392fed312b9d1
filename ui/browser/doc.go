// Package browser tests the web UI (package ui, docs/design.md "Web UI")
// in a real browser: Debian's chromium, driven with chromedp, against the
// real stack (PostgreSQL primary and replica, Redis, a writer and a reader
// with JWT authentication, as separate processes). Every page must load
// without a console error (a Content-Security-Policy violation is one)
// and show the expected data, browse mode included; the timeline's
// segments are compared with ones computed from the seeded IOVs by brute
// force; clone, the diff, a previewed attach, the protection refusal, a
// notice and the whole calibration workflow run end to end with the token
// in session storage only; the policy is shown to be enforced; the pages
// work with the keyboard alone and fit a phone; hostile names must show as
// text everywhere. With UI_SHOTS=DIR, TestScreenshots writes each page at
// 1280 px and at phone width (make ui-shots).
//
// Without chromium the tests skip, except under CI=true, where they fail.
package browser
