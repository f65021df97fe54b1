// The machine's own latency, without any server: how late a thread that
// sleeps 1 ms wakes up (what each hop of a round trip needs: a blocked
// thread made runnable again), over a number of seconds. Run it alone and
// while a bench workload runs, to see what the scheduler gives a waiting
// thread when both cores are busy (docs/performance.md, "The bystander's
// max").
//
// Build: GO111MODULE=off go build -o wakeup_probe wakeup_probe.go
// Usage: wakeup_probe <seconds>
// Prints: wakeups, p50, p99 and max lateness in µs, and the count over 5 ms.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"syscall"
	"time"
)

func main() {
	secs, err := strconv.ParseFloat(os.Args[len(os.Args)-1], 64)
	if len(os.Args) != 2 || err != nil {
		fmt.Fprintln(os.Stderr, "usage: wakeup_probe <seconds>")
		os.Exit(2)
	}
	runtime.LockOSThread()
	end := time.Now().Add(time.Duration(secs * float64(time.Second)))
	var late []time.Duration
	for time.Now().Before(end) {
		t0 := time.Now()
		// The system call itself, not Go's timers: the kernel wakes this thread.
		syscall.Nanosleep(&syscall.Timespec{Nsec: 1e6}, nil)
		late = append(late, time.Since(t0)-time.Millisecond)
	}
	sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
	over := 0
	for _, d := range late {
		if d > 5*time.Millisecond {
			over++
		}
	}
	us := func(d time.Duration) int64 { return d.Microseconds() }
	fmt.Printf("wakeups %d p50 %d us p99 %d us max %d us over5ms %d\n", len(late),
		us(late[len(late)/2]), us(late[len(late)*99/100]), us(late[len(late)-1]), over)
}
