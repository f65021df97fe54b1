// JetStream through nats.go's own API, for tests/jetstream_go_test.ts.
//
// Usage: jetstream <url>
//
// It runs each case in order against a server with an empty store and prints
// one JSON line per case: {"case": name, "result": ...}. A case that fails
// prints its error text as the result (and later cases still run), so the
// lines can be compared with nats-server's, case by case. Times are left out;
// everything printed must be the same on both servers.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/nats-io/nats.go"
)

var js nats.JetStreamContext

func emit(name string, result any) {
	b, err := json.Marshal(map[string]any{"case": name, "result": result})
	if err != nil {
		b = []byte(fmt.Sprintf(`{"case":%q,"result":"marshal: %s"}`, name, err))
	}
	fmt.Println(string(b))
}

// run prints the case's result, or the error that ended it.
func run(name string, fn func() (any, error)) {
	r, err := fn()
	if err != nil {
		emit(name, map[string]any{"error": errText(err)})
		return
	}
	emit(name, r)
}

// errText is the error with the API error's code and error code when it has them.
func errText(err error) string {
	var apiErr *nats.APIError
	if errors.As(err, &apiErr) {
		return fmt.Sprintf("api %d/%d: %s", apiErr.Code, apiErr.ErrorCode, apiErr.Description)
	}
	return err.Error()
}

func ack(a *nats.PubAck, err error) any {
	if err != nil {
		return map[string]any{"error": errText(err)}
	}
	return map[string]any{"stream": a.Stream, "seq": a.Sequence, "duplicate": a.Duplicate}
}

func state(s nats.StreamState) map[string]any {
	return map[string]any{
		"messages": s.Msgs, "bytes": s.Bytes, "first_seq": s.FirstSeq, "last_seq": s.LastSeq,
		"subjects": s.NumSubjects, "deleted": s.NumDeleted, "consumers": s.Consumers,
	}
}

func consumer(ci *nats.ConsumerInfo) map[string]any {
	return map[string]any{
		"name": ci.Name, "durable": ci.Config.Durable, "ack_policy": ci.Config.AckPolicy.String(),
		"delivered":   []uint64{ci.Delivered.Consumer, ci.Delivered.Stream},
		"ack_floor":   []uint64{ci.AckFloor.Consumer, ci.AckFloor.Stream},
		"ack_pending": ci.NumAckPending, "redelivered": ci.NumRedelivered,
		"waiting": ci.NumWaiting, "pending": ci.NumPending,
	}
}

func delivery(m *nats.Msg) map[string]any {
	out := map[string]any{"subject": m.Subject, "data": string(m.Data)}
	if md, err := m.Metadata(); err == nil {
		out["stream_seq"] = md.Sequence.Stream
		out["consumer_seq"] = md.Sequence.Consumer
		out["delivered"] = md.NumDelivered
		out["pending"] = md.NumPending
	} else {
		out["metadata"] = errText(err)
	}
	return out
}

