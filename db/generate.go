package db

//go:generate go tool sqlc generate -f ../sqlc.yaml
