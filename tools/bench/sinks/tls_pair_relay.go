// TLS relay for the `byceiling` bench workload in Go with crypto/tls (the
// stack nats-server uses), a goroutine per connection: handshake first, an
// INFO line, then the client's CONNECT ... PING gets a PONG. A client that
// subscribed in that first write (the bystander's requester and responder)
// joins the pairs: every chunk it sends is written, unparsed, to every other
// pair member. A client that did not (the flood publisher) is read and
// discarded, with PONG for a PING that ends a read. No NATS work at all.
//
// Build: GO111MODULE=off go build -o tls_pair_relay tls_pair_relay.go
// Usage: tls_pair_relay <port> <cert.pem> <key.pem>
package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"sync"
)

var info = []byte(`INFO {"server_id":"tls-pair-relay","version":"0.0.0","proto":1,"max_payload":1048576,"tls_required":true}` + "\r\n")
var ping = []byte("PING\r\n")
var pong = []byte("PONG\r\n")

var mu sync.Mutex
var pairs = map[net.Conn]*sync.Mutex{}

// forward writes p to every pair member but from (each under its own lock).
func forward(from net.Conn, p []byte) {
	mu.Lock()
	to := make([]net.Conn, 0, len(pairs))
	locks := make([]*sync.Mutex, 0, len(pairs))
	for c, l := range pairs {
		if c != from {
			to = append(to, c)
			locks = append(locks, l)
		}
	}
	mu.Unlock()
	for i, c := range to {
		locks[i].Lock()
		c.Write(p)
		locks[i].Unlock()
	}
}

func serve(c net.Conn) {
	defer c.Close()
	if _, err := c.Write(info); err != nil {
		return
	}
	buf := make([]byte, 64*1024)
	// The handshake: CONNECT, optional SUBs and PING, usually one write.
	var head []byte
	for !bytes.Contains(head, ping) {
		n, err := c.Read(buf)
		head = append(head, buf[:n]...)
		if err != nil {
			return
		}
	}
	lock := &sync.Mutex{}
	lock.Lock()
	c.Write(pong)
	lock.Unlock()
	if bytes.HasPrefix(head, []byte("SUB ")) || bytes.Contains(head, []byte("\nSUB ")) {
		mu.Lock()
		pairs[c] = lock
		mu.Unlock()
		defer func() {
			mu.Lock()
			delete(pairs, c)
			mu.Unlock()
		}()
		for {
			n, err := c.Read(buf)
			if n > 0 {
				forward(c, buf[:n])
			}
			if err != nil {
				return
			}
		}
	}
	var tail []byte
	for {
		n, err := c.Read(buf)
		if n > 0 {
			last := buf[:n]
			if n < len(ping) {
				last = append(tail, buf[:n]...)
			}
			if bytes.HasSuffix(last, ping) {
				if _, err := c.Write(pong); err != nil {
					return
				}
			}
			if len(last) > len(ping) {
				last = last[len(last)-len(ping):]
			}
			tail = append(tail[:0:0], last...)
		}
		if err != nil {
			return
		}
	}
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: tls_pair_relay <port> <cert.pem> <key.pem>")
		os.Exit(2)
	}
	cert, err := tls.LoadX509KeyPair(os.Args[2], os.Args[3])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:"+os.Args[1], &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening on", os.Args[1])
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go serve(c)
	}
}
