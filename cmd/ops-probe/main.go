// Command ops-probe is the health check of the images that ship no shell,
// wget or curl (Loki, Alloy, Grafana): GET a URL on a loopback or other
// IPv4 address, exit 0 on a 2xx answer.
//
//	ops-probe [--timeout 4s] http://127.0.0.1:3100/ready
//
// A health check runs every 10-15 s in each of those containers, so the
// probe is made to cost as little as Go allows: HTTP/1.0 over a socket
// opened with package syscall, without net, net/http, fmt or flag, which
// would bring a resolver, TLS and HTTP/2 into the binary. What is left is
// the Go runtime (about 1 MB, the smallest a Go program gets), where
// net/http made 5.6 MB and opsctl, with every config parser, about 30 MiB
// of memory a call. No HTTP library serves here: each is built on net.
package main

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const usage = "Usage: ops-probe [--timeout 4s] URL\n\nHealth check: GET URL (http://IPv4:port/path), exit 0 on a 2xx answer, 1 otherwise.\n\nExample:\n  ops-probe http://127.0.0.1:3100/ready\n"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	timeout := 4 * time.Second
	var target string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-h" || a == "--help" || a == "-help":
			os.Stdout.WriteString(usage)
			return 0
		case a == "--timeout" || a == "-timeout":
			if i+1 == len(args) {
				return bad("--timeout needs a duration, e.g. 4s")
			}
			i++
			a = "--timeout=" + args[i]
			fallthrough
		case strings.HasPrefix(a, "--timeout=") || strings.HasPrefix(a, "-timeout="):
			d, err := time.ParseDuration(a[strings.IndexByte(a, '=')+1:])
			if err != nil || d <= 0 {
				return bad("--timeout: not a positive duration: " + a[strings.IndexByte(a, '=')+1:])
			}
			timeout = d
		case target == "":
			target = a
		default:
			return bad("one URL only, got another: " + a)
		}
	}
	if target == "" {
		return bad("no URL")
	}
	if err := check(target, timeout); err != nil {
		os.Stderr.WriteString("ops-probe: " + err.Error() + "\n")
		return 1
	}
	return 0
}

func bad(msg string) int {
	os.Stderr.WriteString("ops-probe: " + msg + "\n\n" + usage)
	return 2
}

// endpoint is a parsed http://a.b.c.d:port/path URL.
type endpoint struct {
	addr [4]byte
	port int
	host string // host:port, for the Host header
	path string
}

func parse(raw string) (endpoint, error) {
	rest, ok := strings.CutPrefix(raw, "http://")
	if !ok {
		return endpoint{}, errors.New(raw + ": only http:// URLs are probed")
	}
	host, path := rest, "/"
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	name, portText := host, "80"
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		name, portText = host[:i], host[i+1:]
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return endpoint{}, errors.New(raw + ": bad port " + portText)
	}
	if name == "localhost" {
		name = "127.0.0.1"
	}
	var addr [4]byte
	parts := strings.Split(name, ".")
	if len(parts) != 4 {
		return endpoint{}, errors.New(raw + ": the host must be an IPv4 address (there is no resolver here), e.g. 127.0.0.1")
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 255 {
			return endpoint{}, errors.New(raw + ": the host must be an IPv4 address (there is no resolver here), e.g. 127.0.0.1")
		}
		addr[i] = byte(n)
	}
	return endpoint{addr: addr, port: port, host: host, path: path}, nil
}

// check GETs the URL and returns nil on a 2xx status. The timeout bounds
// each of connect, send and every read (SO_SNDTIMEO, SO_RCVTIMEO) and the
// whole exchange.
func check(raw string, timeout time.Duration) error {
	ep, err := parse(raw)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return errors.New("socket: " + err.Error())
	}
	defer syscall.Close(fd)
	tv := syscall.NsecToTimeval(timeout.Nanoseconds())
	for _, opt := range []int{syscall.SO_SNDTIMEO, syscall.SO_RCVTIMEO} {
		if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, opt, &tv); err != nil {
			return errors.New("setsockopt: " + err.Error())
		}
	}
	for {
		err = syscall.Connect(fd, &syscall.SockaddrInet4{Port: ep.port, Addr: ep.addr})
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return errors.New("connect " + ep.host + ": " + err.Error())
	}
	req := []byte("GET " + ep.path + " HTTP/1.0\r\nHost: " + ep.host + "\r\nUser-Agent: ops-probe\r\nConnection: close\r\n\r\n")
	for len(req) > 0 {
		n, err := syscall.Write(fd, req)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return errors.New("send: " + err.Error())
		}
		req = req[n:]
	}
	var buf [512]byte
	got := 0
	for {
		if time.Now().After(deadline) {
			return errors.New("no answer within " + timeout.String())
		}
		n, err := syscall.Read(fd, buf[got:])
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			return errors.New("no answer within " + timeout.String())
		}
		if err != nil {
			return errors.New("read: " + err.Error())
		}
		got += n
		if i := strings.Index(string(buf[:got]), "\r\n"); i >= 0 {
			return status(string(buf[:i]))
		}
		if n == 0 || got == len(buf) {
			return errors.New("not an HTTP answer: " + strconv.Quote(string(buf[:got])))
		}
	}
}

// status reads an HTTP status line ("HTTP/1.1 200 OK").
func status(line string) error {
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return errors.New("not an HTTP answer: " + strconv.Quote(line))
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return errors.New("not an HTTP answer: " + strconv.Quote(line))
	}
	if code < 200 || code > 299 {
		return errors.New("answered " + strings.Join(f[1:], " "))
	}
	return nil
}
