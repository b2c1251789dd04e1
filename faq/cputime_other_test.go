//go:build !linux

package faq

import "time"

func threadCPU() (time.Duration, bool) { return 0, false }
