module github.com/sprite-sessions/sprite-sessions/tests

go 1.26.8

require (
	go.temporal.io/api v1.63.5 // indirect
	go.temporal.io/sdk v1.50.0 // indirect
	go.temporal.io/server v1.32.1 // indirect
)
