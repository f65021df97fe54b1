// TLS sink for the `tlsceiling` bench workload in Go with crypto/tls (the
// stack nats-server uses): handshake first, an INFO line, read and discard
// with one 64 KiB buffer per connection (a goroutine each), and PONG for a
// PING that ends a read. Same behaviour as node_tls_sink.ts and
// deno_tls_sink.ts.
//
// Build: GO111MODULE=off go build -o tls_sink tls_sink.go
// Usage: tls_sink <port> <cert.pem> <key.pem> [echo]
//
// `echo` writes every chunk back before the next read.
package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"os"
)

var info = []byte(`INFO {"server_id":"tls-sink","version":"0.0.0","proto":1,"max_payload":1048576,"tls_required":true}` + "\r\n")
var ping = []byte("PING\r\n")
var pong = []byte("PONG\r\n")
var echo = false

func serve(c net.Conn) {
	defer c.Close()
	if _, err := c.Write(info); err != nil {
		return
	}
	buf := make([]byte, 64*1024)
	var tail []byte
	for {
		n, err := c.Read(buf)
		if n > 0 && echo {
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		} else if n > 0 {
			// Whether the bytes read so far end with PING: this read, or the
			// end of the previous one and this (short) read.
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
	if len(os.Args) != 4 && len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: tls_sink <port> <cert.pem> <key.pem> [echo]")
		os.Exit(2)
	}
	echo = len(os.Args) == 5 && os.Args[4] == "echo"
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
