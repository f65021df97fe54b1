// Scenario runner for nats.go, driven by tests/clients/lifecycle_test.ts.
//
// Usage: scenario <name> <url> [certs-dir]
//
// It prints JSON lines on stdout. A line with "step" marks a point where the
// test acts on the server (stop, restart, SIGSTOP...); the runner then waits
// for one line on stdin before going on. The last line is the result: fields
// that must be the same against dnatsd and nats-server, plus "measured"
// (timings, free to differ).
package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

var stdin = bufio.NewReader(os.Stdin)

func emit(v map[string]any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

// step reports a point in the scenario and waits for the test to answer.
func step(name string, extra map[string]any) {
	m := map[string]any{"step": name}
	for k, v := range extra {
		m[k] = v
	}
	emit(m)
	if _, err := stdin.ReadString('\n'); err != nil {
		fail("stdin closed at step " + name)
	}
}

func fail(why string) {
	emit(map[string]any{"fatal": why})
	os.Exit(1)
}

// wait polls cond every 10 ms until it holds or ms pass.
func wait(ms int, cond func() bool) bool {
	deadline := time.Now().Add(time.Duration(ms) * time.Millisecond)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// errName maps library errors to names both runners share.
func errName(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, nats.ErrAuthorization):
		return "authorization violation"
	case errors.Is(err, nats.ErrTimeout):
		return "timeout"
	case errors.Is(err, nats.ErrNoResponders):
		return "no responders"
	case errors.Is(err, nats.ErrSlowConsumer):
		return "slow consumer"
	case errors.Is(err, nats.ErrNoServers):
		return "no servers"
	}
	// Errors from the TLS layer (alerts, verification) are one class: the
	// exact alert differs between Go's TLS stack and the runtime's.
	s := err.Error()
	if strings.HasPrefix(fmt.Sprintf("%T", err), "tls.") || strings.Contains(s, "x509") ||
		strings.Contains(s, "tls:") {
		return "tls error"
	}
	return "error: " + s
}

type watch struct {
	disconnected, reconnected, closed atomic.Int32
}

func (w *watch) opts() []nats.Option {
	return []nats.Option{
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.ReconnectJitter(0, 0),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { w.disconnected.Add(1) }),
		nats.ReconnectHandler(func(*nats.Conn) { w.reconnected.Add(1) }),
		nats.ClosedHandler(func(*nats.Conn) { w.closed.Add(1) }),
	}
}

func must(nc *nats.Conn, err error) *nats.Conn {
	if err != nil {
		fail("connect: " + err.Error())
	}
	return nc
}

// roundtrip: a message published on nc comes back on a subscription of nc.
func roundtrip(nc *nats.Conn, subject string) bool {
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		return false
	}
	defer sub.Unsubscribe()
	if nc.Publish(subject, []byte("x")) != nil {
		return false
	}
	_, err = sub.NextMsg(5 * time.Second)
	return err == nil
}

func storm(url string) map[string]any {
	okN, failed := 0, 0
	start := time.Now()
	for i := 0; i < 200; i++ {
		nc, err := nats.Connect(url, nats.NoReconnect())
		if err == nil {
			err = nc.FlushTimeout(5 * time.Second)
			nc.Close()
		}
		if err == nil {
			okN++
		} else {
			failed++
		}
	}
	nc := must(nats.Connect(url))
	defer nc.Close()
	return map[string]any{"ok": okN, "failed": failed, "roundtrip": roundtrip(nc, "storm.after"),
		"measured": map[string]any{"ms": time.Since(start).Milliseconds()}}
}

func restart(url string) map[string]any {
	var w watch
	nc := must(nats.Connect(url, w.opts()...))
	defer nc.Close()
	got := make(chan struct{}, 16)
	nc.Subscribe("restart.live", func(*nats.Msg) { got <- struct{}{} })
	nc.Flush()
	step("connected", nil)
	start := time.Now()
	reconnected := wait(15000, func() bool { return w.reconnected.Load() > 0 })
	ms := time.Since(start).Milliseconds()
	received := false
	if reconnected {
		nc.Publish("restart.live", []byte("after"))
		select {
		case <-got:
			received = true
		case <-time.After(5 * time.Second):
		}
	}
	return map[string]any{"disconnected": w.disconnected.Load() > 0, "reconnected": reconnected,
		"resubscribed": received, "measured": map[string]any{"reconnect_ms": ms}}
}

