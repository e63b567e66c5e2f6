// Command testprog is the program of the image the runtime's tests run. It
// is built statically by TestMain; its first argument says what to do.
//
//	print            print facts about itself (args, env, cwd, ids, namespaces), then exit 0
//	echo WORDS...    print the words on one line, then exit 0
//	exit N           exit with code N
//	sleep            sleep until killed (as PID 1, SIGTERM does not kill it)
//	trap DIR         print "ready"; on SIGTERM write DIR/terminated and exit 0
//	ignore           ignore SIGTERM, print "ready" and sleep until killed
//	chatter          print a line to stdout and one to stderr, then sleep
//	lines N          print "line 0" to "line N-1", then exit 0
//	oom              allocate memory until killed
package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "testprog: no mode")
		os.Exit(2)
	}
	switch mode := os.Args[1]; mode {
	case "print":
		printFacts()
	case "echo":
		fmt.Println(strings.Join(os.Args[2:], " "))
	case "exit":
		code, _ := strconv.Atoi(os.Args[2])
		os.Exit(code)
	case "sleep":
		sleep()
	case "trap":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		fmt.Println("ready")
		<-c
		if err := os.WriteFile(filepath.Join(os.Args[2], "terminated"), []byte("SIGTERM\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	case "ignore":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		sleep()
	case "chatter":
		fmt.Println("hello stdout")
		fmt.Fprintln(os.Stderr, "hello stderr")
		sleep()
	case "lines":
		n, _ := strconv.Atoi(os.Args[2])
		for i := range n {
			fmt.Printf("line %d\n", i)
		}
	case "oom":
		var keep [][]byte
		for {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			keep = append(keep, b)
		}
	default:
		fmt.Fprintf(os.Stderr, "testprog: unknown mode %q\n", mode)
		os.Exit(2)
	}
}

func sleep() {
	for {
		time.Sleep(time.Hour)
	}
}

func printFacts() {
	fmt.Printf("args=%s\n", strings.Join(os.Args[1:], ","))
	for _, kv := range os.Environ() {
		fmt.Printf("env %s\n", kv)
	}
	cwd, _ := os.Getwd()
	fmt.Printf("cwd=%s\n", cwd)
	host, _ := os.Hostname()
	fmt.Printf("hostname=%s\n", host)
	fmt.Printf("uid=%d gid=%d\n", os.Getuid(), os.Getgid())
	for _, ns := range []string{"net", "ipc", "uts"} {
		link, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			link = err.Error()
		}
		fmt.Printf("ns %s=%s\n", ns, link)
	}
	err := os.WriteFile("/rootfs-probe", nil, 0o644)
	fmt.Printf("rootfs-writable=%t\n", err == nil)
}
