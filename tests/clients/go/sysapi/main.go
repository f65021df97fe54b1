// Asks a server's system account each request subject and decodes the answer
// into nats-server 2.9's own Go types with unknown fields refused: a field
// name, a type or a time format nats-server's tools would not read fails.
// Usage: sysapi <url> <user> <pass>; prints one JSON line per subject.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/server"
	"github.com/nats-io/nats.go"
)

type response[T any] struct {
	Server *server.ServerInfo `json:"server"`
	Data   *T                 `json:"data"`
	Error  *server.ApiError   `json:"error"`
}

func main() {
	nc, err := nats.Connect(os.Args[1], nats.UserInfo(os.Args[2], os.Args[3]))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer nc.Close()
	check := func(subject string, into interface{}) {
		line := map[string]string{"subject": subject}
		m, err := nc.Request(subject, nil, 3*time.Second)
		if err == nil {
			d := json.NewDecoder(bytes.NewReader(m.Data))
			d.DisallowUnknownFields()
			err = d.Decode(into)
		}
		if err != nil {
			line["error"] = err.Error()
		}
		out, _ := json.Marshal(line)
		fmt.Println(string(out))
	}
	check("$SYS.REQ.SERVER.PING", &server.ServerStatsMsg{})
	check("$SYS.REQ.SERVER.PING.STATSZ", &server.ServerStatsMsg{})
	check("$SYS.REQ.SERVER.PING.VARZ", &response[server.Varz]{})
	check("$SYS.REQ.SERVER.PING.CONNZ", &response[server.Connz]{})
	check("$SYS.REQ.SERVER.PING.SUBSZ", &response[server.Subsz]{})
	check("$SYS.REQ.SERVER.PING.ROUTEZ", &response[server.Routez]{})
	check("$SYS.REQ.SERVER.PING.ACCOUNTZ", &response[server.Accountz]{})
	check("$SYS.REQ.SERVER.PING.HEALTHZ", &response[server.HealthStatus]{})
	check("$SYS.REQ.SERVER.PING.GATEWAYZ", &response[server.Gatewayz]{})
	check("$SYS.REQ.SERVER.PING.LEAFZ", &response[server.Leafz]{})
	check("$SYS.REQ.SERVER.PING.JSZ", &response[server.JSInfo]{})
	check("$SYS.REQ.ACCOUNT.A.CONNZ", &response[server.Connz]{})
	check("$SYS.REQ.ACCOUNT.A.SUBSZ", &response[server.Subsz]{})
	check("$SYS.REQ.ACCOUNT.A.INFO", &response[server.AccountInfo]{})
	check("$SYS.REQ.ACCOUNT.PING.STATZ", &response[server.AccountStatz]{})
	check("$SYS.REQ.ACCOUNT.A.CONNS", &server.AccountNumConns{})
}