func failover(url string) map[string]any {
	var w watch
	nc := must(nats.Connect(url, w.opts()...))
	defer nc.Close()
	if !wait(10000, func() bool { return len(nc.DiscoveredServers()) > 0 }) {
		fail("no server discovered")
	}
	step("discovered", map[string]any{"discovered": nc.DiscoveredServers()})
	start := time.Now()
	reconnected := wait(10000, func() bool { return w.reconnected.Load() > 0 })
	ms := time.Since(start).Milliseconds()
	port := 0
	if reconnected {
		if i := strings.LastIndex(nc.ConnectedUrl(), ":"); i >= 0 {
			port, _ = strconv.Atoi(nc.ConnectedUrl()[i+1:])
		}
	}
	return map[string]any{"reconnected": reconnected, "within_2s": reconnected && ms < 2000,
		"roundtrip": reconnected && roundtrip(nc, "failover.after"), "port": port,
		"measured": map[string]any{"failover_ms": ms}}
}

func drain(url string) map[string]any {
	sub := must(nats.Connect(url))
	pub := must(nats.Connect(url))
	defer pub.Close()
	const n = 500
	var received atomic.Int32
	closed := make(chan struct{})
	draining := make(chan struct{})
	sub.SetClosedHandler(func(*nats.Conn) { close(closed) })
	sub.Subscribe("drain.data", func(*nats.Msg) {
		<-draining // every message is still waiting in the client when the drain starts
		received.Add(1)
	})
	sub.Flush()
	for i := 0; i < n; i++ {
		pub.Publish("drain.data", []byte(strconv.Itoa(i)))
	}
	pub.Flush()
	// A round trip on the subscriber's connection: the server has written every
	// message before the PONG, so all of them are in the client now.
	sub.Flush()
	sub.Drain()
	close(draining)
	finished := false
	select {
	case <-closed:
		finished = true
	case <-time.After(15 * time.Second):
	}
	return map[string]any{"published": n, "received": received.Load(), "closed": finished}
}

func flushTimeout(url string) map[string]any {
	nc := must(nats.Connect(url, nats.MaxReconnects(-1), nats.PingInterval(time.Hour)))
	defer nc.Close()
	step("connected", nil)
	first := errName(nc.FlushTimeout(500 * time.Millisecond))
	step("timed_out", nil)
	second := errName(nc.FlushTimeout(10 * time.Second))
	return map[string]any{"stopped": first, "resumed": second, "roundtrip": roundtrip(nc, "flush.after")}
}

func slowConsumer(url string) map[string]any {
	var mu sync.Mutex
	var asyncErrs []string
	nc := must(nats.Connect(url, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		mu.Lock()
		asyncErrs = append(asyncErrs, errName(err))
		mu.Unlock()
	})))
	defer nc.Close()
	release := make(chan struct{})
	var handled atomic.Int32
	sub, _ := nc.Subscribe("slow.data", func(*nats.Msg) {
		<-release
		handled.Add(1)
	})
	sub.SetPendingLimits(10, 1024*1024)
	nc.Flush()
	for i := 0; i < 100; i++ {
		nc.Publish("slow.data", []byte("x"))
	}
	nc.Flush()
	fired := wait(5000, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(asyncErrs) > 0
	})
	close(release)
	dropped, _ := sub.Dropped()
	mu.Lock()
	first := ""
	if len(asyncErrs) > 0 {
		first = asyncErrs[0]
	}
	mu.Unlock()
	return map[string]any{"async_error": fired, "error": first, "dropped": dropped > 0,
		"still_connected": nc.IsConnected() && roundtrip(nc, "slow.after")}
}

