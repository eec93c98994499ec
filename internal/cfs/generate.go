package cfs

//go:generate go tool buf generate
