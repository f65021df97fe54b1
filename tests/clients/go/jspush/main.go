// Push consumers through nats.go's JetStream API (Debian's nats.go 1.22):
// one script against the server at os.Args[1], one line per observation on
// stdout. tests/jetstream_push_go_test.ts runs it against nats-server and
// dnatsd and compares the transcripts.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

func check(err error) {
	if err != nil {
		fmt.Println("fatal:", err)
		os.Exit(1)
	}
}

func describe(m *nats.Msg) string {
	meta, err := m.Metadata()
	if err != nil {
		return fmt.Sprintf("%s %q no metadata: %v", m.Subject, m.Data, err)
	}
	size := ""
	if s := m.Header.Get("Nats-Msg-Size"); s != "" {
		size = " size=" + s
	}
	return fmt.Sprintf("%s %q seq=%d dseq=%d dc=%d pending=%d%s", m.Subject, m.Data,
		meta.Sequence.Stream, meta.Sequence.Consumer, meta.NumDelivered, meta.NumPending, size)
}

func next(sub *nats.Subscription, n int) {
	for i := 0; i < n; i++ {
		m, err := sub.NextMsg(3 * time.Second)
		if err != nil {
			fmt.Println("  next:", err)
			return
		}
		fmt.Println(" ", describe(m))
	}
}

func main() {
	nc, err := nats.Connect(os.Args[1])
	check(err)
	defer nc.Close()
	js, err := nc.JetStream()
	check(err)
	_, err = js.AddStream(&nats.StreamConfig{Name: "S", Subjects: []string{"s.>"}, Storage: nats.MemoryStorage})
	check(err)
	for i, s := range []string{"s.a", "s.b", "s.a", "s.b", "s.a"} {
		_, err := js.Publish(s, []byte(fmt.Sprintf("m%d", i+1)))
		check(err)
	}

	fmt.Println("ordered consumer")
	sub, err := js.SubscribeSync("s.>", nats.OrderedConsumer())
	check(err)
	next(sub, 5)
	_, err = js.Publish("s.c", []byte("m6"))
	check(err)
	next(sub, 1)
	check(sub.Unsubscribe())

	fmt.Println("ordered consumer, headers only, last per subject")
	sub, err = js.SubscribeSync("s.*", nats.OrderedConsumer(), nats.HeadersOnly(), nats.DeliverLastPerSubject())
	check(err)
	next(sub, 3)
	check(sub.Unsubscribe())

	fmt.Println("durable, manual acks, heartbeats and flow control")
	got := make(chan *nats.Msg, 16)
	dsub, err := js.Subscribe("s.a", func(m *nats.Msg) { got <- m }, nats.Durable("D"), nats.ManualAck(),
		nats.IdleHeartbeat(200*time.Millisecond), nats.EnableFlowControl(), nats.AckWait(time.Second))
	check(err)
	for i := 0; i < 3; i++ {
		select {
		case m := <-got:
			fmt.Println(" ", describe(m))
			check(m.AckSync())
		case <-time.After(3 * time.Second):
			fmt.Println("  timeout")
		}
	}
	ci, err := js.ConsumerInfo("S", "D")
	check(err)
	fmt.Printf("  D delivered=%d/%d ack_floor=%d/%d pending=%d ack_pending=%d bound=%v hb=%v fc=%v\n",
		ci.Delivered.Consumer, ci.Delivered.Stream, ci.AckFloor.Consumer, ci.AckFloor.Stream,
		ci.NumPending, ci.NumAckPending, ci.PushBound, ci.Config.Heartbeat, ci.Config.FlowControl)
	check(dsub.Unsubscribe())

	fmt.Println("queue group")
	qsub, err := js.QueueSubscribeSync("s.b", "workers", nats.Durable("Q"))
	check(err)
	next(qsub, 2)
	ci, err = js.ConsumerInfo("S", "Q")
	check(err)
	fmt.Printf("  Q group=%s bound=%v ack=%v\n", ci.Config.DeliverGroup, ci.PushBound, ci.Config.AckPolicy)
	check(qsub.Unsubscribe())

	fmt.Println("flow control under a 3 MB backlog")
	big := make([]byte, 100*1024)
	for i := 0; i < 30; i++ {
		_, err := js.Publish("s.big", big)
		check(err)
	}
	sub, err = js.SubscribeSync("s.big", nats.OrderedConsumer())
	check(err)
	total := 0
	for i := 0; i < 30; i++ {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			fmt.Println("  next:", err)
			break
		}
		total += len(m.Data)
	}
	fmt.Println("  received bytes", total)
	check(sub.Unsubscribe())

	fmt.Println("ephemeral, deleted on unsubscribe")
	esub, err := js.SubscribeSync("s.c")
	check(err)
	next(esub, 1)
	check(esub.Unsubscribe())
	names := []string{}
	for n := range js.ConsumerNames("S") {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Println("  consumers", strings.Join(names, ","))
}
