//go:build tools

// Package tools pins the Go programs ./dev.sh setup builds: `go build` of this import gives actionlint.
package tools

import (
	_ "github.com/rhysd/actionlint/cmd/actionlint"
)
