package main

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// port is one listening port of the stack and the flag that changes it.
type port struct {
	name string
	flag string
	num  *int
}

// claimPorts checks every fixed port is free, so a busy one is reported up
// front by name and flag instead of failing deep inside a server, and picks
// a free port for each one set to 0.
func claimPorts(ip string, ports []port) error {
	var zero []*int
	for _, p := range ports {
		if *p.num == 0 {
			zero = append(zero, p.num)
			continue
		}
		l, err := net.Listen("tcp", hostPort(ip, *p.num))
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return fmt.Errorf("port %d for the %s is busy (is another `go run ./dev` running?); choose another with --%s", *p.num, p.name, p.flag)
			}
			return fmt.Errorf("cannot listen on %s for the %s (change it with --%s): %w", hostPort(ip, *p.num), p.name, p.flag, err)
		}
		l.Close()
	}
	free, err := freePorts(ip, len(zero))
	if err != nil {
		return err
	}
	for i, num := range zero {
		*num = free[i]
	}
	return nil
}