func auth(url string) map[string]any {
	_, err := nats.Connect(url, nats.Token("wrong"), nats.NoReconnect())
	wrong := errName(err)
	_, err = nats.Connect(url, nats.NoReconnect())
	none := errName(err)
	calls := 0
	nc, err := nats.Connect(url, nats.TokenHandler(func() string { calls++; return "s3cret" }))
	handler := errName(err)
	rt := false
	if err == nil {
		rt = roundtrip(nc, "auth.after")
		nc.Close()
	}
	return map[string]any{"wrong_token": wrong, "no_token": none, "token_handler": handler,
		"handler_called": calls > 0, "roundtrip": rt}
}

func tlsCase(url string, opts ...nats.Option) string {
	opts = append(opts, nats.NoReconnect(), nats.Timeout(5*time.Second))
	nc, err := nats.Connect(url, opts...)
	if err == nil {
		if !roundtrip(nc, "tls.after") {
			err = errors.New("no roundtrip")
		}
		nc.Close()
	}
	return errName(err)
}

func tlsScenario(url, certs string) map[string]any {
	ca := nats.RootCAs(certs + "/ca.pem")
	cert := nats.ClientCert(certs+"/client-cert.pem", certs+"/client-key.pem")
	skip := nats.Secure(&tls.Config{InsecureSkipVerify: true})
	return map[string]any{
		"ca":             tlsCase(url, ca),
		"no_ca":          tlsCase(url, nats.Secure()),
		"skip_verify":    tlsCase(url, skip),
		"ca_client_cert": tlsCase(url, ca, cert),
	}
}

func noResponders(url string) map[string]any {
	nc := must(nats.Connect(url))
	defer nc.Close()
	start := time.Now()
	_, err := nc.Request("nobody.home", []byte("?"), 5*time.Second)
	ms := time.Since(start).Milliseconds()
	return map[string]any{"headers": nc.HeadersSupported(), "request": errName(err), "fast": ms < 2500,
		"measured": map[string]any{"ms": ms}}
}

func queue(url string) map[string]any {
	const n = 100
	var ws [3]watch
	var mu sync.Mutex
	seen := map[string]int{}
	members := map[int]bool{}
	var conns [3]*nats.Conn
	for i := range conns {
		conns[i] = must(nats.Connect(url, ws[i].opts()...))
		defer conns[i].Close()
	}
	for i := 0; i < 2; i++ {
		member := i
		conns[i].QueueSubscribe("queue.work", "workers", func(m *nats.Msg) {
			mu.Lock()
			seen[string(m.Data)]++
			members[member] = true
			mu.Unlock()
		})
		conns[i].Flush()
	}
	step("connected", nil)
	reconnected := wait(15000, func() bool {
		for i := range ws {
			if ws[i].reconnected.Load() == 0 {
				return false
			}
		}
		return true
	})
	for i := 0; i < 2; i++ {
		conns[i].FlushTimeout(5 * time.Second) // the resent SUBs are in place
	}
	for i := 0; i < n; i++ {
		conns[2].Publish("queue.work", []byte(strconv.Itoa(i)))
	}
	conns[2].Flush()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		t := 0
		for _, c := range seen {
			t += c
		}
		return t
	}
	wait(5000, func() bool { return count() >= n })
	time.Sleep(300 * time.Millisecond) // a duplicate would arrive now
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for _, c := range seen {
		if c > 1 {
			dups += c - 1
		}
	}
	return map[string]any{"reconnected": reconnected, "distinct": len(seen), "duplicates": dups,
		"members": len(members)}
}

func main() {
	if len(os.Args) < 3 {
		fail("usage: scenario <name> <url> [certs-dir]")
	}
	name, url := os.Args[1], os.Args[2]
	var r map[string]any
	switch name {
	case "storm":
		r = storm(url)
	case "restart":
		r = restart(url)
	case "failover":
		r = failover(url)
	case "drain":
		r = drain(url)
	case "flush_timeout":
		r = flushTimeout(url)
	case "slow_consumer":
		r = slowConsumer(url)
	case "auth":
		r = auth(url)
	case "tls":
		r = tlsScenario(url, os.Args[3])
	case "no_responders":
		r = noResponders(url)
	case "queue":
		r = queue(url)
	default:
		fail("unknown scenario " + name)
	}
	r["scenario"] = name
	r["client"] = "nats.go " + nats.Version
	emit(r)
}