func fetch(sub *nats.Subscription, n int, wait time.Duration, ackIt bool) (any, error) {
	msgs, err := sub.Fetch(n, nats.MaxWait(wait))
	var got []any
	for _, m := range msgs {
		got = append(got, delivery(m))
		if ackIt {
			if err := m.AckSync(); err != nil {
				return nil, err
			}
		}
	}
	if err != nil {
		return map[string]any{"msgs": got, "error": errText(err)}, nil
	}
	return map[string]any{"msgs": got}, nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: jetstream <url>")
		os.Exit(2)
	}
	nc, err := nats.Connect(os.Args[1], nats.Timeout(5*time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer nc.Close()
	js, err = nc.JetStream(nats.MaxWait(3 * time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}

	run("account_info", func() (any, error) {
		ai, err := js.AccountInfo()
		if err != nil {
			return nil, err
		}
		return map[string]any{"streams": ai.Streams, "consumers": ai.Consumers}, nil
	})
	run("add_stream", func() (any, error) {
		si, err := js.AddStream(&nats.StreamConfig{
			Name: "ORDERS", Subjects: []string{"orders.>"}, Storage: nats.FileStorage,
		})
		if err != nil {
			return nil, err
		}
		c := si.Config
		return map[string]any{
			"name": c.Name, "subjects": c.Subjects, "retention": c.Retention.String(),
			"max_msgs": c.MaxMsgs, "max_bytes": c.MaxBytes, "discard": c.Discard.String(),
			"storage": c.Storage.String(), "replicas": c.Replicas, "duplicates": c.Duplicates.String(),
			"state": state(si.State),
		}, nil
	})
	run("add_stream_again_different", func() (any, error) {
		_, err := js.AddStream(&nats.StreamConfig{Name: "ORDERS", Subjects: []string{"other"}})
		return nil, err
	})
	run("publish", func() (any, error) {
		var out []any
		for i := 1; i <= 5; i++ {
			out = append(out, ack(js.Publish("orders.new", []byte(fmt.Sprintf("order %d", i)))))
		}
		out = append(out, ack(js.Publish("orders.paid", []byte("paid 1"))))
		out = append(out, ack(js.Publish("orders.new", []byte("dup"), nats.MsgId("id-1"))))
		out = append(out, ack(js.Publish("orders.new", []byte("dup"), nats.MsgId("id-1"))))
		out = append(out, ack(js.Publish("orders.new", []byte("x"), nats.ExpectLastSequence(3))))
		out = append(out, ack(js.Publish("orders.paid", []byte("paid 2"),
			nats.ExpectLastSequencePerSubject(6))))
		out = append(out, ack(js.Publish("nothing.here", []byte("x"))))
		return out, nil
	})
	run("publish_async", func() (any, error) {
		var futures []nats.PubAckFuture
		for i := 0; i < 20; i++ {
			f, err := js.PublishAsync("orders.bulk", []byte(fmt.Sprintf("bulk %d", i)))
			if err != nil {
				return nil, err
			}
			futures = append(futures, f)
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(5 * time.Second):
			return nil, errors.New("async publishes not acknowledged in 5 s")
		}
		var seqs []uint64
		for _, f := range futures {
			select {
			case a := <-f.Ok():
				seqs = append(seqs, a.Sequence)
			case err := <-f.Err():
				return nil, err
			}
		}
		return seqs, nil
	})
	run("stream_info", func() (any, error) {
		si, err := js.StreamInfo("ORDERS")
		if err != nil {
			return nil, err
		}
		return state(si.State), nil
	})
	run("stream_names", func() (any, error) {
		var names []string
		for n := range js.StreamNames() {
			names = append(names, n)
		}
		return names, nil
	})
	run("get_msg", func() (any, error) {
		m, err := js.GetMsg("ORDERS", 2)
		if err != nil {
			return nil, err
		}
		last, err := js.GetLastMsg("ORDERS", "orders.paid")
		if err != nil {
			return nil, err
		}
		_, missing := js.GetMsg("ORDERS", 999)
		return map[string]any{
			"seq2":    []any{m.Subject, m.Sequence, string(m.Data)},
			"last":    []any{last.Subject, last.Sequence, string(last.Data)},
			"missing": errText(missing),
		}, nil
	})
	run("delete_msg", func() (any, error) {
		err1 := js.DeleteMsg("ORDERS", 4)
		err2 := js.DeleteMsg("ORDERS", 4)
		si, err := js.StreamInfo("ORDERS")
		if err != nil {
			return nil, err
		}
		e1 := ""
		if err1 != nil {
			e1 = errText(err1)
		}
		return map[string]any{"first": e1, "again": errText(err2), "state": state(si.State)}, nil
	})

	var pull *nats.Subscription
	run("pull_subscribe", func() (any, error) {
		var err error
		pull, err = js.PullSubscribe("orders.new", "proc", nats.AckExplicit())
		if err != nil {
			return nil, err
		}
		ci, err := pull.ConsumerInfo()
		if err != nil {
			return nil, err
		}
		return consumer(ci), nil
	})
	run("fetch_and_ack", func() (any, error) {
		if pull == nil {
			return nil, errors.New("no pull subscription")
		}
		return fetch(pull, 3, 2*time.Second, true)
	})
	run("fetch_nak_redelivery", func() (any, error) {
		if pull == nil {
			return nil, errors.New("no pull subscription")
		}
		msgs, err := pull.Fetch(1, nats.MaxWait(2*time.Second))
		if err != nil {
			return nil, err
		}
		// With a delay, the next pull gets the next message first on both servers (an
		// immediate NAK races the pull request inside nats-server).
		if err := msgs[0].NakWithDelay(300 * time.Millisecond); err != nil {
			return nil, err
		}
		again, err := pull.Fetch(1, nats.MaxWait(2*time.Second))
		if err != nil {
			return nil, err
		}
		if err := again[0].AckSync(); err != nil {
			return nil, err
		}
		return []any{delivery(msgs[0]), delivery(again[0])}, nil
	})
	run("fetch_rest_then_timeout", func() (any, error) {
		if pull == nil {
			return nil, errors.New("no pull subscription")
		}
		rest, err := fetch(pull, 10, time.Second, true)
		if err != nil {
			return nil, err
		}
		empty, err := fetch(pull, 1, 300*time.Millisecond, false)
		if err != nil {
			return nil, err
		}
		return []any{rest, empty}, nil
	})
	run("consumer_info", func() (any, error) {
		ci, err := js.ConsumerInfo("ORDERS", "proc")
		if err != nil {
			return nil, err
		}
		c := consumer(ci)
		// The pull request that just timed out may or may not have expired on the server
		// yet (its expiry races the client's own timeout): not compared.
		delete(c, "waiting")
		return c, nil
	})
	run("consumer_names", func() (any, error) {
		var names []string
		for n := range js.ConsumerNames("ORDERS") {
			names = append(names, n)
		}
		sort.Strings(names)
		return names, nil
	})
	run("purge_filtered", func() (any, error) {
		if err := js.PurgeStream("ORDERS", &nats.StreamPurgeRequest{Subject: "orders.bulk"}); err != nil {
			return nil, err
		}
		si, err := js.StreamInfo("ORDERS")
		if err != nil {
			return nil, err
		}
		return state(si.State), nil
	})
	run("purge", func() (any, error) {
		if err := js.PurgeStream("ORDERS"); err != nil {
			return nil, err
		}
		si, err := js.StreamInfo("ORDERS")
		if err != nil {
			return nil, err
		}
		a, _ := js.Publish("orders.new", []byte("after purge"))
		return map[string]any{"state": state(si.State), "next": ack(a, nil)}, nil
	})
	run("delete_consumer", func() (any, error) {
		if pull != nil {
			pull.Unsubscribe()
		}
		err := js.DeleteConsumer("ORDERS", "proc")
		_, infoErr := js.ConsumerInfo("ORDERS", "proc")
		e := ""
		if err != nil {
			e = errText(err)
		}
		return map[string]any{"delete": e, "info_after": errText(infoErr)}, nil
	})

	// Push consumers (js.Subscribe) and ordered consumers.
	run("push_subscribe", func() (any, error) {
		for i := 1; i <= 3; i++ {
			if _, err := js.Publish("orders.push", []byte(fmt.Sprintf("push %d", i))); err != nil {
				return nil, err
			}
		}
		ch := make(chan *nats.Msg, 16)
		sub, err := js.ChanSubscribe("orders.push", ch, nats.Durable("pusher"), nats.ManualAck(),
			nats.DeliverAll())
		if err != nil {
			return nil, err
		}
		defer sub.Unsubscribe()
		var got []any
		for len(got) < 3 {
			select {
			case m := <-ch:
				got = append(got, delivery(m))
				m.AckSync()
			case <-time.After(3 * time.Second):
				return map[string]any{"msgs": got, "error": "timed out"}, nil
			}
		}
		ci, err := js.ConsumerInfo("ORDERS", "pusher")
		if err != nil {
			return nil, err
		}
		c := consumer(ci)
		delete(c, "waiting")
		return map[string]any{"msgs": got, "info": c}, nil
	})
	run("ordered_consumer", func() (any, error) {
		sub, err := js.SubscribeSync("orders.push", nats.OrderedConsumer())
		if err != nil {
			return nil, err
		}
		defer sub.Unsubscribe()
		var got []string
		for len(got) < 3 {
			m, err := sub.NextMsg(3 * time.Second)
			if err != nil {
				return map[string]any{"msgs": got, "error": errText(err)}, nil
			}
			got = append(got, string(m.Data))
		}
		return got, nil
	})

	// Direct get (allow_direct).
	run("direct_get", func() (any, error) {
		_, err := js.AddStream(&nats.StreamConfig{
			Name: "DIRECT", Subjects: []string{"direct.>"}, AllowDirect: true, Storage: nats.MemoryStorage,
		})
		if err != nil {
			return nil, err
		}
		js.Publish("direct.a", []byte("one"))
		js.Publish("direct.b", []byte("two"))
		m, err := js.GetMsg("DIRECT", 1, nats.DirectGet())
		if err != nil {
			return nil, err
		}
		last, err := js.GetLastMsg("DIRECT", "direct.b", nats.DirectGet())
		if err != nil {
			return nil, err
		}
		return []any{[]any{m.Subject, m.Sequence, string(m.Data)},
			[]any{last.Subject, last.Sequence, string(last.Data)}}, nil
	})

	// Key-value.
	var kv nats.KeyValue
	run("kv_create", func() (any, error) {
		var err error
		kv, err = js.CreateKeyValue(&nats.KeyValueConfig{Bucket: "cfg", History: 3})
		if err != nil {
			return nil, err
		}
		st, err := kv.Status()
		if err != nil {
			return nil, err
		}
		return map[string]any{"bucket": st.Bucket(), "history": st.History(), "values": st.Values()}, nil
	})
	run("kv_put_get_update", func() (any, error) {
		if kv == nil {
			return nil, errors.New("no bucket")
		}
		r1, err := kv.Put("color", []byte("red"))
		if err != nil {
			return nil, err
		}
		r2, err := kv.Put("size", []byte("large"))
		if err != nil {
			return nil, err
		}
		e, err := kv.Get("color")
		if err != nil {
			return nil, err
		}
		r3, err := kv.Update("color", []byte("blue"), r1)
		if err != nil {
			return nil, err
		}
		_, stale := kv.Update("color", []byte("green"), r1)
		_, exists := kv.Create("color", []byte("x"))
		e2, err := kv.Get("color")
		if err != nil {
			return nil, err
		}
		_, missing := kv.Get("nope")
		return map[string]any{
			"revisions": []uint64{r1, r2, r3},
			"first":     []any{e.Key(), string(e.Value()), e.Revision(), e.Operation().String()},
			"stale":     errText(stale),
			"exists":    errText(exists),
			"now":       []any{e2.Key(), string(e2.Value()), e2.Revision(), e2.Delta()},
			"missing":   errText(missing),
		}, nil
	})
	run("kv_delete_keys_history", func() (any, error) {
		if kv == nil {
			return nil, errors.New("no bucket")
		}
		if err := kv.Delete("size"); err != nil {
			return nil, err
		}
		_, gone := kv.Get("size")
		keys, err := kv.Keys()
		if err != nil {
			return nil, err
		}
		sort.Strings(keys)
		hist, err := kv.History("color")
		if err != nil {
			return nil, err
		}
		var h []any
		for _, e := range hist {
			h = append(h, []any{string(e.Value()), e.Revision(), e.Operation().String()})
		}
		return map[string]any{"deleted": errText(gone), "keys": keys, "history": h}, nil
	})

	run("delete_stream", func() (any, error) {
		if err := js.DeleteStream("ORDERS"); err != nil {
			return nil, err
		}
		_, err := js.StreamInfo("ORDERS")
		return map[string]any{"info_after": errText(err)}, nil
	})
}
