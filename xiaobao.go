// Package xiaobao holds the vocabulary shared by every xiaobao module: the
// application error type, money and the clock. Domain logic lives in the
// packages named for what they provide (guard, …); adapters (sqlite,
// postgres, http) sit around them and cmd/xiaobao only wires them together.
package xiaobao

// Version is the build version, set with -ldflags at release time.
var Version = "dev"
