//go:build tools

// Package tools pins the Go programs ./dev.sh setup builds: `go build` of these imports gives the Pulumi CLI.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
