// A nats.go (Debian's golang-github-nats-io-go-nats-dev) script for the
// key-value and object stores: it prints one line per observation, and
// tests/jetstream_kv_test.ts requires the same lines from nats-server and dnatsd.
package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/nats-io/nats.go"
)

func main() {
	nc, err := nats.Connect(os.Args[1])
	if err != nil {
		fmt.Println("connect:", err)
		os.Exit(1)
	}
	defer nc.Close()
	js, _ := nc.JetStream()
	p := func(f string, a ...interface{}) { fmt.Printf(f+"\n", a...) }
	kv, err := js.CreateKeyValue(&nats.KeyValueConfig{Bucket: "go", History: 3})
	if err != nil {
		p("create: %v", err)
		return
	}
	ent := func(e nats.KeyValueEntry) string {
		if e == nil {
			return "nil"
		}
		return fmt.Sprintf("%s@%d %s %q delta=%d", e.Key(), e.Revision(), e.Operation(), e.Value(), e.Delta())
	}
	r, err := kv.Put("a", []byte("one"))
	p("put a %d %v", r, err)
	r, err = kv.Create("a", []byte("x"))
	p("create a %d %v", r, err)
	r, err = kv.Update("a", []byte("two"), 1)
	p("update a %d %v", r, err)
	r, err = kv.Update("a", []byte("three"), 1)
	p("update a stale %d %v", r, err)
	e, err := kv.Get("a")
	p("get a %s %v", ent(e), err)
	e, err = kv.Get("zz")
	p("get zz %s %v", ent(e), err)
	_, _ = kv.Put("b", []byte("bee"))
	p("delete b %v", kv.Delete("b"))
	e, err = kv.Get("b")
	p("get b %s %v", ent(e), err)
	p("purge a %v", kv.Purge("a"))
	_, _ = kv.Put("c", []byte("sea"))
	_, _ = kv.Put("c", []byte("see"))
	h, err := kv.History("c")
	for _, x := range h {
		p("history c %s", ent(x))
	}
	p("history err %v", err)
	keys, err := kv.Keys()
	sort.Strings(keys)
	p("keys %v %v", keys, err)
	w, _ := kv.WatchAll()
	n := 0
	for x := range w.Updates() {
		if x == nil {
			p("watch initial done")
			break
		}
		p("watch %s", ent(x))
		n++
	}
	_, _ = kv.Put("d", []byte("dee"))
	select {
	case x := <-w.Updates():
		p("watch update %s", ent(x))
	case <-time.After(3 * time.Second):
		p("watch timeout")
	}
	w.Stop()
	st, _ := kv.Status()
	p("status %s values=%d history=%d ttl=%v", st.Bucket(), st.Values(), st.History(), st.TTL())

	obs, err := js.CreateObjectStore(&nats.ObjectStoreConfig{Bucket: "goobj"})
	if err != nil {
		p("obj create: %v", err)
		return
	}
	data := make([]byte, 200_000)
	for i := range data {
		data[i] = byte(i * 7 % 251)
	}
	info, err := obs.PutBytes("blob", data)
	if err != nil {
		p("obj put: %v", err)
		return
	}
	p("obj put %s size=%d chunks=%d digest=%s", info.Name, info.Size, info.Chunks, info.Digest)
	back, err := obs.GetBytes("blob")
	sum := sha256.Sum256(back)
	p("obj get same=%v %x %v", bytes.Equal(back, data), sum[:4], err)
	list, err := obs.List()
	for _, i := range list {
		p("obj list %s %d", i.Name, i.Size)
	}
	p("obj delete %v", obs.Delete("blob"))
	_, err = obs.GetBytes("blob")
	p("obj get deleted %v", err)
	p("destroy %v %v", js.DeleteKeyValue("go"), js.DeleteObjectStore("goobj"))
}
