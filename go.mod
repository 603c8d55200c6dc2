module github.com/sprite-sessions/sprite-sessions

go 1.26.0

require (
	github.com/coder/websocket v1.8.15 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
	github.com/sethvargo/go-envconfig v1.4.3 // indirect
	go.temporal.io/api v1.63.5 // indirect
	go.temporal.io/sdk v1.50.0 // indirect
)
